// Which hooks reach each chain of a table: from the built-in (iptables) or base (nft) chains through
// jumps, gotos and verdict maps. A rule is checked against every hook that can reach its chain.
import type { Chain, Hook, Table } from '../model/ruleset';
import { builtinHook } from '../knowledge/iptables-tables';
import type { ChainEdge, ChainGraph } from './chain-graph';
import { runSteps, TimeSlice } from '../steps';

export interface HookReach {
  /** Hooks reaching each chain, by chain name. */
  hooks: Map<string, Set<Hook>>;
  /** One path (edges from the entry chain) by which `hook` reaches `chain`. */
  path(chain: string, hook: Hook): ChainEdge[];
  /** The entry chain where a hook's walk starts. */
  entry(chain: string, hook: Hook): Chain | undefined;
}

export function entryHook(table: Table, c: Chain): Hook | undefined {
  if (c.hook) return c.hook;
  if (c.builtin) return builtinHook(c.name);
  return undefined;
}

const reachCache = new WeakMap<ChainGraph, HookReach>();

export function hookReach(g: ChainGraph): HookReach {
  return runSteps(hookReachSteps(g));
}

/** hookReach in steps (kube nat tables: 40 000 chains per hook); same cache. */
export function* hookReachSteps(g: ChainGraph, budget = new TimeSlice()): Generator<void, HookReach, void> {
  let hit = reachCache.get(g);
  if (!hit) {
    hit = yield* computeHookReach(g, budget);
    reachCache.set(g, hit);
  }
  return hit;
}

function* computeHookReach(g: ChainGraph, budget: TimeSlice): Generator<void, HookReach, void> {
  const hooks = new Map<string, Set<Hook>>();
  const via = new Map<string, ChainEdge | null>(); // key chain|hook -> edge that first reached it
  const entries = new Map<string, Chain>();
  for (const c of g.table.chains) hooks.set(c.name, new Set());
  for (const c of g.table.chains) {
    const h = entryHook(g.table, c);
    if (!h) continue;
    const queue: string[] = [c.name];
    const key = (n: string) => `${n}|${h}`;
    if (!via.has(key(c.name))) via.set(key(c.name), null);
    entries.set(key(c.name), c);
    hooks.get(c.name)!.add(h);
    // An index, not shift(): shift is linear, and kube tables have 40 000 chains.
    for (let qi = 0; qi < queue.length; qi++) {
      if (budget.due()) yield;
      const n = queue[qi];
      for (const e of g.out.get(n) ?? []) {
        const k = key(e.to.name);
        if (via.has(k)) continue;
        via.set(k, e);
        entries.set(k, entries.get(key(n))!);
        hooks.get(e.to.name)!.add(h);
        queue.push(e.to.name);
      }
    }
  }
  return {
    hooks,
    path(chain, hook) {
      const out: ChainEdge[] = [];
      let k = `${chain}|${hook}`;
      for (let guard = 0; guard < 10_000; guard++) {
        const e = via.get(k);
        if (!e) break;
        out.unshift(e);
        k = `${e.from.name}|${hook}`;
      }
      return out;
    },
    entry(chain, hook) {
      return entries.get(`${chain}|${hook}`);
    },
  };
}

export const HOOK_CHAIN: Record<Hook, string> = {
  prerouting: 'PREROUTING', input: 'INPUT', forward: 'FORWARD', output: 'OUTPUT', postrouting: 'POSTROUTING', ingress: 'ingress', egress: 'egress',
};
