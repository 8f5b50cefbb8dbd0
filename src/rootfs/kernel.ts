import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FerryError } from '../errors/index.js';
import { defaultKernelDir } from '../sandbox/microvm/guest-layout.js';

// Where `scripts/install-system-deps.sh` extracts Debian's kernel for the microvm tier (not
// installed: nothing goes to /boot): vmlinuz and the modules the guest loads. Declared with the
// guest's layout, which the driver (a lower layer) reads too.
export { defaultKernelDir };

/**
 * The modules the guest loads from its initramfs (with what they depend on): Debian's kernel has
 * all of them as modules. virtio-mmio is the bus of QEMU's microvm machine; virtio_console gives
 * the agent its port; virtio_blk and ext4 mount the root's disk image (ext4 wants the crc32c
 * algorithm at every mount, which insmod cannot load on demand: crc32c_generic first), 9p over
 * virtio the package, both read-only.
 */
export const guestModules = ['virtio_mmio', 'virtio_console', 'virtio_blk', 'crc32c_generic', 'ext4', '9pnet_virtio', '9p'];

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

/**
 * Finds the kernel in `dir` (`boot/vmlinuz-*`, `lib/modules/<version>/`) and the module files of
 * `wanted` with what they depend on (uncompressed .ko only: busybox's insmod loads no other);
 * throws (FerryError, with the fix) when it or a module is missing.
 */
export function findGuestKernel(dir: string = defaultKernelDir, wanted: readonly string[] = guestModules): GuestKernel {
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
  for (const m of wanted) visit(m, 'the microvm guest');
  return { vmlinuz: join(boot, vmlinuz), version, modules: order };
}

/** The xz stream's magic: where Debian's bzImage keeps the compressed kernel. */
const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
/** Xen's PHYS32_ENTRY ELF note type: the kernel can be entered directly (PVH), as QEMU does with an ELF `-kernel`. */
const PVH_NOTE = 18;

/** Whether `elf` (a 64-bit ELF) carries Xen's PVH entry note. */
function hasPvhEntry(elf: Buffer): boolean {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2) return false;
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  for (let i = 0; i < elf.readUInt16LE(0x38); i++) {
    const ph = phoff + i * phentsize;
    if (elf.readUInt32LE(ph) !== 4 /* PT_NOTE */) continue;
    const end = Number(elf.readBigUInt64LE(ph + 8)) + Number(elf.readBigUInt64LE(ph + 32));
    for (let at = Number(elf.readBigUInt64LE(ph + 8)); at + 12 <= end; ) {
      const namesz = elf.readUInt32LE(at);
      const descsz = elf.readUInt32LE(at + 4);
      if (elf.readUInt32LE(at + 8) === PVH_NOTE && elf.toString('latin1', at + 12, at + 15) === 'Xen') return true;
      at += 12 + Math.ceil(namesz / 4) * 4 + Math.ceil(descsz / 4) * 4;
    }
  }
  return false;
}

/**
 * The kernel as an uncompressed ELF QEMU enters directly (PVH), or undefined when `vmlinuz` is
 * not an xz bzImage of a PVH-capable kernel (or `xz` is missing): the guest then decompresses it
 * itself, which under emulation is the slowest part of a boot (about 10 s here).
 */
export function uncompressedKernel(vmlinuz: string): Buffer | undefined {
  const image = readFileSync(vmlinuz);
  const at = image.indexOf(XZ_MAGIC);
  if (at < 0) return undefined;
  // --single-stream: what follows the kernel's stream in the bzImage is not xz. xz stops reading
  // there, so writing the rest may fail (EPIPE): its exit status and output are what count.
  const xz = spawnSync('xz', ['-dc', '--single-stream'], { input: image.subarray(at), maxBuffer: 512 * 1024 * 1024, stdio: ['pipe', 'pipe', 'ignore'] });
  return xz.status === 0 && xz.stdout && hasPvhEntry(xz.stdout) ? xz.stdout : undefined;
}
