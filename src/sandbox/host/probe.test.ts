// The host probe, on this host: shape always; on a capable host (CI), the required checks pass.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findExecutable, probeHost } from './probe.js';

const mustWork = !!process.env['CI'] && process.env['CI'] !== 'false' || process.env['FERRY_SANDBOX_MUST_WORK'] === '1';

test('probeHost: every check is named, says what it found, and a failing one says how to fix it', async () => {
  const report = await probeHost();
  const names = report.checks.map((c) => c.name);
  // Every egress filter follows the host's addresses with ip and nsenter (the shared router too).
  for (const n of ['root', 'bwrap', 'user-namespaces', 'seccomp', 'sandbox-helper', 'cgroup-memory', 'cgroup-cpu', 'cgroup-pids', 'pasta', 'slirp4netns', 'nft', 'ip', 'nsenter', 'kvm', 'microvm-egress']) {
    assert.ok(names.includes(n), `missing check ${n}`);
  }
  for (const c of report.checks) {
    assert.ok(c.detail.length > 0, c.name);
    if (!c.ok) assert.ok(c.fix && c.fix.length > 0, `${c.name} fails without a fix`);
  }
  for (const k of ['isolation', 'seccomp', 'memory', 'cpu', 'pids', 'network', 'firewall'] as const) assert.ok(report.uses[k], k);
  // Pure data: it survives JSON unchanged.
  assert.deepEqual(JSON.parse(JSON.stringify(report)), report);
});

test('probeHost: on a host that must sandbox (CI), every required check passes', async (t) => {
  const report = await probeHost();
  const failing = report.checks.filter((c) => c.required && !c.ok);
  if (!mustWork && failing.length > 0) {
    t.skip(`this host lacks: ${failing.map((c) => `${c.name} (${c.detail})`).join('; ')}`);
    return;
  }
  assert.deepEqual(failing, []);
  assert.match(report.uses.isolation, /^bwrap/);
  assert.match(report.uses.seccomp, /^libseccomp/);
  assert.match(report.uses.network, process.getuid?.() === 0 ? /shared by every egress instance/ : /one per egress instance/);
  // The project's scripts extract the guest kernel with its NIC modules: as root (the shared
  // router's condition), microvm egress works here.
  const vmEgress = report.checks.find((c) => c.name === 'microvm-egress')!;
  if (process.getuid?.() === 0) assert.equal(vmEgress.ok, true, vmEgress.detail);
  else assert.match(vmEgress.detail, /needs Ferry to run as root/);
});

test('findExecutable: finds sh, not a made-up name', () => {
  assert.match(findExecutable('sh') ?? '', /\/sh$/);
  assert.equal(findExecutable('ferry-no-such-tool'), undefined);
});
