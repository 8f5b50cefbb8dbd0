/**
 * Test support for runtime tests (python, http, exec): starts one real instance through the process
 * driver, connects to it, and puts a small node:http front server before it that dispatches like
 * the gateway does. Not a test file itself: it declares no tests (node --test on the directory runs
 * it and finds none). Also used by the node runtime tests.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { CallSignal, defaultExecutionSettings, defaultPrivacySettings, defaultLimits, defaultSandbox, defaultScaling, type Connector, type EffectiveConfig, type Runtime, type SandboxProcess } from '../../src/core/index.js';
import { FerryError } from '../../src/errors/index.js';
import { processDriver } from '../../src/sandbox/process/process-driver.js';

export interface TestInstance {
  /** Base URL of the front server, e.g. `http://127.0.0.1:1234`. */
  url: string;
  connector: Connector;
  process: SandboxProcess;
  /** Everything the instance wrote so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or signal name) once the instance exits. */
  exited: Promise<number | string | null>;
}

/** A TCP port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const srv = createNetServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** A fresh temporary directory removed after the test. */
export function tempDir(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Launches `runtime` on `packageDir` and waits until it is ready (unless `waitReady` is false).
 * `pooled`: through `pooledLaunch` and a LOAD, as the pre-booted pool does (no mounts: the
 * process driver shows the package where it is).
 */
export async function startInstance(
  t: TestContext,
  runtime: Runtime,
  packageDir: string,
  config: Partial<EffectiveConfig>,
  opts: { waitReady?: boolean; timeoutMs?: number; pooled?: boolean } = {},
): Promise<TestInstance> {
  const runDir = tempDir(t, 'ferry-run-');
  const full: EffectiveConfig = {
    runtime: runtime.name,
    handler: undefined,
    command: undefined,
    env: {},
    secrets: [], ...defaultExecutionSettings, ...defaultPrivacySettings, recordPayloads: false,
    scaling: { ...defaultScaling },
    limits: { ...defaultLimits },
    invoke: 'public',
    sandbox: { ...defaultSandbox },
    ...config,
  };
  const instanceId = `test-${randomUUID().slice(0, 8)}`;
  const view = processDriver.view({ packageDir, runDir });
  const env: Record<string, string> = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/tmp', ...full.env };
  const ctx = { instanceId, view, config: full, env, port: await freePort(), networkIsolated: false };
  // pooled: started as the pre-booted pool starts it (no function), then given it with a LOAD.
  const plan = opts.pooled ? runtime.pooledLaunch!({ instanceId, view }) : runtime.launch(ctx);
  if (opts.pooled) plan.env = { PATH: env.PATH!, HOME: env.HOME!, ...plan.env };
  const proc = await processDriver.spawn({ instanceId, argv: plan.argv, env: plan.env, packageDir, runDir, cwd: plan.cwd, limits: full.limits, sandbox: full.sandbox, rootfs: plan.rootfs, ...(plan.channel && { channel: plan.channel }) });
  let out = '';
  let err = '';
  proc.child.stdout?.setEncoding('utf8').on('data', (s: string) => (out += s));
  proc.child.stderr?.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exited = new Promise<number | string | null>((resolve) => {
    if (proc.child.exitCode !== null) return resolve(proc.child.exitCode);
    proc.child.once('exit', (code, signal) => resolve(code ?? signal));
  });
  const connector = runtime.connect({ dial: () => proc.dial(), ...(plan.port && proc.dialPort && { dialPort: () => proc.dialPort!(plan.port!) }) });
  const front = frontServer(connector, opts.timeoutMs);
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    connector.close();
    front.closeAllConnections();
    await new Promise((resolve) => front.close(resolve));
    await proc.stop(2000);
  });
  if (opts.waitReady !== false) {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 10_000);
    exited.then(() => ac.abort(new FerryError('instance-start-failed', `the instance exited:\n${err}`)), () => undefined);
    try {
      await connector.ready(ac.signal);
      if (opts.pooled) await connector.load!(runtime.load!(ctx), ac.signal);
    } finally {
      clearTimeout(timer);
    }
  }
  const { port } = front.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, connector, process: proc, stdout: () => out, stderr: () => err, exited };
}

/**
 * The gateway's dispatch, reduced: a request id, a signal that aborts when the client goes away
 * or after `timeoutMs`, the id echoed in `x-request-id`, and errors rendered as status + `x-error-code`.
 */
function frontServer(connector: Connector, timeoutMs = 30_000): Server {
  const server = createServer((req, res) => {
    const requestId = randomUUID();
    const signal = new CallSignal();
    const timer = setTimeout(() => signal.abort(new FerryError('invoke-timeout')), timeoutMs);
    res.once('close', () => {
      clearTimeout(timer);
      if (!res.writableFinished) signal.abort();
    });
    connector
      .dispatch(
        { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.rawHeaders, body: req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0' ? req : undefined },
        res,
        { requestId, signal, onHeaders() {}, extraHeaders: ['x-request-id', requestId] },
      )
      .catch((err: unknown) => {
        const e = FerryError.from(err);
        if (res.headersSent) return void res.destroy();
        res.writeHead(e.status, { 'x-error-code': e.code, 'x-request-id': requestId, 'content-type': 'text/plain' });
        res.end(e.message);
      });
  });
  server.on('upgrade', (req, socket, head) => {
    connector.upgrade?.(req, socket, head, { requestId: randomUUID(), path: req.url ?? '/', onClose() {} });
  });
  return server;
}
