// The run dir is the instance's to write (`/run/ferry` inside, `<data-dir>/run/<id>/` outside),
// and the server runs as root: nothing it connects to, reads or deletes there may be redirected by
// what the instance put in its place. Real functions under the bwrap driver swap every entry the
// server touches for a symbolic link or a FIFO, and the server must not follow, hang or kill.
import { test, before, beforeEach, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFerry, disposeFerry, type Ferry, type PackageFiles } from './support/ferry.js';
import { sandboxSupport } from './support/sandbox.js';
import { processesMentioning, procState } from './support/procs.js';
import { within } from './support/wait.js';

const support = await sandboxSupport();
const skip = support.ok ? false : `the bwrap sandbox cannot run here: ${support.why}`;

/** A host directory of the test's own (0700), outside every sandbox. */
function hostDir(t?: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-rundir-'));
  chmodSync(dir, 0o700);
  if (t) t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A Unix socket of the host only its owner may use (0600, in a 0700 directory; root's when the
 * tests run as root): what an instance must never get the server to connect to for it. It
 * records what it hears and hangs up.
 */
class HostSocket {
  readonly dir = hostDir();
  readonly path = join(this.dir, 'root-only.sock');
  readonly heard: string[] = [];
  private readonly server: Server = createServer((s) => {
    this.heard.push('a connection');
    s.on('data', (d: Buffer) => {
      this.heard.push(d.toString('latin1').slice(0, 200));
      s.destroy();
    });
    s.on('error', () => {});
  });

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(this.path, resolve));
    chmodSync(this.path, 0o600);
  }

  close(): void {
    this.server.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

let ferry: Ferry;
const host = new HostSocket();

before(async () => {
  if (skip) return;
  await host.listen();
  // Cold starts only: a pooled sandbox connects before any of the function's code runs.
  ferry = await startFerry({ args: ['--driver', 'bwrap', '--pool-size', '0'] });
});
beforeEach(() => {
  host.heard.length = 0;
});
after(async () => {
  host.close();
  if (!skip) await disposeFerry(ferry);
});

/**
 * Calls a function (a hang becomes a failure) as the admin, who may read the failure's detail;
 * answers the status and the parsed body.
 */
async function call(f: Ferry, name: string, path = '/'): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await within(`GET /fn/${name}${path}`, 60_000, fetch(`${f.url}/fn/${name}${path}`, { headers: { authorization: `Bearer ${f.token}` } }));
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as Record<string, unknown> };
  } catch {
    return { status: res.status, body: { raw: text } };
  }
}

test('http.sock swapped for a link after the first call: the next call fails cleanly and the host socket hears nothing', { skip }, async () => {
  await ferry.deploy('rd-http-late', {
    'ferry.json': JSON.stringify({ runtime: 'http', command: ['node', 'server.js'], env: { X_TARGET: host.path } }),
    'server.js': [
      "const fs = require('fs');",
      'const sock = process.env.FERRY_SOCKET;',
      "require('http').createServer((req, res) => {",
      "  if (req.url === '/swap') {",
      '    // Keeps serving under another name; the link takes the name the gateway connects to.',
      "    fs.renameSync(sock, sock + '.real');",
      '    fs.symlinkSync(process.env.X_TARGET, sock);',
      "    res.setHeader('connection', 'close');",
      '  }',
      "  res.end(JSON.stringify({ served: req.url }));",
      '}).listen(sock);',
      '',
    ].join('\n'),
  });
  const first = await call(ferry, 'rd-http-late', '/swap');
  assert.equal(first.status, 200, JSON.stringify(first.body));
  const second = await call(ferry, 'rd-http-late', '/after');
  assert.deepEqual(host.heard, [], 'the root-only host socket must hear nothing');
  assert.equal(second.status, 502, JSON.stringify(second.body));
  assert.equal(second.body.code, 'instance-crashed', JSON.stringify(second.body));
  assert.match(String(second.body.detail), /http\.sock is a symbolic link/);
});

