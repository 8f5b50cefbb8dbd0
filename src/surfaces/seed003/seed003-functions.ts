import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Manifest, Principal, VersionRecord } from '../../core/index.js';
import { FerryError } from '../../errors/index.js';
import { onFunction } from '../../auth/index.js';
import { isFile } from '../../packages/index.js';
import type { FunctionService } from '../../service/index.js';
import type { FormPart } from './multipart.js';
import { need } from './need.js';

/** A function as the seed-003 API shows it. */
export interface SeedFunction {
  id: string;
  name: string;
  image_url: string;
  description: string;
  created_at: string;
}

const prefix = 'seed-';
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const labels = { name: 'seed003.name', description: 'seed003.description', image: 'seed003.image_url' } as const;
/** The seed's five-minute limit on a run; no retry, as a run there is never repeated. */
const runSettings = { limits: { timeoutMs: 300_000 }, asyncTimeoutMs: 300_000, retries: 0 } as const;
const imageTypes = ['application/x-docker-archive', 'application/vnd.oci.image.layout.v1+tar'];

/** The Ferry function of a seed-003 function id (the id is a UUID, the name `seed-<id>`). */
export function ferryName(id: string): string {
  if (!uuid.test(id)) throw new FerryError('function-not-found', `no function '${id.slice(0, 80)}'`);
  return `${prefix}${id}`;
}

/** The seed-003 id of a Ferry function, if it is one of this API's. */
export function seedId(name: string): string | undefined {
  const id = name.startsWith(prefix) ? name.slice(prefix.length) : '';
  return uuid.test(id) ? id : undefined;
}

/**
 * The seed-003 functions over Ferry's: each is a Ferry function named after its UUID, owned by
 * its creator's group, whose version runs the image (pulled or uploaded) or the uploaded folder
 * under the seed-003 contract (`contract: "seed003"`); its name, description and image are the
 * version's labels, so nothing is kept beside Ferry's own records.
 */
export class SeedFunctions {
  constructor(private readonly service: FunctionService) {}

  /** `POST /api/functions` as JSON: `{name, description?, image_url}`, pulled from its registry. */
  async createFromImage(actor: Principal, body: unknown): Promise<SeedFunction> {
    need(actor, 'write');
    const b = fields(body);
    if (typeof b.image_url !== 'string' || b.image_url.length === 0) throw new FerryError('invalid-body', 'image_url: the image to run, e.g. "docker.io/library/python:3.12"');
    const m = manifestOf(b.name, b.description, b.image_url);
    return this.create(actor, (name) =>
      this.service.createVersion(actor, name, undefined, Readable.from([]), 'application/json', undefined, { imageManifest: { ...m, image: { ref: b.image_url } }, pull: {} }),
    );
  }

  /**
   * `POST /api/functions` as form data: `name`, `description`, and `file`, an image archive
   * (`docker save`, OCI layout) or a folder archive (zip, tar, tar.gz) whose `command` field (a
   * JSON list, default `["python3", "main.py"]`) says what to run.
   */
  async createFromUpload(actor: Principal, form: Map<string, FormPart>): Promise<SeedFunction> {
    need(actor, 'write');
    const text = (k: string): string | undefined => form.get(k)?.body.toString('utf8');
    const file = form.get('file');
    if (!file) throw new FerryError('invalid-body', 'the form needs a file field: an image archive or a folder archive');
    const m = manifestOf(text('name'), text('description') ?? '', '');
    const type = file.contentType.split(';')[0]!.trim().toLowerCase();
    if (imageTypes.includes(type)) {
      return this.create(actor, (name) => this.service.createVersion(actor, name, undefined, Readable.from([file.body]), type, undefined, { imageManifest: m }));
    }
    const command = commandOf(text('command'));
    return this.create(actor, (name) =>
      this.service.createVersion(actor, name, undefined, Readable.from([file.body]), type, undefined, {
        prepare: async (staging) => {
          if (command[0] !== 'python3' || command.length < 2 || (await isFile(join(staging, command[1]!)))) {
            await writeFile(join(staging, 'ferry.json'), `${JSON.stringify({ ...m, runtime: 'exec', command }, null, 2)}\n`);
            return staging;
          }
          throw new FerryError('invalid-manifest', `the folder has no ${command[1]} to run: name the program in the form's command field`);
        },
      }),
    );
  }

  async list(actor: Principal): Promise<SeedFunction[]> {
    const out: SeedFunction[] = [];
    for (const name of this.service.catalog.functionNames()) {
      const id = seedId(name);
      if (id === undefined || onFunction(actor, 'read', this.service.catalog.owner(name) ?? '') !== 'yes') continue;
      const v = await this.latest(name).catch(() => undefined);
      if (v) out.push(view(id, v));
    }
    return out;
  }

  async get(actor: Principal, id: string): Promise<SeedFunction> {
    return view(id, await this.latest(this.may(actor, id, 'read')));
  }

  async remove(actor: Principal, id: string): Promise<void> {
    await this.service.deleteFunction(this.may(actor, id, 'remove'));
  }

  /**
   * The Ferry function of `id` if `actor` may do `perm` on it; a function it may not even read
   * is not found (as on /v1), one it may read but not change is forbidden.
   */
  may(actor: Principal, id: string, perm: 'read' | 'write' | 'execute' | 'remove'): string {
    const name = ferryName(id);
    const owner = this.service.catalog.owner(name);
    const may = owner === undefined ? 'hidden' : onFunction(actor, perm, owner);
    if (may === 'hidden') throw new FerryError('function-not-found', `no function '${id}'`);
    if (may === 'forbidden') throw new FerryError('forbidden', `this needs permission:${perm} on function '${id}'`);
    return name;
  }

  private async create(actor: Principal, make: (name: string) => Promise<VersionRecord>): Promise<SeedFunction> {
    const id = randomUUID();
    return view(id, await make(ferryName(id)));
  }

  private latest(name: string): Promise<VersionRecord> {
    return this.service.getVersion(name, this.service.resolve(name, undefined).version);
  }
}

function fields(body: unknown): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new FerryError('invalid-body', 'expected {"name": "...", "description": "...", "image_url": "..."}');
  return body as Record<string, unknown>;
}

/** The manifest of a seed-003 version: an exec function under the seed-003 contract. */
function manifestOf(name: unknown, description: unknown, image: string): Omit<Manifest, 'runtime'> & { runtime: 'exec' } {
  if (typeof name !== 'string' || name.length === 0 || name.length > 256) throw new FerryError('invalid-body', 'name: the function\'s name, 1 to 256 characters');
  if (description !== undefined && (typeof description !== 'string' || description.length > 1024)) throw new FerryError('invalid-body', 'description: at most 1024 characters');
  return { runtime: 'exec', contract: 'seed003', ...runSettings, labels: { [labels.name]: name, [labels.description]: (description as string | undefined) ?? '', [labels.image]: image } };
}

function commandOf(raw: string | undefined): string[] {
  if (raw === undefined || raw.trim() === '') return ['python3', 'main.py'];
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw new FerryError('invalid-body', 'command: a JSON list such as ["python3", "main.py"]');
  }
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'string' && x.length > 0)) throw new FerryError('invalid-body', 'command: a JSON list of non-empty strings such as ["python3", "main.py"]');
  return v as string[];
}

function view(id: string, v: VersionRecord): SeedFunction {
  const l = v.manifest.labels ?? {};
  return { id, name: l[labels.name] ?? '', image_url: l[labels.image] ?? '', description: l[labels.description] ?? '', created_at: new Date(v.createdAt).toISOString() };
}
