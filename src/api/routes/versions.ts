import { overrideSchema, type VersionRecord } from '../../core/index.js';
import type { FunctionService } from '../../service/index.js';
import { Readable } from 'node:stream';
import type { RegistryLogin } from '../../images/index.js';
import { FerryError } from '../../errors/index.js';
import { capUpload } from '../upload-cap.js';
import type { ApiContext, RouteDef } from '../route.js';
import { versionView } from '../views.js';
import { withBuildProgress } from '../build-progress.js';

/** On a function's first version: the group that will own it (default singular:<you>). */
const groupQuery = { name: 'group', description: 'owning group of a new function: singular:<user> or custom:<name>, one you are in' };
const checkQuery = { name: 'check', description: "'false' skips the deploy-time check (loading the handler in a sandbox, type errors under --strict-types)" };

/** `?check=false` skips the deploy-time check; `true` or absent runs it. */
function checkOf(c: ApiContext): { check: boolean } {
  const v = c.query.get('check');
  if (v === null || v === 'true') return { check: true };
  if (v === 'false') return { check: false };
  throw new FerryError('invalid-query', "check: must be 'true' or 'false'");
}

/** The `Ferry-Manifest` header of an image archive upload: the version's `ferry.json`, as JSON. */
function imageManifestOf(c: ApiContext): { imageManifest?: unknown } {
  const raw = c.req.headers['ferry-manifest'];
  if (raw === undefined) return {};
  try {
    return { imageManifest: JSON.parse(Array.isArray(raw) ? raw.join(',') : raw) as unknown };
  } catch {
    throw new FerryError('invalid-manifest', 'the Ferry-Manifest header is not JSON');
  }
}

/**
 * A JSON body: the version's `ferry.json`, naming a registry image in `image.ref` (deploy by
 * reference). `Ferry-Registry-Auth: base64(user:password)` is the deployer's own login for that
 * pull: used once, never stored.
 */