test('http.sock is a link before the instance is ready: the start fails cleanly and the host socket hears nothing', { skip }, async () => {
  await ferry.deploy('rd-http-early', {
    'ferry.json': JSON.stringify({ runtime: 'http', command: ['node', 'server.js'], env: { X_TARGET: host.path } }),
    'server.js': "require('fs').symlinkSync(process.env.X_TARGET, process.env.FERRY_SOCKET);\nsetInterval(() => {}, 60_000);\n",
  });
  const r = await call(ferry, 'rd-http-early');
  assert.deepEqual(host.heard, [], 'the root-only host socket must hear nothing');
  assert.equal(r.status, 502, JSON.stringify(r.body));
  assert.equal(r.body.code, 'instance-start-failed', JSON.stringify(r.body));
});

// The shims listen on ferry.sock once the function's module has loaded; module code can make the
// shim listen elsewhere and leave a link at that name for the gateway's one connection.
const ferrySockSwaps: Record<string, PackageFiles> = {
  node: {
    'ferry.json': JSON.stringify({ runtime: 'node', handler: 'index.mjs', env: { X_TARGET: host.path } }),
    'index.mjs': [
      "import fs from 'node:fs';",
      "import net from 'node:net';",
      'const listen = net.Server.prototype.listen;',
      'net.Server.prototype.listen = function (path, ...rest) {',
      "  if (typeof path !== 'string' || !path.endsWith('/ferry.sock')) return listen.call(this, path, ...rest);",
      '  fs.symlinkSync(process.env.X_TARGET, path);',
      "  return listen.call(this, path + '.real', ...rest);",
      '};',
      "export default () => new Response('served');",
      '',
    ].join('\n'),
  },
  python: {
    'ferry.json': JSON.stringify({ runtime: 'python', handler: 'main.py', env: { X_TARGET: host.path } }),
    'main.py': [
      'import os',
      'from asyncio import unix_events',
      'listen = unix_events._UnixSelectorEventLoop.create_unix_server',
      'async def elsewhere(self, factory, path=None, **kw):',
      "    if path and path.endswith('/ferry.sock'):",
      "        os.symlink(os.environ['X_TARGET'], path)",
      "        path = path + '.real'",
      '    return await listen(self, factory, path=path, **kw)',
      'unix_events._UnixSelectorEventLoop.create_unix_server = elsewhere',
      'def handler(request):',
      "    return 'served'",
      '',
    ].join('\n'),
  },
};

for (const [runtime, files] of Object.entries(ferrySockSwaps)) {
  test(`ferry.sock of a ${runtime} function is a link when the gateway connects: the start fails cleanly and the host socket hears nothing`, { skip }, async () => {
    await ferry.deploy(`rd-frames-${runtime}`, files);
    const r = await call(ferry, `rd-frames-${runtime}`);
    assert.deepEqual(host.heard, [], 'the root-only host socket must hear nothing');
    assert.equal(r.status, 502, JSON.stringify(r.body));
    assert.equal(r.body.code, 'instance-start-failed', JSON.stringify(r.body));
    assert.match(String(r.body.detail), /ferry\.sock is a symbolic link/);
  });
}

/** A python function that replaces run-dir entries (`swaps`: name -> python making `p`). */
function swapper(swaps: Record<string, string>, env: Record<string, string>): PackageFiles {
  return {
    'ferry.json': JSON.stringify({ runtime: 'python', handler: 'main.py', env }),
    'main.py': [
      'import os',
      'def swap(name, make):',
      "    path = '/run/ferry/' + name",
      "    tmp = path + '.new'",
      '    make(tmp)',
      '    os.replace(tmp, path)  # whatever the server had there is gone',
      'def handler(request):',
      ...Object.entries(swaps).map(([name, make]) => `    swap(${JSON.stringify(name)}, lambda p: ${make})`),
      "    return sorted(os.listdir('/run/ferry'))",
      '',
    ].join('\n'),
  };
}

/** A host process of the test's choosing (its own process group), and its record as a pid file held it. */
function hostProcess(t: TestContext): { pid: number; record: string } {
  const child = spawn('sleep', ['3600'], { detached: true, stdio: 'ignore' });
  child.unref();
  t.after(() => {
    if (procState(child.pid!) !== undefined) process.kill(child.pid!, 'SIGKILL');
  });
  const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
  return { pid: child.pid!, record: `${child.pid} ${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]}\n` };
}

