import type { Readable } from 'node:stream';
import type { ExecutionRecord, Principal } from '../../core/index.js';
import { FerryError } from '../../errors/index.js';
import { effectiveGroups, onFunction } from '../../auth/index.js';
import { need } from './need.js';
import { storedRequest, type Accounts, type Executions, type FunctionService, type Objects, type Secrets } from '../../service/index.js';
import type { ExecutionCallers } from './execution-callers.js';
import type { ExecutionPage } from './execution-page.js';
import { ferryName, seedId, type SeedFunctions } from './seed003-functions.js';
import { uuidShape } from './uuid-shape.js';

/** An execution as the seed-003 API shows it. */
export interface SeedExecution {
  id: string;
  function_id: string;
  status: 'pending' | 'running' | 'completed' | 'failed';
  input?: string;
  output?: string;
  created_at: string;
  completed_at?: string;
}

export interface SeedExecutionsDeps {
  service: FunctionService;
  functions: SeedFunctions;
  executions: Executions;
  objects: Objects;
  secrets: Secrets;
  accounts: Accounts;
  callers: ExecutionCallers;
}

/**
 * Seed-003 executions over Ferry's durable ones: the input (JSON) is the stored request body,
 * which the contract hands to the command as its last argument; a run whose answer is not JSON,
 * or is `{"error": ...}`, is `failed`. The two routes an instance reaches over its API socket
 * (`env`, `object`) serve the execution's own secrets and objects with its caller's rights.
 */
export class SeedExecutions {
  constructor(private readonly d: SeedExecutionsDeps) {}

  /** `POST /api/executions` `{function_id, input}`: input an object, or a string holding JSON. */
  async submit(actor: Principal, body: unknown): Promise<SeedExecution> {
    need(actor, 'execute');
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new FerryError('invalid-body', 'expected {"function_id": "...", "input": {...}}');
    const b = body as Record<string, unknown>;
    if (typeof b.function_id !== 'string') throw new FerryError('invalid-body', 'function_id: the id of the function to run');
    const input = inputText(b.input);
    const name = this.d.functions.may(actor, b.function_id, 'execute');
    const key = await this.d.callers.bind(actor.subject);
    const out = await this.d.executions.submit({
      target: this.d.service.resolve(name, undefined),
      public: false,
      request: storedRequest('POST', '/', ['content-type', 'application/json'], Buffer.from(input)),
      callback: null,
      idempotencyKey: key,
    });
    return { id: uuidShape(out.id), function_id: b.function_id, status: 'pending', input, created_at: new Date().toISOString() };
  }

  /** The newest executions of the functions the caller may read, a page at a time; `next` the cursor of the rest. */
  async list(actor: Principal, page: ExecutionPage): Promise<{ executions: SeedExecution[]; next: string | null }> {
    need(actor, 'read');
    const mine = (await this.d.functions.list(actor)).map((f) => ferryName(f.id));
    if (mine.length === 0) return { executions: [], next: null };
    // One more than asked: whether there is a next page is known without an empty last page.
    const recs = await this.d.executions.list({ functions: mine, before: page.before, limit: page.limit + 1 });
    const shown = recs.slice(0, page.limit);
    return { executions: await Promise.all(shown.map((r) => this.view(r, false))), next: recs.length > page.limit ? String(shown.at(-1)!.seq) : null };
  }

  async get(actor: Principal, id: string): Promise<SeedExecution> {
    const rec = await this.find(id);
    if (onFunction(actor, 'read', this.d.service.catalog.owner(rec.function) ?? '') !== 'yes') throw notFound(id);
    return this.view(rec, true);
  }

  /** The run's environment: the secrets its input asks for that its caller may read, upper-cased. */
  async env(instance: Principal, execution: string): Promise<{ env: Record<string, string> }> {
    const { input, caller } = await this.running(instance, execution);
    const names = Array.isArray(input.secrets) ? input.secrets.filter((n): n is string => typeof n === 'string') : [];
    const env: Record<string, string> = {};
    for (const [n, value] of await this.d.secrets.valuesFor(caller, names)) env[n.toUpperCase()] = value;
    return { env };
  }

