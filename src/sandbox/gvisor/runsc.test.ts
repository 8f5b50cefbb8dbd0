import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gvisorSupport } from '../../../test/support/gvisor.js';
import { usableKvm } from '../host/kvm.js';
import { platformStarts } from './runsc.js';

const support = await gvisorSupport();
const skip = support.ok ? false : support.why;

/** runsc processes of the probe's state root still running. */
function leftovers(root: string): string[] {
  return execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(root));
}

test('platformStarts: ptrace starts a sandbox; kvm where this host has no KVM the sentry can use does not, and the probe leaves nothing behind', { skip, timeout: 120_000 }, async (t) => {
  const runsc = execFileSync('sh', ['-c', 'command -v runsc'], { encoding: 'utf8' }).trim();
  const root = mkdtempSync(join(tmpdir(), 'ferry-runsc-probe-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  assert.deepEqual(await platformStarts(runsc, root, 'ptrace'), { ok: true });
  const kvm = await platformStarts(runsc, root, 'kvm', 8_000);
  // Where KVM is missing or PVM the probe must say no (a PVM host's sentry hangs: the timeout
  // answers); where it is usable, either answer may be right, but it comes within the time.
  if (!usableKvm().ok) {
    assert.equal(kvm.ok, false);
    assert.match(!kvm.ok ? kvm.why : '', /runsc's kvm platform (started no sandbox within 8 s|failed \(exit \d+\))/);
  }
  assert.deepEqual(leftovers(root), [], 'no runsc process of the probe is left');
  assert.deepEqual(readdirSync(root).filter((f) => !f.startsWith('runsc')), [], 'no container state is left');
});
