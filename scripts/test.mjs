// Runs the whole suite: every compiled *.test.js under dist/ (unit tests beside the code,
// integration tests in test/), with node:test.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.js')) files.push(p);
  }
})(join(root, 'dist'));
files.sort();
const filter = process.argv.slice(2);
const selected = filter.length ? files.filter((f) => filter.some((x) => f.includes(x))) : files;
if (selected.length === 0) {
  console.error('no test files found; run npm run build first');
  process.exit(1);
}
const reporters = ['--test-reporter=spec', '--test-reporter-destination=stdout', `--test-reporter=${join(root, 'scripts/slowest-files.mjs')}`, '--test-reporter-destination=stderr'];
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...reporters, ...selected], { stdio: 'inherit' });
process.exit(r.status ?? 1);
