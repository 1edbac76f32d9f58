// The set of packets a rule's matches select, as a box over the dimensions the analyses model:
// addresses (CIDRs, negations), protocol, ports and ranges, interfaces (with `+`), packet and ct mark
// (value/mask), ct state. A match the model does not cover is kept as "unknown": such a rule may
// match, and is never used to claim that another rule is hidden behind it.
import type { Rule } from '../model/ruleset';
import { markOf, moduleOf, optText, ruleOptions, valueText, type FoundOption } from './rule-facts';

/** Sorted, disjoint, inclusive intervals. */
export type IntervalSet = [bigint, bigint][];

export interface IfaceCond {
  name: string;
  wildcard: boolean;
  negated: boolean;
}

export interface MarkCond {
  value: number;
  mask: number;
  negated: boolean;
}

export const CT_STATES = ['NEW', 'ESTABLISHED', 'RELATED', 'INVALID', 'UNTRACKED'] as const;
const ALL_STATES = (1 << CT_STATES.length) - 1;

export interface Space {
  /** nft: the address family an `ip`/`ip6` match pins the rule to (src/dst are in its space). */
  nfproto?: 'ip' | 'ip6';
  src?: IntervalSet;
  dst?: IntervalSet;
  proto?: IntervalSet;
  sport?: IntervalSet;
  dport?: IntervalSet;
  /** -m owner: socket uid/gid, with two extra values past 2^32-1 for "no socket" and "socket without file". */
  uid?: IntervalSet;
  gid?: IntervalSet;
  iif: IfaceCond[];
  oif: IfaceCond[];
  mark: MarkCond[];
  ctmark: MarkCond[];
  /** Bitmask over CT_STATES. */
  ctstate?: number;
  /** Matches not modelled, as written. */
  unknown: string[];
  /** Provably matches no packet. */
  empty: boolean;
}

// ------------------------------------------------------------------ interval sets

export function norm(xs: IntervalSet): IntervalSet {
  const s = [...xs].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: IntervalSet = [];
  for (const [lo, hi] of s) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1n) { if (hi > last[1]) last[1] = hi; } else out.push([lo, hi]);
  }
  return out;
}

export function complement(xs: IntervalSet, max: bigint): IntervalSet {
  const out: IntervalSet = [];
  let next = 0n;
  for (const [lo, hi] of xs) {
    if (lo > next) out.push([next, lo - 1n]);
    next = hi + 1n;
  }
  if (next <= max) out.push([next, max]);
  return out;
}

export function intersect(a: IntervalSet, b: IntervalSet): IntervalSet {
  const out: IntervalSet = [];
  let i = 0, j = 0;
  while (i < a.length && j < b.length) {
    const lo = a[i][0] > b[j][0] ? a[i][0] : b[j][0];
    const hi = a[i][1] < b[j][1] ? a[i][1] : b[j][1];
    if (lo <= hi) out.push([lo, hi]);
    if (a[i][1] < b[j][1]) i++; else j++;
  }
  return out;
}

/** a ⊆ b (both normalized). */
export function subset(a: IntervalSet, b: IntervalSet): boolean {
  let j = 0;
  for (const [lo, hi] of a) {
    while (j < b.length && b[j][1] < lo) j++;
    if (j >= b.length || b[j][0] > lo || b[j][1] < hi) return false;
  }
  return true;
}

export function hasPoint(a: IntervalSet, x: bigint): boolean {
  return a.some(([lo, hi]) => lo <= x && x <= hi);
}

// ------------------------------------------------------------------ values

function parse4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = (n << 8n) | BigInt(Number(p));
  }
  return n;
}

