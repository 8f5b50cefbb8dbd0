/**
 * Ferry as an installed program: `npm pack`, then `npm i -g` of the tarball into a scratch
 * prefix (and `npx --package` of it). The install says what the native helper needs when the compiler is missing, the
 * installed server says how to build it, and once it is built `ferry server` starts.
 *
 * Kept fast: the package is packed from the dist/ the test runs from (no rebuild), npm reads its
 * cache first, and better-sqlite3 takes the binding already built for this checkout as a local
 * prebuild instead of compiling SQLite again.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { repoRoot } from './support/ferry.js';

let scratch: string;
let tarball: string;
let prebuilds: string;
const prefix = (): string => join(scratch, 'prefix');
const installed = (): string => join(prefix(), 'lib', 'node_modules', 'ferry');
const ferryBin = (): string => join(prefix(), 'bin', 'ferry');

interface Ran {
  code: number | null;
  out: string;
}

/** Runs a program to its end; stdout and stderr together. */
function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd ?? scratch, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} did not end in time\n${out}`));
    }, opts.timeoutMs ?? 240_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'ferry-install-'));
  // The server's data dir is in here: the sandbox user must get through.
  await chmod(scratch, 0o711);
  const packed = await run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', scratch], { cwd: repoRoot });
  assert.equal(packed.code, 0, packed.out);
  tarball = join(scratch, packed.out.trim().split('\n').pop()!);
  // better-sqlite3's installer looks for <name>-v<version>-node-v<abi>-<platform>-<arch>.tar.gz here first.
  const sqlite = join(repoRoot, 'node_modules', 'better-sqlite3');
  const { version } = JSON.parse(await readFile(join(sqlite, 'package.json'), 'utf8')) as { version: string };
  prebuilds = join(scratch, 'prebuilds');
  const tar = await run('sh', ['-c', `mkdir -p "$1" && tar czf "$1/better-sqlite3-v$2-node-v$3-linux-x64.tar.gz" -C "$4" build/Release/better_sqlite3.node`, 'sh', prebuilds, version, process.versions.modules, sqlite]);
  assert.equal(tar.code, 0, tar.out);
});
after(async () => {
  // npx keeps what it installed in the npm cache (_npx/<hash>): this run's entry goes too.
  const cache = (await run('npm', ['config', 'get', 'cache'])).out.trim();
  for (const entry of await readdir(join(cache, '_npx')).catch(() => [] as string[])) {
    const pkg = await readFile(join(cache, '_npx', entry, 'package.json'), 'utf8').catch(() => '');
    if (pkg.includes(basename(scratch))) await rm(join(cache, '_npx', entry), { recursive: true, force: true });
  }
  await rm(scratch, { recursive: true, force: true });
});

test('npm i -g of the package: the install says what the native helper needs; ferry --version; ferry server starts once it is built', async () => {
  const { version } = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  // No compiler: the install still succeeds, and says what to install and run.
  const env = { ...process.env, CC: join(scratch, 'no-such-cc'), npm_config_better_sqlite3_local_prebuilds: prebuilds };
  const install = await run('npm', ['i', '-g', '--prefix', prefix(), '--prefer-offline', '--no-audit', '--no-fund', '--foreground-scripts', tarball], { env });
  assert.equal(install.code, 0, install.out);
  assert.match(install.out, /the native helper needs a C compiler \(gcc, or \$CC\) and the libseccomp headers/);
  assert.ok(install.out.includes(`fix: apt-get install -y gcc libseccomp-dev  (then run: node ${join(installed(), 'scripts', 'build-native.mjs')})`), install.out);

  const v = await run(ferryBin(), ['--version']);
  assert.equal(v.code, 0, v.out);
  assert.equal(v.out.trim(), version);
  // Without installing: npx runs the package's binary from the tarball.
  const npx = await run('npx', ['--yes', '--prefer-offline', '--no-audit', '--no-fund', '--package', tarball, 'ferry', '--version'], { env });
  assert.equal(npx.code, 0, npx.out);
  assert.equal(npx.out.trim().split('\n').pop(), version, npx.out);

  const data = join(scratch, 'data');
  const refused = await run(ferryBin(), ['server', '--port', '0', '--data-dir', data], { timeoutMs: 60_000 });
  assert.notEqual(refused.code, 0, refused.out);
  assert.ok(refused.out.includes(`node ${join(installed(), 'scripts', 'build-native.mjs')}`), `the server says how to build the helper:\n${refused.out}`);

  const built = await run(process.execPath, [join(installed(), 'scripts', 'build-native.mjs')]);
  assert.equal(built.code, 0, built.out);
  assert.match(built.out, /built .*ferry-sandbox-helper/);

  const server = spawn(ferryBin(), ['server', '--port', '0', '--data-dir', data], { cwd: scratch, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`ferry server did not listen:\n${out}`)), 60_000);
      const onData = (c: Buffer): void => {
        out += c.toString('utf8');
        const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      };
      server.stdout.on('data', onData);
      server.stderr.on('data', onData);
      server.on('exit', (code) => reject(new Error(`ferry server exited ${code}:\n${out}`)));
    });
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
    // The dashboard ships in the package: the installed server serves its page and modules.
    for (const file of ['/ui/', '/ui/main.js', '/ui/style.css']) assert.equal((await fetch(`${url}${file}`)).status, 200, `${file} of the installed package`);
  } finally {
    if (server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((r) => server.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
  }
});
