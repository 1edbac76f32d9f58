// The packet the walk carries, and the one-line syntax a person types for it.
//
//   [ip|ip6] [PROTO] SRC[:PORT] -> DST[:PORT] [iif NAME] [oif NAME] [mark V] [ctmark V]
//   [ct new|established|related|invalid|untracked] [reply] [zone N] [uid N] [gid N]
//   [flags SYN,ACK] [type T[/C]] [len N] [local] [host ADDR[/LEN][@IFACE][,...]] [set NAME=ADDR[,ADDR...]]
//
// Defaults (stated, see DEFAULTS_TEXT): tcp; ports 40000 -> 80 for tcp/udp/sctp/udplite; ct new,
// original direction, zone 0; mark 0, ct mark 0; TCP flags SYN for a new connection, ACK otherwise;
// ICMP echo-request; iif eth0 for packets that arrive (none for `local` ones); oif decided by the
// routing step (lo for a local destination, else eth0) unless given; no socket owner known; the host
// owns no address but loopback unless `host` lists some; a set's contents are unknown unless given.
import { formatAddr, parseAddr, parseCidr } from './addr';
import { parseIcmpType, protoNumber } from './option-values';
import { hex, parseU32 } from '../knowledge/marks';

export type CtState = 'new' | 'established' | 'related' | 'invalid' | 'untracked';

export interface Packet {
  family: 'ip' | 'ip6';
  /** Lower-case protocol name ("tcp", "udp", "icmp"...) or the number as text. */
  proto: string;
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  tcpFlags: string[];
  icmpType?: number;
  icmpCode?: number;
  length?: number;
  /** Input interface (packets that arrive); undefined for locally generated ones. */
  iif?: string;
  /** Output interface if the user fixed it; otherwise the walk's routing step picks one. */
  oif?: string;
  mark: number;
  ctmark: number;
  ctState: CtState;
  ctDir: 'original' | 'reply';
  ctZone: number;
  uid?: number;
  gid?: number;
  /** Sent by a process on this host: the OUTPUT path. */
  local: boolean;
  /** The host's own addresses: `ADDR[/LEN][@IFACE]` (the prefix gives the broadcast address, the
   *  interface the address REDIRECT and MASQUERADE pick). */
  host: string[];
  /** Known contents of named sets (ipset / nft @set). A set not listed has unknown contents. */
  sets: Record<string, string[]>;
}

export const DEFAULTS_TEXT = [
  'protocol tcp',
  'ports 40000 -> 80 (tcp, udp, sctp, udplite)',
  'ct new, original direction, zone 0',
  'mark 0x0, ct mark 0x0',
  'TCP flags SYN for ct new, ACK otherwise',
  'ICMP type echo-request',
  'iif eth0 for arriving packets; none for `local` ones',
  'oif: with a node profile (--node), from its routing; else lo for a local destination, the interface of a connected `host ADDR/LEN@IFACE` subnet, else eth0',
  'socket uid/gid unknown (owner matches are unknown) unless given',
  'host addresses: loopback only (plus a node profile\'s), unless `host` lists them; without a profile a destination owned by the host goes to INPUT, others are FORWARDed; REDIRECT/MASQUERADE use the address on iif/oif (`host ADDR@IFACE`), else the first one',
  'set contents unknown unless `set NAME=...` lists them (or a node profile / the nft file defines them)',
  'conntrack is on (the kernel tracks connections once any rule on the host asks for it)',
  'forwarding is on',
];

export interface PacketParse {
  packet?: Packet;
  errors: string[];
}

const PORT_PROTOS = new Set(['tcp', 'udp', 'sctp', 'udplite', 'dccp']);
const CT_STATES = new Set(['new', 'established', 'related', 'invalid', 'untracked']);
const TCP_FLAGS = new Set(['SYN', 'ACK', 'FIN', 'RST', 'URG', 'PSH', 'ECE', 'CWR']);

/** `addr`, `addr:port`, `[v6]:port`, `v6`. */
function splitHostPort(t: string): { addr: string; port?: number } | undefined {
  let addr = t, port: string | undefined;
  const br = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  if (br) { addr = br[1]; port = br[2]; }
  else if ((t.match(/:/g) ?? []).length === 1) { [addr, port] = t.split(':'); }
  if (!parseAddr(addr)) return undefined;
  if (port !== undefined) {
    if (!/^\d+$/.test(port) || Number(port) > 65535) return undefined;
    return { addr, port: Number(port) };
  }
  return { addr };
}

