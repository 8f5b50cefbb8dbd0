/**
 * The microvm tier's test root: built once per checkout (`ferry rootfs build`, host mode) into
 * FERRY_TEST_MICROVM_ROOT and rebuilt when its agent is not this build's or an older builder
 * made it; shared by every test file that boots microvm guests.
 */
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { findQemu } from '../../src/sandbox/microvm/qemu.js';
import { readRootfs, staleFerryFiles } from '../../src/sandbox/microvm/index.js';
import { buildRootfs, defaultKernelDir, findGuestKernel } from '../../src/rootfs/index.js';

export const microvmRootDir = process.env['FERRY_TEST_MICROVM_ROOT'] || '/tmp/ferry-test-microvm-root';

/** Why the tier cannot run here (undefined: it can). Under CI=true a test file fails instead of skipping. */
export function microvmMissing(): string | undefined {
  if (!findQemu()) return 'qemu-system-x86_64 is not installed (scripts/install-system-deps.sh)';
  if (process.getuid?.() !== 0) return 'the microvm driver runs as root (it puts QEMU in host cgroups and drops it to the sandbox uid)';
  try {
    findGuestKernel();
  } catch (err) {
    return (err as Error).message;
  }
  return existsSync(defaultKernelDir) ? undefined : `no kernel in ${defaultKernelDir}`;
}

const fresh = (): boolean => readRootfs(microvmRootDir) !== undefined && staleFerryFiles(microvmRootDir) === undefined;

/**
 * The test root's directory, built first when there is none of this build. Test files run side
 * by side: one builds under a lock directory while the others wait for it, so no root is
 * swapped away under a VM another file booted from it.
 */
export async function ensureMicrovmRoot(): Promise<string> {
  if (fresh()) return microvmRootDir;
  const lock = `${microvmRootDir}.lock`;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock left by a killed run is taken over once it is older than any build.
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 15 * 60_000) rmSync(lock, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    if (!fresh()) await buildRootfs({ outDir: microvmRootDir });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  return microvmRootDir;
}