function parse6(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || !text.includes(':')) return undefined;
  let t = text;
  let tail4: bigint | undefined;
  const lc = t.lastIndexOf(':');
  if (t.slice(lc + 1).includes('.')) {
    tail4 = parse4(t.slice(lc + 1));
    if (tail4 === undefined) return undefined;
    t = t.slice(0, lc + 1) + '0:0';
  }
  const halves = t.split('::');
  if (halves.length > 2) return undefined;
  const g = (s: string) => (s === '' ? [] : s.split(':'));
  const head = g(halves[0]);
  const tail = halves.length === 2 ? g(halves[1]) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  let n = 0n;
  for (const x of [...head, ...Array(halves.length === 2 ? missing : 0).fill('0'), ...tail]) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(x)) return undefined;
    n = (n << 16n) | BigInt(parseInt(x, 16));
  }
  if (tail4 !== undefined) n = (n & ~0xffffffffn) | tail4;
  return n;
}

export function parseAddress(text: string): { family: 'ip' | 'ip6'; n: bigint } | undefined {
  const a = parse4(text);
  if (a !== undefined) return { family: 'ip', n: a };
  const b = parse6(text);
  return b === undefined ? undefined : { family: 'ip6', n: b };
}

function maskToPrefix(mask: bigint, bits: number): number | undefined {
  let p = 0;
  for (let i = bits - 1; i >= 0; i--) {
    if ((mask >> BigInt(i)) & 1n) p++;
    else break;
  }
  const want = p === 0 ? 0n : ((1n << BigInt(p)) - 1n) << BigInt(bits - p);
  return want === mask ? p : undefined;
}

/** `addr`, `addr/prefix`, `addr/dotted-mask`, comma lists. Undefined for hostnames and non-prefix masks. */
export function cidrSet(text: string, family: 'ip' | 'ip6'): IntervalSet | undefined {
  const bits = family === 'ip' ? 32 : 128;
  const out: IntervalSet = [];
  for (const part of text.split(',')) {
    const [a, m] = part.split('/');
    const addr = parseAddress(a);
    if (!addr || addr.family !== family) return undefined;
    let prefix = bits;
    if (m !== undefined) {
      if (/^\d+$/.test(m)) prefix = Number(m);
      else {
        const mm = parseAddress(m);
        if (!mm || mm.family !== family) return undefined;
        const p = maskToPrefix(mm.n, bits);
        if (p === undefined) return undefined;
        prefix = p;
      }
    }
    if (prefix > bits) return undefined;
    const size = 1n << BigInt(bits - prefix);
    const lo = (addr.n / size) * size;
    out.push([lo, lo + size - 1n]);
  }
  return norm(out);
}

const PROTOS: Record<string, number> = {
  icmp: 1, igmp: 2, tcp: 6, udp: 17, gre: 47, esp: 50, ah: 51, icmpv6: 58, 'ipv6-icmp': 58, sctp: 132, udplite: 136, dccp: 33, ospf: 89, pim: 103, vrrp: 112,
};

export function protoNum(text: string): number | undefined {
  const l = text.toLowerCase();
  if (/^\d+$/.test(l)) return Number(l) <= 255 ? Number(l) : undefined;
  return PROTOS[l];
}

const SERVICES: Record<string, number> = {
  ftp: 21, ssh: 22, telnet: 23, smtp: 25, domain: 53, http: 80, pop3: 110, ntp: 123, imap: 143, snmp: 161, https: 443,
  submission: 587, imaps: 993, pop3s: 995, bootps: 67, bootpc: 68, tftp: 69, www: 80, 'http-alt': 8080, isakmp: 500, syslog: 514,
};

function portNum(t: string): number | undefined {
  if (/^\d+$/.test(t)) return Number(t) <= 65535 ? Number(t) : undefined;
  return SERVICES[t];
}

