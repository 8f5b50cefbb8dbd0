// Escape: an `egress` instance tries the host's addresses that no interface listing shows (an
// address on an interface that is down) and one the host gains while the instance runs. The
// host's local routing table decides what is the host, so the filter must follow it.
//
// Traffic only ever goes to this machine: each target is checked to be in the kernel's local
// table right before it is probed, and the positive control is a namespace this test builds.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { disposeFerry, startFerry, type Ferry, type PackageFiles } from './support/ferry.js';
import { sandboxSupport } from './support/sandbox.js';
import { waitFor } from './support/wait.js';
import { createTestNetns, markerServerArgv, ready, type TestNetns } from './support/netns.js';

const support = await sandboxSupport();
const mustWork = process.env.CI === 'true' || process.env.FERRY_SANDBOX_MUST_WORK === '1';
const root = process.getuid?.() === 0;
if (mustWork && !root) throw new Error('the egress escape tests must run here (CI or FERRY_SANDBOX_MUST_WORK=1) but they need root to add interfaces');
const skip = !support.ok ? `the bwrap sandbox cannot run here: ${support.why}` : !root ? 'adding interfaces and the shared router need root' : false;
if (skip && process.env.CI === 'true') throw new Error(`this suite must run in CI (as root, with the sandbox): ${skip}`);

// Unique per run: parallel runs of this file never share a link or an address.
const link = `fegr${process.pid}`;
const octet = process.pid % 256;
/** On the down link from the start. */
const downAddr = `10.213.${octet}.1`;
/** Added to the down link while the instances run. */
const laterAddr = `10.213.${octet}.2`;
/** Ranges the operator allows (private networks): the host's own addresses in them stay closed. */
const egressAllow = '10.213.0.0/16,10.123.0.0/16';

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

/** Whether the kernel delivers `addr` locally (a `local` route in the local table): safe to probe. */
function isLocal(addr: string): boolean {
  const routes = JSON.parse(spawnSync('ip', ['-j', 'route', 'show', 'table', 'local', 'type', 'local'], { encoding: 'utf8' }).stdout || '[]') as Array<{ dst: string }>;
  return routes.some((r) => r.dst === addr);
}

function removeLink(): void {
  spawnSync('ip', ['link', 'del', `${link}a`]); // takes its peer and its addresses with it
}

/**
 * Every connection the host services accepted, destroyed in `after`: a sandbox gone before it
 * closed its side leaves ours open (FIN-WAIT-2), and an open socket keeps the file's process alive.
 */
const accepted = new Set<Socket>();

async function listen(host: string, marker: string): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => {
    accepted.add(s);
    s.on('close', () => accepted.delete(s));
    s.on('error', () => {}); // a reset from the sandbox's side is no failure of the host
    s.end(marker);
  });
  server.listen({ port: 0, host });
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

/** A python function that connects to every `t` of its query ("host:port") and says what came back. */
const prober: PackageFiles = {
  'ferry.json': JSON.stringify({ runtime: 'python', handler: 'main.py', network: 'egress' }),
  'main.py': [
    'import socket',
    'def handler(request):',
    '    out = {}',
    '    for t in request.query_list.get("t", []):',
    '        host, port = t.rsplit(":", 1)',
    '        try:',
    '            with socket.create_connection((host, int(port)), timeout=3) as s:',
    '                out[t] = "ok:" + s.recv(100).decode()',
    '        except Exception as e:',
    '            out[t] = "%s %s" % (type(e).__name__, getattr(e, "errno", ""))',
    '    return out',
    '',
  ].join('\n'),
};

const servers: Server[] = [];
let ns: TestNetns | undefined;
let down: { port: number };
let control: string;

