import { closeSync, fstatSync, openSync, statSync } from 'node:fs';

/**
 * A network namespace held open by a file descriptor. A pid names a namespace only while that
 * process lives: once it ends the kernel may give the pid to any process, one in the host's own
 * namespace included, and `nsenter --net=/proc/<pid>/ns/net` would then configure the host. The
 * descriptor names the same namespace for as long as it is open, and is passed to `nsenter` and
 * `ip` as /proc/self/fd/N.
 */
export class NetnsHandle {
  private closing = false;
  private closed = false;
  private users = 0;

  private constructor(readonly fd: number) {}

  /** Opens the namespace of live process `pid`; refuses the server's own namespace. */
  static open(pid: number): NetnsHandle {
    const fd = openSync(`/proc/${pid}/ns/net`, 'r');
    const own = statSync('/proc/self/ns/net');
    const got = fstatSync(fd);
    if (got.ino === own.ino && got.dev === own.dev) {
      closeSync(fd);
      throw new Error(`process ${pid} is in the server's own network namespace`);
    }
    return new NetnsHandle(fd);
  }

  /**
   * Runs `fn` with the descriptor open: a `close` meanwhile waits for it (a descriptor closed
   * under a running command could be reopened as another namespace's, and name that one).
   */
  async use<T>(fn: (fd: number) => Promise<T>): Promise<T> {
    if (this.closing) throw new Error('the network namespace was released');
    this.users++;
    try {
      return await fn(this.fd);
    } finally {
      this.users--;
      if (this.closing && this.users === 0) this.closeNow();
    }
  }

  /** Closes the descriptor once no `use` holds it. */
  close(): void {
    this.closing = true;
    if (this.users === 0) this.closeNow();
  }

  private closeNow(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}

/** How a child given `fds` as its descriptors 3, 4 ... names the `i`-th one's namespace. */
export function childNetnsPath(i: number): string {
  return `/proc/self/fd/${3 + i}`;
}
