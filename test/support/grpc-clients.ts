/**
 * gRPC clients of Ferry's gRPC front end, as a Node program writes them: @grpc/grpc-js with the
 * `.proto` files Ferry ships (proto/), loaded by @grpc/proto-loader. Each call answers how it
 * ended (value or status, with the trailers), so tests can assert on failures as on answers.
 */
import { createServer } from 'node:net';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { repoRoot } from './ferry.js';

export interface Header {
  name: string;
  value: string;
}

export interface InvokeRequest {
  function: string;
  ref?: string;
  method?: string;
  path?: string;
  headers?: Header[];
  body?: Buffer;
}

export interface InvokeResponse {
  status: number;
  headers: Header[];
  body: Buffer;
}

/** How a call ended: `code` 0 (OK) with its value, or a status with its message and trailers. */
export interface Ended<T> {
  code: grpc.status;
  value: T | undefined;
  details: string;
  /** The trailers (and headers) the server sent, first value per key. */
  trailers: Record<string, string>;
}

export interface StreamEnded extends Ended<undefined> {
  /** The `head` message, when one came (always the first). */
  head: { status: number; headers: Header[] } | undefined;
  /** The body pieces, one per `data` message, in order. */
  chunks: Buffer[];
  /** What came first: `head` before any `data`, as the protocol says. */
  order: string[];
}

export interface CallOptions {
  metadata?: Record<string, string | string[]>;
  /** Milliseconds from now. */
  deadlineMs?: number;
  /** Cancels the call when it aborts. */
  signal?: AbortSignal;
}

/** A free TCP port on 127.0.0.1 (for `--grpc-port`). */
export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

type Unary = (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, value?: unknown) => void) => grpc.ClientUnaryCall;
type ServerStream = (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions) => grpc.ClientReadableStream<unknown>;

/** Clients of both services on `127.0.0.1:port`; `close()` them when done. */
export class GrpcClients {
  private readonly functions: grpc.Client & Record<string, Unary | ServerStream>;
  private readonly tinyFaaS: grpc.Client & Record<string, Unary>;

  constructor(port: number) {
    const def = loadSync(['ferry/v1/functions.proto', 'tinyfaas/tinyfaas.proto'], { includeDirs: [join(repoRoot, 'proto')], keepCase: true, longs: Number, defaults: true, oneofs: true });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      ferry: { v1: { Functions: grpc.ServiceClientConstructor } };
      openfogstack: { tinyfaas: { tinyfaas: { TinyFaaS: grpc.ServiceClientConstructor } } };
    };
    const target = `127.0.0.1:${port}`;
    // Large bodies both ways: the client's own default caps answers at 4 MiB.
    const options = { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 };
    this.functions = new pkg.ferry.v1.Functions(target, grpc.credentials.createInsecure(), options) as never;
    this.tinyFaaS = new pkg.openfogstack.tinyfaas.tinyfaas.TinyFaaS(target, grpc.credentials.createInsecure(), options) as never;
  }

  /** `ferry.v1.Functions/Invoke`. */
  invoke(req: InvokeRequest, opts: CallOptions = {}): Promise<Ended<InvokeResponse>> {
    return unary<InvokeResponse>(this.functions['Invoke'] as Unary, this.functions, req, opts);
  }

  /** `openfogstack.tinyfaas.tinyfaas.TinyFaaS/Request` (`data` left out: unset). */
  request(data: { functionIdentifier: string; data?: string }, opts: CallOptions = {}): Promise<Ended<{ response: string }>> {
    return unary<{ response: string }>(this.tinyFaaS['Request'] as Unary, this.tinyFaaS, data, opts);
  }

  /** `ferry.v1.Functions/InvokeStream`: every message, in order, and how the stream ended. */
  invokeStream(req: InvokeRequest, opts: CallOptions = {}): Promise<StreamEnded> {
    const stream = (this.functions['InvokeStream'] as ServerStream).call(this.functions, req, metadataOf(opts), callOptions(opts));
    opts.signal?.addEventListener('abort', () => stream.cancel());
    const out: StreamEnded = { code: grpc.status.OK, value: undefined, details: '', trailers: {}, head: undefined, chunks: [], order: [] };
    return new Promise((resolve) => {
      stream.on('data', (m: { part?: string; head?: { status: number; headers: Header[] }; data?: Buffer }) => {
        out.order.push(m.part ?? '?');
        if (m.part === 'head') out.head = m.head;
        else if (m.part === 'data') out.chunks.push(m.data!);
      });
      stream.on('error', () => {
        /* the status follows */
      });
      stream.on('status', (s: grpc.StatusObject) => {
        out.code = s.code;
        out.details = s.details;
        out.trailers = firstValues(s.metadata);
        resolve(out);
      });
    });
  }

  close(): void {
    this.functions.close();
    this.tinyFaaS.close();
  }
}

function unary<T>(method: Unary, client: grpc.Client, req: unknown, opts: CallOptions): Promise<Ended<T>> {
  return new Promise((resolve) => {
    let value: T | undefined;
    let error: grpc.ServiceError | null = null;
    let settled = 0;
    let status: grpc.StatusObject | undefined;
    const done = (): void => {
      if (++settled < 2) return;
      resolve({ code: error ? error.code : grpc.status.OK, value, details: error ? error.details : '', trailers: firstValues(error?.metadata ?? status?.metadata) });
    };
    const call = method.call(client, req, metadataOf(opts), callOptions(opts), (err, v) => {
      error = err;
      value = v as T | undefined;
      done();
    });
    call.on('status', (s: grpc.StatusObject) => {
      status = s;
      done();
    });
    opts.signal?.addEventListener('abort', () => call.cancel());
  });
}

function metadataOf(opts: CallOptions): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(opts.metadata ?? {})) for (const x of Array.isArray(v) ? v : [v]) md.add(k, k.endsWith('-bin') ? Buffer.from(x, 'base64') : x);
  return md;
}

function callOptions(opts: CallOptions): grpc.CallOptions {
  return opts.deadlineMs === undefined ? {} : { deadline: Date.now() + opts.deadlineMs };
}

function firstValues(md: grpc.Metadata | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(md?.getMap() ?? {})) out[k] = typeof v === 'string' ? v : v.toString('base64');
  return out;
}

/**
 * The HTTP status Ferry's HTTP surface gives for the same outcome: a function's answer has its
 * own; a failure says it in `ferry-status`; failures of gRPC's own (no trailer) by their code.
 */
export function httpStatusOf(e: Ended<unknown>, answered: number | undefined): number {
  if (e.code === grpc.status.OK) return answered!;
  const s = Number(e.trailers['ferry-status']);
  if (Number.isInteger(s) && s > 0) return s;
  const byCode: Partial<Record<grpc.status, number>> = { [grpc.status.DEADLINE_EXCEEDED]: 504, [grpc.status.RESOURCE_EXHAUSTED]: 413, [grpc.status.UNAVAILABLE]: 503, [grpc.status.NOT_FOUND]: 404, [grpc.status.UNAUTHENTICATED]: 401 };
  return byCode[e.code] ?? 500;
}
