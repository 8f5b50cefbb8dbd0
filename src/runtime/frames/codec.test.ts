import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { decodeHead, decodeResponseHead, encodeFrame, encodeHeadFrame, END, FrameDecoder, FrameType, HeadFrames } from './codec.js';

type Seen = { type: number; flags: number; id: number; payload: Buffer };

function collect(): { decoder: FrameDecoder; seen: Seen[] } {
  const seen: Seen[] = [];
  // Payloads are views: copy them, as a consumer keeping them past the callback would.
  const decoder = new FrameDecoder((type, flags, id, payload) => seen.push({ type, flags, id, payload: Buffer.from(payload) }));
  return { decoder, seen };
}

test('head frames round-trip fields and inline body', () => {
  const frame = encodeHeadFrame(FrameType.request | END, 7, ['GET', '/a?b=1', 'rid', 'Host', 'x', 'X-Ünïcode', 'värde'], 'body✓');
  const { decoder, seen } = collect();
  decoder.push(frame);
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.type, FrameType.request);
  assert.equal(seen[0]!.flags, END);
  assert.equal(seen[0]!.id, 7);
  const { fields, body } = decodeHead(seen[0]!.payload);
  assert.deepEqual(fields, ['GET', '/a?b=1', 'rid', 'Host', 'x', 'X-Ünïcode', 'värde']);
  assert.equal(body.toString(), 'body✓');
});

test('frames split at every byte boundary decode the same', () => {
  const frames = [encodeHeadFrame(FrameType.response, 1, ['200', 'a', 'b'], 'x'), encodeFrame(FrameType.data, 1, Buffer.from('hello')), encodeFrame(FrameType.end, 1)];
  const all = Buffer.concat(frames);
  for (let cut = 0; cut <= all.length; cut++) {
    const { decoder, seen } = collect();
    decoder.push(all.subarray(0, cut));
    decoder.push(all.subarray(cut));
    assert.deepEqual(seen.map((s) => s.type), [FrameType.response, FrameType.data, FrameType.end], `cut at ${cut}`);
    assert.equal(seen[1]!.payload.toString(), 'hello');
  }
});

test('a large frame arriving in many small chunks decodes whole', () => {
  const payload = randomBytes(3 * 1024 * 1024 + 17);
  const wire = Buffer.concat([encodeFrame(FrameType.data, 9, payload), encodeFrame(FrameType.end, 9)]);
  const { decoder, seen } = collect();
  for (let off = 0; off < wire.length; off += 1000) decoder.push(wire.subarray(off, off + 1000));
  assert.equal(seen.length, 2);
  assert.ok(seen[0]!.payload.equals(payload));
  assert.equal(seen[1]!.type, FrameType.end);
});

test('a corrupt length is refused instead of buffered', () => {
  const { decoder } = collect();
  const bad = Buffer.alloc(9);
  bad.writeUInt32BE(0xffffffff, 0);
  assert.throws(() => decoder.push(bad), /out of range/);
});

test('a response head decodes to its status and the header list after it, pairs only', () => {
  const payloadOf = (fields: string[], body?: string): Buffer => encodeHeadFrame(FrameType.response | END, 1, fields, body).subarray(9);
  const r = decodeResponseHead(payloadOf(['200', 'content-type', 'text/plain', 'X-Ünï', 'värde'], 'hi'));
  assert.equal(r.status, '200');
  assert.deepEqual(r.headers, ['content-type', 'text/plain', 'X-Ünï', 'värde']);
  assert.equal(r.body.toString(), 'hi');
  assert.deepEqual(decodeResponseHead(payloadOf(['204'])), { status: '204', headers: [], body: Buffer.alloc(0) });
  assert.deepEqual(decodeResponseHead(payloadOf(['200', 'x-a', 'b', 'x-dangling'])).headers, ['x-a', 'b'], 'a name without a value is dropped');
  assert.deepEqual(decodeResponseHead(payloadOf(['200', ''])).headers, [], 'an empty list after the status');
});

test('HeadFrames: the same frames as encodeHeadFrame, whether the head repeats or not', () => {
  const heads = new HeadFrames();
  const cases: Array<[string[], Uint8Array | string | undefined]> = [
    [['200', 'content-type', 'text/plain'], 'héllo'],
    [['200', 'content-type', 'text/plain'], 'other body'],
    [['200', 'content-type', 'text/plain'], new Uint8Array([1, 2, 3])],
    [['200', 'content-type', 'text/plain'], undefined],
    [['201', 'content-type', 'text/plain'], 'x'],
    [['201', 'content-type', 'text/plainer'], 'x'],
    [['201', 'x-ünï', 'värde'], ''],
    [['200', 'x-long', 'v'.repeat(5000)], 'a'],
    [['200', 'x-long', 'v'.repeat(5000)], 'b'],
    [['200', 'content-type', 'text/plain'], 'back'],
  ];
  for (const [i, [fields, body]] of cases.entries()) {
    assert.deepEqual(heads.encode(FrameType.response | END, i + 1, [...fields], body), encodeHeadFrame(FrameType.response | END, i + 1, fields, body), `case ${i}`);
  }
});
