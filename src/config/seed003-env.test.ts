import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadServerOptions } from './options.js';

test("seed-003's variables stand for Ferry's only with --compat seed003, and Ferry's own win", () => {
  const seed = { SERVER_ADDRESS: ':9090', MAX_CONCURRENT_EXECUTIONS: '10', JWT_SECRET: 'a-jwt-secret-of-at-least-32-bytes-0123' };
  const on = loadServerOptions({}, { ...seed, FERRY_COMPAT: 'seed003' });
  assert.deepEqual([on.port, on.host, on.asyncWorkers, on.seed003JwtSecret?.toString()], [9090, '127.0.0.1', 10, seed.JWT_SECRET]);
  const flag = loadServerOptions({ compat: 'tangle,seed003' }, { ...seed, SERVER_ADDRESS: '0.0.0.0:9091' });
  assert.deepEqual([flag.port, flag.host], [9091, '0.0.0.0']);
  const off = loadServerOptions({}, seed);
  assert.deepEqual([off.port, off.asyncWorkers, off.seed003JwtSecret], [8080, 64, undefined]);
  const ferryWins = loadServerOptions({ port: '7000' }, { ...seed, FERRY_COMPAT: 'seed003', FERRY_ASYNC_WORKERS: '3' });
  assert.deepEqual([ferryWins.port, ferryWins.asyncWorkers], [7000, 3]);
});
