import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FerryError } from '../../errors/index.js';

/**
 * The client of `ferry-mountd` (native/ferry-mountd.c): the few mount system calls the
 * pre-booted pool and the instances' run dirs need, done by one long-lived root process so that
 * a hand-off or a run dir costs a pipe round trip instead of spawning mount(8) (milliseconds, on
 * the path of a cold call).
 */

/** `FERRY_MOUNTD`, else `dist/native/ferry-mountd` next to the compiled code. */
export function mountdPath(): string {
  const override = process.env['FERRY_MOUNTD'];
  if (override) return override;
  // This module runs as dist/src/sandbox/bwrap/mounter.js; the binary is dist/native/.
  return fileURLToPath(new URL('../../../native/ferry-mountd', import.meta.url));
}

export function mountdAvailable(): boolean {
  try {
    accessSync(mountdPath(), constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

type Op = 'slot' | 'bind-ro' | 'unmount' | 'runfs';

/** Requests are answered in order, so a FIFO of waiters matches answers to requests. */
export class Mounter {
  private child: ChildProcessWithoutNullStreams | undefined;
  private readonly waiting: Array<{ resolve(): void; reject(err: Error): void }> = [];
  private buffered = '';

  /** Performs one request on paths; rejects with the service's error message. */
  request(op: Exclude<Op, 'runfs'>, ...paths: string[]): Promise<void> {
    if (paths.some((p) => !p.startsWith('/'))) return Promise.reject(new FerryError('internal', `mountd: bad path in ${op} ${paths.join(' ')}`));
    return this.send(op, paths);
  }

  /** Mounts a tmpfs of at most `bytes` and `files` inodes on `dir`, mode 0700, owned by `uid`. */
  runfs(dir: string, bytes: number, files: number, uid: number): Promise<void> {
    if (!dir.startsWith('/') || ![bytes, files, uid].every((n) => Number.isSafeInteger(n) && n > 0)) {
      return Promise.reject(new FerryError('internal', `mountd: bad runfs request for ${dir}`));
    }
    return this.send('runfs', [dir, String(bytes), String(files), String(uid)]);
  }

  private send(op: Op, fields: string[]): Promise<void> {
    // Tabs and newlines frame the protocol; Ferry's own paths never hold them.
    if (fields.some((f) => /[\t\n\0]/.test(f))) return Promise.reject(new FerryError('internal', `mountd: bad field in ${op} ${fields.join(' ')}`));
    const child = this.ensure();
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      child.stdin.write(`${[op, ...fields].join('\t')}\n`);
    });
  }

  /** Ends the service (it exits on end of input); resolves once it has. */
  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.stdin.end();
    });
  }

  private ensure(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    const child = spawn(mountdPath(), [], { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
    this.child = child;
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-2000)));
    child.stdout.setEncoding('utf8').on('data', (s: string) => this.onData(s));
    child.stdin.on('error', () => {});
    const gone = (why: string): void => {
      if (this.child === child) this.child = undefined;
      for (const w of this.waiting.splice(0)) w.reject(new FerryError('internal', `the mount service ${mountdPath()} ${why}${stderr ? `: ${stderr.trim()}` : ''}`));
    };
    child.once('error', (err) => gone(`cannot run (${err.message})`));
    child.once('exit', (code, sig) => gone(`exited (${sig ?? code})`));
    return child;
  }

  private onData(text: string): void {
    this.buffered += text;
    let i: number;
    while ((i = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, i);
      this.buffered = this.buffered.slice(i + 1);
      const w = this.waiting.shift();
      if (!w) continue;
      if (line === 'ok') w.resolve();
      else w.reject(new FerryError('instance-start-failed', `mount failed: ${line.replace(/^err /, '')}`));
    }
  }
}
