/**
 * The nftables ruleset of the `egress` network policy: a pure function of the host's addresses
 * and the operator's `--egress-allow` list. It is loaded inside the instance's own network
 * namespace (by `network.ts`, before bwrap drops capabilities) and filters what leaves it.
 *
 * Why a filter at all: a user-mode stack (pasta, slirp4netns) turns every connection the sandbox
 * makes into an ordinary socket of the host. Without rules, a connect to any address of the host
 * (198.51.100.2, 10.0.0.5, 172.17.0.1 ...) reaches the host's own services, and so do the
 * cloud metadata service (169.254.169.254) and every machine on the private networks around it.
 */
import { isIPv4, isIPv6 } from 'node:net';

/**
 * Where the sandbox sends DNS queries under pasta (`--dns-forward`), which forwards them to the
 * host's resolver, loopback resolvers (systemd-resolved) included. Link-local, so that no real
 * destination is shadowed; only UDP port 53 of it is let through.
 */
export const DNS_FORWARD_ADDRESS = '169.254.1.1';

/** An address block: family, network bytes (host bits cleared) and prefix length. */
export interface Cidr {
  family: 4 | 6;
  bytes: number[];
  prefix: number;
}

/** Never reachable under `egress`, unless listed in `--egress-allow` (loopback: never). */
export const deniedV4 = [
  '0.0.0.0/8', // "this network": Linux treats 0.0.0.0 as a local address
  '10.0.0.0/8', // private (RFC 1918)
  '100.64.0.0/10', // carrier-grade NAT (RFC 6598): provider-internal services
  '127.0.0.0/8', // loopback
  '169.254.0.0/16', // link-local: cloud metadata services (169.254.169.254)
  '172.16.0.0/12', // private
  '192.168.0.0/16', // private
  '224.0.0.0/4', // multicast: service discovery on the host's LAN
  '240.0.0.0/4', // reserved, and the limited broadcast 255.255.255.255
];

export const deniedV6 = [
  '::/128', // unspecified
  '::1/128', // loopback
  '::ffff:0:0/96', // IPv4-mapped: the IPv4 rules must not be bypassed through IPv6 syntax
  '64:ff9b:1::/48', // local-use NAT64 (RFC 8215): leads into the local IPv4 network
  '2001::/32', // Teredo: tunnels to IPv4 addresses the IPv4 rules could not see
  '2002::/16', // 6to4: same
  'fc00::/7', // unique local (the IPv6 private range)
  'fe80::/10', // link-local
  'fec0::/10', // deprecated site-local
  'ff00::/8', // multicast
];

/** Parses an address or CIDR (`10.0.0.0/8`, `fd00::/8`, `192.0.2.7`); host bits are cleared. */
export function parseCidr(text: string): Cidr {
  const [addr = '', len, extra] = text.trim().split('/');
  const bare = addr.replace(/%.*$/, ''); // an IPv6 zone (fe80::1%eth0) names an interface, not an address
  const family = isIPv4(bare) ? 4 : isIPv6(bare) ? 6 : 0;
  if (family === 0 || extra !== undefined) throw new Error(`'${text}' is not an IP address or CIDR`);
  const bits = family === 4 ? 32 : 128;
  const prefix = len === undefined ? bits : Number(len);
  if (!/^\d{1,3}$/.test(len ?? '0') || prefix > bits) throw new Error(`'${text}' has an invalid prefix length`);
  const bytes = family === 4 ? bare.split('.').map(Number) : v6Bytes(bare);
  for (let i = 0; i < bytes.length; i++) bytes[i] = bytes[i]! & byteMask(prefix, i);
  return { family, bytes, prefix };
}

/** The mask of byte `i` of a block with prefix length `prefix`. */
function byteMask(prefix: number, i: number): number {
  const keep = Math.max(0, Math.min(8, prefix - i * 8));
  return (0xff << (8 - keep)) & 0xff;
}

