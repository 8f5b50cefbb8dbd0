/**
 * The node runtime's build step for TypeScript: each `.ts`/`.mts`/`.cts` file of the package is
 * transpiled (no type check here: type-check.ts reports type errors as warnings, since the
 * compile needs no types) to a `.js`/`.mjs`/`.cjs` beside it, so instances load plain JavaScript
 * and pay no compile at cold start.
 */
import { lstatSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { FerryError } from '../../errors/index.js';

/** The first few errors go into the build-failed message; the rest are counted. */
const MAX_REPORTED = 5;

/** The JavaScript file a TypeScript source compiles to (other paths are returned unchanged). */
export function compiledPath(path: string): string {
  if (/\.d\.[mc]?ts$/.test(path)) return path;
  return path.replace(/\.ts$/, '.js').replace(/\.mts$/, '.mjs').replace(/\.cts$/, '.cjs');
}

/** True for sources the build compiles: TypeScript, not declaration files. */
export function isTypeScript(name: string): boolean {
  return /\.[mc]?ts$/.test(name) && !/\.d\.[mc]?ts$/.test(name);
}

/** Every TypeScript source of the package, relative paths, skipping node_modules and links. */
export function findTypeScript(root: string, dir = root): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') found.push(...findTypeScript(root, path));
    } else if (entry.isFile() && isTypeScript(entry.name)) {
      found.push(relative(root, path));
    }
  }
  return found.sort();
}

/**
 * Compiles `files` (relative to `root`). `.ts` files follow the package's module format (`esm`
 * unless its package.json says otherwise), `.mts` are always ESM and `.cts` always CommonJS, as in
 * Node. Throws `build-failed` with tsc-style messages if any file has syntax errors; writes nothing
 * in that case.
 */
export async function compileTypeScript(root: string, files: string[], format: 'esm' | 'cjs', log: (line: string) => void): Promise<void> {
  // Loaded here, not at startup: typescript is large and only builds need it.
  const ts = (await import('typescript')).default;
  const errors: string[] = [];
  let first: { file: string; line?: number; column?: number } | undefined;
  const outputs: Array<{ file: string; out: string; text: string }> = [];
  for (const file of files) {
    const source = readFileSync(join(root, file), 'utf8');
    const result = ts.transpileModule(source, {
      fileName: file,
      reportDiagnostics: true,
      compilerOptions: {
        module: isCommonJs(file, format) ? ts.ModuleKind.CommonJS : ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        // `import './util.ts'` works under Node's own type stripping; keep it working compiled.
        rewriteRelativeImportExtensions: true,
        esModuleInterop: true,
        // Stack traces point at the .ts lines (the shim turns source maps on before it loads the handler).
        inlineSourceMap: true,
      },
    });
    for (const d of result.diagnostics ?? []) {
      if (d.category !== ts.DiagnosticCategory.Error) continue;
      const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
      if (d.file && d.start !== undefined) {
        const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
        errors.push(`${file}(${line + 1},${character + 1}): error TS${d.code}: ${message}`);
        first ??= { file, line: line + 1, column: character + 1 };
      } else {
        errors.push(`${file}: error TS${d.code}: ${message}`);
        first ??= { file };
      }
    }
    outputs.push({ file, out: compiledPath(file), text: result.outputText });
  }
  if (errors.length) {
    const more = errors.length > MAX_REPORTED ? `\n(and ${errors.length - MAX_REPORTED} more errors)` : '';
    throw new FerryError('build-failed', errors.slice(0, MAX_REPORTED).join('\n') + more, { extras: { errors: errors.length, ...first } });
  }
  for (const { file, out, text } of outputs) {
    const target = join(root, out);
    // Never write through a link the package may hold at the output path.
    if (isLink(target)) rmSync(target);
    writeFileSync(target, text);
    log(`node: compiled ${file} -> ${out}${isCommonJs(file, format) ? ' (CommonJS)' : ''}`);
  }
}

/** Node's rule: .cts is CommonJS, .mts is ESM, .ts follows the package. */
function isCommonJs(file: string, format: 'esm' | 'cjs'): boolean {
  return file.endsWith('.cts') || (file.endsWith('.ts') && format === 'cjs');
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}
