// Compares one simulated walk with what the kernel traced for the same packet: the sequence of rules
// that matched (table, chain, position, verdict), the chain policies taken, the final verdict, the mark
// at the end, and the ct mark / zone conntrack holds.
import type { Ruleset } from '../../server/src/model/ruleset';
import type { WalkResult } from '../../server/src/sim/walk';
import type { PacketTrace } from './kernel-harness';

export interface CtEntry { proto: string; src: string; dst: string; sport: number; dport: number; mark: number; zone: number }

export interface Comparison {
  ok: boolean;
  problems: string[];
  sim: string[];
  kernel: string[];
}

function simVerdict(rs: Ruleset, table: string, chain: string, index: number, note?: string): string {
  const rule = rs.tables.find((t) => t.name === table)?.chains.find((c) => c.name === chain)?.rules[index];
  const a = rule?.actions[rule.actions.length - 1];
  if (!a) return 'continue';
  if (a.name === 'vmap') {
    const v = /vmap: .* -> (\w+)(?: (\S+))?/.exec(note ?? '');
    return v ? (v[2] ? `${v[1]} ${v[2]}` : v[1]) : 'continue';
  }
  if (a.kind === 'jump' && a.chain && rs.tables.find((t) => t.name === table)?.chains.some((c) => c.name === a.chain)) return `jump ${a.chain}`;
  if (a.kind === 'goto') return `goto ${a.chain}`;
  switch (a.name.toUpperCase()) {
    case 'RETURN': return 'return';
    case 'ACCEPT': case 'DNAT': case 'SNAT': case 'MASQUERADE': case 'REDIRECT': return 'accept';
    case 'DROP': case 'REJECT': return 'drop';
    case 'JUMP': case 'GOTO': return `${a.name.toLowerCase()} ${a.chain}`;
  }
  return 'continue';
}

export function simSequence(rs: Ruleset, r: WalkResult): string[] {
  const out: string[] = [];
  for (const s of r.steps) {
    if (s.kind === 'policy') out.push(`${s.table} ${s.chain} policy ${s.action.replace('policy ', '').toLowerCase()}`);
    else if (s.kind === 'rule' && (s.result === 'match' || s.assumed === 'match')) out.push(`${s.table} ${s.chain} #${s.ruleIndex} ${simVerdict(rs, s.table, s.chain, s.ruleIndex!, s.note)}`);
  }
  return out;
}

export function kernelSequence(t: PacketTrace | undefined, handles: Map<string, Map<string, number[]>>): string[] {
  if (!t) return [];
  return t.lines.map((l) => {
    if (l.kind === 'policy') return `${l.table} ${l.chain} policy ${l.verdict}`;
    const idx = l.handle === undefined ? -1 : handles.get(l.table)?.get(l.chain)?.indexOf(l.handle) ?? -1;
    return `${l.table} ${l.chain} #${idx} ${l.verdict}`;
  });
}

export function compare(
  rs: Ruleset, r: WalkResult, t: PacketTrace | undefined, handles: Map<string, Map<string, number[]>>,
  ct: CtEntry[], sent: { proto: string; src: string; dst: string; sport: number; dport: number }, injected?: { proto: string; src: string; dst: string; sport: number; dport: number },
): Comparison {
  const problems: string[] = [];
  const sim = simSequence(rs, r);
  const kernel = kernelSequence(t, handles);
  if (!t) problems.push('the kernel traced nothing for this packet');
  if (sim.join('\n') !== kernel.join('\n')) problems.push('rule sequence differs');
  const simAccept = r.verdict === 'ACCEPT';
  const kAccept = t?.endMark !== undefined;
  if (r.verdict !== 'ACCEPT' && r.verdict !== 'DROP' && r.verdict !== 'REJECT') problems.push(`simulator verdict ${r.verdict}${r.error ? `: ${r.error}` : ''}`);
  if (simAccept !== kAccept) problems.push(`verdict: simulator ${r.verdict}, kernel ${kAccept ? 'ACCEPT' : 'DROP'}`);
  if (simAccept && kAccept && t!.endMark !== r.packet.mark) problems.push(`final mark: simulator 0x${r.packet.mark.toString(16)}, kernel 0x${t!.endMark!.toString(16)}`);
  if (simAccept && kAccept && t?.lastPacket) {
    const sa = /ip saddr (\S+)/.exec(t.lastPacket)?.[1], da = /ip daddr (\S+)/.exec(t.lastPacket)?.[1];
    if (sa !== r.packet.src || da !== r.packet.dst) problems.push(`addresses out: simulator ${r.packet.src} -> ${r.packet.dst}, kernel ${sa} -> ${da}`);
  }
  // Conntrack: the entry of this packet's connection, in the zone the simulator ended in.
  if (r.packet.ctState !== 'untracked' && r.packet.ctState !== 'invalid') {
    const tuple = r.packet.ctState === 'new' || !injected ? sent : injected;
    const e = ct.find((c) => c.proto === tuple.proto && c.src === tuple.src && c.dst === tuple.dst && c.sport === tuple.sport && c.dport === tuple.dport && c.zone === r.packet.ctZone);
    const expectEntry = r.confirmed || (!!injected && r.packet.ctState !== 'new');
    if (expectEntry && !e) problems.push(`conntrack: no entry for ${tuple.src}:${tuple.sport} -> ${tuple.dst}:${tuple.dport} zone ${r.packet.ctZone}`);
    if (!expectEntry && e && r.packet.ctState === 'new') problems.push('conntrack: an entry exists for a dropped new connection');
    if (e && expectEntry && e.mark !== r.packet.ctmark) problems.push(`ct mark: simulator 0x${r.packet.ctmark.toString(16)}, kernel 0x${e.mark.toString(16)}`);
  }
  return { ok: problems.length === 0, problems, sim, kernel };
}
