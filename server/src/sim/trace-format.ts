// The walk's trace as JSON (the CLI contract of `nflens simulate`) and as text for people.
import { hex } from '../knowledge/marks';
import { formatPacket, type Packet } from './packet';
import type { Step, WalkResult } from './walk';

export interface TraceJson {
  verdict: string;
  decided?: { hook: string; table: string; chain: string; line: number; step: number };
  path: string[];
  steps: Omit<Step, 'range'>[];
  unknowns: WalkResult['unknowns'];
  packet: Record<string, unknown>;
  error?: string;
}

export function packetJson(p: Packet): Record<string, unknown> {
  const o: Record<string, unknown> = { text: formatPacket(p), family: p.family, proto: p.proto, src: p.src, dst: p.dst };
  if (p.sport !== undefined) o.sport = p.sport;
  if (p.dport !== undefined) o.dport = p.dport;
  if (p.proto === 'tcp') o.flags = p.tcpFlags;
  if (p.icmpType !== undefined) { o.icmpType = p.icmpType; o.icmpCode = p.icmpCode; }
  if (p.iif !== undefined) o.iif = p.iif;
  if (p.oif !== undefined) o.oif = p.oif;
  o.mark = hex(p.mark);
  o.ctmark = hex(p.ctmark);
  o.ct = p.ctState;
  o.dir = p.ctDir;
  o.zone = p.ctZone;
  if (p.uid !== undefined) o.uid = p.uid;
  if (p.gid !== undefined) o.gid = p.gid;
  o.local = p.local;
  return o;
}

export function traceJson(r: WalkResult): TraceJson {
  // The issue's fields first, in its order; then the rest (undefined ones drop out of the JSON).
  const steps = r.steps.map((x) => {
    // Built in key order, addresses after the optional fields (no delete: it makes slow objects).
    const o = { hook: x.hook, table: x.table, chain: x.chain, line: x.line, result: x.result, action: x.action, mark: x.mark, ctmark: x.ctmark, kind: x.kind, family: x.family } as Omit<Step, 'range'>;
    if (x.ruleIndex !== undefined) o.ruleIndex = x.ruleIndex;
    if (x.assumed !== undefined) o.assumed = x.assumed;
    if (x.reason !== undefined) o.reason = x.reason;
    if (x.failed !== undefined) o.failed = x.failed;
    if (x.note !== undefined) o.note = x.note;
    o.src = x.src;
    o.dst = x.dst;
    if (x.sport !== undefined) o.sport = x.sport;
    if (x.dport !== undefined) o.dport = x.dport;
    return o;
  });
  const out: TraceJson = { verdict: r.verdict, path: r.path, steps, unknowns: r.unknowns, packet: packetJson(r.packet) };
  if (r.decidedAt !== undefined) {
    const s = r.steps[r.decidedAt];
    out.decided = { hook: s.hook, table: s.table, chain: s.chain, line: s.line, step: r.decidedAt };
  }
  if (r.error) out.error = r.error;
  return out;
}

export function traceText(r: WalkResult, opts: { all?: boolean } = {}): string {
  const lines: string[] = [];
  let hook = '';
  for (const s of r.steps) {
    if (s.hook !== hook) { hook = s.hook; lines.push(`${hook.toUpperCase()}`); }
    if (s.kind === 'event') { lines.push(`  · ${s.action}`); continue; }
    if (s.result === 'nomatch' && !opts.all) continue;
    const where = `${s.table} ${s.chain}`.padEnd(32);
    const res = s.result === 'unknown' ? `unknown (assumed ${s.assumed}: ${s.reason})` : s.result;
    const what = s.kind === 'policy' ? s.action : s.result === 'nomatch' ? `fails at ${s.failed}` : s.action;
    const marks = `mark ${s.mark} ctmark ${s.ctmark}`;
    lines.push(`  ${String(s.line).padStart(5)}  ${where} ${res.padEnd(8)} ${what}${s.note ? `  [${s.note}]` : ''}  (${marks})`);
  }
  const d = r.decidedAt !== undefined ? r.steps[r.decidedAt] : undefined;
  lines.push(`verdict: ${r.verdict}${d ? ` at line ${d.line} (${d.hook} ${d.table} ${d.chain})` : ''}${r.error ? ` — ${r.error}` : ''}`);
  lines.push(`packet out: ${formatPacket(r.packet)}`);
  if (r.unknowns.length) lines.push(`${r.unknowns.length} unknown step(s): the walk assumed the branch shown; --both walks each branch`);
  return lines.join('\n');
}
