import { ApiError } from './api.js';
import { h } from './dom.js';

/** A message in the page's live region: screen readers announce it. */
export function status(text: string, kind: 'ok' | 'error' = 'ok'): void {
  const el = document.getElementById('status')!;
  el.replaceChildren(text ? h('p', { class: kind }, text) : '');
}

/** An error as the user reads it: the API's detail, and its code for a support question. */
export function showError(err: unknown): void {
  status(err instanceof ApiError ? `${err.message} (${err.code})` : String(err), 'error');
}

/** Runs an action of a button or form, showing its failure; on success says `done` and runs `after`. */
export async function attempt(action: () => Promise<unknown>, done?: string, after?: () => unknown): Promise<boolean> {
  try {
    await action();
    if (done) status(done);
    await after?.();
    return true;
  } catch (err) {
    showError(err);
    return false;
  }
}
