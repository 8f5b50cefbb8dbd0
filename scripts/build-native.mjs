// Builds Ferry's native sandbox helper (native/ferry-sandbox-helper.c -> dist/native/) with gcc
// and the distribution's libseccomp, and the pre-booted pool's mount service (ferry-mountd.c).
// The rest of Ferry works without them (the process driver, and `ferry doctor` says what is
// missing), so a host without gcc or libseccomp headers gets a clear
// warning and exit 0 instead of a broken build. A source that does not compile is a bug in Ferry
// and fails the build. Rebuilds only when the source is newer than the binary.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const outDir = join(root, 'dist', 'native');
const cc = process.env.CC || 'gcc';
const programs = [
  { name: 'ferry-sandbox-helper', libs: ['-lseccomp'] },
  { name: 'ferry-seccomp-log', libs: ['-lseccomp'] },
  { name: 'ferry-mountd', libs: [] },
];

function warn(why, fix) {
  const text = [
    `build-native: WARNING: ${why}; the bwrap sandbox helper was not built.`,
    'build-native:   the native helper needs a C compiler (gcc, or $CC) and the libseccomp headers to build.',
    `build-native:   fix: ${fix}  (then run: node ${join(root, 'scripts', 'build-native.mjs')})`,
    'build-native:   until then `ferry server` runs only with --driver process --unsandboxed; `ferry doctor` says what else the sandbox needs.',
  ].join('\n') + '\n';
  process.stderr.write(text);
  // npm hides what an install script prints: tell the terminal that runs `npm i -g` directly.
  if (!process.stderr.isTTY && process.env.npm_lifecycle_event === 'postinstall') {
    try {
      writeFileSync('/dev/tty', text);
    } catch {
      // no terminal (CI, a pipe): the server and `ferry doctor` say it again
    }
  }
  process.exit(0);
}

const stale = programs.filter((p) => {
  const out = join(outDir, p.name);
  return !existsSync(out) || statSync(out).mtimeMs < statSync(join(root, 'native', `${p.name}.c`)).mtimeMs;
});
if (stale.length === 0) process.exit(0);

const probe = spawnSync(cc, ['--version'], { stdio: 'ignore' });
if (probe.error || probe.status !== 0) warn(`${cc} is not installed`, 'apt-get install -y gcc libseccomp-dev');

// Preprocess a one-line file: finds the header wherever the compiler looks, not just /usr/include.
const header = spawnSync(cc, ['-E', '-x', 'c', '-', '-o', '/dev/null'], { input: '#include <seccomp.h>\n', stdio: ['pipe', 'ignore', 'ignore'] });
if (header.status !== 0) warn('libseccomp headers (seccomp.h) are missing', 'apt-get install -y libseccomp-dev');

mkdirSync(outDir, { recursive: true });
const flags = ['-O2', '-Wall', '-Wextra', '-D_FORTIFY_SOURCE=2', '-fstack-protector-strong'];
for (const p of stale) {
  const out = join(outDir, p.name);
  // Build next to the target and rename: a running server never sees a half-written binary.
  const tmp = `${out}.tmp-${process.pid}`;
  const r = spawnSync(cc, [...flags, '-o', tmp, join(root, 'native', `${p.name}.c`), ...p.libs], { stdio: 'inherit' });
  if (r.status !== 0) {
    rmSync(tmp, { force: true });
    console.error(`build-native: compiling native/${p.name}.c failed`);
    process.exit(1);
  }
  chmodSync(tmp, 0o755);
  renameSync(tmp, out);
  console.log(`build-native: built ${out}`);
}
