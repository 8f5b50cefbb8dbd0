import http from 'node:http';

export interface Submitted {
  /** Index of the submission. */
  i: number;
  /** HTTP status, or 0 when the connection failed (e.g. the server was killed). */
  status: number;
  id?: string;
}

/**
 * Sends `n` asynchronous invocations over keep-alive connections, `concurrency` at a time, and
 * answers what each got. Connection errors are results, not failures: the fault tests kill the
 * server while this runs.
 */
export async function submitMany(
  baseUrl: string,
  path: string,
  indices: number[],
  opts: { concurrency?: number; headers?: (i: number) => Record<string, string>; body?: (i: number) => string } = {},
): Promise<Submitted[]> {
  const url = new URL(path, baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency ?? 32 });
  const out: Submitted[] = [];
  let next = 0;
  const one = (i: number): Promise<Submitted> =>
    new Promise((resolve) => {
      const body = opts.body?.(i) ?? '';
      const req = http.request(url, { method: 'POST', agent, headers: { prefer: 'respond-async', 'content-length': Buffer.byteLength(body), ...opts.headers?.(i) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const s: Submitted = { i, status: res.statusCode ?? 0 };
          if (s.status === 202) s.id = (JSON.parse(Buffer.concat(chunks).toString()) as { id: string }).id;
          resolve(s);
        });
        res.on('error', () => resolve({ i, status: 0 }));
      });
      req.on('error', () => resolve({ i, status: 0 }));
      req.end(body);
    });
  const worker = async (): Promise<void> => {
    while (next < indices.length) out.push(await one(indices[next++]!));
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 32 }, worker));
  agent.destroy();
  return out;
}
