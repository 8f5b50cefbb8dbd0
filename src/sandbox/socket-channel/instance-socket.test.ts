import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { connectInstanceSocket, UNTRUSTED_SOCKET } from './instance-socket.js';

const uid = process.getuid?.() ?? 0;

/** A fresh directory standing for a run dir, removed after the test. */
function runDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-sock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A Unix socket server at `path` that counts the connections it gets. */
async function listening(t: TestContext, path: string): Promise<{ server: Server; accepted: () => number }> {
  let accepted = 0;
  const server = createServer((s) => {
    accepted++;
    s.on('error', () => {}); // the client may be gone before the greeting
    s.end('hello');
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  t.after(() => server.close());
  return { server, accepted: () => accepted };
}

/** The error a refused connection throws (before any socket exists). */
function refusal(path: string, owner: number): NodeJS.ErrnoException {
  try {
    connectInstanceSocket(path, owner).destroy();
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
  return assert.fail(`${path} was connected to`);
}

/** How a connection attempt ends: 'connected', or the error's code. */
function outcome(path: string, owner: number): Promise<string> {
  let socket: Socket;
  try {
    socket = connectInstanceSocket(path, owner);
  } catch (err) {
    return Promise.resolve((err as NodeJS.ErrnoException).code ?? String(err));
  }
  return new Promise((resolve) => {
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

/** Paths this process holds an fd of (O_PATH fds show the file's path; sockets do not). */
function heldPaths(): string[] {
  return readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      return [readlinkSync(`/proc/self/fd/${fd}`)];
    } catch {
      return []; // closed while listed (the listing's own fd)
    }
  });
}

test('a socket the instance made in its run dir is connected to', async (t) => {
  const dir = runDir(t);
  await listening(t, join(dir, 'ferry.sock'));
  assert.equal(await outcome(join(dir, 'ferry.sock'), uid), 'connected');
  const held = heldPaths().filter((p) => p.startsWith(dir));
  assert.deepEqual(held, [], 'the fds of the run dir and the socket are closed once connected');
});

test('a missing socket throws ENOENT (not listening yet: callers retry)', async (t) => {
  const dir = runDir(t);
  assert.equal(await outcome(join(dir, 'http.sock'), uid), 'ENOENT');
});

test('a symbolic link to another socket is refused, and that socket gets no connection', async (t) => {
  const dir = runDir(t);
  const elsewhere = runDir(t);
  const host = await listening(t, join(elsewhere, 'host.sock'));
  symlinkSync(join(elsewhere, 'host.sock'), join(dir, 'http.sock'));
  const err = refusal(join(dir, 'http.sock'), uid);
  assert.equal(err.code, UNTRUSTED_SOCKET);
  assert.match(err.message, /http\.sock is a symbolic link/);
  assert.equal(host.accepted(), 0, 'nothing reached the socket the link points to');
});

test('a FIFO, a regular file and a directory are refused at once (no blocking open)', async (t) => {
  const dir = runDir(t);
  execFileSync('mkfifo', [join(dir, 'fifo.sock')]);
  writeFileSync(join(dir, 'file.sock'), 'x');
  mkdirSync(join(dir, 'dir.sock'));
  for (const name of ['fifo.sock', 'file.sock', 'dir.sock']) {
    assert.equal(await outcome(join(dir, name), uid), UNTRUSTED_SOCKET, name);
  }
});

test('a socket or run dir of another owner is refused', async (t) => {
  const dir = runDir(t);
  await listening(t, join(dir, 'ferry.sock'));
  // The run dir belongs to `uid`: asking for another owner refuses the run dir itself.
  const err = refusal(join(dir, 'ferry.sock'), uid + 1);
  assert.equal(err.code, UNTRUSTED_SOCKET);
  assert.match(err.message, /run dir is a directory owned by uid/);
  // A socket in the right run dir that its user did not make (root can hand it to another uid).
  if (uid === 0) {
    chownSync(join(dir, 'ferry.sock'), 65534, 65534);
    assert.match(refusal(join(dir, 'ferry.sock'), uid).message, /ferry\.sock is a socket owned by uid 65534/);
  }
});

test('a run dir that is a symbolic link is refused', async (t) => {
  const real = runDir(t);
  await listening(t, join(real, 'ferry.sock'));
  const parent = runDir(t);
  symlinkSync(real, join(parent, 'run'));
  assert.equal(await outcome(join(parent, 'run', 'ferry.sock'), uid), UNTRUSTED_SOCKET);
});