export function parsePacket(line: string): PacketParse {
  const errors: string[] = [];
  const toks = line.trim().split(/\s+/).filter(Boolean);
  let family: 'ip' | 'ip6' | undefined;
  let proto: string | undefined;
  let src: { addr: string; port?: number } | undefined, dst: { addr: string; port?: number } | undefined;
  const p: Partial<Packet> = { sets: {}, host: [], local: false, tcpFlags: [] };
  let flagsGiven = false;
  let icmpGiven: string | undefined;
  const num = (name: string, t: string | undefined, max = 0xffffffff): number | undefined => {
    const v = t === undefined ? undefined : parseU32(t);
    if (v === undefined || v > max) errors.push(`${name} needs a number${t === undefined ? '' : `, not "${t}"`}`);
    return v;
  };
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i];
    const next = () => toks[++i];
    const low = t.toLowerCase();
    if (low === 'ip' || low === 'ip4' || low === 'ipv4') family = 'ip';
    else if (low === 'ip6' || low === 'ipv6') family = 'ip6';
    else if (['tcp', 'udp', 'icmp', 'icmpv6', 'sctp', 'udplite', 'gre', 'esp', 'ah', 'dccp'].includes(low)) proto = low;
    else if (low === 'proto') { const v = next(); if (v && protoNumber(v) !== undefined) proto = v.toLowerCase(); else errors.push(`unknown protocol "${v ?? ''}"`); }
    else if (t === '->' || t === '>') {
      const d = next();
      dst = d === undefined ? undefined : splitHostPort(d);
      if (!dst) errors.push(`"->" needs a destination address[:port]${d ? `, not "${d}"` : ''}`);
    } else if (low === 'iif' || low === 'in') p.iif = next() ?? (errors.push('iif needs an interface name'), undefined);
    else if (low === 'oif' || low === 'out') p.oif = next() ?? (errors.push('oif needs an interface name'), undefined);
    else if (low === 'mark') p.mark = num('mark', next());
    else if (low === 'ctmark' || low === 'connmark') p.ctmark = num('ctmark', next());
    else if (low === 'ct') {
      const v = (next() ?? '').toLowerCase();
      if (CT_STATES.has(v)) p.ctState = v as CtState;
      else if (v === 'mark') p.ctmark = num('ct mark', next());
      else if (v === 'zone') p.ctZone = num('ct zone', next(), 65535);
      else errors.push(`ct needs new, established, related, invalid or untracked, not "${v}"`);
    } else if (CT_STATES.has(low)) p.ctState = low as CtState;
    else if (low === 'reply' || low === 'original') p.ctDir = low;
    else if (low === 'dir') { const v = next(); if (v === 'reply' || v === 'original') p.ctDir = v; else errors.push('dir needs original or reply'); }
    else if (low === 'zone') p.ctZone = num('zone', next(), 65535);
    else if (low === 'uid') p.uid = num('uid', next());
    else if (low === 'gid') p.gid = num('gid', next());
    else if (low === 'len' || low === 'length') p.length = num('len', next(), 65535);
    else if (low === 'flags') {
      flagsGiven = true;
      const v = next() ?? '';
      for (const f of v.toUpperCase().split(',').filter(Boolean)) {
        if (TCP_FLAGS.has(f)) p.tcpFlags!.push(f);
        else if (f !== 'NONE') errors.push(`unknown TCP flag "${f}"`);
      }
    } else if (low === 'type' || low === 'icmp-type') icmpGiven = next() ?? (errors.push('type needs an ICMP type'), undefined);
    else if (low === 'local') p.local = true;
    else if (low === 'host') {
      for (const a of (next() ?? '').split(',').filter(Boolean)) {
        if (parseCidr(a.split('@')[0])) p.host!.push(a);
        else errors.push(`host needs addresses, not "${a}"`);
      }
    } else if (low === 'set') {
      const v = next() ?? '';
      const eq = v.indexOf('=');
      if (eq <= 0) { errors.push(`set needs NAME=ADDR[,ADDR...], not "${v}"`); continue; }
      const items = v.slice(eq + 1).split(',').filter(Boolean);
      for (const a of items) if (!parseCidr(a)) errors.push(`set ${v.slice(0, eq)}: "${a}" is not an address`);
      p.sets![v.slice(0, eq)] = items;
    } else if (!src && splitHostPort(t)) src = splitHostPort(t);
    else errors.push(`unexpected "${t}"`);
  }
  if (!src) errors.push('the packet needs a source address (e.g. "tcp 10.0.0.1:40000 -> 10.0.0.2:80")');
  if (!dst) errors.push('the packet needs "-> DESTINATION"');
  if (errors.length || !src || !dst) return { errors };
  const sf = parseAddr(src.addr)!.family, df = parseAddr(dst.addr)!.family;
  if (sf !== df) return { errors: [`source ${src.addr} and destination ${dst.addr} are of different families`] };
  if (family && family !== sf) return { errors: [`${family} packet with ${sf === 'ip' ? 'IPv4' : 'IPv6'} addresses`] };
  family = sf;
  proto = proto ?? 'tcp';
  if (proto === 'icmp' && family === 'ip6') proto = 'icmpv6';
  const packet: Packet = {
    family,
    proto,
    src: formatAddr(parseAddr(src.addr)!),
    dst: formatAddr(parseAddr(dst.addr)!),
    tcpFlags: [],
    mark: p.mark ?? 0,
    ctmark: p.ctmark ?? 0,
    ctState: p.ctState ?? 'new',
    ctDir: p.ctDir ?? 'original',
    ctZone: p.ctZone ?? 0,
    local: p.local ?? false,
    host: p.host ?? [],
    sets: p.sets ?? {},
  };
  if (PORT_PROTOS.has(proto)) {
    packet.sport = src.port ?? 40000;
    packet.dport = dst.port ?? 80;
  } else if (src.port !== undefined || dst.port !== undefined) {
    return { errors: [`${proto} has no ports`] };
  }
  if (proto === 'tcp') packet.tcpFlags = flagsGiven ? p.tcpFlags! : packet.ctState === 'new' ? ['SYN'] : ['ACK'];
  if (proto === 'icmp' || proto === 'icmpv6') {
    const it = parseIcmpType(icmpGiven ?? 'echo-request', proto === 'icmpv6');
    if (!it || it.any || it.type === undefined) return { errors: [`unknown ICMP type "${icmpGiven}"`] };
    packet.icmpType = it.type;
    packet.icmpCode = it.code ?? 0;
  }
  if (!packet.local) packet.iif = p.iif ?? 'eth0';
  else if (p.iif) return { errors: ['a `local` packet has no input interface'] };
  if (p.oif) packet.oif = p.oif;
  if (p.uid !== undefined) packet.uid = p.uid;
  if (p.gid !== undefined) packet.gid = p.gid;
  if (p.length !== undefined) packet.length = p.length;
  return { packet, errors: [] };
}

