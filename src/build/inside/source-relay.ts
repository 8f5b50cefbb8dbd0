/**
 * Runs INSIDE a build sandbox whose sources are relayed (`--build-allow-private-sources`): listens
 * on each source's inside address (loopback of the build's own network namespace) and pipes every
 * connection to the Unix socket the server serves for that source in the work dir, then runs the
 * build's command and exits with its status. The server connects each socket to its one source,
 * so a connection here reaches that host:port and nothing else.
 *
 *   node source-relay.js '<json: [{hosts, port, socket}]>' -- <command> [args...]
 *
 * Node built-ins only, no Ferry imports beside its folder's own: that folder is bound into the
 * sandbox alone (ES modules with no package.json around them; Node ≥ 20.19 detects the syntax).
 */
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import { constants } from 'node:os';
import { pipeSockets } from './pipe-sockets.js';

interface Listen {
  hosts: string[];
  port: number;
  socket: string;
}

const fail = (message: string): never => {
  process.stderr.write(`ferry source relay: ${message}\n`);
  process.exit(78); // EX_CONFIG: a setup error, not the build's
};

/** Listens on `host:port`; a second address (`::1` of `localhost`) may be missing. */
function listen(l: Listen, host: string, optional: boolean): Promise<void> {
  return new Promise((resolve) => {
    const server = net.createServer({ allowHalfOpen: true }, (client) => pipeSockets(client, net.connect({ path: l.socket, allowHalfOpen: true })));
    server.once('error', (err) => (optional ? resolve() : fail(`cannot listen on ${host}:${l.port}: ${err.message}`)));
    server.listen({ host, port: l.port }, () => {
      server.unref();
      resolve();
    });
  });
}

async function main(): Promise<void> {
  const [spec, sep, ...argv] = process.argv.slice(2);
  if (spec === undefined || sep !== '--' || argv.length === 0) fail('usage: source-relay.js <json> -- <command> [args...]');
  const listens = JSON.parse(spec!) as Listen[];
  for (const l of listens) for (const [i, host] of l.hosts.entries()) await listen(l, host, i > 0);
  const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit' });
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => child.kill(sig));
  child.on('error', (err) => fail(`cannot start ${argv[0]}: ${err.message}`));
  child.on('exit', (code, signal) => process.exit(code ?? 128 + (signal ? constants.signals[signal] : 0)));
}

void main();
