// What a target (iptables -j EXT) does to the walk's packet, and whether the walk goes on.
import type { Action, Option } from '../model/ruleset';
import { FULL, hex, restoreMark, saveMark, shorthand, xmark } from '../knowledge/marks';
import { formatAddr, parseAddr } from './addr';
import { asMark, asPorts, asU32, optionName, valueText } from './option-values';
import type { WalkPacket } from './state';

export type Effect = 'continue' | 'accept' | 'drop' | 'reject' | 'queue' | 'unknown';

export interface TargetResult {
  effect: Effect;
  /** What changed, or why nothing did ("no conntrack entry"). */
  note?: string;
  /** For effect "unknown": why. */
  reason?: string;
}

const opt = (a: Action, ...names: string[]): Option | undefined => a.options.find((o) => names.includes(optionName(o)));
const val = (o: Option | undefined) => (o?.values[0] ? valueText(o.values[0]) : undefined);

/** Targets that only observe or change what the walk does not model: the walk goes on. */
const CONTINUE_TARGETS: Record<string, string> = {
  LOG: 'logs the packet', NFLOG: 'logs the packet', ULOG: 'logs the packet', TRACE: 'traces the packet', AUDIT: 'audits the packet',
  CLASSIFY: 'sets the traffic class', DSCP: 'rewrites DSCP', TOS: 'rewrites TOS', ECN: 'rewrites ECN bits', TTL: 'rewrites the TTL',
  HL: 'rewrites the hop limit', TCPMSS: 'clamps the MSS', TCPOPTSTRIP: 'strips TCP options', CHECKSUM: 'fills the checksum',
  SECMARK: 'sets the security mark', CONNSECMARK: 'copies the security mark', IDLETIMER: 'arms a timer', LED: 'blinks a LED',
  SET: 'adds to or deletes from a set', RATEEST: 'estimates the rate', NFACCT: 'counts', TEE: 'clones the packet', HMARK: '',
};

function markArgs(a: Action): { value: number; mask: number } | undefined {
  const x = opt(a, 'set-xmark');
  if (x) return x.values[0] ? asMark(x.values[0]) : undefined;
  const s = opt(a, 'set-mark');
  if (s) { const m = s.values[0] ? asMark(s.values[0]) : undefined; return m && shorthand.setMark(m.value, m.hasMask ? m.mask : FULL); }
  const and = opt(a, 'and-mark');
  if (and) { const b = and.values[0] ? asU32(and.values[0]) : undefined; return b === undefined ? undefined : shorthand.andMark(b); }
  const or = opt(a, 'or-mark');
  if (or) { const b = or.values[0] ? asU32(or.values[0]) : undefined; return b === undefined ? undefined : shorthand.orMark(b); }
  const xr = opt(a, 'xor-mark');
  if (xr) { const b = xr.values[0] ? asU32(xr.values[0]) : undefined; return b === undefined ? undefined : shorthand.xorMark(b); }
  return undefined;
}

function masks(a: Action): { nf: number; ct: number } | undefined {
  const m = opt(a, 'mask');
  const nf = opt(a, 'nfmask'), ct = opt(a, 'ctmask');
  const read = (o: Option | undefined) => (o ? (o.values[0] ? asU32(o.values[0]) : undefined) : FULL);
  const mv = m ? read(m) : undefined;
  const n = m ? mv : read(nf), c = m ? mv : read(ct);
  return n === undefined || c === undefined ? undefined : { nf: n, ct: c };
}

/** `addr[-addr][:port[-port]]`, `[v6]:port`, `:port`. */
function parseNatTo(text: string): { addr?: string; addrLast?: string; port?: number; portLast?: number } | undefined {
  let addrPart = text, portPart: string | undefined;
  const br = /^\[([^\]]+)\](?::(.+))?$/.exec(text);
  if (br) { addrPart = br[1]; portPart = br[2]; }
  else if ((text.match(/:/g) ?? []).length === 1) { const i = text.indexOf(':'); addrPart = text.slice(0, i); portPart = text.slice(i + 1); }
  const out: { addr?: string; addrLast?: string; port?: number; portLast?: number } = {};
  if (addrPart) {
    const [a, b] = addrPart.split('-');
    const A = parseAddr(a);
    if (!A) return undefined;
    out.addr = formatAddr(A);
    if (b) { const B = parseAddr(b); if (!B) return undefined; out.addrLast = formatAddr(B); }
  }
  if (portPart) {
    const r = /^(\d+)(?:-(\d+))?$/.exec(portPart);
    if (!r) return undefined;
    out.port = Number(r[1]);
    if (r[2]) out.portLast = Number(r[2]);
  }
  return out;
}

