// Evaluates one rule's matches against the packet as the walk holds it.
// A rule matches when every option holds. One option that surely fails makes the rule a no match
// (whatever else is unknown); otherwise one option that cannot be decided makes it unknown.
import type { Match, Option, Rule, Table } from '../model/ruleset';
import { evalNftMatch, vmapChoice } from './nft-eval';
import { ipsetContains } from '../routing/ipset-match';
import { markMatches } from '../knowledge/marks';
import { addrEq, inCidr, inRange, isLoopback, isMulticast, lastOf, parseAddr, parseCidr, type Addr, type Cidr } from './addr';
import {
  asCidr, asInterface, asList, asMark, asNumberRange, asPorts, interfaceMatches, isBuiltinOption, optionName,
  optionText, parseIcmpType, portIn, protoNumber, valueText,
} from './option-values';
import type { WalkPacket } from './state';

export type Tri = true | false | { unknown: string };

export interface RuleEval {
  result: 'match' | 'nomatch' | 'unknown';
  /** For a no match: the option that failed, as written ("! -i veth0", "--dport 80"). */
  failed?: string;
  /** For unknown: why. */
  reason?: string;
}

const U = (reason: string): Tri => ({ unknown: reason });

const sourceCache = new WeakMap<Option, string>();

export function optionSource(o: Option): string {
  let t = sourceCache.get(o);
  if (t === undefined) sourceCache.set(o, (t = clipSource(`${o.negated ? '! ' : ''}${o.flag}${o.values.length ? ' ' + optionText(o) : ''}`)));
  return t;
}

/** A failed test as the trace quotes it: a set of a million elements is not repeated in every step. */
export const MAX_FAILED_TEXT = 200;
export function clipSource(t: string): string {
  return t.length <= MAX_FAILED_TEXT ? t : `${t.slice(0, MAX_FAILED_TEXT - 1)}…`;
}

const cidrCache = new WeakMap<Option, (Cidr | undefined)[]>();

/** The option's addresses (a comma list allowed), parsed once per option. */
function optionCidrs(o: Option): (Cidr | undefined)[] {
  let c = cidrCache.get(o);
  if (!c) {
    const items = o.values.length === 1 ? valueText(o.values[0]).split(',') : o.values.map(valueText);
    c = o.values.length === 1 && items.length === 1 ? [asCidr(o.values[0])] : items.map((it) => parseCidr(it));
    cidrCache.set(o, c);
  }
  return c;
}

/** The packet's address, parsed once per value it takes. */
function packetAddr(p: WalkPacket, which: 'src' | 'dst'): Addr | undefined {
  const text = p[which];
  const c = p.addrCache?.[which];
  if (c && c.text === text) return c.addr;
  const addr = parseAddr(text);
  (p.addrCache ??= {})[which] = { text, addr };
  return addr;
}

/** Modules whose outcome depends on state the packet line cannot carry (time, rates, history, payload). */
const UNDECIDABLE: Record<string, string> = {
  statistic: 'depends on a random draw or a packet counter',
  recent: 'depends on the addresses seen by earlier packets',
  string: 'depends on the payload',
  limit: 'depends on the packet rate',
  hashlimit: 'depends on the packet rate',
  connlimit: 'depends on the number of open connections',
  connbytes: 'depends on the connection byte count',
  connrate: 'depends on the connection rate',
  quota: 'depends on the bytes counted so far',
  time: 'depends on the time of day',
  u32: 'reads raw packet bytes',
  bpf: 'runs a BPF program',
  socket: 'depends on local sockets',
  cgroup: 'depends on the sending cgroup',
  physdev: 'depends on bridge ports',
  mac: 'depends on the MAC address',
  pkttype: 'depends on the link-layer packet type',
  dscp: 'depends on the DSCP field',
  tos: 'depends on the TOS field',
  ttl: 'depends on the TTL',
  hl: 'depends on the hop limit',
  ecn: 'depends on ECN bits',
  rpfilter: 'depends on the routing tables',
  policy: 'depends on IPsec policy',
  helper: 'depends on the conntrack helper',
  realm: 'depends on the routing realm',
  cpu: 'depends on the CPU',
  devgroup: 'depends on device groups',
  ipvs: 'depends on IPVS state',
  esp: 'depends on the SPI',
  ah: 'depends on the SPI',
  tcpmss: 'depends on the MSS option',
  cluster: 'depends on the cluster hash',
  osf: 'depends on the OS fingerprint',
  nfacct: 'depends on accounting objects',
  ipv6header: 'depends on extension headers',
  frag: 'depends on fragment headers',
  hbh: 'depends on extension headers',
  dst: 'depends on extension headers',
  rt: 'depends on the routing header',
  mh: 'depends on the mobility header',
  sctp: '', // handled below for ports; chunk types are unknown
  dccp: '',
  length: '',
};

