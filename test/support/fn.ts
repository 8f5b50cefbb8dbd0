import type { Ferry } from './ferry.js';

export interface InstanceView {
  id: string;
  version: string;
  state: string;
  startedAt: string;
  inFlight: number;
  served: number;
  pid: number | undefined;
  /** `pool`: a pre-booted sandbox took the function; `cold`: started for it. */
  origin: 'pool' | 'cold';
  /** The node it runs on, in a cluster. */
  node?: string;
}

/** `GET /v1/functions/{name}/instances` (throws on a non-200). */
export async function listInstances(ferry: Ferry, name: string): Promise<InstanceView[]> {
  const res = await ferry.api('GET', `/v1/functions/${name}/instances`);
  const body = (await res.json()) as { instances: InstanceView[] };
  if (res.status !== 200) throw new Error(`instances of ${name} answered ${res.status}: ${JSON.stringify(body)}`);
  return body.instances;
}

/** A `ferry.json` as a string. */
export function manifest(m: Record<string, unknown>): string {
  return JSON.stringify(m);
}

export interface Problem {
  status: number;
  code: string;
  detail: string;
  [k: string]: unknown;
}

/** Reads a problem+json answer, checking its content type. */
export async function problemOf(res: Response): Promise<Problem> {
  const type = res.headers.get('content-type') ?? '';
  const text = await res.text();
  if (!type.startsWith('application/problem+json')) throw new Error(`expected a problem+json answer, got ${res.status} ${type}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as Problem;
}
