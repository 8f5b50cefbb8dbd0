import { FerryError } from '../errors/index.js';
import type { LaunchPlan, LoadSpec } from '../core/index.js';

/**
 * The LOAD of a pooled instance, from the plan a cold start of the same function would use: the
 * shim then runs with exactly the handler, environment and directory it would have had. The
 * socket variable is left out: the pooled shim already listens where the plan says.
 */
export function loadSpecOf(plan: LaunchPlan): LoadSpec {
  const { FERRY_SOCKET: _socket, FERRY_HANDLER: handler, ...env } = plan.env;
  if (!handler) throw new FerryError('internal', 'the launch plan names no handler to load');
  return { handler, env, cwd: plan.cwd };
}

/**
 * Whether `env` sets a variable matched by `startupOnly`: one the interpreter (or the dynamic
 * loader) reads before any Ferry code runs, so setting it at LOAD would change nothing.
 */
export function setsStartupEnv(env: Record<string, string>, startupOnly: RegExp): boolean {
  return Object.keys(env).some((k) => startupOnly.test(k));
}
