// The relay: an http function listening on TCP PORT in its own (empty) network namespace is
// reached from the host through a Unix socket in its run dir: HTTP keep-alive and WebSocket.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { findTools } from './network.js';
import { asSandboxUser, missingSandbox, need, testSandboxArgs } from '../../../test/support/netns.js';

// The relay lives with the http runtime, which starts it (src/runtime/http/relay.ts).
const relayPath = fileURLToPath(new URL('../../runtime/http/relay.js', import.meta.url));
const wsPath = createRequire(import.meta.url).resolve('ws');
const basics = missingSandbox();

/** Pids of a process's children (from /proc/<pid>/task/<pid>/children). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

/** An http + WebSocket echo server on PORT, listening after `delayMs`. */
function serverSource(delayMs: number): string {
  return `
const http = require('http');
const { WebSocketServer } = require(${JSON.stringify(wsPath)});
const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => res.end(JSON.stringify({ method: req.method, url: req.url, body, remote: req.socket.remoteAddress })));
});
new WebSocketServer({ server }).on('connection', (ws) => ws.on('message', (m) => ws.send('echo:' + m)));
setTimeout(() => server.listen(Number(process.env.PORT), '127.0.0.1'), ${delayMs});`;
}

/**
 * Runs `inner` in a `none` sandbox with the run dir at /run/ferry and the relay beside it. The
 * relay listens on `socket`, which is also the function's FERRY_SOCKET (as the http runtime sets
 * it up) unless `ownSocket` names another.
 */
function sandbox(runDir: string, inner: string[], socket: string, ownSocket = socket, extra: string[] = []): ChildProcess {
  const argv = [
    ...asSandboxUser(), findTools().bwrap!, '--unshare-net', ...testSandboxArgs, ...extra,
    '--tmpfs', '/run', '--bind', runDir, '/run/ferry', '--ro-bind', relayPath, '/run/ferry-relay/relay.mjs',
    '--setenv', 'FERRY_RELAY_SOCKET', `/run/ferry/${socket}`, '--setenv', 'FERRY_SOCKET', `/run/ferry/${ownSocket}`, '--setenv', 'PORT', '8080',
    '--', ...inner,
  ];
  return spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'inherit', 'inherit'], detached: true });
}

function call(socketPath: string, agent: Agent, method: string, path: string, body?: string): Promise<{ json: Record<string, unknown>; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, agent, method, path }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ json: JSON.parse(text) as Record<string, unknown>, reused: req.reusedSocket }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function waitFor(path: string, child: ChildProcess, timeoutMs = 10_000): Promise<number> {
  const start = Date.now();
  while (!existsSync(path)) {
    if (child.exitCode !== null) throw new Error(`the sandbox exited (${child.exitCode}) before ${path} appeared`);
    if (Date.now() - start > timeoutMs) throw new Error(`${path} did not appear`);
    await sleep(5);
  }
  return Date.now() - start;
}