const PORT_PROTOS = new Set(['tcp', 'udp', 'sctp', 'udplite', 'dccp']);

function portOpt(p: WalkPacket, proto: string | undefined, o: Option, which: 'sport' | 'dport'): Tri {
  if (proto && p.proto !== proto) return false;
  const port = p[which];
  if (port === undefined) return false;
  const r = o.values[0] ? asPorts(o.values[0]) : undefined;
  if (!r) return U(`cannot read port "${o.values[0] ? valueText(o.values[0]) : ''}" (service names are not resolved)`);
  return portIn(port, r);
}

function tcpFlags(p: WalkPacket, maskT: string, compT: string): Tri {
  const all = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'];
  const set = (t: string) => {
    const s = new Set<string>();
    for (const f of t.toUpperCase().split(',')) {
      if (f === 'ALL') all.forEach((x) => s.add(x));
      else if (f === 'NONE' || f === '') continue;
      else if (all.includes(f)) s.add(f);
      else return undefined;
    }
    return s;
  };
  const mask = set(maskT), comp = set(compT);
  if (!mask || !comp) return U(`cannot read TCP flags "${maskT} ${compT}"`);
  const have = new Set(p.tcpFlags);
  for (const f of mask) if (have.has(f) !== comp.has(f)) return false;
  return true;
}

function addrOpt(pa: Addr | undefined, o: Option): Tri {
  if (!pa) return U('cannot read the packet address');
  let any = false;
  const cs = optionCidrs(o);
  for (let i = 0; i < cs.length; i++) {
    const c = cs[i];
    if (!c) return U(`"${optionText(o)}" is not an address (host names are not resolved)`);
    if (inCidr(pa, c)) any = true;
  }
  return any;
}

export interface AddrContext {
  hostAddrs: { addr: Addr; prefix?: number }[];
}

export function isLocalAddr(a: Addr, host: AddrContext['hostAddrs']): boolean {
  return isLoopback(a) || host.some((h) => addrEq(h.addr, a));
}

function addrType(a: string, types: string[], p: WalkPacket): Tri {
  const pa = parseAddr(a);
  if (!pa) return U(`cannot read address "${a}"`);
  const local = isLocalAddr(pa, p.hostAddrs);
  const mcast = isMulticast(pa);
  const bcast = pa.family === 'ip' && (pa.n === 0xffffffffn || p.hostAddrs.some((h) => h.prefix !== undefined && h.prefix < 31 &&
    h.addr.family === 'ip' && addrEq(lastOf({ family: 'ip', n: h.addr.n, prefix: h.prefix }), pa) && inCidr(pa, parseCidr(`${formatV4(h.addr.n)}/${h.prefix}`)!)));
  const kind = local ? 'LOCAL' : mcast ? 'MULTICAST' : bcast ? 'BROADCAST' : 'UNICAST';
  for (const t of types) {
    const T = t.toUpperCase();
    if (T === kind) return true;
    if (!['LOCAL', 'MULTICAST', 'BROADCAST', 'UNICAST', 'UNSPEC'].includes(T)) return U(`address type ${T} depends on the routing tables`);
  }
  return false;
}

