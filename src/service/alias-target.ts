import { assertName, type AliasTarget } from '../core/index.js';
import { FerryError } from '../errors/index.js';

/** An alias PUT body: one version, or weights over versions (a canary). */
export function parseAliasTarget(body: unknown): AliasTarget {
  const b = body as Record<string, unknown> | null;
  if (!b || typeof b !== 'object' || Array.isArray(b)) throw new FerryError('invalid-body', 'expected {"version": "v1"} or {"weights": {"v1": 90, "v2": 10}}');
  const keys = Object.keys(b);
  if (keys.length === 1 && typeof b.version === 'string') {
    assertName('version', b.version);
    return { version: b.version };
  }
  if (keys.length === 1 && b.weights && typeof b.weights === 'object' && !Array.isArray(b.weights)) {
    const weights: Record<string, number> = {};
    for (const [v, w] of Object.entries(b.weights as Record<string, unknown>)) {
      assertName('version', v);
      if (typeof w !== 'number' || !Number.isInteger(w) || w < 0 || w > 1_000_000) throw new FerryError('invalid-body', `weights.${v}: must be a non-negative integer`);
      weights[v] = w;
    }
    const n = Object.keys(weights).length;
    if (n < 1 || n > 16) throw new FerryError('invalid-body', 'weights: name between 1 and 16 versions');
    if (Object.values(weights).every((w) => w === 0)) throw new FerryError('invalid-body', 'weights: at least one weight must be above 0');
    return { weights };
  }
  throw new FerryError('invalid-body', 'expected {"version": "v1"} or {"weights": {"v1": 90, "v2": 10}}');
}

/** Whether the alias sends any calls (or could, by weight) to `version`. */
export function aliasUses(t: AliasTarget, version: string): boolean {
  return 'version' in t ? t.version === version : (t.weights[version] ?? 0) > 0 || version in t.weights;
}
