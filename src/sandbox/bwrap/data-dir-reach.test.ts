import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dataDirUnreachable } from './data-dir-reach.js';

test('a data dir behind a directory that does not let the sandbox user through is named, with the fix', (t) => {
  const top = mkdtempSync(join(tmpdir(), 'ferry-reach-'));
  t.after(() => rmSync(top, { recursive: true, force: true }));
  const home = join(top, 'home');
  mkdirSync(join(home, 'data'), { recursive: true });
  chmodSync(top, 0o755);
  chmodSync(home, 0o700);
  const why = dataDirUnreachable(join(home, 'data'), 2_000_000, 2_000_000);
  assert.match(why ?? '', new RegExp(`^${home} \\(mode 0700, owner uid \\d+\\) does not let the sandbox user \\(uid 2000000\\) through`));
  assert.match(why ?? '', /chmod o\+x/);
  chmodSync(home, 0o711);
  assert.equal(dataDirUnreachable(join(home, 'data'), 2_000_000, 2_000_000), undefined);
  // Not made yet: Ferry makes it, with a mode that lets instances through.
  assert.equal(dataDirUnreachable(join(home, 'data', 'later', 'deeper'), 2_000_000, 2_000_000), undefined);
  // The owner passes through its own 0700 directory.
  chmodSync(home, 0o700);
  assert.equal(dataDirUnreachable(join(home, 'data'), process.getuid!(), process.getgid!()), undefined);
});
