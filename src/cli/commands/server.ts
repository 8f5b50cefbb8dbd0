/** `ferry server`: one flag per entry of `serverSettings`, then `runServer`. */
import { setFlagsFromString } from 'node:v8';
import { Option, type Command } from 'commander';
import { loadServerOptions, serverSettings, type ServerOptions, type SettingSpec } from '../../config/index.js';
import { usageError } from '../errors.js';
import { endLeanStart } from '../lean-start.js';

type Flags = Partial<Record<keyof ServerOptions, string | number | boolean>>;

/** The option of one setting; no commander default, so env and defaults apply in loadServerOptions. */
export function settingOption(s: SettingSpec): Option {
  const extra = [s.env ? `env ${s.env}` : '', s.default === undefined ? '' : `default ${showDefault(s)}`].filter(Boolean).join(', ');
  return new Option(s.kind === 'bool' ? s.flag : `${s.flag} <value>`, extra ? `${s.help} (${extra})` : s.help);
}

function showDefault(s: SettingSpec): string {
  const v = s.default;
  if (typeof v !== 'number') return String(v);
  if (s.kind === 'duration') {
    for (const [unit, ms] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) if (v >= ms && v % ms === 0) return `${v / ms}${unit}`;
    return `${v}ms`;
  }
  if (s.kind === 'bytes') {
    for (const [unit, n] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) if (v >= n && v % n === 0) return `${v / n}${unit}`;
  }
  return String(v);
}

/** commander's parsed options (keyed by attribute name) -> `loadServerOptions` flags (by key). */
export function serverFlags(parsed: Record<string, unknown>): Flags {
  const out: Flags = {};
  for (const s of serverSettings) {
    const v = parsed[settingOption(s).attributeName()];
    if (typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number') out[s.key] = v;
  }
  return out;
}

export function register(program: Command): void {
  const cmd = program.command('server').description('run the Ferry server (SIGINT/SIGTERM drain and stop it)');
  for (const s of serverSettings) cmd.addOption(settingOption(s));
  cmd.action(async (parsed: Record<string, unknown>) => {
    let options: ServerOptions;
    try {
      options = loadServerOptions(serverFlags(parsed), process.env);
      // Read once; gone from the environment every child of the server inherits.
      delete process.env.JWT_SECRET;
    } catch (err) {
      throw usageError(err instanceof Error ? err.message : String(err));
    }
    await launchServer(options);
  });
}

/** Runs the server until SIGINT/SIGTERM (`ferry server`, `ferry tinyfaas`). */
export async function launchServer(options: ServerOptions): Promise<void> {
  // Loaded on demand: the client commands never pay for the server's modules. The call path
  // compiled eagerly: V8 otherwise compiles each function the first time it runs, and a
  // function's first call (scale from zero, ~3 ms from the pre-booted pool) runs many of them
  // for the first time. The rest of the server (the API, the start, the stores) compiles
  // lazily: compiled eagerly it cost ~0.4 MB at rest and saved the first call nothing measurable.
  setFlagsFromString('--no-lazy');
  try {
    await import('../../server/call-path.js');
  } finally {
    setFlagsFromString('--lazy');
  }
  const { runServer } = await import('../../server/index.js');
  // main.ts began a lean start (lean-start.ts): it ends once the server listens.
  await runServer(options, endLeanStart);
}
