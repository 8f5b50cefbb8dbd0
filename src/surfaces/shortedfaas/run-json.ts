import { FerryError } from '../../errors/index.js';

/** A ShortedFaaS `run.json`, checked: how to launch the function in its folder. */
export interface RunJson {
  type: 'executable' | 'interpreted';
  language: string;
  command: string;
  /** `arguments` split as a shell would, without a shell. */
  arguments: string[];
  /** Content-Types a call may carry (empty: any). */
  accepts: string[];
  /** Ferry's `scaling` keys the instance mode stands for. */
  scaling: { minInstances?: number; maxInstances?: number; idleTimeoutMs?: number; mode?: 'cold' };
  /** Keep request and response bodies in the history (`/history/{id}`). */
  recordPayloads: boolean;
}

/** Instance modes by name. */
const modes = new Set(['cold', 'warm', 'hot', 'scalable']);

const keys = new Set(['type', 'language', 'command', 'arguments', 'accepts', 'mode', 'min', 'max', 'idleTimeoutMs', 'recordPayloads']);

/** Parses `run.json` (its text); a clear `invalid-manifest` naming the key otherwise. */
export function parseRunJson(text: string): RunJson {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new FerryError('invalid-manifest', `run.json is not JSON: ${(err as Error).message}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new FerryError('invalid-manifest', 'run.json must be a JSON object');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!keys.has(k)) throw new FerryError('invalid-manifest', `run.json: unknown key '${k}'`);
  if (o.type !== 'executable' && o.type !== 'interpreted') throw new FerryError('invalid-manifest', 'run.json: type must be "executable" or "interpreted"');
  const language = o.language ?? '';
  if (typeof language !== 'string') throw new FerryError('invalid-manifest', 'run.json: language must be a string');
  if (typeof o.command !== 'string' || o.command.trim() === '') throw new FerryError('invalid-manifest', 'run.json: command must be a non-empty string');
  const args = o.arguments ?? '';
  if (typeof args !== 'string') throw new FerryError('invalid-manifest', 'run.json: arguments must be a string');
  const accepts = o.accepts ?? [];
  if (!Array.isArray(accepts) || accepts.some((a) => typeof a !== 'string' || !/^[\w.+-]+\/[\w.+*-]+$/.test(a))) {
    throw new FerryError('invalid-manifest', 'run.json: accepts must be a list of MIME types ("text/csv")');
  }
  if (typeof o.recordPayloads !== 'boolean' && o.recordPayloads !== undefined) throw new FerryError('invalid-manifest', 'run.json: recordPayloads must be true or false');
  return {
    type: o.type,
    language: language.toLowerCase(),
    command: o.command.trim(),
    arguments: splitArguments(args),
    accepts: (accepts as string[]).map((a) => a.toLowerCase()),
    scaling: scalingOf(o),
    recordPayloads: o.recordPayloads === true,
  };
}

/**
 * The instance mode as Ferry's scaling: `cold` runs each call in a fresh sandbox, stopped after
 * it; `warm` (the default) keeps an instance for
 * `idleTimeoutMs` after its last call, `hot` starts one at deploy and keeps it, `scalable` runs
 * `min` to `max` instances. Ranges are checked by ferry.json's schema.
 */
function scalingOf(o: Record<string, unknown>): RunJson['scaling'] {
  const mode = o.mode ?? 'warm';
  if (typeof mode !== 'string' || !modes.has(mode)) throw new FerryError('invalid-manifest', 'run.json: mode must be "cold", "warm", "hot" or "scalable"');
  const int = (k: string): number | undefined => {
    const v = o[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new FerryError('invalid-manifest', `run.json: ${k} must be an integer`);
    return v;
  };
  const idle = int('idleTimeoutMs');
  const min = int('min');
  const max = int('max');
  if (mode !== 'scalable' && (min !== undefined || max !== undefined)) throw new FerryError('invalid-manifest', 'run.json: min and max belong to mode "scalable"');
  if (mode === 'cold') {
    if (idle !== undefined) throw new FerryError('invalid-manifest', 'run.json: idleTimeoutMs does not apply to mode "cold"');
    return { mode: 'cold' };
  }
  if (mode === 'hot') return { minInstances: 1, ...(idle !== undefined ? { idleTimeoutMs: idle } : {}) };
  if (mode === 'scalable') return { minInstances: min ?? 1, ...(max !== undefined ? { maxInstances: max } : {}), ...(idle !== undefined ? { idleTimeoutMs: idle } : {}) };
  return idle !== undefined ? { idleTimeoutMs: idle } : {};
}

/**
 * Splits a command line as POSIX `sh` splits words: blanks separate, `'...'` is literal, `"..."`
 * keeps blanks (a backslash escapes `"`, `\`, `$` and `` ` `` in it), a backslash outside quotes
 * escapes the next character. Nothing is expanded: no variables, globs or substitutions.
 */
export function splitArguments(line: string): string[] {
  const out: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === ' ' || c === '\t' || c === '\n') {
      if (word !== undefined) out.push(word);
      word = undefined;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new FerryError('invalid-manifest', 'run.json: arguments has an unclosed \'');
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      word ??= '';
      for (i++; ; i++) {
        if (i >= line.length) throw new FerryError('invalid-manifest', 'run.json: arguments has an unclosed "');
        const d = line[i]!;
        if (d === '"') break;
        if (d === '\\' && '"\\$`'.includes(line[i + 1] ?? '')) word += line[++i];
        else word += d;
      }
    } else if (c === '\\') {
      if (i + 1 < line.length) word = (word ?? '') + line[++i];
    } else word = (word ?? '') + c;
  }
  if (word !== undefined) out.push(word);
  return out;
}

/** Whether a Content-Type header is one `accepts` lists (parameters ignored; `type/*` matches). */
export function accepted(accepts: readonly string[], contentType: string | undefined): boolean {
  if (accepts.length === 0) return true;
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return accepts.some((a) => a === type || (a.endsWith('/*') && type.startsWith(a.slice(0, -1))));
}
