import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requestId } from './ids.js';

test('request ids are unique and shaped as version-4 UUIDs', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 10_000; i++) {
    const id = requestId();
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    seen.add(id);
  }
  assert.equal(seen.size, 10_000);
});

test('request ids are random throughout: no shared part, no count of the calls between two', () => {
  // Across more than one refill of the pool: every part of the id varies from id to id.
  const ids = Array.from({ length: 10_000 }, () => requestId());
  // (4 random hex digits take ~9,270 values in 10,000 draws; 8 and 12 take nearly 10,000.)
  for (const [from, to, least] of [[0, 8, 9_980], [9, 13, 8_800], [24, 36, 9_990]] as const) {
    const distinct = new Set(ids.map((id) => id.slice(from, to))).size;
    assert.ok(distinct >= least, `characters ${from}-${to} take ${distinct} values in 10,000 ids`);
  }
  // Two ids in a row tell nothing of each other: no counter in the last part.
  const last = ids.map((id) => parseInt(id.slice(24), 16));
  assert.ok(last.slice(1).filter((n, i) => n === last[i]! + 1).length < 3, 'the last part counts up');
});
