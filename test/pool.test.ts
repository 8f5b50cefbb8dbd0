// The pre-booted sandbox pool on the real bwrap driver: first calls are served by pooled
// sandboxes, the pool refills, nothing of one function reaches another, the function's limits
// hold, and a stopped server leaves no mounts and no processes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { startFerry, disposeFerry, type Ferry, type PackageFiles } from './support/ferry.js';
import { listInstances } from './support/fn.js';
import { nodeFn } from './support/helpers.js';
import { alive, processesMentioning } from './support/procs.js';
import { sandboxSupport } from './support/sandbox.js';
import { waitFor } from './support/wait.js';

const support = await sandboxSupport();
const mustWork = process.env.CI === 'true' || process.env.FERRY_SANDBOX_MUST_WORK === '1';
const root = process.getuid?.() === 0;
if (mustWork && !root) throw new Error('the pool must work here (CI or FERRY_SANDBOX_MUST_WORK=1) but Ferry does not run as root');
const skip = !support.ok ? `the bwrap sandbox cannot run here: ${support.why}` : !root ? 'the pool needs root (mounts); Ferry disables it otherwise' : false;

interface PoolView {
  enabled: boolean;
  reason?: string;
  size: number;
  runtimes: Array<{ runtime: string; active: boolean; ready: number; starting: number; pids: number[] }>;
}

let ferry: Ferry;
before(async () => {
  if (skip) return;
  ferry = await startFerry();
});
after(async () => {
  if (ferry) await disposeFerry(ferry);
});

async function pool(f: Ferry = ferry): Promise<PoolView> {
  const res = await f.api('GET', '/v1/pool');
  assert.equal(res.status, 200);
  return (await res.json()) as PoolView;
}

/**
 * Waits until every active runtime (one with a function deployed) has its pooled sandboxes
 * waiting; answers the status. (A hang guard: booting them takes a minute on a busy machine.)
 */
const full = (f: Ferry = ferry): Promise<PoolView> => waitFor('the pool to be full', async () => {
  const p = await pool(f);
  return p.runtimes.every((r) => !r.active || r.ready >= p.size) && p;
}, { timeoutMs: 90_000 });

/**
 * Deploys, waits for the pool (the deploy starts filling the runtime's pool: a call made at once
 * may find its sandbox still starting, and then starts cold), calls once, answers the status,
 * body and the instance that served it.
 */
async function firstCall(name: string, files: PackageFiles, path = '/'): Promise<{ status: number; body: string; origin: string; pid: number }> {
  await ferry.deploy(name, files);
  await full();
  const res = await fetch(`${ferry.url}/fn/${name}${path}`);
  const body = await res.text();
  const [inst] = await listInstances(ferry, name);
  return { status: res.status, body, origin: inst?.origin ?? 'none', pid: inst?.pid ?? 0 };
}

const python = (body: string, manifest: Record<string, unknown> = {}): PackageFiles => ({
  'ferry.json': JSON.stringify({ runtime: 'python', handler: 'main.py', ...manifest }),
  'main.py': body,
});


test('a first call with no warm instance is served by a pooled sandbox, node and python', { skip }, async () => {
  // No function yet: no runtime's pool is active, and no sandbox waits.
  const empty = await pool();
  assert.equal(empty.enabled, true);
  assert.deepEqual(empty.runtimes.map((r) => [r.runtime, r.active, r.ready + r.starting]).sort(), [['node', false, 0], ['python', false, 0]]);
  const node = await firstCall('first-node', nodeFn("export default (req, ctx) => `hello ${ctx.function}`;\n"));
  assert.deepEqual([node.status, node.body, node.origin], [200, 'hello first-node', 'pool']);
  // A node function does not start python sandboxes.
  const pyLane = (await pool()).runtimes.find((r) => r.runtime === 'python')!;
  assert.deepEqual([pyLane.active, pyLane.ready + pyLane.starting], [false, 0]);
  const py = await firstCall('first-py', python("def handler(req):\n    return 'hello py'\n"));
  assert.deepEqual([py.status, py.body, py.origin], [200, 'hello py', 'pool']);
  const logs = await (await ferry.api('GET', '/v1/functions/first-node/logs')).text();
  assert.match(logs, /instance ready in [\d.]+ ms \(from the pre-booted pool\)/);
});

