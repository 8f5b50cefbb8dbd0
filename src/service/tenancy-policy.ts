import type { EffectiveConfig } from '../core/index.js';
import { FerryError } from '../errors/index.js';
import { isAdmin, memberOf, type Principal } from '../auth/index.js';
import type { Catalog } from './catalog.js';

/** Per-group quotas, and caps on one version; 0 means no limit. */
export interface Quotas {
  functions: number;
  memoryMb: number;
  minInstances: number;
  /** Largest `limits.memoryMb` of one version. */
  versionMemoryMb: number;
  /** Largest `scaling.maxInstances` of one version. */
  versionMaxInstances: number;
}

/** The setting that raises each limit, named in the answer so the reader knows whom to ask. */
const settingOf = {
  functions: '--quota-functions',
  memoryMb: '--quota-memory-mb',
  minInstances: '--quota-min-instances',
  versionMemoryMb: '--quota-version-memory-mb',
  versionMaxInstances: '--quota-version-max-instances',
} as const;

/** What a function's versions reserve against its group's quota. */
interface Reserved {
  functions: number;
  memoryMb: number;
  minInstances: number;
}

/**
 * Where an absolute `command` of a non-admin may point: the system's programs, which every
 * sandbox sees anyway (sandbox/bwrap/system-binds.ts). Nothing of the host is bound for an
 * absolute command (runtime/command.ts); anything else would need roBinds.
 */
const systemPrograms = ['/usr/', '/bin/', '/sbin/'];

/** The sandbox keys a manifest or PATCH body sets itself that only admins may ask for. */
export interface SandboxAsked {
  mountDev?: boolean | undefined;
  hostLibraries?: boolean | undefined;
  packageAlias?: string | undefined;
}

const ownerGroup = /^(singular:[A-Za-z0-9][A-Za-z0-9-]{0,62}|custom:[a-z0-9][a-z0-9-]{0,62})$/;

/**
 * The tenancy rules on functions that the permission table cannot express: which group owns a
 * new function, which sandbox settings only admins may use, and per-group quotas. Admins (and
 * root) are exempt from quotas.
 */
export class TenancyPolicy {
  constructor(
    private readonly catalog: Catalog,
    private readonly quotas: Quotas,
    private readonly adminTier: (settings: EffectiveConfig['sandbox']) => string | undefined = () => undefined,
  ) {}

  /** The owning group of a new function: `group` if the actor is in it, else `singular:<actor>`. */
  ownerFor(actor: Principal, group: string | undefined): string {
    if (group === undefined) return `singular:${actor.subject}`;
    if (!ownerGroup.test(group)) throw new FerryError('invalid-query', `group: '${group.slice(0, 80)}' is not singular:<user> or custom:<name>`);
    if (!memberOf(actor, group)) throw new FerryError('forbidden', `you are not in group '${group}'`);
    return group;
  }

  /**
   * `roBinds` (host files) and `network: "host"` (the host's network and its services) reach
   * past the sandbox: only admins may ask for them, and for an absolute `command` outside the
   * system's program directories. So may only admins ask for `mountDev`
   * explicitly (`asked`: the keys the manifest or PATCH body sets), as YFASS users know it; in
   * Ferry every function gets bwrap's minimal /dev by default, and `false` narrows. The same for
   * `hostLibraries: true` (the host's installed libraries) and `packageAlias` (a second mount
   * point): a compat surface sets them for its own versions, and then does not ask.
   */
  checkSandbox(actor: Principal, config: EffectiveConfig, asked: SandboxAsked = {}): void {
    if (isAdmin(actor)) return;
    if (asked.mountDev === true) throw new FerryError('forbidden', 'mountDev: true needs permission:admin (every function gets a minimal /dev by default; leave the key out)');
    if (asked.hostLibraries === true) throw new FerryError('forbidden', "hostLibraries: true (the host's installed language libraries) needs permission:admin; ship the libraries in the package");
    if (asked.packageAlias !== undefined) throw new FerryError('forbidden', 'packageAlias (a second mount point of the package) needs permission:admin');
    if (Object.keys(config.sandbox.roBinds).length > 0) throw new FerryError('forbidden', 'roBinds (read-only host paths) need permission:admin');
    if (config.sandbox.network === 'host') throw new FerryError('forbidden', 'network "host" needs permission:admin');
    const tier = this.adminTier(config.sandbox);
    if (tier) throw new FerryError('forbidden', `sandbox tier '${tier}' needs permission:admin on this server (--admin-tiers)`);
    // An image version's command is a path of the image (its root), never of the host.
    const program = config.image ? undefined : config.command?.[0];
    if (program?.startsWith('/') && !systemPrograms.some((dir) => program.startsWith(dir))) {
      throw new FerryError('forbidden', `command '${program.slice(0, 200)}': an absolute program outside /usr, /bin and /sbin is a host path, which (as roBinds) needs permission:admin; name a program of the package relative ('./run.sh')`);
    }
  }

