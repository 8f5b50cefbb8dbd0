/**
 * Where a handler module failed to load: the file, line and column of the error, found in what
 * Node tells (the stack, the decorated first line of a syntax error, "imported from" of a missing
 * module). Runs inside the instance (the shim's check mode); imports only Node built-ins.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire, findSourceMap } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface LoadFailure {
  message: string;
  file?: string;
  line?: number;
  column?: number;
}

type Location = Pick<LoadFailure, 'file' | 'line' | 'column'>;

/**
 * Node keeps the location of a syntax error in an ESM module out of `err.stack` (it prints it only
 * for an uncaught error); its own decorator puts it back. Reachable only under --expose-internals,
 * which the check's launch plan sets; absent, syntax errors are reported without a line.
 */
const decorate = ((): ((err: unknown) => void) | undefined => {
  try {
    return (createRequire(import.meta.url)('internal/util') as { decorateErrorStack?: (err: unknown) => void }).decorateErrorStack;
  } catch {
    return undefined;
  }
})();

/** Describes a load failure of the handler `file` in the package at `root`. */
export function describeLoadFailure(err: unknown, handlerFile: string, root: string): LoadFailure {
  const cause = err instanceof Error && err.cause !== undefined ? err.cause : err;
  if (!(cause instanceof Error)) return { message: String(cause), file: handlerFile };
  try {
    decorate?.(cause);
  } catch {
    /* the location stays unknown */
  }
  // Ferry's own "no such export" needs no class name; what Node or the code threw does.
  const message = cause.name === 'HandlerLoadError' ? cause.message : `${cause.name}: ${cause.message}`;
  const where = missingModuleLocation(cause) ?? decoratedLocation(cause.stack ?? '') ?? stackLocation(cause.stack ?? '', root);
  const loc = where ? mapToSource(where) : { file: handlerFile };
  return { message, ...loc };
}

/** "Cannot find package 'x' imported from /pkg/h.js": the line of the import naming it. */
function missingModuleLocation(err: Error): Location | undefined {
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return undefined;
  const m = /Cannot find (?:package|module) '([^']+)' imported from (.+)$/m.exec(err.message);
  const requireStack = (err as { requireStack?: string[] }).requireStack;
  const importer = m?.[2] ?? requireStack?.[0];
  const missing = m?.[1] ?? /Cannot find module '([^']+)'/.exec(err.message)?.[1];
  if (!importer || !missing) return undefined;
  const file = importer.startsWith('file://') ? fileURLToPath(importer) : importer;
  const source = sourceOf(file);
  const lines = readLines(source);
  for (let i = 0; i < lines.length; i++) {
    for (const q of lines[i]!.matchAll(/(['"`])([^'"`\n]+)\1/g)) {
      const spec = q[2]!;
      if (spec === missing || (spec.startsWith('.') && sameModule(resolve(dirname(file), spec), missing))) {
        return { file: source, line: i + 1, column: q.index! + 1 };
      }
    }
  }
  return { file: source };
}

/** The first lines Node's decorator adds: `file:///pkg/h.js:3`, the code, a caret under the column. */
function decoratedLocation(stack: string): Location | undefined {
  const [first, , caret] = stack.split('\n');
  const m = /^(file:\/\/\S+|\/\S+):(\d+)$/.exec(first ?? '');
  if (!m) return undefined;
  const column = caret && /^\s*\^/.test(caret) ? caret.indexOf('^') + 1 : undefined;
  return { file: toPath(m[1]!), line: Number(m[2]), ...(column && { column }) };
}

/** The first stack frame in the package: where the code threw while it was imported. */
function stackLocation(stack: string, root: string): Location | undefined {
  for (const m of stack.matchAll(/(?:\(|at )((?:file:\/\/)?\/[^():\s]+):(\d+):(\d+)\)?$/gm)) {
    const file = toPath(m[1]!);
    if (file.startsWith(`${root}/`) && !file.includes('/node_modules/')) return { file, line: Number(m[2]), column: Number(m[3]) };
  }
  return undefined;
}

/** Compiled TypeScript: the position in the .ts source, through the inline source map. */
function mapToSource(loc: Location): Location {
  if (!loc.file || !loc.line) return loc;
  try {
    const entry = findSourceMap(loc.file)?.findEntry(loc.line - 1, (loc.column ?? 1) - 1) as { originalSource?: string; originalLine?: number; originalColumn?: number } | undefined;
    if (entry?.originalSource && entry.originalLine !== undefined) {
      const file = toPath(entry.originalSource);
      return { file: file.startsWith('/') ? file : resolve(dirname(loc.file), file), line: entry.originalLine + 1, column: (entry.originalColumn ?? 0) + 1 };
    }
  } catch {
    /* keep the compiled position */
  }
  return { ...loc, file: sourceOf(loc.file) };
}

/** The TypeScript file a compiled .js came from, when it is in the package. */
function sourceOf(file: string): string {
  const ts = file.replace(/\.js$/, '.ts').replace(/\.mjs$/, '.mts').replace(/\.cjs$/, '.cts');
  return ts !== file && existsSync(ts) ? ts : file;
}

function sameModule(resolved: string, missing: string): boolean {
  const m = toPath(missing);
  return m === resolved || m.replace(/\.[mc]?js$/, '') === resolved.replace(/\.[mc]?[jt]s$/, '');
}

function readLines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n');
  } catch {
    return [];
  }
}

function toPath(p: string): string {
  return p.startsWith('file://') ? fileURLToPath(p) : p;
}
