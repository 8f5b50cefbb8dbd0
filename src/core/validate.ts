import type { ErrorObject, ValidateFunction } from 'ajv';
import { FerryError, type ErrorCode } from '../errors/index.js';
import { manifestSchema, overrideSchema, type ConfigOverride, type Manifest } from './manifest.js';
import { assertUserEnv } from './config.js';

interface Validators {
  manifest: ValidateFunction;
  override: ValidateFunction;
}

let compiled: Promise<Validators> | undefined;
/**
 * The schemas' validators, compiled by ajv on the first deploy or PATCH: ajv and the code it
 * generates stay out of a server that only serves calls.
 */
function validators(): Promise<Validators> {
  return (compiled ??= import('ajv').then(({ Ajv }) => {
    const ajv = new Ajv({ allErrors: false, strict: true });
    return { manifest: ajv.compile(manifestSchema), override: ajv.compile(overrideSchema) };
  }));
}

/** One line naming the offending key: `scaling.concurrency: must be integer`. */
export function describeSchemaError(e: ErrorObject): string {
  const at = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  if (e.keyword === 'additionalProperties') {
    const key = (e.params as { additionalProperty: string }).additionalProperty;
    return `unknown key '${at ? `${at}.` : ''}${key}'`;
  }
  if (e.keyword === 'required') return `missing key '${at ? `${at}.` : ''}${(e.params as { missingProperty: string }).missingProperty}'`;
  if (e.keyword === 'enum') return `${at || 'value'}: must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  if (e.keyword === 'not' && e.schemaPath.includes('/cors/')) return `${at}: '*' cannot go with allowCredentials (every site could act with its visitors' credentials)`;
  if (e.keyword === 'propertyNames') return `${at || 'value'}: invalid name '${(e.params as { propertyName: string }).propertyName}'`;
  return `${at || 'value'}: ${e.message ?? 'is invalid'}`;
}

function check<T>(v: ValidateFunction, value: unknown, code: ErrorCode, what: string): T {
  if (!v(value)) {
    const err = v.errors![0]!;
    throw new FerryError(code, `${what}: ${describeSchemaError(err)}`, { extras: { path: err.instancePath || '/' } });
  }
  return value as T;
}

/** Validates a parsed `ferry.json`; throws `invalid-manifest` naming the key. */
export async function validateManifest(value: unknown): Promise<Manifest> {
  const m = check<Manifest>((await validators()).manifest, value, 'invalid-manifest', 'ferry.json');
  assertUserEnv(m.env, 'ferry.json env');
  assertUserEnv(Object.fromEntries((m.secrets ?? []).map((n) => [n, ''])), 'ferry.json secrets');
  // An image's process is a command (a process per call, or a server); no handler to import.
  if (m.image !== undefined && m.runtime !== 'exec' && m.runtime !== 'http') {
    throw new FerryError('invalid-manifest', `ferry.json image: a container image runs as runtime 'exec' or 'http', not '${m.runtime}'`);
  }
  if (m.image !== undefined && m.handler !== undefined) {
    throw new FerryError('invalid-manifest', 'ferry.json image: an image version has no handler; its command is the image\'s Entrypoint and Cmd (image.entrypoint, image.cmd or command override them)');
  }
  // A contract is the exec shim's way of running the command; no other runtime would honour it.
  if (m.contract !== undefined && m.runtime !== 'exec') throw new FerryError('invalid-manifest', `ferry.json contract: only runtime 'exec' speaks a contract, not '${m.runtime}'`);
  return m;
}

/** Validates a PATCH body on a version; throws `invalid-body` naming the key. */
export async function validateOverride(value: unknown): Promise<ConfigOverride> {
  const o = check<ConfigOverride>((await validators()).override, value, 'invalid-body', 'configuration');
  assertUserEnv(o.env, 'env');
  assertUserEnv(Object.fromEntries((o.secrets ?? []).map((n) => [n, ''])), 'secrets');
  return o;
}