const hp = (a: string, port?: number) => (port === undefined ? a : a.includes(':') ? `[${a}]:${port}` : `${a}:${port}`);

/** The packet back in the one-line syntax (round-trips through parsePacket). */
export function formatPacket(p: Packet): string {
  const out = [p.family === 'ip6' ? 'ip6' : '', p.proto, hp(p.src, p.sport), '->', hp(p.dst, p.dport)].filter(Boolean);
  if (p.local) out.push('local');
  if (p.iif !== undefined) out.push('iif', p.iif);
  if (p.oif !== undefined) out.push('oif', p.oif);
  out.push('mark', hex(p.mark));
  if (p.ctmark) out.push('ctmark', hex(p.ctmark));
  out.push('ct', p.ctState);
  if (p.ctDir === 'reply') out.push('reply');
  if (p.ctZone) out.push('zone', String(p.ctZone));
  if (p.proto === 'tcp') out.push('flags', p.tcpFlags.length ? p.tcpFlags.join(',') : 'NONE');
  if (p.icmpType !== undefined) out.push('type', `${p.icmpType}/${p.icmpCode ?? 0}`);
  if (p.length !== undefined) out.push('len', String(p.length));
  if (p.uid !== undefined) out.push('uid', String(p.uid));
  if (p.gid !== undefined) out.push('gid', String(p.gid));
  if (p.host.length) out.push('host', p.host.join(','));
  for (const [k, v] of Object.entries(p.sets)) out.push('set', `${k}=${v.join(',')}`);
  return out.join(' ');
}

export { protoNumber };
