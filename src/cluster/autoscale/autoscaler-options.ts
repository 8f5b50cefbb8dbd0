/**
 * Every setting of `ferry autoscaler`: its own (the rule's numbers, the provider, the lease) and
 * the NATS connection settings of `ferry server`, taken from `serverSettings` by key so both
 * commands read them the same way. Seed 003's autoscaler variables (`MIN_WORKERS`, ...) are read
 * too, under the Ferry ones. `docs/cluster.md` lists them (a test keeps the table in step).
 */
import { readSetting, serverSettings, type ServerOptions, type SettingSpec } from '../../config/index.js';
import { parseListenAddress } from '../../config/cluster-options.js';
import type { ScaleSettings } from './decision.js';

/** The `ferry server` settings the autoscaler shares: how to reach NATS, and the heartbeats' lifetime. */
const sharedKeys = ['store', 'natsUser', 'natsPasswordFile', 'natsTokenFile', 'natsCreds', 'natsNkeySeed', 'natsTlsCa', 'natsTlsCert', 'natsTlsKey', 'natsPrefix', 'nodeTtlMs', 'logLevel'] as const;

export type AutoscalerNatsOptions = Pick<ServerOptions, (typeof sharedKeys)[number]>;

export interface AutoscalerOptions extends ScaleSettings, AutoscalerNatsOptions {
  /** `local`: worker processes on this machine; `command`: the operator's program starts and stops them. */
  provider: 'local' | 'command';
  /** The command provider's program (run with FERRY_WORKERS_TARGET and FERRY_WORKERS_CURRENT). */
  providerCommand: string | undefined;
  providerTimeoutMs: number;
  /** Local workers: each one's data dir is `<workerDataRoot>/worker-<n>`. */
  workerDataRoot: string;
  /** Local workers: `ferry server --role worker` arguments besides those, split at spaces. */
  workerArgs: string[];
  /** Local workers: how long a stopped worker may drain before it is killed. */
  workerStopTimeoutMs: number;
  /** How long the lease lives unrenewed: the longest two autoscalers could both think they hold it is none. */
  leaseTtlMs: number;
  /** Where `/metrics` is served (`host:port`); off when undefined. */
  metricsListen: string | undefined;
}

interface AutoscalerSetting extends SettingSpec {
  key: keyof AutoscalerOptions;
  /** Seed 003's name for it, read when neither the flag nor the Ferry variable is set. */
  seedEnv?: string;
}

const ownSettings: AutoscalerSetting[] = [
  { key: 'minWorkers', flag: '--min-workers', env: 'FERRY_AUTOSCALER_MIN_WORKERS', seedEnv: 'MIN_WORKERS', kind: 'int', default: 1, help: 'fewest workers: started at once when fewer run, whatever the load' },
  { key: 'maxWorkers', flag: '--max-workers', env: 'FERRY_AUTOSCALER_MAX_WORKERS', seedEnv: 'MAX_WORKERS', kind: 'int', default: 10, help: 'most workers, whatever the backlog' },
  { key: 'scaleUpThreshold', flag: '--scale-up-threshold', env: 'FERRY_AUTOSCALER_SCALE_UP_THRESHOLD', seedEnv: 'SCALE_UP_THRESHOLD', kind: 'int', default: 3, help: 'grow when the executions waiting and running per live worker are more than this' },
  { key: 'scaleDownThreshold', flag: '--scale-down-threshold', env: 'FERRY_AUTOSCALER_SCALE_DOWN_THRESHOLD', seedEnv: 'SCALE_DOWN_THRESHOLD', kind: 'int', default: 2, help: 'shrink by one worker when the executions waiting and running per live worker are fewer than this' },
  { key: 'scaleUpLagMs', flag: '--scale-up-lag', env: 'FERRY_AUTOSCALER_SCALE_UP_LAG', kind: 'duration', default: 10_000, help: 'grow by one when the oldest waiting execution has waited longer than this (0: off)' },
  { key: 'checkIntervalMs', flag: '--check-interval', env: 'FERRY_AUTOSCALER_CHECK_INTERVAL', seedEnv: 'CHECK_INTERVAL', kind: 'duration', default: 30_000, help: 'how often the queue and the heartbeats are read' },
  { key: 'cooldownMs', flag: '--cooldown', env: 'FERRY_AUTOSCALER_COOLDOWN', seedEnv: 'COOLDOWN_PERIOD', kind: 'duration', default: 30_000, help: 'no change within this long of the last one (except to restore --min-workers or --max-workers)' },
  { key: 'provider', flag: '--provider', env: 'FERRY_AUTOSCALER_PROVIDER', kind: 'string', default: 'local', help: 'what starts and stops workers: local (worker processes on this machine) or command (--provider-command)' },
  { key: 'providerCommand', flag: '--provider-command', env: 'FERRY_AUTOSCALER_PROVIDER_COMMAND', kind: 'string', default: undefined, help: 'absolute path of the program that sets the number of workers; run with FERRY_WORKERS_TARGET and FERRY_WORKERS_CURRENT, exit 0 when done' },
  { key: 'providerTimeoutMs', flag: '--provider-timeout', env: 'FERRY_AUTOSCALER_PROVIDER_TIMEOUT', kind: 'duration', default: 120_000, help: 'how long --provider-command may run before it is killed (and retried at the next check)' },
  { key: 'workerDataRoot', flag: '--worker-data-root', env: 'FERRY_AUTOSCALER_WORKER_DATA_ROOT', kind: 'string', default: './.ferry-workers', help: 'local provider: each worker keeps its data dir under this one (worker-1, worker-2, ...)' },
  { key: 'workerArgs', flag: '--worker-args', env: 'FERRY_AUTOSCALER_WORKER_ARGS', kind: 'string', default: '', help: "local provider: more 'ferry server --role worker' arguments, separated by spaces (the NATS settings are passed on already)" },
  { key: 'workerStopTimeoutMs', flag: '--worker-stop-timeout', env: 'FERRY_AUTOSCALER_WORKER_STOP_TIMEOUT', kind: 'duration', default: 60_000, help: 'local provider: how long a stopped worker may finish its executions before it is killed' },
  { key: 'leaseTtlMs', flag: '--lease-ttl', env: 'FERRY_AUTOSCALER_LEASE_TTL', kind: 'duration', default: 15_000, help: 'the lease that lets one autoscaler act at a time: how long it lives unrenewed (renewed every third of it)' },
  { key: 'metricsListen', flag: '--metrics-listen', env: 'FERRY_AUTOSCALER_METRICS_LISTEN', kind: 'string', default: undefined, help: 'serve Prometheus metrics (ferry_autoscaler_*) at http://host:port/metrics; off by default' },
];

