// The chain graph of each table: who jumps where, undefined targets and jump loops.
import { lineRange, type Action, type Chain, type Diagnostic, type Range, type Ruleset, type Table } from '../model/ruleset';
import { jumpFromLine } from '../model/iptables-line-jump';
import { KNOWN_TARGETS } from './rule-facts';
import { declareChainFix, withFixes } from './quick-fixes';
import { runSteps, TimeSlice } from '../steps';

export interface ChainEdge {
  from: Chain;
  to: Chain;
  kind: 'jump' | 'goto';
  range: Range;
  ruleIndex: number;
}

export interface ChainGraph {
  table: Table;
  chains: Map<string, Chain>;
  edges: ChainEdge[];
  /** Edges leaving each chain, by chain name. */
  out: Map<string, ChainEdge[]>;
  /** Edges entering each chain, by chain name. */
  into: Map<string, ChainEdge[]>;
}

// Several analyses ask for the same table's graph; the model is immutable once built, so one per table.
const graphCache = new WeakMap<Table, { graph: ChainGraph; diagnostics: Diagnostic[] }>();
const graphCacheWithFixes = new WeakMap<Table, { graph: ChainGraph; diagnostics: Diagnostic[] }>();

export function chainGraph(table: Table, rs?: Ruleset): { graph: ChainGraph; diagnostics: Diagnostic[] } {
  return runSteps(chainGraphSteps(table, rs));
}

/** chainGraph in steps (the graph of a kube dump's nat table takes most of a second); same cache. */
export function* chainGraphSteps(table: Table, rs?: Ruleset, budget = new TimeSlice()): Generator<void, { graph: ChainGraph; diagnostics: Diagnostic[] }, void> {
  const cache = rs ? graphCacheWithFixes : graphCache;
  let hit = cache.get(table);
  if (!hit) {
    // Without fixes it is the same graph (checkText builds the one with fixes first): one graph per table,
    // not two, on 300 000-rule dumps. Only the diagnostics lose their `fixes`.
    const full = rs ? undefined : graphCacheWithFixes.get(table);
    hit = full ? { graph: full.graph, diagnostics: full.diagnostics.map(withoutFixes) } : yield* buildChainGraph(table, rs, budget);
    cache.set(table, hit);
  }
  return hit;
}

/** Lets go of the table's cached graph (and what is cached per graph, such as hook reach): on a kube dump
 *  it is as big as the model, and the passes that share it are done once checkText returns. */
export function forgetChainGraph(table: Table): void {
  graphCache.delete(table);
  graphCacheWithFixes.delete(table);
}

function withoutFixes(d: Diagnostic): Diagnostic {
  if (!('fixes' in d)) return d;
  const { fixes: _, ...rest } = d as Diagnostic & { fixes?: unknown };
  return rest;
}