function formatV4(n: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => ((n >> s) & 255n).toString()).join('.');
}

function ctStateOf(p: WalkPacket): string {
  if (p.ct === 'untracked') return 'UNTRACKED';
  if (p.ct === 'none') return 'INVALID';
  if (p.ct === 'template') return 'NEW';
  return p.ctState.toUpperCase();
}

/** Evaluates one option. `negationDone` means the result already accounts for `!`. */
function evalOption(m: Match, o: Option, p: WalkPacket): { v: Tri; negationDone?: boolean } {
  const name = optionName(o);
  const v0 = o.values[0];
  if (isBuiltinOption(o) || m.module === '') {
    switch (name) {
      case 'source': return { v: addrOpt(packetAddr(p, 'src'), o) };
      case 'destination': return { v: addrOpt(packetAddr(p, 'dst'), o) };
      case 'in-interface':
        if (p.iif === undefined) return { v: false, negationDone: false };
        return { v: v0 ? interfaceMatches(p.iif, asInterface(v0)) : U('-i needs a name') };
      case 'out-interface':
        if (p.oif === undefined) return { v: false };
        return { v: v0 ? interfaceMatches(p.oif, asInterface(v0)) : U('-o needs a name') };
      case 'protocol': {
        const t = v0 ? valueText(v0).toLowerCase() : '';
        if (t === 'all' || t === '0') return { v: true };
        const want = protoNumber(t), have = protoNumber(p.proto);
        if (want === undefined) return { v: U(`unknown protocol "${t}"`) };
        if (have === undefined) return { v: U(`unknown packet protocol "${p.proto}"`) };
        // ip6tables: -p icmp names ICMPv6 there as well.
        return { v: want === have || (p.family === 'ip6' && want === 1 && have === 58) };
      }
      case 'fragment': return { v: false };
    }
  }
  switch (m.module) {
    case 'comment':
      return { v: true };
    case 'tcp':
    case 'udp':
    case 'udplite':
    case 'sctp':
    case 'dccp': {
      const proto = m.module;
      if (p.proto !== proto) return { v: false };
      if (name === 'sport' || name === 'source-port') return { v: portOpt(p, proto, o, 'sport') };
      if (name === 'dport' || name === 'destination-port') return { v: portOpt(p, proto, o, 'dport') };
      if (proto === 'tcp' && name === 'tcp-flags') {
        const [a, b] = o.values.length >= 2 ? [valueText(o.values[0]), valueText(o.values[1])] : (v0 ? valueText(v0).split(/\s+/) : []);
        return { v: a !== undefined && b !== undefined ? tcpFlags(p, a, b) : U('--tcp-flags needs MASK COMP') };
      }
      if (proto === 'tcp' && name === 'syn') return { v: tcpFlags(p, 'SYN,RST,ACK,FIN', 'SYN') };
      return { v: U(`--${name} of ${proto} is not modelled`) };
    }
    case 'multiport': {
      if (!PORT_PROTOS.has(p.proto) || p.sport === undefined || p.dport === undefined) return { v: false };
      const r = v0 ? asPorts(v0) : undefined;
      if (!r) return { v: U(`cannot read ports "${v0 ? valueText(v0) : ''}"`) };
      if (name === 'sports' || name === 'source-ports') return { v: portIn(p.sport, r) };
      if (name === 'dports' || name === 'destination-ports') return { v: portIn(p.dport, r) };
      if (name === 'ports') return { v: portIn(p.sport, r) || portIn(p.dport, r) };
      return { v: U(`multiport --${name} is not modelled`) };
    }
    case 'mark': {
      if (name !== 'mark') break;
      const mm = v0 ? asMark(v0) : undefined;
      if (!mm) return { v: U(`cannot read mark "${v0 ? valueText(v0) : ''}"`) };
      return { v: markMatches(p.mark, mm.value, mm.mask) };
    }
    case 'connmark': {
      if (name !== 'mark') break;
      const mm = v0 ? asMark(v0) : undefined;
      if (!mm) return { v: U(`cannot read mark "${v0 ? valueText(v0) : ''}"`) };
      // No conntrack entry (raw table, untracked, invalid): the match fails, even negated.
      // A raw-table CT template has ct mark 0.
      if (p.ct === 'template') return { v: markMatches(0, mm.value, mm.mask) };
      if (p.ct !== 'tracked') return { v: false, negationDone: true };
      return { v: markMatches(p.ctmark, mm.value, mm.mask) };
    }
    case 'state':
    case 'conntrack': {
      if (name === 'state' || name === 'ctstate') {
        const want = (v0 ? asList(v0) : []).map((s) => s.toUpperCase());
        const have = ctStateOf(p);
        if (want.includes(have)) return { v: true };
        if (want.includes('DNAT') && p.ct === 'tracked' && p.natDstChanged) return { v: true };
        if (want.includes('SNAT') && p.ct === 'tracked' && p.natSrcChanged) return { v: true };
        if ((want.includes('DNAT') || want.includes('SNAT')) && p.ct === 'tracked' && p.ctState !== 'new') {
          return { v: U('whether the connection was NATed earlier is not in the packet line') };
        }
        return { v: false };
      }
      if (name === 'ctdir') {
        if (p.ct === 'template') return { v: v0 ? valueText(v0).toLowerCase() === 'original' : U('--ctdir needs a value') };
        if (p.ct !== 'tracked') return { v: false, negationDone: true };
        return { v: v0 ? valueText(v0).toLowerCase() === p.ctDir : U('--ctdir needs a value') };
      }
      if (name === 'ctproto') {
        if (p.ct === 'template') return { v: U('the tuple of a raw-table CT template is not modelled') };
        if (p.ct !== 'tracked') return { v: false, negationDone: true };
        const w = v0 ? protoNumber(valueText(v0)) : undefined;
        return { v: w === undefined ? U('cannot read --ctproto') : w === protoNumber(p.proto) };
      }
      if (['ctorigsrc', 'ctorigdst', 'ctorigsrcport', 'ctorigdstport'].includes(name)) {
        if (p.ct === 'template') return { v: U('the tuple of a raw-table CT template is not modelled') };
        if (p.ct !== 'tracked') return { v: false, negationDone: true };
        if (p.ctDir !== 'original') return { v: U('the original tuple of a reply is not in the packet line') };
        const o2 = { ...o, values: o.values };
        if (name === 'ctorigsrc') return { v: addrOpt(parseAddr(p.orig.src), o2) };
        if (name === 'ctorigdst') return { v: addrOpt(parseAddr(p.orig.dst), o2) };
        const port = name === 'ctorigsrcport' ? p.orig.sport : p.orig.dport;
        const r = v0 ? asPorts(v0) : undefined;
        if (port === undefined) return { v: false };
        return { v: r ? portIn(port, r) : U('cannot read port') };
      }
      return { v: U(`conntrack --${name} is not modelled`) };
    }
    case 'owner': {
      // Only locally generated packets carry a socket; without one, xt_owner's result is
      // "no owner test holds", and a negated test holds.
      if (!p.local || (p.hook !== 'output' && p.hook !== 'postrouting')) return { v: o.negated, negationDone: true };
      if (name === 'uid-owner' || name === 'gid-owner') {
        const id = name === 'uid-owner' ? p.uid : p.gid;
        if (id === undefined) return { v: U(`the socket's ${name === 'uid-owner' ? 'uid' : 'gid'} is not given (add "${name === 'uid-owner' ? 'uid' : 'gid'} N" to the packet)`) };
        const r = v0 ? asNumberRange(v0) : undefined;
        if (!r) return { v: U(`user/group names are not resolved ("${v0 ? valueText(v0) : ''}")`) };
        return { v: id >= r.from && id <= r.to };
      }
      if (name === 'socket-exists') return { v: true };
      if (name === 'suppl-groups') return { v: true };
      return { v: U(`owner --${name} is not modelled`) };
    }
    case 'addrtype': {
      if (name === 'src-type' || name === 'dst-type') {
        return { v: addrType(name === 'src-type' ? p.src : p.dst, v0 ? asList(v0) : [], p) };
      }
      if (name === 'limit-iface-in' || name === 'limit-iface-out') return { v: U('addresses per interface are not known') };
      break;
    }
    case 'iprange': {
      if (name === 'src-range' || name === 'dst-range') {
        const [a, b] = (v0 ? valueText(v0) : '').split('-');
        const A = parseAddr(a ?? ''), B = parseAddr(b ?? a ?? '');
        const x = parseAddr(name === 'src-range' ? p.src : p.dst);
        if (!A || !B || !x) return { v: U('cannot read the address range') };
        return { v: inRange(x, A, B) };
      }
      break;
    }
    case 'icmp':
    case 'icmp6':
    case 'icmpv6': {
      const want = m.module === 'icmp' ? 'icmp' : 'icmpv6';
      if (p.proto !== want || p.icmpType === undefined) return { v: false };
      const t = v0 ? parseIcmpType(valueText(v0), want === 'icmpv6') : undefined;
      if (!t) return { v: U(`unknown ICMP type "${v0 ? valueText(v0) : ''}"`) };
      if (t.any) return { v: true };
      return { v: t.type === p.icmpType && (t.code === undefined || t.code === p.icmpCode) };
    }
    case 'set': {
      if (name === 'match-set') {
        const setName = v0 ? valueText(v0) : '';
        const dirs = o.values[1] ? asList(o.values[1]) : [];
        const members = p.sets[setName];
        const ipset = p.ipsets?.get(setName);
        if (!members && ipset) {
          const r = ipsetContains(ipset, { src: p.src, dst: p.dst, proto: p.proto, sport: p.sport, dport: p.dport, iif: p.iif, oif: p.oif, mark: p.mark },
            dirs.filter((d): d is 'src' | 'dst' => d === 'src' || d === 'dst'), p.ipsets);
          return { v: r === undefined ? U(`set "${setName}" (${ipset.type ?? 'this type'}) cannot be decided for this packet`) : r };
        }
        if (!members) return { v: U(`the contents of set "${setName}" are not known (add "set ${setName}=ADDR,..." to the packet)`) };
        if (dirs.length !== 1) return { v: U(`set "${setName}" with ${dirs.length} dimensions is not modelled`) };
        const a = parseAddr(dirs[0] === 'src' ? p.src : p.dst);
        if (!a || (dirs[0] !== 'src' && dirs[0] !== 'dst')) return { v: U(`cannot read set flags "${dirs.join(',')}"`) };
        return { v: members.some((x) => { const c = parseCidr(x); return !!c && inCidr(a, c); }) };
      }
      if (name === 'return-nomatch' || name === 'update-counters' || name === 'update-subcounters' || name === 'no-update-counters') return { v: true };
      return { v: U(`set --${name} depends on set counters`) };
    }
    case 'length': {
      if (p.length === undefined) return { v: U('the packet length is not given (add "len N")') };
      const r = v0 ? asPorts(v0) : undefined;
      return { v: r ? portIn(p.length, r) : U('cannot read the length range') };
    }
  }
  const why = UNDECIDABLE[m.module];
  if (why) return { v: U(`-m ${m.module}: ${why}`) };
  if (!m.known && why === undefined && !KNOWN_MODULES.has(m.module)) return { v: U(`match module "${m.module}" is not known`) };
  return { v: U(`-m ${m.module} --${name} is not modelled`) };
}

