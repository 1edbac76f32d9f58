// The packet as the walk carries it: the user's packet plus what the kernel knows at this point.
import type { Hook } from '../model/ruleset';
import { parseAddr, parseCidr, type Addr } from './addr';
import type { Packet } from './packet';
import type { Ipset } from '../model/ipset';

/** The user's packet (its `host` list resolved into `hostAddrs`) plus what the walk tracks. */
export interface WalkPacket extends Omit<Packet, 'host'> {
  /** The walk picked oif (lo / eth0), so a re-route may change it. */
  oifDefaulted?: boolean;
  /** ipset contents from the node profile. */
  ipsets?: ReadonlyMap<string, Ipset>;
  hostAddrs: { addr: Addr; prefix?: number; iface?: string }[];
  /** Where the walk is. */
  hook: Hook;
  /** What the packet carries: nothing before the conntrack hook (-200) or when invalid; a template
   *  after a raw-table CT (state NEW, ct mark 0 to matches); untracked after NOTRACK; the entry after. */
  ct: 'none' | 'template' | 'tracked' | 'untracked';
  /** The conntrack hook has run. */
  ctLooked?: boolean;
  zoneRequested?: number;
  /** NAT of this connection already decided (nat chains are consulted once per manip type). */
  natDoneDst: boolean;
  natDoneSrc: boolean;
  natDstChanged: boolean;
  natSrcChanged: boolean;
  /** REDIRECT sends the packet to this host whatever the address says. */
  redirected: boolean;
  /** Parsed addresses, keyed by the text they were parsed from (NAT changes the text). */
  addrCache?: { src?: { text: string; addr: Addr | undefined; n4?: number }; dst?: { text: string; addr: Addr | undefined; n4?: number } };
  /** The tuple as the packet arrived (for --ctorig*). */
  orig: { src: string; dst: string; sport?: number; dport?: number };
}

export function initialState(p: Packet): WalkPacket {
  const hostAddrs = p.host.map((item) => {
    const [h, iface] = item.split('@');
    const slash = h.indexOf('/');
    const addr = parseAddr(slash < 0 ? h : h.slice(0, slash))!;
    const out: { addr: Addr; prefix?: number; iface?: string } = slash < 0 ? { addr } : { addr, prefix: parseCidr(h)!.prefix };
    if (iface) out.iface = iface;
    return out;
  });
  const fresh = p.ctState === 'new';
  return {
    family: p.family,
    proto: p.proto,
    src: p.src,
    dst: p.dst,
    sport: p.sport,
    dport: p.dport,
    tcpFlags: [...p.tcpFlags],
    icmpType: p.icmpType,
    icmpCode: p.icmpCode,
    length: p.length,
    iif: p.iif,
    oif: p.oif,
    mark: p.mark >>> 0,
    ctmark: p.ctmark >>> 0,
    ctState: p.ctState,
    ctDir: p.ctDir,
    ctZone: p.ctZone,
    uid: p.uid,
    gid: p.gid,
    local: p.local,
    sets: p.sets,
    hostAddrs,
    hook: p.local ? 'output' : 'prerouting',
    ct: 'none',
    natDoneDst: !fresh,
    natDoneSrc: !fresh,
    natDstChanged: false,
    natSrcChanged: false,
    redirected: false,
    orig: { src: p.src, dst: p.dst, sport: p.sport, dport: p.dport },
  };
}

/** The packet as it leaves the walk, in the user's terms. */
export function toPacket(s: WalkPacket, host: string[]): Packet {
  const out: Packet = {
    family: s.family,
    proto: s.proto,
    src: s.src,
    dst: s.dst,
    tcpFlags: s.tcpFlags,
    mark: s.mark,
    ctmark: s.ctmark,
    ctState: s.ct === 'untracked' ? 'untracked' : s.ctState,
    ctDir: s.ctDir,
    ctZone: s.ctZone,
    local: s.local,
    host,
    sets: s.sets,
  };
  if (s.sport !== undefined) out.sport = s.sport;
  if (s.dport !== undefined) out.dport = s.dport;
  if (s.icmpType !== undefined) { out.icmpType = s.icmpType; out.icmpCode = s.icmpCode; }
  if (s.length !== undefined) out.length = s.length;
  if (s.iif !== undefined) out.iif = s.iif;
  if (s.oif !== undefined) out.oif = s.oif;
  if (s.uid !== undefined) out.uid = s.uid;
  if (s.gid !== undefined) out.gid = s.gid;
  return out;
}
