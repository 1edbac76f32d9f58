// Packet mark and conntrack mark: every write and test reduced to the kernel's arithmetic
// (xt_MARK, xt_CONNMARK, xt_mark, xt_connmark; nft meta/ct mark), the conflicts between them, and a
// per-bit map (who sets, clears, toggles, copies and tests each bit) for hover and a command.
import type { Action, Chain, Diagnostic, Match, Option, Range, Rule, Ruleset, Table } from '../model/ruleset';
import { FULL, bitsOf, hex, parseU32, u32 } from '../knowledge/marks';
import type { IpRule } from '../model/routing';
import { withFixes, type QuickFix } from './quick-fixes';
import { markOf, optText, ruleTarget } from './rule-facts';
import { chainGraph } from './chain-graph';
import { hookReach, HOOK_CHAIN } from './hooks';
import { runSteps, TimeSlice } from '../steps';

export type MarkDomain = 'mark' | 'ctmark';

export interface MarkRuleRef {
  table: string;
  chain: string;
  /** 0-based index of the rule in its chain. */
  index: number;
  range: Range;
}

export type MarkOp =
  /** domain = (domain AND NOT mask) XOR value. */
  | { kind: 'xmark'; domain: MarkDomain; value: number; mask: number; form: string; range: Range; valueRange?: Range; rule: MarkRuleRef }
  /** save: ctmark = (ctmark AND NOT ctmask) XOR (mark AND nfmask); restore: the other way. */
  | { kind: 'save' | 'restore'; domain: MarkDomain; nfmask: number; ctmask: number; range: Range; rule: MarkRuleRef }
  | { kind: 'test'; domain: MarkDomain; value: number; mask: number; negated: boolean; range: Range; valueRange?: Range; rule: MarkRuleRef };

const domainName = (d: MarkDomain) => (d === 'mark' ? 'packet mark' : 'ct mark');
const refText = (r: MarkRuleRef) => (r.table === 'ip rule' ? `ip rule ${r.chain}` : `${r.chain} rule ${r.index + 1} (line ${r.range.start.line + 1})`);

/** `ip rule ... fwmark V/M` selectors as packet-mark tests (their ranges are in the routing file, not the ruleset). */
export function ipRuleMarkOps(rules: IpRule[]): MarkOp[] {
  const out: MarkOp[] = [];
  for (const r of rules) {
    if (!r.fwmark) continue;
    const ref: MarkRuleRef = { table: 'ip rule', chain: `${r.priority} (fwmark ${r.fwmark.text})`, index: -1, range: r.range };
    out.push({ kind: 'test', domain: 'mark', value: u32(r.fwmark.value), mask: u32(r.fwmark.mask), negated: r.not, range: r.fwmark.range, rule: ref });
  }
  return out;
}

function optNamed(opts: Option[], n: string): Option | undefined {
  return opts.find((o) => o.name.replace(/^-+/, '') === n);
}

