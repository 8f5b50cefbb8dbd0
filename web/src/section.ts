import { ApiError } from './api.js';
import { h } from './dom.js';

/**
 * A titled part of a view that loads on its own: one failing (a permission the user lacks)
 * shows its error in place and leaves the rest of the page working. `load` answers the content;
 * `refresh()` draws it again.
 */
export function section(title: string, load: () => Promise<Node | Node[]>): { el: HTMLElement; refresh: () => Promise<void> } {
  const id = `s-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  const body = h('div', { class: 'section-body' }, h('p', { class: 'muted' }, 'Loading…'));
  const el = h('section', { 'aria-labelledby': id, id: `${id}-section` }, h('h2', { id }, title), body);
  const refresh = async (): Promise<void> => {
    try {
      const content = await load();
      body.replaceChildren(...(Array.isArray(content) ? content : [content]));
    } catch (err) {
      const text = err instanceof ApiError ? `${err.message} (${err.code})` : String(err);
      body.replaceChildren(h('p', { class: 'error', role: 'alert' }, text));
    }
  };
  void refresh();
  return { el, refresh };
}
