// A microVM outlives no server: a VM whose host leaves its port (the server was killed, so
// nothing will ever stop it) powers off on its own. A child process boots the VM, as a server
// would, and is killed with SIGKILL: it can neither kill QEMU (its own process group) nor run
// any exit handler; the guest's agent sees the port left and the VM ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureMicrovmRoot, microvmMissing } from './support/microvm-root.js';
import { procState } from './support/procs.js';

const why = microvmMissing();
const skip = why && process.env['CI'] !== 'true' ? `the microvm tier cannot run here: ${why}` : false;
const child = fileURLToPath(new URL('./support/vm-then-wait.js', import.meta.url));
const running = (pid: number): boolean => procState(pid) !== undefined && procState(pid) !== 'Z';

test('a microVM whose server was killed powers off: QEMU exits on its own', { skip, timeout: 400_000 }, async (t) => {
  const rootfsDir = await ensureMicrovmRoot();
  const stateDir = await mkdtemp(join(tmpdir(), 'ferry-host-left-'));
  let qemu = 0;
  t.after(async () => {
    if (qemu && running(qemu)) process.kill(qemu, 'SIGKILL');
    await rm(stateDir, { recursive: true, force: true });
  });
  const server = spawn(process.execPath, [child, rootfsDir, stateDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  server.stderr!.on('data', (b: Buffer) => (output += b));
  qemu = await new Promise<number>((resolve, reject) => {
    server.stdout!.on('data', (b: Buffer) => {
      output += b;
      const m = /qemu (\d+)/.exec(output);
      if (m) resolve(Number(m[1]));
    });
    server.once('exit', (code) => reject(new Error(`the VM's host exited (${code}) before the VM booted: ${output.slice(-2000)}`)));
  });
  assert.ok(running(qemu), 'the VM runs');
  server.kill('SIGKILL');
  const until = Date.now() + 120_000;
  while (running(qemu) && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
  assert.equal(running(qemu), false, 'QEMU is gone once its host was killed');
});
