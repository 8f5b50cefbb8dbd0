import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { startFerry, disposeFerry } from './support/ferry.js';

const MiB = 1024 * 1024;

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) / 1024;
}

test('a slow client of a fast stream: every byte arrives and the gateway does not buffer the stream', { timeout: 90_000 }, async (t) => {
  const ferry = await startFerry();
  t.after(() => disposeFerry(ferry));
  const total = 192 * MiB;
  await ferry.deploy('firehose', {
    'ferry.json': JSON.stringify({ runtime: 'node', handler: 'index.js' }),
    'package.json': '{"type":"module"}',
    'index.js': `const chunk = new Uint8Array(${MiB}).fill(7);
export default () => {
  let sent = 0;
  return new Response(new ReadableStream({
    pull(c) { if (sent >= ${total}) return c.close(); sent += chunk.length; c.enqueue(chunk); },
  }, { highWaterMark: 1 }));
};
`,
  });
  const before = rssMiB(ferry.proc.pid!);
  const url = new URL(`${ferry.url}/fn/firehose`);
  let peak = before;
  const received = await new Promise<number>((resolve, reject) => {
    request({ host: url.hostname, port: url.port, path: url.pathname }, (res) => {
      assert.equal(res.statusCode, 200);
      let n = 0;
      res.pause();
      // Read nothing for a while: a gateway without backpressure would now hold the whole stream.
      setTimeout(() => {
        peak = Math.max(peak, rssMiB(ferry.proc.pid!));
        res.on('data', (c: Buffer) => {
          n += c.length;
          if (c.some((b) => b !== 7)) reject(new Error('corrupt byte'));
        });
        res.on('end', () => resolve(n));
        res.resume();
      }, 3000);
    })
      .on('error', reject)
      .end();
  });
  assert.equal(received, total);
  assert.ok(peak - before < 96, `gateway RSS grew by ${Math.round(peak - before)} MiB while the client did not read a ${total / MiB} MiB stream`);
});
