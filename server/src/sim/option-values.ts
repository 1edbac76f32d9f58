// Reading option values for the walk. Uses the typed `Value`s when the rule builder filled them and
// parses the source word itself otherwise. Every reader returns undefined when it cannot tell: the
// caller turns that into an "unknown" step, never a guess.
import type { Option, Value } from '../model/ruleset';
import { parseMarkMask, parseU32 } from '../knowledge/marks';
import { parseAddr, parseCidr, type Addr, type Cidr } from './addr';

/** Canonical option name for the built-in iptables options, whatever spelling the builder kept. */
const BUILTIN_ALIASES: Record<string, string> = {
  '-s': 'source', '--source': 'source', '--src': 'source',
  '-d': 'destination', '--destination': 'destination', '--dst': 'destination',
  '-i': 'in-interface', '--in-interface': 'in-interface',
  '-o': 'out-interface', '--out-interface': 'out-interface',
  '-p': 'protocol', '--protocol': 'protocol',
  '-f': 'fragment', '--fragment': 'fragment',
};

export function optionName(o: Option): string {
  return BUILTIN_ALIASES[o.flag] ?? o.name.replace(/^-+/, '');
}

export function isBuiltinOption(o: Option): boolean {
  return BUILTIN_ALIASES[o.flag] !== undefined;
}

export function valueText(v: Value): string {
  return v.kind === 'string' ? v.value : v.text;
}

export function optionText(o: Option): string {
  return o.values.map(valueText).join(' ');
}

export function asCidr(v: Value): Cidr | undefined {
  if (v.kind === 'address') return v.hostname ? undefined : parseCidr(`${v.addr}/${v.prefix}`);
  return parseCidr(valueText(v));
}

export function asAddr(text: string): Addr | undefined {
  return parseAddr(text);
}

export interface PortRange {
  from: number;
  to: number;
}

function portNum(t: string): number | undefined {
  if (!/^\d+$/.test(t)) return undefined; // service names are not resolved: unknown
  const n = Number(t);
  return n <= 65535 ? n : undefined;
}

/** `80`, `1000:2000`, `:1024`, `1024:`, `80,443,8000:8080` (multiport). */
export function asPorts(v: Value): PortRange[] | undefined {
  if (v.kind === 'port') return [{ from: v.from, to: v.to }];
  if (v.kind === 'ports') return v.ports.map((p) => ({ from: p.from, to: p.to }));
  if (v.kind === 'number') return [{ from: v.value, to: v.value }];
  if (v.kind === 'number-range') return [{ from: v.from, to: v.to }];
  const out: PortRange[] = [];
  for (const item of valueText(v).split(',')) {
    const c = item.indexOf(':');
    if (c < 0) {
      const n = portNum(item);
      if (n === undefined) return undefined;
      out.push({ from: n, to: n });
    } else {
      const a = c === 0 ? 0 : portNum(item.slice(0, c));
      const b = c === item.length - 1 ? 65535 : portNum(item.slice(c + 1));
      if (a === undefined || b === undefined) return undefined;
      out.push({ from: a, to: b });
    }
  }
  return out;
}

export function portIn(p: number, ranges: PortRange[]): boolean {
  return ranges.some((r) => p >= Math.min(r.from, r.to) && p <= Math.max(r.from, r.to));
}

/** Interface names: a trailing `+` matches every name with that prefix. */
export function asInterface(v: Value): { name: string; wildcard: boolean } {
  if (v.kind === 'interface') return { name: v.name, wildcard: v.wildcard };
  const t = valueText(v);
  return t.endsWith('+') ? { name: t.slice(0, -1), wildcard: true } : { name: t, wildcard: false };
}

export function interfaceMatches(ifname: string, pat: { name: string; wildcard: boolean }): boolean {
  return pat.wildcard ? ifname.startsWith(pat.name) : ifname === pat.name;
}

