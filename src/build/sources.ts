import { isIP } from 'node:net';
import type { NetworkPolicy } from '../core/index.js';

/** Where dependencies come from: server settings, never the function's. */
export interface BuildSources {
  /** npm registry URL (`--npm-registry`). */
  npmRegistry: string;
  /** pip index URL (`--pip-index-url`); absent: no index, only the wheel folder. */
  pipIndexUrl: string | undefined;
  /** A host folder of wheels (`--pip-find-links`), bound read-only into the build sandbox. */
  pipFindLinks: string | undefined;
}

/** Whether a URL names the host itself (`localhost`, 127.0.0.0/8, ::1). */
export function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/**
 * The network a build reaching `urls` gets: none without a source; `egress` (the internet, and
 * private ranges only as `--egress-allow` opens them) for the usual registries; `host` only for a
 * source on the host's own loopback, which `egress` never reaches and which the operator must have
 * allowed with `--allow-host-network`.
 */
export function buildNetwork(urls: string[]): NetworkPolicy {
  if (urls.length === 0) return 'none';
  return urls.some(isLoopbackUrl) ? 'host' : 'egress';
}

/** Refuses, at start, a loopback source the operator has not allowed. */
export function checkSources(sources: BuildSources, allowHostNetwork: boolean): void {
  for (const [flag, url] of [['--npm-registry', sources.npmRegistry], ['--pip-index-url', sources.pipIndexUrl]] as const) {
    if (url && isLoopbackUrl(url) && !allowHostNetwork) {
      throw new Error(`${flag} ${url} is on this host's loopback, which the build sandbox's egress network never reaches; allow it with --allow-host-network (builds then share the host's network)`);
    }
  }
}
