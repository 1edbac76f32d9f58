// Rules no packet can reach: after a rule that ends the chain for every packet (unreachable), or
// whose match set lies inside an earlier ending rule's (shadowed; redundant when both do the same).
// Rules in between that rewrite what the earlier rule tested (MARK, CONNMARK, unknown targets, and
// the chains they jump to) are followed: the earlier rule then no longer counts.
import type { Chain, Diagnostic, Rule, Ruleset, Table } from '../model/ruleset';
import { chainDfs, chainGraph, chainGraphSteps, type ChainGraph } from './chain-graph';
import { boxMinus, boxOf, isUnconditional, nftRuleSpace, ruleSpace, spaceWithin, testedBits, withinExceptBox, type Box, type Space } from './match-space';
import { removeRuleFix, withFixes } from './quick-fixes';
import { isEndingTarget, markOf, optText, ruleTarget, type RuleTarget } from './rule-facts';
import { runSteps, TimeSlice } from '../steps';

/** Targets that change nothing the match space models. */
const NEUTRAL_TARGETS = new Set([
  'LOG', 'NFLOG', 'ULOG', 'TRACE', 'AUDIT', 'CT', 'NOTRACK', 'CLASSIFY', 'TCPMSS', 'DSCP', 'TOS', 'TTL', 'HL', 'ECN',
  'IDLETIMER', 'LED', 'SET', 'RATEEST', 'CHECKSUM', 'TEE', 'SECMARK', 'CONNSECMARK', 'TCPOPTSTRIP', 'JOURNAL',
]);

export interface Mods {
  mark: number;
  ctmark: number;
  /** Could change anything (an unknown target). */
  any: boolean;
}

const FULL = 0xffffffff;

function optVal(t: RuleTarget, name: string): string | undefined {
  const o = t.action?.options.find((x) => x.name.replace(/^-+/, '') === name);
  return o ? optText(o) || '' : undefined;
}

/** What one rule's own target may change. */
export function targetMods(t: RuleTarget): Mods {
  const m: Mods = { mark: 0, ctmark: 0, any: false };
  if (t.kind !== 'target') return m;
  if (NEUTRAL_TARGETS.has(t.name) || isEndingTarget(t)) return m;
  const opts = t.action?.options ?? [];
  const val = (n: string) => markOf(opts.find((o) => o.name.replace(/^-+/, '') === n)?.values[0]);
  if (t.name === 'MARK' || t.name === 'CONNMARK') {
    const key = t.name === 'MARK' ? 'mark' : 'ctmark';
    let bits = 0;
    let known = false;
    for (const n of ['set-xmark', 'set-mark', 'and-mark', 'or-mark', 'xor-mark']) {
      const v = val(n);
      if (!v) continue;
      known = true;
      if (n === 'set-xmark') bits |= v.mask | v.value;
      else if (n === 'set-mark') bits |= (v.hasMask ? v.mask : FULL) | v.value;
      else if (n === 'and-mark') bits |= ~v.value;
      else bits |= v.value;
    }
    if (known) { m[key] = bits >>> 0; return m; }
    if (t.name === 'CONNMARK') {
      const mask = val('mask')?.value;
      const nf = val('nfmask')?.value ?? mask ?? FULL;
      const ct = val('ctmask')?.value ?? mask ?? FULL;
      if (optVal(t, 'save-mark') !== undefined) { m.ctmark = ct >>> 0; return m; }
      if (optVal(t, 'restore-mark') !== undefined) { m.mark = nf >>> 0; return m; }
    }
  }
  m.any = true;
  return m;
}

/** What an nft rule's statements may change (mark writes parsed; other known statements change nothing modelled). */
function nftMods(rule: Rule, chainMods: (name: string) => Mods): Mods {
  const m: Mods = { mark: 0, ctmark: 0, any: false };
  for (const a of rule.actions) {
    if (a.kind === 'jump' || a.kind === 'goto') {
      const c = chainMods(a.chain ?? '');
      m.mark |= c.mark; m.ctmark |= c.ctmark; m.any ||= c.any;
      continue;
    }
    if (a.kind === 'verdict') continue;
    if (a.name === 'mark-set' || a.name === 'ct-mark-set') {
      const key = a.name === 'mark-set' ? 'mark' : 'ctmark';
      const x = /(\bor|\bxor|\band|[|^&])\s*(0x[0-9a-fA-F]+|\d+)\s*$/.exec(a.text ?? '');
      const n = x ? Number(x[2]) >>> 0 : FULL;
      m[key] = (m[key] | (x && (x[1] === 'and' || x[1] === '&') ? ~n : n)) >>> 0;
      continue;
    }
    if (a.name === 'vmap') {
      for (const e of a.vmap?.entries ?? []) if (e.chain) { const c = chainMods(e.chain); m.mark |= c.mark; m.ctmark |= c.ctmark; m.any ||= c.any; }
      continue;
    }
    if (['counter', 'log', 'notrack', 'reject', 'dnat', 'snat', 'masquerade', 'redirect', 'queue', 'limit', 'quota'].includes(a.name) || (a.name.endsWith('-set') && !a.name.includes('mark'))) continue;
    m.any = true;
  }
  m.mark >>>= 0;
  m.ctmark >>>= 0;
  return m;
}