/** The host address on `iface` (as `host ADDR@IFACE` says), else the first one of the family. */
function hostAddrOn(s: WalkPacket, iface: string | undefined): string | undefined {
  const h = s.hostAddrs.find((x) => x.addr.family === s.family && iface !== undefined && x.iface === iface)
    ?? s.hostAddrs.find((x) => x.addr.family === s.family);
  return h ? formatAddr(h.addr) : undefined;
}

/** DNAT/SNAT/REDIRECT/MASQUERADE: `to` as written after --to-destination / --to-source / `to`
 *  (`addr[-addr][:port[-port]]`, `:port`). The nat chain ends with accept. */
export function natRewrite(kind: 'DNAT' | 'SNAT' | 'REDIRECT' | 'MASQUERADE', toText: string | undefined, s: WalkPacket): TargetResult {
  const to = toText === undefined ? {} : parseNatTo(toText);
  if (!to) return { effect: 'unknown', reason: `cannot read "${toText}"` };
  if (kind === 'DNAT' || kind === 'REDIRECT') {
    if (kind === 'REDIRECT') {
      to.addr = s.hook === 'output' ? (s.family === 'ip' ? '127.0.0.1' : '::1') : hostAddrOn(s, s.iif);
      s.redirected = true;
    }
    const before = `${s.dst}${s.dport !== undefined ? ':' + s.dport : ''}`;
    if (to.addr) s.dst = to.addr;
    if (to.port !== undefined && s.dport !== undefined) s.dport = to.port;
    s.natDstChanged = true;
    const range = to.addrLast || to.portLast ? ' (a range: the kernel picks one; the first is shown)' : '';
    const noAddr = kind === 'REDIRECT' && !to.addr ? ' (the address of the input interface is not known: add `host ADDR@IFACE`)' : '';
    return { effect: 'accept', note: `destination ${before} -> ${s.dst}${s.dport !== undefined ? ':' + s.dport : ''}${range}${noAddr}` };
  }
  if (kind === 'MASQUERADE') to.addr = hostAddrOn(s, s.oif);
  const before = `${s.src}${s.sport !== undefined ? ':' + s.sport : ''}`;
  if (to.addr) s.src = to.addr;
  if (to.port !== undefined && s.sport !== undefined) s.sport = to.port;
  s.natSrcChanged = true;
  const range = to.addrLast || to.portLast ? ' (a range: the kernel picks one; the first is shown)' : '';
  const noAddr = kind === 'MASQUERADE' && !to.addr ? ' (the address of the output interface is not known: add `host ADDR@IFACE`)' : '';
  return { effect: 'accept', note: `source ${before} -> ${s.src}${s.sport !== undefined ? ':' + s.sport : ''}${range}${noAddr}` };
}

