import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { isHeaderPattern } from '../util/header-pattern.js';
import { checkTrafficOptions } from './traffic-options.js';
import { checkClusterOptions } from './cluster-options.js';
import { seed003Environment } from './seed003-env.js';
import { seed003JwtSecret } from './seed003-jwt-secret.js';

/**
 * Every setting of `ferry server`. Each has a flag, most an environment variable, and a default;
 * `docs/configuration.md` lists them all (a test keeps the table in step with `serverSettings`).
 */
export interface ServerOptions {
  port: number;
  host: string;
  dataDir: string;
  /** Host-name routing: `{name}.{domain}` and `{ref}.{name}.{domain}`. */
  domain: string | undefined;
  /** HTTP surfaces on a listener of their own: `name=address:port` each (see `surfaces/registry.ts`). */
  surfaceListen: string[];
  /** The CoAP front end (UDP): off when undefined; its address (`::` binds IPv6 and IPv4). */
  coapPort: number | undefined;
  coapHost: string | undefined;
  /** The gRPC front end (plaintext HTTP/2): off when undefined; its address. */
  grpcPort: number | undefined;
  grpcHost: string | undefined;
  /** Other systems' APIs served too (`tinyfaas`): each is a surface of its own, off unless named. */
  compat: string[];
  /** The user that functions created through a compat API without credentials belong to. */
  compatUser: string;
  /** The folder ShortedFaaS's API watches and deploys functions from (`--compat shortedfaas`). */
  deployDir: string | undefined;
  /** ShortedFaaS's auth: every call of its API needs the `ShortedFaaS_SharedSecret` or a token. */
  shortedfaasAuth: boolean;
  /** The deploy folder's functions import only their own libraries, not the host's (`hostLibraries` off). */
  shortedfaasOwnLibrariesOnly: boolean;
  /** How long SIGTERM waits for in-flight requests before closing open streams. */
  drainTimeoutMs: number;
  /** On stopping, how long each instance has between SIGTERM and SIGKILL. */
  stopGraceMs: number;
  /** Sandbox driver name (see `sandbox/registry.ts`). */
  driver: string;
  /** The explicit choice to run functions without isolation (the `process` driver). */
  unsandboxed: boolean;
  /** Sandbox tiers a version may ask for with `tier`, besides `driver` (the default tier). */
  sandboxTiers: string[];
  /** The microvm tier's booted VMs kept ready for `none` instances, and for `egress` ones. */
  microvmPool: number;
  microvmEgressPool: number;
  /** The microvm tier's accelerator: auto (KVM where usable), kvm (try it first regardless), tcg (always emulated). */
  microvmAccel: 'auto' | 'kvm' | 'tcg';
  /** Tiers only permission:admin may ask for. */
  adminTiers: string[];
  /** What this node does in a cluster: `all` (one node, or a node that does everything), `gateway`, `worker`. */
  role: 'all' | 'gateway' | 'worker';
  /** A worker's cluster listener (`host:port`), where gateways send calls; port 0 picks one. */
  clusterListen: string | undefined;
  /** The URL gateways reach this worker's cluster listener at (default: from `clusterListen`). */
  clusterAdvertise: string | undefined;
  /** How often a node writes its heartbeat, and how long one lives unrenewed. */
  heartbeatIntervalMs: number;
  nodeTtlMs: number;
  /** Metadata store and queues (see `store/registry.ts`, `queue/registry.ts`). */
  store: string;
  /** NATS login and TLS when `store` is a NATS URL: file paths and a user name, never a secret itself. */
  natsUser: string | undefined;
  natsPasswordFile: string | undefined;
  natsTokenFile: string | undefined;
  natsCreds: string | undefined;
  natsNkeySeed: string | undefined;
  natsTlsCa: string | undefined;
  natsTlsCert: string | undefined;
  natsTlsKey: string | undefined;
  /** Names every NATS bucket and stream of this deployment (`<prefix>_catalog`, ...). */
  natsPrefix: string;
  /** How long JetStream waits for a silent holder of a queued message (a dead node) before delivering it again. */
  natsAckWaitMs: number;
  /** Host path prefixes a function's `roBinds` may bind from. */
  bindable: string[];
  /** Whether functions may use `network: "host"`. */
  allowHostNetwork: boolean;
  /** Private ranges `egress` functions may still reach. */
  egressAllow: string[];
  egressStack: 'auto' | 'shared' | 'slirp4netns' | 'pasta';
  /** Host uid (and gid) instances run as when Ferry runs as root. */
  sandboxUid: number;
  /** Dependency builds at deploy: their time limit and where packages come from. */
  buildTimeoutMs: number;
  /** Most a dependency build may write, and most the cache of finished builds may keep. */
  buildMaxBytes: number;
  buildCacheMaxBytes: number;
  /** Ad-hoc commands (`POST /v1/run`, Tangle's invoke): off unless allowed; their time cap and output cap. */
  allowRun: boolean;
  runTimeoutMs: number;
  runOutputMaxBytes: number;
  npmRegistry: string;
  pipIndexUrl: string | undefined;
  pipFindLinks: string | undefined;
  /** Whether builds may reach a loopback or private source (and only it) through the server. */
  buildAllowPrivateSources: boolean;
  /** Pre-booted sandboxes kept waiting per runtime (node, python); 0: no pool. */
  poolSize: number;
  /** TypeScript type errors refuse a version (422) instead of being warnings. */
  strictTypes: boolean;
  /** `token`: every invocation needs a bearer token, whatever the function says. */
  invokeAuth: 'public' | 'token';
  metricsPublic: boolean;
  /** Who may create an account through POST /v1/auth/register. */
  registration: 'closed' | 'open' | 'invite';
  /** Groups a new user gets when none are given. */
  defaultGroups: string[];
  /** Lifetime of a login's access token (a signed JWT) and of its refresh token. */
  accessTokenTtlMs: number;
  refreshTokenTtlMs: number;
  /** Failed logins per client address and name (4x per address) before that client's tries answer 429. */
  loginMaxFailures: number;
  /** Proxies whose X-Forwarded-For names the client (addresses or CIDRs). */
  trustProxy: string[];
  /** CORS on `/v1`: the origins admitted (none: off), and whether their pages may send credentials. */
  corsOrigin: string[];
  corsCredentials: boolean;
  /** Server-wide rate limits, `RATE[:BURST]` (undefined: off), and the bound on each bucket table. */
  rateLimitPerAddress: string | undefined;
  rateLimitPerToken: string | undefined;
  rateLimitBuckets: number;
  /** Per-group quotas (0: unlimited): functions, sum of maxInstances x memoryMb, sum of minInstances. */
  quotaFunctions: number;
  quotaMemoryMb: number;
  quotaMinInstances: number;
  /** Caps on one version of a non-admin (0: unlimited): `limits.memoryMb`, `scaling.maxInstances`. */
  quotaVersionMemoryMb: number;
  quotaVersionMaxInstances: number;
  /** Invocation history: newest kept per function, age, and the cap on recorded payloads. */
  historyPerFunction: number;
  historyRetentionMs: number;
  historyPayloadMaxBytes: number;
  /** Function logs kept per function: age and line count. */
  logRetentionMs: number;
  logMaxLines: number;
  /** Asynchronous executions run at once on this server (0: accept and queue, run none). */
  asyncWorkers: number;
  /** Executions queued or running before submissions answer 429. */
  executionQueueMax: number;
  /** How long ended executions (and their results) are kept. */
  executionRetentionMs: number;
  /** Loopback and private addresses or CIDRs callbacks may reach. */
  callbackAllow: string[];
  callbackAttempts: number;
  callbackTimeoutMs: number;
  /** Image pulls: loopback or private ranges registries may be at, the operator's logins and CA, plain-HTTP registries. */
  registryAllow: string[];
  registryAuthFile: string | undefined;
  registryCa: string | undefined;
  insecureRegistry: string[];
  /** Request header names (or `*-suffix`, `prefix-*`) kept out of stored records besides the defaults. */
  redactHeaders: string[];
  /** Request body cap for invocations. */
  maxBodyBytes: number;
  /** Upload caps. */
  maxUploadBytes: number;
  archiveMaxEntries: number;
  archiveMaxBytes: number;
  /** Container image archives: most bytes (archive, any one blob, the flattened tree) and tree entries. */
  imageMaxBytes: number;
  imageMaxEntries: number;
  /** Per-function objects: bytes per object, and per function in all (0: no limit). */
  objectMaxBytes: number;
  quotaObjectBytes: number;
  logLevel: string;
  /** With `--compat seed003`: its `JWT_SECRET` (or `JWT_SECRET_FILE`), never a flag or a table setting. */
  seed003JwtSecret?: Buffer;
}