function portRanges(f: FoundOption): IntervalSet | undefined {
  const out: IntervalSet = [];
  for (const v of f.option.values) {
    if (v.kind === 'port') { out.push([BigInt(v.from), BigInt(v.to)]); continue; }
    if (v.kind === 'ports') { for (const p of v.ports) out.push([BigInt(p.from), BigInt(p.to)]); continue; }
    for (const part of valueText(v).split(',')) {
      const i = part.indexOf(':');
      if (i < 0) {
        const p = portNum(part);
        if (p === undefined) return undefined;
        out.push([BigInt(p), BigInt(p)]);
      } else {
        const a = i === 0 ? 0 : portNum(part.slice(0, i));
        const b = i === part.length - 1 ? 65535 : portNum(part.slice(i + 1));
        if (a === undefined || b === undefined || a > b) return undefined;
        out.push([BigInt(a), BigInt(b)]);
      }
    }
  }
  return out.length ? norm(out) : undefined;
}

// ------------------------------------------------------------------ building

/** uid/gid domain: 0..2^32-1, then NO_SOCKET and NO_FILE. */
export const NO_SOCKET = 0x100000000n;
export const NO_FILE = 0x100000001n;
const OWNER_MAX = NO_FILE;

function ownerSet(f: FoundOption): IntervalSet | undefined {
  if (f.option.values.length !== 1) return undefined;
  const v = f.option.values[0];
  if (v.kind === 'number') return [[BigInt(v.value), BigInt(v.value)]];
  if (v.kind === 'number-range') return [[BigInt(v.from), BigInt(v.to)]];
  const m = /^(\d+)(?:-(\d+))?$/.exec(valueText(v)); // user and group names are not resolved
  if (!m) return undefined;
  const lo = BigInt(m[1]), hi = BigInt(m[2] ?? m[1]);
  return lo <= hi && hi < NO_SOCKET ? [[lo, hi]] : undefined;
}

const PORT_MODULES = new Set(['tcp', 'udp', 'sctp', 'dccp', 'udplite']);
/** Modules that never restrict the packet. */
const NEUTRAL_MODULES = new Set(['comment']);

const and = (a: IntervalSet | undefined, b: IntervalSet): IntervalSet => (a ? intersect(a, b) : b);