describe('relay in a sandbox without network', () => {
  const children: ChildProcess[] = [];
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'ferry-relay-test-'));
    chmodSync(root, 0o755); // bwrap runs as the sandbox user: it must get to the run dirs
  });
  after(async () => {
    for (const c of children) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      process.kill(-c.pid!, 'SIGKILL');
      await once(c, 'exit');
    }
    rmSync(root, { recursive: true, force: true });
  });
  const runDir = (name: string): string => {
    const d = mkdtempSync(join(root, `${name}-`));
    if (process.getuid?.() === 0) chownSync(d, 65534, 65534); // the sandbox user creates the socket
    return d;
  };

  for (const mode of ['supervisor', 'preload'] as const) {
    test(`${mode}: HTTP keep-alive and a WebSocket echo through the Unix socket; it listens only once PORT does`, async (t) => {
      if (!need(t, basics)) return;
      const dir = runDir(mode);
      const src = serverSource(400);
      const inner = mode === 'supervisor' ? [process.execPath, '/run/ferry-relay/relay.mjs', '--', process.execPath, '-e', src] : [process.execPath, '--import', '/run/ferry-relay/relay.mjs', '-e', src];
      // The supervisor as the http runtime runs it (on the function's own socket path); the
      // preload on a path of its own.
      const socket = mode === 'supervisor' ? 'http.sock' : 'relay.sock';
      const child = sandbox(dir, inner, socket, 'http.sock');
      children.push(child);
      const socketPath = join(dir, socket);
      const appearedMs = await waitFor(socketPath, child);
      assert.ok(appearedMs >= 350, `the socket appeared after ${appearedMs} ms, before the server listened`);

      // Ready means ready: the first call, right away, is answered.
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      t.after(() => agent.destroy());
      const first = await call(socketPath, agent, 'GET', '/a?x=1');
      assert.deepEqual(first.json, { method: 'GET', url: '/a?x=1', body: '', remote: '127.0.0.1' });
      const second = await call(socketPath, agent, 'POST', '/b', 'x'.repeat(200_000));
      assert.equal(second.reused, true, 'the kept-alive connection is reused through the relay');
      assert.equal((second.json.body as string).length, 200_000);

      const ws = new WebSocket(`ws+unix://${socketPath}:/echo`);
      t.after(() => ws.terminate());
      await once(ws, 'open');
      for (const m of ['hello', 'ünïcode', 'z'.repeat(100_000)]) {
        ws.send(m);
        const [reply] = (await once(ws, 'message')) as [Buffer];
        assert.equal(reply.toString(), `echo:${m}`);
      }
    });
  }

  test('preload as pid 1: SIGTERM ends a server without a handler (143), one with its own decides', { timeout: 60_000 }, async (t) => {
    if (!need(t, basics)) return;
    for (const [own, expected] of [['', 143], ["process.on('SIGTERM', () => process.exit(7));", 7]] as const) {
      const src = `${own} require('http').createServer((q, r) => r.end('x')).listen(Number(process.env.PORT), '127.0.0.1');`;
      const dir = runDir('pid1');
      const child = sandbox(dir, [process.execPath, '--import', '/run/ferry-relay/relay.mjs', '-e', src], 'http.sock', 'http.sock', ['--as-pid-1']);
      children.push(child);
      await waitFor(join(dir, 'http.sock'), child);
      // The server's host pid: the only child of bwrap (it is pid 1 inside).
      const server = Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim());
      // pid 1 of a namespace ignores a signal it has no handler for: without the preload's, the
      // server would never end (nothing here sends a SIGKILL after it), and the test would hang.
      process.kill(server, 'SIGTERM');
      const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
      assert.deepEqual([code, signal], [expected, null]);
    }
  });
});

describe('relay as a supervisor (no sandbox)', () => {
  const env = (extra: Record<string, string>): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, ...extra });
  const relay = (args: string[], e: NodeJS.ProcessEnv): ChildProcess => spawn(process.execPath, [relayPath, ...args], { env: e, stdio: ['ignore', 'ignore', 'pipe'] });

  test('exits with the command status, and 128+n when it was killed by signal n', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-relay-'));
    try {
      const e = env({ FERRY_RELAY_SOCKET: join(dir, 'r.sock'), PORT: '9' });
      const a = relay(['--', 'sh', '-c', 'exit 3'], e);
      assert.deepEqual(await once(a, 'exit'), [3, null]);
      const b = relay(['sleep', '30'], e);
      // Wait for the command, however slow the host, so the signal is forwarded to it.
      while (!childrenOf(b.pid!).some((p) => cmdline(p).startsWith('sleep\0'))) await sleep(10);
      b.kill('SIGTERM'); // forwarded to sleep, which dies of it
      assert.deepEqual(await once(b, 'exit'), [143, null]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('refuses to run without its environment', async () => {
    const c = relay(['true'], env({ PORT: '80' }));
    let stderr = '';
    c.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    assert.deepEqual(await once(c, 'exit'), [78, null]);
    assert.match(stderr, /FERRY_RELAY_SOCKET is not set/);
  });

  test('stands aside when the function serves FERRY_SOCKET itself', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-relay-'));
    const e = env({ FERRY_RELAY_SOCKET: join(dir, 'relay.sock'), FERRY_SOCKET: join(dir, 'http.sock'), PORT: '9' });
    const src = "require('http').createServer((q, r) => r.end('own')).listen(process.env.FERRY_SOCKET)";
    const c = relay(['--', process.execPath, '-e', src], e);
    try {
      while (!existsSync(join(dir, 'http.sock'))) await sleep(5);
      await sleep(100);
      assert.equal(existsSync(join(dir, 'relay.sock')), false);
      assert.equal(c.exitCode, null, 'it keeps supervising');
    } finally {
      c.kill('SIGTERM');
      await once(c, 'exit');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
