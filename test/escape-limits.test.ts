// The escape suite, continued: what a tenant's function can learn from the host's process table
// and do with its own token, and how much it can write. Real functions under the bwrap driver,
// started cold and through the pre-booted pool:
// - no secret value, instance token or environment value is on any command line of the host
//   (/proc/<pid>/cmdline is world-readable), and only the instance's own processes hold them in
//   their environment;
// - an instance token works on the instance's own socket only, never on Ferry's TCP listener;
// - every writable place has a cap: filling /run/ferry or /dev/shm answers ENOSPC, /dev is
//   read-only, and the server (SQLite in the data dir) keeps working afterwards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { startFerry, disposeFerry, markSensitive, type Ferry, type PackageFiles } from './support/ferry.js';
import { expectProblem, nodeFn } from './support/helpers.js';
import { listInstances } from './support/fn.js';
import { sandboxSupport } from './support/sandbox.js';
import { cmdlineLeaks, descendants } from './support/cmdline-leaks.js';
import { waitFor } from './support/wait.js';

const support = await sandboxSupport();
const mustWork = process.env.CI === 'true' || process.env.FERRY_SANDBOX_MUST_WORK === '1';
const root = process.getuid?.() === 0;
// The pool and the run dir's cap need root (mounts); the default server runs as root.
if (mustWork && !root) throw new Error('these checks must run here (CI or FERRY_SANDBOX_MUST_WORK=1) but Ferry does not run as root');
const skip = !support.ok ? `the bwrap sandbox cannot run here: ${support.why}` : !root ? 'the pool and the run dir cap need root' : false;
if (skip && process.env.CI === 'true') throw new Error(`this suite must run in CI (as root, with the sandbox): ${skip}`);

const MiB = 1024 * 1024;
const secretValue = `s3cret-${randomBytes(12).toString('hex')}`;
const envValue = `plain-env-${randomBytes(12).toString('hex')}`;

let ferry: Ferry;
before(async () => {
  if (skip) return;
  markSensitive(secretValue);
  ferry = await startFerry({ args: ['--driver', 'bwrap'] });
  assert.equal((await ferry.api('POST', '/v1/secrets', { name: 'DB_PASSWORD', value: secretValue })).status, 201);
});
after(async () => {
  if (ferry) await disposeFerry(ferry);
});

/** Waits until the pre-booted pool has a sandbox waiting for every runtime with a function deployed. */
async function poolFull(): Promise<void> {
  await waitFor('the pre-booted pool to be full', async () => {
    const p = (await (await ferry.api('GET', '/v1/pool')).json()) as { enabled: boolean; reason?: string; size: number; runtimes: Array<{ active: boolean; ready: number }> };
    assert.ok(p.enabled, `the pool must be on here: ${p.reason}`);
    return p.runtimes.every((r) => !r.active || r.ready >= p.size);
  }, { timeoutMs: 60_000 });
}

/**
 * Deploys, calls once (200), answers the JSON body and where its instance came from. The call
 * waits for the pool: a deploy starts filling its runtime's pool, and a call made at once could
 * find the sandbox still starting and start cold.
 */
async function firstCall(name: string, files: PackageFiles, on: Ferry = ferry): Promise<{ body: Record<string, unknown>; origin: string }> {
  await on.deploy(name, files);
  if (on === ferry) await poolFull();
  const res = await fetch(`${on.url}/fn/${name}`);
  const text = await res.text();
  assert.equal(res.status, 200, `${name}: ${text}`);
  const [inst] = await listInstances(on, name);
  return { body: JSON.parse(text) as Record<string, unknown>, origin: inst?.origin ?? 'none' };
}

const python = (body: string, manifest: Record<string, unknown>): PackageFiles => ({
  'ferry.json': JSON.stringify({ runtime: 'python', handler: 'main.py', ...manifest }),
  'main.py': body,
});

/** Answers its token and whether its secret and environment arrived. */
const pythonTeller = (manifest: Record<string, unknown>): PackageFiles =>
  python(
    `import os
def handler(request):
    return {"token": os.environ["FERRY_TOKEN"], "secret": os.environ.get("DB_PASSWORD") == ${JSON.stringify(secretValue)}, "env": os.environ.get("MARK") == ${JSON.stringify(envValue)}}
`,
    { secrets: ['DB_PASSWORD'], env: { MARK: envValue }, ...manifest },
  );