/** The match space of an iptables rule. */
export function ruleSpace(rule: Rule, family: 'ip' | 'ip6'): Space {
  const s: Space = { iif: [], oif: [], mark: [], ctmark: [], unknown: [], empty: false };
  const addrMax = family === 'ip' ? 0xffffffffn : (1n << 128n) - 1n;
  const opts = ruleOptions(rule);
  const unknown = (f: FoundOption) => s.unknown.push(`${f.option.negated ? '! ' : ''}${f.option.flag || f.name} ${optText(f.option)}`.trim());
  for (const m of rule.matches) {
    if (m.nft) { s.unknown.push(`${m.nft.left} ${m.nft.op} ${m.nft.right}`); continue; }
    if (m.module && !m.options.length && !PORT_MODULES.has(m.module) && !NEUTRAL_MODULES.has(m.module)) s.unknown.push(`-m ${m.module}`);
  }
  for (const f of opts) {
    const mod = moduleOf(f);
    const neg = f.option.negated;
    const text = optText(f.option);
    if (mod === '') {
      if (f.name === 'source' || f.name === 'destination') {
        const v = f.option.values[0];
        let set: IntervalSet | undefined;
        if (v?.kind === 'address' && !v.hostname && f.option.values.length === 1) set = cidrSet(`${v.addr}/${v.prefix}`, family);
        else set = cidrSet(f.option.values.map(valueText).join(','), family);
        if (!set) { unknown(f); continue; }
        if (neg) set = complement(set, addrMax);
        if (f.name === 'source') s.src = and(s.src, set); else s.dst = and(s.dst, set);
      } else if (f.name === 'protocol') {
        const l = text.toLowerCase();
        if (l === 'all' || l === '0') { if (neg) s.empty = true; continue; }
        const p = protoNum(l);
        if (p === undefined) { unknown(f); continue; }
        let set: IntervalSet = [[BigInt(p), BigInt(p)]];
        if (neg) set = complement(set, 255n);
        s.proto = and(s.proto, set);
      } else if (f.name === 'in-interface' || f.name === 'out-interface') {
        const v = f.option.values[0];
        const c = v?.kind === 'interface' ? { name: v.name, wildcard: v.wildcard } : text.endsWith('+') ? { name: text.slice(0, -1), wildcard: true } : { name: text, wildcard: false };
        (f.name === 'in-interface' ? s.iif : s.oif).push({ ...c, negated: neg });
      } else unknown(f);
      continue;
    }
    if (PORT_MODULES.has(mod) && (f.name === 'dport' || f.name === 'sport')) {
      let set = portRanges(f);
      if (!set) { unknown(f); continue; }
      if (neg) set = complement(set, 65535n);
      if (f.name === 'dport') s.dport = and(s.dport, set); else s.sport = and(s.sport, set);
      continue;
    }
    if (mod === 'multiport' && (f.name === 'dports' || f.name === 'sports')) {
      let set = portRanges(f);
      if (!set) { unknown(f); continue; }
      if (neg) set = complement(set, 65535n);
      if (f.name === 'dports') s.dport = and(s.dport, set); else s.sport = and(s.sport, set);
      continue;
    }
    if ((mod === 'mark' || mod === 'connmark') && f.name === 'mark') {
      const mv = markOf(f.option.values[0]);
      if (!mv) { unknown(f); continue; }
      (mod === 'mark' ? s.mark : s.ctmark).push({ value: mv.value, mask: mv.mask, negated: neg });
      continue;
    }
    if ((mod === 'state' && f.name === 'state') || (mod === 'conntrack' && f.name === 'ctstate')) {
      let bits = 0;
      let ok = true;
      for (const st of text.split(',')) {
        const i = CT_STATES.indexOf(st.toUpperCase() as (typeof CT_STATES)[number]);
        if (i < 0) { ok = false; break; }
        bits |= 1 << i;
      }
      if (!ok) { unknown(f); continue; }
      if (neg) bits = ALL_STATES & ~bits;
      s.ctstate = (s.ctstate ?? ALL_STATES) & bits;
      continue;
    }
    if (mod === 'owner' && (f.name === 'uid-owner' || f.name === 'gid-owner')) {
      // xt_owner: a packet without a socket (or without a file) fails a plain test and passes a negated one.
      const set = ownerSet(f);
      if (!set) { unknown(f); continue; }
      const v = neg ? complement(set, OWNER_MAX) : set;
      if (f.name === 'uid-owner') s.uid = and(s.uid, v); else s.gid = and(s.gid, v);
      continue;
    }
    if (NEUTRAL_MODULES.has(mod)) continue;
    unknown(f);
  }
  // Ports need a protocol that has them; interface, mark and ct state conflicts make the box empty.
  for (const set of [s.src, s.dst, s.proto, s.sport, s.dport, s.uid, s.gid]) if (set && set.length === 0) s.empty = true;
  if (s.ctstate === 0) s.empty = true;
  if (markFixed(s.mark) === undefined || markFixed(s.ctmark) === undefined) s.empty = true;
  return s;
}

/** Bits fixed by the positive mark conditions, or undefined if they contradict (or one can never hold). */
export function markFixed(cs: MarkCond[]): { mask: number; value: number } | undefined {
  let mask = 0, value = 0;
  for (const c of cs) {
    if (c.negated) continue;
    if ((c.value & ~c.mask) >>> 0) return undefined;
    const both = (mask & c.mask) >>> 0;
    if (((value ^ c.value) & both) >>> 0) return undefined;
    mask = (mask | c.mask) >>> 0;
    value = (value | (c.value & c.mask)) >>> 0;
  }
  return { mask, value };
}

export function isUnconditional(s: Space): boolean {
  return !s.unknown.length && !s.empty && !s.nfproto && !s.src && !s.dst && !s.proto && !s.sport && !s.dport && !s.uid && !s.gid && !s.iif.length && !s.oif.length && !s.mark.length && !s.ctmark.length && (s.ctstate === undefined || s.ctstate === ALL_STATES);
}

// ------------------------------------------------------------------ containment

