import { FerryError } from '../errors/index.js';
import type { TreeEntry } from './tree-hash.js';

/** Bumped if the listing's form ever changes, so old and new hashes can never collide. */
const FORMAT = 'ferry-tree-v1\n';

const FILE_DETAIL = /([x-])\0(\d+)\0([0-9a-f]{64})\n/y;
const TARGET_END = /\n(?=(?:file|dir|symlink)\0|$)/g;

/**
 * A tree's listing: one record per entry, in `walkTree`'s order, `kind NUL path NUL detail LF`
 * (a file's detail: its exec bit, size and sha256; a symlink's: its target). The package's sha is
 * the sha256 of these bytes, so the listing is also the tree's archive: stored as a blob under the
 * package's sha, beside one blob per file content, it is all a node needs to rebuild the tree.
 * Every file entry must carry its `digest`.
 */
export function encodeListing(entries: readonly TreeEntry[]): Buffer {
  const parts = [FORMAT];
  for (const e of entries) {
    // NUL cannot occur in paths or link targets, so these records cannot run into each other.
    let detail = '';
    if (e.kind === 'file') {
      if (!e.digest) throw new FerryError('internal', `listing: ${e.rel} has no digest`);
      detail = `${e.exec ? 'x' : '-'}\0${e.size}\0${e.digest}`;
    } else if (e.kind === 'symlink') {
      detail = e.target ?? '';
    }
    parts.push(`${e.kind}\0${e.rel}\0${detail}\n`);
  }
  return Buffer.from(parts.join(''), 'utf8');
}

/**
 * The entries of a listing. Paths and targets never hold NUL, so a record's kind and path end at
 * a NUL; a file's detail has a fixed form; a symlink's target (which may hold a newline) ends at
 * the first newline that a kind and NUL follow, or at the end. Throws `internal` on anything
 * else: the caller checked the listing's sha256 first, so that is a bug, not an attack.
 */
export function decodeListing(listing: Buffer): TreeEntry[] {
  const text = listing.toString('utf8');
  if (!text.startsWith(FORMAT)) throw new FerryError('internal', 'not a ferry-tree-v1 listing');
  const bad = (at: number): FerryError => new FerryError('internal', `a tree listing does not parse at byte ${at}`);
  const out: TreeEntry[] = [];
  let pos = FORMAT.length;
  while (pos < text.length) {
    const k = text.indexOf('\0', pos);
    const r = k < 0 ? -1 : text.indexOf('\0', k + 1);
    if (r < 0 || r === k + 1) throw bad(pos);
    const kind = text.slice(pos, k);
    const rel = text.slice(k + 1, r);
    if (kind === 'dir') {
      if (text[r + 1] !== '\n') throw bad(r);
      out.push({ rel, kind, size: 0, exec: false });
      pos = r + 2;
    } else if (kind === 'file') {
      FILE_DETAIL.lastIndex = r + 1;
      const m = FILE_DETAIL.exec(text);
      if (!m) throw bad(r);
      out.push({ rel, kind, size: Number(m[2]), exec: m[1] === 'x', digest: m[3]! });
      pos = FILE_DETAIL.lastIndex;
    } else if (kind === 'symlink') {
      TARGET_END.lastIndex = r + 1;
      const m = TARGET_END.exec(text);
      if (!m) throw bad(r);
      out.push({ rel, kind, size: 0, exec: false, target: text.slice(r + 1, m.index) });
      pos = m.index + 1;
    } else {
      throw bad(pos);
    }
  }
  return out;
}