  /** An object the run's `object_inputs` named, read with its caller's rights. */
  async object(instance: Principal, execution: string, ref: string): Promise<{ contentType: string; size: number; body: Readable }> {
    const { input, caller } = await this.running(instance, execution);
    const named = input.object_inputs && typeof input.object_inputs === 'object' ? Object.values(input.object_inputs as Record<string, unknown>) : [];
    const wanted = objectRef(ref);
    if (!wanted || !named.some((v) => typeof v === 'string' && objectRef(v)?.join('/') === wanted.join('/'))) {
      throw new FerryError('object-not-found', `'${ref.slice(0, 200)}' is not among this execution's object_inputs`);
    }
    const [fid, key] = wanted as [string, string];
    const fn = ferryName(fid);
    if (onFunction(caller, 'read', this.d.service.catalog.owner(fn) ?? '') !== 'yes') throw new FerryError('object-not-found', `no object '${key}' of function '${fid}' for the execution's caller`);
    const { record, body } = await this.d.objects.open(fn, key);
    return { contentType: record.contentType, size: record.size, body };
  }

  /** The execution an instance asks about: its own function's, running now; its input and caller. */
  private async running(instance: Principal, execution: string): Promise<{ input: Record<string, unknown>; caller: Principal }> {
    if (instance.via !== 'instance-token' || instance.scope === undefined) throw new FerryError('forbidden', "only a running instance asks for its execution's environment, over its API socket");
    const rec = /^[0-9a-f]{32}$/.test(execution) ? await this.d.executions.get(execution) : undefined;
    if (!rec || rec.function !== instance.scope || rec.status !== 'running') throw notFound(execution);
    const user = await this.d.callers.callerOf(rec.idempotencyKey);
    const account = user === undefined ? undefined : (await this.d.accounts.listUsers()).find((u) => u.name === user);
    if (!account) throw new FerryError('forbidden', 'the execution was not submitted through the seed-003 API, or its caller is gone');
    const caller: Principal = { subject: account.name, groups: effectiveGroups(account.name, account.groups), tokenId: 'seed003:execution', via: 'api-token' };
    let input: unknown;
    try {
      input = JSON.parse(rec.request.body.toString('utf8'));
    } catch {
      input = {};
    }
    return { input: input && typeof input === 'object' && !Array.isArray(input) ? (input as Record<string, unknown>) : {}, caller };
  }

  private async find(id: string): Promise<ExecutionRecord> {
    const hex = id.replaceAll('-', '');
    const rec = /^[0-9a-f]{32}$/.test(hex) ? await this.d.executions.get(hex) : undefined;
    if (!rec || seedId(rec.function) === undefined) throw notFound(id);
    return rec;
  }

  private async view(rec: ExecutionRecord, full: boolean): Promise<SeedExecution> {
    const out = rec.result ? (rec.result.body ?? (await this.d.executions.resultBody(rec.id)) ?? Buffer.alloc(0)).toString('utf8') : undefined;
    const v: SeedExecution = { id: uuidShape(rec.id), function_id: seedId(rec.function)!, status: statusOf(rec, out), created_at: new Date(rec.createdAt).toISOString() };
    if (full) {
      v.input = rec.request.body.toString('utf8');
      const output = out ?? (rec.error ? JSON.stringify({ error: rec.error.detail || rec.error.code }) : undefined);
      if (output !== undefined) v.output = output;
    }
    if (rec.finishedAt !== null) v.completed_at = new Date(rec.finishedAt).toISOString();
    return v;
  }
}

/** Ferry's status, and for a finished run its answer: JSON without `error` is `completed`. */
function statusOf(rec: ExecutionRecord, output: string | undefined): SeedExecution['status'] {
  if (rec.status === 'queued') return 'pending';
  if (rec.status === 'running') return 'running';
  if (rec.status !== 'succeeded' || output === undefined) return 'failed';
  try {
    const v = JSON.parse(output) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) && 'error' in v ? 'failed' : 'completed';
  } catch {
    return 'failed';
  }
}

function inputText(input: unknown): string {
  if (typeof input === 'string') {
    try {
      JSON.parse(input);
    } catch {
      throw new FerryError('malformed-json', 'input: must be valid JSON (an object, or a string holding JSON)');
    }
    return input;
  }
  if (input === undefined) return '{}';
  return JSON.stringify(input);
}

/** `fid/name`, or the `function-objects/fid/objects/name` form, as [fid, name]. */
function objectRef(ref: string): [string, string] | undefined {
  const m = /^\/*(?:api\/)?(?:function-objects\/)?([0-9a-f-]{36})\/(?:objects\/)?(.+)$/.exec(ref);
  return m ? [m[1]!, m[2]!] : undefined;
}

function notFound(id: string): FerryError {
  return new FerryError('execution-not-found', `no execution '${id.slice(0, 80)}'`);
}
