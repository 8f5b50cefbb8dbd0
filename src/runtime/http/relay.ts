/**
 * The relay of `http` functions in a network namespace of their own (`none`, `egress`). It runs
 * INSIDE the sandbox. The gateway reaches instances only through Unix sockets in the run dir; a
 * server listening on TCP `PORT` in its own namespace is out of its reach (the gateway's
 * 127.0.0.1 is the host's). The relay waits until PORT accepts, then listens on
 * `FERRY_RELAY_SOCKET` and pipes each connection to PORT, bytes both ways: keep-alive, streaming
 * and WebSocket upgrades pass unchanged. It listens only once PORT accepts, so "the socket
 * accepts" stays the readiness signal. A function that serves `FERRY_SOCKET` itself needs no
 * relay: once that socket (or FERRY_RELAY_SOCKET) exists and is not the relay's, it stops.
 *
 * Two ways to run it:
 * - `node relay.mjs [--] <command> [args...]`: a supervisor in front of any server. stdio is
 *   inherited, SIGTERM/SIGINT/SIGHUP are forwarded, and it exits with the command's status
 *   (128+n for signal n: as pid 1 of a PID namespace it could not kill itself with it).
 * - `node --import /path/relay.mjs server.js`: inside a Node server's own process, no second
 *   process (its memory is the cost of the supervisor); the http runtime uses it for `node`
 *   commands. Everything is unref'd and errors are only logged: the function's process is never
 *   kept alive or crashed by the relay, but for one case: a server that listens on another port
 *   than PORT is ended (78) with a line saying so, since no call could ever reach it. As pid 1 of a PID namespace the server would ignore
 *   SIGTERM, SIGINT and SIGHUP it has no handler for; the relay ends it with 128+n for them, as
 *   the default action would, while the server has no handler of its own.
 *
 * Node built-ins only, no Ferry imports: the file is bound into the sandbox alone. It is an ES
 * module: bind it as `….mjs` (any Node 20), or as `….js` with no package.json around it (Node
 * ≥ 20.19 detects the syntax).
 * Environment: FERRY_RELAY_SOCKET, PORT (both required), HOST (default 127.0.0.1, then ::1).
 */
import { spawn } from 'node:child_process';
import { existsSync, linkSync, readFileSync, realpathSync, unlinkSync } from 'node:fs';
import * as net from 'node:net';
import { constants } from 'node:os';
import { pathToFileURL } from 'node:url';

interface RelayConfig {
  socketPath: string;
  port: number;
  hosts: string[];
  /** The function's own socket: if it appears, the function serves it and no relay is needed. */
  ownSocket: string | undefined;
}

const log = (message: string): boolean => process.stderr.write(`ferry relay: ${message}\n`);

/** The configuration from the environment, or what is wrong with it. */
function readConfig(env: NodeJS.ProcessEnv): RelayConfig | string {
  if (!env.FERRY_RELAY_SOCKET) return 'FERRY_RELAY_SOCKET is not set';
  const port = Number(env.PORT);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return `PORT '${env.PORT ?? ''}' is not a TCP port`;
  return { socketPath: env.FERRY_RELAY_SOCKET, port, hosts: env.HOST ? [env.HOST] : ['127.0.0.1', '::1'], ownSocket: env.FERRY_SOCKET };
}

/** Whether something accepts on host:port (the probe connection is closed at once). */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** One connection: the client's bytes to PORT and back, until either side is gone. */
function pipeToPort(client: net.Socket, host: string, port: number): void {
  // allowHalfOpen: a peer's FIN is passed on, not turned into a full close, so a client that ends
  // its request body still gets the whole answer.
  const upstream = net.connect({ port, host, allowHalfOpen: true });
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  const destroy = (): void => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', destroy);
  upstream.on('error', destroy);
  client.on('close', () => upstream.destroy());
  upstream.on('close', () => client.destroy());
  client.pipe(upstream);
  upstream.pipe(client);
}

/**
 * TCP ports something listens on in this network namespace (`/proc/net/tcp`, `tcp6`: LISTEN is
 * state 0A), or [] when /proc is not mounted. In a namespace of its own, that is the function.
 */
export function listeningPorts(read: (path: string) => string = (p) => readFileSync(p, 'utf8')): number[] {
  const ports = new Set<number>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = read(file);
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] !== '0A' || !f[1]) continue;
      const port = parseInt(f[1].slice(f[1].lastIndexOf(':') + 1), 16);
      if (Number.isInteger(port)) ports.add(port);
    }
  }
  return [...ports].sort((a, b) => a - b);
}

/** How long PORT may stay closed while the server listens elsewhere before the start is failed. */
const wrongPortGraceMs = 2000;

/**
 * Waits for PORT, then relays. Resolves the listening server, or undefined when there is nothing
 * to relay (stopped, or the function serves its socket itself).
 */
