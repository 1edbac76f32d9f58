// nftables expressions and statements for the walk: the common payload/meta/ct matches, named and
// anonymous sets, verdict maps, mark arithmetic (`meta mark set ct mark and 0x3`) and NAT statements.
// Anything else is "unknown" with the expression's text, never guessed.
import type { Action, Match, Table } from '../model/ruleset';
import { hex, markMatches, parseU32 } from '../knowledge/marks';
import { inCidr, inRange, parseAddr, parseCidr } from './addr';
import { isLocalAddr, type Tri } from './match';
import { parseIcmpType, protoNumber } from './option-values';
import type { WalkPacket } from './state';
import type { TargetResult } from './targets';
import { natRewrite } from './targets';

const U = (reason: string): Tri => ({ unknown: reason });

function unquote(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}

/** The items of a right-hand side: `{ a, b }`, `a,b`, `a`, or a named set's elements. */
export function items(right: string, setRef: string | undefined, table: Table | undefined, p: WalkPacket): string[] | { unknown: string } {
  if (setRef) {
    const given = p.sets[setRef];
    if (given) return given;
    const set = table?.sets.find((s) => s.name === setRef);
    if (!set) return { unknown: `set @${setRef} is not defined here` };
    if (!set.elements.length && (set.flags ?? []).some((f) => f === 'dynamic' || f === 'timeout')) {
      return { unknown: `set @${setRef} is filled at run time (add "set ${setRef}=..." to the packet)` };
    }
    if (!set.elements.length) return { unknown: `set @${setRef} has no elements in this file (add "set ${setRef}=..." to the packet)` };
    let texts = setTexts.get(set);
    if (!texts || texts.length !== set.elements.length) setTexts.set(set, (texts = set.elements.map((e) => e.text)));
    return texts;
  }
  let list = anonItems.get(right);
  if (!list) {
    let r = right.trim();
    if (r.startsWith('{') && r.endsWith('}')) r = r.slice(1, -1);
    list = r.split(',').map((x) => unquote(x.trim())).filter(Boolean);
    if (anonItems.size >= 1024) anonItems.clear();
    anonItems.set(right, list);
  }
  return list;
}

// Read-only item lists, made once per set rather than on every evaluation (a million-element set
// cost a second per walk).
const setTexts = new WeakMap<object, string[]>();
const anonItems = new Map<string, string[]>();

const STATES = new Set(['new', 'established', 'related', 'invalid', 'untracked']);

export type Key =
  | { k: 'mark'; mask: number } | { k: 'ctmark'; mask: number } | { k: 'ifname'; which: 'iif' | 'oif' }
  | { k: 'addr'; which: 'src' | 'dst'; family: 'ip' | 'ip6' } | { k: 'port'; which: 'sport' | 'dport'; proto?: string }
  | { k: 'l4proto' } | { k: 'ctstate' } | { k: 'ctdir' } | { k: 'ctzone' } | { k: 'uid' } | { k: 'gid' } | { k: 'nfproto' }
  | { k: 'icmptype'; v6: boolean } | { k: 'fibtype'; which: 'src' | 'dst' };

export function parseKey(left: string): Key | { unknown: string } {
  let l = left.trim().replace(/^meta (?=mark|iifname|oifname|iif|oif|l4proto|skuid|skgid|nfproto)/, '');
  let mask = 0xffffffff;
  const m = /^(.*?)\s*(?:&|and)\s*(0x[0-9a-fA-F]+|\d+)$/.exec(l);
  if (m) { const v = parseU32(m[2]); if (v === undefined) return { unknown: `cannot read mask in "${left}"` }; mask = v; l = m[1]; }
  switch (l) {
    case 'mark': return { k: 'mark', mask };
    case 'ct mark': return { k: 'ctmark', mask };
    case 'iifname': case 'iif': return { k: 'ifname', which: 'iif' };
    case 'oifname': case 'oif': return { k: 'ifname', which: 'oif' };
    case 'ip saddr': return { k: 'addr', which: 'src', family: 'ip' };
    case 'ip daddr': return { k: 'addr', which: 'dst', family: 'ip' };
    case 'ip6 saddr': return { k: 'addr', which: 'src', family: 'ip6' };
    case 'ip6 daddr': return { k: 'addr', which: 'dst', family: 'ip6' };
    case 'l4proto': case 'ip protocol': case 'ip6 nexthdr': return { k: 'l4proto' };
    case 'ct state': return { k: 'ctstate' };
    case 'ct direction': return { k: 'ctdir' };
    case 'ct zone': return { k: 'ctzone' };
    case 'skuid': return { k: 'uid' };
    case 'skgid': return { k: 'gid' };
    case 'nfproto': return { k: 'nfproto' };
    case 'icmp type': return { k: 'icmptype', v6: false };
    case 'icmpv6 type': return { k: 'icmptype', v6: true };
    case 'fib daddr type': return { k: 'fibtype', which: 'dst' };
    case 'fib saddr type': return { k: 'fibtype', which: 'src' };
  }
  const pm = /^(tcp|udp|udplite|sctp|dccp|th) (sport|dport)$/.exec(l);
  if (pm) return { k: 'port', which: pm[2] as 'sport' | 'dport', proto: pm[1] === 'th' ? undefined : pm[1] };
  return { unknown: `nft expression "${left}" is not modelled` };
}