const KNOWN_MODULES = new Set(['', 'comment', 'tcp', 'udp', 'udplite', 'sctp', 'dccp', 'multiport', 'mark', 'connmark', 'state', 'conntrack',
  'owner', 'addrtype', 'iprange', 'icmp', 'icmp6', 'icmpv6', 'set', 'length']);

// Compiled rules: the common iptables options (addresses, interfaces, protocol, ports, marks) become
// small closures over pre-parsed values, and a failure returns a result object made once per option.
// Everything else goes through evalOption. Kept per Rule object (a re-parse makes new ones).
type Check = (p: WalkPacket) => Tri;
interface Compiled {
  checks: { check: Check; fail: RuleEval }[];
  tail?: boolean;
  /** The first check when it is an IPv4 address (`-s`/`-d`, one prefix): tested inline, without the
   *  closure call (a kube KUBE-SERVICES rule fails there for all but one service). */
  a4?: { src: boolean; net: number; mask: number; neg: boolean };
}
const MATCH: RuleEval = Object.freeze({ result: 'match' }) as RuleEval;

function v4(p: WalkPacket, which: 'src' | 'dst'): number | undefined {
  const text = p[which];
  const c = p.addrCache?.[which];
  if (c && c.text === text) return c.n4;
  const a = packetAddr(p, which);
  const e = p.addrCache![which]!;
  e.n4 = a && a.family === 'ip' ? Number(a.n) : undefined;
  return e.n4;
}

