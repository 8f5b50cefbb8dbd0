import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { LocalProcessProvider } from './local-processes.js';
import { CommandHookProvider } from './command-hook.js';
import { alive } from '../../../../test/support/procs.js';

const logger = pino({ level: 'silent' });

test('local processes: each worker its own data dir, the newest stopped first with SIGTERM', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'ferry-scale-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  // A worker that (once it handles SIGTERM) writes its settings, and on SIGTERM records that it drained, then exits.
  const worker = `
    const fs = require('node:fs');
    process.on('SIGTERM', () => { fs.writeFileSync(process.env.FERRY_DATA_DIR + '/drained', '1'); process.exit(0); });
    // Written whole, then renamed: the test reads it as soon as the name exists.
    fs.writeFileSync(process.env.FERRY_DATA_DIR + '/env.part', JSON.stringify({ port: process.env.FERRY_PORT, store: process.env.FERRY_STORE }));
    fs.renameSync(process.env.FERRY_DATA_DIR + '/env.part', process.env.FERRY_DATA_DIR + '/env');
    setInterval(() => {}, 1000);`;
  const p = new LocalProcessProvider({ argv: [process.execPath, '-e', worker], env: { FERRY_STORE: 'nats://127.0.0.1:4222' }, dataRoot: root, stopTimeoutMs: 10_000, logger });
  t.after(() => p.close());
  await p.scaleTo(3);
  assert.equal(await p.current(), 3);
  const pids = p.pids();
  for (const n of [1, 2, 3]) {
    const file = join(root, `worker-${n}`, 'env');
    while (!existsSync(file)) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { port: '0', store: 'nats://127.0.0.1:4222' });
  }
  await p.scaleTo(1);
  assert.equal(await p.current(), 1);
  assert.deepEqual(p.pids(), [pids[0]]);
  assert.ok(existsSync(join(root, 'worker-3', 'drained')) && existsSync(join(root, 'worker-2', 'drained')));
  assert.ok(!alive(pids[1]!) && !alive(pids[2]!) && alive(pids[0]!));
  await p.close();
  assert.equal(await p.current(), 0);
  assert.ok(!alive(pids[0]!));
});

test('local processes: a worker that ignores SIGTERM is killed after the stop timeout; one that dies leaves the count', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'ferry-scale-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const p = new LocalProcessProvider({ argv: [process.execPath, '-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)"], dataRoot: root, stopTimeoutMs: 300, logger });
  t.after(() => p.close());
  await p.scaleTo(2);
  const [first, second] = p.pids();
  process.kill(first!, 'SIGKILL');
  while ((await p.current()) !== 1) await new Promise((r) => setTimeout(r, 20));
  await p.scaleTo(0);
  assert.ok(!alive(second!));
});

test('command hook: the target and the current count in its environment, not the withheld secrets; a failure keeps the count and says why', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-scale-hook-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const hook = join(dir, 'hook.sh');
  writeFileSync(hook, `#!/bin/sh\necho "$FERRY_WORKERS_CURRENT -> $FERRY_WORKERS_TARGET\${FERRY_NATS_PASSWORD:+ with the password}" >> "${dir}/calls"\n[ "$FERRY_WORKERS_TARGET" = 9 ] && { echo "quota exceeded" >&2; exit 3; }\nexit 0\n`);
  chmodSync(hook, 0o755);
  // A secret of the autoscaler's own environment that the hook has no use for.
  process.env.FERRY_NATS_PASSWORD = 'nats-secret-of-the-autoscaler';
  t.after(() => delete process.env.FERRY_NATS_PASSWORD);
  const p = new CommandHookProvider({ argv: [hook], timeoutMs: 10_000, initial: 2, logger, withheld: ['FERRY_NATS_PASSWORD'] });
  assert.equal(await p.current(), 2);
  await p.scaleTo(4);
  assert.equal(await p.current(), 4);
  await p.scaleTo(4); // no change: the hook is not run
  await assert.rejects(p.scaleTo(9), /scale hook failed.*quota exceeded/s);
  assert.equal(await p.current(), 4);
  assert.equal(readFileSync(join(dir, 'calls'), 'utf8'), '2 -> 4\n4 -> 9\n');
});
