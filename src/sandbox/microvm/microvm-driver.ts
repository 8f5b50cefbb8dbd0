import { mkdir, rm } from 'node:fs/promises';
import { linkTree } from './link-tree.js';
import { join } from 'node:path';
import { FerryError } from '../../errors/index.js';
import type { SandboxDriver, SandboxProcess, SandboxSettings, SandboxSpec, SandboxView } from '../../core/index.js';
import { runDirAddresses } from '../socket-channel/index.js';
import { defaultKernelDir, guestPaths, readRootfs, rootfsDirOf, rootfsFiles, staleFerryFiles } from './guest-layout.js';
import { HostCpu } from './host-cpu.js';
import { startInVm } from './instance.js';
import { chooseAccel, findQemu, type Accel } from './qemu.js';
import { checkSpec, microvmImageRootfsView, microvmRootfsView, spawnRequest, unhonoured, withRootPrograms } from './spec-mapping.js';
import { MicroVm, type VmBootOptions } from './vm.js';
import { GUEST_NET, microvmEgress } from './egress.js';

/** The networks a VM is booted for: with no NIC, or with one through the egress router. */
type Net = 'none' | 'egress';

/** Guest memory beyond the instance's `memoryMb`: the kernel, the agent (node) and page cache. */
export const GUEST_OVERHEAD_MB = 192;

/** How long a boot on KVM may take before the VM is booted again emulated. */
const KVM_BOOT_TIMEOUT_MS = 30_000;

/** What the server tells the driver. */
export interface MicrovmDriverOptions {
  dataDir: string;
  /** This server process's slot (scopes its host cgroups); default 0. */
  slot?: number;
  /** Host uid QEMU runs as (the sandbox user). */
  sandboxUid: number;
  /** Booted VMs kept ready (default 1); 0: every instance boots its own. */
  poolSize?: number;
  /** The instance memory the pooled VMs are sized for (an instance asking more boots its own). */
  poolMemoryMb?: number;
  /** Where the root was built (default `<dataDir>/microvm`). */
  rootfsDir?: string;
  /** Boot to the agent's HELLO (default 120 s: an emulated boot on a busy host is slow). */
  bootTimeoutMs?: number;
  /** The operator's `--egress-allow` list (the shared egress router's exceptions). */
  egressAllow?: string[];
  /**
   * Booted `egress` VMs kept ready (default 0: each `egress` instance boots its own). A VM's NIC
   * is there from boot or never (the microvm machine has no hot-plug), so `egress` VMs are a
   * pool of their own, never handed to a `none` instance.
   */
  egressPoolSize?: number;
  /** Where Debian's kernel was extracted (the guest NIC's modules are taken from it). */
  kernelDir?: string;
  /**
   * `auto` (default): KVM where this host's KVM looks usable (`usableKvm`), else QEMU's emulator;
   * `kvm`: KVM first whatever that check says; `tcg`: always emulated. Either way a VM that does
   * not boot on KVM is booted again emulated, and every later one is too.
   */
  accel?: 'auto' | Accel;
  log?(level: 'info' | 'warn' | 'error', message: string): void;
}

/**
 * The `microvm` driver: each instance in a QEMU `microvm` guest of its own (its own kernel),
 * booted from the root `ferry rootfs build` made, its package shared read-only over 9p, its
 * channel carried by the guest agent over a virtio-serial port. VMs are booted ahead into a
 * pool and each serves one instance, then is thrown away: a start takes a booted VM, and a new
 * one boots behind it.
 */
