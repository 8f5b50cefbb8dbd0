import type { IncomingMessage, ServerResponse } from 'node:http';
import { allows, type Access } from '../../auth/index.js';
import { FerryError } from '../../errors/index.js';
import { findRunImage, readBody, withImageRoot } from '../../service/index.js';
import { callerGone } from '../../util/caller-gone.js';
import type { HttpSurface, OpenApiPaths, SurfaceContext } from '../surface.js';
import { parseInvoke } from './invoke-request.js';

/** Ferry's rule for ad-hoc commands: `permission:execute`, whatever the function id. */
const access: Access = { kind: 'global', perm: 'execute' };
/** Which root file system the command ran on: `image` (the named one) or `default` (it was ignored). */
const RUN_ROOT_HEADER = 'ferry-run-root';
const PATH = /^\/functions\/([^/?]+)\/invoke\/?(?:\?.*)?$/;

/**
 * FaaS on Tangle's gateway: `POST /functions/{function_id}/invoke` runs the body's command in a
 * fresh sandbox (Ferry's ad-hoc run, `POST /v1/run`) and answers 200 `{stdout, stderr, error}`;
 * request problems answer their status with `{"error": "..."}`. On with `--compat tangle`; runs
 * also need `--allow-run` and a bearer token with `permission:execute` (docs/compat/tangle.md).
 */
export function tangleSurface(ctx: SurfaceContext): HttpSurface<string> | undefined {
  if (!ctx.options.compat.includes('tangle')) return undefined;
  const s = ctx.services;
  // A payload of --max-body bytes as a JSON array: up to 4 characters a byte, and the rest of the body.
  const maxBody = s.maxBodyBytes * 4 + 64 * 1024;

  const serve = async (req: IncomingMessage, res: ServerResponse, functionId: string): Promise<void> => {
    if (req.method !== 'POST') throw new FerryError('method-not-allowed', 'invoke takes POST');
    const principal = await s.auth.authenticate(req.headers.authorization, req);
    if (!allows(principal, 'execute')) throw new FerryError('forbidden', 'running a command needs permission:execute');
    if (!s.allowRun) throw new FerryError('run-disabled', 'ad-hoc commands are off on this server (--allow-run)');
    const { run, image } = parseInvoke(await readBody(req, maxBody), functionId, s.maxBodyBytes);
    // An image a version the caller may read carries is the run's `/`; any other is ignored, as
    // Tangle's executor ignores it, and the header says which root the command saw.
    s.runner.check(run);
    const target = image === undefined ? undefined : findRunImage(s.service.catalog, principal, image);
    const o = await s.runner.run({ ...(target ? withImageRoot(run, target, await s.service.packageDir(target)) : run), signal: callerGone(res) });
    // As Tangle's agent: output as text (invalid UTF-8 replaced), `error` null only on exit 0.
    json(res, 200, { stdout: o.stdout.toString('utf8'), stderr: o.stderr.toString('utf8'), error: o.error }, { [RUN_ROOT_HEADER]: target ? 'image' : 'default' });
  };

  return {
    name: 'tangle',
    routes: [{ method: 'POST', path: '/functions/{function_id}/invoke', access }],
    match: (req: IncomingMessage) => {
      const m = PATH.exec(req.url ?? '/');
      if (!m) return undefined;
      try {
        return decodeURIComponent(m[1]!);
      } catch {
        return m[1]!;
      }
    },
    handle: async (req, res, functionId) => {
      try {
        await serve(req, res, functionId);
      } catch (err) {
        req.resume();
        const e = FerryError.from(err);
        if (res.headersSent) return void res.destroy();
        // `code` is Ferry's addition: Tangle's clients read `error`, scripts may tell causes apart.
        json(res, e.status, { error: e.message, code: e.code }, e.headers);
      }
    },
    operations: (): OpenApiPaths => ({
      '/functions/{function_id}/invoke': {
        post: {
          operationId: 'tangleInvoke',
          summary: "FaaS on Tangle's invoke: {image, command, env_vars, payload (bytes)} runs the command in a fresh sandbox, on the image's root file system when a deployed version the caller may read carries it (else the image is ignored)",
          tags: ['tangle'],
          security: [{ bearer: [] }],
          'x-ferry-access': access,
          parameters: [{ name: 'function_id', in: 'path', required: true, description: 'labels logs and metrics; selects nothing', schema: { type: 'string' } }],
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
          responses: {
            '200': { description: '`{stdout, stderr, error}`: error null on exit 0, else the exit status or the reason; header `Ferry-Run-Root`: `image` or `default`' },
            default: { description: '`{"error": "..."}`' },
          },
        },
      },
    }),
  };
}

function json(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
