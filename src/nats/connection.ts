/**
 * One NATS connection per process and server set, shared by everything that runs on JetStream
 * (the store, the queues, the blob store): `openNats` hands out a lease on it and the last
 * `close` of a lease closes the connection. The client packages load only here, on first use, so
 * a server on the embedded store never loads them.
 */
import { readFile } from 'node:fs/promises';
import type { NatsConnection } from '@nats-io/transport-node';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { Kvm } from '@nats-io/kv';
import type { Objm } from '@nats-io/obj';
import { followStatus } from './connection-status.js';

/** How to reach and log in to a NATS server set. Secrets come from files or the environment, never a URL. */
export interface NatsConnectOptions {
  /** Server URLs, `nats://host:port` (or `tls://`); a client fails over among them. */
  servers: string[];
  user?: string;
  /** Password for `user`. */
  pass?: string;
  /** A bearer token the server knows (`authorization { token }`). */
  token?: string;
  /** A `.creds` file (JWT plus NKey seed) from `nsc`. */
  credsFile?: string;
  /** A file holding an NKey seed (`SU...`). */
  nkeySeedFile?: string;
  /** TLS: a CA bundle to trust, and a client certificate and key when the server asks for one. */
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  /** Shown in the server's connection list (`nats server report connections`). */
  name?: string;
}

/** A lease on the shared connection, with the JetStream handles built on it. */
export interface NatsHandle {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly kvm: Kvm;
  readonly objm: Objm;
  /** Gives the lease back; the connection closes (drained) when no lease is left. */
  close(): Promise<void>;
}

interface Shared {
  handles: Promise<Omit<NatsHandle, 'close'>>;
  leases: number;
}

const shared = new Map<string, Shared>();

/**
 * Whether a `--store` value names a NATS server set (`nats://`, `tls://`, or several of them
 * separated by commas) rather than an embedded store kind.
 */
export function isNatsUrl(value: string): boolean {
  return /^(nats|tls):\/\//i.test(value.trim());
}

/**
 * The server URLs of a `--store` value. A user name may be in the URL (`nats://ferry@host:4222`);
 * a password or token may not (a command line is visible to every local user): those come from
 * the options' files or the environment.
 */
export function parseNatsServers(value: string): { servers: string[]; user?: string } {
  let user: string | undefined;
  const servers = value.split(',').map((part) => part.trim()).filter(Boolean).map((part) => {
    let url: URL;
    try {
      url = new URL(part);
    } catch {
      throw new Error(`'${part}' is not a NATS server URL (nats://host:port)`);
    }
    if (url.protocol !== 'nats:' && url.protocol !== 'tls:') throw new Error(`'${part}' is not a NATS server URL (nats://host:port)`);
    if (url.password) throw new Error('a NATS password does not go in the URL (a command line is visible to every local user): use FERRY_NATS_PASSWORD');
    if (url.username) user = decodeURIComponent(url.username);
    if (url.pathname && url.pathname !== '/') throw new Error(`'${part}': a NATS server URL has no path`);
    return `${url.protocol}//${url.host}`;
  });
  if (servers.length === 0) throw new Error('no NATS server URL given');
  return user === undefined ? { servers } : { servers, user };
}

/** A lease on the connection for `opts`, opened on first use and shared by every later lease. */
export async function openNats(opts: NatsConnectOptions): Promise<NatsHandle> {
  const key = JSON.stringify(opts);
  let entry = shared.get(key);
  if (!entry) {
    entry = { handles: connectHandles(opts), leases: 0 };
    shared.set(key, entry);
    entry.handles.catch(() => shared.delete(key));
  }
  entry.leases += 1;
  let handles: Omit<NatsHandle, 'close'>;
  try {
    handles = await entry.handles;
  } catch (err) {
    entry.leases -= 1;
    throw err;
  }
  const lease = entry;
  let closed = false;
  return {
    ...handles,
    close: async () => {
      if (closed) return;
      closed = true;
      lease.leases -= 1;
      if (lease.leases > 0) return;
      shared.delete(key);
      await handles.nc.drain().catch(() => handles.nc.close());
    },
  };
}

async function connectHandles(opts: NatsConnectOptions): Promise<Omit<NatsHandle, 'close'>> {
  const [{ connect, credsAuthenticator, nkeyAuthenticator }, { jetstream, jetstreamManager }, { Kvm }, { Objm }] = await Promise.all([
    import('@nats-io/transport-node'),
    import('@nats-io/jetstream'),
    import('@nats-io/kv'),
    import('@nats-io/obj'),
  ]);
  const authenticator = opts.credsFile
    ? credsAuthenticator(await readFile(opts.credsFile))
    : opts.nkeySeedFile
      ? nkeyAuthenticator(new TextEncoder().encode((await readFile(opts.nkeySeedFile, 'utf8')).trim()))
      : undefined;
  const nc = await connect({
    servers: opts.servers,
    name: opts.name ?? 'ferry',
    ...(opts.user !== undefined ? { user: opts.user } : {}),
    ...(opts.pass !== undefined ? { pass: opts.pass } : {}),
    ...(opts.token !== undefined ? { token: opts.token } : {}),
    ...(authenticator ? { authenticator } : {}),
    ...(opts.tls ? { tls: { ...opts.tls } } : {}),
    // Keep trying across a NATS restart: callers see errors while it is away, not a dead client.
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
  });
  followStatus(nc);
  const jsm = await jetstreamManager(nc);
  return { nc, js: jetstream(nc), jsm, kvm: new Kvm(nc), objm: new Objm(nc) };
}
