// The dashboard's page: web/src is compiled by `tsc -p web/tsconfig.json` into dist/web; this
// copies web/static (the HTML and CSS) beside it and says what the page weighs.
import { cpSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const root = new URL('..', import.meta.url).pathname;
const out = join(root, 'dist/web');
cpSync(join(root, 'web/static'), out, { recursive: true });

let bytes = 0;
let gzipped = 0;
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (/\.(html|css|js)$/.test(name)) {
      const body = readFileSync(p);
      bytes += body.length;
      gzipped += gzipSync(body).length;
    }
  }
};
walk(out);
console.log(`build-web: dist/web weighs ${Math.round(bytes / 1024)} KiB (${Math.round(gzipped / 1024)} KiB if each file were gzipped)`);
