import { describeLocation, type EffectiveConfig, type Runtime } from '../core/index.js';
import { FerryError } from '../errors/index.js';
import type { VersionChecker } from '../scheduler/index.js';

/** What the check step of a deploy needs to know about the version. */
export interface VersionCheckInput {
  function: string;
  /** Its name, when the deployer gave one. */
  version: string | undefined;
  /** The built, not yet committed package tree on the host. */
  packageDir: string;
  config: EffectiveConfig;
  /** TypeScript type errors the build found. */
  warnings: readonly string[];
}

export interface VersionCheckPolicy {
  checker: VersionChecker | undefined;
  /** Type errors refuse the version (--strict-types) instead of being warnings. */
  strictTypes: boolean;
}

/**
 * The deploy-time check: the handler loaded once in a sandbox (see scheduler/version-check.ts),
 * and under --strict-types no type error. Throws `handler-check-failed` naming the file, line
 * and column it knows, so a broken version is refused before anything of it is stored.
 */
export async function checkVersion(policy: VersionCheckPolicy, runtime: Runtime, v: VersionCheckInput): Promise<void> {
  if (policy.strictTypes && v.warnings.length > 0) {
    const first = /^(.+?)\((\d+),(\d+)\): (.*)$/s.exec(v.warnings[0]!);
    const more = v.warnings.length > 1 ? ` (and ${v.warnings.length - 1} more)` : '';
    throw new FerryError('handler-check-failed', `type errors refuse the version (--strict-types): ${v.warnings[0]}${more}`, {
      extras: first ? { file: first[1]!, line: Number(first[2]), column: Number(first[3]), message: first[4]!, warnings: [...v.warnings] } : { message: v.warnings[0]!, warnings: [...v.warnings] },
    });
  }
  const report = await policy.checker?.check(runtime, { function: v.function, version: v.version ?? '', packageDir: v.packageDir, config: v.config });
  if (!report || report.ok) return;
  const where = describeLocation(report);
  const extras: Record<string, string | number> = { message: report.message };
  if (report.file) extras.file = report.file;
  if (report.line) extras.line = report.line;
  if (report.column) extras.column = report.column;
  throw new FerryError('handler-check-failed', `${where ? `${where}: ` : ''}${report.message}`, { extras });
}
