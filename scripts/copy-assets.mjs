// Copies the non-TypeScript files that run inside instances (e.g. the Python shim) next to the
// compiled JavaScript, so `dist/` is self-contained.
import { cpSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const assetExt = /\.(py|json|sh)$/;

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (assetExt.test(name)) cpSync(p, join(root, 'dist', relative(root, p)));
  }
}
walk(join(root, 'src'));