function iptablesOps(table: Table, chain: Chain, rule: Rule, out: MarkOp[]) {
  const ref: MarkRuleRef = { table: table.name, chain: chain.name, index: rule.index, range: rule.range };
  for (const m of rule.matches) {
    if (m.module !== 'mark' && m.module !== 'connmark') continue;
    const o = optNamed(m.options, 'mark');
    const v = markOf(o?.values[0]);
    if (!o || !v) continue;
    out.push({ kind: 'test', domain: m.module === 'mark' ? 'mark' : 'ctmark', value: v.value, mask: v.mask, negated: o.negated, range: o.range, valueRange: o.values[0]?.range, rule: ref });
  }
  const t = ruleTarget(rule, table);
  if (t.kind !== 'target' || !t.action) return;
  const opts = t.action.options;
  const domain: MarkDomain = t.name === 'CONNMARK' ? 'ctmark' : 'mark';
  if (t.name === 'MARK' || t.name === 'CONNMARK') {
    for (const n of ['set-xmark', 'set-mark', 'and-mark', 'or-mark', 'xor-mark']) {
      const o = optNamed(opts, n);
      const v = markOf(o?.values[0]);
      if (!o || !v) continue;
      let value = v.value, mask = v.mask;
      if (n === 'set-mark') mask = u32((v.hasMask ? v.mask : FULL) | v.value);
      else if (n === 'and-mark') { value = 0; mask = u32(~v.value); }
      else if (n === 'or-mark') { value = v.value; mask = v.value; }
      else if (n === 'xor-mark') { value = v.value; mask = 0; }
      out.push({ kind: 'xmark', domain, value: u32(value), mask: u32(mask), form: `--${n} ${optText(o)}`, range: o.range, valueRange: o.values[0]?.range, rule: ref });
      return;
    }
    if (t.name === 'CONNMARK') {
      const num = (n: string) => { const o = optNamed(opts, n); return o ? parseU32(optText(o)) : undefined; };
      const mask = num('mask');
      const nf = num('nfmask') ?? mask ?? FULL;
      const ct = num('ctmask') ?? mask ?? FULL;
      const save = optNamed(opts, 'save-mark');
      const restore = optNamed(opts, 'restore-mark');
      if (save) out.push({ kind: 'save', domain: 'ctmark', nfmask: nf, ctmask: ct, range: t.action.range, rule: ref });
      else if (restore) out.push({ kind: 'restore', domain: 'mark', nfmask: nf, ctmask: ct, range: t.action.range, rule: ref });
    }
  }
  if (t.name === 'TPROXY') {
    const o = optNamed(opts, 'tproxy-mark');
    const v = markOf(o?.values[0]);
    if (o && v) out.push({ kind: 'xmark', domain: 'mark', value: v.value, mask: v.hasMask ? v.mask : FULL, form: `--tproxy-mark ${optText(o)}`, range: o.range, rule: ref });
  }
}

const NUM = '(0x[0-9a-fA-F]+|\\d+)';

function nftOps(table: Table, chain: Chain, rule: Rule, out: MarkOp[]) {
  const ref: MarkRuleRef = { table: table.name, chain: chain.name, index: rule.index, range: rule.range };
  for (const m of rule.matches) {
    const n = m.nft;
    const o = m.options[0];
    if (!n || !o || m.options.length !== 1) continue;
    const key = `${m.module} ${o.name}`;
    if (key !== 'meta mark' && key !== 'ct mark') continue;
    const domain: MarkDomain = key === 'ct mark' ? 'ctmark' : 'mark';
    const am = new RegExp(`(?:\\band|&)\\s*${NUM}\\s*$`).exec(o.flag || n.left); // nft lists `and` as `&`
    if (!am && /\b(and|or|xor)\b|[&|^]/.test(o.flag || n.left)) continue;
    const mask = am ? parseU32(am[1]) : FULL;
    const v = o.values[0];
    const value = v?.kind === 'mark' || v?.kind === 'number' ? u32(v.value) : parseU32(n.right.trim());
    if (mask === undefined || value === undefined || (n.op !== '==' && n.op !== '!=' && n.op !== 'implicit')) continue;
    out.push({ kind: 'test', domain, value, mask, negated: n.op === '!=' || o.negated, range: m.range, rule: ref });
  }
  for (const a of rule.actions) {
    const text = (a.text ?? '').trim();
    const sm = /^(?:meta )?(ct )?mark set (.+)$/.exec(text);
    if (!sm) continue;
    const domain: MarkDomain = sm[1] ? 'ctmark' : 'mark';
    const rhs = sm[2].trim().replace(/\s+(counter|comment).*$/, '').replace(/\s*&\s*/g, ' and ').replace(/\s*\|\s*/g, ' or ').replace(/\s*\^\s*/g, ' xor ');
    const other = domain === 'mark' ? 'ct mark' : 'mark';
    const self = domain === 'mark' ? '(?:meta )?mark' : 'ct mark';
    let x: RegExpExecArray | null;
    const v = parseU32(rhs);
    if (v !== undefined) { out.push({ kind: 'xmark', domain, value: v, mask: FULL, form: text, range: a.range, rule: ref }); continue; }
    if ((x = new RegExp(`^${self} or ${NUM}$`).exec(rhs))) { const b = parseU32(x[1])!; out.push({ kind: 'xmark', domain, value: b, mask: b, form: text, range: a.range, rule: ref }); continue; }
    if ((x = new RegExp(`^${self} and ${NUM}$`).exec(rhs))) { const b = parseU32(x[1])!; out.push({ kind: 'xmark', domain, value: 0, mask: u32(~b), form: text, range: a.range, rule: ref }); continue; }
    if ((x = new RegExp(`^${self} xor ${NUM}$`).exec(rhs))) { const b = parseU32(x[1])!; out.push({ kind: 'xmark', domain, value: b, mask: 0, form: text, range: a.range, rule: ref }); continue; }
    if ((x = new RegExp(`^(?:meta )?${other}(?: and ${NUM})?$`).exec(rhs))) {
      const mask = x[1] ? parseU32(x[1])! : FULL;
      out.push(domain === 'mark'
        ? { kind: 'restore', domain: 'mark', nfmask: FULL, ctmask: mask, range: a.range, rule: ref }
        : { kind: 'save', domain: 'ctmark', nfmask: mask, ctmask: FULL, range: a.range, rule: ref });
    }
  }
}

