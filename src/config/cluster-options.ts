import type { ServerOptions } from './options.js';

/** `host:port` of a listener; port 0 picks a free one. */
export function parseListenAddress(flag: string, text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(text.trim());
  const port = Number(m?.[3]);
  if (!m || port > 65_535) throw new Error(`${flag}: '${text}' is not host:port (e.g. 0.0.0.0:7070, 127.0.0.1:0)`);
  return { host: m[1] ?? m[2]!, port };
}

/** The cluster settings, checked at start: a node that could not be reached must not start as if it could. */
export function checkClusterOptions(opts: ServerOptions): void {
  if (!['all', 'gateway', 'worker'].includes(opts.role)) throw new Error(`--role: must be 'all', 'gateway' or 'worker'`);
  if (opts.role !== 'all' && !/^(nats|tls):\/\//i.test(opts.store.trim())) {
    throw new Error(`--role ${opts.role}: the nodes of a cluster share a store; give --store nats://host:4222`);
  }
  if (opts.clusterListen !== undefined) parseListenAddress('--cluster-listen', opts.clusterListen);
  if (opts.clusterAdvertise !== undefined) {
    let url: URL;
    try {
      url = new URL(opts.clusterAdvertise);
    } catch {
      throw new Error(`--cluster-advertise: '${opts.clusterAdvertise}' is not a URL (http://host:port)`);
    }
    if (url.protocol !== 'http:' || url.pathname !== '/' || url.search || url.username) throw new Error(`--cluster-advertise: '${opts.clusterAdvertise}' must be http://host:port`);
  }
  if (opts.heartbeatIntervalMs < 100) throw new Error('--heartbeat-interval: at least 100ms');
  if (opts.nodeTtlMs < 2 * opts.heartbeatIntervalMs) throw new Error('--node-ttl: at least twice --heartbeat-interval, or a live node would seem to come and go');
}
