import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { once } from 'node:events';
import * as tar from 'tar';
import { CmdlineWatch } from './cmdline-leaks.js';

export const repoRoot = new URL('../../../', import.meta.url).pathname;
export const cliPath = join(repoRoot, 'dist/src/cli/main.js');

export interface Ferry {
  url: string;
  token: string;
  dataDir: string;
  proc: ChildProcess;
  /** Every line the server printed. */
  output: string[];
  /** Every answer body `api()` got, for the leak check in `disposeFerry`. */
  answers: string[];
  /** The process table, watched while the server runs, for the leak check in `disposeFerry`. */
  cmdlines: CmdlineWatch;
  /** Management API call with the admin token. */
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  /** Uploads a package made of `files`; answers the version JSON (throws on non-201). `query`: e.g. `?check=false`. */
  deploy(name: string, files: PackageFiles, version?: string, query?: string): Promise<{ version: string; url: string }>;
  /** SIGTERM and wait; answers the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export type PackageFiles = Record<string, string | { content: string; mode: number }>;

/** Starts the real `ferry server` on a free port with a temporary data dir. */
export async function startFerry(opts: { args?: string[]; env?: Record<string, string>; dataDir?: string; prefix?: string[] } = {}): Promise<Ferry> {
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'ferry-test-')));
  // `prefix`: a command that sets the host up for the server, then execs it (same pid: signals reach it).
  const argv = [...(opts.prefix ?? []), process.execPath, cliPath, 'server', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, ...(opts.args ?? [])];
  const proc = spawn(argv[0]!, argv.slice(1), {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const listening = new Promise<string>((resolve, reject) => {
    let buf = '';
    const onData = (chunk: Buffer): void => {
      buf += chunk.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const line of lines) {
        output.push(line);
        const m = /Ferry listening on (http:\/\/[^"\s]+)/.exec(line);
        if (m) resolve(m[1]!);
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', (c: Buffer) => output.push(...c.toString().split('\n').filter(Boolean)));
    proc.once('exit', (code) => reject(new Error(`ferry server exited (${code}) before listening:\n${output.join('\n')}`)));
    setTimeout(() => reject(new Error(`ferry server did not start in 30 s:\n${output.join('\n')}`)), 30_000).unref();
  });
  let url: string;
  try {
    url = await listening;
  } catch (err) {
    // A server that never listened leaves nothing behind: no process, no data dir of ours.
    proc.kill('SIGKILL');
    if (opts.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const token = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
  const answers: string[] = [];
  const api = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> => {
    const h: Record<string, string> = { authorization: `Bearer ${token}`, ...headers };
    let payload: BodyInit | undefined;
    if (body instanceof Uint8Array || typeof body === 'string') payload = body as BodyInit;
    else if (body !== undefined) {
      payload = JSON.stringify(body);
      h['content-type'] ??= 'application/json';
    }
    const res = await fetch(url + path, { method, headers: h, body: payload });
    // Read from a copy as it arrives, so the caller's body is untouched (streams stay streams).
    res.clone().text().then((t) => answers.push(t), () => {});
    return res;
  };
  const ferry: Ferry = {
    url,
    token,
    dataDir,
    proc,
    output,
    answers,
    // No password, secret value or token on any command line, while instances run too.
    cmdlines: new CmdlineWatch(() => [...sensitive, token], proc.pid),
    api,
    async deploy(name, files, version, query = '') {
      const archive = await packFiles(files);
      const res = version
        ? await api('PUT', `/v1/functions/${name}/versions/${version}${query}`, archive, { 'content-type': 'application/gzip' })
        : await api('POST', `/v1/functions/${name}/versions${query}`, archive, { 'content-type': 'application/gzip' });
      const json = (await res.json()) as { version: string; url: string };
      if (res.status !== 201) throw new Error(`deploy ${name} answered ${res.status}: ${JSON.stringify(json)}`);
      return json;
    },
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill(signal);
      const [code] = (await once(proc, 'exit')) as [number | null];
      return code;
    },
  };
  return ferry;
}

/** Passwords and secret values a test used: no server log line or API answer may hold one. */
const sensitive = new Set<string>();

/** Registers values that must never appear in a server's log or in an answer of its API. */
export function markSensitive(...values: string[]): void {
  for (const v of values) if (v.length >= 8) sensitive.add(v);
}

/**
 * Stops the server and removes its data dir (for t.after), after the leak check: every line the
 * server printed and every answer `api()` got is searched for each value `markSensitive` named,
 * and so was every command line of the host while the server ran (see cmdline-leaks.ts).
 */
export async function disposeFerry(f: Ferry): Promise<void> {
  const leaks = f.cmdlines.stop();
  await f.stop();
  await rm(f.dataDir, { recursive: true, force: true });
  for (const v of sensitive) {
    for (const line of f.output) if (line.includes(v)) leaks.push(`server log: ${line.slice(0, 200)}`);
    for (const a of f.answers) if (a.includes(v)) leaks.push(`API answer: ${a.slice(0, 200)}`);
  }
  if (leaks.length) throw new Error(`a password, secret value or token leaked:\n${leaks.join('\n')}`);
}

/** Writes `files` into a fresh temp folder (modes kept) and answers its path. */
export async function writeFiles(files: PackageFiles): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-pkg-'));
  for (const [name, spec] of Object.entries(files)) {
    const p = join(dir, name);
    await mkdir(dirname(p), { recursive: true });
    const content = typeof spec === 'string' ? spec : spec.content;
    await writeFile(p, content);
    if (typeof spec !== 'string') await chmod(p, spec.mode);
  }
  return dir;
}

/** A tar.gz of `files`, as `ferry deploy` would upload it. */
export async function packFiles(files: PackageFiles): Promise<Uint8Array> {
  const dir = await writeFiles(files);
  try {
    const chunks: Buffer[] = [];
    const stream = tar.c({ gzip: true, cwd: dir, portable: true }, Object.keys(files));
    for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
    return new Uint8Array(Buffer.concat(chunks));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A starter of servers that the test's end disposes of, the last started first (they may share a
 * data dir, which the first one's disposal removes).
 */
export function serverStarter(t: { after(fn: () => Promise<void>): void }): (opts?: Parameters<typeof startFerry>[0]) => Promise<Ferry> {
  const started: Ferry[] = [];
  t.after(async () => {
    for (const f of started.reverse()) await disposeFerry(f);
  });
  return async (opts = {}) => {
    const f = await startFerry(opts);
    started.push(f);
    return f;
  };
}
