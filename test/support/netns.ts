/**
 * Test helpers for the network layer: a network namespace standing in for "the internet" (the
 * real one is not reachable from CI), servers on the host and in it, and real sandboxes that try
 * to connect. Tests may send traffic only to loopback and to namespaces they create here.
 *
 * The namespace `k` (0..63, the first free one, so test files can run side by side):
 *   host side  veth ferrytk-h  198.51.100.(4k+2)/30   2001:db8:f5:k::2/64
 *   namespace  veth ferrytk-n  198.51.100.(4k+1)/30   2001:db8:f5:k::1/64   ("public")
 *                              10.123.k.1/32  169.254.123.(k+1)/32  fd00:f5:k::1/128 ("private")
 * with host routes to the private addresses through the namespace.
 */
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import type { TestContext } from 'node:test';
import { findTool } from '../../src/sandbox/bwrap/network.js';
import { withStackFd, type AttachedStack } from '../../src/sandbox/bwrap/slirp.js';
import { systemBindArgs } from '../../src/sandbox/bwrap/system-binds.js';

/** In CI (or when asked), a missing requirement fails the test instead of skipping it. */
export const mustWork = process.env.CI === 'true' || process.env.FERRY_SANDBOX_MUST_WORK === '1';

/** Skips the test with the reason (or fails, in CI). Returns true when the test may go on. */
export function need(t: TestContext, missing: string | false | undefined): boolean {
  if (!missing) return true;
  if (mustWork) throw new Error(`required for the sandbox tests: ${missing}`);
  t.skip(missing);
  return false;
}

/** What real sandboxes need that is not there (bwrap, user namespaces), or undefined. */
export function missingSandbox(): string | undefined {
  const bwrap = findTool('bwrap');
  if (!bwrap) return 'bwrap is not installed (apt-get install bubblewrap)';
  if (process.getuid?.() === 0 && !findTool('setpriv')) return 'setpriv (util-linux) is needed to run sandboxes as an unprivileged user';
  const r = spawnSync(bwrap, ['--unshare-user', '--unshare-net', ...systemBindArgs(), '/bin/true']);
  if (r.status !== 0) return `bwrap cannot create user namespaces here: ${r.stderr?.toString().trim()}`;
  return undefined;
}

/** What the test network namespace needs on top (root, ip, nft), or undefined. */
export function missingNetns(): string | undefined {
  const sandbox = missingSandbox();
  if (sandbox) return sandbox;
  for (const tool of ['ip', 'nft']) if (!findTool(tool)) return `${tool} is not installed (apt-get install iproute2 nftables)`;
  if (process.getuid?.() !== 0) return 'creating the test network namespace needs root';
  return undefined;
}

/**
 * The argv that runs a command as the unprivileged sandbox user, as the driver's helper does
 * (pasta refuses to run as root).
 */
