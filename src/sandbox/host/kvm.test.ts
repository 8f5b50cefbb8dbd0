import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { usableKvm } from './kvm.js';

test('usableKvm: a device that opens is usable unless the kvm_pvm module is loaded; a missing one is not', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-kvm-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const device = join(dir, 'kvm');
  const pvm = join(dir, 'kvm_pvm');
  assert.deepEqual(usableKvm(device, pvm), { ok: false, why: `${device} is missing or not read-writable` });
  writeFileSync(device, '');
  assert.deepEqual(usableKvm(device, pvm), { ok: true });
  mkdirSync(pvm);
  const r = usableKvm(device, pvm);
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.why : '', /PVM \(kvm_pvm\)/);
});
