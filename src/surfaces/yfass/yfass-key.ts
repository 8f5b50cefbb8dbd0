import { FerryError } from '../../errors/index.js';
import { assertName } from '../../core/index.js';

/** A YFASS key: `name@version`, or an alias on its own. */
export type YfassKey = { name: string; version: string } | { alias: string };

/** YFASS version strings as its users write them: `a0`, `1.0`, `v2-beta`. */
const yfassVersionPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Parses `{key}` of a route; `versioned`: only `name@version` will do (upload, alias). */
export function parseKey(raw: string, versioned = false): YfassKey {
  let key: string;
  try {
    key = decodeURIComponent(raw);
  } catch {
    throw new FerryError('invalid-name', `key '${raw.slice(0, 80)}' is not valid percent-encoding`);
  }
  const at = key.indexOf('@');
  if (at < 0) {
    if (versioned) throw new FerryError('invalid-name', `key '${key.slice(0, 80)}' must be name@version`);
    assertName('alias', key);
    return { alias: key };
  }
  const name = key.slice(0, at);
  const version = key.slice(at + 1);
  assertName('function', name);
  if (!yfassVersionPattern.test(version)) throw new FerryError('invalid-name', `version '${version.slice(0, 80)}' must be letters, digits, '.', '_' and '-' (at most 63)`);
  return { name, version };
}

/**
 * The Ferry version a YFASS version is stored as: lower case, `.` and `_` become `-` (`1.0` ->
 * `1-0`), so it is also the first label of the host name `{version}.{name}.{domain}`. Two
 * spellings that map to one Ferry version cannot both exist (the second upload answers 409).
 */
export function ferryVersion(yfassVersion: string): string {
  const v = yfassVersion.toLowerCase().replace(/[._]/g, '-');
  assertName('version', v);
  return v;
}
