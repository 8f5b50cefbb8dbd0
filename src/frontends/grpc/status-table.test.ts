import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { status as Status } from '@grpc/grpc-js';
import { codes, FerryError, type ErrorCode } from '../../errors/index.js';
import { failureStatus, grpcCodeOf } from './status-table.js';

const docs = new URL('../../../../docs/protocols.md', import.meta.url);

test("docs/protocols.md's status table is the code's: named codes, then any other code by its HTTP status", () => {
  const text = readFileSync(docs, 'utf8');
  const section = text.slice(text.indexOf('## gRPC'));
  const rows = [...section.matchAll(/^\| (?:`([a-z-]+)`|any other) \| (\d{3}) \| `([A-Z_]+)` \|/gm)];
  assert.ok(rows.length > 10, 'the status table is in the gRPC section');
  const named = new Map(rows.filter((m) => m[1]).map((m) => [m[1]!, { http: Number(m[2]), grpc: m[3]! }]));
  const byStatus = new Map(rows.filter((m) => !m[1]).map((m) => [Number(m[2]), m[3]!]));
  for (const [code, row] of named) {
    assert.ok(code in codes, `docs/protocols.md names ${code}, which is no code`);
    assert.equal(row.http, codes[code as ErrorCode].status, `HTTP status of ${code}`);
  }
  for (const code of Object.keys(codes) as ErrorCode[]) {
    const http = codes[code].status;
    const doc = named.get(code)?.grpc ?? byStatus.get(http);
    assert.ok(doc, `docs/protocols.md gives ${code} (HTTP ${http}) no gRPC status`);
    assert.equal(Status[grpcCodeOf(code, http)], doc, `gRPC status of ${code}`);
  }
});

test("a failure's status carries its code, HTTP status, request id and headers as trailers", () => {
  const s = failureStatus(new FerryError('unauthorized', 'a token please', { headers: { 'WWW-Authenticate': 'Bearer' } }), 'rid-1');
  assert.equal(s.code, Status.UNAUTHENTICATED);
  assert.equal(s.details, 'a token please');
  assert.deepEqual(s.metadata!.getMap(), { 'ferry-code': 'unauthorized', 'ferry-status': '401', 'x-request-id': 'rid-1', 'www-authenticate': 'Bearer' });
});