/** The systems whose APIs `--compat` can serve. */
export const compatSystems: readonly string[] = ['tinyfaas', 'shortedfaas', 'yfass', 'tangle', 'seed003'];

type Kind = 'int' | 'string' | 'bool' | 'duration' | 'bytes' | 'list';

/** One setting of a command: its flag, its environment variable, its kind and its default. */
export interface SettingSpec {
  flag: string;
  env?: string;
  kind: Kind;
  default: string | number | boolean | undefined;
  help: string;
}

interface Setting extends SettingSpec {
  key: keyof ServerOptions;
}

/** The table of settings: the CLI builds its flags from it and the docs list it. */
export const serverSettings: Setting[] = [
  { key: 'port', flag: '--port', env: 'FERRY_PORT', kind: 'int', default: 8080, help: 'TCP port to listen on' },
  { key: 'host', flag: '--host', env: 'FERRY_HOST', kind: 'string', default: '127.0.0.1', help: 'address to listen on' },
  { key: 'dataDir', flag: '--data-dir', env: 'FERRY_DATA_DIR', kind: 'string', default: './.ferry', help: 'where metadata, packages and logs are kept' },
  { key: 'domain', flag: '--domain', env: 'FERRY_DOMAIN', kind: 'string', default: undefined, help: 'route Host {name}.D and {ref}.{name}.D to functions' },
  { key: 'surfaceListen', flag: '--surface-listen', env: 'FERRY_SURFACE_LISTEN', kind: 'list', default: '', help: 'comma-separated name=address:port: serve these HTTP surfaces (fn, host, v1) on a listener of their own' },
  { key: 'coapPort', flag: '--coap-port', env: 'FERRY_COAP_PORT', kind: 'int', default: undefined, help: 'serve functions over CoAP (UDP) on this port; off by default' },
  { key: 'coapHost', flag: '--coap-host', env: 'FERRY_COAP_HOST', kind: 'string', default: undefined, help: 'address the CoAP front end binds (default: --host; :: is IPv6 and IPv4)' },
  { key: 'grpcPort', flag: '--grpc-port', env: 'FERRY_GRPC_PORT', kind: 'int', default: undefined, help: 'serve functions over gRPC (plaintext HTTP/2) on this port; off by default' },
  { key: 'grpcHost', flag: '--grpc-host', env: 'FERRY_GRPC_HOST', kind: 'string', default: undefined, help: 'address the gRPC front end binds (default: --host)' },
  { key: 'compat', flag: '--compat', env: 'FERRY_COMPAT', kind: 'list', default: '', help: "comma-separated other systems' APIs to serve too: tinyfaas, shortedfaas, yfass, tangle, seed003 (see docs/compat/)" },
  { key: 'compatUser', flag: '--compat-user', env: 'FERRY_COMPAT_USER', kind: 'string', default: 'admin', help: 'user that owns what is created through a compat API without credentials (default: the boot admin)' },
  { key: 'deployDir', flag: '--deploy-dir', env: 'FERRY_DEPLOY_DIR', kind: 'string', default: undefined, help: 'with --compat shortedfaas: watch this folder; each subfolder with a run.json or ferry.json is a function named after it' },
  { key: 'shortedfaasAuth', flag: '--shortedfaas-auth', env: 'FERRY_SHORTEDFAAS_AUTH', kind: 'bool', default: false, help: 'ShortedFaaS API: every call needs Authorization: SharedSecret <$ShortedFaaS_SharedSecret> or a Ferry bearer token' },
  { key: 'shortedfaasOwnLibrariesOnly', flag: '--shortedfaas-own-libraries-only', env: 'FERRY_SHORTEDFAAS_OWN_LIBRARIES_ONLY', kind: 'bool', default: false, help: "ShortedFaaS deploy folder: functions import only their own libraries, not the host's installed ones" },
  { key: 'drainTimeoutMs', flag: '--drain-timeout', env: 'FERRY_DRAIN_TIMEOUT', kind: 'duration', default: 30_000, help: 'on SIGTERM, wait this long for open requests and streams' },
  { key: 'stopGraceMs', flag: '--stop-grace', env: 'FERRY_STOP_GRACE', kind: 'duration', default: 5000, help: 'on stopping, how long each instance has between SIGTERM and SIGKILL' },
  { key: 'driver', flag: '--driver', env: 'FERRY_DRIVER', kind: 'string', default: 'bwrap', help: 'sandbox driver: bwrap, microvm (a VM per instance; ferry rootfs build first), or process (no isolation: needs --unsandboxed)' },
  { key: 'sandboxTiers', flag: '--sandbox-tiers', env: 'FERRY_SANDBOX_TIERS', kind: 'list', default: '', help: 'comma-separated sandbox tiers (bwrap, gvisor, microvm) a function may ask for with "tier", besides --driver (the default tier)' },
  { key: 'microvmPool', flag: '--microvm-pool', env: 'FERRY_MICROVM_POOL', kind: 'int', default: 1, help: 'microvm tier: booted VMs kept ready for instances without network (each serves one instance; a start takes one and the next boots behind it)' },
  { key: 'microvmAccel', flag: '--microvm-accel', env: 'FERRY_MICROVM_ACCEL', kind: 'string', default: 'auto', help: "microvm tier: auto (KVM where this host's KVM runs ordinary guests, else QEMU's emulator), kvm (KVM first, whatever that check says) or tcg (always emulated); a VM that does not boot on KVM is booted again emulated" },
  { key: 'microvmEgressPool', flag: '--microvm-egress-pool', env: 'FERRY_MICROVM_EGRESS_POOL', kind: 'int', default: 0, help: 'microvm tier: booted VMs with a NIC kept ready for "egress" instances (0: each boots its own)' },
  { key: 'adminTiers', flag: '--admin-tiers', env: 'FERRY_ADMIN_TIERS', kind: 'list', default: '', help: 'comma-separated sandbox tiers only permission:admin may ask for' },
  { key: 'unsandboxed', flag: '--unsandboxed', env: 'FERRY_UNSANDBOXED', kind: 'bool', default: false, help: 'run functions WITHOUT a sandbox (the process driver; development only)' },
  { key: 'role', flag: '--role', env: 'FERRY_ROLE', kind: 'string', default: 'all', help: 'in a cluster (--store nats://...): gateway (API and surfaces, runs no instances), worker (runs instances and executions), or all' },
  { key: 'clusterListen', flag: '--cluster-listen', env: 'FERRY_CLUSTER_LISTEN', kind: 'string', default: undefined, help: "a worker's listener for its gateways' calls, host:port (default: --host, a free port); signed calls only" },
  { key: 'clusterAdvertise', flag: '--cluster-advertise', env: 'FERRY_CLUSTER_ADVERTISE', kind: 'string', default: undefined, help: 'the URL gateways reach this worker at (default: http://<cluster-listen>); set it when listening on 0.0.0.0' },
  { key: 'heartbeatIntervalMs', flag: '--heartbeat-interval', env: 'FERRY_HEARTBEAT_INTERVAL', kind: 'duration', default: 2000, help: 'in a cluster, how often a node announces itself (load, warm versions)' },
  { key: 'nodeTtlMs', flag: '--node-ttl', env: 'FERRY_NODE_TTL', kind: 'duration', default: 10_000, help: 'in a cluster, how long a node counts as alive after its last heartbeat' },
  { key: 'store', flag: '--store', env: 'FERRY_STORE', kind: 'string', default: 'sqlite', help: 'where metadata and the execution queues live: sqlite (files in the data dir), or NATS JetStream: nats://host:4222 (several comma-separated; tls:// for TLS)' },
  { key: 'natsUser', flag: '--nats-user', env: 'FERRY_NATS_USER', kind: 'string', default: undefined, help: 'NATS user name; its password comes from FERRY_NATS_PASSWORD or --nats-password-file' },
  { key: 'natsPasswordFile', flag: '--nats-password-file', env: 'FERRY_NATS_PASSWORD_FILE', kind: 'string', default: undefined, help: "file holding the NATS user's password (mode 600, the server user's)" },
  { key: 'natsTokenFile', flag: '--nats-token-file', env: 'FERRY_NATS_TOKEN_FILE', kind: 'string', default: undefined, help: 'file holding a NATS token (mode 600); or the token in FERRY_NATS_TOKEN' },
  { key: 'natsCreds', flag: '--nats-creds', env: 'FERRY_NATS_CREDS', kind: 'string', default: undefined, help: 'NATS credentials file (JWT and NKey seed, from nsc; mode 600)' },
  { key: 'natsNkeySeed', flag: '--nats-nkey-seed', env: 'FERRY_NATS_NKEY_SEED', kind: 'string', default: undefined, help: 'file holding an NKey seed (SU...) to log in to NATS with (mode 600)' },
  { key: 'natsTlsCa', flag: '--nats-tls-ca', env: 'FERRY_NATS_TLS_CA', kind: 'string', default: undefined, help: 'PEM file of the CA certificates NATS servers are trusted with (turns TLS on)' },
  { key: 'natsTlsCert', flag: '--nats-tls-cert', env: 'FERRY_NATS_TLS_CERT', kind: 'string', default: undefined, help: 'client certificate (PEM) for NATS servers that ask for one; with --nats-tls-key' },
  { key: 'natsTlsKey', flag: '--nats-tls-key', env: 'FERRY_NATS_TLS_KEY', kind: 'string', default: undefined, help: 'private key (PEM, mode 600) of --nats-tls-cert' },
  { key: 'natsPrefix', flag: '--nats-prefix', env: 'FERRY_NATS_PREFIX', kind: 'string', default: 'ferry', help: 'names every NATS bucket and stream of this deployment (ferry_catalog, FERRY_LOGS, ...): two deployments on one NATS account need two prefixes' },
  { key: 'natsAckWaitMs', flag: '--nats-ack-wait', env: 'FERRY_NATS_ACK_WAIT', kind: 'duration', default: 30_000, help: "how long a queued execution or callback held by a node that died (its in-progress beats stopped) waits before another node gets it (nodes beat every third of it while they run one); each node sets it on the queue's consumer when it starts, so the node started last holds" },
  { key: 'bindable', flag: '--bindable', env: 'FERRY_BINDABLE', kind: 'list', default: '', help: 'comma-separated host path prefixes that roBinds may bind read-only' },
  { key: 'allowHostNetwork', flag: '--allow-host-network', env: 'FERRY_ALLOW_HOST_NETWORK', kind: 'bool', default: false, help: 'let functions use network: "host" (shares the host network)' },
  { key: 'egressAllow', flag: '--egress-allow', env: 'FERRY_EGRESS_ALLOW', kind: 'list', default: '', help: 'comma-separated private CIDRs that egress functions may reach' },
  { key: 'egressStack', flag: '--egress-stack', env: 'FERRY_EGRESS_STACK', kind: 'string', default: 'auto', help: "egress network stack: shared (one slirp4netns for all instances, root only), slirp4netns or pasta (one per instance), auto" },
  { key: 'buildTimeoutMs', flag: '--build-timeout', env: 'FERRY_BUILD_TIMEOUT', kind: 'duration', default: 300_000, help: 'time limit of a dependency build at deploy (npm, pip)' },
  { key: 'buildMaxBytes', flag: '--build-max-bytes', env: 'FERRY_BUILD_MAX_BYTES', kind: 'bytes', default: 1024 ** 3, help: 'most a dependency build may write to its work dir; past it, it is stopped (422 build-failed)' },
  { key: 'buildCacheMaxBytes', flag: '--build-cache-max-bytes', env: 'FERRY_BUILD_CACHE_MAX_BYTES', kind: 'bytes', default: 2 * 1024 ** 3, help: 'most the cache of finished dependency builds keeps; the least recently used are removed' },
  { key: 'allowRun', flag: '--allow-run', env: 'FERRY_ALLOW_RUN', kind: 'bool', default: false, help: 'let holders of permission:execute run ad-hoc commands in a fresh sandbox (POST /v1/run, ferry run)' },
  { key: 'runTimeoutMs', flag: '--run-timeout', env: 'FERRY_RUN_TIMEOUT', kind: 'duration', default: 30_000, help: "longest an ad-hoc command may run, and its time when the request names none" },
  { key: 'runOutputMaxBytes', flag: '--run-output-max', env: 'FERRY_RUN_OUTPUT_MAX', kind: 'bytes', default: 1024 * 1024, help: "most stdout, and most stderr, an ad-hoc command may write; past it, it is stopped" },
  { key: 'npmRegistry', flag: '--npm-registry', env: 'FERRY_NPM_REGISTRY', kind: 'string', default: 'https://registry.npmjs.org/', help: 'npm registry dependency builds install from' },
  { key: 'pipIndexUrl', flag: '--pip-index-url', env: 'FERRY_PIP_INDEX_URL', kind: 'string', default: undefined, help: 'Python package index dependency builds install from (default: none, only --pip-find-links)' },
  { key: 'pipFindLinks', flag: '--pip-find-links', env: 'FERRY_PIP_FIND_LINKS', kind: 'string', default: undefined, help: 'host folder of wheels dependency builds install from (bound read-only)' },
  { key: 'buildAllowPrivateSources', flag: '--build-allow-private-sources', env: 'FERRY_BUILD_ALLOW_PRIVATE_SOURCES', kind: 'bool', default: false, help: 'let dependency builds reach a source on loopback or a private address, through the server and to its host:port only' },
  { key: 'sandboxUid', flag: '--sandbox-uid', env: 'FERRY_SANDBOX_UID', kind: 'int', default: 2_000_000, help: 'host uid and gid instances run as when Ferry runs as root' },
  { key: 'poolSize', flag: '--pool-size', env: 'FERRY_POOL_SIZE', kind: 'int', default: 1, help: 'pre-booted sandboxes kept per runtime in use (node, python: once a function of it is deployed) for fast first calls; 0 disables' },
  { key: 'strictTypes', flag: '--strict-types', env: 'FERRY_STRICT_TYPES', kind: 'bool', default: false, help: 'TypeScript type errors refuse a version (422 handler-check-failed) instead of being warnings' },
  { key: 'invokeAuth', flag: '--invoke-auth', env: 'FERRY_INVOKE_AUTH', kind: 'string', default: 'public', help: "'token' requires a bearer token on every invocation" },
  { key: 'metricsPublic', flag: '--metrics-public', env: 'FERRY_METRICS_PUBLIC', kind: 'bool', default: false, help: 'serve /metrics without a token' },
  { key: 'registration', flag: '--registration', env: 'FERRY_REGISTRATION', kind: 'string', default: 'closed', help: 'POST /v1/auth/register: closed, open, or invite (needs an invite from an admin)' },
  { key: 'defaultGroups', flag: '--default-groups', env: 'FERRY_DEFAULT_GROUPS', kind: 'list', default: 'permission:read,permission:write,permission:execute,permission:remove', help: 'groups of a new user when none are given' },
  { key: 'accessTokenTtlMs', flag: '--access-token-ttl', env: 'FERRY_ACCESS_TOKEN_TTL', kind: 'duration', default: 15 * 60_000, help: 'lifetime of the access token a login answers' },
  { key: 'refreshTokenTtlMs', flag: '--refresh-token-ttl', env: 'FERRY_REFRESH_TOKEN_TTL', kind: 'duration', default: 30 * 86_400_000, help: 'lifetime of a refresh token (single use, rotated)' },
  { key: 'loginMaxFailures', flag: '--login-max-failures', env: 'FERRY_LOGIN_MAX_FAILURES', kind: 'int', default: 5, help: 'failed logins per client address and name (4x per address) before that client gets 429 with Retry-After' },
  { key: 'trustProxy', flag: '--trust-proxy', env: 'FERRY_TRUST_PROXY', kind: 'list', default: '', help: 'comma-separated proxy addresses or CIDRs whose X-Forwarded-For names the client (login throttling)' },
  { key: 'corsOrigin', flag: '--cors-origin', env: 'FERRY_CORS_ORIGIN', kind: 'list', default: '', help: 'comma-separated origins (https://app.example.com, https://*.example.com, *) whose pages may call /v1 (CORS); off by default' },
  { key: 'corsCredentials', flag: '--cors-credentials', env: 'FERRY_CORS_CREDENTIALS', kind: 'bool', default: false, help: 'let the --cors-origin pages send credentials to /v1 (not with *)' },
  { key: 'rateLimitPerAddress', flag: '--rate-limit-per-address', env: 'FERRY_RATE_LIMIT_PER_ADDRESS', kind: 'string', default: undefined, help: 'RATE[:BURST]: requests a second (and at once) per client address (IPv6: per /64), over every surface; off by default' },
  { key: 'rateLimitPerToken', flag: '--rate-limit-per-token', env: 'FERRY_RATE_LIMIT_PER_TOKEN', kind: 'string', default: undefined, help: 'RATE[:BURST]: requests a second (and at once) per bearer credential, over every surface; off by default' },
  { key: 'rateLimitBuckets', flag: '--rate-limit-buckets', env: 'FERRY_RATE_LIMIT_BUCKETS', kind: 'int', default: 100_000, help: 'most token buckets each rate-limit table (address, token, function) keeps in memory' },
  { key: 'quotaFunctions', flag: '--quota-functions', env: 'FERRY_QUOTA_FUNCTIONS', kind: 'int', default: 100, help: 'most functions a group may own (0: no limit; admins are exempt)' },
  { key: 'quotaMemoryMb', flag: '--quota-memory-mb', env: 'FERRY_QUOTA_MEMORY_MB', kind: 'int', default: 4096, help: "most memory a group's versions may reserve, maxInstances x memoryMb summed (0: no limit)" },
  { key: 'quotaMinInstances', flag: '--quota-min-instances', env: 'FERRY_QUOTA_MIN_INSTANCES', kind: 'int', default: 4, help: "most always-on instances a group's versions may ask for, minInstances summed (0: no limit)" },
  { key: 'quotaVersionMemoryMb', flag: '--quota-version-memory-mb', env: 'FERRY_QUOTA_VERSION_MEMORY_MB', kind: 'int', default: 2048, help: 'largest limits.memoryMb of one version (0: no limit; admins are exempt)' },
  { key: 'quotaVersionMaxInstances', flag: '--quota-version-max-instances', env: 'FERRY_QUOTA_VERSION_MAX_INSTANCES', kind: 'int', default: 32, help: 'largest scaling.maxInstances of one version (0: no limit; admins are exempt)' },
  { key: 'historyPerFunction', flag: '--history-per-function', env: 'FERRY_HISTORY_PER_FUNCTION', kind: 'int', default: 1000, help: 'newest invocations kept in the history per function' },
  { key: 'historyRetentionMs', flag: '--history-retention', env: 'FERRY_HISTORY_RETENTION', kind: 'duration', default: 7 * 86_400_000, help: 'drop invocations older than this from the history' },
  { key: 'historyPayloadMaxBytes', flag: '--history-payload-max', env: 'FERRY_HISTORY_PAYLOAD_MAX', kind: 'bytes', default: 64 * 1024, help: 'request and response bodies kept per invocation (recordPayloads), each' },
  { key: 'logRetentionMs', flag: '--log-retention', env: 'FERRY_LOG_RETENTION', kind: 'duration', default: 7 * 86_400_000, help: 'drop function log lines older than this' },
  { key: 'logMaxLines', flag: '--log-max-lines', env: 'FERRY_LOG_MAX_LINES', kind: 'int', default: 10_000, help: 'keep at most this many log lines per function' },
  { key: 'asyncWorkers', flag: '--async-workers', env: 'FERRY_ASYNC_WORKERS', kind: 'int', default: 64, help: 'asynchronous executions run at once (the global maxConcurrentExecutions); 0 queues them without running any' },
  { key: 'executionQueueMax', flag: '--execution-queue-max', env: 'FERRY_EXECUTION_QUEUE_MAX', kind: 'int', default: 100_000, help: 'executions queued or running before new ones answer 429 with Retry-After' },
  { key: 'executionRetentionMs', flag: '--execution-retention', env: 'FERRY_EXECUTION_RETENTION', kind: 'duration', default: 7 * 86_400_000, help: 'keep ended executions and their results this long' },
  { key: 'callbackAttempts', flag: '--callback-attempts', env: 'FERRY_CALLBACK_ATTEMPTS', kind: 'int', default: 5, help: 'tries to deliver a callback (back-off 0.5 s, 1 s, 2 s ...) before it is marked failed' },
  { key: 'callbackTimeoutMs', flag: '--callback-timeout', env: 'FERRY_CALLBACK_TIMEOUT', kind: 'duration', default: 10_000, help: 'how long one callback try may take' },
  { key: 'callbackAllow', flag: '--callback-allow', env: 'FERRY_CALLBACK_ALLOW', kind: 'list', default: '', help: 'comma-separated loopback or private addresses or CIDRs that callbacks (and tinyFaaS\'s uploadURL) may reach' },
  { key: 'registryAllow', flag: '--registry-allow', env: 'FERRY_REGISTRY_ALLOW', kind: 'list', default: '', help: 'comma-separated loopback or private addresses or CIDRs that image pulls (registries, their token realms and redirects) may reach' },
  { key: 'registryAuthFile', flag: '--registry-auth-file', env: 'FERRY_REGISTRY_AUTH_FILE', kind: 'string', default: undefined, help: "registry logins for image pulls, in Docker's config.json format (auths); must be mode 600 and the server user's" },
  { key: 'registryCa', flag: '--registry-ca', env: 'FERRY_REGISTRY_CA', kind: 'string', default: undefined, help: "PEM file of CA certificates image registries are trusted with, besides Node's own" },
  { key: 'insecureRegistry', flag: '--insecure-registry', env: 'FERRY_INSECURE_REGISTRY', kind: 'list', default: '', help: 'comma-separated registry host:port pulled from over plain HTTP (no TLS)' },
  { key: 'redactHeaders', flag: '--redact-headers', env: 'FERRY_REDACT_HEADERS', kind: 'list', default: '', help: 'comma-separated request headers (name, *-suffix or prefix-*) that execution records redact, besides authorization, cookie, x-api-key, *-token, *-secret, *-key and the like' },
  { key: 'maxBodyBytes', flag: '--max-body', env: 'FERRY_MAX_BODY', kind: 'bytes', default: 6 * 1024 * 1024, help: 'largest invocation request body (413 above)' },
  { key: 'maxUploadBytes', flag: '--max-upload', env: 'FERRY_MAX_UPLOAD', kind: 'bytes', default: 256 * 1024 * 1024, help: 'largest package archive upload' },
  { key: 'archiveMaxEntries', flag: '--archive-max-entries', env: 'FERRY_ARCHIVE_MAX_ENTRIES', kind: 'int', default: 10_000, help: 'most entries an archive may hold' },
  { key: 'archiveMaxBytes', flag: '--archive-max-bytes', env: 'FERRY_ARCHIVE_MAX_BYTES', kind: 'bytes', default: 512 * 1024 * 1024, help: 'most bytes an archive may unpack to' },
  { key: 'imageMaxBytes', flag: '--image-max-bytes', env: 'FERRY_IMAGE_MAX_BYTES', kind: 'bytes', default: 4 * 1024 ** 3, help: 'most bytes a container image may have: its archive, any one layer unpacked, and its flattened root file system' },
  { key: 'imageMaxEntries', flag: '--image-max-entries', env: 'FERRY_IMAGE_MAX_ENTRIES', kind: 'int', default: 200_000, help: "most entries a container image's archive and layers may hold in all" },
  { key: 'objectMaxBytes', flag: '--object-max-bytes', env: 'FERRY_OBJECT_MAX_BYTES', kind: 'bytes', default: 64 * 1024 * 1024, help: "largest object a function may store (PUT .../objects/{key}; 413 above)" },
  { key: 'quotaObjectBytes', flag: '--quota-object-bytes', env: 'FERRY_QUOTA_OBJECT_BYTES', kind: 'bytes', default: 1024 ** 3, help: "most bytes one function's objects may take in all (0: no limit; admins' writes are exempt)" },
  { key: 'logLevel', flag: '--log-level', env: 'FERRY_LOG_LEVEL', kind: 'string', default: 'info', help: 'server log level (pino)' },
];

