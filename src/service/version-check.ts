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
  /** The version's build log. */
  log(line: string): void;
  /** The deployer asked for no check (`?check=false`). */
  skip: boolean;
}

export interface VersionCheckPolicy {
  checker: VersionChecker | undefined;
  /** Type errors refuse the version (--strict-types) instead of being warnings. */
  strictTypes: boolean;
}

/**
 * The deploy-time check, after the build: the runtime's type check (its errors are warnings,
 * answered, or refusals under --strict-types), then the handler loaded once in a sandbox (see
 * scheduler/version-check.ts). Throws `handler-check-failed` naming the file, line and column it
 * knows, so a broken version is refused before anything of it is stored. Answers the warnings.
 */
export async function checkVersion(policy: VersionCheckPolicy | undefined, runtime: Runtime, v: VersionCheckInput): Promise<string[]> {
  if (!policy) return [];
  if (v.skip) {
    v.log('check: skipped (check=false)');
    return [];
  }
  const warnings: string[] = [];
  await runtime.checkTypes?.(v.packageDir, (line) => {
    warnings.push(line);
    v.log(`warning: ${line}`);
  });
  if (policy.strictTypes && warnings.length > 0) throw typeErrors(warnings);
  const report = await policy.checker?.check(runtime, { function: v.function, version: v.version ?? '', packageDir: v.packageDir, config: v.config, log: v.log });
  if (!report || report.ok) return warnings;
  const where = describeLocation(report);
  const extras: Record<string, string | number> = { message: report.message };
  if (report.file) extras.file = report.file;
  if (report.line) extras.line = report.line;
  if (report.column) extras.column = report.column;
  throw new FerryError('handler-check-failed', `${where ? `${where}: ` : ''}${report.message}`, { extras });
}

/** --strict-types: the first error's place in the members, every error in `warnings`. */
function typeErrors(warnings: string[]): FerryError {
  const first = /^(.+?)\((\d+),(\d+)\): (.*)$/s.exec(warnings[0]!);
  const more = warnings.length > 1 ? ` (and ${warnings.length - 1} more)` : '';
  const where = first ? { file: first[1]!, line: Number(first[2]), column: Number(first[3]), message: first[4]! } : { message: warnings[0]! };
  return new FerryError('handler-check-failed', `type errors refuse the version (--strict-types): ${warnings[0]}${more}`, { extras: { ...where, warnings } });
}
