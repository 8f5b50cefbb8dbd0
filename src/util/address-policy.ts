/**
 * Where the server may connect on a user's word (callbacks, downloads of what a user names). A
 * URL chosen by a caller would otherwise let it make the server reach its own loopback services
 * or the private network behind it. Those ranges, and the host's own addresses, are refused
 * unless the operator lists them (a setting such as `--callback-allow`, named in the refusal).
 */
import { isIP, type LookupFunction } from 'node:net';
import { lookup } from 'node:dns/promises';
import { networkInterfaces } from 'node:os';
import { IpList } from './ip-list.js';

const refusedV4 = ['0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.0.0.0/24', '192.168.0.0/16', '198.18.0.0/15', '224.0.0.0/4', '240.0.0.0/4'];
const refusedV6 = ['::/127', 'fc00::/7', 'fe80::/10', 'ff00::/8', '64:ff9b::/96', '2001:db8::/32'];

export class AddressPolicy {
  private readonly refused = new IpList([...refusedV4, ...refusedV6]);
  private readonly allowed: IpList;

  /** `setting`: the server setting that lists allowed ranges, named when an address is refused. */
  constructor(allow: string[], private readonly setting = '--callback-allow') {
    for (const list of Object.values(networkInterfaces())) {
      for (const i of list ?? []) this.refused.add(i.address);
    }
    this.allowed = new IpList(allow);
  }

  /** Why `address` (an IP) is refused, or undefined when it is fine. */
  refuses(address: string): string | undefined {
    if (this.allowed.has(address)) return undefined;
    if (this.refused.has(address)) return `${address} is a loopback, private or local address of this host (see ${this.setting})`;
    return undefined;
  }

  /**
   * Checks what can be known without the network: the scheme, and a host that is an IP address
   * (or `localhost`). Names are checked again, resolved, at each delivery.
   */
  precheck(url: URL): string | undefined {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return `the scheme must be http or https, not ${url.protocol.replace(':', '')}`;
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host)) return this.refuses(host);
    if (host === 'localhost' || host.endsWith('.localhost')) return this.refuses('127.0.0.1');
    return undefined;
  }

  /** Resolves the host; answers an address to connect to, or why none may be used. */
  async resolve(host: string): Promise<{ address: string; family: number } | { refused: string }> {
    const bare = host.replace(/^\[|\]$/g, '');
    const found = isIP(bare) ? [{ address: bare, family: isIP(bare) }] : await lookup(bare, { all: true });
    // Every address must pass: a name that also resolves inward is refused as a whole.
    for (const a of found) {
      const why = this.refuses(a.address);
      if (why) return { refused: why };
    }
    if (found.length === 0) return { refused: `${host} does not resolve` };
    return found[0]!;
  }
}

/**
 * A `lookup` for `http.request` that answers the address the policy already checked, so a later
 * DNS answer cannot send the connection elsewhere.
 */
export function pinnedLookup(to: { address: string; family: number }): LookupFunction {
  return (_host, opts, cb) => {
    if ((opts as { all?: boolean }).all) (cb as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [to]);
    else cb(null, to.address, to.family);
  };
}
