import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Manifest } from '../../core/index.js';
import { FerryError } from '../../errors/index.js';
import { isFile } from '../../packages/index.js';
import { parseRunJson } from './run-json.js';

/** Labels of a version deployed from the watched folder. */
export const labels = {
  /** Marks the function as this surface's, holding its folder name. */
  folder: 'shortedfaas.folder',
  /** The folder's fingerprint when deployed: an unchanged folder is not deployed again at start. */
  digest: 'shortedfaas.digest',
  /** `accepts` of run.json, comma-separated. */
  accepts: 'shortedfaas.accepts',
  /** `lambda` (in-language handler) or `program` (a process per call). */
  kind: 'shortedfaas.kind',
} as const;

const adapters = fileURLToPath(new URL('./adapters/', import.meta.url));
const nodeLanguages = new Set(['node', 'nodejs', 'javascript', 'js']);
const pythonLanguages = new Set(['python', 'python3']);

/**
 * Makes a deploy folder (unpacked at `root`) a Ferry package: its `run.json` becomes a
 * `ferry.json` (an in-language `lambda` gets the adapter of its language beside the user's
 * files; anything else runs as a process per call on the exec runtime), or its own `ferry.json`
 * is kept. Either way the version gets this surface's labels and the host's language libraries
 * (`hostLibraries`, unless its ferry.json says false or the operator switched them off).
 * Throws `invalid-manifest`.
 */
export async function adaptFolder(root: string, folder: string, digest: string, hostLibraries = true): Promise<string> {
  const own = { [labels.folder]: folder, [labels.digest]: digest };
  if (!(await isFile(join(root, 'run.json')))) {
    const text = await readFile(join(root, 'ferry.json'), 'utf8').catch(() => {
      throw new FerryError('invalid-manifest', 'the folder has neither run.json nor ferry.json');
    });
    let m: Manifest;
    try {
      m = JSON.parse(text) as Manifest;
    } catch (err) {
      throw new FerryError('invalid-manifest', `ferry.json is not JSON: ${(err as Error).message}`);
    }
    if (!m || typeof m !== 'object' || Array.isArray(m)) throw new FerryError('invalid-manifest', 'ferry.json must be a JSON object');
    m.labels = { ...(m.labels ?? {}), ...own, [labels.kind]: 'ferry' };
    if (hostLibraries) m.hostLibraries ??= true;
    await writeFile(join(root, 'ferry.json'), `${JSON.stringify(m, null, 2)}\n`);
    return root;
  }
  const run = parseRunJson(await readFile(join(root, 'run.json'), 'utf8'));
  // As the seed says, the host provides the interpreters and their libraries.
  const manifest: Manifest = { runtime: 'exec', ...(hostLibraries ? { hostLibraries } : {}), labels: { ...own, [labels.accepts]: run.accepts.join(','), [labels.kind]: 'program' } };
  // ShortedFaaS runs an asynchronous call once: a failed run is the result, not retried.
  manifest.retries = 0;
  if (Object.keys(run.scaling).length) manifest.scaling = run.scaling;
  if (run.recordPayloads) manifest.recordPayloads = true;
  const script = run.arguments[0];
  if (run.type === 'interpreted' && script && pythonLanguages.has(run.language) && (await definesPythonLambda(join(root, script)))) {
    if (!/^[A-Za-z_][A-Za-z0-9_/]*\.py$/.test(script)) throw new FerryError('invalid-manifest', `run.json: '${script}' cannot be imported as a Python module`);
    await copyFile(join(adapters, 'python-handler.py'), join(root, '_shortedfaas_handler.py'));
    Object.assign(manifest, { runtime: 'python', handler: '_shortedfaas_handler.py', env: { SHORTEDFAAS_MODULE: script.slice(0, -3).replace(/\//g, '.') } });
    manifest.labels![labels.kind] = 'lambda';
  } else if (run.type === 'interpreted' && script && nodeLanguages.has(run.language) && (await exportsNodeLambda(join(root, script)))) {
    if (script.includes('..') || !/\.(c?js|mjs)$/.test(script)) throw new FerryError('invalid-manifest', `run.json: '${script}' is not a .js, .cjs or .mjs file of the folder`);
    const commonJs = /\b(module\.)?exports\b/.test(await readFile(join(root, script), 'utf8'));
    if (commonJs && !(await isFile(join(root, 'package.json')))) {
      // Ferry's node build would make a .js file an ES module; the seed's functions are `require`d.
      await writeFile(join(root, 'package.json'), '{"type": "commonjs"}\n');
    }
    const js = await readFile(join(adapters, 'node-handler.js'), 'utf8');
    await writeFile(join(root, '_shortedfaas_handler.mjs'), js.replace(/\n\/\/# sourceMappingURL=.*\s*$/, '\n'));
    Object.assign(manifest, { runtime: 'node', handler: '_shortedfaas_handler.mjs', env: { SHORTEDFAAS_FILE: `./${script}` } });
    manifest.labels![labels.kind] = 'lambda';
  } else {
    // A program of the folder by its bare name, as the seed's `jq.exe` beside run.json; else the host's.
    const local = !run.command.includes('/') && (await isFile(join(root, run.command)));
    manifest.command = [local ? `./${run.command}` : run.command, ...run.arguments];
  }
  await writeFile(join(root, 'ferry.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return root;
}

/** A module-level `def lambda_handler(` or `def handler(`: the file is a lambda, not a program. */
async function definesPythonLambda(file: string): Promise<boolean> {
  const src = await readFile(file, 'utf8').catch(() => '');
  return /^(async\s+)?def\s+(lambda_handler|handler)\s*\(/m.test(src);
}

/** `module.exports =`, `exports.lambda`, or an ES export of a function: the file is a lambda. */
async function exportsNodeLambda(file: string): Promise<boolean> {
  const src = await readFile(file, 'utf8').catch(() => '');
  return /\bmodule\.exports\b|\bexports\.lambda\b|^export\s+(default|(async\s+)?function\s+lambda\b|(const|let)\s+lambda\b)/m.test(src);
}
