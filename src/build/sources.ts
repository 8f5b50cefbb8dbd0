import { isIP } from 'node:net';
import type { NetworkPolicy } from '../core/index.js';
import { AddressPolicy } from '../util/address-policy.js';

/** Where dependencies come from: server settings, never the function's. */
export interface BuildSources {
  /** npm registry URL (`--npm-registry`). */
  npmRegistry: string;
  /** pip index URL (`--pip-index-url`); absent: no index, only the wheel folder. */
  pipIndexUrl: string | undefined;
  /** A host folder of wheels (`--pip-find-links`), bound read-only into the build sandbox. */
  pipFindLinks: string | undefined;
  /**
   * `--build-allow-private-sources`: a source on the host's loopback or a private address is
   * reached through a relay of the server, to its host:port alone (see source-relay.ts).
   */
  privateSources: boolean;
}

/** A source a build reaches through the server's relay, and nothing else of the host or its network. */
export interface SourceRelay {
  /** The source's URL as configured. */
  source: string;
  /** Where the server connects: the source's own host and port. */
  target: { host: string; port: number };
  /** Where the build connects, on the loopback of its own network namespace. */
  inside: { hosts: string[]; port: number };
  /** The source's URL as the build is given it (its host and port may be the inside ones). */
  url: string;
}

/** The network of a build, and the sources it reaches through the server. */
export interface SourceAccess {
  network: NetworkPolicy;
  relays: SourceRelay[];
}

/** Whether a URL names the host itself (`localhost`, 127.0.0.0/8, ::1). */
export function isLoopbackUrl(url: string): boolean {
  const host = bareHost(url);
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

const inward = new AddressPolicy([], '--build-allow-private-sources');

/**
 * Whether a URL names, by address or as `localhost`, what the egress network keeps out: the
 * host's loopback or own addresses, a private or link-local range.
 */
export function isInwardUrl(url: string): boolean {
  return inward.precheck(new URL(url)) !== undefined;
}

function bareHost(url: string): string {
  return new URL(url).hostname.replace(/^\[|\]$/g, '');
}

/** The first inside address of relayed sources that cannot keep their own (127.77.0.1, .2, ...). */
const RELAY_NET = '127.77.0.';

/**
 * How the build reaches `url` through the relay. A loopback address keeps its host and port (a
 * lock file's URLs stay valid), `localhost` listens on both loopback addresses. Any other address,
 * and a port below 1024 (which the sandbox user cannot listen on), becomes 127.77.0.n:port
 * (1024 + port for the low ones) in the URL the build gets.
 */
export function relayOf(url: string, n: number): SourceRelay {
  const u = new URL(url);
  const host = bareHost(url);
  const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
  const target = { host, port };
  if (port >= 1024 && (host === 'localhost' || host.endsWith('.localhost'))) return { source: url, target, inside: { hosts: ['127.0.0.1', '::1'], port }, url };
  if (port >= 1024 && isLoopbackUrl(url)) return { source: url, target, inside: { hosts: [host], port }, url };
  const inside = { hosts: [`${RELAY_NET}${n + 1}`], port: port >= 1024 ? port : 1024 + port };
  u.hostname = inside.hosts[0]!;
  u.port = String(inside.port);
  return { source: url, target, inside, url: u.toString() };
}

/**
 * The network a build reaching `urls` gets: none without a source; `egress` (the internet, and
 * private ranges only as `--egress-allow` opens them) for the usual registries. A source the
 * egress network keeps out (loopback, private, the host's own addresses), under
 * `--build-allow-private-sources`, is relayed by the server to its host:port alone, and a build
 * whose sources are all relayed gets `none`. Without it, a loopback source needs the `host`
 * network, which the operator must have allowed with `--allow-host-network`.
 */
export function sourceAccess(urls: string[], privateSources: boolean): SourceAccess {
  if (urls.length === 0) return { network: 'none', relays: [] };
  if (privateSources && urls.some(isInwardUrl)) {
    const relays = urls.filter(isInwardUrl).map(relayOf);
    return { network: relays.length === urls.length ? 'none' : 'egress', relays };
  }
  return { network: urls.some(isLoopbackUrl) ? 'host' : 'egress', relays: [] };
}

/** The URL a build is given for `url`: the relay's when it is relayed. */
export function urlInside(access: SourceAccess, url: string): string {
  return access.relays.find((r) => r.source === url)?.url ?? url;
}

/** Refuses, at start, a loopback source the operator has not allowed. */
export function checkSources(sources: BuildSources, allowHostNetwork: boolean): void {
  for (const [flag, url] of [['--npm-registry', sources.npmRegistry], ['--pip-index-url', sources.pipIndexUrl]] as const) {
    if (url && isLoopbackUrl(url) && !allowHostNetwork && !sources.privateSources) {
      throw new Error(
        `${flag} ${url} is on this host's loopback, which the build sandbox's egress network never reaches; ` +
          'let builds reach exactly this source with --build-allow-private-sources (or give them the host\'s whole network with --allow-host-network)',
      );
    }
  }
}
