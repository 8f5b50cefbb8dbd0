// The agent's copy of /etc, run as an unprivileged user so that a file kept private (0600, root's)
// is really unreadable, as a Debian root's /etc/shadow is to the guest over 9p.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { need } from '../../../../test/support/netns.js';

const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
const missing = process.getuid?.() !== 0 ? 'needs root (to run the copy as another user)' : !setpriv ? 'setpriv (util-linux) is not installed' : undefined;
const module = fileURLToPath(new URL('./copy-readable.js', import.meta.url));

test('what the copier cannot read is left out and named; the rest is copied with its modes, links as links', (t) => {
  if (!need(t, missing)) return;
  const dir = mkdtempSync(join(tmpdir(), 'ferry-copy-readable-'));
  try {
    chmodSync(dir, 0o755);
    const from = join(dir, 'etc');
    mkdirSync(join(from, 'security'), { recursive: true, mode: 0o755 });
    writeFileSync(join(from, 'passwd'), 'root:x:0:0::/root:/bin/sh\n', { mode: 0o644 });
    writeFileSync(join(from, 'shadow'), 'root:*:19000::::::\n', { mode: 0o600 });
    writeFileSync(join(from, 'security', 'opasswd'), '', { mode: 0o600 });
    writeFileSync(join(from, 'security', 'limits.conf'), '# limits\n', { mode: 0o644 });
    symlinkSync('/proc/self/mounts', join(from, 'mtab'));
    const to = join(dir, 'copy');
    mkdirSync(to, { mode: 0o777 });
    chmodSync(to, 0o777);
    const r = spawnSync(setpriv!, ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--input-type=module', '-e', `import { copyReadable } from ${JSON.stringify(module)}; console.log(JSON.stringify(copyReadable(${JSON.stringify(from)}, ${JSON.stringify(to)})))`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual((JSON.parse(r.stdout) as string[]).sort(), [join(from, 'security', 'opasswd'), join(from, 'shadow')]);
    assert.equal(readFileSync(join(to, 'passwd'), 'utf8'), 'root:x:0:0::/root:/bin/sh\n');
    assert.equal(lstatSync(join(to, 'passwd')).mode & 0o777, 0o644);
    assert.equal(readFileSync(join(to, 'security', 'limits.conf'), 'utf8'), '# limits\n');
    assert.equal(readlinkSync(join(to, 'mtab')), '/proc/self/mounts', 'a link stays a link, never followed');
    assert.equal(existsSync(join(to, 'shadow')), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
