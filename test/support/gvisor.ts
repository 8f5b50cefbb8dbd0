import { spawnSync } from 'node:child_process';
import { sandboxSupport } from './sandbox.js';

/**
 * Whether the gvisor sandbox can run here: root, runsc installed, and what the bwrap sandbox
 * needs (cgroups, the helper). Outside CI a missing piece skips with the reason; in CI
 * (`CI=true`) or with FERRY_SANDBOX_MUST_WORK=1 it fails loudly.
 */
export async function gvisorSupport(): Promise<{ ok: true } | { ok: false; why: string }> {
  const why = process.getuid?.() !== 0 ? 'Ferry does not run as root' : spawnSync('runsc', ['--version']).status !== 0 ? 'runsc is not installed (scripts/install-system-deps.sh)' : undefined;
  if (why === undefined) return sandboxSupport();
  if (process.env.CI === 'true' || process.env.FERRY_SANDBOX_MUST_WORK === '1') throw new Error(`the gvisor sandbox must work here (CI or FERRY_SANDBOX_MUST_WORK=1) but: ${why}`);
  return { ok: false, why };
}