export interface ChainFacts {
  graph: ChainGraph;
  /** The rule's match space and target, worked out on each call: kept for every rule of a 750 000-line
   *  dump they would hold hundreds of megabytes (callers keep what one chain needs). */
  space(rule: Rule): Space;
  target(rule: Rule): RuleTarget;
  /** Every packet entering the chain ends in an absolute verdict there (never returns). */
  alwaysEnds(chain: string): boolean;
  /** Everything the chain (and what it calls) may change. */
  chainMods(chain: string): Mods;
  /** What one rule may change (its target, and the chains it jumps to). */
  ruleMods(rule: Rule, target?: RuleTarget): Mods;
}

const ABSOLUTE = new Set(['ACCEPT', 'DROP', 'REJECT', 'QUEUE', 'NFQUEUE', 'DNAT', 'SNAT', 'MASQUERADE', 'REDIRECT', 'NETMAP', 'TPROXY', 'SYNPROXY']);

export function chainFacts(table: Table, family: 'ip' | 'ip6', graph = chainGraph(table).graph, nft = false): ChainFacts {
  return runSteps(chainFactsSteps(table, family, graph, nft, new TimeSlice()));
}

/** chainFacts in steps: the per-chain memos (what each chain may change, whether it always ends) filled
 *  callees first, a slice at a time. */
function* chainFactsSteps(table: Table, family: 'ip' | 'ip6', graph: ChainGraph, nft: boolean, budget: TimeSlice): Generator<void, ChainFacts, void> {
  const space = (r: Rule): Space => (nft ? nftRuleSpace(r) : ruleSpace(r, family));
  const target = (r: Rule): RuleTarget => ruleTarget(r, table, graph.chains);
  const endsMemo = new Map<string, boolean>();
  const modsMemo = new Map<string, Mods>();
  const alwaysEnds = (name: string): boolean => {
    if (endsMemo.has(name)) return endsMemo.get(name)!;
    endsMemo.set(name, false); // cycle guard
    const c = graph.chains.get(name);
    let res = false;
    if (c && !c.builtin && c.hook === undefined) {
      for (const r of c.rules) {
        const t = target(r);
        const absolute = ((t.kind === 'verdict' || t.kind === 'target') && ABSOLUTE.has(t.name)) || ((t.kind === 'jump' || t.kind === 'goto') && alwaysEnds(t.name));
        if (absolute && isUnconditional(space(r))) { res = true; break; }
        if (absolute) continue;
        // A packet may leave the chain here without an absolute verdict.
        if ((t.kind === 'verdict' && t.name === 'RETURN') || t.kind === 'goto') break;
      }
    }
    endsMemo.set(name, res);
    return res;
  };
  const chainMods = (name: string): Mods => {
    if (modsMemo.has(name)) return modsMemo.get(name)!;
    const acc: Mods = { mark: 0, ctmark: 0, any: false };
    modsMemo.set(name, acc);
    const c = graph.chains.get(name);
    if (!c) { acc.any = true; return acc; }
    for (const r of c.rules) {
      const m = ruleMods(r);
      acc.mark = (acc.mark | m.mark) >>> 0;
      acc.ctmark = (acc.ctmark | m.ctmark) >>> 0;
      acc.any ||= m.any;
    }
    return acc;
  };
  const ruleMods = (r: Rule, t?: RuleTarget): Mods => {
    if (nft) return nftMods(r, chainMods);
    t ??= target(r);
    return t.kind === 'jump' || t.kind === 'goto' ? chainMods(t.name) : targetMods(t);
  };
  // Fill the memos callees first, a slice at a time: otherwise the first rule that jumps computes the
  // whole call tree at once (0.6 s on a kube nat table, in one step). Chains that reach a jump loop are
  // left to the findings loop: there the cycle guard makes the answer depend on the order of the calls.
  for (const name of yield* loopFreePostOrder(graph, budget)) {
    if (budget.due()) yield;
    alwaysEnds(name);
    chainMods(name);
  }
  return { graph, space, target, alwaysEnds, chainMods, ruleMods };
}

