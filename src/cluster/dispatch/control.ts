/**
 * What a gateway tells every worker besides calls: start a version's instances (`deploy`),
 * replace them after a change (`roll`), stop them (`stop`). Sent as a JSON body to the worker's
 * cluster listener with `x-ferry-cluster-control`; the worker resolves the version in its own
 * catalog, caught up to at least the gateway's revision.
 */
import { FerryError } from '../../errors/index.js';

export const CONTROL_HEADER = 'x-ferry-cluster-control';

export type ControlMessage =
  | { op: 'deploy'; function: string; version: string; revision: string; atLeastOne: boolean }
  | { op: 'roll'; function: string; version: string; revision: string }
  | { op: 'stop'; function: string; version?: string };

/** A control body from a gateway, checked field by field (the worker trusts the token, not the shape). */
export function parseControl(op: string | undefined, body: unknown): ControlMessage {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const str = (k: string): string => {
    if (typeof b[k] !== 'string') throw new FerryError('invalid-body', `control ${op}: ${k} must be a string`);
    return b[k] as string;
  };
  switch (op) {
    case 'deploy':
      return { op, function: str('function'), version: str('version'), revision: str('revision'), atLeastOne: b.atLeastOne === true };
    case 'roll':
      return { op, function: str('function'), version: str('version'), revision: str('revision') };
    case 'stop':
      return b.version === undefined ? { op, function: str('function') } : { op, function: str('function'), version: str('version') };
    default:
      throw new FerryError('invalid-body', `unknown control operation '${op}'`);
  }
}
