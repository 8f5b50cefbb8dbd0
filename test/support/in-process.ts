/**
 * Ferry built in this process (`createServer`), for tests that call the invocation pipeline
 * directly, with no socket between them and Ferry (like hono's `app.request()`), or that hand the
 * server parts of their own (a surface). Functions run under the process driver: real instances,
 * started and reached as in any server.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { loadServerOptions, type ServerOptions } from '../../src/config/index.js';
import type { Invocation, InvocationOutcome } from '../../src/core/index.js';
import { createLogger } from '../../src/observe/index.js';
import { createServer, type FerryServer, type ServerParts } from '../../src/server/create-server.js';
import { MemoryWriter } from '../../src/service/index.js';
import { packFiles, type PackageFiles } from './ferry.js';

export interface InProcessFerry {
  server: FerryServer;
  url: string;
  token: string;
  dataDir: string;
  /** Uploads a package through the management API (set-up only); throws on non-201. */
  deploy(name: string, files: PackageFiles): Promise<void>;
  /** Management API call with the admin token. */
  api(method: string, path: string, body?: unknown): Promise<Response>;
  /** One invocation through the pipeline, in process; the answer is kept in memory. */
  invoke(inv: Partial<Invocation> & { function: string }, body?: string | Buffer): Promise<{ out: InvocationOutcome; writer: MemoryWriter; text: string }>;
  close(): Promise<void>;
}

/** Flags as `ferry server` takes them (by ServerOptions key); port 0, the process driver, quiet. */
export async function startInProcess(flags: Partial<Record<keyof ServerOptions, string | number | boolean>> = {}, parts: ServerParts = {}): Promise<InProcessFerry> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ferry-inproc-'));
  const opts = loadServerOptions({ port: 0, host: '127.0.0.1', dataDir, driver: 'process', unsandboxed: true, poolSize: 0, ...flags }, {});
  let server: FerryServer;
  try {
    server = await createServer(opts, createLogger('silent'), parts);
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const token = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
  const api = (method: string, path: string, body?: unknown): Promise<Response> =>
    fetch(server.url + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  return {
    server,
    url: server.url,
    token,
    dataDir,
    api,
    async deploy(name, files) {
      const res = await fetch(`${server.url}/v1/functions/${name}/versions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/gzip' },
        body: (await packFiles(files)) as BodyInit,
      });
      if (res.status !== 201) throw new Error(`deploy ${name} answered ${res.status}: ${await res.text()}`);
    },
    async invoke(partial, body) {
      const bytes = body === undefined ? undefined : Buffer.from(body);
      const inv: Invocation = {
        ref: undefined,
        method: 'GET',
        path: '/',
        headers: [],
        body: bytes ? Readable.from([bytes], { objectMode: false }) : undefined,
        bodyLength: bytes?.length,
        requestId: undefined,
        credential: undefined,
        principal: undefined,
        deadline: undefined,
        mode: 'sync',
        ...partial,
      };
      const writer = new MemoryWriter(16 * 1024 * 1024);
      const out = await server.invoke(inv, writer);
      return { out, writer, text: writer.body().toString() };
    },
    async close() {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