/** v4() for one side, without a computed key (the hot path of a long chain). */
export function src4(p: WalkPacket): number | undefined {
  const c = p.addrCache?.src;
  return c !== undefined && c.text === p.src ? c.n4 : v4(p, 'src');
}
export function dst4(p: WalkPacket): number | undefined {
  const c = p.addrCache?.dst;
  return c !== undefined && c.text === p.dst ? c.n4 : v4(p, 'dst');
}

/** The IPv4 prefix of a single-address `-s`/`-d` option (what compileOption tests inline). */
function addr4Of(m: Match, o: Option): { src: boolean; net: number; mask: number; neg: boolean } | undefined {
  const name = optionName(o);
  if (!(isBuiltinOption(o) || m.module === '') || (name !== 'source' && name !== 'destination')) return undefined;
  const cs = optionCidrs(o);
  if (cs.length !== 1 || !cs[0] || cs[0].family !== 'ip') return undefined;
  return { src: name === 'source', net: Number(cs[0].n), mask: Number(cs[0].mask ?? 0n), neg: o.negated };
}

function compileOption(m: Match, o: Option): Check {
  const name = optionName(o);
  const neg = o.negated;
  const builtin = isBuiltinOption(o) || m.module === '';
  const a4 = addr4Of(m, o);
  if (a4) {
    const { mask, net } = a4;
    const get = a4.src ? src4 : dst4;
    return (p) => {
      const a = get(p);
      if (a === undefined) return evalOption(m, o, p).v === true ? !neg : neg;
      return ((a & mask) >>> 0 === net) !== neg;
    };
  }
  if (builtin && (name === 'in-interface' || name === 'out-interface') && o.values[0]) {
    const pat = asInterface(o.values[0]);
    const which = name === 'in-interface' ? 'iif' : 'oif';
    return (p) => {
      const n = p[which];
      return (n !== undefined && (pat.wildcard ? n.startsWith(pat.name) : n === pat.name)) !== neg;
    };
  }
  if ((m.module === 'mark' || m.module === 'connmark') && name === 'mark' && o.values[0]) {
    const mm = asMark(o.values[0]);
    if (mm) {
      if (m.module === 'mark') return (p) => markMatches(p.mark, mm.value, mm.mask) !== neg;
      return (p) => (p.ct === 'tracked' ? markMatches(p.ctmark, mm.value, mm.mask) !== neg : p.ct === 'template' ? markMatches(0, mm.value, mm.mask) !== neg : false);
    }
  }
  if ((m.module === 'tcp' || m.module === 'udp') && (name === 'dport' || name === 'sport' || name === 'destination-port' || name === 'source-port') && o.values[0]) {
    const r = asPorts(o.values[0]);
    if (r && r.length === 1) {
      const lo = Math.min(r[0].from, r[0].to), hi = Math.max(r[0].from, r[0].to), proto = m.module;
      const which = name === 'dport' || name === 'destination-port' ? 'dport' : 'sport';
      return (p) => {
        if (p.proto !== proto) return false;
        const port = p[which];
        return port !== undefined && (port >= lo && port <= hi) !== neg;
      };
    }
  }
  if (m.module === 'comment') return () => true;
  return (p) => {
    const { v, negationDone } = evalOption(m, o, p);
    if (typeof v === 'object') return v;
    return negationDone ? v : neg ? !v : v;
  };
}

