import { isIP } from 'node:net';

/**
 * The key a per-address limit counts a client by: an IPv4 address as it is, an IPv6 address by
 * its /64 (one host commonly holds a whole /64, so counting single IPv6 addresses would hand it
 * 2^64 buckets). Anything else (no address known) as it is.
 */
export function addressKey(address: string): string {
  if (isIP(address) !== 6) return address;
  const [head = '', tail] = address.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