/**
 * SIGKILLs `f`, then starts a server on its data dir (bounded: a start that hangs fails the test).
 * A server that did not come up is killed when the test ends.
 */
async function crashAndRestart(t: TestContext, f: Ferry): Promise<Ferry> {
  await f.stop('SIGKILL');
  t.after(() => {
    const parentOf = (pid: number): number => Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    for (const p of processesMentioning(f.dataDir)) {
      try {
        if (parentOf(p.pid) === process.pid) process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });
  return startFerry({ dataDir: f.dataDir, args: ['--driver', 'bwrap'] });
}

test('a forged or linked instance.pid, then a crash and restart: no host process is killed, nothing is deleted through a link', { skip, timeout: 180_000 }, async (t) => {
  // The pre-booted pool is on: the pooled sandbox's records are covered too.
  const first = await startFerry({ args: ['--driver', 'bwrap'] });
  let second: Ferry | undefined;
  t.after(async () => {
    await second?.stop();
    await disposeFerry(first);
  });
  const dir = hostDir(t);
  const victims = [hostProcess(t), hostProcess(t)];
  const forged = join(dir, 'forged.pid');
  writeFileSync(forged, victims[1]!.record);
  const canaryFile = join(dir, 'canary.txt');
  writeFileSync(canaryFile, 'still here\n');
  const canaryDir = join(dir, 'canary-dir');
  mkdirSync(canaryDir);
  writeFileSync(join(canaryDir, 'keep.txt'), 'still here\n');
  const env = { X_RECORD: victims[0]!.record, X_FORGED: forged, X_FILE: canaryFile, X_DIR: canaryDir };

  await first.deploy('rd-forge', swapper({
    'instance.pid': "open(p, 'w').write(os.environ['X_RECORD'])",
    'api.sock': "os.symlink(os.environ['X_FILE'], p)",
    'resolv.conf': "os.symlink(os.environ['X_FILE'], p)",
    escape: "os.symlink(os.environ['X_DIR'], p)",
  }, env));
  await first.deploy('rd-link', swapper({ 'instance.pid': "os.symlink(os.environ['X_FORGED'], p)" }, env));
  for (const name of ['rd-forge', 'rd-link']) {
    const r = await call(first, name);
    assert.equal(r.status, 200, `${name}: ${JSON.stringify(r.body)}`);
    assert.ok((r.body as unknown as string[]).includes('instance.pid'), `${name} swapped its entries: ${JSON.stringify(r.body)}`);
  }

  second = await crashAndRestart(t, first);
  for (const v of victims) assert.notEqual(procState(v.pid), undefined, `host process ${v.pid} named by a forged instance.pid must survive the restart`);
  assert.equal(readFileSync(canaryFile, 'utf8'), 'still here\n', 'a linked api.sock or resolv.conf must not lead anywhere');
  assert.equal(readFileSync(join(canaryDir, 'keep.txt'), 'utf8'), 'still here\n', 'removing the run dirs must not follow a link in them');
  assert.equal((await call(second, 'rd-link')).status, 200, 'the restarted server serves');
});

test('FIFOs in place of the run-dir entries, then a crash and restart: the restart completes and serves', { skip, timeout: 180_000 }, async (t) => {
  const first = await startFerry({ args: ['--driver', 'bwrap', '--pool-size', '0'] });
  let second: Ferry | undefined;
  t.after(async () => {
    await second?.stop();
    await disposeFerry(first);
  });
  const fifo = 'os.mkfifo(p)';
  await first.deploy('rd-fifo', swapper({ 'instance.pid': fifo, 'api.sock': fifo, 'resolv.conf': fifo, 'ferry.sock': fifo }, {}));
  const r = await call(first, 'rd-fifo');
  assert.equal(r.status, 200, JSON.stringify(r.body));

  second = await crashAndRestart(t, first);
  assert.equal((await call(second, 'rd-fifo')).status, 200, 'the restarted server serves');
});
