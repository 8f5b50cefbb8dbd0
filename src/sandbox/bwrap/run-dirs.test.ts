// Instances' run dirs as size-capped tmpfs mounts (root only): a write past the cap is ENOSPC on
// that mount, not on the disk below; release and cleanup leave plain, empty directories.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { Mounter, mountdAvailable, mountdPath } from './mounter.js';
import { RUN_DIR_BYTES, RUN_DIR_FILES, RunDirs } from './run-dirs.js';
import { mountsUnder } from './slots.js';
import { need } from '../../../test/support/must-work.js';

const work = mkdtempSync(join(tmpdir(), 'ferry-run-dirs-'));
const mounter = new Mounter();
const runDirs = new RunDirs(mounter, 2_000_000);
after(async () => {
  await runDirs.cleanup(work);
  await mounter.close();
  rmSync(work, { recursive: true, force: true });
});

function ready(t: TestContext): boolean {
  return need(t, process.getuid?.() === 0, 'run dir mounts need root') && need(t, mountdAvailable(), 'ferry-mountd is not built (node scripts/build-native.mjs)');
}

const mountLine = (point: string): string | undefined => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === point);

test('a run dir is a tmpfs of its own: 0700, the sandbox user\'s, nosuid/nodev/noexec, capped in bytes and files', async (t) => {
  if (!ready(t)) return;
  const dir = join(work, 'a');
  mkdirSync(dir, { mode: 0o700 });
  await runDirs.prepare(dir);
  const line = mountLine(dir) ?? '';
  assert.match(line, / - tmpfs ferry-run /);
  assert.match(line, /nosuid,nodev,noexec/);
  const st = statSync(dir);
  assert.deepEqual([st.mode & 0o777, st.uid, st.gid], [0o700, 2_000_000, 2_000_000]);
  // Even root writes no more than the cap into it.
  assert.throws(() => writeFileSync(join(dir, 'big'), Buffer.alloc(RUN_DIR_BYTES + 4096)), (e: NodeJS.ErrnoException) => e.code === 'ENOSPC');
  rmSync(join(dir, 'big'), { force: true });
  assert.throws(() => {
    for (let i = 0; i <= RUN_DIR_FILES; i++) writeFileSync(join(dir, `f${i}`), '');
  }, (e: NodeJS.ErrnoException) => e.code === 'ENOSPC');
  await runDirs.release(dir);
  assert.equal(mountLine(dir), undefined);
  assert.deepEqual(readdirSync(dir), [], 'what was written went with the mount');
  await runDirs.release(dir); // idempotent
});

test('cleanup unmounts every run dir a killed server left, not the root itself', async (t) => {
  if (!ready(t)) return;
  for (const id of ['b', 'c']) {
    mkdirSync(join(work, id));
    await runDirs.prepare(join(work, id));
  }
  assert.deepEqual((await runDirs.cleanup(work)).sort(), [join(work, 'b'), join(work, 'c')]);
  assert.deepEqual(mountsUnder(work), []);
});

test('mountd refuses a run dir of no size, root as its owner, or a malformed request', async (t) => {
  if (!ready(t)) return;
  const dir = join(work, 'd');
  mkdirSync(dir);
  await assert.rejects(mounter.runfs(dir, 0, 10, 1000), /bad runfs request/);
  await assert.rejects(mounter.runfs('relative', 1024, 10, 1000), /bad runfs request/);
  // The service checks for itself too (it runs as root).
  const answers = await rawRequests([
    `runfs\t${dir}\t1024\t10\t0`,
    `runfs\t${dir}\t0\t10\t1000`,
    `runfs\t${dir}\t1k\t10\t1000`,
    `runfs\t${dir}\t1024\t10\t-1`,
    `runfs\t${dir}\t1024\t10`,
    `runfs\t${dir}\t1024\t10\t1000\textra`,
  ]);
  assert.deepEqual(answers.map((a) => a.replace(/ .*/, '')), ['err', 'err', 'err', 'err', 'err', 'err'], answers.join('\n'));
  assert.equal(mountLine(dir), undefined);
});

/** The answers of a fresh mount service to raw request lines. */
function rawRequests(lines: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(mountdPath(), [], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.once('error', reject);
    child.once('close', () => resolve(out.trim().split('\n')));
    child.stdin.end(lines.map((l) => `${l}\n`).join(''));
  });
}
