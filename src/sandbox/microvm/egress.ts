import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FerryError } from '../../errors/index.js';
import { detectCgroups } from '../bwrap/cgroups.js';
import { helperAvailable } from '../bwrap/helper.js';
import { HostAddressWatch } from '../bwrap/host-addresses.js';
import { sharedRouter, type BwrapDriverOptions } from '../bwrap/index.js';
import { findTool, findTools, SLIRP_DNS } from '../bwrap/network.js';
import { egressNamespace, type EgressNamespace } from '../gvisor/egress.js';
import type { GuestNetConfig } from './agent/wire.js';

/**
 * The guest's side of QEMU's user-mode NIC: its own /24 (not slirp4netns' 10.0.2.0/24, where the
 * router's DNS forwarder is), a fixed address, QEMU's gateway, and the router's DNS forwarder
 * (reached through QEMU's stack and the router, like any other address).
 */
export const GUEST_NET = { net: '10.0.3.0/24', address: '10.0.3.15/24', gateway: '10.0.3.2', dns: SLIRP_DNS } as const;

/** The guest's NIC driver and what it needs, in load order (Debian's kernel has them as modules). */
const NET_MODULES = ['net/core/failover.ko', 'drivers/net/net_failover.ko', 'drivers/net/virtio_net.ko'];

/** `egress` for microVMs: a VM's QEMU runs in a namespace of its own, linked to the shared router. */
export interface MicrovmEgress {
  /** Makes a namespace linked to the router (release it when its VM is gone). */
  namespace(): Promise<EgressNamespace>;
  nsenter: string;
  /** Host directory shared read-only into egress guests (tag `ferry.net`): the NIC's modules and net.json. */
  share: string;
  close(): void;
}

/** What the egress setup needs from the server besides the options every driver gets. */
export interface MicrovmEgressOptions extends Pick<BwrapDriverOptions, 'dataDir' | 'slot' | 'egressAllow' | 'log'> {
  sandboxUid: number;
  /** Where Debian's kernel was extracted, and the version the root was built with. */
  kernelDir: string;
  kernelVersion: string;
  /** Where the share is written. */
  stateDir: string;
}

const guestModulesDir = (kernelDir: string, kernelVersion: string): string => join(kernelDir, 'lib', 'modules', kernelVersion, 'kernel');

/**
 * Why `egress` cannot work in the microvm tier on this host, or undefined: what the driver checks
 * before it sets anything up, and what `ferry doctor` reports.
 */
export function egressMissing(kernelDir: string, kernelVersion: string): string | undefined {
  if (process.getuid?.() !== 0) return "network 'egress' in the microvm tier needs Ferry to run as root";
  if (!helperAvailable()) return "network 'egress' in the microvm tier needs Ferry's native helper (it runs the shared egress router as the sandbox user)";
  const modulesDir = guestModulesDir(kernelDir, kernelVersion);
  const missing = NET_MODULES.filter((m) => !existsSync(join(modulesDir, m)));
  if (missing.length) return `network 'egress' in the microvm tier needs the guest kernel's virtio-net modules (${missing.join(', ')} under ${modulesDir}): run \`sudo bash scripts/install-system-deps.sh\` again`;
  const { unshare, nsenter, ip } = findTools();
  if (!unshare || !nsenter || !ip) return "network 'egress' in the microvm tier needs the shared egress router: apt-get install -y slirp4netns nftables iproute2 util-linux";
  return undefined;
}

/**
 * Sets `egress` up for this driver, or answers why it cannot be (the tier then refuses `egress`
 * with that reason). The same shared egress router as the bwrap and gvisor tiers
 * (bwrap/egress-router.ts): QEMU's user-mode stack makes its sockets in the VM's namespace, so
 * the router's filter (host addresses, private ranges refused) sees every packet, outside
 * anything the guest or QEMU could change.
 */
export function microvmEgress(o: MicrovmEgressOptions): MicrovmEgress | string {
  const missingHere = egressMissing(o.kernelDir, o.kernelVersion);
  if (missingHere) return missingHere;
  const modulesDir = guestModulesDir(o.kernelDir, o.kernelVersion);
  // egressMissing found each of them.
  const { unshare, nsenter, ip } = findTools() as { unshare: string; nsenter: string; ip: string };
  const user = { uid: o.sandboxUid, gid: o.sandboxUid };
  const scope = createHash('sha256').update(`microvm\0${o.dataDir}\0${o.slot ?? 0}`).digest('hex').slice(0, 12);
  const log = (level: 'info' | 'warn' | 'error', message: string): void => o.log?.(level, message);
  const setpriv = findTool('setpriv');
  const hosts = new HostAddressWatch([ip], log, setpriv ? [setpriv, '--pdeathsig', 'KILL', '--'] : []);
  const router = sharedRouter({ ...o, bindable: [], allowHostNetwork: false }, user, detectCgroups({ scope }), hosts);
  if (!router) {
    hosts.close();
    return "network 'egress' in the microvm tier needs the shared egress router: apt-get install -y slirp4netns nftables iproute2 util-linux";
  }

  // The share: the modules in load order and the guest's addresses, read-only, the same for every egress VM.
  const share = join(o.stateDir, 'net');
  mkdirSync(share, { recursive: true, mode: 0o755 });
  const modules = NET_MODULES.map((m) => m.replace(/^.*\//, ''));
  NET_MODULES.forEach((m, i) => copyFileSync(join(modulesDir, m), join(share, modules[i]!)));
  const config: GuestNetConfig = { modules, address: GUEST_NET.address, gateway: GUEST_NET.gateway, dns: GUEST_NET.dns };
  writeFileSync(join(share, 'net.json'), JSON.stringify(config), { mode: 0o644 });

  return {
    nsenter,
    share,
    namespace: async () => {
      await hosts.ready();
      return egressNamespace(router, unshare).catch((err: Error) => {
        throw err instanceof FerryError ? err : new FerryError('instance-start-failed', err.message);
      });
    },
    close: () => {
      router.close();
      hosts.close();
    },
  };
}
