import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { decodeHead, encodeFrame, encodeHeadFrame, encodeWindow, END, FrameDecoder, FrameType, LOAD_STREAM, STREAM_WINDOW } from '../frames/codec.js';
import { serveFrames, type CallHandler, type FrameServer, type IncomingCall, type LoadHandler } from './frame-server.js';

interface Frame {
  type: number;
  end: boolean;
  id: number;
  payload: Buffer;
}

/** A raw-codec host: sends frames, records every frame and every socket chunk it receives. */
interface Host {
  socket: Socket;
  frames: Frame[];
  chunks: number;
  send(frame: Buffer): void;
  /** Resolves once `n` frames were received in total. */
  until(n: number): Promise<void>;
}

async function start(t: TestContext, onCall: CallHandler, onLoad?: LoadHandler): Promise<{ server: FrameServer; host: Host; path: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-fs-'));
  const path = join(dir, 's.sock');
  writeFileSync(path, 'stale'); // a leftover from an earlier instance must not stop listening
  const server = serveFrames(path, onCall, onLoad);
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  const socket = connect(path);
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  let waiter: { n: number; resolve(): void } | null = null;
  const host: Host = {
    socket,
    frames: [],
    chunks: 0,
    send: (f) => void socket.write(f),
    until: (n) =>
      new Promise((resolve) => {
        if (host.frames.length >= n) return resolve();
        waiter = { n, resolve };
      }),
  };
  const decoder = new FrameDecoder((type, flags, id, payload) => {
    host.frames.push({ type, end: (flags & END) !== 0, id, payload: Buffer.from(payload) });
    if (waiter && host.frames.length >= waiter.n) waiter.resolve();
  });
  socket.on('data', (c: Buffer) => {
    host.chunks++;
    decoder.push(c);
  });
  // Every connection begins with the shim's HELLO (the host's readiness); the tests start after it.
  await host.until(1);
  assert.deepEqual([host.frames[0]!.type, host.frames[0]!.id, host.frames[0]!.payload.length], [FrameType.hello, LOAD_STREAM, 0]);
  host.frames.length = 0;
  host.chunks = 0;
  t.after(() => {
    socket.destroy();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { server, host, path };
}

function request(id: number, method: string, url: string, headers: string[], body?: Buffer, end = true): Buffer {
  return encodeHeadFrame(FrameType.request | (end ? END : 0), id, [method, url, `rid-${id}`, ...headers], body);
}

const tick = (ms = 20): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits for what the host sent to have its effect (a frame crosses a socket: no fixed time is enough on a busy host). */
async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  for (const end = Date.now() + ms; !ok(); await tick(5)) if (Date.now() > end) assert.fail(`not within ${ms} ms: ${what}`);
}

test('respond: one RESPONSE|END frame, no framing headers (the gateway sets the length); the caller\'s dropped', async (t) => {
  const seen: IncomingCall[] = [];
  const { host } = await start(t, (call) => {
    seen.push(call);
    if (call.url === '/none') return call.respond(204, ['x-a', 'b']);
    call.respond(200, ['Content-Type', 'text/plain', 'Content-Length', '999', 'x-multi', '1', 'x-multi', '2'], 'héllo');
  });
  host.send(request(1, 'GET', '/hi?q=1', ['Host', 'example.com', 'X-Test', 'abc']));
  host.send(request(2, 'DELETE', '/none', []));
  await host.until(2);
  const call = seen[0]!;
  assert.equal(call.method, 'GET');
  assert.equal(call.url, '/hi?q=1');
  assert.equal(call.requestId, 'rid-1');
  assert.deepEqual(call.headers, ['Host', 'example.com', 'X-Test', 'abc']);
  assert.equal(call.header('x-test'), 'abc');
  assert.equal(call.header('missing'), undefined);
  assert.equal(call.hasBody, false);
  assert.equal(call.finished, true);

  const [a, b] = host.frames;
  assert.equal(a!.type, FrameType.response);
  assert.ok(a!.end);
  const head = decodeHead(a!.payload);
  assert.deepEqual(head.fields, ['200', 'Content-Type', 'text/plain', 'x-multi', '1', 'x-multi', '2']);
  assert.equal(head.body.toString(), 'héllo');
  assert.deepEqual(decodeHead(b!.payload).fields, ['204', 'x-a', 'b']);
});

test('request bodies: inline, DATA frames, as buffer, web stream and Node Readable', async (t) => {
  const got = new Map<string, string | null>();
  const { host } = await start(t, (call) => {
    void (async () => {
      if (call.url === '/buffered') got.set('buffered', call.bufferedBody()?.toString() ?? null);
      if (call.url === '/web') {
        got.set('web-before', call.bufferedBody() === null ? 'incomplete' : 'complete');
        got.set('web', await new Response(call.bodyStream()).text());
      }
      if (call.url === '/node') {
        let s = '';
        for await (const c of call.bodyReadable()) s += String(c);
        got.set('node', s);
      }
      call.respond(200, [], 'ok');
    })();
  });
  host.send(request(1, 'POST', '/buffered', ['content-length', '5'], Buffer.from('hello')));
  host.send(request(2, 'POST', '/web', ['transfer-encoding', 'chunked'], Buffer.from('a'), false));
  host.send(request(3, 'POST', '/node', [], undefined, false));
  await tick();
  host.send(encodeFrame(FrameType.data, 2, Buffer.from('b')));
  host.send(encodeFrame(FrameType.data, 3, Buffer.from('x')));
  await tick();
  host.send(encodeFrame(FrameType.data | END, 2, Buffer.from('c')));
  host.send(encodeFrame(FrameType.data, 3, Buffer.from('y')));
  host.send(encodeFrame(FrameType.end, 3));
  await host.until(3);
  assert.deepEqual(Object.fromEntries(got), { buffered: 'hello', 'web-before': 'incomplete', web: 'abc', node: 'xy' });
});

test('respondStream: head, one DATA per write, END; large bodies are split in 64 KiB frames', async (t) => {
  const big = Buffer.alloc(2.5 * 1024 * 1024, 7);
  const { host } = await start(t, (call) => {
    if (call.url === '/big') return call.respond(200, [], big);
    call.respondStream(200, ['content-type', 'text/event-stream']);
    call.write('data: 1\n\n');
    setTimeout(() => {
      call.write(Buffer.from('data: 2\n\n'));
      call.end();
      assert.throws(() => call.write('late'), /after end/);
    }, 30);
  });
  host.send(request(1, 'GET', '/sse', []));
  await host.until(2);
  assert.deepEqual(decodeHead(host.frames[0]!.payload).fields, ['200', 'content-type', 'text/event-stream']);
  assert.equal(host.frames[0]!.end, false);
  assert.equal(host.frames[1]!.payload.toString(), 'data: 1\n\n'); // before the second chunk exists
  await host.until(4);
  assert.equal(host.frames[2]!.payload.toString(), 'data: 2\n\n');
  assert.equal(host.frames[3]!.type, FrameType.end);

  host.frames.length = 0;
  host.send(request(2, 'GET', '/big', []));
  const count = Math.ceil(big.length / 65536);
  // The host grants credit as a client would take the bytes; the shim is never more than a
  // window ahead of it.
  let granted = 0;
  while (host.frames.length < count) {
    await host.until(host.frames.length + 1);
    await tick(5);
    const sent = host.frames.slice(1).reduce((n, f) => n + f.payload.length, 0);
    assert.ok(sent - granted <= STREAM_WINDOW, `${sent - granted} bytes ahead of the host's grants`);
    if (sent > granted) host.send(encodeWindow(2, sent - granted));
    granted = sent;
  }
  const [head, ...data] = host.frames;
  assert.equal(head!.type, FrameType.response);
  assert.equal(head!.end, false);
  const { fields, body } = decodeHead(head!.payload);
  assert.deepEqual(fields, ['200', 'content-length', String(big.length)]);
  assert.equal(body.length, 65536);
  assert.ok(data.every((f) => f.type === FrameType.data && f.payload.length <= 65536));
  assert.deepEqual(data.map((f) => f.end), [...Array(count - 2).fill(false), true]);
  assert.ok(Buffer.concat([body, ...data.map((f) => f.payload)]).equals(big));
  assert.equal(host.frames.length, count);
});

test('respondStream: a stream that ends in the turn it started is one complete answer; one still open sends its head at the turn\'s end', async (t) => {
  const { host } = await start(t, (call) => {
    call.respondStream(200, ['content-type', 'text/plain']);
    if (call.url === '/whole') {
      const reused = Buffer.from('ab');
      call.write(reused);
      reused.write('XX'); // the caller's buffer, changed after write() returned
      call.write('cd');
      call.end();
      return;
    }
    if (call.url === '/fails') {
      call.write('partial');
      call.fail('Error: broke');
      return;
    }
    call.write('first');
    void Promise.resolve().then(() => call.write('+more'));
    setTimeout(() => call.end(), 30);
  });
  host.send(request(1, 'GET', '/whole', []));
  await host.until(1);
  await tick(20);
  assert.equal(host.frames.length, 1, 'one frame for the whole answer');
  assert.deepEqual([host.frames[0]!.type, host.frames[0]!.end], [FrameType.response, true]);
  assert.deepEqual(decodeHead(host.frames[0]!.payload).fields, ['200', 'content-type', 'text/plain']);
  assert.equal(decodeHead(host.frames[0]!.payload).body.toString(), 'abcd');

  host.frames.length = 0;
  host.send(request(2, 'GET', '/fails', []));
  await host.until(1);
  await tick(20);
  assert.deepEqual(host.frames.map((f) => f.type), [FrameType.reset], 'nothing of the held answer went out before the failure');

  host.frames.length = 0;
  host.send(request(3, 'GET', '/open', []));
  await host.until(2);
  assert.deepEqual([host.frames[0]!.type, host.frames[0]!.end], [FrameType.response, false]);
  assert.equal(host.frames[1]!.payload.toString(), 'first+more', 'what the turn wrote, in one DATA frame');
  await host.until(3);
  assert.equal(host.frames[2]!.type, FrameType.end);
});

test('flow control: a stream without credit waits; other calls on the connection go on; WINDOW lets it finish', async (t) => {
  const chunk = Buffer.alloc(4 * STREAM_WINDOW, 3);
  let waited = false;
  const { host } = await start(t, (call) => {
    if (call.url === '/small') return call.respond(200, [], 'quick');
    call.respondStream(200, []);
    void (async () => {
      if (!call.write(chunk)) {
        waited = true;
        await call.drained();
      }
      call.end();
    })();
  });
  host.send(request(1, 'GET', '/stream', []));
  await host.until(1 + STREAM_WINDOW / 65536);
  await tick(50);
  const data = (): Buffer[] => host.frames.filter((f) => f.id === 1 && f.type === FrameType.data).map((f) => f.payload);
  assert.equal(Buffer.concat(data()).length, STREAM_WINDOW, 'one window, then the stream waits');
  assert.equal(waited, true, 'write() said to wait');
  // Another call on the same connection is answered while the first one waits.
  host.send(request(2, 'GET', '/small', []));
  await host.until(host.frames.length + 1);
  const answer = host.frames.at(-1)!;
  assert.deepEqual([answer.id, answer.end, decodeHead(answer.payload).body.toString()], [2, true, 'quick']);
  // Credit comes back: the rest of the megabyte, then END.
  for (let granted = STREAM_WINDOW; granted < chunk.length; granted += STREAM_WINDOW) {
    host.send(encodeWindow(1, STREAM_WINDOW));
  }
  // However slow the host: the data comes once the credit is there (bounded, not timed).
  for (let waitedMs = 0; Buffer.concat(data()).length < chunk.length && waitedMs < 20_000; waitedMs += 10) await tick(10);
  assert.equal(Buffer.concat(data()).length, chunk.length);
  const ended = (): boolean => {
    const last = host.frames.filter((f) => f.id === 1).at(-1)!;
    return last.end || last.type === FrameType.end;
  };
  for (let waitedMs = 0; !ended() && waitedMs < 20_000; waitedMs += 10) await tick(10);
  assert.ok(ended(), 'the stream ended');
});

test('fail sends RESET with the reason; a second answer is refused', async (t) => {
  const { host } = await start(t, (call) => {
    call.fail('TypeError: nope');
    call.fail('ignored'); // already finished: no second frame
  });
  host.send(request(1, 'GET', '/', []));
  await host.until(1);
  await tick();
  assert.equal(host.frames.length, 1);
  assert.equal(host.frames[0]!.type, FrameType.reset);
  assert.equal(host.frames[0]!.payload.toString(), 'TypeError: nope');
});

test('host RESET aborts the call: flag, signal, listeners, body stream; late answers are dropped', async (t) => {
  let call!: IncomingCall;
  const { host, server } = await start(t, (c) => {
    call = c;
  });
  host.send(request(5, 'POST', '/', [], Buffer.from('part'), false));
  await until('the call arrives', () => server.inFlight === 1);
  const signal = call.signal;
  const body = call.bodyStream().getReader();
  let listened = 0;
  call.onAbort(() => listened++);
  assert.equal((await body.read()).value?.toString(), 'part');
  const pending = assert.rejects(body.read(), /cancelled/);
  host.send(encodeFrame(FrameType.reset, 5));
  await until('the RESET arrives', () => call.aborted);
  assert.equal(signal.aborted, true);
  assert.equal(listened, 1);
  await pending;
  call.respond(200, [], 'too late'); // silently dropped
  call.onAbort(() => listened++); // runs at once
  assert.equal(listened, 2);
  assert.equal(server.inFlight, 0);
  await tick();
  assert.equal(host.frames.length, 0);
});

test('answers given in the same tick leave in one write', async (t) => {
  const { host } = await start(t, (call) => call.respond(200, [], 'x'));
  const burst = Buffer.concat(Array.from({ length: 200 }, (_, i) => request(i + 1, 'GET', '/', [])));
  host.send(burst);
  await host.until(200);
  assert.ok(host.chunks <= 5, `200 responses arrived in ${host.chunks} chunks`);
  assert.deepEqual(
    host.frames.map((f) => f.id),
    Array.from({ length: 200 }, (_, i) => i + 1),
  );
});

test('the connection closing aborts its calls', async (t) => {
  const calls: IncomingCall[] = [];
  const { host, server } = await start(t, (c) => calls.push(c));
  host.send(request(1, 'GET', '/', []));
  await until('the call arrives', () => calls.length === 1);
  host.socket.destroy();
  await until('the close arrives', () => calls[0]!.aborted);
  assert.equal(server.inFlight, 0);
});

test('shutdown: waits for in-flight calls, flushes their answers, then closes the connection', async (t) => {
  const calls: IncomingCall[] = [];
  const { host, server } = await start(t, (c) => calls.push(c));
  const closed = new Promise((r) => host.socket.once('close', r));
  host.send(request(1, 'GET', '/', []));
  await until('the call arrives', () => calls.length === 1);
  let done = false;
  const stopped = server.shutdown(5000).then(() => (done = true));
  await tick();
  assert.equal(done, false);
  // Answered and shut down in the same tick: the corked frame must still go out.
  calls[0]!.respond(200, [], 'bye');
  await stopped;
  await closed;
  assert.equal(decodeHead(host.frames[0]!.payload).body.toString(), 'bye');
});

test('shutdown: a stuck call does not hold it past the grace period', async (t) => {
  const { host, server } = await start(t, () => {});
  host.send(request(1, 'GET', '/', []));
  await until('the call arrives', () => server.inFlight === 1);
  const t0 = Date.now();
  await server.shutdown(50);
  // The call never answers: waiting for it would never end, so any bound far past 50 ms tells.
  assert.ok(Date.now() - t0 < 10_000);
  assert.equal(server.inFlight, 1);
});

const loadFrame = (spec: unknown): Buffer => encodeFrame(FrameType.load, LOAD_STREAM, Buffer.from(JSON.stringify(spec)));

test('LOAD: the parsed spec reaches onLoad; success is RESPONSE 200 with END on the LOAD stream', async (t) => {
  const seen: unknown[] = [];
  const { host } = await start(t, (call) => call.respond(200, [], 'called'), async (spec) => void seen.push(spec));
  host.send(loadFrame({ handler: '/pkg/i.js', env: { A: '1' }, cwd: '/pkg' }));
  await host.until(1);
  assert.deepEqual(seen, [{ handler: '/pkg/i.js', env: { A: '1' }, cwd: '/pkg' }]);
  const [ack] = host.frames;
  assert.deepEqual([ack!.type, ack!.end, ack!.id, decodeHead(ack!.payload).fields], [FrameType.response, true, LOAD_STREAM, ['200']]);
  // Calls after it are served as usual.
  host.send(encodeHeadFrame(FrameType.request | END, 1, ['GET', '/', 'r1']));
  await host.until(2);
  assert.equal(host.frames[1]!.id, 1);
});

test('LOAD that fails: RESET with the reason, the connection closes, then loadfailed', async (t) => {
  const { server, host } = await start(t, () => assert.fail('no call expected'), async () => {
    throw new Error('no such module');
  });
  const failed = new Promise<unknown>((resolve) => server.once('loadfailed', resolve));
  const closed = new Promise<void>((resolve) => host.socket.once('close', () => resolve()));
  host.send(loadFrame({ handler: 'x', env: {}, cwd: '/' }));
  await host.until(1);
  assert.deepEqual([host.frames[0]!.type, host.frames[0]!.id, host.frames[0]!.payload.toString()], [FrameType.reset, LOAD_STREAM, 'no such module']);
  await closed;
  assert.match(String(await failed), /no such module/);
});

test('LOAD to a shim started with its function is refused with RESET; the connection stays', async (t) => {
  const { host } = await start(t, (call) => call.respond(200, [], 'still here'));
  host.send(loadFrame({ handler: 'x', env: {}, cwd: '/' }));
  await host.until(1);
  assert.equal(host.frames[0]!.type, FrameType.reset);
  assert.match(host.frames[0]!.payload.toString(), /takes no LOAD/);
  host.send(encodeHeadFrame(FrameType.request | END, 1, ['GET', '/', 'r1']));
  await host.until(2);
  assert.equal(host.frames[1]!.type, FrameType.response);
});
