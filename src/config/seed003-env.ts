/**
 * The seed-003 platform's own variables, read when its API is on (`--compat seed003`), as the
 * Ferry variables they stand for; a Ferry variable or flag that is set wins. Only then, so a
 * `SERVER_ADDRESS` meant for another program in the environment never moves Ferry.
 */
export function seed003Environment(env: NodeJS.ProcessEnv, compatFlag: unknown): NodeJS.ProcessEnv {
  const compat = String(compatFlag ?? env.FERRY_COMPAT ?? '').split(',').map((s) => s.trim());
  if (!compat.includes('seed003')) return env;
  const out: NodeJS.ProcessEnv = {};
  // `:8080` (Go's "every address") sets the port only: Ferry keeps its own --host (loopback by default).
  const address = /^(.*):(\d{1,5})$/.exec(env.SERVER_ADDRESS?.trim() ?? '');
  if (address) {
    out.FERRY_PORT = address[2];
    if (address[1]) out.FERRY_HOST = address[1].replace(/^\[(.*)\]$/, '$1');
  }
  if (env.MAX_CONCURRENT_EXECUTIONS !== undefined) out.FERRY_ASYNC_WORKERS = env.MAX_CONCURRENT_EXECUTIONS;
  return { ...out, ...env };
}
