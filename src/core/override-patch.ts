import { FerryError } from '../errors/index.js';
import { overrideSchema, type ConfigOverride } from './manifest.js';

/**
 * What a PATCH body on a version takes out of its override: a key given as `null` (as in a JSON
 * merge patch, RFC 7396), so the package's `ferry.json`, or else the default, applies again.
 * Any key at the top; in `scaling` and `limits`, which merge key by key, one of theirs.
 */
export interface OverrideRemovals {
  keys: string[];
  scaling: string[];
  limits: string[];
}

const merged = ['scaling', 'limits'] as const;

/** Takes the `null`s out of a PATCH body: the rest is what it sets (checked against the schema next). */
export function splitRemovals(body: unknown): { sets: unknown; removes: OverrideRemovals } {
  const removes: OverrideRemovals = { keys: [], scaling: [], limits: [] };
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { sets: body, removes };
  const known = (keys: object, key: string, at: string): void => {
    if (!Object.hasOwn(keys, key)) throw new FerryError('invalid-body', `configuration: unknown key '${at}${key}'`, { extras: { path: `/${at.replace(/\./g, '/')}${key}` } });
  };
  const sets: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (value === null) {
      known(overrideSchema.properties, key, '');
      removes.keys.push(key);
      continue;
    }
    const section = merged.find((m) => m === key);
    if (section && typeof value === 'object' && !Array.isArray(value)) {
      const kept: Record<string, unknown> = {};
      for (const [sub, v] of Object.entries(value as Record<string, unknown>)) {
        if (v !== null) kept[sub] = v;
        else {
          known(overrideSchema.properties[section].properties, sub, `${section}.`);
          removes[section].push(sub);
        }
      }
      sets[key] = kept;
      continue;
    }
    sets[key] = value;
  }
  return { sets, removes };
}

/** The override after a PATCH: `patch` merged in (`scaling`, `limits` key by key), then `removes` taken out. */
export function applyOverride(o: ConfigOverride, patch: ConfigOverride, removes: OverrideRemovals): ConfigOverride {
  const next: Record<string, unknown> = {
    ...o,
    ...patch,
    scaling: patch.scaling ? { ...o.scaling, ...patch.scaling } : o.scaling,
    limits: patch.limits ? { ...o.limits, ...patch.limits } : o.limits,
  };
  for (const key of removes.keys) delete next[key];
  for (const section of merged) {
    const values = next[section] as Record<string, unknown> | undefined;
    if (!values) continue;
    const left = Object.fromEntries(Object.entries(values).filter(([k]) => !removes[section].includes(k)));
    next[section] = Object.keys(left).length ? left : undefined;
  }
  for (const k of Object.keys(next)) if (next[k] === undefined) delete next[k];
  return next as ConfigOverride;
}