/** Does the packet's value for `key` equal one item (sets and ranges included)? */
function holds(key: Key, its: string[], p: WalkPacket): Tri {
  switch (key.k) {
    case 'mark': case 'ctmark': {
      if (key.k === 'ctmark' && p.ct !== 'tracked' && p.ct !== 'template') return false;
      const have = key.k === 'mark' ? p.mark : p.ct === 'template' ? 0 : p.ctmark;
      for (const it of its) {
        const r = /^(\S+?)-(\S+)$/.exec(it);
        if (r) {
          const a = parseU32(r[1]), b = parseU32(r[2]);
          if (a === undefined || b === undefined) return U(`cannot read "${it}"`);
          const v = (have & key.mask) >>> 0;
          if (v >= a && v <= b) return true;
          continue;
        }
        const v = parseU32(it);
        if (v === undefined) return U(`cannot read mark "${it}"`);
        if (markMatches(have, v, key.mask)) return true;
      }
      return false;
    }
    case 'ifname': {
      const name = key.which === 'iif' ? p.iif : p.oif;
      if (name === undefined) return false;
      return its.some((it) => (it.endsWith('*') ? name.startsWith(it.slice(0, -1)) : name === it));
    }
    case 'addr': {
      if (p.family !== key.family) return false;
      const a = parseAddr(key.which === 'src' ? p.src : p.dst);
      if (!a) return U('cannot read the packet address');
      for (const it of its) {
        const dash = it.indexOf('-');
        if (dash > 0 && !it.includes('/')) {
          const A = parseAddr(it.slice(0, dash)), B = parseAddr(it.slice(dash + 1));
          if (!A || !B) return U(`cannot read "${it}"`);
          if (inRange(a, A, B)) return true;
          continue;
        }
        const c = parseCidr(it);
        if (!c) return U(`"${it}" is not an address`);
        if (inCidr(a, c)) return true;
      }
      return false;
    }
    case 'port': {
      if (key.proto && p.proto !== key.proto) return false;
      const port = p[key.which];
      if (port === undefined) return false;
      for (const it of its) {
        const r = /^(\d+)(?:-(\d+))?$/.exec(it);
        if (!r) return U(`cannot read port "${it}" (service names are not resolved)`);
        if (port >= Number(r[1]) && port <= Number(r[2] ?? r[1])) return true;
      }
      return false;
    }
    case 'l4proto': {
      const have = protoNumber(p.proto);
      for (const it of its) {
        const n = protoNumber(it);
        if (n === undefined) return U(`unknown protocol "${it}"`);
        if (n === have) return true;
      }
      return false;
    }
    case 'ctstate': {
      const have = p.ct === 'untracked' ? 'untracked' : p.ct === 'none' ? 'invalid' : p.ct === 'template' ? 'new' : p.ctState;
      for (const it of its) if (!STATES.has(it.toLowerCase())) return U(`unknown ct state "${it}"`);
      return its.some((it) => it.toLowerCase() === have);
    }
    case 'ctdir':
      if (p.ct !== 'tracked' && p.ct !== 'template') return false;
      return its.includes(p.ct === 'template' ? 'original' : p.ctDir);
    case 'ctzone':
      if (p.ct === 'none' || p.ct === 'untracked') return false;
      return its.some((it) => parseU32(it) === (p.zoneRequested ?? p.ctZone));
    case 'uid': case 'gid': {
      if (!p.local) return false;
      const id = key.k === 'uid' ? p.uid : p.gid;
      if (id === undefined) return U(`the socket's ${key.k} is not given (add "${key.k} N" to the packet)`);
      for (const it of its) {
        const r = /^(\d+)(?:-(\d+))?$/.exec(it);
        if (!r) return U(`user/group names are not resolved ("${it}")`);
        if (id >= Number(r[1]) && id <= Number(r[2] ?? r[1])) return true;
      }
      return false;
    }
    case 'nfproto':
      return its.some((it) => (it === 'ipv4' && p.family === 'ip') || (it === 'ipv6' && p.family === 'ip6'));
    case 'icmptype': {
      if (p.proto !== (key.v6 ? 'icmpv6' : 'icmp') || p.icmpType === undefined) return false;
      for (const it of its) {
        const t = parseIcmpType(it, key.v6);
        if (!t || t.type === undefined) return U(`unknown ICMP type "${it}"`);
        if (t.type === p.icmpType) return true;
      }
      return false;
    }
    case 'fibtype': {
      const a = parseAddr(key.which === 'src' ? p.src : p.dst);
      if (!a) return U('cannot read the packet address');
      const local = isLocalAddr(a, p.hostAddrs);
      for (const it of its) {
        if (it === 'local') { if (local) return true; continue; }
        if (it === 'unicast') { if (!local) return true; continue; }
        return U(`fib type "${it}" depends on the routing tables`);
      }
      return false;
    }
  }
}

