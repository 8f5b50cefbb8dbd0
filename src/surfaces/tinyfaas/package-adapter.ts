import { chmod, copyFile, readFile, realpath, stat, writeFile } from 'node:fs/promises';
import { join, relative, isAbsolute, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Manifest } from '../../core/index.js';
import { FerryError } from '../../errors/index.js';
import { isFile } from '../../packages/index.js';
import type { TinyDeploy } from './upload-request.js';

/** The label that marks a function as the tinyFaaS API's, holding its tinyFaaS spelling. */
export const nameLabel = 'tinyfaas.name';

const adapters = fileURLToPath(new URL('./adapters/', import.meta.url));

/**
 * Makes a tinyFaaS function folder a Ferry package, in the unpacked and checked upload: the
 * folder named by `subfolder` (`/` or empty: the top), the adapter of its `env` beside the
 * user's files, and a generated `ferry.json` (`threads` instances kept running, the `envs`, the
 * labels). Answers the package root; throws when the folder lacks what its env needs.
 */
export async function adaptPackage(staging: string, subfolder: string, d: TinyDeploy): Promise<string> {
  const root = await folderOf(staging, subfolder);
  const manifest: Manifest = {
    runtime: 'node',
    env: d.vars,
    scaling: { minInstances: d.threads, maxInstances: d.threads },
    labels: { [nameLabel]: d.name, 'tinyfaas.env': d.env },
  };
  if (d.env === 'nodejs') {
    if (!(await isFile(join(root, 'package.json')))) {
      if (!(await isFile(join(root, 'index.js')))) throw new FerryError('invalid-manifest', 'a nodejs function needs package.json or index.js');
      // Without one, Ferry's node build would make .js files ES modules; tinyFaaS's are CommonJS.
      await writeFile(join(root, 'package.json'), '{"name": "fn", "version": "1.0.0", "main": "index.js"}\n');
    }
    // The compiled adapter, without its source-map comment (the map stays behind).
    const js = await readFile(join(adapters, 'node-handler.js'), 'utf8');
    await writeFile(join(root, '_tinyfaas_handler.mjs'), js.replace(/\n\/\/# sourceMappingURL=.*\s*$/, '\n'));
    manifest.handler = '_tinyfaas_handler.mjs';
  } else if (d.env === 'python3') {
    if (!(await isFile(join(root, 'fn.py')))) throw new FerryError('invalid-manifest', 'a python3 function needs fn.py');
    await copyFile(join(adapters, 'python-handler.py'), join(root, '_tinyfaas_handler.py'));
    manifest.runtime = 'python';
    manifest.handler = '_tinyfaas_handler.py';
  } else {
    if (!(await isFile(join(root, 'fn.sh')))) throw new FerryError('invalid-manifest', 'a binary function needs fn.sh');
    // Zip uploads lose file modes; tinyFaaS runs fn.sh as a program all the same.
    await chmod(join(root, 'fn.sh'), 0o755);
    await copyFile(join(adapters, 'binary-run.sh'), join(root, '_tinyfaas_run.sh'));
    await chmod(join(root, '_tinyfaas_run.sh'), 0o755);
    manifest.runtime = 'exec';
    manifest.command = ['./_tinyfaas_run.sh'];
  }
  await writeFile(join(root, 'ferry.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return root;
}

/** The folder `subfolder` of the tree, which must be a directory inside it (links resolved). */
async function folderOf(staging: string, subfolder: string): Promise<string> {
  const rel = normalize(subfolder.replace(/^\/+/, '') || '.');
  if (isAbsolute(rel) || rel === '..' || rel.startsWith('../') || rel.includes('\0')) throw new FerryError('archive-unsafe-path', `subfolder_path '${subfolder}' leaves the archive`);
  const base = await realpath(staging);
  let real: string;
  try {
    real = await realpath(join(base, rel));
  } catch {
    throw new FerryError('invalid-body', `subfolder_path '${subfolder}' is not in the archive`);
  }
  const inside = relative(base, real);
  if (inside.startsWith('..') || isAbsolute(inside)) throw new FerryError('archive-unsafe-path', `subfolder_path '${subfolder}' leaves the archive`);
  if (!(await stat(real)).isDirectory()) throw new FerryError('invalid-body', `subfolder_path '${subfolder}' is not a folder of the archive`);
  return real;
}