export function markOps(rs: Ruleset): MarkOp[] {
  return runSteps(markOpsSteps(rs, new TimeSlice()));
}

/** An iptables line can set or test a mark only if it says "mark" other than inside a dashed name (`-m mark`,
 *  `-j MARK`, `CONNMARK`, `--set-xmark`, `--tproxy-mark`; not `-j KUBE-MARK-MASQ`), or TPROXY (whose
 *  `--tproxy-mark` may be abbreviated). Other rules are skipped unread (reading one rebuilds it). */
const MAYBE_MARK_OP = /(?<!-)mark|mark(?!-)|tproxy/i;

function* markOpsSteps(rs: Ruleset, budget: TimeSlice): Generator<void, MarkOp[], void> {
  const out: MarkOp[] = [];
  for (const t of rs.tables) for (const c of t.chains) for (const r of c.rules) {
    if (budget.due()) yield;
    if (rs.kind === 'nft') nftOps(t, c, r, out);
    else if (r.lineText === undefined || MAYBE_MARK_OP.test(r.lineText)) iptablesOps(t, c, r, out);
  }
  return out;
}

// ------------------------------------------------------------------ the per-bit map

export type BitRole = 'set' | 'clear' | 'toggle' | 'copy' | 'test';

export interface BitEntry {
  bit: number;
  /** 1 << bit, as hex. */
  hex: string;
  uses: { role: BitRole; op: MarkOp }[];
}

export interface MarkMap {
  mark: BitEntry[];
  ctmark: BitEntry[];
  ops: MarkOp[];
}

/** For every bit of the packet mark and ct mark that some rule touches: who sets, clears, toggles, copies into, and tests it. */
export function markMap(rs: Ruleset, ops = markOps(rs)): MarkMap {
  const mk = (): Map<number, BitEntry> => new Map();
  const dom: Record<MarkDomain, Map<number, BitEntry>> = { mark: mk(), ctmark: mk() };
  const add = (d: MarkDomain, bits: number, role: BitRole, op: MarkOp) => {
    for (const b of bitsOf(bits)) {
      const e = dom[d].get(b) ?? { bit: b, hex: hex(u32(1 << b)), uses: [] };
      e.uses.push({ role, op });
      dom[d].set(b, e);
    }
  };
  for (const op of ops) {
    if (op.kind === 'test') add(op.domain, op.mask, 'test', op);
    else if (op.kind === 'xmark') {
      add(op.domain, op.value & op.mask, 'set', op);
      add(op.domain, op.mask & ~op.value, 'clear', op);
      add(op.domain, op.value & ~op.mask, 'toggle', op);
    } else if (op.kind === 'save') add('ctmark', op.nfmask | op.ctmask, 'copy', op);
    else add('mark', op.nfmask | op.ctmask, 'copy', op);
  }
  const sorted = (m: Map<number, BitEntry>) => [...m.values()].sort((a, b) => a.bit - b.bit);
  return { mark: sorted(dom.mark), ctmark: sorted(dom.ctmark), ops };
}