const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const byteUnits: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };

/** `30s`, `5m`, `250ms`, `7d`; a bare number is milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new Error(`'${text}' is not a duration (e.g. 250ms, 30s, 5m, 7d)`);
  return Math.round(Number(m[1]) * durationUnits[m[2] ?? 'ms']!);
}

/** `512MiB`, `6mb`, `1024`; a bare number is bytes. */
export function parseBytes(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = byteUnits[(m?.[2] ?? '').toLowerCase()];
  if (!m || unit === undefined) throw new Error(`'${text}' is not a size (e.g. 512MiB, 6mb, 1024)`);
  return Math.round(Number(m[1]) * unit);
}

function parseValue(s: SettingSpec, raw: string | number | boolean): string | number | boolean | string[] {
  if (typeof raw !== 'string') return raw;
  if (s.kind === 'list') return raw.split(',').map((x) => x.trim()).filter(Boolean);
  switch (s.kind) {
    case 'int': {
      const n = Number(raw);
      if (!Number.isInteger(n) || n < 0) throw new Error(`'${raw}' is not a non-negative integer`);
      return n;
    }
    case 'bool':
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off|)$/i.test(raw)) return false;
      throw new Error(`'${raw}' is not a boolean`);
    case 'duration':
      return parseDuration(raw);
    case 'bytes':
      return parseBytes(raw);
    default:
      return raw;
  }
}

