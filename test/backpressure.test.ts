import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { startFerry, disposeFerry, type Ferry } from './support/ferry.js';
import { waitFor, within } from './support/wait.js';

const MiB = 1024 * 1024;
/** What every byte of the streams is: a chunk is intact when it equals as many of these. */
const sevens = Buffer.alloc(MiB, 7);
/** True when `c` holds a byte other than 7 (compared a MiB at a time, not byte by byte in JS). */
function corrupt(c: Buffer): boolean {
  for (let at = 0; at < c.length; at += MiB) {
    const part = c.subarray(at, at + MiB);
    if (!part.equals(sevens.subarray(0, part.length))) return true;
  }
  return false;
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) / 1024;
}

// One server for the file: each test has a function of its own, and the RSS test runs first, on
// the fresh server.
// The timeouts are hang guards: on a quiet machine each test takes seconds, on a loaded one the
// 192 MiB stream alone can take a minute and more.
let ferry: Ferry;
before(async () => {
  ferry = await startFerry();
});
after(() => disposeFerry(ferry));

test('a slow client of a fast stream: every byte arrives and the gateway does not buffer the stream', { timeout: 180_000 }, async () => {
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
          if (corrupt(c)) reject(new Error('corrupt byte'));
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

const sources: Record<'node' | 'python', Record<string, string>> = {
  node: {
    'ferry.json': JSON.stringify({ runtime: 'node', handler: 'index.js', scaling: { maxInstances: 1, concurrency: 10 } }),
    'package.json': '{"type":"module"}',
    'index.js': `const chunk = new Uint8Array(${MiB}).fill(7);
export default (req) => {
  if (new URL(req.url).pathname.endsWith('/quick')) return 'quick';
  let sent = 0;
  return new Response(new ReadableStream({
    pull(c) { if (sent >= ${64 * MiB}) return c.close(); sent += chunk.length; c.enqueue(chunk); },
  }, { highWaterMark: 1 }));
};
`,
  },
  // A whole answer: the shim holds it and sends it as the gateway grants credit.
  python: {
    'ferry.json': JSON.stringify({ runtime: 'python', handler: 'main.py', scaling: { maxInstances: 1, concurrency: 10 } }),
    'main.py': `def handler(request):
    if request.path.endswith('/quick'):
        return 'quick'
    return bytes([7]) * ${64 * MiB}
`,
  },
};

for (const runtime of ['node', 'python'] as const) {
  test(`${runtime}: a slow client holds back only its own response: other calls to the same instance are answered meanwhile`, { timeout: 180_000 }, async () => {
    const total = 64 * MiB;
    const name = `shared-instance-${runtime}`;
    await ferry.deploy(name, sources[runtime]);
    const url = new URL(`${ferry.url}/fn/${name}/stream`);
    let resume!: () => void;
    const streamed = new Promise<number>((resolve, reject) => {
      request({ host: url.hostname, port: url.port, path: url.pathname }, (res) => {
        assert.equal(res.statusCode, 200);
        let n = 0;
        res.pause();
        resume = () => {
          res.on('data', (c: Buffer) => {
            n += c.length;
            if (corrupt(c)) reject(new Error('corrupt byte'));
          });
          res.on('end', () => resolve(n));
          res.resume();
        };
      })
        .on('error', reject)
        .end();
    });
    await waitFor('the response to start', () => resume !== undefined);
    // The stalled response fills its window and the client's socket; the instance must still answer.
    await new Promise((r) => setTimeout(r, 1000));
    // (within() clears its timer: a bare one would hold the file open after the test.)
    const quick = await within('an answer while the other response was stalled', 60_000, fetch(`${ferry.url}/fn/${name}/quick`).then(async (r) => `${r.status} ${await r.text()}`));
    assert.equal(quick, '200 quick');
    const listed = (await (await ferry.api('GET', `/v1/functions/${name}/instances`)).json()) as { instances: unknown[] };
    assert.equal(listed.instances.length, 1, 'both calls were served by the one instance');
    resume();
    assert.equal(await streamed, total);
  });
}