/** The same in node, which also proves that its token works on its own socket. */
const nodeTeller = nodeFn(
  `export default async (req, ctx) => {
  await ctx.objects.put('probe', 'from inside');
  return { token: process.env.FERRY_TOKEN, secret: process.env.DB_PASSWORD === ${JSON.stringify(secretValue)}, env: process.env.MARK === ${JSON.stringify(envValue)}, socket: (await (await ctx.objects.get('probe')).text()) === 'from inside' };
};
`,
  { secrets: ['DB_PASSWORD'], env: { MARK: envValue } },
);

/** The pid namespace of a process (undefined: gone). */
function pidNamespace(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
}

/** Processes under a server whose environment holds one of `values`, outside any instance's PID namespace. */
function environLeaks(values: string[], server: Ferry): string[] {
  const host = pidNamespace(server.proc.pid!);
  const out: string[] = [];
  for (const pid of descendants(server.proc.pid!)) {
    let environ: string;
    try {
      environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
    } catch {
      continue;
    }
    if (values.some((v) => environ.includes(v)) && pidNamespace(pid) === host) out.push(`pid ${pid}: ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').slice(0, 200)}`);
  }
  return out;
}

test('no secret, token or environment value on any command line, cold and pooled; instance tokens only on their socket', { skip }, async (t) => {
  await poolFull();
  // A second server with the pool off: there even a default function starts cold.
  const noPool = await startFerry({ args: ['--driver', 'bwrap', '--pool-size', '0'] });
  t.after(() => disposeFerry(noPool));
  assert.equal((await noPool.api('POST', '/v1/secrets', { name: 'DB_PASSWORD', value: secretValue })).status, 201);
  const tellers: Array<[name: string, files: PackageFiles, on: Ferry, origin: string]> = [
    // Cold, the pool off (egress, through the shared router).
    ['leak-cold', pythonTeller({}), noPool, 'cold'],
    // Cold beside a pool: a /tmp size other than the pooled sandboxes', so none fits.
    ['leak-tmp', pythonTeller({ limits: { tmpMb: 32 } }), ferry, 'cold'],
    // Cold, with no network stack in front of bwrap.
    ['leak-none', pythonTeller({ network: 'none' }), ferry, 'cold'],
    // Through the pool: the environment arrives with the LOAD.
    ['leak-pool', nodeTeller, ferry, 'pool'],
  ];
  const tokens: string[] = [];
  for (const [name, files, on, expected] of tellers) {
    const { body, origin } = await firstCall(name, files, on);
    assert.equal(origin, expected, `${name} started ${origin}`);
    assert.equal(body.secret, true, `${name} got its secret`);
    assert.equal(body.env, true, `${name} got its environment`);
    if (name === 'leak-pool') assert.equal(body.socket, true, 'the token works on its own socket');
    assert.match(String(body.token), /^fry_/);
    tokens.push(String(body.token));
  }
  // Every instance is still running: its whole tree is in the process table now.
  for (const [name, , on] of tellers) assert.equal((await listInstances(on, name))[0]?.state, 'ready', name);
  for (const server of [ferry, noPool]) {
    assert.deepEqual(cmdlineLeaks([secretValue, envValue, ...tokens], server.proc.pid), [], 'a command line of the host holds a secret, token or environment value');
    // Only the instances' own processes (in their PID namespaces) hold them in their environment.
    assert.deepEqual(environLeaks([secretValue, ...tokens], server), [], 'a process outside the instances holds a secret or token in its environment');
  }

  // A token taken out of an instance is worth nothing on Ferry's TCP listener.
  const stolen = tokens[3]!;
  await expectProblem(await fetch(`${ferry.url}/v1/functions/leak-pool/objects`, { headers: { authorization: `Bearer ${stolen}` } }), 401, 'invalid-token', 'its own objects over TCP');
  await expectProblem(await fetch(`${ferry.url}/v1/functions/leak-pool/objects/probe`, { method: 'PUT', headers: { authorization: `Bearer ${stolen}` }, body: 'x' }), 401, 'invalid-token', 'writing its objects over TCP');
  await ferry.deploy('leak-callee', nodeFn('export default () => "called";\n', { invoke: 'token' }));
  await expectProblem(await fetch(`${ferry.url}/fn/leak-callee`, { headers: { authorization: `Bearer ${stolen}` } }), 401, 'invalid-token', 'calling a token function over TCP');
  // ...while the admin's token still works there.
  assert.equal((await ferry.api('GET', '/fn/leak-callee')).status, 200);
});

