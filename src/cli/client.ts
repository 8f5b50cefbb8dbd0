/**
 * The HTTP client of the Ferry API. JSON calls and log streams go through the global `fetch`;
 * uploads use node:http(s) so the bytes written can be counted, invocations so headers such as
 * Host go out as given. Every call sends the bearer token when there is one.
 */
import { createReadStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { ApiError, CliError } from './errors.js';
import type { Connection } from './config.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';

/** A path template tag that percent-encodes each interpolated segment. */
export function seg(strings: TemplateStringsArray, ...values: string[]): string {
  return strings.reduce((acc, s, i) => acc + s + (i < values.length ? encodeURIComponent(values[i]!) : ''), '');
}

export class Client {
  readonly baseUrl: string;
  readonly token: string | undefined;

  constructor(conn: Connection) {
    this.baseUrl = conn.url.replace(/\/+$/, '');
    this.token = conn.token;
  }

  /** Absolute URL of an API path (`/v1/...`) or of an invocation path (`/fn/...`). */
  url(path: string): string {
    return this.baseUrl + (path.startsWith('/') ? path : `/${path}`);
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    const h: Record<string, string> = { ...extra };
    if (this.token && !Object.keys(h).some((k) => k.toLowerCase() === 'authorization')) h.authorization = `Bearer ${this.token}`;
    return h;
  }

  /** A raw request; network failures become one-line CliErrors. The caller checks `res.ok`. */
  async fetch(method: string, path: string, init: { headers?: Record<string, string>; body?: BodyInit | null; signal?: AbortSignal; redirect?: RequestRedirect } = {}): Promise<Response> {
    const url = this.url(path);
    try {
      return await fetch(url, { ...init, method, headers: this.headers(init.headers) });
    } catch (err) {
      throw networkError(this.baseUrl, err);
    }
  }

  /**
   * A raw node:http(s) request, used for invocations: headers go out exactly as given (`Host`
   * included, which fetch drops) and the answer is not decompressed. Resolves at the response head.
   */
  request(method: string, path: string, headers: Record<string, string>, body?: string | Uint8Array): Promise<http.IncomingMessage> {
    const url = new URL(this.url(path));
    const h = this.headers(headers);
    if (body !== undefined && !Object.keys(h).some((k) => k.toLowerCase() === 'content-length')) h['content-length'] = String(Buffer.byteLength(body));
    return new Promise((resolve, reject) => {
      const req = (url.protocol === 'https:' ? https : http).request(url, { method, headers: h }, resolve);
      req.on('error', (err) => reject(networkError(this.baseUrl, err)));
      req.end(body);
    });
  }

  /** A JSON API call: sends `body` as JSON, returns the parsed answer (undefined when empty). */
  async json<T = unknown>(method: Method, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await this.fetch(method, path, { headers, body: body === undefined ? null : JSON.stringify(body) });
    const text = await res.text();
    if (!res.ok) throw apiError(res.status, res.statusText, res.headers.get('content-type'), text, this.token);
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new CliError(`the server answered ${method} ${path} with invalid JSON`);
    }
  }

  /**
   * Streams the file at `file` (`size` bytes) as the request body; `onProgress` sees the bytes
   * written so far. Stops sending when the server answers early (e.g. 413) and reports that.
   */
  /**
   * Uploads a file. With `onLog`, asks for the build's progress (application/x-ndjson) and hands
   * each build log line over as it arrives; the answer is the outcome line's.
   */
  async upload<T = unknown>(method: Method, path: string, file: string, size: number, contentType: string, onProgress?: (written: number, total: number) => void, onLog?: (line: string) => void, extraHeaders: Record<string, string> = {}): Promise<T> {
    const progress = onLog && buildProgressReader(onLog);
    const accept = onLog ? `${PROGRESS_TYPE}, application/json` : 'application/json';
    const res = await sendFile(new URL(this.url(path)), method, this.headers({ ...extraHeaders, 'content-type': contentType, 'content-length': String(size), accept }), file, size, onProgress, progress?.chunk).catch((err: unknown) => {
      throw networkError(this.baseUrl, err);
    });
    if (progress && res.contentType?.includes(PROGRESS_TYPE)) {
      const outcome = progress.outcome();
      if (!outcome) throw new CliError(`the server's answer to ${method} ${path} ended before its outcome`);
      if (outcome.status < 200 || outcome.status > 299) throw apiError(outcome.status, '', 'application/problem+json', JSON.stringify(outcome.problem ?? {}), this.token);
      return outcome.version as T;
    }
    const text = res.body.toString('utf8');
    if (res.status < 200 || res.status > 299) throw apiError(res.status, res.statusText, res.contentType, text, this.token);
    try {
      return (text ? JSON.parse(text) : undefined) as T;
    } catch {
      throw new CliError(`the server answered ${method} ${path} with invalid JSON`);
    }
  }
}

