import type { ChildProcess } from 'node:child_process';

/** A child's end as a promise: its exit, or a spawn that failed (no pid). `ended()` answers at once. */
export function childExit(child: ChildProcess): { done: Promise<void>; ended(): boolean } {
  let ended = child.exitCode !== null || child.signalCode !== null;
  const done = new Promise<void>((resolve) => {
    if (ended) return resolve();
    child.once('exit', () => {
      ended = true;
      resolve();
    });
    child.once('error', () => {
      if (child.pid === undefined) {
        ended = true;
        resolve();
      }
    });
  });
  return { done, ended: () => ended };
}
