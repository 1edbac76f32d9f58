// Set membership for `-m set --match-set NAME DIRS` (xt_set): does the packet's (address, port,
// interface ...) tuple, taken in the directions DIRS, belong to the set? `undefined` = cannot tell
// (a field the packet lacks, a set type we do not model, a list:set member that is not given).
import type { Ipset, IpsetMember } from '../model/ipset';
import { parseInetAddr, parseInetPrefix, prefixContains, prefixMask, type InetAddr, type InetPrefix } from '../model/routing';
import { ipprotoNumber } from '../syntax/iproute-parser';

export interface IpsetQuery {
  src?: string;
  dst?: string;
  /** Protocol name or number (ports are read only for tcp, udp, sctp, udplite). */
  proto?: string | number;
  sport?: number;
  dport?: number;
  iif?: string;
  oif?: string;
  mark?: number;
}

export type SetDir = 'src' | 'dst';

const PORT_PROTOS = new Set([6, 17, 132, 136]);

type Part = { kind: 'addr'; p: InetPrefix; to?: InetAddr } | { kind: 'port'; proto: number | undefined; from: number; to: number } | { kind: 'iface'; name: string } | { kind: 'mark'; value: number } | { kind: 'other' };

function parsePart(dim: string, text: string): Part {
  if (dim === 'ip' || dim === 'net') {
    const dash = text.indexOf('-');
    if (dash > 0) {
      const a = parseInetAddr(text.slice(0, dash)), b = parseInetAddr(text.slice(dash + 1));
      if (a && b) return { kind: 'addr', p: { family: a.family, n: a.n, len: a.family === 'ip' ? 32 : 128, text }, to: b };
    }
    const p = parseInetPrefix(text);
    return p ? { kind: 'addr', p } : { kind: 'other' };
  }
  if (dim === 'port') {
    const m = /^(?:([a-z0-9-]+):)?(\d+)(?:-(\d+))?$/i.exec(text);
    if (!m) return { kind: 'other' };
    const proto = m[1] === undefined ? 6 : ipprotoNumber(m[1]);
    return { kind: 'port', proto, from: Number(m[2]), to: Number(m[3] ?? m[2]) };
  }
  if (dim === 'iface') return { kind: 'iface', name: text.replace(/^physdev:/, '') };
  if (dim === 'mark') return { kind: 'mark', value: Number(text) };
  return { kind: 'other' };
}

function addrOf(q: IpsetQuery, dir: SetDir): InetAddr | undefined {
  const t = dir === 'src' ? q.src : q.dst;
  return t === undefined ? undefined : parseInetAddr(t);
}

/** Does one element match? `undefined` = cannot tell. `netLen` adds up prefix lengths (for nomatch order). */
function memberMatches(set: Ipset, m: IpsetMember, q: IpsetQuery, dirs: SetDir[], netmask: number | undefined): { ok: boolean | undefined; netLen: number } {
  let netLen = 0;
  for (let i = 0; i < set.dims.length; i++) {
    const dim = set.dims[i];
    // xt_set: a dimension without a direction flag reads the destination.
    const dir = dirs[i] ?? 'dst';
    const part = parsePart(dim, m.parts[i] ?? '');
    switch (part.kind) {
      case 'addr': {
        const a = addrOf(q, dir);
        if (!a) return { ok: undefined, netLen };
        if (a.family !== part.p.family) return { ok: false, netLen };
        if (part.to) { if (a.n < part.p.n || a.n > part.to.n) return { ok: false, netLen }; break; }
        let p = part.p;
        if (dim === 'ip' && netmask !== undefined) p = { ...p, n: p.n & prefixMask(p.family, netmask), len: netmask };
        if (!prefixContains(p, a)) return { ok: false, netLen };
        netLen += p.len;
        break;
      }
      case 'port': {
        const proto = q.proto === undefined ? undefined : typeof q.proto === 'number' ? q.proto : ipprotoNumber(q.proto);
        if (proto === undefined) return { ok: undefined, netLen };
        if (set.type === 'bitmap:port') { if (!PORT_PROTOS.has(proto)) return { ok: false, netLen }; }
        else if (part.proto !== proto) return { ok: false, netLen };
        if (!PORT_PROTOS.has(proto)) return { ok: undefined, netLen }; // icmp type/code elements: not modelled
        const port = dir === 'src' ? q.sport : q.dport;
        if (port === undefined) return { ok: undefined, netLen };
        if (port < part.from || port > part.to) return { ok: false, netLen };
        break;
      }
      case 'iface': {
        const dev = dir === 'src' ? q.iif : q.oif;
        if (dev === undefined) return { ok: undefined, netLen };
        if (dev !== part.name) return { ok: false, netLen };
        break;
      }
      case 'mark': {
        if (q.mark === undefined) return { ok: undefined, netLen };
        const mm = Number(set.options.find((o) => o.key === 'markmask')?.value ?? 0xffffffff);
        if (((q.mark & mm) >>> 0) !== ((part.value & mm) >>> 0)) return { ok: false, netLen };
        break;
      }
      default:
        return { ok: undefined, netLen };
    }
  }
  return { ok: true, netLen };
}