function compile(rule: Rule): Compiled | null {
  // nft rules (statements carry their text) take the generic path.
  if (rule.actions.some((a) => a.text !== undefined)) return null;
  const checks: Compiled['checks'] = [];
  let a4: Compiled['a4'];
  for (const m of rule.matches) {
    if (m.nft) return null;
    if (!m.options.length && m.module !== '') {
      // Bare modules: keep the generic path (protocol requirement, unknown modules).
      return null;
    }
    for (const o of m.options) {
      if (!checks.length) a4 = addr4Of(m, o);
      checks.push({ check: compileOption(m, o), fail: Object.freeze({ result: 'nomatch', failed: optionSource(o) }) as RuleEval });
    }
  }
  const out: Compiled = { checks, tail: rule.actions.some((a) => a.kind === 'extension' && (a.name === 'vmap' || a.name === 'limit' || a.name === 'quota' || a.name === 'meter')) };
  if (a4) out.a4 = a4;
  return out;
}

const COMPILED = Symbol('nflens.sim.compiled');

/** A rule's compiled matcher (null: the generic path), made once per Rule object. */
export type RuleMatcher = Compiled | null;

export function matcherOf(rule: Rule): RuleMatcher {
  // Kept on the rule itself (a symbol: invisible to JSON and to the model's type).
  const holder = rule as Rule & { [COMPILED]?: Compiled | null };
  let c = holder[COMPILED];
  if (c === undefined) holder[COMPILED] = c = compile(rule);
  return c;
}

