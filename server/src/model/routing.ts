// Typed model of a host's routing state: policy rules (`ip rule`), routes (`ip route`), table names
// (`/etc/iproute2/rt_tables`) and interface addresses (`ip addr`). Pure data plus address arithmetic;
// the decision itself is in server/src/routing/.
import type { Diagnostic, Range } from './ruleset';

export type InetFamily = 'ip' | 'ip6';

// ---------------------------------------------------------------- addresses

export interface InetAddr {
  family: InetFamily;
  n: bigint;
}

/** A prefix; `len` 0 is "all"/"default". `text` is the source text. */
export interface InetPrefix {
  family: InetFamily;
  n: bigint;
  len: number;
  text: string;
}

const width = (f: InetFamily) => (f === 'ip' ? 32 : 128);

function parse4(text: string): bigint | undefined {
  // Hand-rolled: route tables can have 10^5 lines.
  let n = 0, part = 0, digits = 0, dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return undefined;
    } else if (c === 46 && digits > 0 && dots < 3) {
      n = n * 256 + part;
      part = 0; digits = 0; dots++;
    } else return undefined;
  }
  if (dots !== 3 || digits === 0) return undefined;
  return BigInt(n * 256 + part);
}

function parse6(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || !text.includes(':')) return undefined;
  let t = text;
  let tail4: bigint | undefined;
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
  let n = 0n;
  for (const g of [...head, ...Array(halves.length === 2 ? missing : 0).fill('0'), ...tail]) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    n = (n << 16n) | BigInt(parseInt(g, 16));
  }
  if (tail4 !== undefined) n = (n & ~0xffffffffn) | tail4;
  return n;
}

export function parseInetAddr(text: string): InetAddr | undefined {
  const v4 = parse4(text);
  if (v4 !== undefined) return { family: 'ip', n: v4 };
  const v6 = parse6(text);
  return v6 === undefined ? undefined : { family: 'ip6', n: v6 };
}

export function prefixMask(family: InetFamily, len: number): bigint {
  const w = BigInt(width(family));
  return len <= 0 ? 0n : ((1n << w) - 1n) ^ ((1n << (w - BigInt(len))) - 1n);
}

/** `ADDR`, `ADDR/LEN`; `default`/`all` need the family. Host bits are kept in `n` only when `keepHost`. */
export function parseInetPrefix(text: string, family?: InetFamily, keepHost = false): InetPrefix | undefined {
  if (text === 'default' || text === 'all' || text === 'any') {
    return family ? { family, n: 0n, len: 0, text } : undefined;
  }
  const slash = text.indexOf('/');
  const a = parseInetAddr(slash < 0 ? text : text.slice(0, slash));
  if (!a || (family && a.family !== family)) return undefined;
  let len = width(a.family);
  if (slash >= 0) {
    const m = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(m)) return undefined;
    len = Number(m);
    if (len > width(a.family)) return undefined;
  }
  return { family: a.family, n: keepHost ? a.n : a.n & prefixMask(a.family, len), len, text };
}

export function prefixContains(p: InetPrefix, a: InetAddr): boolean {
  return p.family === a.family && (a.n & prefixMask(p.family, p.len)) === (p.n & prefixMask(p.family, p.len));
}