/** The chains that reach no jump loop, each after every chain it jumps to (iterative DFS). */
function* loopFreePostOrder(g: ChainGraph, budget: TimeSlice): Generator<void, string[], void> {
  const order: string[] = [];
  const looping = new Set<string>();
  yield* chainDfs(
    g,
    budget,
    (e, to, stack) => {
      if (to === 1 || (to === 2 && looping.has(e.to.name))) looping.add(stack[stack.length - 1].name);
    },
    (name, stack) => {
      if (!looping.has(name)) order.push(name);
      else if (stack.length) looping.add(stack[stack.length - 1].name);
    },
  );
  return order;
}

/** The packet leaves the chain whenever this rule matches. */
function ends(f: ChainFacts, t: RuleTarget): boolean {
  if (isEndingTarget(t)) return true;
  return t.kind === 'jump' && f.alwaysEnds(t.name);
}

function verdictKey(t: RuleTarget): string {
  if (t.kind === 'target') return `${t.name} ${(t.action?.options ?? []).map((o) => `${o.flag} ${optText(o)}`).join(' ')}`;
  return `${t.kind} ${t.name}`;
}

function verdictText(t: RuleTarget): string {
  if (t.kind === 'none') return 'no target';
  if (t.action?.text !== undefined && t.kind === 'verdict') return t.action.name; // nft verdict
  if (t.action?.text !== undefined && (t.kind === 'jump' || t.kind === 'goto')) return `${t.kind} ${t.name}`;
  if (t.action?.text) { // nft: the statement as written
    const one = t.action.text.split('\n')[0].trim();
    return one.length > 60 || t.action.text.includes('\n') ? `${one.slice(0, 57)}...` : one;
  }
  if (t.kind === 'goto') return `-g ${t.name}`;
  return `-j ${t.name}`;
}

export interface OrderFinding {
  code: 'unreachable-rule' | 'shadowed-rule' | 'redundant-rule' | 'generalizes-rule';
  chain: Chain;
  rule: Rule;
  /** The earlier rule responsible. */
  by: Rule;
  /** When several earlier rules together cover this one: all of them (`by` is the last). */
  byAll?: Rule[];
}

export function ruleOrderFindings(table: Table, family: 'ip' | 'ip6', facts = chainFacts(table, family), nftCommands = false): OrderFinding[] {
  return runSteps(ruleOrderFindingsSteps(table, family, facts, nftCommands, new TimeSlice()));
}

