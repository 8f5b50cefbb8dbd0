import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FerryError } from '../errors/index.js';

/**
 * Where `scripts/install-system-deps.sh` extracts Debian's kernel for the microvm tier (not
 * installed: nothing goes to /boot): vmlinuz and the modules the guest loads.
 */
export const defaultKernelDir = '/var/cache/ferry/microvm-kernel';

/**
 * The modules the guest loads from its initramfs (with what they depend on): Debian's kernel has
 * all of them as modules. virtio-mmio is the bus of QEMU's microvm machine; virtio_console gives
 * the agent its port; 9p over virtio mounts the root and the package, both read-only.
 */
export const guestModules = ['virtio_mmio', 'virtio_console', '9pnet_virtio', '9p'];

/** A kernel found in a kernel dir, and its modules in load order. */
export interface GuestKernel {
  vmlinuz: string;
  version: string;
  /** Module files, dependencies first. */
  modules: string[];
}

const fix = 'run `sudo bash scripts/install-system-deps.sh`, which extracts Debian\'s kernel there';

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

/** A module's name as the kernel knows it (dashes are underscores). */
export const moduleName = (file: string): string => file.replace(/^.*\//, '').replace(/\.ko(\.[a-z]+)?$/, '').replace(/-/g, '_');

/** The `depends=` of a module file's .modinfo (uncompressed .ko). */
function moduleDepends(file: string): string[] {
  const m = /(?:^|\0)depends=([^\0]*)/.exec(readFileSync(file).toString('latin1'));
  return (m?.[1] ?? '').split(',').filter(Boolean).map((d) => d.replace(/-/g, '_'));
}

/** Finds the kernel in `dir`; throws (FerryError, with the fix) when it or a module is missing. */
export function findGuestKernel(dir: string = defaultKernelDir): GuestKernel {
  const boot = join(dir, 'boot');
  const vmlinuz = existsSync(boot) ? readdirSync(boot).filter((f) => f.startsWith('vmlinuz-')).sort().pop() : undefined;
  if (!vmlinuz) throw new FerryError('internal', `no kernel in ${boot}: ${fix}`);
  const version = vmlinuz.slice('vmlinuz-'.length);
  const modulesDir = join(dir, 'lib', 'modules', version);
  const files = new Map<string, string>();
  for (const f of existsSync(modulesDir) ? walk(modulesDir) : []) if (f.endsWith('.ko')) files.set(moduleName(f), f);
  const builtinFile = join(modulesDir, 'modules.builtin');
  const builtin = new Set(existsSync(builtinFile) ? readFileSync(builtinFile, 'utf8').split('\n').filter(Boolean).map(moduleName) : []);
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (name: string, from: string): void => {
    if (seen.has(name)) return;
    seen.add(name);
    if (builtin.has(name)) return;
    const file = files.get(name);
    if (!file) throw new FerryError('internal', `kernel module ${name} (needed by ${from}) is neither built into ${vmlinuz} nor in ${modulesDir} as an uncompressed .ko: ${fix}`);
    for (const d of moduleDepends(file)) visit(d, name);
    order.push(file);
  };
  for (const m of guestModules) visit(m, 'the microvm guest');
  return { vmlinuz: join(boot, vmlinuz), version, modules: order };
}
