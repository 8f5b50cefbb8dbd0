/**
 * Functions that stream, for the tests that call them on one node and through a cluster's
 * gateway: server-sent events in lock-step with the client, and a WebSocket echo (an `http`
 * function with the `ws` package). Plus reading `data:` events off a response.
 */
import { join } from 'node:path';
import { repoRoot, type PackageFiles } from './ferry.js';
import { manifest } from './fn.js';
import { treeFiles } from './tree.js';

/**
 * A node function whose stream goes on only when the client, having read an event, calls `/next`
 * on the same instance (hence one instance): three events `1`, `2`, `3`, then the end. A gateway
 * that buffered the stream would deadlock, so it proves incremental delivery with no timing.
 */
export const sseStepFiles: PackageFiles = {
  'ferry.json': manifest({ runtime: 'node', handler: 'index.js', scaling: { maxInstances: 1 } }),
  'package.json': '{"type":"module"}',
  'index.js': `
const enc = new TextEncoder();
let allowed = 0;
let wake = () => {};
export default (req) => {
  if (new URL(req.url).pathname === '/next') { allowed++; wake(); return 'ok'; }
  allowed = 0;
  let i = 0;
  const body = new ReadableStream({
    async pull(controller) {
      if (i > 0) while (allowed < i) await new Promise((r) => { wake = r; });
      i++;
      if (i > 3) return controller.close();
      controller.enqueue(enc.encode('data: ' + i + '\\n\\n'));
    },
  }, { highWaterMark: 0 });
  return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
};
`,
};

/**
 * An `http` function serving a WebSocket on every path: it greets with `hello <path>`, echoes
 * each message as it came (text or binary), and closes with 4001 when sent `leave`; plain HTTP
 * answers `plain http`.
 */
export async function wsEchoFiles(): Promise<PackageFiles> {
  return {
    'ferry.json': manifest({ runtime: 'http', command: ['node', 'server.js'] }),
    'server.js': `
const http = require('http');
const { WebSocketServer } = require('ws');
const server = http.createServer((req, res) => res.end('plain http'));
const wss = new WebSocketServer({ server });
wss.on('connection', (ws, req) => {
  ws.send('hello ' + req.url);
  ws.on('message', (data, isBinary) => {
    if (!isBinary && data.toString() === 'leave') return ws.close(4001, 'asked to leave');
    ws.send(data, { binary: isBinary });
  });
});
server.listen(Number(process.env.PORT), '127.0.0.1');
`,
    ...(await treeFiles(join(repoRoot, 'node_modules/ws'), 'node_modules/ws')),
  };
}

/** Splits `data: x\n\n` events out of a growing text buffer. */
export function takeEvents(buf: { text: string }): string[] {
  const out: string[] = [];
  for (let i = buf.text.indexOf('\n\n'); i >= 0; i = buf.text.indexOf('\n\n')) {
    const block = buf.text.slice(0, i);
    buf.text = buf.text.slice(i + 2);
    const data = block.split('\n').find((l) => l.startsWith('data: '));
    if (data) out.push(data.slice(6));
  }
  return out;
}

/** A reader of `res`'s events: each call answers the next event's data, undefined at the end. */
export function eventReader(res: Response): () => Promise<string | undefined> {
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  const buf = { text: '' };
  return async () => {
    for (;;) {
      const [ev] = takeEvents(buf);
      if (ev !== undefined) return ev;
      const { done, value } = await reader.read();
      if (done) return undefined;
      buf.text += dec.decode(value, { stream: true });
    }
  };
}
