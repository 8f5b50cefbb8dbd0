import { FerryError } from '../../errors/index.js';

/** The runtimes tinyFaaS knows, as its API names them. */
export type TinyEnv = 'nodejs' | 'python3' | 'binary';
const envs: readonly string[] = ['nodejs', 'python3', 'binary'];

/** A deploy as `/upload` and `/uploadURL` ask for it, checked. */
export interface TinyDeploy {
  /** The tinyFaaS spelling (`^[a-zA-Z0-9]+$`); the Ferry function is its lower case. */
  name: string;
  env: TinyEnv;
  threads: number;
  /** From `envs: ["K=V"]`; entries without `=` are skipped, as tinyFaaS does. */
  vars: Record<string, string>;
}

/**
 * The JSON body of a management request, whatever its Content-Type (tinyFaaS's scripts send
 * `curl --data`, form-encoded). Not JSON: `malformed-json` (tinyFaaS answers 400).
 */
export function parseJsonBody(body: Buffer): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new FerryError('malformed-json', `the body is not JSON: ${(err as Error).message}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new FerryError('malformed-json', 'the body must be a JSON object');
  return v as Record<string, unknown>;
}

/** tinyFaaS function names: letters and digits only. */
export function checkTinyName(name: unknown): string {
  if (typeof name !== 'string' || !/^[a-zA-Z0-9]{1,63}$/.test(name)) {
    throw new FerryError('invalid-name', `function name ${JSON.stringify(name)} must be 1 to 63 letters and digits`);
  }
  return name;
}

/** `name`, `env`, `threads`, `envs` of an upload. */
export function parseDeploy(b: Record<string, unknown>): TinyDeploy {
  const name = checkTinyName(b.name);
  if (typeof b.env !== 'string' || !envs.includes(b.env)) throw new FerryError('invalid-body', `env must be one of ${envs.join(', ')}`);
  const threads = b.threads;
  if (typeof threads !== 'number' || !Number.isInteger(threads) || threads < 1 || threads > 1000) throw new FerryError('invalid-body', 'threads must be an integer from 1 to 1000');
  const vars: Record<string, string> = {};
  if (b.envs !== undefined && b.envs !== null) {
    if (!Array.isArray(b.envs) || b.envs.some((e) => typeof e !== 'string')) throw new FerryError('invalid-body', 'envs must be a list of "KEY=value" strings');
    for (const e of b.envs as string[]) {
      const at = e.indexOf('=');
      if (at > 0) vars[e.slice(0, at)] = e.slice(at + 1);
    }
  }
  return { name, env: b.env as TinyEnv, threads, vars };
}

/** Standard base64 as Go's decoder takes it (padding required; line breaks ignored). */
export function decodeBase64(text: unknown): Buffer {
  if (typeof text !== 'string') throw new FerryError('invalid-body', 'zip must be a base64 string');
  const s = text.replace(/[\r\n]/g, '');
  if (s.length === 0 || s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) throw new FerryError('invalid-body', 'zip is not valid base64');
  return Buffer.from(s, 'base64');
}
