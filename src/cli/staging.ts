/**
 * A function folder as `ferry up` uploads it: the files `ferry deploy` would pack, with the
 * project's configuration merged into ferry.json, and a digest of both that the version carries
 * as a label, so a later run can tell that nothing changed.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { excluded, ignoreRules } from './pack.js';

/** The label that holds the digest of what `ferry up` uploaded. */
export const sourceLabel = 'ferry.up.source';

/** JSON with object keys sorted, so equal values give equal text. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** The relative paths of the files `pack` would put in the package (not ferry.json), sorted. */
export async function packedFiles(dir: string): Promise<string[]> {
  const rules = await ignoreRules(dir);
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(dir, rel))) {
      const path = rel ? `${rel}/${name}` : name;
      const isDir = statSync(join(dir, path)).isDirectory();
      if (excluded(path) || rules.ignores(isDir ? `${path}/` : path)) continue;
      if (isDir) walk(path);
      else if (path !== 'ferry.json') out.push(path);
    }
  };
  walk('');
  return out.sort();
}

/** sha256 of the files (path, executable bit, content) and the manifest. */
export function sourceDigest(dir: string, files: string[], manifest: Record<string, unknown>): string {
  const h = createHash('sha256');
  for (const f of files) {
    const exec = (statSync(join(dir, f)).mode & 0o111) !== 0;
    h.update(`${f}\0${exec ? 'x' : '-'}\0${createHash('sha256').update(readFileSync(join(dir, f))).digest('hex')}\n`);
  }
  h.update(canonicalJson(manifest));
  return h.digest('hex');
}

/** Copies the files into a new temporary folder with `manifest` as its ferry.json; answers the folder. */
export function stage(dir: string, files: string[], manifest: Record<string, unknown>): string {
  const out = mkdtempSync(join(tmpdir(), 'ferry-up-'));
  for (const f of files) {
    mkdirSync(dirname(join(out, f)), { recursive: true });
    copyFileSync(join(dir, f), join(out, f));
  }
  writeFileSync(join(out, 'ferry.json'), JSON.stringify(manifest, null, 2));
  return out;
}
