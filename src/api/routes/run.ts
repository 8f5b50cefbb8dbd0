import type { ServerResponse } from 'node:http';
import { FerryError } from '../../errors/index.js';
import type { AdHocRunner, RunOutcome, RunRequest } from '../../scheduler/index.js';
import { findRunImage, withImageRoot, type Catalog } from '../../service/index.js';
import { sandboxTiers, type DeployTarget, type SandboxTier } from '../../core/index.js';
import { isAdmin, type Principal } from '../../auth/index.js';
import type { ApiContext, RouteDef } from '../route.js';
import { callerGone } from '../../util/caller-gone.js';

export interface RunRouteDeps {
  runner: AdHocRunner;
  /** `--allow-run`: without it every run answers `run-disabled`. */
  allowed: boolean;
  /** Largest payload (`--max-body`). */
  maxPayloadBytes: number;
  /** Where the image a run names is found (service/run-image.ts). */
  catalog: Catalog;
  /** The image version's package (its root file system) on this host. */
  packageDir(target: DeployTarget): Promise<string>;
  /** The sandbox tiers this server runs (`--driver` and `--sandbox-tiers`). */
  tiers: readonly string[];
  /** The tiers only permission:admin may ask for (`--admin-tiers`). */
  adminTiers: readonly string[];
}

/** `sandbox`, the tier a run asks for: one this server runs, and one the caller may ask for. */
function tierOf(d: RunRouteDeps, caller: Principal, asked: unknown, where: 'invalid-body' | 'invalid-query'): SandboxTier | undefined {
  if (asked === undefined || asked === null) return undefined;
  if (typeof asked !== 'string' || !(sandboxTiers as readonly string[]).includes(asked)) throw new FerryError(where, `sandbox: one of ${sandboxTiers.join(', ')}`);
  if (!d.tiers.includes(asked)) throw new FerryError('tier-unavailable', `sandbox tier '${asked}' is not enabled on this server (enabled: ${d.tiers.join(', ')})`);
  if (d.adminTiers.includes(asked) && !isAdmin(caller)) throw new FerryError('forbidden', `sandbox tier '${asked}' needs permission:admin on this server (--admin-tiers)`);
  return asked as SandboxTier;
}

/** Output as JSON can carry it: text when both streams are UTF-8, else both base64. */
export function outputFields(o: Pick<RunOutcome, 'stdout' | 'stderr'>): { stdout: string; stderr: string; encoding: 'utf8' | 'base64' } {
  const isText = (b: Buffer) => Buffer.from(b.toString('utf8'), 'utf8').equals(b);
  if (isText(o.stdout) && isText(o.stderr)) return { stdout: o.stdout.toString('utf8'), stderr: o.stderr.toString('utf8'), encoding: 'utf8' };
  return { stdout: o.stdout.toString('base64'), stderr: o.stderr.toString('base64'), encoding: 'base64' };
}

/** `{K: V}` of strings, the environment of the run. */
function envOf(v: unknown): Record<string, string> {
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new FerryError('invalid-body', 'env: an object of strings');
  for (const [k, x] of Object.entries(v)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) || typeof x !== 'string' || x.includes('\0')) throw new FerryError('invalid-body', `env.${k}: a variable name and a string value`);
  }
  return v as Record<string, string>;
}