function* ruleOrderFindingsSteps(table: Table, family: 'ip' | 'ip6', facts: ChainFacts, nftCommands: boolean, budget: TimeSlice): Generator<void, OrderFinding[], void> {
  const out: OrderFinding[] = [];
  // Pairs compared per table: bounds the time on 6000-rule chains. Beyond it rules are left unjudged
  // (never claimed hidden).
  const MAX_PAIRS = 2_000_000;
  const UNION_MAX_RULES = 300;
  let pairs = 0;
  for (const chain of table.chains) {
    // nft `add/insert rule ... index|position|handle N` commands: the model cannot be sure of the order.
    if (nftCommands && chain.rules.some((r) => r.op !== undefined)) continue;
    const rules = chain.rules;
    // This chain's spaces and targets, by rule index (each rule read once here).
    const spaces: Space[] = new Array(rules.length);
    const targets: RuleTarget[] = new Array(rules.length);
    const spaceOf = (b: Rule): Space => spaces[b.index] ?? facts.space(b);
    const targetOf = (b: Rule): RuleTarget => targets[b.index] ?? facts.target(b);
    // Last rule index that may have changed each mark bit (or anything), scanning forward.
    const lastMark = new Array<number>(32).fill(-1);
    const lastCt = new Array<number>(32).fill(-1);
    let lastAny = -1;
    const enders: Rule[] = [];
    let cut: Rule | undefined;
    const fam = (x: Space): 'ip' | 'ip6' => x.nfproto ?? family;
    /** A rule between `b` and here may have changed what `b` tests. */
    const movedSince = (b: Rule, sb: Space): boolean => {
      const tb = testedBits(sb);
      const hasTests = tb.mark || tb.ctmark || sb.src || sb.dst || sb.proto || sb.dport || sb.sport || sb.uid || sb.gid || sb.iif.length || sb.oif.length || sb.ctstate !== undefined;
      if (lastAny > b.index && hasTests) return true;
      for (let bit = 0; bit < 32; bit++) {
        if ((tb.mark >>> bit) & 1 && lastMark[bit] > b.index) return true;
        if ((tb.ctmark >>> bit) & 1 && lastCt[bit] > b.index) return true;
      }
      return false;
    };
    for (let i = 0; i < rules.length; i++) {
      if (budget.due()) yield;
      const a = rules[i];
      const sa = (spaces[i] = facts.space(a));
      const ta = (targets[i] = facts.target(a));
      let hidden = false;
      if (cut) {
        out.push({ code: 'unreachable-rule', chain, rule: a, by: cut });
      } else if (!sa.empty) {
        for (const b of enders) {
          if (++pairs > MAX_PAIRS) break;
          const sb = spaceOf(b);
          if (!spaceWithin(sa, sb, family)) continue;
          const tb = testedBits(sb);
          const hasTests = tb.mark || tb.ctmark || sb.src || sb.dst || sb.proto || sb.dport || sb.sport || sb.uid || sb.gid || sb.iif.length || sb.oif.length || sb.ctstate !== undefined;
          if (lastAny > b.index && hasTests) continue;
          let moved = false;
          for (let bit = 0; bit < 32 && !moved; bit++) {
            if ((tb.mark >>> bit) & 1 && lastMark[bit] > b.index) moved = true;
            if ((tb.ctmark >>> bit) & 1 && lastCt[bit] > b.index) moved = true;
          }
          if (moved) continue;
          const same = verdictKey(ta) === verdictKey(targetOf(b));
          out.push({ code: same ? 'redundant-rule' : 'shadowed-rule', chain, rule: a, by: b });
          hidden = true;
          break;
        }
        // Covered by several earlier rules together (10.0.0.0/9 and 10.128.0.0/9 before 10.1.1.1):
        // subtract each earlier box from this rule's box; nothing left means no packet gets here.
        // Box arithmetic is dearer than one containment test: chains up to UNION_MAX_RULES only.
        if (!hidden && enders.length > 1 && rules.length <= UNION_MAX_RULES) {
          let rest: Box[] = [boxOf(sa, fam(sa))];
          const used: Rule[] = [];
          for (const b of enders) {
            if (++pairs > MAX_PAIRS || rest.length > 64) break;
            const sb = spaceOf(b);
            if (!withinExceptBox(sa, sb, family)) continue;
            if (movedSince(b, sb)) continue;
            const bb = boxOf(sb, fam(sa));
            const next = rest.flatMap((r) => boxMinus(r, bb, fam(sa)));
            if (next.length === rest.length && next.every((x, k) => x === rest[k])) continue;
            used.push(b);
            rest = next;
            if (!rest.length) break;
          }
          if (!rest.length && used.length > 1) {
            const same = used.every((b) => verdictKey(targetOf(b)) === verdictKey(ta));
            out.push({ code: same ? 'redundant-rule' : 'shadowed-rule', chain, rule: a, by: used[used.length - 1], byAll: used });
            hidden = true;
          }
        }
        // Generalization: an earlier rule with another verdict is a special case of this one (an
        // exception carved out of it). Catch-all rules are left out: every policy-like last rule is one.
        if (!hidden && ends(facts, ta) && !sa.unknown.length && !isUnconditional(sa)) {
          const ta2 = testedBits(sa);
          for (const b of enders) {
            if (++pairs > MAX_PAIRS) break;
            const sb = spaceOf(b);
            if (verdictKey(ta) === verdictKey(targetOf(b)) || !spaceWithin(sb, sa, family)) continue;
            let moved = lastAny > b.index;
            for (let bit = 0; bit < 32 && !moved; bit++) {
              if ((ta2.mark >>> bit) & 1 && lastMark[bit] > b.index) moved = true;
              if ((ta2.ctmark >>> bit) & 1 && lastCt[bit] > b.index) moved = true;
            }
            if (moved) continue;
            out.push({ code: 'generalizes-rule', chain, rule: a, by: b });
            break;
          }
        }
      }
      // Record what this rule changes for the rules after it.
      const m = facts.ruleMods(a, ta);
      for (let bit = 0; bit < 32; bit++) {
        if ((m.mark >>> bit) & 1) lastMark[bit] = i;
        if ((m.ctmark >>> bit) & 1) lastCt[bit] = i;
      }
      if (m.any) lastAny = i;
      if (!cut && ends(facts, ta) && !sa.empty && !sa.unknown.length) {
        if (isUnconditional(sa)) cut = a;
        else enders.push(a);
      }
    }
  }
  return out;
}

