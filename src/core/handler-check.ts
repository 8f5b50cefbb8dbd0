/**
 * The deploy-time check of a version: a runtime's check process (its shim in check mode) loads
 * the handler once in a sandbox and prints one report line on stdout, marked so that the
 * function's own output at import time is told apart. The report comes from code Ferry does not
 * trust: the server reads only a bounded tail of stdout and keeps only validated, capped fields.
 */

/** Starts the report line; the JSON object follows on the same line. */
export const CHECK_REPORT_MARK = '\u001eferry-check ';

/** The most of the check's stdout the server keeps (its tail, where the report is). */
export const CHECK_OUTPUT_MAX = 64 * 1024;

/** The longest message kept from a report. */
const MESSAGE_MAX = 2000;
const PATH_MAX = 512;

/** Where and why the handler could not be loaded. */
export interface CheckFailure {
  message: string;
  /** Relative to the package root, when the failure is in one of its files. */
  file?: string;
  line?: number;
  column?: number;
}

export type CheckReport = { ok: true } | ({ ok: false } & CheckFailure);

/**
 * The last report line in `stdout`, validated: unknown fields dropped, strings capped, numbers
 * positive integers, `file` a relative path without `..` (absolute paths under `packageDir`, as the
 * sandbox saw it, made relative; any other path dropped). Undefined when there is no valid report.
 */
export function parseCheckReport(stdout: string, packageDir: string): CheckReport | undefined {
  const at = stdout.lastIndexOf(CHECK_REPORT_MARK);
  if (at < 0) return undefined;
  const line = stdout.slice(at + CHECK_REPORT_MARK.length).split('\n', 1)[0]!;
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const r = raw as Record<string, unknown>;
  if (r.ok === true) return { ok: true };
  if (r.ok !== false || typeof r.message !== 'string') return undefined;
  const report: CheckReport = { ok: false, message: cleanCheckText(r.message) };
  const file = typeof r.file === 'string' ? packageRelative(r.file, packageDir) : undefined;
  if (file) report.file = file;
  if (isPosition(r.line)) report.line = r.line;
  if (isPosition(r.column)) report.column = r.column;
  return report;
}

/** `file:line:column`, as far as known. */
export function describeLocation(f: CheckFailure): string {
  if (!f.file) return '';
  return f.file + (f.line ? `:${f.line}${f.column ? `:${f.column}` : ''}` : '');
}

function isPosition(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n > 0 && n < 10_000_000;
}

/** Control characters (but newlines and tabs) out, capped: for any text of the check shown to the deployer. */
export function cleanCheckText(s: string, max = MESSAGE_MAX): string {
  // eslint-disable-next-line no-control-regex
  const text = s.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '');
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function packageRelative(path: string, packageDir: string): string | undefined {
  let p = path.startsWith('file://') ? decodeURIComponent(path.slice('file://'.length)) : path;
  const root = packageDir.endsWith('/') ? packageDir : `${packageDir}/`;
  if (p.startsWith(root)) p = p.slice(root.length);
  else if (p.startsWith('/')) return undefined;
  if (!p || p.length > PATH_MAX || p.split('/').includes('..') || /[\u0000-\u001f]/.test(p)) return undefined;
  return p;
}