test('the pool refills: the next function first call is pooled too, in another sandbox', { skip }, async () => {
  await full();
  const a = await firstCall('refill-a', nodeFn('export default () => "a";\n'));
  const refilled = await full();
  const b = await firstCall('refill-b', nodeFn('export default () => "b";\n'));
  assert.deepEqual([a.origin, b.origin], ['pool', 'pool']);
  assert.notEqual(a.pid, b.pid);
  assert.ok(refilled.runtimes.find((r) => r.runtime === 'node')!.pids.includes(b.pid), 'b got the sandbox that refilled the pool');
});

test("a function's files and environment never reach a later function's pooled sandbox", { skip }, async () => {
  await full();
  const leaky = await firstCall('leaky', nodeFn(
    'import { writeFileSync } from "node:fs";\nexport default () => { writeFileSync("/tmp/secret", "a"); process.env.Y = "set-at-run-time"; return process.env.X; };\n',
    { env: { X: 'a-secret' } },
  ));
  assert.deepEqual([leaky.status, leaky.body, leaky.origin], [200, 'a-secret', 'pool']);
  assert.equal((await ferry.api('POST', '/v1/functions/leaky/versions/v1/stop')).status, 202);
  await waitFor('the leaky instance to be gone', () => !alive(leaky.pid));
  const status = await full();
  assert.ok(status.runtimes.every((r) => !r.pids.includes(leaky.pid)), 'a stopped instance never goes back to the pool');

  const probe = 'import { existsSync } from "node:fs";\nexport default () => ({ secret: existsSync("/tmp/secret"), x: process.env.X ?? null, y: process.env.Y ?? null });\n';
  const later = await firstCall('later', nodeFn(probe));
  assert.equal(later.origin, 'pool');
  assert.notEqual(later.pid, leaky.pid);
  assert.deepEqual(JSON.parse(later.body), { secret: false, x: null, y: null });
  const py = await firstCall('later-py', python('import os\ndef handler(req):\n    return {"secret": os.path.exists("/tmp/secret"), "x": os.environ.get("X"), "y": os.environ.get("Y")}\n'));
  assert.equal(py.origin, 'pool');
  assert.deepEqual(JSON.parse(py.body), { secret: false, x: null, y: null });
});

test('limits applied at hand-off hold, down and up from the pooled sandbox\'s own (256 MB)', { skip }, async () => {
  // Allocates (and touches) `n` MB on /alloc/<n>.
  const src = 'export default (req) => {\n  const n = Number(new URL(req.url).pathname.split("/")[2] ?? 0);\n  const keep = [];\n  for (let i = 0; i < n / 8; i++) keep.push(Buffer.alloc(8 * 1024 * 1024, 1));\n  return String(keep.length * 8);\n};\n';
  await full();
  const small = await firstCall('mem-small', nodeFn(src, { limits: { memoryMb: 64 } }));
  assert.deepEqual([small.status, small.origin], [200, 'pool']);
  // 128 MB: within what the sandbox had while pooled, past the function's 64.
  const res = await fetch(`${ferry.url}/fn/mem-small/alloc/128`);
  assert.equal(res.status, 502);
  assert.equal(((await res.json()) as { code: string }).code, 'instance-oom');

  await full();
  const big = await firstCall('mem-big', nodeFn(src, { limits: { memoryMb: 1024 } }), '/alloc/384');
  assert.deepEqual([big.status, big.body, big.origin], [200, '384', 'pool'], 'raised past the pooled 256 MB');
});