  /**
   * Throws `quota-exceeded` if the group would hold more than its quota once `config` is added
   * for `fn`@`version` (replacing that version's current reservation, if any).
   */
  checkQuota(actor: Principal, owner: string, fn: string, version: string | undefined, config: EffectiveConfig): void {
    if (isAdmin(actor)) return;
    const q = this.quotas;
    if (q.versionMemoryMb && config.limits.memoryMb > q.versionMemoryMb) {
      throw quotaExceeded(owner, 'versionMemoryMb', `limits.memoryMb ${config.limits.memoryMb} is over the largest one version may have, ${q.versionMemoryMb}`, q.versionMemoryMb, config.limits.memoryMb);
    }
    if (q.versionMaxInstances && config.scaling.maxInstances > q.versionMaxInstances) {
      throw quotaExceeded(owner, 'versionMaxInstances', `scaling.maxInstances ${config.scaling.maxInstances} is over the largest one version may have, ${q.versionMaxInstances}`, q.versionMaxInstances, config.scaling.maxInstances);
    }
    if (!q.functions && !q.memoryMb && !q.minInstances) return;
    const used = this.reserved(owner, fn, version);
    const newFunction = !this.catalog.has(fn);
    this.compare(
      owner,
      used.functions + (newFunction ? 1 : 0),
      used.memoryMb + config.scaling.maxInstances * config.limits.memoryMb,
      used.minInstances + config.scaling.minInstances,
      newFunction,
    );
  }

  private compare(owner: string, functions: number, memoryMb: number, minInstances: number, newFunction: boolean): void {
    const q = this.quotas;
    const over = (what: 'functions' | 'memoryMb' | 'minInstances', shown: string, n: number, max: number): never => {
      throw quotaExceeded(owner, what, `group '${owner}' would have ${shown} ${n}; its quota is ${max}`, max, n);
    };
    if (q.functions && newFunction && functions > q.functions) over('functions', 'functions', functions, q.functions);
    // Every version can be called by its number, so each one's reservation counts until it is deleted.
    if (q.memoryMb && memoryMb > q.memoryMb) over('memoryMb', 'memoryMb (maxInstances x memoryMb, all versions; delete versions no longer used, or lower their scaling.maxInstances)', memoryMb, q.memoryMb);
    if (q.minInstances && minInstances > q.minInstances) over('minInstances', 'minInstances (all versions)', minInstances, q.minInstances);
  }

  /** Throws `quota-exceeded` if moving function `fn` with all its versions into `owner` would pass the quota. */
  checkMove(actor: Principal, owner: string, fn: string): void {
    if (isAdmin(actor)) return;
    const used = this.reserved(owner, fn, undefined);
    const mine = this.reserved(this.catalog.owner(fn) ?? '', '', undefined, fn);
    this.compare(owner, used.functions + 1, used.memoryMb + mine.memoryMb, used.minInstances + mine.minInstances, true);
  }

  /** What the group's functions reserve now, leaving out `fn`@`version`. */
  private reserved(owner: string, fn: string, version: string | undefined, only?: string): Reserved {
    const r: Reserved = { functions: 0, memoryMb: 0, minInstances: 0 };
    for (const name of only !== undefined ? [only] : this.catalog.functionsOwnedBy(owner)) {
      r.functions++;
      for (const t of this.catalog.versionsOf(name)) {
        if (name === fn && t.version === version) continue;
        r.memoryMb += t.config.scaling.maxInstances * t.config.limits.memoryMb;
        r.minInstances += t.config.scaling.minInstances;
      }
    }
    return r;
  }
}

/** `403 quota-exceeded`, naming the limit and the setting an operator raises it with. */
function quotaExceeded(owner: string, quota: keyof typeof settingOf, what: string, limit: number, wanted: number): FerryError {
  const setting = settingOf[quota];
  return new FerryError('quota-exceeded', `${what} (${setting}; an operator can raise it, admins are exempt)`, { extras: { group: owner, quota, setting, limit, wanted } });
}