export async function makeMicrovmDriver(o: MicrovmDriverOptions): Promise<SandboxDriver & { close(): Promise<void> }> {
  const qemu = findQemu();
  if (!qemu) throw new FerryError('internal', 'the microvm driver needs QEMU: apt-get install --no-install-recommends qemu-system-x86');
  const rootfsDir = o.rootfsDir ?? rootfsDirOf(o.dataDir);
  const manifest = readRootfs(rootfsDir);
  if (!manifest) throw new FerryError('internal', `no microvm root of this Ferry in ${rootfsDir} (none, or an older builder's): run \`ferry rootfs build --data-dir ${o.dataDir}\``);
  const stale = staleFerryFiles(rootfsDir);
  if (stale) throw new FerryError('internal', `the microvm root in ${rootfsDir} is out of date (${stale}): run \`ferry rootfs build --data-dir ${o.dataDir}\``);
  const root = rootfsFiles(rootfsDir).root;
  let { accel, why } = o.accel === 'tcg' ? { accel: 'tcg' as Accel, why: 'emulated (TCG): --microvm-accel tcg' } : o.accel === 'kvm' ? { accel: 'kvm' as Accel, why: 'KVM (--microvm-accel kvm)' } : chooseAccel();
  const log = o.log ?? (() => {});
  log(accel === 'kvm' ? 'info' : 'warn', `microvm: guests run ${why}; root built ${manifest.builtAt} (${manifest.mode} mode${manifest.source ? `, from ${manifest.source}` : ''}; kernel ${manifest.kernel})`);
  const stateDir = join(o.dataDir, `microvm-vms-${o.slot ?? 0}`);
  await rm(stateDir, { recursive: true, force: true });
  await mkdir(stateDir, { recursive: true, mode: 0o711 });
  const cpu = HostCpu.detect(`ferry-microvm-${o.slot ?? 0}`);
  const poolMemoryMb = (o.poolMemoryMb ?? 256) + GUEST_OVERHEAD_MB;
  const closing = new AbortController();
  // egress: the shared egress router and the NIC's share, or why the tier refuses `egress` here.
  const egress = microvmEgress({ dataDir: o.dataDir, slot: o.slot, egressAllow: o.egressAllow ?? [], sandboxUid: o.sandboxUid, kernelDir: o.kernelDir ?? defaultKernelDir, kernelVersion: manifest.kernel, stateDir, ...(o.log && { log: o.log }) });
  const egressMissing = typeof egress === 'string' ? egress : undefined;
  if (egressMissing) log('info', `microvm: ${egressMissing}`);
  const bootTimeoutMs = o.bootTimeoutMs ?? 120_000;
  const bootVm = async (memoryMb: number, net?: VmBootOptions['net']): Promise<MicroVm> => {
    const opts = { qemu, rootfsDir, stateDir, memoryMb, uid: o.sandboxUid, signal: closing.signal, ...(net && { net }) };
    if (accel === 'tcg') return MicroVm.boot({ ...opts, accel, bootTimeoutMs });
    try {
      // A guest on KVM reaches its agent in seconds: one that has not in this long never will.
      return await MicroVm.boot({ ...opts, accel, bootTimeoutMs: Math.min(bootTimeoutMs, KVM_BOOT_TIMEOUT_MS) });
    } catch (err) {
      if (closing.signal.aborted) throw err;
      if (accel === 'kvm') {
        accel = 'tcg';
        why = `emulated (TCG): a VM did not boot on KVM (${(err as Error).message.slice(0, 300)})`;
        log('warn', `microvm: guests run ${why}; every VM from now on is emulated`);
      }
      return MicroVm.boot({ ...opts, accel: 'tcg', bootTimeoutMs });
    }
  };
  const boot = async (memoryMb: number, network: Net): Promise<MicroVm> => {
    if (network === 'none') return bootVm(memoryMb);
    if (typeof egress === 'string') throw new FerryError('invalid-manifest', egress);
    // QEMU in a namespace of its own, linked to the router; released once QEMU is gone.
    const ns = await egress.namespace();
    const vm = await bootVm(memoryMb, { share: egress.share, guestNet: GUEST_NET.net, gateway: GUEST_NET.gateway, namespace: ns.path, nsenter: egress.nsenter }).catch((err: unknown) => {
      ns.release();
      throw err;
    });
    void vm.exited.then(() => ns.release());
    return vm;
  };

  // The pools: VMs booting or booted, each taken once; one per network (a NIC is there from boot).
  const pools: Record<Net, Array<Promise<MicroVm>>> = { none: [], egress: [] };
  const poolSizes: Record<Net, number> = { none: o.poolSize ?? 1, egress: egressMissing ? 0 : o.egressPoolSize ?? 0 };
  const live = new Set<MicroVm>();
  let closed = false;
  const refill = (network: Net): void => {
    while (!closed && pools[network].length < poolSizes[network]) {
      const vm = boot(poolMemoryMb, network);
      vm.then((v) => live.add(v), (err: Error) => closed || log('warn', `microvm: a pooled VM (${network}) did not boot: ${err.message}`));
      pools[network].push(vm);
    }
  };
  const take = async (memoryMb: number, network: Net): Promise<MicroVm> => {
    // One pooled VM at most: one that failed to boot is not retried through the pool (its
    // replacement would fail the same way), the start boots its own and says why it failed.
    const next = memoryMb + GUEST_OVERHEAD_MB <= poolMemoryMb ? pools[network].shift() : undefined;
    if (next) {
      refill(network);
      const vm = await next.catch(() => undefined);
      if (vm && !vm.gone) return vm;
    }
    const vm = await boot(memoryMb + GUEST_OVERHEAD_MB, network);
    live.add(vm);
    return vm;
  };
  refill('none');
  refill('egress');

  const rootView = microvmRootfsView(manifest);
  return {
    name: 'microvm',
    isolated: true,

    view(spec: Pick<SandboxSpec, 'packageDir' | 'runDir' | 'root'>): SandboxView {
      // An image version's root is its package: the agent makes it the instance's / in the guest.
      const rootfs = spec.root === 'package' ? microvmImageRootfsView : rootView;
      return { packageDir: spec.root === 'package' ? '/' : guestPaths.packageDir, runDir: guestPaths.runDir, channel: runDirAddresses(guestPaths.runDir), rootfs };
    },

    async spawn(asked: SandboxSpec): Promise<SandboxProcess> {
      const spec = withRootPrograms(asked, rootView);
      checkSpec(spec, root);
      const network = spec.sandbox.network === 'egress' ? 'egress' : 'none';
      if (network === 'egress' && egressMissing) throw new FerryError('invalid-manifest', egressMissing);
      const vm = await take(spec.limits.memoryMb, network);
      const name = `vm-${spec.instanceId}`;
      const gone = async (): Promise<void> => {
        live.delete(vm);
        await vm.kill();
        await cpu?.release(name);
      };
      try {
        // The package, linked into the VM's share: QEMU exports it read-only, the agent mounts it
        // when it starts the instance. Linked only when QEMU runs as another user than the one
        // owning the stored files.
        await linkTree(spec.packageDir, vm.packageShare, { copy: process.getuid?.() !== 0 || o.sandboxUid === 0 });
        if (cpu && vm.qemu.pid !== undefined) await cpu.limit(name, vm.qemu.pid, spec.limits.cpu);
      } catch (err) {
        await gone();
        throw new FerryError('instance-start-failed', `cannot prepare the microVM: ${(err as Error).message}`, { cause: err });
      }
      if (spec.onInstanceStream) vm.session.onInstanceStream = spec.onInstanceStream;
      const notice = vm.accel === 'kvm' ? [] : [`microvm: this instance's VM runs ${why}`];
      return startInVm(vm, spawnRequest(spec, manifest), notice, gone, bootTimeoutMs);
    },

    async validate(settings: SandboxSettings): Promise<void> {
      const refused = unhonoured(settings);
      if (refused.length) throw new FerryError('invalid-manifest', `the microvm sandbox cannot honour: ${refused.join('; ')}`);
      if (settings.network === 'egress' && egressMissing) throw new FerryError('invalid-manifest', egressMissing);
    },

    unenforced(): string[] {
      return cpu ? [] : ['cpu (no cpu cgroup controller on this host)'];
    },

    async close(): Promise<void> {
      closed = true;
      // VMs still booting are killed now, not waited for.
      closing.abort();
      const pending = [...pools.none.splice(0), ...pools.egress.splice(0)];
      await Promise.all(pending.map((p) => p.then((vm) => vm.kill(), () => {})));
      await Promise.all([...live].map((vm) => vm.kill()));
      if (typeof egress !== 'string') egress.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}
