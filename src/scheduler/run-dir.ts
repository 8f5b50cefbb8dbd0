import { mkdir, rm } from 'node:fs/promises';
import type { SandboxDriver } from '../core/index.js';

/**
 * An instance's host run dir: made empty and readied by the driver (e.g. a size-capped file
 * system) before anything is put in it; deleted only after the driver let go of it, so a
 * recursive delete never runs into a mount.
 */
export async function makeRunDir(driver: SandboxDriver, runDir: string): Promise<void> {
  await mkdir(runDir, { recursive: true, mode: 0o700 });
  await driver.prepareRunDir?.(runDir);
}

/** Deletes a run dir nothing runs in any more (what the driver mounted there first). */
export async function removeRunDir(driver: SandboxDriver, runDir: string): Promise<void> {
  await driver.releaseRunDir?.(runDir);
  await rm(runDir, { recursive: true, force: true });
}