function ifSubset(a: IfaceCond, b: IfaceCond): boolean {
  return b.wildcard ? a.name.startsWith(b.name) : !a.wildcard && a.name === b.name;
}

function ifOverlap(a: IfaceCond, b: IfaceCond): boolean {
  if (a.wildcard && b.wildcard) return a.name.startsWith(b.name) || b.name.startsWith(a.name);
  if (a.wildcard) return b.name.startsWith(a.name);
  if (b.wildcard) return a.name.startsWith(b.name);
  return a.name === b.name;
}

function ifImplies(as: IfaceCond[], b: IfaceCond): boolean {
  return as.some((a) => {
    if (!b.negated) return !a.negated && ifSubset(a, b);
    return a.negated ? ifSubset(b, a) : !ifOverlap(a, b);
  });
}

function markImplies(as: MarkCond[], b: MarkCond): boolean {
  const fx = markFixed(as);
  if (!fx) return true; // empty
  if (!b.negated) return ((fx.mask & b.mask) >>> 0) === b.mask >>> 0 && ((fx.value & b.mask) >>> 0) === b.value >>> 0;
  if ((((fx.value ^ b.value) & fx.mask & b.mask) >>> 0) !== 0) return true;
  return as.some((a) => a.negated && ((a.mask & ~b.mask) >>> 0) === 0 && ((b.value & a.mask) >>> 0) === a.value >>> 0);
}

function setIn(a: IntervalSet | undefined, b: IntervalSet | undefined, max: bigint): boolean {
  if (!b) return true;
  return subset(a ?? [[0n, max]], b);
}

/** Every packet in `a` is in `b`. False whenever `b` has a match we do not model. */
export function spaceWithin(a: Space, b: Space, family: 'ip' | 'ip6'): boolean {
  if (b.unknown.length || b.empty) return false;
  if (a.empty) return true;
  if (b.nfproto && a.nfproto !== b.nfproto) return false;
  if (a.nfproto) family = a.nfproto;
  const amax = family === 'ip' ? 0xffffffffn : (1n << 128n) - 1n;
  if (!setIn(a.proto, b.proto, 255n)) return false;
  if (!setIn(a.dport, b.dport, 65535n)) return false;
  if (!setIn(a.sport, b.sport, 65535n)) return false;
  if (!setIn(a.src, b.src, amax)) return false;
  if (!setIn(a.dst, b.dst, amax)) return false;
  if (!setIn(a.uid, b.uid, OWNER_MAX)) return false;
  if (!setIn(a.gid, b.gid, OWNER_MAX)) return false;
  for (const c of b.iif) if (!ifImplies(a.iif, c)) return false;
  for (const c of b.oif) if (!ifImplies(a.oif, c)) return false;
  for (const c of b.mark) if (!markImplies(a.mark, c)) return false;
  for (const c of b.ctmark) if (!markImplies(a.ctmark, c)) return false;
  if (b.ctstate !== undefined && ((a.ctstate ?? ALL_STATES) & ~b.ctstate) !== 0) return false;
  return true;
}

/** Bits of the packet mark and ct mark a space tests. */
export function testedBits(s: Space): { mark: number; ctmark: number } {
  let mark = 0, ctmark = 0;
  for (const c of s.mark) mark = (mark | c.mask) >>> 0;
  for (const c of s.ctmark) ctmark = (ctmark | c.mask) >>> 0;
  return { mark, ctmark };
}

// ------------------------------------------------------------------ concrete packets

export interface ConcretePacket {
  src: bigint;
  dst: bigint;
  proto: number;
  sport?: number;
  dport?: number;
  iif?: string;
  oif?: string;
  mark: number;
  ctmark: number;
  ctstate: (typeof CT_STATES)[number];
  /** Socket owner (undefined: no socket). */
  uid?: bigint;
  gid?: bigint;
}

function ifMatch(name: string | undefined, c: IfaceCond): boolean {
  const hit = name !== undefined && (c.wildcard ? name.startsWith(c.name) : name === c.name);
  return c.negated ? !hit : hit;
}

