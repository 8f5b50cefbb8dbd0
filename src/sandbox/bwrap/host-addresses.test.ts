// The host's addresses as the egress filters see them: read from the kernel's routing tables,
// in a network namespace of the test's own, and kept current as they change.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { HostAddressWatch, interfaceAddresses, readHostAddresses, routeBlocks } from './host-addresses.js';
import { findTool } from './network.js';
import { need } from '../../../test/support/netns.js';
import { waitFor } from '../../../test/support/wait.js';

test('local, broadcast, anycast and multicast routes of every table are the host; default gateways lead to it', () => {
  const v4 = JSON.stringify([
    { dst: 'default', gateway: '192.0.2.1', dev: 'eth0' },
    { dst: '192.0.2.0/24', dev: 'eth0', protocol: 'kernel' }, // the neighbours: not the host
    { type: 'local', dst: '127.0.0.0/8', dev: 'lo', table: 'local' },
    { type: 'local', dst: '10.213.77.1', dev: 'veth0', table: 'local' }, // on a link that is down: still local
    { type: 'broadcast', dst: '192.0.2.255', dev: 'eth0', table: 'local' },
    { type: 'local', dst: '10.9.0.0/24', dev: 'lo' }, // AnyIP, in the main table
    { type: 'unreachable', dst: '203.0.113.0/24' },
    { dst: 'default', table: '100', nexthops: [{ gateway: '198.51.100.1' }, { gateway: '198.51.100.9' }] },
  ]);
  assert.deepEqual(routeBlocks(v4, 4), ['192.0.2.1', '127.0.0.0/8', '10.213.77.1', '192.0.2.255', '10.9.0.0/24', '198.51.100.1', '198.51.100.9']);
  const v6 = JSON.stringify([
    { type: 'local', dst: '::1', dev: 'lo' },
    { type: 'anycast', dst: '2001:db8:5::', dev: 'eth0', table: 'local' },
    { type: 'multicast', dst: 'ff00::/8', dev: 'eth0', table: 'local' },
    { type: 'local', dst: 'default', dev: 'lo', table: '100' }, // a transparent proxy's table: everything
    { dst: '2001:db8:5::/64', dev: 'eth0' },
  ]);
  assert.deepEqual(routeBlocks(v6, 6), ['::1', '2001:db8:5::', 'ff00::/8', '::/0']);
  assert.deepEqual(routeBlocks('[]', 4), []);
  assert.throws(() => routeBlocks('{}', 4), /not answer a list/);
  assert.throws(() => routeBlocks('[{"type":"local"}]', 4), /without a destination/);
  assert.throws(() => routeBlocks('not json', 4));
});

test('every address of every interface, whatever the state of its link', () => {
  const json = JSON.stringify([
    { ifname: 'lo', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }, { family: 'inet6', local: '::1' }] },
    { ifname: 'veth0', operstate: 'DOWN', addr_info: [{ family: 'inet', local: '10.213.77.1', prefixlen: 32 }] },
    { ifname: 'ppp0', addr_info: [{ family: 'inet', local: '198.51.100.7', address: '198.51.100.1' }] }, // the peer is not the host
    { ifname: 'eth1' },
  ]);
  assert.deepEqual(interfaceAddresses(json), ['127.0.0.1', '::1', '10.213.77.1', '198.51.100.7']);
});

test('unreadable addresses are an error, never an empty list', async () => {
  await assert.rejects(readHostAddresses(['/bin/false']), /^Error: ip .*Command failed: \/bin\/false -j/);
  const watch = new HostAddressWatch(['/bin/false']);
  try {
    await watch.ready();
    assert.throws(() => watch.current(), /the host's addresses could not be read/);
  } finally {
    watch.close();
  }
});

describe('in a network namespace of the test', () => {
  const ip = findTool('ip');
  const missing = !ip ? 'ip is not installed (apt-get install iproute2)' : process.getuid?.() !== 0 && 'creating a network namespace needs root';
  const ns = `ferry-hostaddr-${process.pid}`;
  const inNs = (...args: string[]): void => {
    const r = spawnSync(ip!, ['-n', ns, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ip -n ${ns} ${args.join(' ')}: ${r.stderr.trim()}`);
  };
  before(() => {
    if (missing) return;
    const r = spawnSync(ip!, ['netns', 'add', ns], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ip netns add: ${r.stderr}`);
    inNs('link', 'set', 'lo', 'up');
    // A veth pair that stays down, with an address only it has.
    inNs('link', 'add', 'down0', 'type', 'veth', 'peer', 'name', 'down1');
    inNs('addr', 'add', '10.213.77.1/32', 'dev', 'down0');
  });
  after(() => {
    if (!missing) spawnSync(ip!, ['netns', 'del', ns]);
  });

  test('an address on a link that is down, and a local route of a whole prefix, are read', async (t) => {
    if (!need(t, missing)) return;
    inNs('route', 'add', 'local', '10.213.78.0/24', 'dev', 'lo', 'table', 'main');
    const hosts = await readHostAddresses([ip!, '-n', ns]);
    for (const a of ['10.213.77.1', '10.213.78.0/24', '127.0.0.0/8', '127.0.0.1', '0:0:0:0:0:0:0:1']) assert.ok(hosts.includes(a), `${a} in ${hosts.join(' ')}`);
    assert.deepEqual(hosts, [...hosts].sort(), 'sorted');
    inNs('route', 'del', 'local', '10.213.78.0/24', 'dev', 'lo', 'table', 'main');
  });

  test('the watch follows the changes as they happen, and fails closed while it cannot follow them', async (t) => {
    if (!need(t, missing)) return;
    const watch = new HostAddressWatch([ip!, '-n', ns]);
    t.after(() => watch.close());
    let changes = 0;
    watch.onChange(() => changes++);
    await watch.ready();
    assert.ok(watch.current().includes('10.213.77.1'));
    const before = watch.generation;

    inNs('addr', 'add', '10.213.77.2/32', 'dev', 'down0');
    await waitFor('the new address', () => watch.current().includes('10.213.77.2'));
    assert.ok(watch.generation > before && changes > 0);
    inNs('addr', 'del', '10.213.77.2/32', 'dev', 'down0');
    await waitFor('the address to go', () => !watch.current().includes('10.213.77.2'));

    // The monitor is killed: unknown addresses (refuse everything) until it runs again.
    const monitor = monitorOf(ns);
    assert.ok(monitor, 'ip monitor runs');
    process.kill(monitor, 'SIGKILL');
    await waitFor('the addresses to be unknown', () => {
      try {
        watch.current();
        return false;
      } catch (err) {
        return /ip monitor\) stopped/.test((err as Error).message);
      }
    });
    await waitFor('a new monitor and a fresh read', () => {
      try {
        return watch.current().includes('10.213.77.1') && monitorOf(ns) !== monitor;
      } catch {
        return false;
      }
    });
    inNs('addr', 'add', '10.213.77.3/32', 'dev', 'down0');
    await waitFor('a change seen by the new monitor', () => watch.current().includes('10.213.77.3'));
  });
});

/** The pid of `ip -n <ns> monitor ...`. */
function monitorOf(ns: string): number | undefined {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (argv.includes(ns) && argv.includes('monitor')) return Number(d);
    } catch {
      /* gone */
    }
  }
  return undefined;
}