before(async () => {
  if (skip) return;
  process.once('exit', removeLink); // even when the run is cut short
  // A veth pair left down: no carrier, no listing in os.networkInterfaces(), and yet the
  // address on it is the host's (the kernel keeps its local route).
  ip('link', 'add', `${link}a`, 'type', 'veth', 'peer', 'name', `${link}b`);
  ip('addr', 'add', `${downAddr}/32`, 'dev', `${link}a`);
  const d = await listen(downAddr, 'host service behind a down link');
  servers.push(d.server);
  down = d;
  // The positive control: a private address outside the host, allowed by --egress-allow.
  ns = createTestNetns();
  const nsPort = 19_000 + (process.pid % 1000);
  await ready(ns.spawn(markerServerArgv(nsPort, 'netns')));
  control = `${ns.privateAddr}:${nsPort}`;
});

after(async () => {
  for (const s of servers) s.close();
  for (const c of accepted) c.destroy();
  await ns?.cleanup();
  removeLink();
});

const engines = ['shared', 'slirp4netns'] as const;

for (const engine of engines) {
  describe(`egress through ${engine === 'shared' ? 'the shared router' : 'a slirp4netns per instance'}`, () => {
    let ferry: Ferry;
    before(async () => {
      if (skip) return;
      ferry = await startFerry({ args: ['--driver', 'bwrap', '--pool-size', '0', '--egress-stack', engine, '--egress-allow', egressAllow] });
    });
    after(async () => {
      if (ferry) await disposeFerry(ferry);
    });

    const name = `esc-egress-${engine}`;
    const probe = async (targets: string[]): Promise<Record<string, string>> => {
      for (const t of targets) {
        const host = t.slice(0, t.lastIndexOf(':'));
        if (t !== control) assert.ok(isLocal(host), `${host} must be a local address before it is probed`);
      }
      const res = await fetch(`${ferry.url}/fn/${name}/?${targets.map((t) => `t=${encodeURIComponent(t)}`).join('&')}`);
      const body = await res.text();
      assert.equal(res.status, 200, body);
      return JSON.parse(body) as Record<string, string>;
    };
    const instancePid = async (): Promise<number> => {
      const listed = (await (await ferry.api('GET', `/v1/functions/${name}/instances`)).json()) as { instances: Array<{ pid: number }> };
      assert.equal(listed.instances.length, 1, JSON.stringify(listed));
      return listed.instances[0]!.pid;
    };

    test("an address of the host on an interface that is down is refused, although --egress-allow covers its range", { skip }, async () => {
      await ferry.deploy(name, prober);
      const target = `${downAddr}:${down.port}`;
      const res = await probe([control, target]);
      assert.equal(res[control], 'ok:netns', `the allowed private range is reachable: ${JSON.stringify(res)}`);
      assert.ok(!res[target]?.startsWith('ok:'), `${target} (down link) must be refused: ${res[target]}`);
    });

    test('an address the host gains while the instance runs is refused to that same instance', { skip }, async (t) => {
      const pid = await instancePid();
      ip('addr', 'add', `${laterAddr}/32`, 'dev', `${link}a`);
      t.after(() => spawnSync('ip', ['addr', 'del', `${laterAddr}/32`, 'dev', `${link}a`]));
      const later = await listen(laterAddr, 'host service added at run time');
      t.after(() => later.server.close());
      const target = `${laterAddr}:${later.port}`;
      // The filter follows the kernel's changes as they happen; a bounded wait, not a timing.
      const last = await waitFor(
        `${target} to be refused to the running instance`,
        async () => {
          const res = await probe([target]);
          return res[target]?.startsWith('ok:') ? false : res[target];
        },
        { timeoutMs: 15_000, intervalMs: 200 },
      );
      assert.ok(last, 'refused');
      assert.equal(await instancePid(), pid, 'the same instance, not a new one');
      const res = await probe([control, `${downAddr}:${down.port}`]);
      assert.equal(res[control], 'ok:netns', 'the rest of the filter is unchanged');
      assert.ok(!res[`${downAddr}:${down.port}`]?.startsWith('ok:'));
    });
  });
}
