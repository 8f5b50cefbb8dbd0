/**
 * The node runtime's type check of a TypeScript package, at version creation. Its errors are
 * warnings of the deploy (or refusals under --strict-types), never a reason the build fails: the
 * compile (compile-ts.ts) does not need types.
 *
 * It runs in the server process on untrusted sources, so the compiler sees only the package's
 * own files and TypeScript's standard library: a package cannot have the server read (and quote
 * back in a diagnostic) any other file of the host. Not strict (the author's tsconfig is not
 * read), and modules it cannot see (Node's built-ins, dependencies without types) are `any`.
 */
import { realpathSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type * as TS from 'typescript';

/** The most type errors reported; the rest are counted. */
const MAX_WARNINGS = 20;

/** Diagnostics about what the check cannot see rather than what the code gets wrong. */
const UNSEEN = new Set([
  2307, // cannot find module (built-ins, dependencies without types)
  2792, // cannot find module, with a hint about the resolution mode
  7016, // no declaration file for a module
  2688, // cannot find a type definition file
]);

/** The globals of Node and of the web a handler uses, as `any`: their types are not bundled. */
const GLOBALS_FILE = '/ferry-globals.d.ts';
const GLOBALS = [
  'process', 'console', 'Buffer', 'require', 'module', 'exports', '__dirname', '__filename',
  'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'queueMicrotask',
  'structuredClone', 'fetch', 'crypto', 'performance', 'atob', 'btoa',
].map((n) => `declare var ${n}: any;`).concat(
  [
    'Request', 'Response', 'Headers', 'URL', 'URLSearchParams', 'TextEncoder', 'TextDecoder', 'AbortController',
    'AbortSignal', 'ReadableStream', 'WritableStream', 'TransformStream', 'Blob', 'FormData', 'WebSocket', 'Event', 'EventTarget',
  ].map((n) => `declare var ${n}: any; type ${n} = any;`),
).join('\n');

/** lib.*.d.ts parsed once per process: they are large and the same for every package. */
const libCache = new Map<string, TS.SourceFile>();

/** Type-checks the package's TypeScript `files` (relative to `root`); each error goes to `warn`. */
export async function typeCheck(root: string, files: string[], warn: (line: string) => void): Promise<void> {
  const ts = (await import('typescript')).default;
  const options: TS.CompilerOptions = {
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    allowImportingTsExtensions: true,
    esModuleInterop: true,
    skipLibCheck: true,
    types: [],
    lib: ['lib.es2022.d.ts'],
  };
  const libDir = dirname(ts.getDefaultLibFilePath(options));
  const top = resolve(root);
  const inside = (path: string): boolean => {
    if (path === GLOBALS_FILE) return true;
    const p = resolve(path);
    if (p.startsWith(libDir + sep)) return true;
    if (p !== top && !p.startsWith(top + sep)) return false;
    try {
      const real = realpathSync(p);
      return real === top || real.startsWith(top + sep);
    } catch {
      return true; // does not exist: nothing to read
    }
  };
  const host = ts.createCompilerHost(options);
  const { fileExists, readFile, directoryExists, getSourceFile } = host;
  host.fileExists = (f) => f === GLOBALS_FILE || (inside(f) && fileExists(f));
  host.readFile = (f) => (f === GLOBALS_FILE ? GLOBALS : inside(f) ? readFile(f) : undefined);
  host.directoryExists = (d) => inside(d) && (directoryExists?.(d) ?? true);
  host.getDirectories = () => [];
  host.realpath = (p) => p;
  host.getSourceFile = (f, lang, onError) => {
    if (f === GLOBALS_FILE) return ts.createSourceFile(f, GLOBALS, lang);
    if (!inside(f)) return undefined;
    const isLib = resolve(f).startsWith(libDir + sep);
    const cached = isLib ? libCache.get(f) : undefined;
    if (cached) return cached;
    const sf = getSourceFile(f, lang, onError);
    if (isLib && sf) libCache.set(f, sf);
    return sf;
  };
  const program = ts.createProgram([...files.map((f) => join(top, f)), GLOBALS_FILE], options, host);
  const errors: string[] = [];
  for (const d of ts.getPreEmitDiagnostics(program)) {
    if (d.category !== ts.DiagnosticCategory.Error || UNSEEN.has(d.code) || !d.file || d.start === undefined) continue;
    const file = relative(top, d.file.fileName);
    if (file.startsWith('..') || file.split(sep).includes('node_modules')) continue;
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
    errors.push(`${file}(${line + 1},${character + 1}): error TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
  }
  for (const e of errors.slice(0, MAX_WARNINGS)) warn(e);
  if (errors.length > MAX_WARNINGS) warn(`(and ${errors.length - MAX_WARNINGS} more type errors)`);
}
