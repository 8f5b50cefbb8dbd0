import { request, type IncomingHttpHeaders } from 'node:http';

export interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface RawOptions {
  method?: string;
  path: string;
  headers?: Record<string, string | number>;
  /** The whole body (sent with Content-Length unless a transfer-encoding header is given). */
  body?: Buffer;
  /** Or: a body written in `chunkSize` pieces with chunked transfer encoding. */
  chunked?: { data: Buffer; chunkSize: number };
  /**
   * Send only the head (e.g. with a Content-Length over a cap) and wait for an answer that must
   * come from the head alone; the request is torn down once it arrived.
   */
  headersOnly?: boolean;
}

/**
 * One request with node:http on a fresh connection (no pooling), with full control of the
 * headers (Host included, which fetch does not allow). Answers the response, or `{ error }` when
 * the connection failed before any response head arrived (e.g. the server closed it on an
 * oversized upload). Errors after the head (EPIPE of an upload the server stopped reading) are
 * ignored: the answer already arrived.
 */
export function rawRequest(baseUrl: string, opts: RawOptions): Promise<RawAnswer | { error: NodeJS.ErrnoException }> {
  const u = new URL(baseUrl);
  return new Promise((resolve) => {
    let settled = false;
    const done = (v: RawAnswer | { error: NodeJS.ErrnoException }): void => {
      if (!settled) {
        settled = true;
        resolve(v);
      }
    };
    const headers: Record<string, string | number> = { ...opts.headers };
    if (opts.chunked) headers['transfer-encoding'] = 'chunked';
    const req = request({ host: u.hostname, port: u.port, method: opts.method ?? 'GET', path: opts.path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
        if (opts.headersOnly) req.destroy();
      });
      res.on('error', (error) => done({ error }));
      res.on('aborted', () => done({ error: Object.assign(new Error('response aborted'), { code: 'ECONNRESET' }) }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => done({ error }));
    if (opts.headersOnly) {
      req.flushHeaders();
    } else if (opts.chunked) {
      const { data, chunkSize } = opts.chunked;
      let off = 0;
      const pump = (): void => {
        while (off < data.length) {
          const piece = data.subarray(off, off + chunkSize);
          off += piece.length;
          if (!req.write(piece)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    } else {
      req.end(opts.body);
    }
  });
}

export function isAnswer(v: RawAnswer | { error: NodeJS.ErrnoException }): v is RawAnswer {
  return 'status' in v;
}
