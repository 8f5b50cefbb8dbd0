import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { setImmediate as turnEnd } from 'node:timers/promises';
import { WriteBatch } from './write-batch.js';

/**
 * A real Writable that records each write it gets; with a small highWaterMark and `slow`, one that
 * reports a full buffer until its write completes a turn later.
 */
function recorder(highWaterMark = 1 << 20, slow = false): { stream: Writable; writes: Buffer[] } {
  const writes: Buffer[] = [];
  const stream = new Writable({
    highWaterMark,
    write(chunk: Buffer, _enc, cb) {
      writes.push(chunk);
      if (slow) setImmediate(cb);
      else cb();
    },
  });
  return { stream, writes };
}

test('the frames of one turn leave as one write, in order', async () => {
  const { stream, writes } = recorder();
  const batch = new WriteBatch(stream, setImmediate);
  for (const s of ['a', 'bc', 'def']) assert.equal(batch.write(Buffer.from(s)), true);
  assert.equal(writes.length, 0, 'nothing before the turn ends');
  await turnEnd();
  assert.deepEqual(writes.map(String), ['abcdef']);
  batch.write(Buffer.from('g'));
  await turnEnd();
  assert.deepEqual(writes.map(String), ['abcdef', 'g']);
});

test('a large frame is written as it is, after what was queued before it', async () => {
  const { stream, writes } = recorder();
  const batch = new WriteBatch(stream, setImmediate);
  const big = Buffer.alloc(64 * 1024, 'x');
  batch.write(Buffer.from('head'));
  batch.write(big);
  batch.write(Buffer.from('tail'));
  assert.equal(writes.length, 2);
  await turnEnd();
  assert.equal(String(writes[0]), 'head');
  assert.equal(writes[1], big, 'not copied');
  assert.equal(String(writes[2]), 'tail');
});

test('false once the stream asks to wait for drain; flush() writes at once; a destroyed stream gets nothing', async () => {
  const { stream, writes } = recorder(8, true);
  const batch = new WriteBatch(stream, setImmediate);
  batch.write(Buffer.from('0123456789'));
  batch.flush();
  assert.equal(writes.length, 1);
  assert.equal(batch.write(Buffer.from('x')), false, 'the stream is over its highWaterMark');
  await new Promise((r) => stream.once('drain', r));
  await turnEnd();
  assert.deepEqual(writes.map(String), ['0123456789', 'x']);
  assert.equal(batch.write(Buffer.from('y')), true);
  stream.destroy();
  await turnEnd();
  assert.deepEqual(writes.map(String), ['0123456789', 'x'], 'nothing after the destroy');
});
