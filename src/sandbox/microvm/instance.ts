import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { PassThrough, Writable } from 'node:stream';
import { FerryError } from '../../errors/index.js';
import type { SandboxProcess } from '../../core/index.js';
import { processTreeMemory } from '../host/process-memory.js';
import { Wire, type ExitReport, type SpawnRequest } from './agent/wire.js';
import type { MicroVm } from './vm.js';

/**
 * The instance as Ferry sees a process: `pid` is QEMU's (its host cgroup, its memory), the
 * streams and the exit status are the guest process's, relayed by the agent.
 */
class GuestProcess extends EventEmitter {
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  stdin: Writable | null = null;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  constructor(readonly pid: number | undefined) {
    super();
  }
  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    this.emit('signal', signal);
    return true;
  }
}

/** Starts the instance in `vm` (its package already in the share) and answers it as a SandboxProcess. */
export async function startInVm(vm: MicroVm, req: SpawnRequest, notices: string[], onGone: () => Promise<void>, startTimeoutMs: number): Promise<SandboxProcess> {
  const s = vm.session;
  const child = new GuestProcess(vm.qemu.pid);
  s.on('stdout', (b: Buffer) => child.stdout.write(b));
  s.on('stderr', (b: Buffer) => child.stderr.write(b));
  if (req.stdin) {
    child.stdin = new Writable({
      write: (chunk: Buffer, _e, cb) => (s.send(Wire.stdin, 0, chunk), cb()),
      final: (cb) => (s.send(Wire.stdin, 0), cb()),
    });
  }
  child.on('signal', (signal: string) => s.send(Wire.signal, 0, signal));
  let report: ExitReport | undefined;
  const exited = new Promise<void>((resolve) => {
    const done = (r: ExitReport): void => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      report = r;
      child.exitCode = r.code;
      child.signalCode = r.signal as NodeJS.Signals | null;
      child.stdout.end();
      child.stderr.end();
      child.emit('exit', r.code, r.signal);
      child.emit('close', r.code, r.signal);
      void onGone().finally(resolve);
    };
    s.once('exit', done);
    // The VM died without the agent's word (killed, crashed): the instance went with it.
    s.once('close', () => done({ code: null, signal: 'SIGKILL', oom: false }));
  });
  let startTimer: NodeJS.Timeout | undefined;
  await new Promise<void>((resolve, reject) => {
    s.once('started', () => resolve());
    s.once('failed', (why: string) => reject(new FerryError('instance-start-failed', `the microVM's agent could not start the instance: ${why}`)));
    s.once('close', () => reject(new FerryError('instance-start-failed', 'the microVM exited before the instance started')));
    // An agent that never answers must not hold the start forever.
    // Its console says what the guest was doing (read before the VM and its files go).
    startTimer = setTimeout(() => {
      void vm.consoleTail().then((tail) => reject(new FerryError('instance-start-failed', `the microVM's agent did not start the instance within ${startTimeoutMs / 1000} s; the guest's console: ${tail || '(empty)'}`)));
    }, startTimeoutMs);
    s.send(Wire.spawn, 0, JSON.stringify(req));
  }).finally(() => clearTimeout(startTimer)).catch(async (err: unknown) => {
    await vm.kill();
    await onGone();
    throw err;
  });
  let stopping: Promise<void> | undefined;
  const listeners: Array<(line: string) => void> = [];
  return {
    child: child as unknown as ChildProcess,
    dial: () => (req.listen ? s.dial() : Promise.reject(new FerryError('internal', 'this sandbox was started with no channel to dial'))),
    stop(graceMs: number): Promise<void> {
      if (report) return exited;
      if (stopping) return stopping;
      s.send(Wire.signal, 0, 'SIGTERM');
      const kill = setTimeout(() => s.send(Wire.signal, 0, 'SIGKILL'), graceMs);
      // A guest that does not answer at all is ended by its VM's death.
      const hard = setTimeout(() => void vm.kill(), graceMs + 2000);
      stopping = exited.then(() => {
        clearTimeout(kill);
        clearTimeout(hard);
      });
      return stopping;
    },
    exitReason: async () => (report?.oom ? 'oom' : undefined),
    onNotice(listener: (line: string) => void): void {
      for (const line of notices.splice(0)) listener(line);
      listeners.push(listener);
    },
    memoryBytes: async () => (report || vm.qemu.pid === undefined ? undefined : processTreeMemory(vm.qemu.pid)),
  };
}