/** Every setting of `ferry autoscaler`, its own first. */
export const autoscalerSettings: readonly AutoscalerSetting[] = [
  ...ownSettings,
  ...serverSettings.filter(isShared).map((s): AutoscalerSetting => (s.key === 'store' ? { ...s, seedEnv: 'NATS_URL', default: undefined, help: 'the NATS JetStream servers of the cluster: nats://host:4222 (several comma-separated; tls:// for TLS)' } : s)),
];

function isShared<S extends { key: string }>(s: S): s is S & { key: (typeof sharedKeys)[number] } {
  return (sharedKeys as readonly string[]).includes(s.key);
}

/** Settings from flags (keyed by `AutoscalerOptions` key), the environment, seed 003's variables, defaults. */
export function loadAutoscalerOptions(flags: Partial<Record<keyof AutoscalerOptions, string | number | boolean>>, env: NodeJS.ProcessEnv): AutoscalerOptions {
  const out: Record<string, unknown> = {};
  for (const s of autoscalerSettings) {
    const given = flags[s.key] ?? (s.env !== undefined ? env[s.env] : undefined);
    const fromSeed = given === undefined && s.seedEnv !== undefined && env[s.seedEnv] !== undefined;
    // A seed variable is read as the setting's own, and a bad one named as itself.
    out[s.key] = fromSeed ? readSetting({ ...s, flag: s.seedEnv!, env: undefined }, env[s.seedEnv!], {}) : readSetting(s, flags[s.key], env);
  }
  const opts = out as unknown as AutoscalerOptions & { workerArgs: unknown };
  opts.workerArgs = String(opts.workerArgs ?? '').split(/\s+/).filter(Boolean);
  checkAutoscalerOptions(opts);
  return opts;
}

function checkAutoscalerOptions(o: AutoscalerOptions): void {
  if (o.store === undefined || !/^(nats|tls):\/\//i.test(o.store.trim())) throw new Error('--store: the autoscaler reads the cluster on NATS: give --store nats://host:4222 (or NATS_URL)');
  if (o.maxWorkers < 1) throw new Error('--max-workers: at least 1');
  if (o.minWorkers > o.maxWorkers) throw new Error(`--min-workers: ${o.minWorkers} is more than --max-workers ${o.maxWorkers}`);
  if (o.scaleUpThreshold < 1) throw new Error('--scale-up-threshold: at least 1');
  if (o.scaleDownThreshold > o.scaleUpThreshold) throw new Error('--scale-down-threshold: at most --scale-up-threshold, or every check would undo the last');
  if (o.checkIntervalMs < 100) throw new Error('--check-interval: at least 100ms');
  if (o.leaseTtlMs < 1000) throw new Error('--lease-ttl: at least 1s');
  if (o.provider !== 'local' && o.provider !== 'command') throw new Error(`--provider: must be 'local' or 'command'`);
  if (o.provider === 'command' && !o.providerCommand) throw new Error('--provider command: give the program with --provider-command /path/to/program');
  if (o.providerCommand !== undefined && !o.providerCommand.startsWith('/')) throw new Error(`--provider-command: '${o.providerCommand}' is not an absolute path`);
  if (o.metricsListen !== undefined) parseListenAddress('--metrics-listen', o.metricsListen);
  if (!/^[A-Za-z0-9][A-Za-z0-9-]{0,31}$/.test(o.natsPrefix)) throw new Error(`--nats-prefix: '${o.natsPrefix}' must be 1 to 32 letters, digits or '-', starting with a letter or digit`);
}

/**
 * The environment that hands this autoscaler's NATS settings on to a local worker (never its
 * command line): each shared setting that has a value, under its `FERRY_*` variable. Secrets are
 * not among them: FERRY_NATS_PASSWORD and FERRY_NATS_TOKEN reach the worker as inherited variables.
 */
export function workerEnvironment(o: AutoscalerOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const s of autoscalerSettings) {
    const v = o[s.key];
    if (s.key === 'logLevel' || !isShared(s) || v === undefined || s.env === undefined) continue;
    env[s.env] = String(v);
  }
  return env;
}
