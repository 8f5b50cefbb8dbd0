// The cgroup v2 side of src/sandbox/bwrap/cgroups.ts, for real. Ferry's machines (and CI's) have
// the v1/v2 hybrid layout with every controller bound to v1, so nothing else in the suite runs the
// v2 code. Here a VM whose only cgroup hierarchy is v2 (memory, cpu and pids enabled in the root)
// runs the real test files of the cgroup code on the host's own dist/, with CI=true and
// FERRY_SANDBOX_MUST_WORK=1 so nothing in them may skip; this test passes only when every test in
// there ran and passed and the processes that ran them found all three controllers on v2.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import { mustWork } from './support/must-work.js';
import { findVmPieces, runInVm, type VmRun } from './support/vm.js';

const root = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');
const out = '/run/ferry-vm';
/** The test files run in the VM, by a short name. */
const suites: Record<string, string> = {
  cgroups: 'dist/src/sandbox/bwrap/cgroups.test.js',
  'memory-fallback': 'dist/src/sandbox/bwrap/memory-fallback.test.js',
};
const controllers = ['memory', 'cpu', 'pids'] as const;

// Preloaded (--import) into each test process: at its exit, what detectCgroups() finds from
// inside the very process that ran the tests (prepare: false: it only looks, after the test
// file's own detectCgroups() did whatever preparing there was).
const probe = `import { readFileSync, writeFileSync } from 'node:fs';
import { detectCgroups } from ${JSON.stringify(`file://${root}/dist/src/sandbox/bwrap/cgroups.js`)};
process.on('exit', () => {
  const file = process.argv[1] ?? '';
  if (!file.endsWith('.test.js')) return;
  let found;
  try {
    found = detectCgroups({ scope: 'vm-probe', prepare: false }).controllers;
  } catch (err) {
    found = { error: String(err) };
  }
  writeFileSync(${JSON.stringify(out)} + '/probe-' + process.pid + '.json', JSON.stringify({ file, cgroup: readFileSync('/proc/self/cgroup', 'utf8'), controllers: found }));
});
`;
const script = [
  `cat /proc/self/mountinfo > ${out}/mountinfo.txt`,
  `cat /sys/fs/cgroup/cgroup.subtree_control > ${out}/subtree_control.txt`,
  // One file at a time: the cpu test measures a throttled busy loop and wants the CPUs to itself.
  // Each file runs as its own program (node:test runs a file's tests in the process that loads
  // it): `node --test` would start a second Node for the runner, seconds under emulation.
  ...Object.entries(suites).flatMap(([name, file]) => [
    `node --import file://${out}/probe.mjs --test-reporter=tap ${file} > ${out}/${name}.tap 2>&1`,
    `echo $? > ${out}/${name}.rc`,
  ]),
].join('\n');

const pieces = findVmPieces();
let vm: Promise<VmRun> | undefined;
/** The one VM run every test here looks at (booted by the first that asks). */
const run = (): Promise<VmRun> =>
  (vm ??= runInVm({
    script,
    cwd: root,
    env: { CI: 'true', FERRY_SANDBOX_MUST_WORK: '1' },
    files: { 'probe.mjs': probe },
    enableControllers: [...controllers],
    // Hang guards, not speed checks: under TCG on a host busy with the rest of the suite the
    // boot and both files take minutes.
    bootTimeoutMs: 90_000,
    timeoutMs: 300_000,
  }));

/** Skips (or, where the sandbox must work, fails) when the VM cannot run here. */
function ready(t: TestContext): boolean {
  if (pieces.ok) return true;
  const why = `the cgroup v2 VM cannot run here: ${pieces.missing.join('; ')}`;
  if (mustWork) assert.fail(`${why} (CI or FERRY_SANDBOX_MUST_WORK=1: this must run)`);
  t.skip(why);
  return false;
}

const tail = (s: string, n = 3000): string => (s.length > n ? `...${s.slice(-n)}` : s);
function describe(r: VmRun): string {
  return `accel ${r.accel}, ${(r.durationMs / 1000).toFixed(1)} s${r.timedOut ? ', TIMED OUT and killed' : ''}, script status ${r.status}\n--- console:\n${tail(r.console)}\n--- script output:\n${tail(r.output)}`;
}

/** A run that got as far as finishing its script. */
async function finished(): Promise<VmRun> {
  const r = await run();
  assert.equal(r.timedOut, false, `the VM did not finish in time: ${describe(r)}`);
  assert.equal(r.status, 0, `the script in the VM failed: ${describe(r)}`);
  return r;
}

