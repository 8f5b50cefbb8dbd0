/**
 * Two `ferry server` processes on one data dir: the second takes a slot of its own (run dir, pid
 * records, node id), so its start neither stops the first's instances nor wipes their run dirs,
 * and their leases carry different node ids. A slot freed by a stop is taken by the next start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { serverStarter, type Ferry } from './support/ferry.js';
import { nodeFn } from './support/helpers.js';

const args = ['--driver', 'process', '--unsandboxed', '--pool-size', '0'];

async function instancePid(f: Ferry): Promise<number> {
  const res = await fetch(`${f.url}/fn/whoami`);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return Number(text);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const slotHolder = async (dataDir: string, n: number): Promise<number> => Number(await readFile(join(dataDir, 'servers', `${n}.pid`), 'utf8'));

test('a second server on the data dir keeps to its own slot and leaves the first one its instances', async (t) => {
  const start = serverStarter(t);
  const one = await start({ args });
  const dataDir = one.dataDir;
  await one.deploy('whoami', nodeFn('export default () => String(process.pid);\n', { scaling: { minInstances: 0, maxInstances: 1, idleTimeoutMs: 600_000 } }));
  const pid = await instancePid(one);
  const runDirs = await readdir(join(dataDir, 'run'));
  assert.ok(runDirs.length > 0, 'the instance has its run dir');

  const two = await start({ args, dataDir });
  assert.ok(alive(pid), "the second server's start left the first's instance running");
  assert.equal(await instancePid(one), pid, 'the first server still calls the same instance');
  const after = await readdir(join(dataDir, 'run'));
  for (const d of runDirs) assert.ok(after.includes(d), `run dir ${d} of the first server survived the second's start`);
  assert.equal(await slotHolder(dataDir, 0), one.proc.pid);
  assert.equal(await slotHolder(dataDir, 1), two.proc.pid);

  // The second runs its own instance, in its own run dir, under its own node id.
  const other = await instancePid(two);
  assert.notEqual(other, pid);
  assert.ok((await readdir(join(dataDir, 'run.1'))).length > 0, "the second server's instances live in run.1/");
  const ids = await Promise.all(['node-id', 'node-id.1'].map(async (f) => (await readFile(join(dataDir, f), 'utf8')).trim()));
  assert.notEqual(ids[0], ids[1], 'each server has its own node id');

  // A clean stop frees slot 0: the next start takes it (and its node id) again.
  assert.equal(await one.stop(), 0);
  assert.equal(alive(pid), false, "the first server's stop ended its instance");
  const three = await start({ args, dataDir });
  assert.equal(await slotHolder(dataDir, 0), three.proc.pid);
  assert.equal((await readFile(join(dataDir, 'node-id'), 'utf8')).trim(), ids[0]);
  assert.equal(await instancePid(two), other, 'the third start left the second server its instance');
});