export function applyTarget(a: Action, s: WalkPacket): TargetResult {
  const name = a.name.toUpperCase();
  switch (name) {
    case 'ACCEPT': return { effect: 'accept' };
    case 'DROP': return { effect: 'drop' };
    case 'REJECT': return { effect: 'reject', note: `rejects with ${val(opt(a, 'reject-with')) ?? (s.proto === 'tcp' ? 'icmp-port-unreachable' : 'icmp-port-unreachable')}` };
    case 'QUEUE':
    case 'NFQUEUE': return { effect: 'queue', note: 'hands the packet to a user-space program; what it decides is not known' };
    case 'MARK': {
      const m = markArgs(a);
      if (!m) return { effect: 'unknown', reason: 'cannot read the MARK arguments' };
      const before = s.mark;
      s.mark = xmark(s.mark, m.value, m.mask);
      return { effect: 'continue', note: `mark ${hex(before)} -> ${hex(s.mark)}` };
    }
    case 'CONNMARK': {
      if (s.ct !== 'tracked') return { effect: 'continue', note: 'no conntrack entry: the ct mark is not changed' };
      const before = { mark: s.mark, ctmark: s.ctmark };
      if (opt(a, 'save-mark')) {
        const k = masks(a);
        if (!k) return { effect: 'unknown', reason: 'cannot read the CONNMARK masks' };
        s.ctmark = saveMark(s.ctmark, s.mark, k.nf, k.ct);
      } else if (opt(a, 'restore-mark')) {
        const k = masks(a);
        if (!k) return { effect: 'unknown', reason: 'cannot read the CONNMARK masks' };
        s.mark = restoreMark(s.mark, s.ctmark, k.nf, k.ct);
      } else {
        const m = markArgs(a);
        if (!m) return { effect: 'unknown', reason: 'cannot read the CONNMARK arguments' };
        s.ctmark = xmark(s.ctmark, m.value, m.mask);
      }
      return { effect: 'continue', note: `mark ${hex(before.mark)} -> ${hex(s.mark)}, ct mark ${hex(before.ctmark)} -> ${hex(s.ctmark)}` };
    }
    case 'NOTRACK':
    case 'CT': {
      if (s.ct === 'tracked') return { effect: 'continue', note: 'the packet already has a conntrack entry: CT does nothing' };
      // The first CT/NOTRACK attaches a template (or marks the packet untracked); later ones see it
      // and do nothing (xt_CT).
      if (s.ct !== 'none') return { effect: 'continue', note: 'an earlier CT already set this packet\'s conntrack: no effect' };
      if (name === 'NOTRACK' || opt(a, 'notrack')) { s.ct = 'untracked'; return { effect: 'continue', note: 'the packet will not be tracked' }; }
      s.ct = 'template';
      const z = opt(a, 'zone', 'zone-orig', 'zone-reply');
      if (z) {
        const zn = val(z);
        const dirOk = optionName(z) === 'zone' || (optionName(z) === 'zone-orig') === (s.ctDir === 'original');
        if (zn === 'mark') { if (dirOk) s.zoneRequested = s.mark & 0xffff; }
        else {
          const n = zn !== undefined && /^\d+$/.test(zn) ? Number(zn) : undefined;
          if (n === undefined) return { effect: 'unknown', reason: `cannot read zone "${zn}"` };
          if (dirOk) s.zoneRequested = n;
        }
        return { effect: 'continue', note: dirOk ? `conntrack zone ${s.zoneRequested}` : 'zone for the other direction' };
      }
      return { effect: 'continue', note: 'sets conntrack parameters (helper, events or timeout)' };
    }
    case 'DNAT':
    case 'SNAT': {
      const t = val(opt(a, name === 'DNAT' ? 'to-destination' : 'to-source', 'to'));
      if (t === undefined) return { effect: 'unknown', reason: `${name} needs ${name === 'DNAT' ? '--to-destination' : '--to-source'}` };
      return natRewrite(name, t, s);
    }
    case 'REDIRECT':
    case 'MASQUERADE': {
      const pr = opt(a, 'to-ports', 'to-port');
      const ports = pr?.values[0] ? asPorts(pr.values[0]) ?? (/^\d+-\d+$/.test(valueText(pr.values[0])) ? [] : undefined) : undefined;
      if (pr && !ports) return { effect: 'unknown', reason: 'cannot read --to-ports' };
      return natRewrite(name, pr?.values[0] ? ':' + valueText(pr.values[0]) : undefined, s);
    }
    case 'NETMAP': return { effect: 'unknown', reason: 'NETMAP is not modelled' };
    case 'SYNPROXY': return { effect: 'unknown', reason: 'SYNPROXY answers the handshake itself' };
  }
  if (CONTINUE_TARGETS[name] !== undefined) return { effect: 'continue', note: CONTINUE_TARGETS[name] || undefined };
  return { effect: 'unknown', reason: `target "${a.name}" is not known` };
}

const KNOWN = new Set(['ACCEPT', 'DROP', 'REJECT', 'QUEUE', 'NFQUEUE', 'RETURN', 'MARK', 'CONNMARK', 'NOTRACK', 'CT', 'DNAT', 'REDIRECT', 'SNAT',
  'MASQUERADE', 'NETMAP', 'SYNPROXY', ...Object.keys(CONTINUE_TARGETS)]);

/** A target name the walk knows (so `-j NAME` without such a chain is that target, not a missing chain). */
export function knownTarget(name: string): boolean {
  return KNOWN.has(name.toUpperCase());
}
