import { FerryError } from '../../errors/index.js';
import type { RunRequest } from '../../scheduler/index.js';

/** The longest `function_id` kept as a label of logs and metrics; the rest is cut. */
const LABEL_MAX = 64;

/** A Tangle invoke: the run, and the image it names (run in when Ferry has it, else ignored). */
export interface TangleInvoke {
  run: RunRequest;
  image: string | undefined;
}

/**
 * Tangle's `InvokeRequest` as Ferry's run: `{"image", "command": [...], "env_vars": ["K=V"],
 * "payload": [bytes]}` (docs/compat/tangle.md); a missing `env_vars` or `payload` is none.
 * Throws `malformed-json` (400) or `invalid-body` (422), as Tangle's gateway tells a body that
 * is not JSON from one of the wrong shape.
 */
export function parseInvoke(body: Buffer, functionId: string, maxPayloadBytes: number): TangleInvoke {
  let b: unknown;
  try {
    b = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new FerryError('malformed-json', `the body is not JSON: ${(err as Error).message}`);
  }
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw new FerryError('invalid-body', 'expected a JSON object {image, command, env_vars, payload}');
  const r = b as Record<string, unknown>;
  if (r.image !== undefined && typeof r.image !== 'string') throw new FerryError('invalid-body', 'image: a string');
  if (!Array.isArray(r.command) || r.command.length === 0 || !r.command.every((a) => typeof a === 'string')) throw new FerryError('invalid-body', 'command: a non-empty array of strings');
  const env: Record<string, string> = {};
  if (r.env_vars !== undefined && r.env_vars !== null) {
    if (!Array.isArray(r.env_vars)) throw new FerryError('invalid-body', 'env_vars: an array of "KEY=value" strings');
    for (const kv of r.env_vars) {
      const m = typeof kv === 'string' ? /^([A-Za-z_][A-Za-z0-9_]*)=([^\0]*)$/s.exec(kv) : null;
      if (!m) throw new FerryError('invalid-body', `env_vars: ${JSON.stringify(kv)} is not "KEY=value"`);
      env[m[1]!] = m[2]!;
    }
  }
  const run = { command: r.command as string[], env, stdin: payloadOf(r.payload, maxPayloadBytes), label: functionId.slice(0, LABEL_MAX), ...timeoutOf(r.timeout_ms) };
  return { run, image: r.image || undefined };
}

/** The payload: an array of numbers 0-255, as serde gives a `Vec<u8>`. */
function payloadOf(p: unknown, max: number): Buffer {
  if (p === undefined || p === null) return Buffer.alloc(0);
  if (!Array.isArray(p)) throw new FerryError('invalid-body', 'payload: an array of bytes (numbers 0-255)');
  if (p.length > max) throw new FerryError('body-too-large', `payload: at most ${max} bytes (--max-body)`);
  const out = Buffer.alloc(p.length);
  for (let i = 0; i < p.length; i++) {
    const v = p[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 255) throw new FerryError('invalid-body', `payload[${i}]: ${JSON.stringify(v)} is not a byte (0-255)`);
    out[i] = v;
  }
  return out;
}

/** Ferry's addition: a time limit below `--run-timeout`. */
function timeoutOf(t: unknown): { timeoutMs?: number } {
  if (t === undefined || t === null) return {};
  if (typeof t !== 'number') throw new FerryError('invalid-body', 'timeout_ms: a number of milliseconds');
  return { timeoutMs: t };
}
