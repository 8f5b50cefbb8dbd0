// Code run in a worker thread of its own: for tests that need a second connection running at the
// same time as the first (two server processes on one data dir, say), without a second process.
import { Worker } from 'node:worker_threads';

/**
 * Runs `body`, the statements of an async function (CommonJS; `workerData` in scope, modules by
 * `await import(...)`), in a new worker thread. Answers what it returns as a string, or, when it
 * throws, the error's message and code: `'... (SQLITE_BUSY)'`.
 */
export function inWorker(body: string, workerData: Record<string, unknown>): Promise<string> {
  return new Promise((resolve, reject) => {
    const w = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
      (async () => {
        ${body}
      })().then(
        (r) => parentPort.postMessage(String(r)),
        (err) => parentPort.postMessage(String(err && err.message) + ' (' + (err && err.code) + ')'),
      );`,
      { eval: true, workerData },
    );
    w.once('message', resolve);
    w.once('error', reject);
  });
}