export function asSandboxUser(): string[] {
  return process.getuid?.() === 0 ? [findTool('setpriv')!, '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
}

function ip(...args: string[]): void {
  const r = spawnSync(findTool('ip')!, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

export interface TestNetns {
  name: string;
  hostAddr: string;
  nsAddr: string;
  privateAddr: string;
  linkLocalAddr: string;
  /** IPv6 addresses of the namespace (reachable when the host has an IPv6 default route). */
  nsAddr6: string;
  private6: string;
  /** Starts `argv` inside the namespace; it is killed by `cleanup`. */
  spawn(argv: string[]): ChildProcess;
  /** What a failing test should print: whether the link, the namespace and its servers are still there. */
  state(): string;
  cleanup(): Promise<void>;
}

/** Creates the namespace, its veth pair, addresses and host routes. */
export function createTestNetns(): TestNetns {
  let k = 0;
  for (; k < 64; k++) {
    // Creating the link is the lock: a name another test file holds fails with EEXIST.
    const r = spawnSync(findTool('ip')!, ['link', 'add', `ferryt${k}-h`, 'type', 'veth', 'peer', 'name', `ferryt${k}-n`]);
    if (r.status === 0) break;
  }
  if (k === 64) throw new Error('no free test network namespace slot');
  const name = `ferry-test-${k}-${process.pid}`;
  const [h, n] = [`ferryt${k}-h`, `ferryt${k}-n`];
  const ns = {
    name,
    hostAddr: `198.51.100.${4 * k + 2}`,
    nsAddr: `198.51.100.${4 * k + 1}`,
    privateAddr: `10.123.${k}.1`,
    linkLocalAddr: `169.254.123.${k + 1}`,
    nsAddr6: `2001:db8:f5:${k}::1`,
    private6: `fd00:f5:${k}::1`,
  };
  const children: ChildProcess[] = [];
  let cleaned = false;
  const cleanup = async (): Promise<void> => {
    // Once only: a second `ip link del` could take the slot another file has taken since.
    if (cleaned) return;
    cleaned = true;
    for (const c of children) {
      if (c.exitCode === null && c.signalCode === null) {
        c.kill('SIGKILL');
        await once(c, 'exit');
      }
    }
    spawnSync(findTool('ip')!, ['link', 'del', h]); // takes the peer and the host routes with it
    spawnSync(findTool('ip')!, ['netns', 'del', name]);
  };
  try {
    ip('netns', 'add', name);
    ip('link', 'set', n, 'netns', name);
    ip('addr', 'add', `${ns.hostAddr}/30`, 'dev', h);
    ip('-6', 'addr', 'add', `2001:db8:f5:${k}::2/64`, 'dev', h, 'nodad');
    ip('link', 'set', h, 'up');
    ip('-n', name, 'link', 'set', 'lo', 'up');
    for (const a of [`${ns.nsAddr}/30`, `${ns.privateAddr}/32`, `${ns.linkLocalAddr}/32`]) ip('-n', name, 'addr', 'add', a, 'dev', n);
    // nodad: usable at once, without the seconds of duplicate address detection.
    for (const a of [`${ns.nsAddr6}/64`, `${ns.private6}/128`]) ip('-n', name, '-6', 'addr', 'add', a, 'dev', n, 'nodad');
    ip('-n', name, 'link', 'set', n, 'up');
    ip('-n', name, 'route', 'add', 'default', 'via', ns.hostAddr);
    ip('-n', name, '-6', 'route', 'add', 'default', 'via', `2001:db8:f5:${k}::2`);
    ip('route', 'add', `${ns.privateAddr}/32`, 'via', ns.nsAddr);
    ip('route', 'add', `${ns.linkLocalAddr}/32`, 'via', ns.nsAddr);
    ip('-6', 'route', 'add', `${ns.private6}/128`, 'via', ns.nsAddr6);
  } catch (err) {
    void cleanup();
    throw err;
  }
  return {
    ...ns,
    spawn(argv: string[]): ChildProcess {
      const c = spawn(findTool('ip')!, ['netns', 'exec', name, ...argv], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(c);
      // A server of the namespace that ends before the cleanup is why its tests fail: say so.
      c.once('exit', (code, sig) => {
        if (!cleaned) process.stderr.write(`test namespace ${name}: ${argv.slice(0, 2).join(' ')} ended early (${sig ?? `exit code ${code}`})\n`);
      });
      return c;
    },
    state(): string {
      const link = spawnSync(findTool('ip')!, ['-br', 'addr', 'show', 'dev', h], { encoding: 'utf8' });
      const route = spawnSync(findTool('ip')!, ['route', 'get', ns.nsAddr], { encoding: 'utf8' });
      const servers = children.map((c) => (c.exitCode === null && c.signalCode === null ? `pid ${c.pid} runs` : `pid ${c.pid} ended (${c.signalCode ?? c.exitCode})`));
      return `test namespace ${name}: link ${link.status === 0 ? link.stdout.trim() : `gone (${link.stderr.trim()})`}; route ${route.stdout.trim() || route.stderr.trim()}; servers: ${servers.join(', ')}`;
    },
    cleanup,
  };
}

/** A node program for `TestNetns.spawn`: a TCP server on [::]:port answering `marker`, printing "ready". */
export function markerServerArgv(port: number, marker: string): string[] {
  const src = `require('net').createServer((s) => s.end(${JSON.stringify(marker)})).listen({ port: ${port}, host: '::' }, () => console.log('ready'))`;
  return [process.execPath, '-e', src];
}

/** Resolves once a child printed "ready". */
export async function ready(child: ChildProcess): Promise<void> {
  let out = '';
  for await (const chunk of child.stdout!) {
    out += String(chunk);
    if (out.includes('ready')) return;
  }
  throw new Error(`the server exited before it was ready: ${out}`);
}

/** A TCP server of the host answering `marker` on host:0. */
export async function hostServer(host: string, marker: string): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => {
    // A client in a sandbox may reset the connection (its user-mode stack does when the filter
    // changes under it): that is the probe's business, not an error of the test process.
    s.on('error', () => {});
    s.end(marker);
  });
  server.listen({ port: 0, host, ipv6Only: false });
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

/**
 * The program run inside sandboxes: connects to each "host:port" (IPv6 in brackets) and prints
 * {target: "ok:<what it answered>" | error code}. It first tries to flush the nft ruleset, and
 * reports whether that worked under "nft-flush".
 */
export const probeSource = `
const net = require('net');
const cp = require('child_process');
const targets = JSON.parse(process.argv[1]);
const out = {};
const nft = ['/usr/sbin/nft', '/sbin/nft'].find((p) => require('fs').existsSync(p));
if (nft) out['nft-flush'] = cp.spawnSync(nft, ['flush', 'ruleset']).status === 0 ? 'flushed' : 'refused';
Promise.all(targets.map((t) => new Promise((done) => {
  const i = t.lastIndexOf(':');
  const host = t.slice(0, i).replace(/^\\[|\\]$/g, '');
  const s = net.connect({ host, port: Number(t.slice(i + 1)), timeout: 3000 });
  let data = '';
  s.on('data', (d) => (data += d));
  s.on('end', () => done((out[t] = 'ok:' + data)));
  s.on('timeout', () => { s.destroy(); done((out[t] = 'timeout')); });
  s.on('error', (e) => done((out[t] = e.code || e.message)));
}))).then(() => console.log(JSON.stringify(out)));
`;

/** bwrap arguments of the test sandboxes: the host's system read-only, private /dev, /proc, /tmp. */
/** Ferry's checkout (dist and node_modules), bound again over the fresh /tmp in case it lives under /tmp. */
const distRoot = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');
export const testSandboxArgs = ['--unshare-user', '--unshare-pid', '--die-with-parent', '--cap-drop', 'ALL', ...systemBindArgs([dirname(process.execPath)]), '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp', '--ro-bind', distRoot, distRoot];

/** A plan's stack and how to run it (as the sandbox user, inside any outer wrapper). */
export interface StackRun {
  stack: AttachedStack | undefined;
  wrap: (argv: string[]) => string[];
}

/**
 * Runs argv, with a network plan's stack beside it as the driver would; resolves its exit code,
 * stdout and stderr (killed after `timeoutMs`). `onSpawn` sees the child before it ends.
 */
export async function run(argv: string[], timeoutMs = 20_000, stack?: StackRun, onSpawn?: (child: ChildProcess) => void): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: withStackFd(['ignore', 'pipe', 'pipe'], stack?.stack), cwd: '/', detached: true });
  if (stack?.stack) stack.stack.attach(child, stack.wrap);
  onSpawn?.(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const killGroup = (): void => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  };
  const closed = once(child, 'close');
  const timer = setTimeout(killGroup, timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  killGroup(); // anything the command left behind in its group (and its hold on stdout)
  await closed;
  return { code, stdout, stderr: stderr.replace(/^Failed to send \d+ bytes to syslog\n/gm, '') };
}
