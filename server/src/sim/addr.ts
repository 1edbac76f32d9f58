// IPv4/IPv6 address arithmetic for the packet walk: parse, compare, CIDR membership.
// Addresses are held as bigint so both families share one code path.

export interface Addr {
  family: 'ip' | 'ip6';
  n: bigint;
}

export interface Cidr {
  family: 'ip' | 'ip6';
  n: bigint;
  prefix: number;
  /** The prefix as a bit mask, computed once (BigInt arithmetic is the walk's hot path). */
  mask?: bigint;
}

function parse4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = (n << 8n) | BigInt(v);
  }
  return n;
}

function parse6(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || !text.includes(':')) return undefined;
  let tail4: bigint | undefined;
  let t = text;
  const lastColon = t.lastIndexOf(':');
  if (t.slice(lastColon + 1).includes('.')) {
    tail4 = parse4(t.slice(lastColon + 1));
    if (tail4 === undefined) return undefined;
    t = t.slice(0, lastColon + 1) + '0:0';
  }
  const halves = t.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...Array(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  let n = 0n;
  for (const g of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    n = (n << 16n) | BigInt(parseInt(g, 16));
  }
  if (tail4 !== undefined) n = (n & ~0xffffffffn) | tail4;
  return n;
}

export function parseAddr(text: string): Addr | undefined {
  const v4 = parse4(text);
  if (v4 !== undefined) return { family: 'ip', n: v4 };
  const v6 = parse6(text);
  if (v6 !== undefined) return { family: 'ip6', n: v6 };
  return undefined;
}

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

export function formatAddr(a: Addr): string {
  if (a.family === 'ip') return [24n, 16n, 8n, 0n].map((s) => ((a.n >> s) & 255n).toString()).join('.');
  const g: string[] = [];
  for (let i = 7; i >= 0; i--) g.push(((a.n >> BigInt(i * 16)) & 0xffffn).toString(16));
  // Compress the longest run of zero groups (RFC 5952).
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === '0') j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best < 0) return g.join(':');
  return g.slice(0, best).join(':') + '::' + g.slice(best + bestLen).join(':');
}

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
