/**
 * The exit-code rule of the commands that wait: 0 only when the execution succeeded; failed,
 * timed-out, cancelled, or still running when the wait ran out: 1, saying which.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFerry, disposeFerry, type Ferry } from './support/ferry.js';
import { nodeFn, runCli, show, until } from './support/helpers.js';

let ferry: Ferry;
before(async () => {
  // 'blocks' runs on when the tests end: a short drain lets the server stop without waiting 30 s for it.
  ferry = await startFerry({ args: ['--driver', 'process', '--unsandboxed', '--drain-timeout', '1s'] });
  await ferry.deploy('fine', nodeFn(`export default () => 'fine';\n`));
  await ferry.deploy('throws', nodeFn(`export default () => { throw new Error('boom'); };\n`, { retries: 0 }));
  // Never answers: past its time limit a run times out.
  await ferry.deploy('hangs', nodeFn(`export default () => new Promise(() => {});\n`, { retries: 0, asyncTimeoutMs: 1000 }));
  // Never answers, one run at a time: while the first runs, the next waits queued.
  await ferry.deploy('blocks', nodeFn(`export default () => new Promise(() => {});\n`, { retries: 0, asyncTimeoutMs: 600_000, maxConcurrentExecutions: 1 }));
});
after(async () => {
  await disposeFerry(ferry);
});

const cli = (...args: string[]) => runCli(args, { env: { FERRY_URL: ferry.url, FERRY_TOKEN: ferry.token }, timeoutMs: 60_000 });

test('a succeeded execution exits 0 from every waiting command', async () => {
  for (const args of [['invoke', 'fine', '--async', '--wait'], ['executions', 'start', 'fine', '--wait']]) {
    const r = await cli(...args);
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, 'fine');
  }
});

test('a failed execution exits 1 from invoke --async --wait, executions start --wait and executions get --wait', async () => {
  for (const args of [['invoke', 'throws', '-d', 'x', '--async', '--wait'], ['executions', 'start', 'throws', '--wait']]) {
    const r = await cli(...args);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /^ferry: execution [0-9a-f]{32} (failed|succeeded: the function answered 5\d\d)/m);
  }
  const id = (await cli('executions', 'start', 'throws')).stdout.trim();
  const r = await cli('executions', 'get', id, '--wait');
  assert.equal(r.code, 1, show(r));
  assert.match(r.stdout, /status:\s+\S+/, 'the execution is printed first');
  assert.match(r.stderr, new RegExp(`^ferry: execution ${id} `, 'm'));
  const plain = await cli('executions', 'get', id);
  assert.equal(plain.code, 0, `without --wait it only shows the execution\n${show(plain)}`);
});

test('still running when the wait ran out, timed-out, and cancelled all exit 1', async () => {
  const first = (await cli('executions', 'start', 'blocks')).stdout.trim();
  const running = await until(async () => JSON.parse((await cli('executions', 'get', first, '--json')).stdout).status === 'running', 20_000);
  assert.ok(running, 'the first execution runs');
  const queued = (await cli('executions', 'start', 'blocks')).stdout.trim();
  assert.match(queued, /^[0-9a-f]{32}$/);
  const early = await cli('executions', 'get', first, '--wait', '0');
  assert.equal(early.code, 1, show(early));
  assert.match(early.stderr, /is still (queued|running).*\(still-running\)/);
  const cancel = await cli('executions', 'cancel', queued);
  assert.equal(cancel.code, 0, show(cancel));
  const cancelled = await cli('executions', 'get', queued, '--wait');
  assert.equal(cancelled.code, 1, show(cancelled));
  assert.match(cancelled.stderr, new RegExp(`execution ${queued} cancelled`));
  const late = (await cli('executions', 'start', 'hangs')).stdout.trim();
  const timedOut = await cli('executions', 'get', late, '--wait');
  assert.equal(timedOut.code, 1, show(timedOut));
  assert.match(timedOut.stderr, new RegExp(`execution ${late} timed-out`));
  const invoked = await cli('invoke', 'hangs', '--async', '--wait');
  assert.equal(invoked.code, 1, show(invoked));
  assert.match(invoked.stderr, /execution [0-9a-f]{32} timed-out/);
});