/** The map as text, one line per bit (for a command or the CLI). */
export function markMapText(map: MarkMap): string {
  const lines: string[] = [];
  for (const d of ['mark', 'ctmark'] as const) {
    if (!map[d].length) continue;
    lines.push(`${domainName(d)}:`);
    for (const e of map[d]) {
      const by = (role: BitRole) => e.uses.filter((u) => u.role === role).map((u) => refText(u.op.rule));
      const parts = (['set', 'clear', 'toggle', 'copy', 'test'] as BitRole[]).map((r) => [r, by(r)] as const).filter(([, xs]) => xs.length).map(([r, xs]) => `${r}: ${[...new Set(xs)].join(', ')}`);
      lines.push(`  ${e.hex.padEnd(10)} ${parts.join('; ')}`);
    }
  }
  return lines.join('\n');
}

// ------------------------------------------------------------------ diagnostics

function setBits(ops: MarkOp[], d: MarkDomain): number {
  let x = 0;
  for (const o of ops) if (o.kind === 'xmark' && o.domain === d) x |= (o.value & o.mask) | (o.value & ~o.mask);
  return u32(x);
}

/** Bits a test needs to be 1 (tests for 0 hold on a fresh mark, whoever sets nothing). */
function neededBits(ops: MarkOp[], d: MarkDomain): number {
  let x = 0;
  for (const o of ops) if (o.kind === 'test' && o.domain === d) x |= o.value & o.mask;
  return u32(x);
}

/** Bits any test looks at. */
function testBits(ops: MarkOp[], d: MarkDomain): number {
  let x = 0;
  for (const o of ops) if (o.kind === 'test' && o.domain === d) x |= o.mask;
  return u32(x);
}

function copyBits(ops: MarkOp[], kind: 'save' | 'restore'): number {
  let x = 0;
  for (const o of ops) if (o.kind === kind) x |= o.nfmask & o.ctmask;
  return u32(x);
}

export interface MarkAnalysisOptions {
  /** Tests outside the ruleset (ipRuleMarkOps of the node's `ip rule`): they count as readers of bits. */
  external?: MarkOp[];
}

function ownersText(xs: string[]): string {
  return xs.length > 4 ? `${xs.slice(0, 4).join(', ')} and ${xs.length - 4} more` : xs.join(', ');
}

export function analyzeMarks(rs: Ruleset, opts: MarkAnalysisOptions = {}): Diagnostic[] {
  return runSteps(analyzeMarksSteps(rs, opts));
}

