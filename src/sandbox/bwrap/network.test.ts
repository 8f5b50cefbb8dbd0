// Real sandboxes under each network policy, trying to reach the host and a stand-in internet.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:net';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { ROUTER_GATEWAY } from './network-rules.js';
import { FerryError } from '../../errors/index.js';
import { assertAllowed, createNetwork, findTools, networkPlan, probeNetwork, routerTools, SLIRP_DNS, type EgressEngine, type NetworkContext, type NetworkPlan, type NetworkProbe, type NetworkTools } from './network.js';
import { SharedEgress } from './shared-egress.js';
import { HostAddressWatch, readHostAddresses } from './host-addresses.js';
import { InstanceFilters } from './instance-filters.js';
import { asSandboxUser, createTestNetns, hostServer, markerServerArgv, missingNetns, missingSandbox, mustWork, need, probeSource, ready, run, testSandboxArgs, type StackRun, type TestNetns } from '../../../test/support/netns.js';

const sandboxMissing = missingSandbox();
/** The egress tests need the test namespace (root) too. */
const basics = missingNetns();
// The shared router needs root; as another user, each instance has a stack of its own.
const engines: EgressEngine[] = [...(process.getuid?.() === 0 ? (['shared'] as const) : []), 'pasta', 'slirp4netns'];
const sandboxUid = process.getuid?.() === 0 ? 65534 : process.getuid?.();
const bracket = (a: string): string => (a.includes(':') ? `[${a}]` : a);

let runDir: string;
let ns: TestNetns;
let loop: { server: Server; port: number };
let any: { server: Server; port: number };
const nsPort = 18_000 + (process.pid % 1000);
let probe: NetworkProbe;
/** The host's addresses as the filters see them (the kernel's local routes, gateways ...). */
let hosts: string[] = [];
/** The addresses of the host's running interfaces. */
const interfaceAddresses = (): string[] => Object.values(networkInterfaces()).flatMap((l) => (l ?? []).map((a) => a.address));
/** The host's non-loopback, non-link-local addresses (link-local needs a zone to connect). */
let hostTargets: string[];

function ctx(extra: Partial<NetworkContext> = {}): NetworkContext {
  return { hostAddresses: hosts, egressAllow: [], runDir, allowHostNetwork: false, ...(sandboxUid === undefined ? {} : { uid: sandboxUid }), ...extra };
}