export function evalNftMatch(m: Match, p: WalkPacket, table: Table | undefined): Tri {
  const n = m.nft!;
  const key = parseKey(n.left);
  if ('unknown' in key) return key;
  if (n.op === '&') return U(`"${n.left} ${n.right}" (a flag test) is not modelled`);
  const its = items(n.right, n.setRef, table, p);
  if (!Array.isArray(its)) return its;
  if (n.op === '<' || n.op === '>' || n.op === '<=' || n.op === '>=') {
    if (key.k !== 'port' && key.k !== 'mark' && key.k !== 'ctmark') return U(`comparison on "${n.left}" is not modelled`);
    const have = key.k === 'port' ? p[key.which] : key.k === 'mark' ? (p.mark & key.mask) >>> 0 : (p.ctmark & key.mask) >>> 0;
    const v = parseU32(its[0] ?? '');
    if (have === undefined || v === undefined) return key.k === 'port' && have === undefined ? false : U('cannot compare');
    if (key.k === 'port' && key.proto && p.proto !== key.proto) return false;
    return n.op === '<' ? have < v : n.op === '>' ? have > v : n.op === '<=' ? have <= v : have >= v;
  }
  const r = holds(key, its, p);
  if (typeof r === 'object') return r;
  if (n.op !== '!=') return r;
  // Without the field (no conntrack, no socket, another protocol) nft's expression breaks the rule: no match either way.
  if ((key.k === 'ctmark' || key.k === 'ctdir' || key.k === 'ctzone') && p.ct !== 'tracked' && p.ct !== 'template') return false;
  if ((key.k === 'uid' || key.k === 'gid') && !p.local) return false;
  if (key.k === 'port' && ((key.proto && p.proto !== key.proto) || p[key.which] === undefined)) return false;
  if (key.k === 'addr' && p.family !== key.family) return false;
  if (key.k === 'ifname' && (key.which === 'iif' ? p.iif : p.oif) === undefined) return false;
  return !r;
}

/** `mark or 0x200`, `ct mark and 0x3`, `0x10`, `mark & 0xff00 | 0x1`: left to right, as nft writes them. */
export function evalMarkExpr(text: string, p: WalkPacket): number | undefined {
  const toks = text.replace(/\(|\)/g, ' ').trim().split(/\s+/);
  let i = 0;
  const term = (): number | undefined => {
    const t = toks[i++];
    if (t === 'mark') return p.mark;
    if (t === 'meta' && toks[i] === 'mark') { i++; return p.mark; }
    if (t === 'ct' && toks[i] === 'mark') { i++; return p.ct === 'tracked' ? p.ctmark : 0; }
    return t === undefined ? undefined : parseU32(t);
  };
  let v = term();
  while (v !== undefined && i < toks.length) {
    const op = toks[i++];
    const r = term();
    if (r === undefined) return undefined;
    if (op === 'and' || op === '&') v = (v & r) >>> 0;
    else if (op === 'or' || op === '|') v = (v | r) >>> 0;
    else if (op === 'xor' || op === '^') v = (v ^ r) >>> 0;
    else return undefined;
  }
  return v;
}

