import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FerryError } from '../../errors/index.js';
import { ferryRuntimeDir, hostPathsOf, hostPathsOfAll, hostRootfsView } from './index.js';

const work = mkdtempSync(join(tmpdir(), 'ferry-rootfs-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** A real interpreter in a private prefix (pyenv's `versions/<v>`) and a pyenv-style shell shim in front of it. */
function pyenvLayout(): { shims: string; prefix: string } {
  const prefix = join(work, 'versions', 'v');
  execFileSync('python3', ['-m', 'venv', '--without-pip', prefix]);
  const shims = join(work, 'shims');
  mkdirSync(shims);
  // What a pyenv shim is: a script that execs the interpreter of the version it picks.
  writeFileSync(join(shims, 'python3'), `#!/bin/sh\nexec ${join(prefix, 'bin', 'python3')} "$@"\n`);
  chmodSync(join(shims, 'python3'), 0o755);
  return { shims, prefix };
}

/** The python3 need resolved in a fresh process (the answer is cached per process) with `env`. */
function resolvedPython(env: Record<string, string>): { paths: string[]; argv: string[] } {
  const index = fileURLToPath(new URL('./index.js', import.meta.url));
  const script = `const m = await import(${JSON.stringify(index)}); console.log(JSON.stringify({ paths: m.hostPathsOf({ kind: 'python3' }), argv: m.hostRootfsView.command({ kind: 'python3' }, ['-c', 'pass']) }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, ...env } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { paths: string[]; argv: string[] };
}

test('python3 behind a pyenv shim: the real interpreter and its prefix, never the shim', () => {
  const { shims, prefix } = pyenvLayout();
  // FERRY_PYTHON empty: python3 is looked up on PATH, where the shim comes first.
  const { paths, argv } = resolvedPython({ FERRY_PYTHON: '', PATH: `${shims}:${process.env['PATH'] ?? ''}` });
  const real = join(prefix, 'bin', 'python3');
  assert.deepEqual(argv, [real, '-c', 'pass']);
  assert.ok(paths.includes(real), paths.join(' '));
  // The standard library lives under the prefix: a sandbox binding only the executable could not start it.
  assert.ok(paths.includes(prefix), paths.join(' '));
  assert.ok(!paths.some((p) => p === shims || p.startsWith(`${shims}/`)), `the shim is bound: ${paths.join(' ')}`);
});

test('a program on PATH: where it is found, once per name', () => {
  const bin = join(work, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'ferry-rootfs-probe'), '#!/bin/sh\n');
  chmodSync(join(bin, 'ferry-rootfs-probe'), 0o755);
  // Not executable: passed over, as `command -v` does.
  writeFileSync(join(bin, 'ferry-rootfs-plain'), '');
  const saved = process.env['PATH'];
  process.env['PATH'] = `${bin}:${saved ?? ''}`;
  try {
    const need = { kind: 'program', name: 'ferry-rootfs-probe' } as const;
    assert.deepEqual(hostPathsOf(need), [join(bin, 'ferry-rootfs-probe')]);
    assert.deepEqual(hostRootfsView.command(need, ['-x']), [join(bin, 'ferry-rootfs-probe'), '-x']);
    assert.throws(() => hostPathsOf({ kind: 'program', name: 'ferry-rootfs-plain' }), /not on the PATH/);
  } finally {
    process.env['PATH'] = saved;
  }
});

test('a program missing from PATH: instance-start-failed naming it', () => {
  const missing = { kind: 'program', name: 'ferry-no-such-program' } as const;
  for (const resolve of [() => hostPathsOf(missing), () => hostRootfsView.command(missing, [])]) {
    assert.throws(resolve, (e: unknown) => e instanceof FerryError && e.code === 'instance-start-failed' && /command 'ferry-no-such-program' is not on the PATH of the Ferry host/.test(e.message));
  }
});

test("node, Ferry's runtime files and a build's host path: where they are on the host, each once", () => {
  assert.deepEqual(hostPathsOfAll([{ kind: 'node' }, { kind: 'ferry-runtime' }, { kind: 'node' }, { kind: 'host-path', path: '/etc/alternatives' }]), [process.execPath, ferryRuntimeDir, '/etc/alternatives']);
  // The shims the runtimes start are inside the runtime directory the need binds.
  const shim = fileURLToPath(new URL('../../runtime/node/shim.js', import.meta.url));
  assert.ok(shim.startsWith(`${ferryRuntimeDir}/`), `${shim} not under ${ferryRuntimeDir}`);
  assert.equal(hostRootfsView.runtimeFile(shim), shim);
  assert.deepEqual(hostRootfsView.command({ kind: 'node' }, ['x.js']), [process.execPath, 'x.js']);
});
