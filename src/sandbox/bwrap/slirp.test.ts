// slirp4netns beside real sandboxes: no shell stays behind, failures stop the start, and the
// stack never outlives its instance or the server that started it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findTools, networkPlan, probeNetwork, type NetworkPlan } from './network.js';
import { readHostAddresses } from './host-addresses.js';
import { STACK_FD, withStackFd } from './slirp.js';
import { asSandboxUser, missingSandbox, need, run, testSandboxArgs } from '../../../test/support/netns.js';

const missing = missingSandbox();
const sandboxUid = process.getuid?.() === 0 ? 65534 : process.getuid?.();
let runDir: string;
let works: string | undefined;
/** The host's addresses, for the filters (read in `before`). */
let hosts: string[] = [];

function plan(extra: { slirp4netns?: string } = {}): NetworkPlan {
  const tools = { ...findTools(), ...extra };
  return networkPlan('egress', { hostAddresses: hosts, egressAllow: [], runDir, allowHostNetwork: false, engine: 'slirp4netns', tools, ...(sandboxUid === undefined ? {} : { uid: sandboxUid }) });
}

const stackRun = (p: NetworkPlan) => ({ stack: p.stack, wrap: (a: string[]) => [...asSandboxUser(), ...a] });
const sandboxArgv = (p: NetworkPlan, ...cmd: string[]): string[] => [...asSandboxUser(), ...p.prefix, findTools().bwrap!, ...testSandboxArgs, '--', ...cmd];

/** Pids of the slirp4netns processes attached to `pid`. */
function slirpFor(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (argv[0]?.endsWith('slirp4netns') && argv.includes(String(pid))) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

const alive = (pid: number): boolean => {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
};

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Resolves with the first stdout line of `child`. */
function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
    });
    child.once('exit', (code) => reject(new Error(`exited (${code}) before a line: ${out}`)));
  });
}

describe('slirp4netns beside the instance', () => {
  before(async () => {
    runDir = mkdtempSync(join(tmpdir(), 'ferry-slirp-test-'));
    chmodSync(runDir, 0o755);
    if (missing) return;
    if (findTools().ip) hosts = await readHostAddresses([findTools().ip!]);
    const probe = await probeNetwork();
    if (!probe.engines.slirp4netns.ok) works = `slirp4netns does not work here: ${probe.engines.slirp4netns.detail}`;
  });
  after(() => rmSync(runDir, { recursive: true, force: true }));
  const ready = (t: Parameters<typeof need>[0]): boolean => need(t, missing) && need(t, works);

  test('the plan: unshare execs the shell, which execs bwrap; the control fd is not inherited', () => {
    const p = plan();
    assert.equal(p.stack?.fd, STACK_FD);
    assert.deepEqual(p.prefix.slice(1, 5), ['--user', '--map-root-user', '--net', '--']);
    assert.match(p.prefix[7]!, new RegExp(`exec ${STACK_FD}>&-`));
    assert.deepEqual(withStackFd(['ignore', 'pipe'], p.stack), ['ignore', 'pipe', ...Array(STACK_FD - 2).fill('ignore'), 'pipe']);
    assert.throws(() => withStackFd(Array(STACK_FD + 1).fill('ignore'), p.stack), /taken/);
  });

  test('while it runs: the first process is bwrap itself, slirp4netns a child of the server, no shell left', async (t) => {
    if (!ready(t)) return;
    const p = plan();
    let child: ChildProcess | undefined;
    const done = run(sandboxArgv(p, '/bin/sh', '-c', 'echo up; exec sleep 30'), 20_000, stackRun(p), (c) => (child = c));
    await firstLine(child!);
    const fds = readdirSync(`/proc/${child!.pid}/fd`).map(Number);
    assert.equal(readFileSync(`/proc/${child!.pid}/comm`, 'utf8').trim(), 'bwrap');
    assert.ok(!fds.includes(STACK_FD), 'bwrap does not hold the control fd');
    const slirp = slirpFor(child!.pid!);
    assert.equal(slirp.length, 1, 'one slirp4netns');
    assert.equal(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${slirp[0]}/status`, 'utf8'))?.[1], String(process.pid));
    process.kill(-child!.pid!, 'SIGKILL');
    await done;
    await until('slirp4netns to exit with its instance', () => !alive(slirp[0]!));
  });

  test('fails closed: a stack that does not start stops the instance before it runs (125)', async (t) => {
    if (!ready(t)) return;
    const fake = join(runDir, 'slirp-fails');
    writeFileSync(fake, '#!/bin/sh\necho "cannot open tap: no device" >&2\nexit 1\n', { mode: 0o755 });
    const p = plan({ slirp4netns: fake });
    const r = await run(sandboxArgv(p, '/bin/echo', 'the instance ran'), 20_000, stackRun(p));
    assert.equal(r.code, 125, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /ferry-net: the network stack did not configure the network \(slirp4netns exited \(exit code 1\): cannot open tap: no device\); not starting the instance/);
  });

  test('a killed server takes slirp4netns and the instance with it', async (t) => {
    if (!ready(t)) return;
    // A stand-in server: starts one instance, prints its pid, then waits to be killed.
    const here = (f: string): string => fileURLToPath(new URL(f, import.meta.url));
    const script = `
      const { networkPlan, findTools } = await import(${JSON.stringify(here('./network.js'))});
      const t = await import(${JSON.stringify(here('../../../test/support/netns.js'))});
      const p = networkPlan('egress', ${JSON.stringify({ hostAddresses: hosts, egressAllow: [], runDir, allowHostNetwork: false, engine: 'slirp4netns', ...(sandboxUid === undefined ? {} : { uid: sandboxUid }) })});
      const argv = [...t.asSandboxUser(), ...p.prefix, findTools().bwrap, ...t.testSandboxArgs, '--', '/bin/sh', '-c', 'echo up; exec sleep 60'];
      t.run(argv, 60_000, { stack: p.stack, wrap: (a) => [...t.asSandboxUser(), ...a] }, (c) => {
        c.stdout.once('data', () => console.log(c.pid));
      });`;
    const server = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const pid = Number(await firstLine(server));
    const slirp = slirpFor(pid);
    assert.equal(slirp.length, 1);
    server.kill('SIGKILL');
    await until('slirp4netns to exit with the server', () => !alive(slirp[0]!));
    await until('the instance to exit with the server', () => !alive(pid));
  });
});
