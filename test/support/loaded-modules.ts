/**
 * A preload (`node --import`) that reports every module the process loaded, for tests that check
 * what a server keeps out until it is needed. At exit it writes, to the file named by
 * FERRY_TEST_LOADED_MODULES, the URL of every ES module and every CommonJS entry imported through
 * the ES loader (seen by `loaded-modules-hooks.ts` in the loader's thread) and the path of every
 * CommonJS module in `require.cache`.
 */
import { writeFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';

const report = process.env.FERRY_TEST_LOADED_MODULES;
if (report) {
  const esm: string[] = [];
  const { port1, port2 } = new MessageChannel();
  port1.on('message', (url: string) => esm.push(url));
  port1.unref();
  register('./loaded-modules-hooks.js', { parentURL: import.meta.url, data: { port: port2 }, transferList: [port2] });
  const cjs = createRequire(import.meta.url).cache;
  process.on('exit', () => writeFileSync(report, JSON.stringify([...esm, ...Object.keys(cjs)])));
}