async function pullOf(c: ApiContext): Promise<{ imageManifest?: unknown; pull?: { login?: RegistryLogin } }> {
  const type = (c.req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') return {};
  const raw = c.req.headers['ferry-registry-auth'];
  let login: RegistryLogin | undefined;
  if (raw !== undefined) {
    const text = Buffer.from(Array.isArray(raw) ? raw[0]! : raw, 'base64').toString('utf8');
    const colon = text.indexOf(':');
    if (colon < 1) throw new FerryError('invalid-header', 'Ferry-Registry-Auth: expected base64 of user:password');
    login = { username: text.slice(0, colon), password: text.slice(colon + 1) };
  }
  return { imageManifest: await c.json(), pull: login ? { login } : {} };
}

/** Versions: upload (immutable), list, get, PATCH configuration, delete, build log. */
export function makeVersionRoutes(svc: FunctionService, maxUploadBytes: number): RouteDef[] {
  const view = (v: VersionRecord, baseUrl: string): ReturnType<typeof versionView> => versionView(v, baseUrl, svc.sandboxOf(v));
  /** The archive's Content-Type; a declared size over the upload cap is refused before reading. */
  const archive = (c: ApiContext): string => {
    const len = Number(c.req.headers['content-length'] ?? 0);
    if (len > maxUploadBytes) throw new FerryError('body-too-large', `the upload is ${len} bytes; the limit is ${maxUploadBytes} (--max-upload)`);
    return c.req.headers['content-type'] ?? '';
  };
  /** The upload as a stream; one without a declared size is counted as it arrives. */
  const upload = (c: ApiContext): Readable => (c.req.headers['content-length'] === undefined ? capUpload(c.req, maxUploadBytes) : c.req);
  /** POST and PUT: a package, an image archive, or (a JSON body) a registry image, as a new version. */
  const create = (c: ApiContext, version: string | undefined): ReturnType<RouteDef['handler']> =>
    withBuildProgress(c, async (progress) => {
      const pull = await pullOf(c);
      const body = pull.pull ? Readable.from([]) : upload(c);
      const v = await svc.createVersion(c.principal!, c.params.name!, version, body, archive(c), c.query.get('group') ?? undefined, { ...checkOf(c), ...(pull.pull ? pull : imageManifestOf(c)), ...(progress && { progress }) });
      return { status: 201, body: view(v, c.baseUrl), headers: { location: `/v1/functions/${v.function}/versions/${v.version}` } };
    });
  return [
    {
      method: 'POST', path: '/v1/functions/{name}/versions', tag: 'versions', body: 'archive', query: [groupQuery, checkQuery],
      summary: 'Create the next version (v1, v2, ...) from a tar, tar.gz or zip archive, a container image archive (docker save or OCI layout), or a registry image (a JSON ferry.json with image.ref)',
      success: { status: 201, description: 'The new version' },
      handler: (c) => create(c, undefined),
    },
    {
      method: 'GET', path: '/v1/functions/{name}/versions', tag: 'versions',
      summary: 'List versions',
      success: { status: 200, description: '`{versions: [...]}`' },
      handler: async (c) => ({ body: { versions: (await svc.listVersions(c.params.name!)).map((v) => view(v, c.baseUrl)) } }),
    },
    {
      method: 'PUT', path: '/v1/functions/{name}/versions/{version}', tag: 'versions', body: 'archive', query: [groupQuery, checkQuery],
      summary: 'Create a named, immutable version from an archive, a container image archive or a registry image (409 if it exists)',
      success: { status: 201, description: 'The new version' },
      handler: (c) => create(c, c.params.version!),
    },
    {
      method: 'GET', path: '/v1/functions/{name}/versions/{version}', tag: 'versions',
      summary: 'Get a version with its effective configuration',
      success: { status: 200, description: 'The version' },
      handler: async (c) => ({ body: view(await svc.getVersion(c.params.name!, c.params.version!), c.baseUrl) }),
    },
    {
      method: 'PATCH', path: '/v1/functions/{name}/versions/{version}', tag: 'versions', body: 'json', bodySchema: overrideSchema,
      summary: 'Override configuration (env, scaling, limits, invoke); running instances are replaced with no failed call',
      success: { status: 200, description: 'The updated version' },
      handler: async (c) => ({ body: view(await svc.patchVersion(c.principal!, c.params.name!, c.params.version!, await c.json()), c.baseUrl) }),
    },
    {
      method: 'DELETE', path: '/v1/functions/{name}/versions/{version}', tag: 'versions',
      summary: 'Delete a version (409 while an alias uses it)',
      success: { status: 204, description: 'Deleted' },
      handler: async (c) => {
        await svc.deleteVersion(c.params.name!, c.params.version!);
        return { status: 204 };
      },
    },
    {
      method: 'GET', path: '/v1/functions/{name}/versions/{version}/build-log', tag: 'versions',
      summary: "The version's build log",
      success: { status: 200, description: 'Plain text', contentType: 'text/plain' },
      handler: async (c) => ({ body: `${(await svc.getVersion(c.params.name!, c.params.version!)).buildLog}\n` }),
    },
    {
      method: 'POST', path: '/v1/functions/{name}/versions/{version}/start', tag: 'instances',
      summary: 'Deploy: start instances of the version now (at least one, or minInstances)',
      success: { status: 202, description: 'Started' },
      handler: async (c) => {
        await svc.start(c.params.name!, c.params.version!);
        return { status: 202, body: { function: c.params.name, version: c.params.version, state: 'started' } };
      },
    },
    {
      method: 'POST', path: '/v1/functions/{name}/versions/{version}/stop', tag: 'instances',
      summary: 'Kill: stop every instance of the version',
      success: { status: 202, description: 'Stopped' },
      handler: async (c) => {
        await svc.stop(c.params.name!, c.params.version!);
        return { status: 202, body: { function: c.params.name, version: c.params.version, state: 'stopped' } };
      },
    },
  ];
}