/** The run a request asks for: JSON `{command, env, payload (base64), timeout_ms, stream, image, sandbox}`, or a raw body with `?command=` repeated (and `?image=`, `?sandbox=`). */
async function requestOf(c: ApiContext, d: RunRouteDeps): Promise<{ run: RunRequest; stream: boolean; image: string | undefined }> {
  const maxPayload = d.maxPayloadBytes;
  const type = (c.req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const streamQuery = c.query.get('stream');
  if (type === 'application/json') {
    const b = (await c.json()) as Record<string, unknown>;
    if (typeof b !== 'object' || b === null || Array.isArray(b)) throw new FerryError('invalid-body', 'expected a JSON object');
    if (!Array.isArray(b.command) || !b.command.every((a) => typeof a === 'string')) throw new FerryError('invalid-body', 'command: an array of strings');
    if (b.payload !== undefined && (typeof b.payload !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(b.payload))) throw new FerryError('invalid-body', 'payload: a base64 string');
    const stdin = Buffer.from((b.payload as string | undefined) ?? '', 'base64');
    if (stdin.length > maxPayload) throw new FerryError('body-too-large', `payload: at most ${maxPayload} bytes (--max-body)`);
    if (b.timeout_ms !== undefined && typeof b.timeout_ms !== 'number') throw new FerryError('invalid-body', 'timeout_ms: a number of milliseconds');
    if (b.stream !== undefined && typeof b.stream !== 'boolean') throw new FerryError('invalid-body', 'stream: a boolean');
    if (b.image !== undefined && (typeof b.image !== 'string' || b.image === '')) throw new FerryError('invalid-body', 'image: a reference or sha256: digest of an image a deployed version carries');
    const tier = tierOf(d, c.principal!, b.sandbox, 'invalid-body');
    return { run: { command: b.command as string[], env: envOf(b.env), stdin, ...(b.timeout_ms !== undefined ? { timeoutMs: b.timeout_ms as number } : {}), ...(tier && { tier }) }, stream: b.stream === true || streamQuery === '1' || streamQuery === 'true', image: b.image as string | undefined };
  }
  const tier = tierOf(d, c.principal!, c.query.get('sandbox') ?? undefined, 'invalid-query');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of c.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxPayload) throw new FerryError('body-too-large', `payload: at most ${maxPayload} bytes (--max-body)`);
    chunks.push(chunk);
  }
  const timeout = c.query.get('timeout_ms');
  const timeoutMs = timeout === null ? undefined : Number(timeout);
  if (timeoutMs !== undefined && !Number.isFinite(timeoutMs)) throw new FerryError('invalid-query', 'timeout_ms: a number of milliseconds');
  return { run: { command: c.query.getAll('command'), env: {}, stdin: Buffer.concat(chunks), ...(timeoutMs !== undefined ? { timeoutMs } : {}), ...(tier && { tier }) }, stream: streamQuery === '1' || streamQuery === 'true', image: c.query.get('image') || undefined };
}

/** `run` on the root file system of the image it names; Ferry's own API refuses an image it does not have. */
async function onImage(d: RunRouteDeps, caller: Principal, run: RunRequest, image: string | undefined): Promise<RunRequest> {
  if (image === undefined) return run;
  const target = findRunImage(d.catalog, caller, image);
  if (!target) throw new FerryError('run-image-not-found', `no deployed version you may read carries the image ${JSON.stringify(image.slice(0, 200))}`);
  return withImageRoot(run, target, await d.packageDir(target));
}

/** Streamed: one JSON object a line, `{"stdout": base64}` / `{"stderr": base64}` as output comes, then `{"exitCode", "error"}`. */
async function stream(res: ServerResponse, runner: AdHocRunner, run: RunRequest): Promise<void> {
  runner.check(run);
  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
  const line = (o: object) => res.write(`${JSON.stringify(o)}\n`);
  try {
    const o = await runner.run(run, { stdout: (c) => line({ stdout: c.toString('base64') }), stderr: (c) => line({ stderr: c.toString('base64') }) });
    line({ exitCode: o.exitCode, error: o.error });
  } catch (err) {
    line({ exitCode: null, error: FerryError.from(err).message });
  }
  res.end();
}

/** `POST /v1/run`: a command in a fresh sandbox, its payload on stdin (docs/api.md#ad-hoc-runs). */
export function makeRunRoutes(d: RunRouteDeps): RouteDef[] {
  return [
    {
      method: 'POST', path: '/v1/run', tag: 'run', body: 'json',
      query: [
        { name: 'command', description: 'with a raw body: the program, then each argument (repeated)' },
        { name: 'timeout_ms', description: 'with a raw body: the time limit, at most --run-timeout', type: 'integer' },
        { name: 'stream', description: 'answer output as it comes (NDJSON)', type: 'boolean' },
        { name: 'image', description: "with a raw body: run on this image's root file system (a reference or sha256: digest a deployed version carries)" },
        { name: 'sandbox', description: "with a raw body: the sandbox tier to run in (bwrap, gvisor, microvm; one the server enables); default: the image version's tier, else the server's default" },
      ],
      summary: 'Run a command in a fresh sandbox (off unless --allow-run): {command, env, payload (base64), timeout_ms, stream, image, sandbox}',
      success: { status: 200, description: '`{stdout, stderr, encoding, exitCode, error}`; with stream, NDJSON lines' },
      handler: async (c) => {
        if (!d.allowed) {
          c.req.resume();
          throw new FerryError('run-disabled', 'ad-hoc commands are off on this server (--allow-run)');
        }
        const { run: asked, stream: streamed, image } = await requestOf(c, d);
        d.runner.check(asked);
        const run = { ...(await onImage(d, c.principal!, asked, image)), signal: callerGone(c.res) };
        if (streamed) {
          await stream(c.res, d.runner, run);
          return undefined;
        }
        const o = await d.runner.run(run);
        return { body: { ...outputFields(o), exitCode: o.exitCode, error: o.error } };
      },
    },
  ];
}
