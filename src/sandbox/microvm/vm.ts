import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chown, mkdir, readFile, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { FerryError } from '../../errors/index.js';
import { qemuArgv, type Accel, type QemuPlan } from './qemu.js';
import { Wire, type Hello } from './agent/wire.js';
import { WireSession } from './wire-session.js';
import { rootfsFiles } from './guest-layout.js';

/** Every QEMU this process started and has not seen exit: a server that dies takes them along. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const qemu of running) qemu.kill('SIGKILL');
});

/** What booting a VM needs. */
export interface VmBootOptions {
  qemu: string;
  accel: Accel;
  /** The built root (`ferry rootfs build`). */
  rootfsDir: string;
  /** Where the VM's own files go (its package share, sockets, console log); removed with it. */
  stateDir: string;
  memoryMb: number;
  /** Host uid QEMU runs as once started. */
  uid: number;
  /** Until the agent's HELLO; the VM is killed past it. */
  bootTimeoutMs: number;
  /** Aborted: the boot is given up at once and QEMU killed (the driver closes). */
  signal?: AbortSignal;
  /** `egress`: the NIC (qemu.ts), and the namespace QEMU starts in (nsenter), linked to the egress router. */
  net?: NonNullable<QemuPlan['net']> & { namespace: string; nsenter: string };
}

/**
 * One booted microVM: QEMU, the agent's port (a WireSession) and the host directory that is the
 * guest's package dir. A VM serves one instance: once its instance is gone, it is killed.
 */
export class MicroVm {
  private constructor(
    readonly qemu: ChildProcess,
    readonly session: WireSession,
    readonly dir: string,
    readonly packageShare: string,
    readonly memoryMb: number,
    readonly exited: Promise<void>,
    /** What its CPU runs on. */
    readonly accel: Accel,
  ) {}

  get gone(): boolean {
    return this.qemu.exitCode !== null || this.qemu.signalCode !== null;
  }

  /** Boots a VM and waits for its agent's HELLO; rejects (and kills it) when it does not come. */
  static async boot(o: VmBootOptions): Promise<MicroVm> {
    const dir = join(o.stateDir, `vm-${randomUUID().slice(0, 8)}`);
    const packageShare = join(dir, 'pkg');
    await mkdir(packageShare, { recursive: true, mode: 0o755 });
    // QEMU drops to `uid` after it opened its files; it still reads the shares as that uid.
    await chown(dir, 0, 0);
    const files = rootfsFiles(o.rootfsDir);
    const agentSocket = join(dir, 'agent.sock');
    const consoleLog = join(dir, 'console.log');
    const args = qemuArgv({ accel: o.accel, memoryMb: o.memoryMb, kernel: existsSync(files.vmlinux) ? files.vmlinux : files.vmlinuz, initrd: files.initrd, rootImage: files.rootImage, packageShare, agentSocket, consoleLog, runAs: `${o.uid}:${o.uid}`, ...(o.net && { net: o.net }) });
    // nsenter execs QEMU (no fork): the pid is QEMU's, for its cgroup and its memory.
    const argv = o.net ? [o.net.nsenter, `--net=${o.net.namespace}`, '--', o.qemu, ...args] : [o.qemu, ...args];
    const qemu = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    qemu.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-4000)));
    qemu.on('error', () => {});
    // QEMU runs in a process group of its own: a server that dies takes its VMs along (`running`).
    running.add(qemu);
    const exited = new Promise<void>((resolve) => {
      if (qemu.exitCode !== null || qemu.signalCode !== null) return resolve();
      qemu.once('close', () => resolve());
    }).finally(() => running.delete(qemu));
    const kill = async (): Promise<void> => {
      if (qemu.exitCode === null && qemu.signalCode === null) qemu.kill('SIGKILL');
      await exited;
      await rm(dir, { recursive: true, force: true });
    };
    const deadline = Date.now() + o.bootTimeoutMs;
    const failed = async (why: string): Promise<never> => {
      if (qemu.exitCode === null && qemu.signalCode === null) qemu.kill('SIGKILL');
      await exited;
      const console = await readFile(consoleLog, 'utf8').catch(() => '');
      await kill();
      throw new FerryError('instance-start-failed', `the microVM did not boot: ${why}; qemu: ${stderr.trim().slice(-1000)}; console: ${console.trim().slice(-1000)}`);
    };
    // QEMU makes its socket before the guest starts; a guest never sees a port without its host.
    let socket: Socket | undefined;
    while (!socket) {
      if (qemu.exitCode !== null || qemu.signalCode !== null) return failed('qemu exited');
      if (Date.now() > deadline) return failed('no agent socket');
      if (o.signal?.aborted) return failed('the driver closed');
      socket = await new Promise<Socket | undefined>((resolve) => {
        const s = connect(agentSocket);
        s.once('connect', () => resolve(s));
        s.once('error', () => resolve(undefined));
      });
      if (!socket) await new Promise((r) => setTimeout(r, 20));
    }
    const session = new WireSession(socket);
    // The first frame, at once: the agent reads it whenever it starts, and from then on takes a
    // port the host left as the end of its server (the VM powers off instead of running on).
    session.send(Wire.attached, 0);
    const hello = await new Promise<string | undefined>((resolve) => {
      const done = (why: string | undefined): void => {
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', aborted);
        resolve(why);
      };
      const aborted = (): void => done('the driver closed');
      const timer = setTimeout(() => done('no HELLO from the agent in time'), Math.max(0, deadline - Date.now()));
      // A VM booted for `egress` whose NIC did not come up is given up (its console says why).
      session.once('hello', (h: Hello) => done(o.net && h.network !== 'egress' ? "the guest's network did not come up" : undefined));
      session.once('close', () => done('the agent port closed before its HELLO'));
      if (o.signal?.aborted) return aborted();
      o.signal?.addEventListener('abort', aborted, { once: true });
    });
    if (hello) return failed(hello);
    const vm = new MicroVm(qemu, session, dir, packageShare, o.memoryMb, exited, o.accel);
    session.once('close', () => void vm.kill());
    return vm;
  }

  /** The end of the guest's console (the kernel's and the agent's own messages): what a failure reports. */
  async consoleTail(chars = 1500): Promise<string> {
    const text = await readFile(join(this.dir, 'console.log'), 'utf8').catch(() => '');
    return text.trim().slice(-chars);
  }

  /** Kills QEMU (nothing of the guest needs a clean shutdown: it is thrown away) and removes its files. */
  async kill(): Promise<void> {
    this.session.close();
    if (!this.gone) this.qemu.kill('SIGKILL');
    await this.exited;
    await rm(this.dir, { recursive: true, force: true });
  }
}