function* buildChainGraph(table: Table, rs: Ruleset | undefined, budget: TimeSlice): Generator<void, { graph: ChainGraph; diagnostics: Diagnostic[] }, void> {
  const chains = new Map<string, Chain>();
  for (const c of table.chains) chains.set(c.name, c);
  const edges: ChainEdge[] = [];
  const diagnostics: Diagnostic[] = [];
  const out = new Map<string, ChainEdge[]>();
  const into = new Map<string, ChainEdge[]>();
  const targets: { name: string; range: Range; kind: 'jump' | 'goto' }[] = [];
  for (const c of table.chains) {
    for (const r of c.rules) {
      if (budget.due()) yield;
      // A rule kept as its line: its jump is read from its words when they are plain (reading its actions
      // would rebuild it); the model reads them the same way (iptables-line-jump.ts).
      const lt = r.lineText;
      const plain = lt !== undefined ? jumpFromLine(lt, 0, lt.length) : undefined;
      if (plain?.kind === 'none') continue;
      const actions: readonly ({ kind: Action['kind']; chain?: string; chainRange?: Range; nameRange?: Range; vmap?: Action['vmap'] })[] =
        plain && plain.kind !== 'unsure'
          ? [{ kind: plain.kind, chain: plain.name, chainRange: lineRange(r.range.start.line, r.range.start.character + plain.column, r.range.start.character + plain.column + plain.name.length) }]
          : r.actions;
      for (const a of actions) {
        targets.length = 0;
        // Until the rule builder knows every target, `-j TPROXY` may arrive as a jump to a chain.
        const isTarget = a.kind === 'jump' && a.chain !== undefined && !chains.has(a.chain) && KNOWN_TARGETS.has(a.chain);
        if ((a.kind === 'jump' || a.kind === 'goto') && a.chain && !isTarget) targets.push({ name: a.chain, range: a.chainRange ?? a.nameRange!, kind: a.kind });
        for (const e of a.vmap?.entries ?? []) {
          if (e.chain) targets.push({ name: e.chain, range: e.range, kind: e.verdict === 'goto' ? 'goto' : 'jump' });
        }
        for (const t of targets) {
          const to = chains.get(t.name);
          if (!to) {
            const d: Diagnostic = {
              range: t.range,
              severity: 'error',
              code: 'undefined-chain',
              message: `${t.kind} to chain "${t.name}", which table "${table.name}" does not declare`,
            };
            diagnostics.push(rs ? withFixes(d, [declareChainFix(rs, table, t.name, t.range)]) : d);
            continue;
          }
          if (to.builtin || to.hook !== undefined) {
            diagnostics.push({
              range: t.range,
              severity: 'error',
              code: 'jump-to-builtin',
              message: `cannot ${t.kind} to built-in or base chain "${t.name}"`,
            });
            continue;
          }
          const e: ChainEdge = { from: c, to, kind: t.kind, range: t.range, ruleIndex: r.index };
          edges.push(e);
          (out.get(c.name) ?? out.set(c.name, []).get(c.name)!).push(e);
          (into.get(to.name) ?? into.set(to.name, []).get(to.name)!).push(e);
        }
      }
    }
  }
  // Arrays grown by push keep spare slots (17 for one edge): exact copies for the 40 000 chains of kube dumps.
  for (const m of [out, into]) for (const [k, v] of m) m.set(k, v.slice());
  const graph = { table, chains, edges, out, into };
  for (const d of yield* findLoops(graph, budget)) diagnostics.push(d);
  for (const d of yield* findTooDeep(graph, budget)) diagnostics.push(d);
  return { graph, diagnostics };
}

/** Chains some hook reaches: built-in (or nft base) chains and everything they jump or go to. */
function* hookReached(g: ChainGraph, budget: TimeSlice): Generator<void, Set<string>, void> {
  const seen = new Set<string>();
  const q: string[] = [];
  for (const c of g.table.chains) if (c.builtin || c.hook !== undefined) { seen.add(c.name); q.push(c.name); }
  while (q.length) {
    if (budget.due()) yield;
    const n = q.pop()!;
    for (const e of g.out.get(n) ?? []) if (!seen.has(e.to.name)) { seen.add(e.to.name); q.push(e.to.name); }
  }
  return seen;
}

/** A cycle of jumps/gotos that a hook reaches is refused at load time ("Too many links"). Both
 *  backends check loops only from the hooks (seen here): a cycle nothing reaches loads, so it is a
 *  warning, since the first jump into it would be refused. */
function* findLoops(g: ChainGraph, budget: TimeSlice): Generator<void, Diagnostic[], void> {
  const reached = yield* hookReached(g, budget);
  const diags: Diagnostic[] = [];
  const reported = new Set<ChainEdge>();
  const onEdge = (e: ChainEdge, to: 0 | 1 | 2, stack: DfsFrame[]) => {
    if (to !== 1 || reported.has(e)) return;
    reported.add(e);
    const from = stack.findIndex((f) => f.name === e.to.name);
    const cycle = stack.slice(from + 1).map((f) => f.via!).concat(e);
    const live = cycle.some((x) => reached.has(x.from.name));
    diags.push({
      range: e.range,
      severity: live ? 'error' : 'warning',
      code: 'jump-loop',
      message: `jump loop: ${cycle.map((x) => x.from.name).concat(e.to.name).join(' → ')}; ${live ? 'the kernel refuses to load it' : 'no hook reaches it, so the kernel loads it, but a jump into it from a reached chain would be refused'}`,
      related: cycle.map((x) => ({ range: x.range, message: `${x.from.name} ${x.kind}s to ${x.to.name}` })),
    });
  };
  yield* chainDfs(g, budget, onEdge, () => {});
  return diags;
}

