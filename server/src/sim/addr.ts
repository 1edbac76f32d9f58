// IPv4/IPv6 address arithmetic for the packet walk: parse, compare, CIDR membership.
// Addresses are held as bigint so both families share one code path.
import { formatInetAddr, parseInetAddr, type InetAddr } from '../model/routing';

/** The same address value the routing model uses (one parser and printer for both layers). */
export type Addr = InetAddr;

export interface Cidr {
  family: 'ip' | 'ip6';
  n: bigint;
  prefix: number;
  /** The prefix as a bit mask, computed once (BigInt arithmetic is the walk's hot path). */
  mask?: bigint;
}

export const parseAddr: (text: string) => Addr | undefined = parseInetAddr;

const bits = (f: 'ip' | 'ip6') => (f === 'ip' ? 32 : 128);

function maskOf(family: 'ip' | 'ip6', prefix: number): bigint {
  const w = BigInt(bits(family));
  return prefix === 0 ? 0n : ((1n << w) - 1n) ^ ((1n << (w - BigInt(prefix))) - 1n);
}

/** `addr`, `addr/len` or `addr/dotted-mask` (iptables accepts both). Hostnames are not resolved. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const a = parseAddr(slash < 0 ? text : text.slice(0, slash));
  if (!a) return undefined;
  let prefix = bits(a.family);
  if (slash >= 0) {
    const m = text.slice(slash + 1);
    if (/^\d+$/.test(m)) prefix = Number(m);
    else {
      const mm = parseAddr(m);
      if (!mm || mm.family !== a.family) return undefined;
      // A dotted mask must be contiguous ones.
      const bin = mm.n.toString(2).padStart(bits(a.family), '0');
      if (!/^1*0*$/.test(bin)) return undefined;
      const ones = bin.replace(/0+$/, '');
      prefix = mm.n === 0n ? 0 : ones.length;
    }
    if (prefix > bits(a.family)) return undefined;
  }
  const mask = maskOf(a.family, prefix);
  return { family: a.family, n: a.n & mask, prefix, mask };
}

export function inCidr(a: Addr, c: Cidr): boolean {
  if (a.family !== c.family) return false;
  if (c.mask === undefined) c.mask = maskOf(c.family, c.prefix);
  return (a.n & c.mask) === c.n;
}

export function addrEq(a: Addr, b: Addr): boolean {
  return a.family === b.family && a.n === b.n;
}

export const formatAddr: (a: Addr) => string = formatInetAddr;

export function isLoopback(a: Addr): boolean {
  return a.family === 'ip' ? (a.n >> 24n) === 127n : a.n === 1n;
}

export function isMulticast(a: Addr): boolean {
  return a.family === 'ip' ? (a.n >> 28n) === 0xen : (a.n >> 120n) === 0xffn;
}

/** Inclusive range comparison (iprange). */
export function inRange(a: Addr, from: Addr, to: Addr): boolean {
  return a.family === from.family && a.family === to.family && a.n >= from.n && a.n <= to.n;
}

/** The last address of a prefix (the subnet broadcast for IPv4). */
export function lastOf(c: Cidr): Addr {
  return { family: c.family, n: c.n | (((1n << BigInt(bits(c.family))) - 1n) ^ maskOf(c.family, c.prefix)) };
}
