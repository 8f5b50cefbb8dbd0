/**
 * Warm-up of a pooled node shim. V8 compiles each function the first time it runs, and a first
 * call walks many of them on both sides of the socket (frame decoding, module loading, the
 * request, the answer): ~2 ms of a pooled instance's first call, measured. A pooled shim has time
 * before its function arrives, so it runs one LOAD and a few calls through its own frame server
 * on a private socket, with a stand-in function, before it listens where the host connects.
 * Nothing of it stays visible to the real function: the stand-in is a module of Ferry's own,
 * the environment and working directory are untouched, and the private socket is removed.
 */
import { once } from 'node:events';
import { unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { encodeFrame, encodeHeadFrame, END, FrameDecoder, FrameType, LOAD_STREAM } from '../../frames/codec.js';
import { serveFrames, type CallHandler, type LoadHandler } from '../../shim/frame-server.js';

/** The stand-in function (compiled next to this file). */
export const warmModule = fileURLToPath(new URL('./warm-module.js', import.meta.url));

const calls: Array<{ fields: string[]; body?: string }> = [
  { fields: ['GET', '/', 'warm-1', 'host', 'ferry', 'accept', '*/*'] },
  { fields: ['POST', '/json', 'warm-2', 'host', 'ferry', 'content-type', 'application/json'], body: '{"warm":true}' },
  { fields: ['GET', '/response', 'warm-3', 'host', 'ferry'] },
];

/**
 * Runs a LOAD of `warmModule` (through `onLoad`) and the calls above (through `onCall`) on
 * `<socketPath>.warm`; resolves once every answer came back. Failures are swallowed: warming up
 * is an optimisation, never a reason for a pooled shim not to start.
 */
export async function warmUp(socketPath: string, onCall: CallHandler, onLoad: LoadHandler): Promise<void> {
  const path = `${socketPath}.warm`;
  const server = serveFrames(path, onCall, onLoad);
  try {
    await once(server, 'listening');
    const socket = connect(path);
    await once(socket, 'connect');
    const answered = new Set<number>();
    let wake: (() => void) | undefined;
    const decoder = new FrameDecoder((type, flags, id) => {
      if (type === FrameType.reset || (flags & END) !== 0 || type === FrameType.end) answered.add(id);
      wake?.();
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    const answer = async (id: number): Promise<void> => {
      const deadline = Date.now() + 2000;
      while (!answered.has(id) && Date.now() < deadline) await new Promise<void>((r) => ((wake = r), setTimeout(r, 50).unref()));
    };
    socket.write(encodeFrame(FrameType.load, LOAD_STREAM, Buffer.from(JSON.stringify({ handler: warmModule, env: {}, cwd: process.cwd() }))));
    await answer(LOAD_STREAM);
    for (const [i, c] of calls.entries()) {
      socket.write(encodeHeadFrame(FrameType.request | END, i + 1, c.fields, c.body));
      await answer(i + 1);
    }
    socket.destroy();
  } catch {
    /* see above */
  } finally {
    await server.shutdown(100).catch(() => {});
    try {
      unlinkSync(path);
    } catch {
      /* already gone */
    }
  }
}