/** Does the packet lie in the space? undefined when an unmodelled match decides. */
export function spaceHas(s: Space, p: ConcretePacket): boolean | undefined {
  if (s.empty) return false;
  const inSet = (set: IntervalSet | undefined, x: number | bigint | undefined) => !set || (x !== undefined && hasPoint(set, BigInt(x)));
  const ok = inSet(s.uid, p.uid ?? NO_SOCKET) && inSet(s.gid, p.gid ?? NO_SOCKET) && inSet(s.src, p.src) && inSet(s.dst, p.dst) && inSet(s.proto, p.proto) && inSet(s.sport, p.sport) && inSet(s.dport, p.dport)
    && s.iif.every((c) => ifMatch(p.iif, c)) && s.oif.every((c) => ifMatch(p.oif, c))
    && s.mark.every((c) => (((p.mark & c.mask) >>> 0) === c.value >>> 0) !== c.negated)
    && s.ctmark.every((c) => (((p.ctmark & c.mask) >>> 0) === c.value >>> 0) !== c.negated)
    && (s.ctstate === undefined || (s.ctstate & (1 << CT_STATES.indexOf(p.ctstate))) !== 0);
  if (!ok) return false;
  return s.unknown.length ? undefined : true;
}

// ------------------------------------------------------------------ nft rules

/** Statements that never stop a rule and change nothing the space models. */
const NFT_QUIET = new Set(['counter', 'log', 'notrack', 'nftrace-set', 'priority-set', 'ip-dscp-set', 'ip6-dscp-set', 'ip-ttl-set', 'ip6-hoplimit-set', 'mark-set', 'ct-mark-set']);
/** Statements that end the rule's evaluation with a verdict. */
const NFT_FINAL = new Set(['reject', 'dnat', 'snat', 'masquerade', 'redirect', 'queue', 'tproxy', 'synproxy']);

const CT_STATE_NAMES: Record<string, number> = { new: 0, established: 1, related: 2, invalid: 3, untracked: 4 };

function nftWords(right: string): string[] {
  return right.replace(/^\{|\}$/g, '').split(/[\s,]+/).map((x) => x.replace(/^"|"$/g, '')).filter(Boolean);
}

