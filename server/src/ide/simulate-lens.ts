// "Simulate packet from here": the code lenses (one above every rule and chain declaration) and the
// walk behind the `nflens/simulate` request. Protocol-free; the language server wraps it. Pure
// computation on the open document: nothing runs a program.
import type { Range, Ruleset } from '../model/ruleset';
import { parsePacket } from '../sim/packet';
import { traceJson, type TraceJson } from '../sim/trace-format';
import { startPointAt, walk, type StartPoint, type WalkOptions } from '../sim/walk';
import { witnessFor } from '../sim/witness';

export const SIMULATE_COMMAND = 'nflens.simulateFromHere';
export const SIMULATE_TITLE = 'Simulate packet from here';

export interface SimulateLens {
  range: Range;
  title: string;
  command: string;
  /** `line` is 0-based, like LSP positions. */
  arguments: [{ uri: string; line: number }];
  what: 'rule' | 'chain';
}

/** Above this many rules only the chains get lenses (above this many chains, only the built-in and base ones): on a 150 000-line dump a lens per rule is 35 MB
 *  of JSON and a doubled editor height. The command palette's "Simulate packet from here" still
 *  walks from the rule under the cursor. */
export const MAX_RULE_LENSES = 10000;

/** One lens per rule and per chain declaration, at most one per line (a chain wins its own line). */
export function simulateLenses(uri: string, rs: Ruleset, maxRuleLenses = MAX_RULE_LENSES): SimulateLens[] {
  const byLine = new Map<number, SimulateLens>();
  const add = (r: Range, what: SimulateLens['what']) => {
    const line = r.start.line;
    if (byLine.has(line)) return;
    const range = { start: { line, character: r.start.character }, end: { line, character: r.start.character } };
    byLine.set(line, { range, title: SIMULATE_TITLE, command: SIMULATE_COMMAND, arguments: [{ uri, line }], what });
  };
  let rules = 0, chains = 0;
  for (const t of rs.tables) for (const c of t.chains) { rules += c.rules.length; chains++; }
  // Past the limit, even the chains are too many (a kube dump has 40 000): only the built-in / base ones.
  for (const t of rs.tables) for (const c of t.chains) {
    if (chains <= maxRuleLenses || c.builtin || c.hook) for (const d of c.declarations) add(d, 'chain');
  }
  if (rules <= maxRuleLenses) for (const t of rs.tables) for (const c of t.chains) for (const r of c.rules) add(r.range, 'rule');
  return [...byLine.values()].sort((a, b) => a.range.start.line - b.range.start.line);
}

export interface SimulateParams {
  uri: string;
  /** 0-based line of a rule or chain; absent: the whole file from the first hook. */
  line?: number;
  /** The packet line; absent: the witness of the rule at `line` (or DEFAULT_PACKET). */
  packet?: string;
  /** Walk from the first hook instead of from the rule. */
  fromStart?: boolean;
}

export interface SimulateResult extends TraceJson {
  /** The packet line the walk used. */
  packetIn: string;
  /** The witness proposed for the rule (when a line was given and holds a rule or chain). */
  witness?: { packet: string; exact: boolean; notes: string[] };
  start?: StartPoint & { line: number };
}

/** The proposal for the whole file: a new TCP connection arriving from outside. */
export const DEFAULT_PACKET = 'tcp 192.0.2.10:40000 -> 198.51.100.10:80 iif eth0';

export type SimulateOutcome = { result: SimulateResult } | { error: string };

export function simulate(rs: Ruleset, p: SimulateParams, env: Pick<WalkOptions, 'routing' | 'ipsets'> = {}): SimulateOutcome {
  let start: StartPoint | undefined;
  if (p.line !== undefined) {
    start = startPointAt(rs, p.line + 1);
    if (!start) return { error: `line ${p.line + 1} holds no rule or chain` };
  }
  const w = start ? witnessFor(rs, start) : undefined;
  const text = p.packet ?? w?.text ?? DEFAULT_PACKET;
  const pp = parsePacket(text);
  if (!pp.packet) return { error: `bad packet: ${pp.errors.join('; ')}` };
  const opts: WalkOptions = { ...env };
  if (start && !p.fromStart) opts.from = start;
  const r = walk(rs, pp.packet, opts);
  const result: SimulateResult = { ...traceJson(r), packetIn: text };
  if (w) result.witness = { packet: w.text, exact: w.exact, notes: w.notes };
  if (start) result.start = { ...start, line: p.line! + 1 };
  return { result };
}