/**
 * A setting's value: from its flag (already parsed by the CLI), else its variable, else its
 * default. Throws naming where a bad value came from: the flag, or the variable that set it.
 */
export function readSetting(s: SettingSpec, flag: string | number | boolean | undefined, env: NodeJS.ProcessEnv): unknown {
  const fromEnv = flag === undefined && s.env !== undefined && env[s.env] !== undefined;
  const raw = flag ?? (s.env ? env[s.env] : undefined) ?? s.default;
  try {
    return raw === undefined ? undefined : parseValue(s, raw);
  } catch (err) {
    throw new Error(`${fromEnv ? s.env : s.flag}: ${(err as Error).message}`);
  }
}

/**
 * Settings from flags (already parsed by the CLI, keyed by `ServerOptions` key), then the
 * environment, then defaults. Throws an Error with a one-line message on a bad value.
 */
export function loadServerOptions(flags: Partial<Record<keyof ServerOptions, string | number | boolean>>, given: NodeJS.ProcessEnv): ServerOptions {
  const env = seed003Environment(given, flags.compat);
  const out: Record<string, unknown> = {};
  for (const s of serverSettings) out[s.key] = readSetting(s, flags[s.key], env);
  const opts = out as unknown as ServerOptions;
  if (opts.port > 65_535) throw new Error(`--port: ${opts.port} is not a TCP port`);
  if (opts.coapPort !== undefined && opts.coapPort > 65_535) throw new Error(`--coap-port: ${opts.coapPort} is not a UDP port`);
  for (const c of opts.compat) if (!compatSystems.includes(c)) throw new Error(`--compat: '${c}' is not one of ${compatSystems.join(', ')}`);
  if (opts.grpcPort !== undefined && opts.grpcPort > 65_535) throw new Error(`--grpc-port: ${opts.grpcPort} is not a TCP port`);
  if (opts.invokeAuth !== 'public' && opts.invokeAuth !== 'token') throw new Error(`--invoke-auth: must be 'public' or 'token'`);
  if (!['auto', 'shared', 'slirp4netns', 'pasta'].includes(opts.egressStack)) throw new Error(`--egress-stack: must be 'auto', 'shared', 'slirp4netns' or 'pasta'`);
  if (!['auto', 'kvm', 'tcg'].includes(opts.microvmAccel)) throw new Error(`--microvm-accel: must be 'auto', 'kvm' or 'tcg'`);
  if (!['closed', 'open', 'invite'].includes(opts.registration)) throw new Error(`--registration: must be 'closed', 'open' or 'invite'`);
  for (const g of opts.defaultGroups) if (!/^(permission:(read|write|execute|remove|admin)|custom:[a-z0-9][a-z0-9-]{0,62})$/.test(g)) throw new Error(`--default-groups: '${g}' is not a permission:* or custom:* group`);
  if (opts.accessTokenTtlMs < 1000) throw new Error('--access-token-ttl: at least 1s');
  opts.dataDir = resolve(opts.dataDir);
  if (opts.driver === 'process' && !opts.unsandboxed) {
    throw new Error(`--driver process runs functions without any isolation; choose it explicitly with --unsandboxed`);
  }
  if (opts.unsandboxed && opts.driver === 'bwrap' && flags.driver === undefined && env.FERRY_DRIVER === undefined) opts.driver = 'process';
  if (opts.unsandboxed && opts.driver !== 'process') throw new Error(`--unsandboxed goes with the process driver, not '${opts.driver}'`);
  // The tiers of core/manifest.ts (a lower layer cannot import it).
  const tiers = ['bwrap', 'gvisor', 'microvm'];
  for (const t of opts.sandboxTiers) if (!tiers.includes(t)) throw new Error(`--sandbox-tiers: '${t}' is not a tier (${tiers.join(', ')})`);
  if (opts.sandboxTiers.length && opts.driver === 'process') throw new Error('--sandbox-tiers: the process driver does not isolate; it cannot be the default beside sandbox tiers');
  for (const t of opts.adminTiers) if (!opts.sandboxTiers.includes(t) || t === opts.driver) throw new Error(`--admin-tiers: '${t}' is not one of --sandbox-tiers other than the default (--driver)`);
  for (const p of opts.bindable) if (!p.startsWith('/')) throw new Error(`--bindable: '${p}' is not an absolute path`);
  for (const [flag, url] of [['--npm-registry', opts.npmRegistry], ['--pip-index-url', opts.pipIndexUrl]] as const) {
    if (url !== undefined && !/^https?:\/\/[^/]/.test(url)) throw new Error(`${flag}: '${url}' is not an http(s) URL`);
  }
  if (opts.pipFindLinks !== undefined && !opts.pipFindLinks.startsWith('/')) throw new Error(`--pip-find-links: '${opts.pipFindLinks}' is not an absolute path`);
  if (opts.sandboxUid === 0) throw new Error('--sandbox-uid: instances must not run as root (uid 0)');
  if (opts.callbackAttempts < 1 || opts.callbackAttempts > 100) throw new Error('--callback-attempts: between 1 and 100');
  if (opts.callbackTimeoutMs < 100) throw new Error('--callback-timeout: at least 100ms');
  for (const c of opts.callbackAllow) if (!isAddressOrCidr(c)) throw new Error(`--callback-allow: '${c}' is not an IP address or CIDR`);
  for (const c of opts.registryAllow) if (!isAddressOrCidr(c)) throw new Error(`--registry-allow: '${c}' is not an IP address or CIDR`);
  for (const h of opts.insecureRegistry) if (!/^[a-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-f:.]+\](:\d{1,5})?$/i.test(h)) throw new Error(`--insecure-registry: '${h}' is not a host[:port]`);
  for (const [flag, file] of [['--registry-auth-file', opts.registryAuthFile], ['--registry-ca', opts.registryCa]] as const) {
    if (file !== undefined && !file.startsWith('/')) throw new Error(`${flag}: '${file}' is not an absolute path`);
  }
  opts.redactHeaders = opts.redactHeaders.map((h) => h.toLowerCase());
  for (const h of opts.redactHeaders) if (!isHeaderPattern(h)) throw new Error(`--redact-headers: '${h}' is not a header name, *-suffix or prefix-*`);
  for (const c of opts.trustProxy) if (!isAddressOrCidr(c)) throw new Error(`--trust-proxy: '${c}' is not an IP address or CIDR`);
  checkTrafficOptions(opts);
  checkClusterOptions(opts);
  if (opts.natsAckWaitMs < 1000) throw new Error('--nats-ack-wait: at least 1s');
  if (!/^[A-Za-z0-9][A-Za-z0-9-]{0,31}$/.test(opts.natsPrefix)) throw new Error(`--nats-prefix: '${opts.natsPrefix}' must be 1 to 32 letters, digits or '-', starting with a letter or digit`);
  for (const [flag, file] of [['--nats-password-file', opts.natsPasswordFile], ['--nats-token-file', opts.natsTokenFile], ['--nats-creds', opts.natsCreds], ['--nats-nkey-seed', opts.natsNkeySeed], ['--nats-tls-ca', opts.natsTlsCa], ['--nats-tls-cert', opts.natsTlsCert], ['--nats-tls-key', opts.natsTlsKey]] as const) {
    if (file !== undefined && !file.startsWith('/')) throw new Error(`${flag}: '${file}' is not an absolute path`);
  }
  if (opts.compat.includes('seed003')) {
    const secret = seed003JwtSecret(given);
    if (secret) opts.seed003JwtSecret = secret;
  }
  return opts;
}

/** `10.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`. */
function isAddressOrCidr(text: string): boolean {
  const [addr, bits, extra] = text.split('/');
  const family = isIP(addr ?? '');
  if (!family || extra !== undefined) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d+$/.test(bits) && n <= (family === 4 ? 32 : 128);
}