/** The match space of an nftables rule. */
export function nftRuleSpace(rule: Rule): Space {
  const s: Space = { iif: [], oif: [], mark: [], ctmark: [], unknown: [], empty: false };
  const last = rule.actions[rule.actions.length - 1];
  for (const a of rule.actions) {
    // A statement reading a map (`dnat to numgen ... map { }`, `@m`) stops the rule when the key is missing.
    if (a.kind === 'extension' && /\bmap\b|@/.test(a.text ?? '')) { s.unknown.push(a.text ?? a.name); continue; }
    if (a === last && (a.kind !== 'extension' || NFT_FINAL.has(a.name))) continue;
    if (a.kind === 'extension' && (NFT_QUIET.has(a.name) || NFT_FINAL.has(a.name))) continue;
    s.unknown.push(a.text ?? a.name); // limit, quota, ct count ... may stop the rule
  }
  for (const m of rule.matches) {
    const n = m.nft;
    if (!n || m.options.length !== 1) { s.unknown.push(n ? `${n.left} ${n.op} ${n.right}` : m.module); continue; }
    // Read by module, option name and typed values (the builder's), not by re-parsing the text.
    const o = m.options[0];
    const key = `${m.module} ${o.name}`;
    const neg = o.negated || n.op === '!=';
    const plain = n.op === '==' || n.op === 'implicit' || n.op === 'in' || n.op === '!=';
    const words = o.values.map((v) => (v.kind === 'string' ? v.value : v.text));
    const unk = () => s.unknown.push(`${n.left} ${n.op} ${n.right}`);
    if (!plain || n.setRef || !words.length || words.some((w) => w.startsWith('@') || w.startsWith('$'))) {
      // `meta mark and M == V` arrives with op "==" too; anything else is not modelled.
      if (!(key === 'meta mark' || key === 'ct mark')) { unk(); continue; }
    }
    let x: RegExpExecArray | null;
    if ((x = /^(ip6?) (saddr|daddr)$/.exec(key))) {
      const fam = x[1] as 'ip' | 'ip6';
      if (s.nfproto && s.nfproto !== fam) { s.empty = true; continue; }
      s.nfproto = fam;
      const parts: IntervalSet = [];
      let ok = true;
      for (const v of o.values) {
        if (v.kind === 'address' && !v.hostname && v.family === fam) { const c = cidrSet(`${v.addr}/${v.prefix}`, fam); if (c) { parts.push(...c); continue; } }
        const w = v.kind === 'string' ? v.value : v.text;
        const dash = w.indexOf('-');
        if (dash > 0 && !w.includes('/')) {
          const lo = parseAddress(w.slice(0, dash)), hi = parseAddress(w.slice(dash + 1));
          if (!lo || !hi || lo.family !== fam || hi.family !== fam || lo.n > hi.n) { ok = false; break; }
          parts.push([lo.n, hi.n]);
          continue;
        }
        const c = cidrSet(w, fam);
        if (!c) { ok = false; break; }
        parts.push(...c);
      }
      if (!ok || !parts.length) { unk(); continue; }
      let set = norm(parts);
      if (neg) set = complement(set, fam === 'ip' ? 0xffffffffn : (1n << 128n) - 1n);
      if (x[2] === 'saddr') s.src = and(s.src, set); else s.dst = and(s.dst, set);
      continue;
    }
    if ((x = /^(tcp|udp|sctp|dccp|udplite|th) (sport|dport)$/.exec(key))) {
      const parts: IntervalSet = [];
      let ok = true;
      for (const v of o.values) {
        if (v.kind === 'number') { parts.push([BigInt(v.value), BigInt(v.value)]); continue; }
        if (v.kind === 'number-range' || v.kind === 'port') { parts.push([BigInt(v.from), BigInt(v.to)]); continue; }
        const w = v.kind === 'string' ? v.value : v.text;
        const r = /^(\d+)(?:-(\d+))?$/.exec(w);
        const single = r ? undefined : SERVICES[w];
        if (!r && single === undefined) { ok = false; break; }
        const lo = r ? Number(r[1]) : single!, hi = r ? Number(r[2] ?? r[1]) : single!;
        if (lo > hi || hi > 65535) { ok = false; break; }
        parts.push([BigInt(lo), BigInt(hi)]);
      }
      if (!ok || !parts.length) { unk(); continue; }
      let set = norm(parts);
      if (neg) set = complement(set, 65535n);
      if (x[2] === 'dport') s.dport = and(s.dport, set); else s.sport = and(s.sport, set);
      if (x[1] !== 'th') { const p = BigInt(protoNum(x[1])!); s.proto = and(s.proto, [[p, p]]); }
      continue;
    }
    if (key === 'meta l4proto' || key === 'ip protocol' || key === 'ip6 nexthdr') {
      const nums = words.map(protoNum);
      if (nums.some((v) => v === undefined)) { unk(); continue; }
      let set = norm(nums.map((v) => [BigInt(v!), BigInt(v!)] as [bigint, bigint]));
      if (neg) set = complement(set, 255n);
      s.proto = and(s.proto, set);
      if (key !== 'meta l4proto') {
        const fam = key.startsWith('ip6') ? 'ip6' : 'ip';
        if (s.nfproto && s.nfproto !== fam) s.empty = true;
        s.nfproto = fam;
      }
      continue;
    }
    if (key === 'meta iifname' || key === 'meta oifname') {
      if (words.length !== 1) { unk(); continue; }
      const w = words[0];
      const c: IfaceCond = w.endsWith('*') ? { name: w.slice(0, -1), wildcard: true, negated: neg } : { name: w, wildcard: false, negated: neg };
      (key === 'meta iifname' ? s.iif : s.oif).push(c);
      continue;
    }
    if (key === 'ct state') {
      let bits = 0;
      let ok = true;
      for (const w of words.flatMap((x) => x.split(','))) {
        const i = CT_STATE_NAMES[w.trim().toLowerCase()];
        if (i === undefined) { ok = false; break; }
        bits |= 1 << i;
      }
      if (!ok) { unk(); continue; }
      if (neg) bits = ALL_STATES & ~bits;
      s.ctstate = (s.ctstate ?? ALL_STATES) & bits;
      continue;
    }
    if ((key === 'meta mark' || key === 'ct mark') && (n.op === '==' || n.op === 'implicit' || n.op === '!=')) {
      const am = /(?:\band|&)\s*(0x[0-9a-fA-F]+|\d+)\s*$/.exec(o.flag || n.left); // nft lists `and` as `&`
      const mask = am ? Number(am[1]) >>> 0 : 0xffffffff;
      const v = o.values[0];
      const val = v?.kind === 'mark' || v?.kind === 'number' ? v.value >>> 0 : /^(0x[0-9a-fA-F]+|\d+)$/.test(words[0] ?? '') ? Number(words[0]) >>> 0 : undefined;
      if (val === undefined || o.values.length !== 1 || (!am && /\b(and|or|xor)\b|[&|^]/.test(o.flag || n.left))) { unk(); continue; }
      (key === 'ct mark' ? s.ctmark : s.mark).push({ value: val, mask, negated: neg });
      continue;
    }
    unk();
  }
  for (const set of [s.src, s.dst, s.proto, s.sport, s.dport]) if (set && set.length === 0) s.empty = true;
  if (s.ctstate === 0) s.empty = true;
  if (markFixed(s.mark) === undefined || markFixed(s.ctmark) === undefined) s.empty = true;
  return s;
}