/** One frame of chainDfs's stack: a chain, how far through its out-edges, and the edge that led to it. */
export interface DfsFrame {
  name: string;
  i: number;
  via?: ChainEdge;
}

/** Iterative depth-first walk over every chain of the graph (rulesets can have 10 000-deep jump chains).
 *  `onEdge` sees each out-edge with its target's state (0 not seen, 1 on the stack: a back edge, 2 done)
 *  before a new target is entered; `onDone` sees each chain as it leaves the stack (its parent now on top). */
export function* chainDfs(
  g: ChainGraph,
  budget: TimeSlice,
  onEdge: (e: ChainEdge, to: 0 | 1 | 2, stack: DfsFrame[]) => void,
  onDone: (name: string, stack: DfsFrame[]) => void,
): Generator<void, void, void> {
  const state = new Map<string, 1 | 2>();
  for (const start of g.chains.keys()) {
    if (state.get(start)) continue;
    const stack: DfsFrame[] = [{ name: start, i: 0 }];
    state.set(start, 1);
    while (stack.length) {
      if (budget.due()) yield;
      const top = stack[stack.length - 1];
      const outs = g.out.get(top.name) ?? [];
      if (top.i >= outs.length) {
        state.set(top.name, 2);
        stack.pop();
        onDone(top.name, stack);
        continue;
      }
      const e = outs[top.i++];
      const to = state.get(e.to.name) ?? 0;
      onEdge(e, to, stack);
      if (!to) {
        state.set(e.to.name, 1);
        stack.push({ name: e.to.name, i: 0, via: e });
      }
    }
  }
}

/** nf_tables (the default iptables backend, and nft) refuses a rule that makes a chain 16 nested
 *  jumps/gotos deep from a base chain ("Too many links", seen with real loads: 15 load, 16 do not);
 *  iptables-legacy accepts it. Depth is the longest path; cycles are left to findLoops. */
export const MAX_JUMP_DEPTH = 15;

function* findTooDeep(g: ChainGraph, budget: TimeSlice): Generator<void, Diagnostic[], void> {
  // Topological order by DFS finishing order (back edges skipped), then longest depth from the base chains.
  const order: string[] = [];
  yield* chainDfs(g, budget, () => {}, (name) => void order.push(name));
  order.reverse();
  const pos = new Map(order.map((n, i) => [n, i]));
  const depth = new Map<string, number>();
  const from = new Map<string, string>();
  for (const c of g.table.chains) if (c.builtin || c.hook !== undefined) { depth.set(c.name, 0); from.set(c.name, c.name); }
  const diags: Diagnostic[] = [];
  for (const n of order) {
    if (budget.due()) yield;
    const d = depth.get(n);
    if (d === undefined) continue;
    for (const e of g.out.get(n) ?? []) {
      if (pos.get(e.to.name)! <= pos.get(n)!) continue; // a back edge: a loop, reported elsewhere
      if (d + 1 === MAX_JUMP_DEPTH + 1) {
        diags.push({
          range: e.range,
          severity: 'error',
          code: 'jump-too-deep',
          message: `this ${e.kind} makes chain "${e.to.name}" ${d + 1} nested jumps deep from ${from.get(n)}: the nf_tables backend refuses more than ${MAX_JUMP_DEPTH} ("Too many links"); iptables-legacy accepts it`,
        });
      }
      if (d + 1 > (depth.get(e.to.name) ?? -1)) { depth.set(e.to.name, d + 1); from.set(e.to.name, from.get(n)!); }
    }
  }
  return diags;
}

export function analyzeChains(rs: Ruleset): Diagnostic[] {
  return runSteps(analyzeChainsSteps(rs));
}

/** analyzeChains in steps of about 25 ms (for the language server); same result. */
export function* analyzeChainsSteps(rs: Ruleset): Generator<void, Diagnostic[], void> {
  const budget = new TimeSlice();
  const out: Diagnostic[] = [];
  for (const t of rs.tables) for (const d of (yield* chainGraphSteps(t, rs, budget)).diagnostics) out.push(d);
  return out;
}
