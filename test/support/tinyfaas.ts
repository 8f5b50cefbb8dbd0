import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath, repoRoot } from './ferry.js';

/** tinyFaaS's management scripts and test functions, as its users have them. */
export const tinyDir = join(repoRoot, 'test/tinyfaas');

/** A `ferry tinyfaas` process on free ports with a temporary data dir. */
export interface TinyFerry {
  /** The management API (Ferry's main listener). */
  manager: string;
  /** The tinyFaaS HTTP endpoint, when on. */
  http: string | undefined;
  httpPort: number | undefined;
  dataDir: string;
  token: string;
  proc: ChildProcess;
  output: string[];
  /** Runs one of tinyFaaS's scripts against this server: its stdout. */
  script(name: string, ...args: string[]): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** A TCP port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  s.close();
  await once(s, 'close');
  return port;
}

/** Starts `ferry tinyfaas` with `env` (HTTP_PORT, ...) and `args`, its management API on a free port. */
export async function startTinyFerry(o: { env?: Record<string, string>; args?: string[] } = {}): Promise<TinyFerry> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ferry-tinyfaas-'));
  const proc = spawn(process.execPath, [cliPath, 'tinyfaas', '--port', '0', '--data-dir', dataDir, ...(o.args ?? [])], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  let http: string | undefined;
  const manager = await new Promise<string>((resolve, reject) => {
    let buf = '';
    proc.stdout!.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const line of lines) {
        output.push(line);
        const s = /surfaces tinyfaas-http listening on (http:\/\/\S+?)"/.exec(line);
        if (s) http = s[1];
        const m = /Ferry listening on (http:\/\/[^"\s]+)/.exec(line);
        if (m) resolve(m[1]!);
      }
    });
    proc.stderr!.on('data', (c: Buffer) => output.push(...c.toString().split('\n').filter(Boolean)));
    proc.once('exit', (code) => reject(new Error(`ferry tinyfaas exited (${code}) before listening:\n${output.join('\n')}`)));
    setTimeout(() => reject(new Error(`ferry tinyfaas did not start in 30 s:\n${output.join('\n')}`)), 30_000).unref();
  });
  const token = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
  const httpPort = http === undefined ? undefined : Number(new URL(http).port);
  return {
    manager,
    http: httpPort === undefined ? undefined : `http://127.0.0.1:${httpPort}`,
    httpPort,
    dataDir,
    token,
    proc,
    output,
    script: (name, ...args) => runScript(manager, name, args),
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill(signal);
      const [code] = (await once(proc, 'exit')) as [number | null];
      return code;
    },
  };
}

/** Stops the server and removes its data dir (for t.after). */
export async function disposeTinyFerry(f: TinyFerry): Promise<void> {
  await f.stop();
  await rm(f.dataDir, { recursive: true, force: true });
}

function runScript(manager: string, name: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(tinyDir, 'scripts', name), ...args], { cwd: tinyDir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TINYFAAS_MANAGER: manager } });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${name} ${args.join(' ')}: exit ${code}\n${out}${err}`))));
  });
}
