/**
 * Where callbacks may go. A callback URL is chosen by whoever invokes a function, so without a
 * rule it would let any caller make the server POST to its own loopback services or to the
 * private network behind it. Those ranges, and the host's own addresses, are refused unless the
 * operator lists them (`--callback-allow`).
 */
import { BlockList, isIP } from 'node:net';
import { lookup } from 'node:dns/promises';
import { networkInterfaces } from 'node:os';

const refusedV4 = ['0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.0.0.0/24', '192.168.0.0/16', '198.18.0.0/15', '224.0.0.0/4', '240.0.0.0/4'];
const refusedV6 = ['::/127', 'fc00::/7', 'fe80::/10', 'ff00::/8', '64:ff9b::/96', '2001:db8::/32'];

/** Adds `a.b.c.d`, `a.b.c.d/n`, `::1` or `fe80::/10` to the list; throws on anything else. */
function addRule(list: BlockList, rule: string): void {
  const [addr, bits, extra] = rule.split('/');
  const family = isIP(addr ?? '');
  if (!family || extra !== undefined) throw new Error(`'${rule}' is not an IP address or CIDR`);
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (bits === undefined) return list.addAddress(addr!, type);
  const n = Number(bits);
  if (!Number.isInteger(n) || n < 0 || n > (family === 4 ? 32 : 128)) throw new Error(`'${rule}' has a bad prefix length`);
  list.addSubnet(addr!, n, type);
}

/** `::ffff:10.0.0.1` is 10.0.0.1: judge it as IPv4. */
function normalise(address: string): { address: string; type: 'ipv4' | 'ipv6' } {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (m) return { address: m[1]!, type: 'ipv4' };
  return { address, type: isIP(address) === 4 ? 'ipv4' : 'ipv6' };
}

export class AddressPolicy {
  private readonly refused = new BlockList();
  private readonly allowed = new BlockList();

  constructor(allow: string[]) {
    for (const r of refusedV4) addRule(this.refused, r);
    for (const r of refusedV6) addRule(this.refused, r);
    for (const list of Object.values(networkInterfaces())) {
      for (const i of list ?? []) addRule(this.refused, i.address.split('%')[0]!);
    }
    for (const r of allow) addRule(this.allowed, r);
  }

  /** Why `address` (an IP) is refused, or undefined when it is fine. */
  refuses(address: string): string | undefined {
    const a = normalise(address);
    if (this.allowed.check(a.address, a.type)) return undefined;
    if (this.refused.check(a.address, a.type)) return `${address} is a loopback, private or local address of this host (see --callback-allow)`;
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