/** Fills each writable place of the sandbox and answers how far it got and how it stopped. */
const filler = (manifest: Record<string, unknown>): PackageFiles =>
  python(
    `import errno, os
MiB = 1024 * 1024
def fill(path, limit):
    written, err = 0, None
    chunk = b"x" * MiB
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as e:
        return {"written": 0, "error": errno.errorcode.get(e.errno, str(e.errno))}
    try:
        while written < limit:
            written += os.write(fd, chunk)
    except OSError as e:
        err = errno.errorcode.get(e.errno, str(e.errno))
    finally:
        os.close(fd)
        os.unlink(path)
    return {"written": written, "error": err}
def files(d, limit):
    made, err = 0, None
    try:
        while made < limit:
            open(os.path.join(d, "f%d" % made), "w").close()
            made += 1
    except OSError as e:
        err = errno.errorcode.get(e.errno, str(e.errno))
    for i in range(made):
        os.unlink(os.path.join(d, "f%d" % i))
    return {"made": made, "error": err}
def handler(request):
    return {
        "dev": fill("/dev/ferry-fill", 4 * MiB),
        "shm": fill("/dev/shm/ferry-fill", 200 * MiB),
        "run": fill("/run/ferry/ferry-fill", 32 * MiB),
        "runFiles": files("/run/ferry", 5000),
        "tmp": fill("/tmp/ferry-fill", 200 * MiB),
    }
`,
    manifest,
  );

interface Fill {
  written: number;
  error: string | null;
}

test('every writable place is capped: /run/ferry and /dev/shm fill up with ENOSPC, /dev is read-only, the server keeps working', { skip }, async () => {
  await poolFull();
  for (const [name, manifest, origin, tmpMb] of [
    ['fill-pool', {}, 'pool', 64],
    ['fill-cold', { limits: { tmpMb: 32 } }, 'cold', 32],
  ] as const) {
    const { body, origin: got } = await firstCall(name, filler(manifest));
    assert.equal(got, origin, `${name} started ${got}`);
    const dev = body.dev as Fill;
    const shm = body.shm as Fill;
    const run = body.run as Fill;
    const tmp = body.tmp as Fill;
    const runFiles = body.runFiles as { made: number; error: string | null };
    assert.deepEqual(dev, { written: 0, error: 'EROFS' }, `${name}: /dev is read-only`);
    assert.equal(shm.error, 'ENOSPC', `${name}: /dev/shm is capped (${JSON.stringify(shm)})`);
    assert.ok(shm.written <= tmpMb * MiB, `${name}: /dev/shm took ${shm.written} bytes, over limits.tmpMb`);
    assert.equal(run.error, 'ENOSPC', `${name}: /run/ferry is capped (${JSON.stringify(run)})`);
    assert.ok(run.written <= MiB, `${name}: /run/ferry took ${run.written} bytes`);
    assert.equal(runFiles.error, 'ENOSPC', `${name}: /run/ferry holds a bounded number of files (${JSON.stringify(runFiles)})`);
    assert.ok(runFiles.made <= 256, `${name}: /run/ferry took ${runFiles.made} files`);
    assert.equal(tmp.error, 'ENOSPC', `${name}: /tmp is capped (${JSON.stringify(tmp)})`);
    assert.ok(tmp.written <= tmpMb * MiB, `${name}: /tmp took ${tmp.written} bytes`);
    // The instance survived it, and serves again.
    assert.equal((await fetch(`${ferry.url}/fn/${name}`)).status, 200, `${name} serves after filling`);
  }
  // The data dir (SQLite) was never the one filling up: the server still stores and serves.
  await ferry.deploy('after-fill', nodeFn('export default () => "still here";\n'));
  const res = await fetch(`${ferry.url}/fn/after-fill`);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'still here');
});