// ------------------------------------------------------------------ covered by several rules

type Dim = 'src' | 'dst' | 'proto' | 'sport' | 'dport' | 'uid' | 'gid';
const DIMS: Dim[] = ['proto', 'dport', 'sport', 'src', 'dst', 'uid', 'gid'];
export type Box = Record<Dim, IntervalSet>;

function dimMax(d: Dim, family: 'ip' | 'ip6'): bigint {
  if (d === 'proto') return 255n;
  if (d === 'sport' || d === 'dport') return 65535n;
  if (d === 'uid' || d === 'gid') return OWNER_MAX;
  return family === 'ip' ? 0xffffffffn : (1n << 128n) - 1n;
}

export function boxOf(s: Space, family: 'ip' | 'ip6'): Box {
  const b = {} as Box;
  for (const d of DIMS) b[d] = s[d] ?? [[0n, dimMax(d, family)]];
  return b;
}

/** a \ b as disjoint boxes (at most one per dimension). */
export function boxMinus(a: Box, b: Box, family: 'ip' | 'ip6'): Box[] {
  const out: Box[] = [];
  const prefix = { ...a };
  for (const d of DIMS) {
    const outside = intersect(a[d], complement(b[d], dimMax(d, family)));
    if (outside.length) out.push({ ...prefix, [d]: outside });
    const inside = intersect(a[d], b[d]);
    if (!inside.length) return [a]; // disjoint: nothing of a is removed
    prefix[d] = inside;
  }
  return out;
}

/** Does `b` hold for every packet of `a` in all but the interval dimensions (interfaces, marks, ct state, family)? */
export function withinExceptBox(a: Space, b: Space, family: 'ip' | 'ip6'): boolean {
  const strip = (s: Space): Space => ({ ...s, src: undefined, dst: undefined, proto: undefined, sport: undefined, dport: undefined, uid: undefined, gid: undefined });
  return spaceWithin(strip(a), strip(b), family) && (!b.nfproto || a.nfproto === b.nfproto);
}