type VmapEntry = NonNullable<Action['vmap']>['entries'][number];

/** The verdict map element the packet selects; undefined when none does (the rule then does not match). */
export function vmapChoice(a: Action, p: WalkPacket, table: Table | undefined): VmapEntry | undefined | { unknown: string } {
  const key = parseKey(a.vmap?.key ?? '');
  if ('unknown' in key) return key;
  for (const e of a.vmap?.entries ?? []) {
    const its = items(e.key, undefined, table, p);
    if (!Array.isArray(its)) return its;
    const r = holds(key, its, p);
    if (typeof r === 'object') return r;
    if (r) return e;
  }
  return undefined;
}

export type NftEffect = TargetResult | { effect: 'jump' | 'goto'; chain: string; note?: string } | { effect: 'return' | 'verdict-continue'; note?: string };

/** What one nft statement (an `extension` action of an nft rule) does. */
export function applyNftStatement(a: Action, p: WalkPacket, table: Table | undefined): NftEffect {
  const text = a.text ?? a.name;
  const valueText = () => a.options.find((o) => o.name === 'value')?.values.map((v) => v.text).join(' ') ?? text.replace(/^.*?\bset\s+/, '');
  switch (a.name) {
    case 'counter': case 'log': case 'nftrace-set': case 'set-add': case 'set-update': case 'set-delete': case 'comment':
      return { effect: 'continue' };
    case 'limit': case 'quota': case 'meter':
      // Decided as an unknown match by evalRule: reaching here means the walk took the "within limit" branch.
      return { effect: 'continue' };
    case 'mark-set': {
      const v = evalMarkExpr(valueText(), p);
      if (v === undefined) return { effect: 'unknown', reason: `cannot evaluate "${text}"` };
      const before = p.mark;
      p.mark = v;
      return { effect: 'continue', note: `mark ${hex(before)} -> ${hex(v)}` };
    }
    case 'ct-mark-set': {
      if (p.ct !== 'tracked') return { effect: 'continue', note: 'no conntrack entry: the ct mark is not changed' };
      const v = evalMarkExpr(valueText(), p);
      if (v === undefined) return { effect: 'unknown', reason: `cannot evaluate "${text}"` };
      const before = p.ctmark;
      p.ctmark = v;
      return { effect: 'continue', note: `ct mark ${hex(before)} -> ${hex(v)}` };
    }
    case 'ct-zone-set': {
      const z = parseU32(valueText());
      if (z === undefined) return { effect: 'unknown', reason: `cannot read "${text}"` };
      if (p.ct !== 'none') return { effect: 'continue', note: 'the packet already has conntrack: no effect' };
      p.ct = 'template';
      p.zoneRequested = z;
      return { effect: 'continue', note: `conntrack zone ${z}` };
    }
    case 'notrack':
      if (p.ct === 'none') p.ct = 'untracked';
      return { effect: 'continue', note: 'the packet will not be tracked' };
    case 'reject': return { effect: 'reject' };
    case 'dnat': case 'snat': case 'redirect': case 'masquerade': {
      const to = /\bto\s+(\S+)/.exec(text)?.[1];
      return natRewrite(a.name.toUpperCase() as 'DNAT' | 'SNAT' | 'REDIRECT' | 'MASQUERADE', to, p);
    }
    case 'vmap': {
      const e = vmapChoice(a, p, table);
      if (e === undefined) return { effect: 'continue', note: 'vmap: no element matches' };
      if ('unknown' in e) return { effect: 'unknown', reason: e.unknown };
      {
        const note = `vmap: ${e.key} -> ${e.verdict}${e.chain ? ' ' + e.chain : ''}`;
        switch (e.verdict) {
          case 'accept': return { effect: 'accept', note };
          case 'drop': return { effect: 'drop', note };
          case 'jump': case 'goto': return { effect: e.verdict, chain: e.chain!, note };
          case 'return': return { effect: 'return', note };
          case 'continue': return { effect: 'verdict-continue', note };
          case 'queue': return { effect: 'queue', note };
        }
        return { effect: 'unknown', reason: `verdict "${e.verdict}"` };
      }
    }
  }
  return { effect: 'unknown', reason: `nft statement "${text}" is not modelled` };
}
