import { FerryError } from '../errors/index.js';

const namePattern = /^[a-z0-9][a-z0-9-]{0,62}$/;
const versionAliasPattern = /^v\d+$/;

/** Function, version and alias names share one pattern. */
export function isValidName(name: string): boolean {
  return namePattern.test(name);
}

export function assertName(kind: 'function' | 'version' | 'alias' | 'schedule', name: string): void {
  if (!namePattern.test(name)) {
    throw new FerryError('invalid-name', `${kind} name '${truncate(name)}' must match [a-z0-9][a-z0-9-]{0,62}`);
  }
  if (kind === 'version' && name === 'latest') {
    throw new FerryError('invalid-name', `'latest' is reserved: it always means the newest version`);
  }
  if (kind === 'alias' && (name === 'latest' || versionAliasPattern.test(name))) {
    throw new FerryError('invalid-alias', `'${name}' is reserved: aliases cannot be 'latest' or look like a version (v<digits>)`);
  }
}

/** Names the server picks for `POST .../versions`: v1, v2, ... */
export function autoVersionName(seq: number): string {
  return `v${seq}`;
}

function truncate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}