function v6Bytes(addr: string): number[] {
  let text = addr;
  // A trailing dotted quad (::ffff:1.2.3.4) becomes two hex groups.
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad) {
    const b = quad[1]!.split('.').map(Number);
    text = `${text.slice(0, quad.index)}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const groups = (s: string | undefined): number[] => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const h = groups(head);
  const t = groups(tail);
  const all = tail === undefined ? h : [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
  return all.flatMap((g) => [g >> 8, g & 0xff]);
}

/** The canonical text of a block, as nft accepts it (full IPv6 groups, no compression needed). */
export function formatCidr(c: Cidr): string {
  const addr =
    c.family === 4
      ? c.bytes.join('.')
      : Array.from({ length: 8 }, (_, i) => ((c.bytes[2 * i]! << 8) | c.bytes[2 * i + 1]!).toString(16)).join(':');
  return c.prefix === (c.family === 4 ? 32 : 128) ? addr : `${addr}/${c.prefix}`;
}

/** Whether block `inner` lies inside block `outer`. */
export function contains(outer: Cidr, inner: Cidr): boolean {
  if (outer.family !== inner.family || inner.prefix < outer.prefix) return false;
  return outer.bytes.every((b, i) => (inner.bytes[i]! & byteMask(outer.prefix, i)) === b);
}

/** An IPv4 block as seen through the well-known NAT64 prefix 64:ff9b::/96 (RFC 6052). */
function viaNat64(c: Cidr): Cidr {
  return { family: 6, bytes: [0, 0x64, 0xff, 0x9b, ...Array<number>(8).fill(0), ...c.bytes], prefix: 96 + c.prefix };
}

/**
 * Validates the operator's `--egress-allow` list (call it when the flag is read, so a typo stops
 * the server instead of silently allowing nothing). A loopback entry is refused: it would only
 * ever mean the instance's own namespace, and listing it suggests the operator expects to reach
 * the host's. (A block merely covering loopback, 0.0.0.0/0, is fine: host addresses stay closed.)
 */
export function parseEgressAllow(list: string[]): Cidr[] {
  const loop = [parseCidr('127.0.0.0/8'), parseCidr('::1/128')];
  return list
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const c = parseCidr(s);
      if (loop.some((l) => contains(l, c))) throw new Error(`--egress-allow '${s}': loopback is never reachable from a sandbox`);
      return c;
    });
}

function set(name: string, type: 'ipv4_addr' | 'ipv6_addr', blocks: Cidr[]): string {
  const unique = [...new Set(blocks.map(formatCidr))];
  // nft refuses an empty element list; auto-merge folds overlaps (10.0.0.0/8 with 10.1.0.0/16).
  const elements = unique.length ? ` elements = { ${unique.join(', ')} };` : '';
  return `\tset ${name} { type ${type}; flags interval; auto-merge;${elements} }`;
}

/** Every address: the host set when the host's addresses cannot be read (fail closed). */
export const EVERY_ADDRESS = ['0.0.0.0/0', '::/0'];

/**
 * The host's blocks, each wholly local (an address, or a prefix the kernel delivers locally, such
 * as 127.0.0.0/8), without the blocks another one covers: IPv4 for `host4`, and for `host6` the
 * IPv6 ones plus the IPv4 ones through NAT64 (a host with a NAT64 gateway would otherwise
 * translate 64:ff9b::a00:1 back to 10.0.0.1).
 */
export function hostSets(hostAddresses: string[]): { host4: Cidr[]; host6: Cidr[] } {
  const all = hostAddresses.map(parseCidr);
  const blocks = all.filter((c, i) => !all.some((o, j) => j !== i && contains(o, c) && (o.prefix < c.prefix || j < i)));
  const v4 = blocks.filter((c) => c.family === 4);
  return { host4: v4, host6: [...blocks.filter((c) => c.family === 6), ...v4.map(viaNat64)] };
}

/**
 * The ruleset text (`nft -f`). `hostAddresses`: addresses and blocks that are wholly the host's
 * (`host-addresses.ts` reads them from the kernel), kept current with `hostSetUpdate`.
 * Order matters: the namespace's own loopback and neighbour discovery, then the host's addresses
 * (never allowed), then DNS to the forwarder, then the operator's allow list, then the
 * denied ranges; everything else (the internet) is accepted. Rejections are immediate
 * (EHOSTUNREACH), not silent drops, so a refused connect fails fast instead of timing out.
 */
export function networkRules(hostAddresses: string[], egressAllow: string[], dnsAddress = DNS_FORWARD_ADDRESS): string {
  const { host4, host6 } = hostSets(hostAddresses);
  const allow = parseEgressAllow(egressAllow);
  const deny4 = deniedV4.map(parseCidr);
  const v4 = (l: Cidr[]): Cidr[] => l.filter((c) => c.family === 4);
  const v6 = (l: Cidr[]): Cidr[] => l.filter((c) => c.family === 6);
  const reject = 'reject with icmpx admin-prohibited';
  return [
    '# Ferry egress filter: generated by src/sandbox/bwrap/network-rules.ts. Loaded inside the',
    "# instance's network namespace before bwrap drops capabilities; the instance cannot change it.",
    'table inet ferry {',
    set('host4', 'ipv4_addr', host4),
    set('host6', 'ipv6_addr', host6),
    // The denied ranges through NAT64 too, as the host's addresses (see hostSets).
    set('allow4', 'ipv4_addr', v4(allow)),
    set('allow6', 'ipv6_addr', v6(allow)),
    set('deny4', 'ipv4_addr', deny4),
    set('deny6', 'ipv6_addr', [...deniedV6.map(parseCidr), ...deny4.map(viaNat64)]),
    '\tchain output {',
    '\t\ttype filter hook output priority filter; policy accept;',
    // The instance talking to itself (a server and its relay): lo never leaves the namespace.
    '\t\toifname "lo" accept',
    // IPv6 neighbour discovery with the user-mode stack's gateway (link-local and multicast
    // addresses the host set and the deny list cover); it answers NDP itself, nothing reaches the
    // host or its LAN.
    '\t\ticmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit } accept',
    // The host's own services on any of its addresses: closed, whatever --egress-allow says.
    `\t\tip daddr @host4 ${reject}`,
    `\t\tip6 daddr @host6 ${reject}`,
    // DNS: only UDP port 53 of the forwarder address, which the stack sends to the host's resolver.
    `\t\tip daddr ${formatCidr(parseCidr(dnsAddress))} udp dport 53 accept`,
    '\t\tip daddr @allow4 accept',
    '\t\tip6 daddr @allow6 accept',
    `\t\tip daddr @deny4 ${reject}`,
    `\t\tip6 daddr @deny6 ${reject}`,
    '\t}',
    '}',
    '',
  ].join('\n');
}

/** Where the shared router's links live (see egress-router.ts): the benchmarking block, RFC 2544. */
export const ROUTER_LINKS = '198.18.0.0/15';
/** The router's own address on every instance link, the instances' gateway. */
export const ROUTER_GATEWAY = '198.18.0.1';
/** New connections one instance may have open through the shared router at a time. */
export const ROUTER_CONNECTIONS_PER_INSTANCE = 1024;

/**
 * The ruleset of the shared egress router (`nft -f`, loaded in its namespace). The same
 * decisions as `networkRules`, taken once for every instance, where they cannot reach: each
 * instance's link (`fv*`) may only forward to the user-mode stack's `tap0`, never to another
 * instance or to the router itself; what leaves is masqueraded to the stack's address. IPv4 only:
 * the instances get no IPv6 address. The `host4` set is replaced when the host's addresses change
 * (`hostSetUpdate`).
 */
export function routerRules(hostAddresses: string[], egressAllow: string[], dnsAddress: string): string {
  const host = hostSets(hostAddresses).host4;
  const allow = parseEgressAllow(egressAllow).filter((c) => c.family === 4);
  const reject = 'reject with icmp admin-prohibited';
  return [
    '# Ferry shared egress router: generated by src/sandbox/bwrap/network-rules.ts. Loaded in the',
    "# router's network namespace, which no instance can enter.",
    'table ip ferry {',
    set('host4', 'ipv4_addr', host),
    set('allow4', 'ipv4_addr', allow),
    set('deny4', 'ipv4_addr', deniedV4.map(parseCidr)),
    // Counts each instance's connections: one instance cannot take every socket of the stack.
    '\tset conns { type ipv4_addr; size 65535; flags dynamic; }',
    '\tchain forward {',
    '\t\ttype filter hook forward priority filter; policy drop;',
    '\t\tct state established,related accept',
    // Only from an instance's link out to the stack: never instance to instance.
    `\t\tiifname != "fv*" ${reject}`,
    `\t\toifname != "tap0" ${reject}`,
    `\t\tct state new add @conns { ip saddr ct count over ${ROUTER_CONNECTIONS_PER_INSTANCE} } ${reject}`,
    `\t\tip daddr @host4 ${reject}`,
    `\t\tip daddr ${formatCidr(parseCidr(dnsAddress))} udp dport 53 accept`,
    '\t\tip daddr @allow4 accept',
    `\t\tip daddr @deny4 ${reject}`,
    '\t\taccept',
    '\t}',
    // The router itself offers nothing to instances.
    '\tchain input {',
    '\t\ttype filter hook input priority filter; policy accept;',
    `\t\tiifname "fv*" ${reject}`,
    '\t}',
    // Replies find the instance back through conntrack; the stack sees one address.
    '\tchain postrouting {',
    '\t\ttype nat hook postrouting priority srcnat; policy accept;',
    '\t\toifname "tap0" masquerade',
    '\t}',
    '}',
    '',
  ].join('\n');
}

/**
 * Replaces the host sets of a loaded ruleset (`nft -f`): the host's addresses changed. `ip`: the
 * shared router's table (`host4` only); `inet`: an instance's own (`host4` and `host6`).
 */
export function hostSetUpdate(family: 'ip' | 'inet', hostAddresses: string[]): string {
  const { host4, host6 } = hostSets(hostAddresses);
  const sets = family === 'ip' ? { host4 } : { host4, host6 };
  return Object.entries(sets)
    .flatMap(([name, blocks]) => {
      const elements = [...new Set(blocks.map(formatCidr))];
      return [`flush set ${family} ferry ${name}`, ...(elements.length ? [`add element ${family} ferry ${name} { ${elements.join(', ')} }`] : [])];
    })
    .concat('')
    .join('\n');
}
