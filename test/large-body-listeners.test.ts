/**
 * Large bodies through the gateway print no MaxListenersExceededWarning on the server: a long
 * answer backs up on the client many times, and each time the gateway waited for it to drain it
 * used to leave a 'close' listener on the response behind.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { startFerry, disposeFerry, type Ferry } from './support/ferry.js';
import { nodeFn } from './support/helpers.js';

let ferry: Ferry;
before(async () => {
  ferry = await startFerry({ args: ['--driver', 'process', '--unsandboxed'] });
  await ferry.deploy('echo', nodeFn(`export default async (req) => new Response(await req.arrayBuffer());\n`));
  await ferry.deploy('sink', nodeFn(`export default async (req) => String((await req.arrayBuffer()).byteLength);\n`));
});
after(async () => {
  await disposeFerry(ferry);
});

/** A body of `size` bytes sent in 64 KiB chunks (no declared length). */
function chunked(size: number): ReadableStream<Uint8Array> {
  let left = size;
  return new ReadableStream({
    pull(c) {
      const n = Math.min(left, 65_536);
      left -= n;
      if (n > 0) c.enqueue(new Uint8Array(n).fill(7));
      if (left === 0) c.close();
    },
  });
}

/** Reads an answer in small steps, so the server's writes back up on it again and again. */
async function readSlowly(res: Response): Promise<number> {
  const reader = res.body!.getReader();
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return total;
    total += value.length;
    await new Promise((r) => setImmediate(r));
  }
}

test('5 MiB request and answer bodies, declared and chunked: no MaxListenersExceededWarning on the server', { timeout: 60_000 }, async () => {
  const size = 5 * 1024 * 1024;
  for (let round = 0; round < 3; round++) {
    const echoed = await fetch(`${ferry.url}/fn/echo`, { method: 'POST', body: new Uint8Array(size).fill(1) });
    assert.equal(echoed.status, 200);
    assert.equal(await readSlowly(echoed), size);
    const streamed = await fetch(`${ferry.url}/fn/echo`, { method: 'POST', body: chunked(size), duplex: 'half' } as RequestInit);
    assert.equal(await readSlowly(streamed), size);
    const sunk = await fetch(`${ferry.url}/fn/sink`, { method: 'POST', body: chunked(size), duplex: 'half' } as RequestInit);
    assert.equal(await sunk.text(), String(size));
  }
  // Everything the server wrote is in once it has exited and its stderr is closed.
  const closed = ferry.proc.stderr!.readableEnded ? Promise.resolve() : once(ferry.proc.stderr!, 'close');
  await ferry.stop();
  await closed;
  assert.deepEqual(ferry.output.filter((l) => /MaxListenersExceededWarning|Warning:/.test(l)), []);
});