/** Builds the error of a non-2xx answer from its problem+json document, or from the status line. */
export function apiError(status: number, statusText: string, contentType: string | null | undefined, text: string, token?: string): ApiError {
  let problem: Record<string, unknown> | undefined;
  if (/json/i.test(contentType ?? '') || text.trimStart().startsWith('{')) {
    try {
      const p: unknown = JSON.parse(text);
      if (p && typeof p === 'object' && !Array.isArray(p)) problem = p as Record<string, unknown>;
    } catch {
      // not JSON after all: fall back to the status line
    }
  }
  const code = typeof problem?.code === 'string' ? problem.code : undefined;
  const detail = typeof problem?.detail === 'string' && problem.detail ? problem.detail : typeof problem?.title === 'string' ? problem.title : `HTTP ${status}${statusText ? ` ${statusText}` : ''}`;
  const hint = status === 401 && !token ? ' (no token: set FERRY_TOKEN or --token, or run from the directory holding .ferry/)' : '';
  return new ApiError(status, detail + hint, code, problem);
}

export function networkError(baseUrl: string, err: unknown): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof Error && err.name === 'AbortError') return new CliError('aborted', { cause: err });
  // fetch wraps the system error: TypeError('fetch failed', { cause: Error ECONNREFUSED })
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  const code = cause instanceof Error ? (cause as { code?: unknown }).code : undefined;
  const msg = cause instanceof Error ? cause.message : String(cause);
  const opts: { code?: string; cause: unknown } = { cause: err };
  if (typeof code === 'string' && !msg.includes(code)) opts.code = code;
  return new CliError(`cannot reach ${baseUrl}: ${msg}`, opts);
}

interface RawResponse {
  status: number;
  statusText: string;
  contentType: string | undefined;
  body: Buffer;
}

const PROGRESS_TYPE = 'application/x-ndjson';

/** The last line of an upload's progress: how it ended. */
interface ProgressOutcome {
  status: number;
  version?: unknown;
  problem?: unknown;
}

/** Reads an upload's progress lines as they come: `{"log"}` lines go to `onLog`, the last is the outcome. */
function buildProgressReader(onLog: (line: string) => void): { chunk(c: Buffer, contentType: string | undefined): void; outcome(): ProgressOutcome | undefined } {
  const decoder = new TextDecoder();
  let buf = '';
  let outcome: ProgressOutcome | undefined;
  return {
    chunk(c, contentType) {
      if (!contentType?.includes(PROGRESS_TYPE)) return;
      buf += decoder.decode(c, { stream: true });
      const parts = buf.split('\n');
      buf = parts.pop()!;
      for (const part of parts) {
        if (!part.trim()) continue;
        const value = JSON.parse(part) as { log?: unknown; status?: unknown };
        if (typeof value.log === 'string') onLog(value.log);
        else if (typeof value.status === 'number') outcome = value as ProgressOutcome;
      }
    },
    outcome: () => outcome,
  };
}

function sendFile(url: URL, method: string, headers: Record<string, string>, file: string, size: number, onProgress?: (written: number, total: number) => void, onChunk?: (c: Buffer, contentType: string | undefined) => void): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    let settled = false;
    let responded = false;
    const fail = (err: unknown): void => {
      // Once the server answered (say 413 before reading the body), a write error is expected:
      // the answer is what counts.
      if (settled || responded) return;
      settled = true;
      req.destroy();
      reject(err);
    };
    const req = mod.request(url, { method, headers }, (res) => {
      responded = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        onChunk?.(c, res.headers['content-type']);
      });
      res.on('error', () => undefined);
      res.on('close', () => {
        if (settled) return;
        settled = true;
        const ct = res.headers['content-type'];
        resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', contentType: ct, body: Buffer.concat(chunks) });
      });
    });
    req.on('error', fail);
    const pump = async (): Promise<void> => {
      let written = 0;
      onProgress?.(0, size);
      const src = createReadStream(file);
      try {
        for await (const chunk of src as AsyncIterable<Buffer>) {
          if (responded || settled || req.destroyed) break;
          if (!req.write(chunk)) await waitDrain(req);
          written += chunk.length;
          onProgress?.(written, size);
        }
      } finally {
        src.destroy();
      }
      // Ended even when the answer came first (a small body can be answered before end() ran):
      // an unended request keeps its socket, and the CLI, alive until the server's idle timeout.
      if (!req.destroyed && !req.writableEnded) req.end();
    };
    pump().catch((err: unknown) => fail(new CliError(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err })));
  });
}

function waitDrain(req: http.ClientRequest): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      req.off('drain', ok);
      req.off('error', done);
      req.off('close', ok);
      if (err) reject(err);
      else resolve();
    };
    const ok = (): void => done();
    req.on('drain', ok);
    req.on('error', done);
    req.on('close', ok);
  });
}

/** Splits a byte stream (e.g. application/x-ndjson) into lines, without the trailing newline. */
export async function* lines(body: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of body) {
    buf += decoder.decode(chunk, { stream: true });
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).replace(/\r$/, '');
      buf = buf.slice(i + 1);
      yield line;
    }
  }
  buf += decoder.decode();
  if (buf) yield buf.replace(/\r$/, '');
}
