/**
 * Loads the function's module and finds its handler. Runs inside the instance.
 */
import { pathToFileURL } from 'node:url';

/** What the shim calls: the user's function, or the `fetch` method of the user's object. */
export type Invoke = (request: Request, context: unknown) => unknown;

/** A load failure the shim reports and exits 78 (EX_CONFIG) on: the version is broken, not the host. */
export class HandlerLoadError extends Error {
  override name = 'HandlerLoadError';
}

/** `path:exportName` splits only when the suffix is an identifier, so paths with ':' still work. */
export function parseHandlerSpec(spec: string): { file: string; exportName: string | undefined } {
  const m = /^(.+):([A-Za-z_$][\w$]*)$/.exec(spec);
  return m ? { file: m[1]!, exportName: m[2]! } : { file: spec, exportName: undefined };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return `an object without a fetch() method (keys: ${Object.keys(value).slice(0, 8).join(', ') || 'none'})`;
  return `a ${typeof value}`;
}

function asInvoke(value: unknown): Invoke | undefined {
  if (typeof value === 'function') return value as Invoke;
  if (value !== null && typeof value === 'object') {
    const obj = value as { fetch?: unknown };
    if (typeof obj.fetch === 'function') {
      const fetch = obj.fetch as (this: unknown, request: Request, context: unknown) => unknown;
      return (request, context) => fetch.call(obj, request, context);
    }
  }
  return undefined;
}

/** Imports `spec` (absolute `path` or `path:exportName`) and returns the callable handler. */
export async function loadHandler(spec: string): Promise<Invoke> {
  const { file, exportName } = parseHandlerSpec(spec);
  // Stack traces through the function's source maps (a TypeScript handler's .ts lines), for the
  // modules loaded from here on: Ferry's own, loaded before, are not mapped (their maps would be
  // read and parsed at every instance start for nothing).
  process.setSourceMapsEnabled(true);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    throw new HandlerLoadError(`cannot load the handler module ${file}`, { cause: err });
  }
  const name = exportName ?? 'default';
  let value = mod[name];
  // A CommonJS module compiled from `export default` puts the handler one level down.
  if (name === 'default' && asInvoke(value) === undefined && value !== null && typeof value === 'object') {
    value = (value as Record<string, unknown>).default ?? value;
  }
  if (value === undefined) {
    const has = Object.keys(mod).join(', ') || 'none';
    throw new HandlerLoadError(`${file} has no export "${name}" (its exports: ${has})`);
  }
  const invoke = asInvoke(value);
  if (!invoke) throw new HandlerLoadError(`the export "${name}" of ${file} is ${describe(value)}, not a function or an object with a fetch() method`);
  return invoke;
}