test('functions the pool cannot serve exactly start cold; a handler that does not load fails as cold', { skip }, async () => {
  await full();
  const none = await firstCall('cold-net', nodeFn('export default () => "no network";\n', { network: 'none' }));
  assert.deepEqual([none.status, none.origin], [200, 'cold']);
  const opts = await firstCall('cold-opts', nodeFn('export default () => process.env.NODE_OPTIONS;\n', { env: { NODE_OPTIONS: '--no-warnings' } }));
  assert.deepEqual([opts.status, opts.body, opts.origin], [200, '--no-warnings', 'cold']);
  const tmp = await firstCall('cold-tmp', python("def handler(req):\n    return 'big tmp'\n", { limits: { tmpMb: 128 } }));
  assert.deepEqual([tmp.status, tmp.origin], [200, 'cold']);

  // Unchecked: the deploy-time check would refuse it; this is the runtime's own failure path.
  await ferry.deploy('broken', nodeFn('throw new Error("broken at import");\n'), undefined, '?check=false');
  const res = await fetch(`${ferry.url}/fn/broken`);
  assert.equal(res.status, 502);
  assert.equal(((await res.json()) as { code: string }).code, 'instance-start-failed');
  await waitFor('the import error in the function logs', async () => /broken at import/.test(await (await ferry.api('GET', '/v1/functions/broken/logs')).text()));
  // The pool goes on serving others.
  await full();
  assert.equal((await firstCall('after-broken', nodeFn('export default () => "fine";\n'))).origin, 'pool');
});

test('server shutdown leaves no mounts and no processes', { skip }, async () => {
  const f = await startFerry();
  try {
    // A function of each runtime: both pools fill, and stay filled after the first call.
    await f.deploy('served', nodeFn('export default () => "x";\n'));
    await f.deploy('served-py', python("def handler(req):\n    return 'x'\n"));
    assert.equal((await fetch(`${f.url}/fn/served`)).status, 200);
    const filled = await full(f);
    assert.ok(filled.runtimes.every((r) => r.active && r.ready >= 1), JSON.stringify(filled));
    const mountd = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number).filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] === String(f.proc.pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('ferry-mountd');
      } catch {
        return false;
      }
    });
    const scope = createHash('sha256').update(f.dataDir).digest('hex').slice(0, 12);
    const ours = (): string[] => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(`/ferry-slots/${scope}`) || l.includes(f.dataDir));
    assert.ok(ours().length >= 3, `the slots are mounted while it runs:\n${ours().join('\n')}`);
    assert.equal(mountd.length, 1, 'one mount service, a child of the server');
    assert.equal(await f.stop(), 0);
    assert.deepEqual(ours(), []);
    assert.deepEqual(processesMentioning(f.dataDir), []);
    await waitFor('the mount service to exit', () => !alive(mountd[0]!), { timeoutMs: 5000 });
  } finally {
    await disposeFerry(f);
  }
});

test('--pool-size 0 and the process driver: no pool, and GET /v1/pool says why', { skip: !support.ok && 'the bwrap sandbox cannot run here' }, async () => {
  for (const args of [['--pool-size', '0'], ['--driver', 'process', '--unsandboxed']]) {
    const f = await startFerry({ args });
    try {
      const p = (await (await f.api('GET', '/v1/pool')).json()) as PoolView;
      assert.equal(p.enabled, false);
      assert.match(p.reason ?? '', args[0] === '--pool-size' ? /--pool-size 0/ : /process driver has none/);
      assert.ok(f.output.some((l) => l.includes('pre-booted sandbox pool disabled')), 'the server says so');
      await f.deploy('c', nodeFn('export default () => "cold";\n'));
      assert.equal((await fetch(`${f.url}/fn/c`)).status, 200);
      assert.deepEqual((await listInstances(f, 'c')).map((i) => i.origin), ['cold']);
    } finally {
      await disposeFerry(f);
    }
  }
});
