// The shapes of the /v1 answers the page reads (docs/api.md has them all).

export interface FunctionItem { name: string; owner: string; latest: string | null; versions: number; aliases: string[]; url: string; createdAt: string }
export interface EffectiveConfig {
  runtime: string;
  handler?: string;
  env: Record<string, string>;
  secrets: string[];
  scaling: { mode?: string; minInstances: number; maxInstances: number; concurrency: number; idleTimeoutMs?: number };
  limits: Record<string, number>;
  invoke: string;
  retries: number;
  sandbox: { network: string } & Record<string, unknown>;
}
export interface Version { function: string; version: string; seq: number; packageSize: number; createdAt: string; config: EffectiveConfig; url: string }
export interface Alias { alias: string; target: { version?: string; weights?: Record<string, number> } | string | Record<string, unknown>; url: string }
export interface Instance { id: string; version: string; state: string; startedAt: number | string; inFlight: number; served: number; memoryBytes: number | null; origin?: string }
export interface Summary { function: string; requests: number; perSecond: number; errors: number; coldStarts: number; p50Ms: number | null; p99Ms: number | null }
export interface Point { time: string; requests: number; errors: number; coldStarts: number; p50Ms: number | null; p99Ms: number | null }
export interface Invocation { id: string; time: string; version: string; kind: string; status: number; durationMs: number; method: string | null; path: string | null; requestId: string }
export interface Execution { id: string; version: string; status: string; attempts: number; createdAt: string; finishedAt: string | null; resultStatus: number | null }
export interface LogLine { id: number | null; time: string; version: string; instance: string; stream: string; line: string }