/** analyzeMarks in steps (collecting the mark operations walks every rule); same result. */
export function* analyzeMarksSteps(rs: Ruleset, opts: MarkAnalysisOptions = {}): Generator<void, Diagnostic[], void> {
  const own = yield* markOpsSteps(rs, new TimeSlice());
  const external = new Set(opts.external ?? []);
  const ops = [...own, ...external];
  const out: Diagnostic[] = [];
  const iptables = rs.kind !== 'nft';
  for (const op of own) {
    if (op.kind === 'test' && u32(op.value & ~op.mask)) {
      const outside = u32(op.value & ~op.mask);
      const fixes: QuickFix[] = [];
      if (op.valueRange && iptables) {
        fixes.push({ title: `Test exactly the value's bits: ${hex(op.value)}/${hex(op.value)}`, edits: [{ range: op.valueRange, newText: `${hex(op.value)}/${hex(op.value)}` }] });
        fixes.push({ title: `Widen the mask: ${hex(op.value)}/${hex(op.value | op.mask)}`, edits: [{ range: op.valueRange, newText: `${hex(op.value)}/${hex(u32(op.value | op.mask))}` }] });
      }
      out.push(withFixes({
        range: op.range, severity: op.negated ? 'warning' : 'error', code: 'mark-mask-never-matches',
        message: `${domainName(op.domain)} test ${hex(op.value)}/${hex(op.mask)}: bits ${hex(outside)} of the value lie outside the mask, and (${op.domain} AND ${hex(op.mask)}) can never equal ${hex(op.value)}, so the test ${op.negated ? 'always holds (it is negated)' : 'never matches'}`,
      }, fixes));
    }
    if (op.kind === 'xmark' && op.form.startsWith('--set-xmark') && op.mask !== 0 && u32(op.value & ~op.mask)) {
      const tog = u32(op.value & ~op.mask);
      const fixes: QuickFix[] = op.valueRange ? [{ title: `Set the bits instead: ${hex(op.value)}/${hex(u32(op.value | op.mask))}`, edits: [{ range: op.valueRange, newText: `${hex(op.value)}/${hex(u32(op.value | op.mask))}` }] }] : [];
      out.push(withFixes({
        range: op.range, severity: 'warning', code: 'mark-xor-toggles',
        message: `--set-xmark ${hex(op.value)}/${hex(op.mask)}: bits ${hex(tog)} of the value lie outside the mask, so they are toggled (flipped), not set: a packet that already has them loses them`,
      }, fixes));
    }
  }
  // Whole-mark overwrites where other rules own other bits.
  for (const op of own) {
    if (op.kind !== 'xmark' || op.mask !== FULL) continue;
    const owners = new Map<number, Set<string>>();
    for (const o of ops) {
      if (o === op || o.domain !== op.domain || (o.rule.chain === op.rule.chain && o.rule.index === op.rule.index && o.rule.table === op.rule.table)) continue;
      let bits = 0;
      // Whole-mark values (tests and writes with mask 0xffffffff) are a value scheme, not bit ownership.
      if (o.kind === 'test') bits = o.mask === FULL ? 0 : o.mask;
      else if (o.kind === 'xmark') bits = o.mask === FULL ? 0 : o.value | o.mask;
      else bits = u32(o.nfmask & o.ctmask) === FULL ? 0 : o.nfmask & o.ctmask;
      bits = u32(bits & ~op.value);
      for (const b of bitsOf(bits)) {
        const s = owners.get(b) ?? new Set<string>();
        s.add(`${o.kind === 'test' ? 'tested' : o.kind === 'xmark' ? 'written' : 'copied'} by ${refText(o.rule)}`);
        owners.set(b, s);
      }
    }
    if (!owners.size) continue;
    const bits = [...owners.keys()].sort((a, b) => a - b);
    const all = u32(bits.reduce((x, b) => x | (1 << b), 0));
    const usedBits = (o: MarkOp): number => (o.kind === 'test' ? (o.mask === FULL ? 0 : o.mask) : o.kind === 'xmark' ? (o.mask === FULL ? 0 : o.value | o.mask) : 0);
    const related = own.filter((o) => o !== op && o.domain === op.domain && u32(usedBits(o) & all))
      .slice(0, 8).map((o) => ({ range: o.range, message: `${o.kind === 'test' ? 'tests' : 'writes'} ${domainName(o.domain)} bits ${hex(u32(usedBits(o) & all))}` }));
    out.push({
      range: op.range, severity: 'warning', code: 'mark-clobber',
      message: `${op.form} overwrites the whole ${domainName(op.domain)} with ${hex(op.value)}, clearing bits ${hex(all)} that other rules use (${bits.map((b) => `${hex(u32(1 << b))}: ${ownersText([...owners.get(b)!])}`).join('; ')}); ${op.domain === 'mark' ? '--set-xmark' : 'CONNMARK --set-xmark'} ${hex(op.value)}/${hex(op.value)} would set only its own bits`,
      related,
    });
  }
  // Bits tested but never set, set but never tested; save/restore masks that miss tested bits.
  for (const d of ['mark', 'ctmark'] as const) {
    const other: MarkDomain = d === 'mark' ? 'ctmark' : 'mark';
    const written = ops.some((o) => o.kind !== 'test' && o.domain === d);
    const tested = testBits(ops, d);
    const needed = neededBits(ops, d);
    const set = setBits(ops, d);
    const copiedIn = copyBits(ops, d === 'mark' ? 'restore' : 'save');
    const copies = ops.filter((o) => o.kind === (d === 'mark' ? 'restore' : 'save'));
    const otherSet = setBits(ops, other);
    if (written) {
      const missing = u32(needed & ~set & ~copiedIn);
      for (const b of bitsOf(missing)) {
        const bit = u32(1 << b);
        const tests = ops.filter((o) => o.kind === 'test' && o.domain === d && o.value & o.mask & bit);
        if (copies.length && otherSet & bit) {
          for (const c of copies.filter((x) => !external.has(x))) {
            out.push({
              range: c.range, severity: 'warning', code: 'connmark-mask-misses',
              message: `${c.kind === 'save' ? '--save-mark' : '--restore-mark'} copies bits ${hex(c.kind === 'save' || c.kind === 'restore' ? u32(c.nfmask & c.ctmask) : 0)} only, but bit ${hex(bit)} is set on the ${domainName(other)} and tested on the ${domainName(d)} (${refText(tests[0].rule)}): no rule carries it over`,
              related: tests.slice(0, 4).map((t) => ({ range: t.range, message: `tests ${domainName(d)} bit ${hex(bit)}` })),
            });
          }
          continue;
        }
        for (const t of tests) {
          if (external.has(t)) continue;
          out.push({ range: t.range, severity: 'hint', code: 'mark-bit-never-set', message: `${domainName(d)} bit ${hex(bit)} is tested here but no rule in this file sets it${copies.length ? ' or copies it in' : ''} (it may come from outside: a socket mark, another tool)` });
        }
      }
    }
    if (tested) {
      const copiedOut = copyBits(ops, d === 'mark' ? 'save' : 'restore');
      const unused = u32(set & ~tested & ~copiedOut);
      for (const b of bitsOf(unused)) {
        const bit = u32(1 << b);
        for (const w of ops.filter((o) => o.kind === 'xmark' && o.domain === d && o.value & bit)) {
          out.push({ range: w.range, severity: 'hint', code: 'mark-bit-never-tested', message: `${domainName(d)} bit ${hex(bit)} is set here but no rule in this file tests it${d === 'mark' ? ' (it may be meant for ip rule fwmark or tc)' : ''}` });
        }
      }
    }
  }
  out.push(...restoreAfterRouting(rs, own));
  return out;
}

/** Restoring the packet mark from the ct mark only steers routing (ip rule fwmark) before the routing
 *  decision: at PREROUTING or OUTPUT (seed 004's hook table). Reached only after routing, it is too late
 *  for this packet's route. A hint: tc or later rules may still read the mark. */
function restoreAfterRouting(rs: Ruleset, own: MarkOp[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const restores = own.filter((o) => o.kind === 'restore');
  if (!restores.length) return out;
  for (const t of rs.tables) {
    const mine = restores.filter((o) => o.rule.table === t.name);
    if (!mine.length) continue;
    const reach = hookReach(chainGraph(t).graph);
    for (const o of mine) {
      const hooks = reach.hooksOf(o.rule.chain);
      if (!hooks.length || hooks.some((h) => h === 'prerouting' || h === 'output')) continue;
      out.push({
        range: o.range, severity: 'hint', code: 'mark-restore-after-routing',
        message: `the packet mark is restored from the ct mark in ${o.rule.chain}, which runs only at ${hooks.map((h) => HOOK_CHAIN[h]).join(', ')}: after the routing decision, so ip rule fwmark does not see it for this packet; restore it at PREROUTING/OUTPUT to steer routing`,
      });
    }
  }
  return out;
}

export type { Match, Action };
