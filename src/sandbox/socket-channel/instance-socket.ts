import { closeSync, constants, fstatSync, openSync, type Stats } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { basename, dirname } from 'node:path';

/** Linux's O_PATH (Node does not export it): an fd that names a file without opening it. */
const O_PATH = 0o10000000;

/** The `code` of the error a refused socket fails with: not "not listening yet", never retried. */
export const UNTRUSTED_SOCKET = 'ERR_FERRY_UNTRUSTED_SOCKET';

function kindOf(st: Stats): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a directory';
  if (st.isSocket()) return 'a socket';
  return 'a device or other special file';
}

/** A refusal; `found` says what was there (a socket of another owner, say), for callers that know why. */
export interface UntrustedSocketError extends Error {
  code: typeof UNTRUSTED_SOCKET;
  found: { socket: boolean; uid: number };
}

function untrusted(what: string, st: Stats, want: string, owner: number): UntrustedSocketError {
  return Object.assign(new Error(`${what} is ${kindOf(st)} owned by uid ${st.uid}, not a ${want} owned by uid ${owner}; not connecting`), { code: UNTRUSTED_SOCKET, found: { socket: st.isSocket(), uid: st.uid } } as const);
}

/**
 * Connects to a Unix socket an instance made in its run dir, without following anything the
 * instance may have put at that name instead. The run dir is writable from inside the sandbox,
 * and the server connects as root: a symbolic link named `http.sock` would otherwise lead it to
 * any socket of the host (and relay the caller's request there).
 *
 * The run dir's parent (`<data-dir>/run`) belongs to the server, so only the run dir and the
 * socket's name are the instance's. The run dir is opened O_PATH|O_NOFOLLOW and must be a
 * directory owned by `owner`; the name is then opened O_PATH|O_NOFOLLOW through that directory's
 * fd (`/proc/self/fd/N/name`, openat's semantics) and must be a socket owned by `owner`. A link
 * opened so names the link itself (and fails the check); O_PATH opens nothing, so a FIFO cannot
 * block. The connection goes to `/proc/self/fd/M`: the very file that was checked. Both fds are
 * closed once the connection is made or failed.
 *
 * The checks are made before it returns: a name that does not exist throws ENOENT (not listening
 * yet), a refusal throws an error with the code `UNTRUSTED_SOCKET`. Errors of the connection
 * itself (ECONNREFUSED) arrive as the socket's 'error' event, as with `net.connect`.
 *
 * @param owner the host uid the instance runs as (the sandbox user when Ferry runs as root);
 *   default: this process's.
 */
export function connectInstanceSocket(path: string, owner: number = process.getuid?.() ?? 0): Socket {
  const dirFd = openSync(dirname(path), O_PATH | constants.O_NOFOLLOW);
  let fd: number;
  try {
    const dir = fstatSync(dirFd);
    if (!dir.isDirectory() || dir.uid !== owner) throw untrusted("the instance's run dir", dir, 'directory', owner);
    fd = openSync(`/proc/self/fd/${dirFd}/${basename(path)}`, O_PATH | constants.O_NOFOLLOW);
  } finally {
    closeSync(dirFd);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isSocket() || st.uid !== owner) throw untrusted(`the instance's ${basename(path)}`, st, 'socket', owner);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  const checked = fd;
  const socket = connect(`/proc/self/fd/${checked}`);
  let open = true;
  const release = (): void => {
    if (!open) return;
    open = false;
    closeSync(checked);
  };
  socket.once('connect', release);
  socket.once('error', release);
  socket.once('close', release);
  return socket;
}
