import { isIP } from 'node:net';
import { FerryError } from '../../errors/index.js';
import type { Manifest } from '../../core/index.js';

/** A YFASS service config, as `/api/override` takes it and `/api/get` gives it back. */
export interface ServiceConfig {
  group?: string;
  addr: string;
  sandbox: {
    command: string;
    args?: string[];
    ro_entries?: Record<string, string>;
    envs?: Record<string, string>;
    inherit_stdout?: boolean;
    syscall_filter_mode?: 'Allow' | 'Deny';
    syscall_filter?: string[];
    mount_procfs?: boolean;
    mount_devtmpfs?: boolean;
    mount_tmpfs?: boolean;
  };
}

const topKeys = ['group', 'addr', 'sandbox'];
const sandboxKeys = ['command', 'args', 'ro_entries', 'envs', 'inherit_stdout', 'syscall_filter_mode', 'syscall_filter', 'mount_procfs', 'mount_devtmpfs', 'mount_tmpfs'];

/** Checks a service config's shape (every key YFASS knows, nothing else). Throws `invalid-body`. */
export function parseServiceConfig(body: unknown): ServiceConfig {
  const b = object(body, 'the service config');
  unknownKeys(b, topKeys, '');
  if (b.group !== undefined && (typeof b.group !== 'string' || !/^[a-z]+:[A-Za-z0-9_.-]{1,64}$/.test(b.group))) throw bad('group must be a group name such as "permission:admin" or "custom:team"');
  parseAddr(b.addr);
  const s = object(b.sandbox, 'sandbox');
  unknownKeys(s, sandboxKeys, 'sandbox.');
  if (typeof s.command !== 'string' || !s.command.startsWith('./') || s.command.length < 3) throw bad('sandbox.command must be a path relative to the contents, starting with ./');
  if (s.args !== undefined && !stringList(s.args)) throw bad('sandbox.args must be a list of strings');
  if (s.ro_entries !== undefined && !stringMap(s.ro_entries)) throw bad('sandbox.ro_entries must map host paths to sandbox paths');
  if (s.envs !== undefined && !stringMap(s.envs)) throw bad('sandbox.envs must map names to strings');
  for (const k of ['inherit_stdout', 'mount_procfs', 'mount_devtmpfs', 'mount_tmpfs']) {
    if (s[k] !== undefined && typeof s[k] !== 'boolean') throw bad(`sandbox.${k} must be true or false`);
  }
  if (s.syscall_filter_mode !== undefined && s.syscall_filter_mode !== 'Allow' && s.syscall_filter_mode !== 'Deny') throw bad('sandbox.syscall_filter_mode must be "Allow" or "Deny"');
  if (s.syscall_filter !== undefined && !stringList(s.syscall_filter)) throw bad('sandbox.syscall_filter must be a list of system call names');
  if (s.syscall_filter !== undefined && s.syscall_filter_mode === undefined) throw bad('sandbox.syscall_filter needs sandbox.syscall_filter_mode');
  return b as unknown as ServiceConfig;
}

/** The contents' path in YFASS's sandbox: the package is mounted there too. */
export const yfassContentsDir = '/.__private_yfass_contents';

/**
 * The Ferry manifest of a configured version: an `http` function whose server `command` starts,
 * listening on the port of `addr` in its own network namespace (Ferry's relay forwards to it).
 * The sandbox keys map onto Ferry's own (`roBinds`, `seccomp`, `mountProc`, `mountDev`,
 * `mountTmp`), so Ferry's rights rules apply to them as they do natively.
 */
export function toManifest(c: ServiceConfig, yfassVersion: string): Manifest {
  const { port } = parseAddr(c.addr);
  const s = c.sandbox;
  const m: Manifest = {
    runtime: 'http',
    command: [s.command, ...(s.args ?? [])],
    port,
    env: s.envs ?? {},
    network: 'egress',
    // A YFASS service runs from deploy to kill: one instance, never idled out, never started by a request.
    scaling: { maxInstances: 1, idleTimeoutMs: 86_400_000, onDemand: false },
    // Where YFASS binds the contents; services may name it by its absolute path.
    packageAlias: yfassContentsDir,
    labels: { 'yfass.version': yfassVersion },
  };
  if (s.ro_entries && Object.keys(s.ro_entries).length) m.roBinds = s.ro_entries;
  if (s.syscall_filter_mode) m.seccomp = { mode: s.syscall_filter_mode === 'Deny' ? 'deny' : 'allow', syscalls: s.syscall_filter ?? [] };
  if (s.mount_procfs !== undefined) m.mountProc = s.mount_procfs;
  if (s.mount_devtmpfs !== undefined) m.mountDev = s.mount_devtmpfs;
  if (s.mount_tmpfs !== undefined) m.mountTmp = s.mount_tmpfs;
  return m;
}

/** `addr`: an IP address and a port; the service listens there inside its own namespace. */
function parseAddr(addr: unknown): { host: string; port: number } {
  if (typeof addr !== 'string') throw bad('addr must be "host:port", e.g. "127.0.0.1:25565"');
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):([0-9]{1,5})$/.exec(addr);
  const host = m?.[1] ?? m?.[2] ?? '';
  const port = Number(m?.[3]);
  if (!m || !isIP(host) || port < 1 || port > 65_535) throw bad(`addr '${addr.slice(0, 80)}' must be an IP address and a port, e.g. "127.0.0.1:25565"`);
  return { host, port };
}

function object(v: unknown, what: string): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw bad(`${what} must be a JSON object`);
  return v as Record<string, unknown>;
}

function unknownKeys(o: Record<string, unknown>, known: string[], prefix: string): void {
  for (const k of Object.keys(o)) if (!known.includes(k)) throw bad(`unknown key '${prefix}${k}'`);
}

function stringList(v: unknown): boolean {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

function stringMap(v: unknown): boolean {
  return !!v && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
}

function bad(message: string): FerryError {
  return new FerryError('invalid-body', message);
}
