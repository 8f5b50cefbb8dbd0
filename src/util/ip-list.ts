import { BlockList, isIP } from 'node:net';

/**
 * A set of IP addresses and CIDR blocks, IPv4 and IPv6, to test addresses against. An
 * IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, what a dual-stack socket reports) is judged as the
 * IPv4 address it is.
 */
export class IpList {
  private readonly list = new BlockList();
  private count = 0;

  constructor(rules: readonly string[] = []) {
    for (const r of rules) this.add(r);
  }

  /** Adds `a.b.c.d`, `a.b.c.d/n`, `::1` or `fe80::/10`; throws on anything else. */
  add(rule: string): void {
    const [raw, bits, extra] = rule.split('/');
    const addr = (raw ?? '').split('%')[0]!; // an IPv6 zone names an interface, not an address
    const family = isIP(addr);
    if (!family || extra !== undefined) throw new Error(`'${rule}' is not an IP address or CIDR`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    this.count++;
    if (bits === undefined) return this.list.addAddress(addr, type);
    const n = Number(bits);
    if (!/^\d{1,3}$/.test(bits) || n > (family === 4 ? 32 : 128)) throw new Error(`'${rule}' has a bad prefix length`);
    this.list.addSubnet(addr, n, type);
  }

  /** Whether `address` (an IP; anything else is not in the list) is in a block of the list. */
  has(address: string): boolean {
    if (this.count === 0) return false;
    const a = plainAddress(address);
    if (a === undefined) return false;
    return this.list.check(a, isIP(a) === 4 ? 'ipv4' : 'ipv6');
  }

  get empty(): boolean {
    return this.count === 0;
  }
}

/** The address in its plain form (`::ffff:10.0.0.1` -> `10.0.0.1`, zone dropped), or undefined for a non-address. */
export function plainAddress(address: string): string | undefined {
  const bare = address.split('%')[0]!;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  const a = mapped ? mapped[1]! : bare;
  return isIP(a) ? a : undefined;
}