interface Tap {
  counts: Record<string, number>;
  skippedLines: string[];
  failedLines: string[];
}
function parseTap(text: string): Tap {
  const counts: Record<string, number> = {};
  for (const m of text.matchAll(/^# (tests|suites|pass|fail|cancelled|skipped|todo) (\d+)$/gm)) counts[m[1]!] = Number(m[2]);
  const lines = text.split('\n');
  return {
    counts,
    skippedLines: lines.filter((l) => /^\s*ok \d+ .*# (SKIP|TODO)/i.test(l)),
    failedLines: lines.filter((l) => /^\s*not ok \d+/.test(l)),
  };
}

test('the VM boots with cgroup v2 as its only hierarchy, memory, cpu and pids enabled in the root', { timeout: 360_000 }, async (t) => {
  if (!ready(t)) return;
  const r = await finished();
  t.diagnostic(`VM: ${r.accel} (${pieces.ok ? pieces.pieces.accelNote : ''}), kernel ${pieces.ok ? pieces.pieces.kernelVersion : ''}, ${(r.durationMs / 1000).toFixed(1)} s`);
  for (const n of r.notes) t.diagnostic(n);
  const mountinfo = r.files.get('mountinfo.txt') ?? '';
  const fstypes = mountinfo
    .split('\n')
    .filter(Boolean)
    .map((l) => ({ point: l.split(' ')[4], type: l.split(' - ')[1]?.split(' ')[0] }));
  assert.deepEqual(fstypes.filter((m) => m.type === 'cgroup'), [], `a cgroup v1 hierarchy is mounted in the VM:\n${mountinfo}`);
  assert.deepEqual(
    fstypes.filter((m) => m.type === 'cgroup2').map((m) => m.point),
    ['/sys/fs/cgroup'],
    `cgroup2 at /sys/fs/cgroup, once:\n${mountinfo}`,
  );
  const enabled = (r.files.get('subtree_control.txt') ?? '').trim().split(/\s+/);
  for (const c of controllers) assert.ok(enabled.includes(c), `${c} not in the root's cgroup.subtree_control: ${enabled.join(' ')}`);
});

interface Probe {
  file: string;
  cgroup: string;
  controllers: Record<string, { enforceable: boolean; version: number; base: string; detail: string }>;
}
/** What the probe wrote from the process(es) that ran `file`. */
function probes(r: VmRun, file: string): Probe[] {
  return [...r.files.entries()]
    .filter(([n]) => n.startsWith('probe-'))
    .map(([, v]) => JSON.parse(v) as Probe)
    .filter((p) => p.file.endsWith(`/${file}`));
}

test('detectCgroups() in the processes that ran the tests found memory, cpu and pids on cgroup v2, enforceable', { timeout: 360_000 }, async (t) => {
  if (!ready(t)) return;
  const r = await finished();
  for (const file of Object.values(suites)) {
    const seen = probes(r, file);
    assert.ok(seen.length > 0, `no probe from the process that ran ${file}: ${[...r.files.keys()].join(', ')}\n${describe(r)}`);
    for (const p of seen) {
      t.diagnostic(`${file}: in cgroup ${p.cgroup.trim()}, detectCgroups().controllers = ${JSON.stringify(p.controllers)}`);
      for (const c of controllers) {
        const s = p.controllers[c];
        assert.equal(s?.version, 2, `${c} in the process of ${file}: ${JSON.stringify(s)}`);
        assert.equal(s?.enforceable, true, `${c} in the process of ${file}: ${JSON.stringify(s)}`);
        assert.equal(s?.base, '/sys/fs/cgroup', `${c} in the process of ${file}: ${JSON.stringify(s)}`);
      }
    }
  }
});

for (const [name, file] of Object.entries(suites)) {
  test(`${file} passes in the VM on cgroup v2: every test ran and passed, none skipped`, { timeout: 360_000 }, async (t) => {
    if (!ready(t)) return;
    const r = await finished();
    const text = r.files.get(`${name}.tap`) ?? '';
    const tap = parseTap(text);
    const summary = tapSummary(tap.counts);
    t.diagnostic(`in-VM ${file}: ${summary}; ${tapDurations(text)}`);
    const why = `${file} in the VM: ${summary}\n${tail(text, 8000)}`;
    assert.deepEqual(tap.failedLines, [], why);
    assert.deepEqual(tap.skippedLines, [], why);
    for (const k of ['fail', 'cancelled', 'skipped', 'todo']) assert.equal(tap.counts[k], 0, `${k}: ${why}`);
    assert.ok((tap.counts['tests'] ?? 0) > 0, `no test ran: ${why}`);
    assert.equal(tap.counts['pass'], tap.counts['tests'], why);
    assert.equal(r.files.get(`${name}.rc`)?.trim(), '0', `exit status of the test file: ${why}`);
  });
}

/** Each top-level test's time in the VM (from the TAP report's duration_ms), slowest first. */
function tapDurations(text: string): string {
  const rows: Array<[string, number]> = [];
  for (const m of text.matchAll(/^ok \d+ - (.*)\n(?:  .*\n)*?  duration_ms: ([\d.]+)/gm)) rows.push([m[1]!, Number(m[2])]);
  return rows.sort((a, b) => b[1] - a[1]).map(([n, ms]) => `${(ms / 1000).toFixed(1)} s ${n}`).join('; ');
}

function tapSummary(c: Record<string, number>): string {
  return ['tests', 'pass', 'fail', 'cancelled', 'skipped', 'todo'].map((k) => `${k} ${c[k] ?? '?'}`).join(', ');
}