export function evalRule(rule: Rule, p: WalkPacket, table?: Table): RuleEval {
  return evalWith(matcherOf(rule), rule, p, table);
}

/** The rule's first test when it is one IPv4 prefix and the rule takes the compiled path (what
 *  compile() would put in `a4`), with the result its failure gives; undefined otherwise. Made without
 *  compiling the rule: a walk's first pass over a 10 000-rule chain needs only this for most rules. */
export function firstAddr4(rule: Rule): { src: boolean; net: number; mask: number; neg: boolean; fail: RuleEval } | undefined {
  // compile()'s conditions: no nft statements or matches, no bare modules, no tail statements.
  for (const a of rule.actions) {
    if (a.text !== undefined) return undefined;
    if (a.kind === 'extension' && (a.name === 'vmap' || a.name === 'limit' || a.name === 'quota' || a.name === 'meter')) return undefined;
  }
  let first: { m: Match; o: Option } | undefined;
  for (const m of rule.matches) {
    if (m.nft || (!m.options.length && m.module !== '')) return undefined;
    if (!first && m.options.length) first = { m, o: m.options[0] };
  }
  const a4 = first ? addr4Of(first.m, first.o) : undefined;
  return a4 ? { ...a4, fail: Object.freeze({ result: 'nomatch', failed: optionSource(first!.o) }) as RuleEval } : undefined;
}

