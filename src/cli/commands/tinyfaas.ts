/**
 * `ferry tinyfaas`: Ferry as a drop-in tinyFaaS. The management API on Ferry's main listener
 * (127.0.0.1:8080 unless moved), HTTP invocation on `[::]:$HTTP_PORT`, CoAP on `$COAP_PORT` and
 * gRPC on `$GRPC_PORT` (host `::`), read as tinyFaaS reads them (`-1` turns one off); SIGINT stops
 * everything, instances included, within a second. Every `ferry server` setting passes through.
 */
import type { Command } from 'commander';
import { loadServerOptions, serverSettings, type ServerOptions } from '../../config/index.js';
import { usageError } from '../errors.js';
import { launchServer, serverFlags, settingOption } from './server.js';

/** tinyFaaS's endpoints, their environment variables and default ports. */
const endpoints = [
  { env: 'HTTP_PORT', port: 8000 },
  { env: 'COAP_PORT', port: 5683 },
  { env: 'GRPC_PORT', port: 9000 },
] as const;

/** A stop that finishes within a second: a short drain, then a short grace for each instance. */
const quickStop = { drainTimeoutMs: '250ms', stopGraceMs: '250ms' } as const;

/** The port an endpoint's variable asks for: undefined when `-1` (or any negative) turns it off. */
export function endpointPort(env: NodeJS.ProcessEnv, name: string, fallback: number): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^[+-]?\d+$/.test(raw.trim())) throw new Error(`${name}: '${raw}' is not an integer`);
  const port = Number(raw.trim());
  if (port < 0) return undefined;
  if (port > 65_535) throw new Error(`${name}: ${port} is over 65535`);
  return port;
}

/** The `ferry server` options of the drop-in: tinyFaaS's settings under what the caller set. */
export function tinyfaasOptions(parsed: Record<string, unknown>, env: NodeJS.ProcessEnv): ServerOptions {
  const flags = serverFlags(parsed);
  const given = (key: keyof ServerOptions): boolean => {
    const s = serverSettings.find((x) => x.key === key)!;
    return flags[key] !== undefined || (s.env !== undefined && env[s.env] !== undefined);
  };
  const [http, coap, grpc] = endpoints.map((e) => endpointPort(env, e.env, e.port));
  const base = loadServerOptions(flags, env);
  const compat = base.compat.includes('tinyfaas') ? base.compat : [...base.compat, 'tinyfaas'];
  flags.compat = compat.join(',');
  const listen = [...base.surfaceListen];
  if (http !== undefined && !listen.some((l) => l.startsWith('tinyfaas-http='))) listen.push(`tinyfaas-http=[::]:${http}`);
  flags.surfaceListen = listen.join(',');
  if (!given('coapPort') && coap !== undefined) Object.assign(flags, { coapPort: coap, ...(given('coapHost') ? {} : { coapHost: '::' }) });
  if (!given('grpcPort') && grpc !== undefined) Object.assign(flags, { grpcPort: grpc, ...(given('grpcHost') ? {} : { grpcHost: '::' }) });
  for (const [key, value] of Object.entries(quickStop) as Array<[keyof typeof quickStop, string]>) if (!given(key)) flags[key] = value;
  return loadServerOptions(flags, env);
}

export function register(program: Command): void {
  const cmd = program
    .command('tinyfaas')
    .description('run Ferry as a drop-in tinyFaaS: its management API, HTTP_PORT, COAP_PORT and GRPC_PORT (see docs/compat/tinyfaas.md)');
  for (const s of serverSettings) cmd.addOption(settingOption(s));
  cmd.action(async (parsed: Record<string, unknown>) => {
    let options: ServerOptions;
    try {
      options = tinyfaasOptions(parsed, process.env);
    } catch (err) {
      throw usageError(err instanceof Error ? err.message : String(err));
    }
    await launchServer(options);
  });
}
