// Which hooks reach each chain of a table: from the built-in (iptables) or base (nft) chains through
// jumps, gotos and verdict maps. A rule is checked against every hook that can reach its chain.
import type { Chain, Hook, Table } from '../model/ruleset';
import { builtinHook } from '../knowledge/iptables-tables';
import type { ChainEdge, ChainGraph } from './chain-graph';
import { runSteps, TimeSlice } from '../steps';

export interface HookReach {
  /** Hooks reaching the chain (a shared array: do not change it). */
  hooksOf(chain: string): readonly Hook[];
  /** One path (edges from the entry chain) by which `hook` reaches `chain`. */
  path(chain: string, hook: Hook): ChainEdge[];
  /** The entry chain where a hook's walk starts. */
  entry(chain: string, hook: Hook): Chain | undefined;
}

const HOOKS: Hook[] = ['prerouting', 'input', 'forward', 'output', 'postrouting', 'ingress', 'egress'];
/** The hook list of each bit set (the order in which hooks were found does not matter to callers). */
const HOOK_LISTS: readonly Hook[][] = Array.from({ length: 1 << HOOKS.length }, (_, m) => Object.freeze(HOOKS.filter((_, i) => (m >> i) & 1)) as Hook[]);

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

// Kube nat tables have 40 000 chains: a bit mask per chain and one map per hook, not a Set per chain and
// string keys per (chain, hook).
function* computeHookReach(g: ChainGraph, budget: TimeSlice): Generator<void, HookReach, void> {
  const masks = new Map<string, number>();
  /** Per hook: the edge that first reached each chain (null at the entry chain). */
  const via = new Map<Hook, Map<string, ChainEdge | null>>();
  for (const c of g.table.chains) {
    const h = entryHook(g.table, c);
    if (!h) continue;
    const bit = 1 << HOOKS.indexOf(h);
    let seen = via.get(h);
    if (!seen) via.set(h, (seen = new Map()));
    const queue: string[] = [c.name];
    if (!seen.has(c.name)) seen.set(c.name, null);
    masks.set(c.name, (masks.get(c.name) ?? 0) | bit);
    // An index, not shift(): shift is linear, and kube tables have 40 000 chains.
    for (let qi = 0; qi < queue.length; qi++) {
      if (budget.due()) yield;
      const n = queue[qi];
      for (const e of g.out.get(n) ?? []) {
        const to = e.to.name;
        if (seen.has(to)) continue;
        seen.set(to, e);
        masks.set(to, (masks.get(to) ?? 0) | bit);
        queue.push(to);
      }
    }
  }
  const path = (chain: string, hook: Hook): ChainEdge[] => {
    const out: ChainEdge[] = [];
    const seen = via.get(hook);
    let name = chain;
    for (let guard = 0; seen && guard < 10_000; guard++) {
      const e = seen.get(name);
      if (!e) break;
      out.push(e);
      name = e.from.name;
    }
    return out.reverse();
  };
  return {
    hooksOf: (chain) => HOOK_LISTS[masks.get(chain) ?? 0],
    path,
    entry(chain, hook) {
      if (!via.get(hook)?.has(chain)) return undefined;
      const p = path(chain, hook);
      return p.length ? p[0].from : g.chains.get(chain);
    },
  };
}

export const HOOK_CHAIN: Record<Hook, string> = {
  prerouting: 'PREROUTING', input: 'INPUT', forward: 'FORWARD', output: 'OUTPUT', postrouting: 'POSTROUTING', ingress: 'ingress', egress: 'egress',
};