/** Runs the probe program in a sandbox wrapped by `plan`; answers {target: result}. */
async function probeIn(plan: NetworkPlan, targets: string[], outer: string[] = [], extraArgs: string[] = []): Promise<Record<string, string>> {
  const bwrap = findTools().bwrap!;
  const argv = [...outer, ...asSandboxUser(), ...plan.prefix, bwrap, ...plan.bwrapArgs, ...testSandboxArgs, ...extraArgs, '--', process.execPath, '-e', probeSource, JSON.stringify(targets)];
  const r = await run(argv, undefined, { stack: plan.stack, wrap: (a) => [...outer, ...asSandboxUser(), ...a] });
  assert.equal(r.code, 0, `sandbox failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, string>;
}

/**
 * For the shared engine, a router of the test's own (its allow list, resolver or tools), started
 * on first use; `close` stops it. Other engines: no router.
 */
function routerFor(engine: EgressEngine, o: { egressAllow?: string[]; outer?: string[]; tools?: NetworkTools; watch?: HostAddressWatch } = {}): { shared?: SharedEgress; close(): void } {
  if (engine !== 'shared') return { close: () => {} };
  const shared = new SharedEgress({
    tools: routerTools(o.tools ?? findTools())!,
    asUser: (a) => [...asSandboxUser(), ...a],
    egressAllow: o.egressAllow ?? [],
    hostAddresses: () => o.watch?.current() ?? hosts,
    ...(o.watch && { watchHosts: (f: () => void) => o.watch!.onChange(f) }),
    dnsAddress: SLIRP_DNS,
    ...(o.outer && { outer: o.outer }),
  });
  return { shared, close: () => shared.close() };
}

/** The plan's stack, run as the sandbox user (as the driver's helper does). */
const asUser = (plan: NetworkPlan): StackRun => ({ stack: plan.stack, wrap: (a) => [...asSandboxUser(), ...a] });

const reached = (res: Record<string, string>, target: string): boolean => res[target]?.startsWith('ok:') ?? false;

function assertBlocked(res: Record<string, string>, targets: string[]): void {
  for (const t of targets) assert.ok(res[t] !== undefined && !reached(res, t), `${t} must be unreachable, got ${res[t]}`);
}

/** The engines that work on this host; in CI at least one must. */
function engineOk(t: TestContext, engine: EgressEngine, requirement: string | undefined): boolean {
  if (!need(t, requirement)) return false;
  const r = probe.engines[engine];
  if (r.ok) return true;
  if (mustWork && !probe.egress.ok) throw new Error(`no egress stack works: ${probe.egress.detail} (${probe.egress.fix ?? ''})`);
  t.skip(`${engine} does not work here: ${r.detail}${r.fix ? ` (fix: ${r.fix})` : ''}`);
  return false;
}

describe('network policies in real sandboxes', () => {
  before(async () => {
    runDir = mkdtempSync(join(tmpdir(), 'ferry-net-test-'));
    chmodSync(runDir, 0o755); // bwrap reads resolv.conf from here as the sandbox user
    if (sandboxMissing) return;
    loop = await hostServer('127.0.0.1', 'host-loopback');
    any = await hostServer('::', 'host-any');
    if (!basics) {
      ns = createTestNetns();
      await ready(ns.spawn(markerServerArgv(nsPort, 'netns')));
      // The host's DNS resolver, played by a server in the test namespace (see the DNS tests).
      await ready(ns.spawn([process.execPath, '-e', dnsServer(ns.nsAddr)]));
    }
    if (findTools().ip) hosts = await readHostAddresses([findTools().ip!]);
    hostTargets = interfaceAddresses()
      .filter((a) => !a.startsWith('127.') && a !== '::1' && !a.toLowerCase().startsWith('fe80'))
      .map((a) => `${bracket(a)}:${any.port}`);
    probe = await probeNetwork();
  });
  after(async () => {
    loop?.server.close();
    any?.server.close();
    await ns?.cleanup();
    rmSync(runDir, { recursive: true, force: true });
  });

  test('none: neither the host (loopback or interfaces) nor anything else is reachable', async (t) => {
    if (!need(t, sandboxMissing)) return;
    const plan = networkPlan('none', ctx());
    assert.deepEqual(plan.bwrapArgs, ['--unshare-net']);
    const targets = [`127.0.0.1:${loop.port}`, ...hostTargets, ...(ns ? [`${ns.nsAddr}:${nsPort}`] : [])];
    assertBlocked(await probeIn(plan, targets), targets);
  });

  test('host (when allowed): the host loopback is reachable', async (t) => {
    if (!need(t, sandboxMissing)) return;
    const plan = networkPlan('host', ctx({ allowHostNetwork: true }));
    assert.deepEqual([plan.prefix, plan.bwrapArgs], [[], []]);
    const res = await probeIn(plan, [`127.0.0.1:${loop.port}`]);
    assert.equal(res[`127.0.0.1:${loop.port}`], 'ok:host-loopback');
  });

  for (const engine of engines) {
    describe(`egress through ${engine}`, () => {
      const v6 = (): boolean => engine === 'pasta' && interfaceAddresses().some((a) => a.includes(':') && a !== '::1' && !a.startsWith('fe80'));

      test('the stand-in internet is reachable; the host, link-local and private ranges are not; the filter cannot be flushed', async (t) => {
        if (!engineOk(t, engine, basics)) return;
        const r = routerFor(engine);
        t.after(r.close);
        const plan = networkPlan('egress', ctx({ engine, ...r }));
        const pub = [`${ns.nsAddr}:${nsPort}`, ...(v6() ? [`[${ns.nsAddr6}]:${nsPort}`] : [])];
        const closed = [`127.0.0.1:${loop.port}`, ...hostTargets, `${ns.privateAddr}:${nsPort}`, `${ns.linkLocalAddr}:${nsPort}`, ...(v6() ? [`[${ns.private6}]:${nsPort}`] : [])];
        const res = await probeIn(plan, [...pub, ...closed]);
        for (const p of pub) assert.equal(res[p], 'ok:netns', `${p}: ${res[p]}; ${ns.state()}`);
        assertBlocked(res, closed);
        assert.equal(res['nft-flush'], 'refused'); // no CAP_NET_ADMIN over the namespace inside
      });

      test('--egress-allow opens private and link-local ranges, never the host', async (t) => {
        if (!engineOk(t, engine, basics)) return;
        // 198.51.100.0/24 covers the host's own veth address: it must stay closed.
        const egressAllow = [`10.123.0.0/16`, '169.254.123.0/24', 'fd00:f5::/32', '198.51.100.0/24'];
        const r = routerFor(engine, { egressAllow });
        t.after(r.close);
        const plan = networkPlan('egress', ctx({ engine, egressAllow, ...r }));
        const open = [`${ns.privateAddr}:${nsPort}`, `${ns.linkLocalAddr}:${nsPort}`, ...(v6() ? [`[${ns.private6}]:${nsPort}`] : [])];
        const closed = [`127.0.0.1:${loop.port}`, ...hostTargets];
        const res = await probeIn(plan, [...open, ...closed]);
        for (const o of open) assert.equal(res[o], 'ok:netns', `${o}: ${res[o]}; ${ns.state()}`);
        assertBlocked(res, closed);
      });

      test('DNS goes through the forwarder to the host resolver', async (t) => {
        if (!engineOk(t, engine, basics)) return;
        // The host's resolver is played by a DNS server in the test namespace: the stack reads
        // the resolv.conf of its mount namespace, so it gets one of its own.
        const fake = join(runDir, `host-resolv-${engine}.conf`);
        writeFileSync(fake, `nameserver ${ns.nsAddr}\n`, { mode: 0o644 });
        const outer = [findToolOrThrow('unshare'), '--mount', 'sh', '-c', 'mount --bind "$0" /etc/resolv.conf && exec "$@"', fake];
        const r = routerFor(engine, { outer });
        t.after(r.close);
        const watch = new HostAddressWatch([findTools().ip!]);
        t.after(() => watch.close());
        const filters = new InstanceFilters({ nsenter: findTools().nsenter!, nft: findTools().nft!, hosts: watch });
        t.after(() => filters.close());
        const plan = await createNetwork({ egressAllow: [], allowHostNetwork: false, engine, hosts: watch, filters, ...r, ...(sandboxUid === undefined ? {} : { uid: sandboxUid }) })('egress', runDir);
        assert.match(readFileSync(join(runDir, 'resolv.conf'), 'utf8'), /^nameserver /m);
        const binds = plan.binds.flatMap((b) => ['--ro-bind', b.source, b.dest]);
        const res = await probeIn(plan, [`svc.ferry.test:${nsPort}`], outer, binds);
        assert.equal(res[`svc.ferry.test:${nsPort}`], 'ok:netns', ns.state());
      });

      test("the filter follows the host's addresses while the instance runs", async (t) => {
        if (!engineOk(t, engine, basics)) return;
        // An address the host gains after the plan was made, on a link that is down, in a range
        // the operator allows: only the host set can refuse it. It is local (so safe to probe)
        // from before the instance starts until after it ended.
        const link = `fnet${process.pid}`;
        const addr = `10.213.${process.pid % 256}.9`;
        const egressAllow = ['10.213.0.0/16'];
        const watch = new HostAddressWatch([findTools().ip!]);
        t.after(() => watch.close());
        await watch.ready();
        const stale = routerFor(engine, { egressAllow });
        t.after(stale.close);
        const stalePlan = networkPlan('egress', ctx({ engine, egressAllow, ...stale }));
        const r = routerFor(engine, { egressAllow, watch });
        t.after(r.close);
        const filters = new InstanceFilters({ nsenter: findTools().nsenter!, nft: findTools().nft!, hosts: watch });
        t.after(() => filters.close());
        const plan = await createNetwork({ egressAllow, allowHostNetwork: false, engine, hosts: watch, filters, ...r, ...(sandboxUid === undefined ? {} : { uid: sandboxUid }) })('egress', runDir);
        t.after(() => spawnSync(findTools().ip!, ['link', 'del', `${link}a`]));
        for (const args of [['link', 'add', `${link}a`, 'type', 'veth', 'peer', 'name', `${link}b`], ['addr', 'add', `${addr}/32`, 'dev', `${link}a`]]) {
          assert.equal(spawnSync(findTools().ip!, args).status, 0, args.join(' '));
        }
        const svc = await hostServer(addr, 'host service added at run time');
        t.after(() => svc.server.close());
        // Without the refresh, the filter built before the change lets it through.
        const res = await probeIn(stalePlan, [`${addr}:${svc.port}`]);
        assert.equal(res[`${addr}:${svc.port}`], 'ok:host service added at run time', 'the old filter did not know the address');
        // With it, the running instance is refused once its filter has caught up (bounded: 150 tries).
        const untilRefused = `const net = require('net'); let n = 0; (function next() {
          const s = net.connect({ host: ${JSON.stringify(addr)}, port: ${svc.port}, timeout: 3000 });
          s.on('data', () => {}); s.on('end', () => (++n > 150 ? process.exit(1) : setTimeout(next, 100)));
          s.on('timeout', () => { console.log('timeout'); process.exit(1); });
          s.on('error', (e) => { console.log(e.code); process.exit(0); });
        })();`;
        const out = await run([...asSandboxUser(), ...plan.prefix, findTools().bwrap!, ...testSandboxArgs, '--', process.execPath, '-e', untilRefused], 30_000, asUser(plan), (c) => plan.track?.(c));
        assert.equal(out.code, 0, `the running instance was never refused: ${out.stdout} ${out.stderr}`);
        assert.match(out.stdout, /^E[A-Z]+\n$/);
      });

      if (engine === 'shared') {
        test("instances reach neither each other nor the router; an instance's link goes with it", async (t) => {
          if (!engineOk(t, engine, basics)) return;
          const r = routerFor(engine);
          t.after(r.close);
          const plan = networkPlan('egress', ctx({ engine, ...r }));
          // A peer: a server on every address of its own namespace, linked to the same router.
          const peerPort = nsPort + 1;
          let peer: ChildProcess | undefined;
          let peerOut = '';
          const peerRun = run([...asSandboxUser(), ...plan.prefix, findTools().bwrap!, ...testSandboxArgs, '--', ...markerServerArgv(peerPort, 'peer')], 60_000, asUser(plan), (c) => {
            peer = c;
            c.stdout!.on('data', (d: Buffer) => (peerOut += d.toString()));
          });
          const killPeer = (): void => {
            try {
              if (peer?.pid) process.kill(-peer.pid, 'SIGKILL');
            } catch {
              /* gone */
            }
          };
          t.after(killPeer);
          const inNs = (pid: number, ...argv: string[]): string => spawnSync(findTools().nsenter!, [`--net=/proc/${pid}/ns/net`, '--', findTools().ip!, ...argv], { encoding: 'utf8' }).stdout;
          for (let i = 0; !peerOut.includes('ready'); i++) {
            if (i > 200) assert.fail(`the peer did not start: ${peerOut}`);
            await delay(50);
          }
          const peerAddr = /inet (198\.1[89]\.\d+\.\d+)\//.exec(inNs(peer!.pid!, '-o', '-4', 'addr', 'show', 'dev', 'eth0'))?.[1];
          assert.ok(peerAddr, "the peer's eth0 has a link address of the router");
          const res = await probeIn(plan, [`${ns.nsAddr}:${nsPort}`, `${peerAddr}:${peerPort}`, `${ROUTER_GATEWAY}:${peerPort}`]);
          assert.equal(res[`${ns.nsAddr}:${nsPort}`], 'ok:netns');
          assertBlocked(res, [`${peerAddr}:${peerPort}`, `${ROUTER_GATEWAY}:${peerPort}`]);
          // The router's links: the peer's is there while it runs and goes when it ends.
          const routerPid = (await r.shared!.router()).pids()[0]!;
          const links = (): string[] => inNs(routerPid, '-o', 'link').match(/fv\d+/g) ?? [];
          // Strict reverse-path filtering: no instance passes itself off as another.
          const rpFilter = spawnSync(findTools().nsenter!, [`--net=/proc/${routerPid}/ns/net`, '--', 'cat', '/proc/sys/net/ipv4/conf/all/rp_filter'], { encoding: 'utf8' }).stdout.trim();
          assert.equal(rpFilter, '1');
          assert.ok(links().length >= 1, 'the peer has a link in the router');
          killPeer();
          await peerRun;
          for (let i = 0; links().length > 0; i++) {
            if (i > 200) assert.fail(`links left in the router: ${links().join(', ')}`);
            await delay(50);
          }
        });
      }

      test('fails closed: a filter that does not load stops the instance before it runs', async (t) => {
        if (!engineOk(t, engine, sandboxMissing)) return;
        const tools = { ...findTools(), nft: '/bin/false' };
        const router = routerFor(engine, { tools });
        t.after(router.close);
        const plan = networkPlan('egress', ctx({ engine, tools, ...router }));
        const r = await run([...asSandboxUser(), ...plan.prefix, findTools().bwrap!, ...testSandboxArgs, '--', '/bin/echo', 'the instance ran'], undefined, asUser(plan));
        assert.equal(r.code, 125, r.stderr);
        assert.equal(r.stdout, '');
        // Per instance, the filter loads in the instance's namespace; shared, in the router's.
        assert.match(r.stderr, engine === 'shared' ? /the shared router could not start: .*nft/ : /could not load the egress filter/);
      });
    });
  }

  test('probeNetwork reports what works, and in CI egress must', async (t) => {
    if (!need(t, sandboxMissing)) return;
    assert.equal(probe.none.ok, true, probe.none.detail);
    if (probe.egress.ok) assert.ok(probe.egress.engine && probe.engines[probe.egress.engine].ok);
    else if (mustWork) assert.fail(`egress does not work here: ${probe.egress.detail}`);
    else assert.ok(probe.egress.fix, 'a broken egress comes with a fix');
  });
});

function findToolOrThrow(name: string): string {
  const tools = findTools() as unknown as Record<string, string | undefined>;
  const p = tools[name];
  if (!p) throw new Error(`${name} is not installed`);
  return p;
}

/** A DNS server answering every A query with `addr` (and nothing else with NOERROR). */
function dnsServer(addr: string): string {
  return `
const d = require('dgram').createSocket('udp4');
d.on('message', (q, r) => {
  let i = 12;
  while (q[i] !== 0) i += q[i] + 1;
  i += 5;
  const a = q.readUInt16BE(i - 4) === 1;
  const head = Buffer.from(q.subarray(0, 12));
  head.writeUInt16BE(0x8180, 2); head.writeUInt16BE(1, 4); head.writeUInt16BE(a ? 1 : 0, 6); head.writeUInt32BE(0, 8);
  const answer = a ? Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, ${addr.split('.').join(', ')}]) : Buffer.alloc(0);
  d.send(Buffer.concat([head, q.subarray(12, i), answer]), r.port, r.address);
});
d.bind(53, ${JSON.stringify(addr)}, () => console.log('ready'));`;
}

describe('plans (no sandbox)', () => {
  const base = { hostAddresses: ['127.0.0.1', '192.0.2.2'], egressAllow: [], runDir: '/run/x', allowHostNetwork: false, uid: 1000 };
  const tools = { sh: '/bin/sh', nft: '/usr/sbin/nft', pasta: '/usr/bin/pasta', slirp4netns: '/usr/bin/slirp4netns', unshare: '/usr/bin/unshare', bwrap: '/usr/bin/bwrap', ip: '/usr/sbin/ip', nsenter: '/usr/bin/nsenter' };

  test('host needs --allow-host-network', () => {
    assert.throws(() => networkPlan('host', base), (e: unknown) => e instanceof FerryError && e.code === 'instance-start-failed' && /--allow-host-network/.test(e.message));
    assert.throws(() => assertAllowed('host', base, 'invalid-manifest'), (e: unknown) => e instanceof FerryError && e.code === 'invalid-manifest');
    assert.doesNotThrow(() => assertAllowed('egress', base));
    assert.deepEqual(networkPlan('host', { ...base, allowHostNetwork: true }).bwrapArgs, []);
  });

  test('egress with pasta: the flags that close the host off', () => {
    const plan = networkPlan('egress', { ...base, tools, engine: 'pasta' });
    assert.equal(plan.engine, 'pasta');
    assert.deepEqual(plan.bwrapArgs, []); // bwrap stays in pasta's namespace
    const p = plan.prefix.join(' ');
    for (const flag of ['--no-map-gw', '-t none', '-u none', '-T none', '-U none', '--foreground', '--config-net', '--dns-forward 169.254.1.1']) assert.ok(p.includes(flag), flag);
    assert.ok(plan.prefix.at(-1)!.includes('ip daddr @host4 reject'), 'the rules ride along as the last argument');
    assert.deepEqual(plan.files.map((f) => f.path), ['/run/x/resolv.conf']);
    assert.deepEqual(plan.binds, [{ source: '/run/x/resolv.conf', dest: '/etc/resolv.conf' }]);
  });

  test('egress prefers slirp4netns, falls back to pasta, and fails closed without a stack, without nft, or as root', () => {
    assert.equal(networkPlan('egress', { ...base, tools }).engine, 'slirp4netns');
    assert.equal(networkPlan('egress', { ...base, tools: { ...tools, slirp4netns: undefined } }).engine, 'pasta');
    assert.equal(networkPlan('egress', { ...base, tools: { ...tools, pasta: undefined } }).engine, 'slirp4netns');
    const fails = (c: Partial<NetworkContext>, re: RegExp): void =>
      assert.throws(() => networkPlan('egress', { ...base, tools, ...c }), (e: unknown) => e instanceof FerryError && e.code === 'instance-start-failed' && re.test(e.message));
    fails({ tools: { ...tools, pasta: undefined, slirp4netns: undefined } }, /neither pasta .* nor slirp4netns/);
    fails({ tools: { ...tools, pasta: undefined }, engine: 'pasta' }, /pasta is not installed/);
    fails({ tools: { ...tools, nft: undefined } }, /nftables/);
    fails({ uid: 0 }, /unprivileged uid/);
    fails({ egressAllow: ['10.0.0.0/33'] }, /invalid prefix/);
  });
});
