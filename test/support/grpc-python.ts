/**
 * The Python client of the gRPC front end (grpc-client.py beside this file): Debian's grpcio and
 * protobuf, with stubs generated from Ferry's `.proto` files by Debian's protoc and its gRPC
 * Python plugin into a temp dir (scripts/install-system-deps.sh installs all four).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './ferry.js';

/** The system's Python (not a version manager's shim): Debian's grpcio is installed for it. */
const python = '/usr/bin/python3';

export interface PythonCall {
  service: 'ferry' | 'tinyfaas';
  function: string;
  method?: string;
  path?: string;
  body?: string;
  /** tinyFaaS's `data`; left out: unset. */
  data?: string;
  metadata?: Array<[string, string]>;
}

export interface PythonEnded {
  /** The status code's name (`OK`, `NOT_FOUND`, ...). */
  code: string;
  details?: string;
  trailers?: Record<string, string>;
  status?: number;
  headers?: Array<[string, string]>;
  body?: string;
  response?: string;
}

/** Generates the stubs into a temp dir; answers it (remove it when done). */
export async function pythonStubs(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-grpc-py-'));
  const protoc = spawnSync(
    'protoc',
    ['-I', join(repoRoot, 'proto'), `--python_out=${dir}`, `--grpc_out=${dir}`, '--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin', 'ferry/v1/functions.proto', 'tinyfaas/tinyfaas.proto'],
    { encoding: 'utf8' },
  );
  if (protoc.status !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`protoc failed (${protoc.error?.message ?? protoc.status}): ${protoc.stderr}`);
  }
  return dir;
}

/** Runs `calls` in one Python process, on one channel, in order. */
export function runPythonClient(stubs: string, port: number, calls: PythonCall[]): Promise<PythonEnded[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, [join(repoRoot, 'test/support/grpc-client.py'), stubs, `127.0.0.1:${port}`], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) return reject(new Error(`the Python client exited ${code}: ${err}`));
      try {
        resolve(JSON.parse(out) as PythonEnded[]);
      } catch {
        reject(new Error(`the Python client printed no JSON: ${out} ${err}`));
      }
    });
    child.stdin.end(JSON.stringify(calls));
  });
}
