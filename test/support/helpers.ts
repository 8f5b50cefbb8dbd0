/**
 * Helpers shared by the API, archive, OpenAPI, CLI and persistence integration tests. Everything
 * here talks to a real server or a real process; nothing is mocked.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { cliPath, type PackageFiles } from './ferry.js';

/** The fields every problem+json answer carries. */
export interface ProblemDoc {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  [extra: string]: unknown;
}

/**
 * Asserts `res` is an `application/problem+json` answer with `status` and `code`, and that the
 * document has `type`, `title`, `status`, `detail` and `code` with the right types. Answers it.
 */
export async function expectProblem(res: Response, status: number, code: string, what = ''): Promise<ProblemDoc> {
  const text = await res.text();
  const where = `${what ? `${what}: ` : ''}${res.status} ${text}`;
  assert.equal(res.status, status, `expected HTTP ${status} (${code}); got ${where}`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/, `content-type of ${where}`);
  let p: ProblemDoc;
  try {
    p = JSON.parse(text) as ProblemDoc;
  } catch {
    assert.fail(`problem body is not JSON: ${where}`);
  }
  assert.equal(p.code, code, `code of ${where}`);
  assert.equal(p.status, status, `status member of ${where}`);
  assert.equal(typeof p.type, 'string', `type of ${where}`);
  assert.ok(p.type.length > 0, `type of ${where}`);
  assert.equal(typeof p.title, 'string', `title of ${where}`);
  assert.ok(p.title.length > 0, `title of ${where}`);
  assert.equal(typeof p.detail, 'string', `detail of ${where}`);
  assert.ok(p.detail.length > 0, `detail of ${where}`);
  return p;
}

/** A node function package: `ferry.json` (with `manifest` merged in) and an ESM `index.js`. */
export function nodeFn(source: string, manifest: Record<string, unknown> = {}): PackageFiles {
  return {
    'ferry.json': JSON.stringify({ runtime: 'node', handler: 'index.js', ...manifest }),
    'package.json': '{"type":"module"}',
    'index.js': source,
  };
}

/** A node function that answers its version name (`tag` makes the package content distinct). */
export function versionFn(tag = ''): PackageFiles {
  return nodeFn(`// ${tag}\nexport default (req, ctx) => ctx.version;\n`);
}

/**
 * A recursive listing of `dir`: one `path type` string per entry, sorted. `skip(rel)` leaves an
 * entry (and what is below it) out. A missing `dir` lists as empty.
 */
export async function listTree(dir: string, skip: (rel: string) => boolean = () => false): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(join(dir, rel));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && rel === '') return;
      throw err;
    }
    for (const name of names) {
      const r = rel ? `${rel}/${name}` : name;
      if (skip(r)) continue;
      const st = await lstat(join(dir, r));
      const type = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'link' : st.isFile() ? `file:${st.size}` : 'other';
      out.push(`${r} ${type}`);
      if (st.isDirectory()) await walk(r);
    }
  };
  await walk('');
  return out.sort();
}

/**
 * Reads an NDJSON (or any line-based) body incrementally until `match` holds for a line, then
 * aborts the request. Answers every line read. Fails after `timeoutMs`.
 */
export async function readLinesUntil(res: Response, ac: AbortController, match: (line: string) => boolean, timeoutMs = 10_000, onLine?: (line: string) => void): Promise<string[]> {
  assert.ok(res.body, 'the answer has no body');
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const seen: string[] = [];
  let buf = '';
  const timer = setTimeout(() => ac.abort(new Error('timeout')), timeoutMs);
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (err) {
        if (ac.signal.aborted) assert.fail(`no matching line within ${timeoutMs} ms; saw:\n${seen.join('\n')}`);
        throw err;
      }
      if (chunk.done) assert.fail(`the stream ended before a matching line; saw:\n${seen.join('\n')}`);
      buf += decoder.decode(chunk.value, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        seen.push(line);
        onLine?.(line);
        if (match(line)) return seen;
      }
    }
  } finally {
    clearTimeout(timer);
    ac.abort();
    await reader.cancel().catch(() => {});
  }
}

/** How long a CLI run may take before it counts as hung: a hang guard, not a speed check (on a busy machine a deploy with its check takes half a minute and more). */
const cliHangGuardMs = 120_000;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real `ferry` CLI (`node dist/src/cli/main.js ...args`) with a minimal environment
 * (PATH, HOME) plus `env`; an `undefined` value leaves that variable out.
 */
export function runCli(args: string[], opts: { env?: Record<string, string | undefined>; cwd?: string; input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' };
  for (const [k, v] of Object.entries(opts.env ?? {})) if (v !== undefined) env[k] = v;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], { env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ferry ${args.join(' ')} did not finish in ${opts.timeoutMs ?? cliHangGuardMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? cliHangGuardMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Formats a CLI result for assertion messages. */
export function show(r: CliResult): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}

/** Polls `check` until it answers a truthy value (answered) or `timeoutMs` passes (last value). */
export async function until<T>(check: () => Promise<T>, timeoutMs = 5_000, everyMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
