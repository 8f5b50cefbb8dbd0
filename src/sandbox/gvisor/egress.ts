import { spawn, type ChildProcess } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import type { Socket } from 'node:net';
import { FerryError } from '../../errors/index.js';
import type { SharedEgress } from '../bwrap/shared-egress.js';

/** How long the namespace may take to appear. */
const STEP_MS = 10_000;

/** A network namespace of one instance, linked to the shared egress router. */
export interface EgressNamespace {
  /** The namespace, for nsenter: runsc starts in it. */
  path: string;
  /** Unlinks it and lets it go (idempotent). */
  release(): void;
}

/**
 * `egress` under gVisor: the instance's network namespace, made by a holder process and linked to
 * the server's shared egress router (bwrap/egress-router.ts) exactly as a bwrap instance's is.
 * runsc starts in it, and the sentry's sockets are made there; the router's nftables filter (host
 * addresses, private ranges refused) sees every packet in its own namespace, where neither the
 * sentry nor the instance can change it.
 */
export async function egressNamespace(shared: SharedEgress, unshare: string): Promise<EgressNamespace> {
  // The holder waits on a pipe from the server: when the server dies the pipe closes, the
  // holder leaves and the namespace with it (nothing else keeps it once the sandbox is gone).
  const holder = spawn(unshare, ['--net', '--', '/bin/sh', '-c', 'read x'], { stdio: ['pipe', 'ignore', 'ignore'], detached: true, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
  holder.on('error', () => {});
  const end = (): void => {
    (holder.stdin as Socket | null)?.destroy();
    kill(holder);
  };
  try {
    const pid = await inOwnNamespace(holder);
    const unlink = await shared.link(pid);
    let released = false;
    return {
      path: `/proc/${pid}/ns/net`,
      release: () => {
        if (released) return;
        released = true;
        unlink();
        end();
      },
    };
  } catch (err) {
    end();
    throw new FerryError('instance-start-failed', `the instance's network could not be made: ${(err as Error).message}`, { cause: err });
  }
}

/** The holder's pid once it runs in a network namespace other than the server's. */
async function inOwnNamespace(holder: ChildProcess): Promise<number> {
  const own = readlinkSync('/proc/self/ns/net');
  const deadline = Date.now() + STEP_MS;
  for (;;) {
    const pid = holder.pid;
    if (pid === undefined || holder.exitCode !== null) throw new Error('unshare --net did not start');
    try {
      if (readlinkSync(`/proc/${pid}/ns/net`) !== own) return pid;
    } catch {
      /* not there yet */
    }
    if (Date.now() > deadline) throw new Error('unshare --net did not make a namespace in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

function kill(p: ChildProcess): void {
  if (!p.pid || p.exitCode !== null || p.signalCode !== null) return;
  try {
    process.kill(-p.pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}