export function formatInetAddr(a: InetAddr): string {
  if (a.family === 'ip') return [24n, 16n, 8n, 0n].map((s) => ((a.n >> s) & 255n).toString()).join('.');
  const g: string[] = [];
  for (let i = 7; i >= 0; i--) g.push(((a.n >> BigInt(i * 16)) & 0xffffn).toString(16));
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

export function formatInetPrefix(p: InetPrefix): string {
  if (p.len === 0) return 'default';
  const a = formatInetAddr({ family: p.family, n: p.n & prefixMask(p.family, p.len) });
  return p.len === width(p.family) ? a : `${a}/${p.len}`;
}

export function addrWidth(f: InetFamily): number {
  return width(f);
}

// ---------------------------------------------------------------- scopes and tables

/** rtnetlink scope numbers (smaller = wider). */
export const SCOPES: Record<string, number> = { global: 0, universe: 0, site: 200, link: 253, host: 254, nowhere: 255 };

export function scopeName(n: number): string {
  return n === 0 ? 'global' : n === 200 ? 'site' : n === 253 ? 'link' : n === 254 ? 'host' : n === 255 ? 'nowhere' : String(n);
}

/** Table ids iproute2 knows without rt_tables. */
export const BUILTIN_TABLES: Record<string, number> = { unspec: 0, default: 253, main: 254, local: 255 };

export interface RtTables {
  /** name → id, the built-ins included. */
  byName: Map<string, number>;
  /** id → name as it would be printed. */
  byId: Map<number, string>;
  entries: { id: number; name: string; range: Range }[];
}

export function defaultRtTables(): RtTables {
  const byName = new Map(Object.entries(BUILTIN_TABLES));
  const byId = new Map([...byName].map(([k, v]) => [v, k] as [number, string]));
  return { byName, byId, entries: [] };
}

export function tableLabel(id: number, tables?: RtTables): string {
  return (tables ?? defaultRtTables()).byId.get(id) ?? String(id);
}

// ---------------------------------------------------------------- ip rule

export type RuleActionKind = 'lookup' | 'goto' | 'nop' | 'blackhole' | 'unreachable' | 'prohibit';

export interface IpRule {
  family: InetFamily;
  priority: number;
  /** `not`: the whole selector is inverted (the kernel inverts the conjunction). */
  not: boolean;
  /** undefined = `from all`. */
  from?: InetPrefix;
  to?: InetPrefix;
  fwmark?: { value: number; mask: number; text: string; range: Range };
  iif?: string;
  oif?: string;
  /** `[detached]` after iif/oif: the device does not exist, so the rule never matches. */
  iifDetached?: boolean;
  oifDetached?: boolean;
  /** tos / dsfield value (0 = any). */
  tos?: number;
  ipproto?: number;
  sport?: { from: number; to: number };
  dport?: { from: number; to: number };
  uidrange?: { from: number; to: number };
  l3mdev?: boolean;
  tunId?: string;
  action: RuleActionKind;
  /** `lookup`: the table id (undefined when the name is unknown) and the text as written. */
  table?: number;
  tableText?: string;
  tableRange?: Range;
  /** `goto`: the target priority. */
  gotoTarget?: number;
  /** `[unresolved]` was printed (informational; the decision resolves by priority itself). */
  unresolved?: boolean;
  suppressPrefixlength?: number;
  suppressIfgroup?: string;
  realms?: string;
  protocol?: string;
  /** Keywords we read but do not model (the decision says "unknown" if such a rule is reached). */
  unmodeled: { keyword: string; range: Range }[];
  range: Range;
  priorityRange?: Range;
  text: string;
}

// ---------------------------------------------------------------- ip route

export type RouteType =
  | 'unicast' | 'local' | 'broadcast' | 'multicast' | 'anycast'
  | 'blackhole' | 'unreachable' | 'prohibit' | 'throw' | 'nat';

export interface Nexthop {
  gateway?: InetAddr;
  gatewayText?: string;
  dev?: string;
  weight: number;
  onlink: boolean;
  range?: Range;
}

export interface Route {
  family: InetFamily;
  type: RouteType;
  dst: InetPrefix;
  table: number;
  tableText?: string;
  tos?: number;
  /** One entry, or several for a multipath route (`nexthop ...` lines). Empty for blackhole & co. */
  nexthops: Nexthop[];
  multipath: boolean;
  /** Preferred source (`src`). */
  src?: InetAddr;
  scope: number;
  proto?: string;
  metric: number;
  /** Attributes kept as written (mtu, advmss, pref, expires ...). */
  attrs: { key: string; value: string }[];
  /** Words of the line we could not read (e.g. IPv6 `from` source routing): a decision that picks this
   *  route says "unknown". */
  unmodeled?: string[];
  /** Where the route came from: a parsed line, or made up from the addresses like the kernel does. */
  origin: 'parsed' | 'from-addresses';
  range?: Range;
  text: string;
}

// ---------------------------------------------------------------- addresses

export interface IfAddress {
  family: InetFamily;
  /** Local address and prefix length (`inet 10.0.0.1/24`). */
  local: InetAddr;
  prefix: InetPrefix;
  /** `peer` address (point-to-point), if any. */
  peer?: InetPrefix;
  broadcast?: InetAddr;
  scope: number;
  secondary: boolean;
  /** `noprefixroute`: the kernel adds no prefix route for it. */
  noprefixroute?: boolean;
  label?: string;
  range?: Range;
  text: string;
}

export interface Interface {
  name: string;
  /** `d0@p0`: the part after `@` (veth peer / lower device). */
  link?: string;
  index?: number;
  flags: string[];
  up: boolean;
  state?: string;
  mtu?: number;
  addrs: IfAddress[];
  range?: Range;
}

// ---------------------------------------------------------------- the host

/** Everything the routing decision reads. */
export interface RoutingConfig {
  rules: IpRule[];
  routes: Route[];
  interfaces: Interface[];
  tables: RtTables;
  /** net.ipv4.conf.*.forwarding: without it, routed (non-local) input packets get "host unreachable". */
  forwarding: boolean;
}

export interface Parsed<T> {
  value: T;
  diagnostics: Diagnostic[];
}

/** The rule list a kernel starts with (per family). */
export function defaultIpRules(family: InetFamily = 'ip'): IpRule[] {
  const mk = (priority: number, table: number, name: string): IpRule => ({
    family, priority, not: false, action: 'lookup', table, tableText: name, unmodeled: [],
    range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
    text: `${priority}:\tfrom all lookup ${name}`,
  });
  // IPv6 has no `lookup default` rule.
  return family === 'ip' ? [mk(0, 255, 'local'), mk(32766, 254, 'main'), mk(32767, 253, 'default')] : [mk(0, 255, 'local'), mk(32766, 254, 'main')];
}
