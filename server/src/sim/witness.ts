// A witness: a packet that satisfies one rule's own matches, proposed by the "Simulate packet from
// here" code lens. Built option by option from the model, then checked by walking from the rule: the
// result says whether the rule really matches it (exact) or which option could not be satisfied.
import type { Match, Option, Ruleset } from '../model/ruleset';
import { parseU32 } from '../knowledge/marks';
import { items, parseKey } from './nft-eval';
import { formatAddr, inCidr, parseAddr, parseCidr, type Cidr } from './addr';
import { evalRule } from './match';
import {
  asCidr, asInterface, asList, interfaceMatches, asMark, asNumberRange, asPorts, isBuiltinOption, optionName, parseIcmpType, portIn, valueText,
  type PortRange,
} from './option-values';
import { formatPacket, type CtState, type Packet } from './packet';
import { initialState } from './state';
import { pathTo, walk, type StartPoint } from './walk';

export interface Witness {
  packet: Packet;
  text: string;
  /** The walk from the rule matches it. */
  exact: boolean;
  /** What could not be satisfied or decided. */
  notes: string[];
}

const OUTSIDE_ADDRS = ['192.0.2.10', '198.51.100.10', '203.0.113.10'];
const OUTSIDE_ADDRS6 = ['2001:db8::10', '2001:db8:1::10'];

function addrIn(c: Cidr): string {
  const max = c.family === 'ip' ? 32 : 128;
  // A host address inside the prefix (not the network address when the prefix leaves room).
  const n = c.prefix <= max - 2 ? c.n + 1n : c.n;
  return formatAddr({ family: c.family, n });
}

function addrOutside(cs: Cidr[], family: 'ip' | 'ip6'): string | undefined {
  for (const a of family === 'ip' ? OUTSIDE_ADDRS : OUTSIDE_ADDRS6) {
    const pa = parseAddr(a)!;
    if (!cs.some((c) => inCidr(pa, c))) return a;
  }
  return undefined;
}

function portOutside(r: PortRange[]): number | undefined {
  for (const p of [40000, 50000, 1024, 12345, 65535, 1]) if (!portIn(p, r)) return p;
  return undefined;
}

function otherName(pat: { name: string; wildcard: boolean }): string {
  return ['eth9', 'ens9', 'veth9', 'wlan9'].find((c) => !interfaceMatches(c, pat))!;
}