export function ruleOrderDiagnostics(table: Table, family: 'ip' | 'ip6', facts: ChainFacts = chainFacts(table, family), nft = false): Diagnostic[] {
  return runSteps(ruleOrderDiagnosticsSteps(table, family, facts, nft, new TimeSlice()));
}

function* ruleOrderDiagnosticsSteps(table: Table, family: 'ip' | 'ip6', facts: ChainFacts, nft: boolean, budget: TimeSlice): Generator<void, Diagnostic[], void> {
  const out: Diagnostic[] = [];
  const ref = (r: Rule, c: Chain) => `rule ${r.index + 1} of ${c.name} (line ${r.range.start.line + 1})`;
  for (const f of yield* ruleOrderFindingsSteps(table, family, facts, nft, budget)) {
    const tb = facts.target(f.by);
    const byText = `${ref(f.by, f.chain)}${tb ? ` (${verdictText(tb)})` : ''}`;
    let d: Diagnostic;
    if (f.code === 'unreachable-rule') {
      d = {
        range: f.rule.range, severity: 'warning', code: 'unreachable-rule',
        message: `unreachable: ${byText} matches every packet and ends the chain, so no packet gets here`,
        related: [{ range: f.by.range, message: 'this rule matches every packet and ends the chain' }],
      };
    } else if (f.byAll) {
      const nums = f.byAll.map((r) => String(r.index + 1));
      const list = `rules ${nums.slice(0, -1).join(', ')} and ${nums[nums.length - 1]} of ${f.chain.name} (lines ${f.byAll.map((r) => r.range.start.line + 1).join(', ')})`;
      d = {
        range: f.rule.range, severity: f.code === 'shadowed-rule' ? 'warning' : 'information', code: f.code,
        message: f.code === 'shadowed-rule'
          ? `shadowed: the earlier ${list} together take every packet this rule matches, so it never matches`
          : `redundant: the earlier ${list} together already do the same to every packet this rule matches`,
        related: f.byAll.map((r) => ({ range: r.range, message: 'covers part of the later rule\'s packets' })),
      };
    } else if (f.code === 'shadowed-rule') {
      d = {
        range: f.rule.range, severity: 'warning', code: 'shadowed-rule',
        message: `shadowed: every packet this rule matches is already taken by ${byText}, so it never matches`,
        related: [{ range: f.by.range, message: 'this earlier rule matches every packet the shadowed rule matches' }],
      };
    } else if (f.code === 'generalizes-rule') {
      out.push({
        range: f.rule.range, severity: 'information', code: 'generalizes-rule',
        message: `generalizes ${byText}: every packet that rule matches would also match this one, which does something else; that earlier rule is an exception to this one (check the order is intended)`,
        related: [{ range: f.by.range, message: 'the earlier, narrower rule with another verdict' }],
      });
      continue;
    } else {
      d = {
        range: f.rule.range, severity: 'information', code: 'redundant-rule',
        message: `redundant: ${byText} already does the same to every packet this rule matches`,
        related: [{ range: f.by.range, message: 'this earlier rule covers it with the same verdict' }],
      };
    }
    out.push(withFixes(d, [removeRuleFix(f.rule, f.code === 'redundant-rule' ? 'redundant rule' : 'unreachable rule')]));
  }
  return out;
}

export function analyzeRuleOrder(rs: Ruleset): Diagnostic[] {
  return runSteps(analyzeRuleOrderSteps(rs));
}

/** analyzeRuleOrder in steps of about 25 ms (for the language server); same result. */
export function* analyzeRuleOrderSteps(rs: Ruleset): Generator<void, Diagnostic[], void> {
  const budget = new TimeSlice();
  const out: Diagnostic[] = [];
  const nft = rs.kind === 'nft';
  for (const t of rs.tables) {
    const fam = nft ? (t.family === 'ip6' ? 'ip6' : 'ip') : rs.family === 'ip6' ? 'ip6' : 'ip';
    const { graph } = yield* chainGraphSteps(t, undefined, budget);
    const facts = yield* chainFactsSteps(t, fam, graph, nft, budget);
    for (const d of yield* ruleOrderDiagnosticsSteps(t, fam, facts, nft, budget)) out.push(d);
  }
  return out;
}