export function asMark(v: Value): { value: number; mask: number; hasMask: boolean } | undefined {
  if (v.kind === 'mark') return { value: v.value >>> 0, mask: v.mask >>> 0, hasMask: v.hasMask };
  if (v.kind === 'number') return { value: v.value >>> 0, mask: 0xffffffff, hasMask: false };
  return parseMarkMask(valueText(v));
}

export function asU32(v: Value): number | undefined {
  if (v.kind === 'number') return v.value >>> 0;
  if (v.kind === 'mark' && !v.hasMask) return v.value >>> 0;
  return parseU32(valueText(v));
}

/** `1000` or `1000-2000` (owner uid/gid ranges). */
export function asNumberRange(v: Value): { from: number; to: number } | undefined {
  if (v.kind === 'number') return { from: v.value, to: v.value };
  if (v.kind === 'number-range') return { from: v.from, to: v.to };
  const m = /^(\d+)(?:-(\d+))?$/.exec(valueText(v));
  if (!m) return undefined;
  return { from: Number(m[1]), to: Number(m[2] ?? m[1]) };
}

export function asList(v: Value): string[] {
  if (v.kind === 'list') return v.items;
  return valueText(v).split(',').filter(Boolean);
}

/** Protocol numbers of the names iptables prints (from /etc/protocols). */
export const PROTO_NUMBERS: Record<string, number> = {
  icmp: 1, igmp: 2, ipencap: 4, tcp: 6, egp: 8, udp: 17, dccp: 33, ipv6: 41, gre: 47, esp: 50, ah: 51,
  icmpv6: 58, 'ipv6-icmp': 58, ospf: 89, pim: 103, vrrp: 112, l2tp: 115, sctp: 132, mh: 135, 'ipv6-mh': 135, udplite: 136,
};

export function protoNumber(name: string): number | undefined {
  const l = name.toLowerCase();
  if (/^\d+$/.test(l)) return Number(l) <= 255 ? Number(l) : undefined;
  return PROTO_NUMBERS[l];
}

export const ICMP_TYPES: Record<string, [number, number?]> = {
  'echo-reply': [0], pong: [0], 'destination-unreachable': [3], 'network-unreachable': [3, 0], 'host-unreachable': [3, 1],
  'protocol-unreachable': [3, 2], 'port-unreachable': [3, 3], 'fragmentation-needed': [3, 4], 'source-route-failed': [3, 5],
  'network-unknown': [3, 6], 'host-unknown': [3, 7], 'network-prohibited': [3, 9], 'host-prohibited': [3, 10],
  'communication-prohibited': [3, 13], 'source-quench': [4], redirect: [5], 'echo-request': [8], ping: [8],
  'router-advertisement': [9], 'router-solicitation': [10], 'time-exceeded': [11], 'ttl-exceeded': [11],
  'ttl-zero-during-transit': [11, 0], 'parameter-problem': [12], 'timestamp-request': [13], 'timestamp-reply': [14],
  'address-mask-request': [17], 'address-mask-reply': [18],
};

export const ICMPV6_TYPES: Record<string, [number, number?]> = {
  'destination-unreachable': [1], 'packet-too-big': [2], 'time-exceeded': [3], 'parameter-problem': [4],
  'echo-request': [128], 'echo-reply': [129], 'router-solicitation': [133], 'router-advertisement': [134],
  'neighbour-solicitation': [135], 'neighbor-solicitation': [135], 'neighbour-advertisement': [136], 'neighbor-advertisement': [136],
};

/** `8`, `8/0`, `echo-request`, `any`. */
export function parseIcmpType(text: string, v6: boolean): { type?: number; code?: number; any?: boolean } | undefined {
  if (text === 'any') return { any: true };
  const m = /^(\d+)(?:\/(\d+))?$/.exec(text);
  if (m) return { type: Number(m[1]), code: m[2] === undefined ? undefined : Number(m[2]) };
  const t = (v6 ? ICMPV6_TYPES : ICMP_TYPES)[text.toLowerCase()];
  return t ? { type: t[0], code: t[1] } : undefined;
}

export type { Addr, Cidr };
