/**
 * The seed-003 function contract, spoken by the exec shim when FERRY_CONTRACT is `seed003`
 * (docs/compat/seed-003.md). Runs in sandboxes: imports only Node built-ins.
 *
 * Per call: the request body (the execution's input, JSON) becomes the command's last argument;
 * the secrets the execution asked for, which Ferry hands over only for the call's own execution
 * and only those its caller may read, become environment variables; and `API_BASE_URL` points
 * at a listener on this namespace's loopback that serves `GET {API_BASE_URL}/{function_id}/{object}`
 * by asking Ferry over the instance's API socket, where Ferry adds the instance's token itself
 * and serves only the objects the execution's `object_inputs` named, with its caller's rights.
 */
import { randomBytes } from 'node:crypto';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';

/** The routes of Ferry's seed-003 surface an instance reaches over its API socket. */
const contractBase = '/api/function-contract/';

/** What one call's command gets besides the shim's own: its last argument and environment. */
export interface ContractCall {
  args: string[];
  env: Record<string, string>;
  /** The call ended: its API_BASE_URL stops answering. */
  release(): void;
}

export class Seed003Contract {
  /** Per-call path prefixes (random, so only the call's own process knows its own) -> execution id. */
  private readonly calls = new Map<string, string>();
  private readonly port: Promise<number>;

  constructor(private readonly apiSocket: string) {
    const server = createServer((req, res) => this.relay(req, res));
    this.port = new Promise((resolve, reject) => {
      server.once('error', reject);
      // Loopback of the instance's own network namespace: nothing outside the sandbox sees it.
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
    });
    server.unref();
  }

  /** Reads the call's input and fetches its secrets: what the command is started with. */
  async prepare(requestId: string, body: Buffer | null, readable: () => Readable): Promise<ContractCall> {
    const input = (body ?? (await readAll(readable()))).toString('utf8');
    const answer = await this.ask(`${contractBase}${encodeURIComponent(requestId)}/env`);
    if (answer.status !== 200) throw new Error(`Ferry refused the call's environment (${answer.status}): ${answer.body.toString('utf8').slice(0, 300)}`);
    const { env } = JSON.parse(answer.body.toString('utf8')) as { env: Record<string, string> };
    const prefix = randomBytes(16).toString('hex');
    this.calls.set(prefix, requestId);
    return {
      args: [input],
      env: { ...env, API_BASE_URL: `http://127.0.0.1:${await this.port}/${prefix}` },
      release: () => this.calls.delete(prefix),
    };
  }

  /** `GET /{prefix}/{function_id}/{object...}` -> Ferry's object route of the call's execution. */
  private relay(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    const url = req.url ?? '/';
    const m = /^\/([0-9a-f]{32})\/([^?]+)/.exec(url);
    const execution = m ? this.calls.get(m[1]!) : undefined;
    if (req.method !== 'GET' && req.method !== 'HEAD') return void plain(res, 405, 'only GET reads an object');
    if (!m || execution === undefined) return void plain(res, 404, 'no such object for this call');
    const upstream = request({ socketPath: this.apiSocket, method: req.method, path: `${contractBase}${encodeURIComponent(execution)}/objects/${m[2]}` }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, pick(answer.headers));
      answer.pipe(res);
    });
    upstream.on('error', (err) => plain(res, 502, `Ferry cannot be reached: ${err.message}`));
    upstream.end();
  }

  private ask(path: string): Promise<{ status: number; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.apiSocket, method: 'GET', path }, (res) => {
        readAll(res).then((body) => resolve({ status: res.statusCode ?? 0, body }), reject);
      });
      req.on('error', reject);
      req.end();
    });
  }
}

/** The headers of an object's answer worth passing on. */
function pick(h: IncomingMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ['content-type', 'content-length', 'etag', 'last-modified']) if (typeof h[k] === 'string') out[k] = h[k];
  return out;
}

function plain(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(`${text}\n`);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}
