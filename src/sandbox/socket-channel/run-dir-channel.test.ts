import assert from 'node:assert/strict';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { NOT_LISTENING } from '../../core/index.js';
import { RunDirChannel } from './run-dir-channel.js';
import { UNTRUSTED_SOCKET } from './instance-socket.js';

// The instance's user in these tests: not this process's (root), as under a real sandbox.
const owner = { uid: 2_345_678, gid: 2_345_678 };

test("a socket still owned by the settling owner (gVisor's gofer) is not listening yet, never connected; given to the instance's user it is", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-settle-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  chownSync(dir, owner.uid, owner.gid);
  let accepted = 0;
  const server = createServer((s) => {
    accepted++;
    s.end();
  });
  await new Promise<void>((resolve) => server.listen(join(dir, 'ferry.sock'), resolve));
  t.after(() => server.close());
  const code = (p: Promise<unknown>): Promise<string> => p.then((s) => ((s as { destroy(): void }).destroy(), 'connected'), (e: { code?: string }) => e.code ?? 'error');

  // Bound by root, not yet given away: with a settling owner of 0 it is "not yet", else refused.
  const settling = new RunDirChannel({ runDir: dir, protocol: 'frames', owner, hostNetwork: false, settlingOwner: 0 });
  const strict = new RunDirChannel({ runDir: dir, protocol: 'frames', owner, hostNetwork: false });
  assert.equal(await code(settling.dial()), NOT_LISTENING);
  assert.equal(await code(strict.dial()), UNTRUSTED_SOCKET);
  assert.equal(accepted, 0, 'nothing connected to a socket of the wrong owner');

  // Another owner than the settling one stays a refusal.
  chownSync(join(dir, 'ferry.sock'), 4242, 4242);
  assert.equal(await code(settling.dial()), UNTRUSTED_SOCKET);

  chownSync(join(dir, 'ferry.sock'), owner.uid, owner.gid);
  assert.equal(await code(settling.dial()), 'connected');
});
