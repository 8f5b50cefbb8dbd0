/**
 * `ferry keys rotate` on a data dir: a new current key for access tokens and secrets, while the
 * secrets sealed before it (and a value set after it) still reach the functions that use them.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startFerry, disposeFerry, markSensitive, type Ferry } from './support/ferry.js';
import { nodeFn, runCli } from './support/helpers.js';

const args = ['--driver', 'process', '--unsandboxed', '--pool-size', '0'];
let current: Ferry | undefined;
after(async () => {
  if (current) await disposeFerry(current);
});

async function env(f: Ferry): Promise<string> {
  const res = await fetch(`${f.url}/fn/reader`);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return text;
}

test('a rotation keeps secrets sealed before it; what is set after uses the new key', async () => {
  const [before, after] = ['sealed-before-the-rotation', 'sealed-after-the-rotation'];
  markSensitive(before, after);
  const first = await startFerry({ args });
  current = first;
  const dataDir = first.dataDir;
  assert.equal((await first.api('POST', '/v1/secrets', { name: 'OLD_ONE', value: before })).status, 201);
  await first.deploy('reader', nodeFn(`export default () => String(process.env.OLD_ONE === ${JSON.stringify(before)}) + ' ' + String(process.env.NEW_ONE === ${JSON.stringify(after)});`, { secrets: ['OLD_ONE'] }));
  assert.equal(await env(first), 'true false');
  await first.stop();

  const rotated = await runCli(['keys', 'rotate', '--data-dir', dataDir]);
  assert.equal(rotated.code, 0, rotated.stderr);
  assert.match(rotated.stdout, /jwt-hs256 +[0-9a-f]{16} +2/);
  assert.match(rotated.stdout, /secrets-aes256 +[0-9a-f]{16} +2/);
  assert.deepEqual((await readdir(join(dataDir, 'keys'))).filter((f) => f.includes('.2.')).sort(), ['jwt-hs256.2.key', 'secrets-aes256.2.key']);

  const second = await startFerry({ args, dataDir });
  current = second;
  assert.equal(await env(second), 'true false', 'the secret sealed with the earlier key still opens');
  assert.equal((await second.api('POST', '/v1/secrets', { name: 'NEW_ONE', value: after })).status, 201);
  await second.deploy('reader', nodeFn(`export default () => String(process.env.OLD_ONE === ${JSON.stringify(before)}) + ' ' + String(process.env.NEW_ONE === ${JSON.stringify(after)});`, { secrets: ['OLD_ONE', 'NEW_ONE'] }));
  assert.equal(await env(second), 'true true');
});