export function witnessFor(rs: Ruleset, start: StartPoint, base?: Partial<Packet>): Witness {
  const notes: string[] = [];
  const table = rs.tables.find((t) => t.name === start.table && (start.family === undefined || t.family === start.family));
  const chain = table?.chains.find((c) => c.name === start.chain);
  const rule = chain?.rules[start.ruleIndex];
  const family: 'ip' | 'ip6' = rs.family === 'ip6' || table?.family === 'ip6' ? 'ip6' : 'ip';
  const path = table && chain ? pathTo(rs, table, chain, family) : undefined;
  const hook = path?.base.chain.hook ?? 'prerouting';
  const p: Packet = {
    family,
    proto: 'tcp',
    src: family === 'ip' ? '10.0.0.2' : '2001:db8:a::2',
    dst: family === 'ip' ? '10.0.1.2' : '2001:db8:b::2',
    sport: 40000,
    dport: 80,
    tcpFlags: ['SYN'],
    mark: 0,
    ctmark: 0,
    ctState: 'new',
    ctDir: 'original',
    ctZone: 0,
    local: hook === 'output',
    host: [],
    sets: {},
    ...base,
  };
  if (!p.local) p.iif = p.iif ?? 'eth0';
  if (hook === 'input') p.host = [...p.host, p.dst];
  if (hook === 'forward' || hook === 'postrouting') p.oif = p.oif ?? 'eth1';
  if (!rule) {
    notes.push(chain ? 'no rule there: the packet is a default one' : `no chain ${start.chain} in table ${start.table}`);
    return finish();
  }
  const protoOpt = rule.matches.flatMap((m) => m.options).find((o) => optionName(o) === 'protocol' && (isBuiltinOption(o)));
  const setProto = (name: string) => {
    p.proto = name;
    if (['tcp', 'udp', 'sctp', 'udplite', 'dccp'].includes(name)) { p.sport ??= 40000; p.dport ??= 80; } else { delete p.sport; delete p.dport; }
    p.tcpFlags = name === 'tcp' ? ['SYN'] : [];
    if (name === 'icmp' || name === 'icmpv6') { p.icmpType = name === 'icmp' ? 8 : 128; p.icmpCode = 0; } else { delete p.icmpType; delete p.icmpCode; }
  };
  if (protoOpt?.values[0]) {
    const t = valueText(protoOpt.values[0]).toLowerCase();
    if (protoOpt.negated) setProto(t === 'tcp' ? 'udp' : 'tcp');
    else if (t !== 'all' && t !== '0') setProto(/^\d+$/.test(t) ? ({ 6: 'tcp', 17: 'udp', 1: 'icmp' } as Record<string, string>)[t] ?? t : t);
  }
  for (const m of rule.matches) {
    if (m.nft) { applyNft(m); continue; }
    if (m.module !== '' && ['tcp', 'udp', 'sctp', 'udplite', 'dccp'].includes(m.module) && p.proto !== m.module) setProto(m.module);
    if ((m.module === 'icmp' || m.module === 'icmp6') && !p.proto.startsWith('icmp')) setProto(m.module === 'icmp' ? 'icmp' : 'icmpv6');
    for (const o of m.options) apply(m.module, o);
  }
  return finish();

  /** nft expressions: the packet takes the first value the right side allows (or avoids it for !=). */
  function applyNft(m: Match) {
    const n = m.nft!;
    const key = parseKey(n.left);
    if ('unknown' in key) { notes.push(key.unknown); return; }
    const its = items(n.right, n.setRef, table, initialState(p));
    if (!Array.isArray(its)) {
      if (n.setRef && (key.k === 'addr')) p.sets = { ...p.sets, [n.setRef]: [key.which === 'src' ? p.src : p.dst] };
      else notes.push(its.unknown);
      return;
    }
    const neg = n.op === '!=';
    const first = its[0] ?? '';
    switch (key.k) {
      case 'mark': case 'ctmark': {
        const v = parseU32(first.split('-')[0]);
        if (v === undefined) return;
        let x = (v & key.mask) >>> 0;
        if (neg) x = (x ^ (key.mask & -key.mask)) >>> 0;
        if (key.k === 'mark') p.mark = x; else { p.ctmark = x; if (p.ctState === 'new' && x) p.ctState = 'established'; }
        return;
      }
      case 'ifname': {
        const pats = its.map((t) => (t.endsWith('*') ? { name: t.slice(0, -1), wildcard: true } : { name: t, wildcard: false }));
        const name = neg ? ['eth9', 'ens9', 'veth9', 'wlan9'].find((c) => !pats.some((q) => interfaceMatches(c, q)))! : pats[0].name + (pats[0].wildcard ? '0' : '');
        if (key.which === 'iif') { if (!p.local) p.iif = name; } else p.oif = name;
        return;
      }
      case 'addr': {
        const cs = its.map((t) => parseCidr(t.split('-')[0]));
        if (cs.some((c) => !c)) return;
        const a = neg ? addrOutside(cs as Cidr[], family) : addrIn(cs[0]!);
        if (!a) return;
        const old = p[key.which];
        p[key.which] = a;
        if (key.which === 'dst' && hook === 'input') p.host = [...p.host.filter((h) => h !== old), a];
        return;
      }
      case 'port': {
        if (key.proto && p.proto !== key.proto) setProto(key.proto);
        const r = its.map((t) => { const [a, b] = t.split('-'); return { from: Number(a), to: Number(b ?? a) }; });
        if (r.some((x) => Number.isNaN(x.from) || Number.isNaN(x.to))) return;
        let port: number | undefined;
        if (n.op === '>=' || n.op === '>') port = r[0].from + (n.op === '>' ? 1 : 0);
        else if (n.op === '<=' || n.op === '<') port = r[0].from - (n.op === '<' ? 1 : 0);
        else port = neg ? portOutside(r) : r[0].from;
        if (port !== undefined) p[key.which] = port;
        return;
      }
      case 'l4proto': {
        const pick = neg ? ['tcp', 'udp', 'icmp'].find((x) => !its.includes(x)) : first;
        if (pick) setProto(pick);
        return;
      }
      case 'ctstate': {
        const states = ['new', 'established', 'related', 'invalid', 'untracked'];
        const pick = neg ? states.find((x) => !its.includes(x)) : its.find((x) => states.includes(x));
        if (pick) { p.ctState = pick as CtState; if (p.proto === 'tcp') p.tcpFlags = pick === 'new' ? ['SYN'] : ['ACK']; }
        return;
      }
      case 'ctdir': {
        const d = neg ? (first === 'reply' ? 'original' : 'reply') : first;
        p.ctDir = d as 'original' | 'reply';
        if (p.ctState === 'new' && p.ctDir === 'reply') p.ctState = 'established';
        return;
      }
      case 'uid': case 'gid': {
        const v = Number(first.split('-')[0]);
        if (Number.isNaN(v)) return;
        p[key.k] = neg ? v + 1 : v;
        p.local = true;
        return;
      }
      case 'fibtype':
        if (first === 'local' && !neg) { const a = key.which === 'src' ? p.src : p.dst; if (!p.host.includes(a)) p.host = [...p.host, a]; }
        return;
      case 'icmptype': {
        const t = parseIcmpType(first, key.v6);
        if (!p.proto.startsWith('icmp')) setProto(key.v6 ? 'icmpv6' : 'icmp');
        if (t?.type !== undefined && !neg) { p.icmpType = t.type; p.icmpCode = 0; }
        return;
      }
    }
  }

  function apply(module: string, o: Option) {
    const name = optionName(o);
    const v0 = o.values[0];
    const neg = o.negated;
    const cidr = (which: 'src' | 'dst') => {
      const cs = o.values.length === 1 && o.values[0].kind === 'address' ? [asCidr(o.values[0])]
        : o.values.flatMap((v) => valueText(v).split(',')).map((t) => parseCidr(t));
      if (cs.some((c) => !c)) { notes.push(`${o.flag}: host names are not resolved`); return; }
      const good = cs as Cidr[];
      const a = neg ? addrOutside(good, family) : good[0] && good[0].family === family ? addrIn(good[0]) : undefined;
      if (a) {
        const old = p[which];
        p[which] = a;
        if (which === 'dst' && hook === 'input') p.host = [...p.host.filter((h) => h !== old), a];
      } else notes.push(`${o.flag}: no address found`);
    };
    if (isBuiltinOption(o) || module === '') {
      switch (name) {
        case 'source': return cidr('src');
        case 'destination': return cidr('dst');
        case 'in-interface': {
          if (!v0 || p.local) return;
          const pat = asInterface(v0);
          p.iif = neg ? otherName(pat) : pat.name + (pat.wildcard ? '0' : '');
          return;
        }
        case 'out-interface': {
          if (!v0) return;
          const pat = asInterface(v0);
          p.oif = neg ? otherName(pat) : pat.name + (pat.wildcard ? '0' : '');
          return;
        }
        case 'protocol': return;
      }
    }
    switch (module) {
      case 'tcp': case 'udp': case 'sctp': case 'udplite': case 'dccp': case 'multiport': {
        const r = v0 ? asPorts(v0) : undefined;
        if (name === 'tcp-flags' || name === 'syn') {
          const comp = name === 'syn' ? ['SYN'] : o.values[1] ? valueText(o.values[1]).toUpperCase().split(',').filter((f) => f !== 'NONE') : [];
          p.tcpFlags = neg ? (comp.includes('ACK') ? ['SYN'] : ['ACK']) : comp.includes('ALL') ? ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'] : comp;
          if (!p.tcpFlags.includes('SYN') || p.tcpFlags.includes('ACK')) p.ctState = p.ctState === 'new' ? 'established' : p.ctState;
          return;
        }
        if (!r) return void notes.push(`${o.flag}: cannot read the ports`);
        const port = neg ? portOutside(r) : Math.min(r[0].from, r[0].to);
        if (port === undefined) return void notes.push(`${o.flag}: no port outside`);
        if (name === 'sport' || name === 'source-port' || name === 'sports' || name === 'source-ports') p.sport = port;
        else p.dport = port;
        return;
      }
      case 'mark': case 'connmark': {
        const mm = v0 ? asMark(v0) : undefined;
        if (!mm) return;
        let v = mm.value & mm.mask;
        if (neg) v = mm.mask === 0 ? v : (v ^ (mm.mask & -mm.mask)) >>> 0;
        if (module === 'mark') p.mark = v >>> 0; else p.ctmark = v >>> 0;
        return;
      }
      case 'state': case 'conntrack': {
        if (name === 'state' || name === 'ctstate') {
          const states = ['NEW', 'ESTABLISHED', 'RELATED', 'INVALID', 'UNTRACKED'];
          const want = (v0 ? asList(v0) : []).map((s) => s.toUpperCase());
          const pick = neg ? states.find((s) => !want.includes(s)) : want.find((s) => states.includes(s));
          if (pick) {
            p.ctState = pick.toLowerCase() as CtState;
            if (p.proto === 'tcp') p.tcpFlags = p.ctState === 'new' ? ['SYN'] : ['ACK'];
          }
          return;
        }
        if (name === 'ctdir' && v0) { const d = valueText(v0).toLowerCase(); p.ctDir = (neg ? (d === 'reply' ? 'original' : 'reply') : d) as 'original' | 'reply'; if (p.ctState === 'new' && p.ctDir === 'reply') p.ctState = 'established'; }
        return;
      }
      case 'owner': {
        const r = v0 ? asNumberRange(v0) : undefined;
        if (!r) return;
        const id = neg ? (r.from > 0 ? r.from - 1 : r.to + 1) : r.from;
        if (name === 'uid-owner') p.uid = id;
        if (name === 'gid-owner') p.gid = id;
        p.local = true;
        return;
      }
      case 'addrtype': {
        const types = (v0 ? asList(v0) : []).map((t) => t.toUpperCase());
        const addr = name === 'src-type' ? p.src : p.dst;
        if (!neg && types.includes('LOCAL') && !p.host.includes(addr)) p.host = [...p.host, addr];
        if (neg && types.includes('LOCAL')) p.host = p.host.filter((h) => h !== addr);
        return;
      }
      case 'iprange': {
        const a = (v0 ? valueText(v0) : '').split('-')[0];
        if (!neg && parseAddr(a)) { if (name === 'src-range') p.src = a; else p.dst = a; }
        return;
      }
      case 'icmp': case 'icmp6': {
        const t = v0 ? parseIcmpType(valueText(v0), module === 'icmp6') : undefined;
        if (t && !t.any && !neg && t.type !== undefined) { p.icmpType = t.type; p.icmpCode = t.code ?? 0; }
        if (t && neg && t.type !== undefined) p.icmpType = t.type === 8 ? 0 : 8;
        return;
      }
      case 'set': {
        if (name !== 'match-set' || !v0) return;
        const dirs = o.values[1] ? asList(o.values[1]) : [];
        const addr = dirs[0] === 'dst' ? p.dst : p.src;
        p.sets = { ...p.sets, [valueText(v0)]: neg ? [] : [addr] };
        return;
      }
    }
  }

  function finish(): Witness {
    if (p.local) { delete p.iif; }
    let exact = false;
    if (rule && table && chain) {
      const s = initialState(p);
      s.hook = hook;
      s.ct = p.ctState === 'untracked' ? 'untracked' : p.ctState === 'invalid' ? 'none' : 'tracked';
      s.oif = p.oif ?? (hook === 'forward' || hook === 'postrouting' || hook === 'output' ? 'eth1' : undefined);
      const ev = evalRule(rule, s, table);
      exact = ev.result === 'match';
      if (ev.result === 'nomatch') notes.push(`the rule still fails at ${ev.failed}`);
      if (ev.result === 'unknown') notes.push(`undecidable: ${ev.reason}`);
      // The walk from the rule must see the same.
      const w = walk(rs, p, { from: start });
      const first = w.steps.find((x) => x.kind === 'rule');
      if (exact && first?.result !== 'match') { exact = false; notes.push('walking from the rule does not match it (state before the rule differs)'); }
    }
    return { packet: p, text: formatPacket(p), exact, notes };
  }
}
