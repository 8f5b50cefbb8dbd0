import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cliPath } from './support/ferry.js';
import { sandboxSupport } from './support/sandbox.js';

const support = await sandboxSupport();

test('ferry doctor reports every sandbox feature and what it will use', () => {
  const r = spawnSync(process.execPath, [cliPath, 'doctor', '--json'], { encoding: 'utf8' });
  const report = JSON.parse(r.stdout) as { checks: Array<{ name: string; ok: boolean; required: boolean; fix?: string }>; uses: Record<string, string> };
  const names = report.checks.map((c) => c.name);
  for (const n of ['bwrap', 'user-namespaces', 'seccomp', 'sandbox-helper', 'cgroup-memory', 'cgroup-cpu', 'cgroup-pids', 'pasta', 'slirp4netns', 'kvm']) assert.ok(names.includes(n), `checks ${n}`);
  for (const k of ['isolation', 'seccomp', 'memory', 'cpu', 'pids', 'network', 'firewall', 'pool']) assert.ok(report.uses[k], `says what ${k} uses`);
  for (const c of report.checks) if (!c.ok && c.required) assert.ok(c.fix, `a missing ${c.name} comes with its fix`);
  // Where the sandbox works (CI must), nothing required is missing and the exit code says so.
  if (support.ok) {
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(report.checks.filter((c) => c.required && !c.ok).map((c) => c.name), []);
  } else {
    assert.equal(r.status, 1, 'a host that cannot run the sandbox makes doctor exit 1');
  }
});
