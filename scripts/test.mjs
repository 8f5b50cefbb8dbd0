// Runs the whole suite: every compiled *.test.js under dist/ (unit tests beside the code,
// integration tests in test/), with node:test.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { compose } from 'node:stream';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';
import slowestFiles from './slowest-files.mjs';

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

// The files that take longest (see the slowest-files listing at the end of a run) start first,
// so none of them begins near the end and runs on alone; the rest keep their order. (`node --test`
// sorts the files it is given, hence run() here.)
const longest = [
  'test/sandbox-microvm.test.js',
  'test/deploy-checks.test.js',
  'test/cli.test.js',
  'test/builds.test.js',
  'test/cli-manage.test.js',
  'test/cli-real.test.js',
  'test/cgroup-v2.test.js',
  'test/escape-rundir.test.js',
  'test/escape-tenancy.test.js',
  'test/cli-up.test.js',
  'test/escape-limits.test.js',
  'test/escape-egress.test.js',
  'test/builds-sources.test.js',
  'test/backpressure.test.js',
  'test/builds-toolchain.test.js',
  'test/escape-privacy.test.js',
  'test/cli-accounts.test.js',
  'test/cli-exit-codes.test.js',
  'test/dead-letters.test.js',
  'test/escape-kernel.test.js',
  'test/blob-packages.test.js',
  'test/api.test.js',
  'test/ui.test.js',
  'src/sandbox/bwrap/network.test.js',
  'src/sandbox/bwrap/seccomp.test.js',
];
const rank = (f) => {
  const i = longest.findIndex((l) => f.endsWith(`/dist/${l}`));
  return i < 0 ? longest.length : i;
};
const ordered = selected.map((f, i) => [rank(f), i, f]).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(([, , f]) => f);

// Files wait on servers, sandboxes and child processes part of the time, so one more file runs
// than there are cores on the 2-core machines the suite is sized for; more only adds load (a run
// at four used the CPU as fully, and its browser tests waited longer). FERRY_TEST_CONCURRENCY
// overrides it.
const concurrency = Number(process.env.FERRY_TEST_CONCURRENCY) || 3;
const events = run({ files: ordered, concurrency });
events.on('test:fail', (data) => {
  if (!data.todo) process.exitCode = 1;
});
events.compose(spec).pipe(process.stdout);
events.pipe(compose(slowestFiles)).pipe(process.stderr);