/** evalRule with the rule's matcher at hand (the walk keeps it per chain position). */
export function evalWith(c: RuleMatcher, rule: Rule, p: WalkPacket, table?: Table): RuleEval {
  if (c !== null && !c.tail) {
    const cs = c.checks;
    const a4 = c.a4;
    if (a4 !== undefined) {
      // Same outcome as cs[0].check when the address is IPv4 and the test fails; else the loop decides.
      const a = a4.src ? src4(p) : dst4(p);
      if (a !== undefined && ((a & a4.mask) >>> 0 === a4.net) === a4.neg) return cs[0].fail;
    }
    let unknown: string | undefined;
    for (let i = 0; i < cs.length; i++) {
      const v = cs[i].check(p);
      if (v === true) continue;
      if (v === false) return cs[i].fail;
      unknown ??= v.unknown;
    }
    return unknown ? { result: 'unknown', reason: unknown } : MATCH;
  }
  return evalRuleGeneric(rule, p, table);
}

function evalRuleGeneric(rule: Rule, p: WalkPacket, table?: Table): RuleEval {
  let unknown: string | undefined;
  const ms = rule.matches;
  for (let mi = 0; mi < ms.length; mi++) {
    const m = ms[mi];
    if (m.nft) {
      const v = evalNftMatch(m, p, table);
      if (typeof v === 'object') { unknown ??= v.unknown; continue; }
      if (!v) return { result: 'nomatch', failed: clipSource(`${m.nft.left}${m.nft.op === 'implicit' ? '' : ' ' + m.nft.op} ${m.nft.right}`) };
      continue;
    }
    if (!m.options.length && m.module !== '') {
      // A bare `-m tcp` / `-m udp` still requires the protocol; other bare modules match.
      if (PORT_PROTOS.has(m.module) && p.proto !== m.module) return { result: 'nomatch', failed: `-m ${m.module}` };
      if (UNDECIDABLE[m.module]) unknown ??= `-m ${m.module}: ${UNDECIDABLE[m.module]}`;
      else if (!KNOWN_MODULES.has(m.module)) unknown ??= `match module "${m.module}" is not known`;
      continue;
    }
    const os = m.options;
    for (let oi = 0; oi < os.length; oi++) {
      const o = os[oi];
      const { v, negationDone } = evalOption(m, o, p);
      if (typeof v === 'object') { unknown ??= v.unknown; continue; }
      const holds = negationDone ? v : o.negated ? !v : v;
      if (!holds) return { result: 'nomatch', failed: optionSource(o) };
    }
  }
  // nft statements that act as matches: a verdict map without an element for the packet breaks the
  // rule (as a failed lookup does); limit/quota stop it when over; reading `ct ...` in a statement
  // without a conntrack entry (raw priority, untracked) breaks it too.
  for (const a of rule.actions) {
    if (a.kind === 'extension' && a.text !== undefined && (p.ct === 'none' || p.ct === 'untracked')) {
      const value = a.options.find((o) => o.name === 'value')?.values.map((v) => v.text).join(' ') ?? '';
      if (/\bct\s+(mark|state|direction|status|zone|expiration|label|id)\b/.test(value) || a.name === 'vmap' && /^ct\b/.test(a.vmap?.key ?? '')) {
        return { result: 'nomatch', failed: `${a.text} (no conntrack entry yet: reading ct stops the rule)` };
      }
    }
    if (a.kind === 'extension' && a.name === 'vmap' && !unknown) {
      const e = vmapChoice(a, p, table);
      if (e === undefined) return { result: 'nomatch', failed: `${a.vmap?.key} vmap: no element for this packet` };
      if ('unknown' in e) unknown = e.unknown;
    }
    if (a.kind === 'extension' && (a.name === 'limit' || a.name === 'quota' || a.name === 'meter')) unknown ??= `"${a.text ?? a.name}" depends on the packet rate or the bytes counted so far`;
  }
  return unknown ? { result: 'unknown', reason: unknown } : { result: 'match' };
}
