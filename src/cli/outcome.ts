/**
 * The one exit-code rule of every command that waits for something to end (`invoke --async
 * --wait`, `executions get --wait`, `executions start --wait`): exit 0 only when it succeeded.
 * A failed, timed-out or cancelled result, or one still running when the wait ran out, exits 1
 * with a line saying which.
 */
import { CliError } from './errors.js';

export interface Ended {
  id: string;
  status: string;
  result?: { status: number } | null;
  error?: { code: string; detail: string } | null;
}

/** The exit code of a wait that ended with something other than success. */
export const WAIT_FAILED = 1;

/** Throws (exit 1) unless the execution succeeded with a 2xx answer. */
export function requireSuccess(doc: Ended): void {
  if (doc.status === 'queued' || doc.status === 'running') throw new CliError(`execution ${doc.id} is still ${doc.status}: the wait ran out before it ended`, { code: 'still-running', exitCode: WAIT_FAILED });
  const status = doc.result?.status;
  if (doc.status === 'succeeded' && status !== undefined && status >= 200 && status <= 299) return;
  const why = doc.error ? `: ${doc.error.detail}` : status !== undefined ? `: the function answered ${status}` : '';
  throw new CliError(`execution ${doc.id} ${doc.status}${why}`, { ...(doc.error ? { code: doc.error.code } : {}), exitCode: WAIT_FAILED });
}