/**
 * Is the packet in the set? `dirs` are the `--match-set` flags (`src,dst` → ['src','dst']).
 * `sets` resolves the members of a list:set. Returns undefined when it cannot be decided.
 */
export function ipsetContains(set: Ipset, q: IpsetQuery, dirs: SetDir[], sets?: ReadonlyMap<string, Ipset>): boolean | undefined {
  if (!set.known) return undefined;
  if (set.method === 'list') {
    let unknown = false;
    for (const m of set.members) {
      const s = sets?.get(m.parts[0]);
      if (!s) { unknown = true; continue; }
      const r = ipsetContains(s, q, dirs, sets);
      if (r === true) return true;
      if (r === undefined) unknown = true;
    }
    return unknown ? undefined : false;
  }
  if (set.dims.includes('mac')) return undefined;
  const nm = set.options.find((o) => o.key === 'netmask')?.value;
  const netmask = nm === undefined ? undefined : Number(nm);
  let best: { member: IpsetMember; netLen: number } | undefined;
  let unknown = false;
  for (const m of set.members) {
    const r = memberMatches(set, m, q, dirs, netmask);
    if (r.ok === undefined) { unknown = true; continue; }
    if (!r.ok) continue;
    // hash:net*: the most specific matching element decides; a `nomatch` one excludes the packet.
    if (!best || r.netLen > best.netLen) best = { member: m, netLen: r.netLen };
  }
  if (set.type === 'hash:net,iface') return netIface(set, q, dirs);
  if (best) return best.member.nomatch ? (unknown ? undefined : false) : true;
  return unknown ? undefined : false;
}

/**
 * hash:net,iface walks the set's prefix lengths from the most specific and stops at the first one
 * where some element has the packet's net, whatever its interface (IP_SET_HASH_WITH_MULTI): only
 * the elements of that net are tried, wider nets never are.
 */
function netIface(set: Ipset, q: IpsetQuery, dirs: SetDir[]): boolean | undefined {
  const a = addrOf(q, dirs[0] ?? 'dst');
  const dev = (dirs[1] ?? 'dst') === 'src' ? q.iif : q.oif;
  if (!a) return undefined;
  let bestLen = -1;
  const parsed = set.members.map((m) => ({ m, net: parsePart('net', m.parts[0] ?? ''), dev: (m.parts[1] ?? '').replace(/^physdev:/, '') }));
  for (const x of parsed) if (x.net.kind === 'addr' && !x.net.to && prefixContains(x.net.p, a) && x.net.p.len > bestLen) bestLen = x.net.p.len;
  if (bestLen < 0) return false;
  if (dev === undefined) return undefined;
  const hit = parsed.find((x) => x.net.kind === 'addr' && x.net.p.len === bestLen && prefixContains(x.net.p, a) && x.dev === dev);
  return hit ? !hit.m.nomatch : false;
}