async function relay(cfg: RelayConfig, opts: { stopped(): boolean; unref: boolean }): Promise<net.Server | undefined> {
  const started = Date.now();
  let host: string | undefined;
  while (!host) {
    if (opts.stopped()) return undefined;
    if (existsSync(cfg.socketPath) || (cfg.ownSocket !== undefined && existsSync(cfg.ownSocket))) return undefined;
    for (const h of cfg.hosts) if (!host && (await accepts(h, cfg.port))) host = h;
    if (!host && Date.now() - started >= wrongPortGraceMs) {
      // A server on another port would otherwise leave every call waiting out its timeout: say
      // where it listens, and fail the start (78, a setup error) so the caller hears it now.
      const others = listeningPorts().filter((p) => p !== cfg.port);
      if (others.length > 0 && !opts.stopped()) {
        log(`the server listens on port ${others.join(', ')}, not on PORT=${cfg.port}: listen on the port in the PORT environment variable (or set "port" in ferry.json)`);
        process.exit(78);
      }
    }
    // Fast at first (cold starts are measured in milliseconds), then gentler.
    if (!host) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Date.now() - started < 2000 ? 5 : 50);
        if (opts.unref) timer.unref();
      });
    }
  }
  const target = host;
  const server = net.createServer({ allowHalfOpen: true }, (client) => pipeToPort(client, target, cfg.port));
  return new Promise((resolve) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      // Someone else holds the path (the function listens on it itself): let it serve.
      log(err.code === 'EADDRINUSE' ? `${cfg.socketPath} is taken; not relaying` : `cannot listen on ${cfg.socketPath}: ${err.message}`);
      resolve(undefined);
    });
    // Bound under a private name and linked into place once it listens: the path appears only
    // when a connect succeeds (bind alone creates the file before listen), and link, unlike
    // rename, never replaces a socket the function made itself.
    const staging = `${cfg.socketPath}.${process.pid}.relay`;
    server.listen(staging, () => {
      try {
        linkSync(staging, cfg.socketPath);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        log(e.code === 'EEXIST' ? `${cfg.socketPath} is taken; not relaying` : `cannot listen on ${cfg.socketPath}: ${e.message}`);
        server.close();
        resolve(undefined);
        return;
      } finally {
        try {
          unlinkSync(staging);
        } catch {
          // already gone: nothing to tidy
        }
      }
      if (opts.unref) server.unref();
      resolve(server);
    });
  });
}

/** Supervisor mode: runs the command, relays for it, and exits with it. */
function supervise(argv: string[]): void {
  const cfg = readConfig(process.env);
  if (typeof cfg === 'string') {
    log(cfg);
    process.exit(78); // EX_CONFIG: a setup error, not the function's
  }
  let exiting = false;
  let server: net.Server | undefined;
  const exit = (code: number): void => {
    exiting = true;
    server?.close();
    process.exit(code);
  };
  // The handlers go in before the command starts: a stop that comes at once still ends with 128+n
  // (as pid 1 of a PID namespace, a signal with no handler would be ignored).
  let child: ReturnType<typeof spawn> | undefined;
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(sig, () => (child && child.exitCode === null && child.signalCode === null ? child.kill(sig) : exit(128 + constants.signals[sig])));
  }
  child = argv.length ? spawn(argv[0]!, argv.slice(1), { stdio: 'inherit' }) : undefined;
  if (child) {
    child.on('error', (err) => {
      log(`cannot start ${argv[0]}: ${err.message}`);
      exit(127);
    });
    child.on('exit', (code, signal) => exit(code ?? 128 + (signal ? constants.signals[signal] : 0)));
  }
  void relay(cfg, { stopped: () => exiting, unref: false }).then((s) => {
    server = s;
    if (!s && !child) exit(exiting ? 0 : 78);
  });
}

/** Whether this file is the program (`node relay.mjs`) rather than a preload (`--import`). */
function isMain(): boolean {
  try {
    return process.argv[1] !== undefined && pathToFileURL(realpathSync(process.argv[1])).href === import.meta.url;
  } catch {
    return false;
  }
}

if (isMain()) {
  const argv = process.argv.slice(2);
  supervise(argv[0] === '--' ? argv.slice(1) : argv);
} else {
  const cfg = readConfig(process.env);
  if (typeof cfg === 'string') log(`${cfg}; not relaying`);
  else relay(cfg, { stopped: () => false, unref: true }).catch((err: Error) => log(err.message));
  // The kernel gives a namespace's init no default action for these: without this, a stop would
  // wait out its grace period and end in SIGKILL.
  if (process.pid === 1) {
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
      process.on(sig, () => {
        if (process.listenerCount(sig) === 1) process.exit(128 + constants.signals[sig]);
      });
    }
  }
}
