/**
 * Test helpers: throw-away directories, and unpack assertions that check nothing was written
 * outside the destination.
 */
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { FerryError, type ErrorCode } from '../../src/errors/index.js';
import { unpackArchive } from '../../src/packages/unpack.js';
import type { UnpackLimits, UnpackResult } from '../../src/packages/tree-writer.js';
import { bodyOf } from './archive-writers.js';

export const defaultLimits: UnpackLimits = { maxEntries: 100, maxBytes: 1024 * 1024 };

const created: string[] = [];

/** Removes every sandbox made so far (call from `after`). */
export async function removeSandboxes(): Promise<void> {
  await Promise.all(created.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

/** A fresh `base/dest`; everything a test does must stay below `dest`. */
export async function sandbox(): Promise<{ base: string; dest: string }> {
  const base = await mkdtemp(join(tmpdir(), 'ferry-unpack-'));
  created.push(base);
  const dest = join(base, 'dest');
  await mkdir(dest);
  return { base, dest };
}

/** Every path below `dir`, relative, without following symlinks. */
export async function listTree(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(join(dir, rel))).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    out.push(r);
    if ((await lstat(join(dir, r))).isDirectory()) out.push(...(await listTree(dir, r)));
  }
  return out;
}

/** Unpacks into a sandbox and asserts success; answers the result and dest. */
export async function unpackOk(body: Buffer | Readable, type: string, lim = defaultLimits): Promise<{ result: UnpackResult; dest: string; base: string }> {
  const { base, dest } = await sandbox();
  const result = await unpackArchive(Buffer.isBuffer(body) ? bodyOf(body) : body, type, dest, lim);
  assert.deepEqual(await readdir(base), ['dest'], 'no temp files left beside dest');
  return { result, dest, base };
}

/**
 * Unpacks into a sandbox, asserts the FerryError code, and that nothing was written outside dest
 * (the only thing in base is dest itself).
 */
export async function unpackFails(body: Buffer | Readable, type: string, code: ErrorCode, lim = defaultLimits): Promise<string> {
  const { base, dest } = await sandbox();
  const err = await unpackArchive(Buffer.isBuffer(body) ? bodyOf(body) : body, type, dest, lim).then(
    () => assert.fail(`expected ${code}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof FerryError, `expected a FerryError, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  assert.deepEqual(await readdir(base), ['dest'], 'nothing written outside dest, no temp files');
  return dest;
}

export async function mode(p: string): Promise<number> {
  return (await lstat(p)).mode & 0o7777;
}

