/**
 * The check mode's one line of output (runs inside the instance; imports only Node built-ins).
 * The mark must equal CHECK_REPORT_MARK in core/handler-check.ts, which parses it on the host.
 */
import { writeSync } from 'node:fs';

export const CHECK_REPORT_MARK = '\u001eferry-check ';

export type CheckResult = { ok: true } | { ok: false; message: string; file?: string; line?: number; column?: number };

/** Writes the report on its own line of stdout (synchronously: the process exits right after). */
export function writeCheckReport(result: CheckResult): void {
  writeSync(1, `\n${CHECK_REPORT_MARK}${JSON.stringify(result)}\n`);
}
