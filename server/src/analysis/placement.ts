// Targets and matches in places the kernel refuses, checked for every hook that reaches the rule's
// chain. What is refused was measured on this machine by real loads (kernel 6.18, iptables 1.8.9):
// see test/kernel/analysis-placement.test.ts and the shared kernel-oracle notes.
//
// Two kinds of restriction:
// - static (the xt extension's own table and hook list): refused by both backends, through user chains
//   too; the table check applies even when no hook reaches the chain.
// - dynamic (checked by the extension's checkentry against the hook mask: -i/-o, addrtype
//   --limit-iface-*, policy --dir, devgroup, physdev-out, TCPMSS --clamp-mss-to-pmtu): the nf_tables
//   backend refuses them in built-in chains only; through a user chain the rule loads (and the test
//   can never hold there), while iptables-legacy refuses it.
import type { Chain, Diagnostic, Hook, Rule, Ruleset, Table } from '../model/ruleset';
import { chainGraph, chainGraphSteps, type ChainGraph } from './chain-graph';
import { HOOK_CHAIN, hookReach, hookReachSteps, type HookReach } from './hooks';
import { moduleOf, optText, ruleOptions, ruleTarget, type FoundOption } from './rule-facts';
import { runSteps, TimeSlice } from '../steps';

interface StaticRule {
  tables?: string[];
  hooks?: Hook[];
  why: string;
}

const NAT_PRE_OUT: StaticRule = { tables: ['nat'], hooks: ['prerouting', 'output'], why: 'destination NAT happens before routing' };

/** Targets with a fixed table and hook list (nf_tables and legacy alike). */
export const TARGET_PLACES: Record<string, StaticRule> = {
  DNAT: NAT_PRE_OUT,
  REDIRECT: NAT_PRE_OUT,
  SNAT: { tables: ['nat'], hooks: ['postrouting', 'input'], why: 'source NAT happens after routing' },
  MASQUERADE: { tables: ['nat'], hooks: ['postrouting'], why: 'it needs the output interface' },
  NETMAP: { tables: ['nat'], why: 'it is a NAT target' },
  REJECT: { tables: ['filter'], hooks: ['input', 'forward', 'output'], why: 'it sends an error packet in place of the filtered one' },
  CT: { tables: ['raw'], why: 'it must act before connection tracking looks the packet up' },
  NOTRACK: { tables: ['raw'], why: 'it must act before connection tracking looks the packet up' },
  TPROXY: { tables: ['mangle'], hooks: ['prerouting'], why: 'it diverts arriving packets to a local socket' },
  CLASSIFY: { hooks: ['forward', 'output', 'postrouting'], why: 'the queueing class is only used on the way out' },
  CHECKSUM: { tables: ['mangle'], why: 'it edits the packet' },
  DSCP: { tables: ['mangle'], why: 'it edits the packet' },
  TOS: { tables: ['mangle'], why: 'it edits the packet' },
  TTL: { tables: ['mangle'], why: 'it edits the packet' },
  HL: { tables: ['mangle'], why: 'it edits the packet' },
  ECN: { tables: ['mangle'], why: 'it edits the packet' },
  TCPOPTSTRIP: { tables: ['mangle'], why: 'it edits the packet' },
  CONNSECMARK: { tables: ['mangle', 'security'], why: 'it is a security-marking target' },
  SECMARK: { tables: ['mangle', 'security'], why: 'it is a security-marking target' },
};

/** Match modules with a fixed hook (and table) list. */
export const MATCH_PLACES: Record<string, StaticRule> = {
  owner: { hooks: ['output', 'postrouting'], why: 'only locally generated packets have an owning socket' },
  socket: { hooks: ['prerouting', 'input'], why: 'it looks up the local socket an arriving packet belongs to' },
  rpfilter: { tables: ['raw', 'mangle'], hooks: ['prerouting'], why: 'it checks the reverse path of arriving packets' },
  cgroup: { hooks: ['input', 'output', 'postrouting'], why: 'it needs a local socket' },
  realm: { hooks: ['input', 'forward', 'output', 'postrouting'], why: 'the routing realm is only known after routing' },
};

const IN_KNOWN: Hook[] = ['prerouting', 'input', 'forward'];
const OUT_KNOWN: Hook[] = ['forward', 'output', 'postrouting'];

interface DynamicRule {
  /** Hooks where the kernel allows it. */
  allowed: Hook[];
  what: string;
  why: string;
  /** True when the test can never hold where it is refused (an unknown interface); false for targets. */
  isTest: boolean;
  /** iptables-legacy refuses it through a user chain too (a kernel checkentry); -i/-o are checked by iptables only in built-in chains. */
  legacyRefuses?: boolean;
}

/** The dynamic restriction an option carries, if any. */
function dynamicRule(f: FoundOption, all: FoundOption[]): DynamicRule | undefined {
  const mod = moduleOf(f);
  const flag = f.option.flag || f.name;
  if (mod === '' && f.name === 'in-interface') return { allowed: IN_KNOWN, what: `${flag}`, why: 'there is no input interface in OUTPUT and POSTROUTING', isTest: true, legacyRefuses: false };
  if (mod === '' && f.name === 'out-interface') return { allowed: OUT_KNOWN, what: `${flag}`, why: 'the output interface is not known before routing (PREROUTING, INPUT)', isTest: true, legacyRefuses: false };
  if (mod === 'addrtype' && f.name === 'limit-iface-in') return { allowed: IN_KNOWN, what: 'addrtype --limit-iface-in', why: 'there is no input interface in OUTPUT and POSTROUTING', isTest: true };
  if (mod === 'addrtype' && f.name === 'limit-iface-out') return { allowed: OUT_KNOWN, what: 'addrtype --limit-iface-out', why: 'the output interface is not known in PREROUTING and INPUT', isTest: true };
  if (mod === 'devgroup' && f.name === 'src-group') return { allowed: IN_KNOWN, what: 'devgroup --src-group', why: 'there is no input device in OUTPUT and POSTROUTING', isTest: true };
  if (mod === 'devgroup' && f.name === 'dst-group') return { allowed: OUT_KNOWN, what: 'devgroup --dst-group', why: 'the output device is not known in PREROUTING and INPUT', isTest: true };
  if (mod === 'policy' && f.name === 'dir') {
    const dir = optText(f.option);
    if (dir === 'in') return { allowed: IN_KNOWN, what: 'policy --dir in', why: 'inbound IPsec policy is only known for arriving packets', isTest: true };
    if (dir === 'out') return { allowed: OUT_KNOWN, what: 'policy --dir out', why: 'outbound IPsec policy is only known after routing', isTest: true };
  }
  if (mod === 'physdev' && (f.name === 'physdev-out' || f.name === 'physdev-is-out')) {
    const bridged = all.some((x) => moduleOf(x) === 'physdev' && x.name === 'physdev-is-bridged' && !x.option.negated);
    if (!bridged) return { allowed: ['prerouting', 'input', 'forward', 'postrouting'], what: `physdev --${f.name}`, why: 'the bridge port a locally generated packet leaves by is not known in OUTPUT', isTest: true };
  }
  return undefined;
}

function hookList(hs: Hook[]): string {
  return hs.map((h) => HOOK_CHAIN[h]).join('/');
}

function pathText(reach: HookReach, chain: Chain, hook: Hook): string {
  const p = reach.path(chain.name, hook);
  if (!p.length) return HOOK_CHAIN[hook];
  return [p[0].from.name, ...p.map((e) => e.to.name)].join(' → ');
}

function relatedPath(reach: HookReach, chain: Chain, hook: Hook) {
  return reach.path(chain.name, hook).map((e) => ({ range: e.range, message: `${e.from.name} ${e.kind}s to ${e.to.name} (reached from ${HOOK_CHAIN[hook]})` }));
}

/** Placement diagnostics of one iptables table. */
export function placementDiagnostics(table: Table, g: ChainGraph, reach: HookReach = hookReach(g)): Diagnostic[] {
  return runSteps(placementSteps(table, g, reach, new TimeSlice()));
}

/** placementDiagnostics in steps: yields whenever `budget` is used up (seconds on kube dumps). */
function* placementSteps(table: Table, g: ChainGraph, reach: HookReach, budget: TimeSlice): Generator<void, Diagnostic[], void> {
  const out: Diagnostic[] = [];
  for (const chain of table.chains) {
    const hooks = reach.hooksOf(chain.name);
    for (const rule of chain.rules) {
      if (budget.due()) yield;
      checkRule(table, g, reach, chain, rule, hooks, out);
    }
  }
  return out;
}

function checkRule(table: Table, g: ChainGraph, reach: HookReach, chain: Chain, rule: Rule, hooks: readonly Hook[], out: Diagnostic[]) {
  const t = ruleTarget(rule, table, g.chains);
  const viaUser = !chain.builtin;
  const staticCheck = (name: string, what: string, place: StaticRule, range = rule.range) => {
    if (place.tables && !place.tables.includes(table.name)) {
      out.push({
        range, severity: 'error', code: 'wrong-table',
        message: `${what} is only valid in the ${place.tables.join(' or ')} table${place.tables.length > 1 ? 's' : ''}, not "${table.name}" (${place.why}); the kernel refuses to load it`,
      });
      return;
    }
    if (!place.hooks) return;
    const bad = hooks.filter((h) => !place.hooks!.includes(h));
    if (!bad.length) return;
    const h = bad[0];
    out.push({
      range, severity: 'error', code: 'wrong-hook',
      message: `${what} is only valid in ${hookList(place.hooks)} (${place.why}), but ${viaUser ? `chain ${chain.name} is reached from ${bad.map((x) => HOOK_CHAIN[x]).join(', ')} (${pathText(reach, chain, h)})` : `this is ${chain.name}`}; the kernel refuses to load it`,
      related: viaUser ? relatedPath(reach, chain, h) : undefined,
    });
    void name;
  };

  if (t.kind === 'target') {
    const place = TARGET_PLACES[t.name];
    if (place) staticCheck(t.name, t.name, place, t.action?.range ?? rule.range);
  }
  if ((t.kind === 'target' || t.kind === 'verdict') && t.name === 'QUEUE') {
    {
      out.push({ range: t.action?.range ?? rule.range, severity: 'error', code: 'unsupported-target', message: 'QUEUE cannot be loaded with the nf_tables backend (iptables-nft); use NFQUEUE --queue-num 0 (iptables-legacy still takes QUEUE)' });
    }
  }
  if (t.kind === 'target') {
    if (t.name === 'TRACE' && table.name !== 'raw') {
      out.push({ range: t.action?.range ?? rule.range, severity: 'hint', code: 'legacy-refuses', message: `TRACE outside the raw table loads with the nf_tables backend but iptables-legacy refuses it` });
    }
    if (t.name === 'TCPMSS' && t.action?.options.some((o) => o.name.replace(/^-+/, '') === 'clamp-mss-to-pmtu')) {
      const allowed: Hook[] = ['forward', 'output', 'postrouting'];
      dynamicCheck({ allowed, what: 'TCPMSS --clamp-mss-to-pmtu', why: 'the path MTU is only known after routing', isTest: false }, t.action.range);
    }
  }
  const opts = ruleOptions(rule);
  const seenModule = new Set<string>();
  for (const m of rule.matches) {
    if (!m.module || seenModule.has(m.module)) continue;
    seenModule.add(m.module);
    const place = MATCH_PLACES[m.module];
    if (place) staticCheck(m.module, `-m ${m.module}`, place, m.range);
  }
  for (const f of opts) {
    const d = dynamicRule(f, opts);
    if (d) dynamicCheck(d, f.option.range, f.option.negated);
  }

  function dynamicCheck(d: DynamicRule, range: Rule['range'], negated = false) {
    const bad = hooks.filter((h) => !d.allowed.includes(h));
    if (!bad.length) return;
    const h = bad[0];
    if (!viaUser) {
      out.push({ range, severity: 'error', code: 'wrong-hook', message: `${d.what} cannot be used in ${chain.name}: ${d.why}; the kernel refuses to load it` });
      return;
    }
    const legacy = d.legacyRefuses === false ? 'both backends load it' : 'iptables-nft loads it; iptables-legacy refuses it';
    const effect = d.isTest ? (negated ? `the negated test always holds there` : `the test never matches there`) : `it does nothing useful there`;
    // A chain shared between hooks (Docker's DOCKER chain from PREROUTING and OUTPUT) uses the test
    // where it is known: only a hint. Reached only from hooks where it is unknown: a warning.
    const partly = hooks.some((x) => d.allowed.includes(x));
    out.push({
      range, severity: partly ? 'hint' : 'warning', code: 'hook-never-matches',
      message: `${d.what} in chain ${chain.name}, which is reached from ${bad.map((x) => HOOK_CHAIN[x]).join(', ')} (${pathText(reach, chain, h)}): ${d.why}, so ${effect}. ${legacy}`,
      related: relatedPath(reach, chain, h),
    });
  }
}

/** nft statements against their base chain's type and hook. */
const NFT_NAT: Record<string, Hook[]> = {
  dnat: ['prerouting', 'output'],
  redirect: ['prerouting', 'output'],
  snat: ['postrouting', 'input'],
  masquerade: ['postrouting'],
};

/** Hooks where the kernel accepts an nft match expression that validates its hook (fib, socket); undefined = anywhere. */
function nftMatchHooks(module: string, what: string): Hook[] | undefined {
  if (module === 'socket') return ['prerouting', 'input', 'output'];
  if (module === 'fib') {
    const words = what.replace(/^fib\s+/, '').split(/[\s.]+/).filter(Boolean);
    const result = words[words.length - 1];
    if (result === 'oif' || result === 'oifname') return ['prerouting', 'input', 'forward'];
    if (result === 'type') {
      if (words.includes('iif')) return ['prerouting', 'input', 'forward'];
      if (words.includes('oif')) return ['forward', 'output', 'postrouting'];
    }
  }
  return undefined;
}

function nftPlacement(table: Table, g: ChainGraph, reach: HookReach): Diagnostic[] {
  const out: Diagnostic[] = [];
  // Chain types reaching each chain, from the base chains.
  const typesOf = new Map<string, Set<string>>();
  for (const c of table.chains) typesOf.set(c.name, new Set());
  for (const base of table.chains) {
    if (!base.hook) continue;
    const seen = new Set([base.name]);
    const q = [base.name];
    while (q.length) {
      const n = q.shift()!;
      typesOf.get(n)?.add(base.type ?? 'filter');
      for (const e of g.out.get(n) ?? []) if (!seen.has(e.to.name)) { seen.add(e.to.name); q.push(e.to.name); }
    }
  }
  for (const chain of table.chains) {
    const hooks = reach.hooksOf(chain.name);
    const types = [...(typesOf.get(chain.name) ?? [])];
    for (const rule of chain.rules) {
      for (const a of rule.actions) {
        const key = a.name.toLowerCase();
        const natHooks = NFT_NAT[key];
        if (natHooks) {
          const badType = types.find((t) => t !== 'nat');
          if (badType) {
            out.push({ range: a.range, severity: 'error', code: 'wrong-table', message: `${key} needs a chain of type nat, but chain ${chain.name} runs in a chain of type ${badType}; nft refuses to load it` });
            continue;
          }
          const bad = hooks.filter((h) => !natHooks.includes(h));
          if (bad.length) out.push({ range: a.range, severity: 'error', code: 'wrong-hook', message: `${key} is only valid at hook ${natHooks.join('/')}, but chain ${chain.name} runs at ${bad.join(', ')}; nft refuses to load it`, related: relatedPath(reach, chain, bad[0]) });
        }
        if (key === 'tproxy') {
          const bad = hooks.filter((h) => h !== 'prerouting');
          if (bad.length) out.push({ range: a.range, severity: 'error', code: 'wrong-hook', message: `tproxy is only valid at hook prerouting, but chain ${chain.name} runs at ${bad.join(', ')}; nft refuses to load it` });
        }
      }
      if (rule.actions.some((a) => a.kind === 'extension' && a.name === 'reject')) {
        const a = rule.actions.find((x) => x.name === 'reject')!;
        if (hooks.includes('postrouting')) out.push({ range: a.range, severity: 'error', code: 'wrong-hook', message: `reject is not valid at hook postrouting (chain ${chain.name} runs there); nft refuses to load it`, related: relatedPath(reach, chain, 'postrouting') });
      }
      for (const m of rule.matches) {
        const allowed = nftMatchHooks(m.module, m.options[0]?.name ?? m.nft?.left ?? '');
        if (allowed) {
          const bad = hooks.filter((h) => !allowed.includes(h));
          if (bad.length) out.push({ range: m.range, severity: 'error', code: 'wrong-hook', message: `"${m.nft?.left ?? m.module}" is only valid at hook ${allowed.join('/')}, but chain ${chain.name} runs at ${bad.join(', ')}; nft refuses to load it`, related: relatedPath(reach, chain, bad[0]) });
        }
      }
      for (const m of rule.matches) {
        const left = m.nft?.left ?? '';
        const isOut = /^(meta )?(oif|oifname|oiftype)\b/.test(left);
        const isIn = /^(meta )?(iif|iifname|iiftype)\b/.test(left);
        const isSk = /^meta (skuid|skgid)\b|^(skuid|skgid)\b/.test(left);
        const bad = hooks.filter((h) => (isOut && (h === 'prerouting' || h === 'input' || h === 'ingress')) || (isIn && (h === 'output' || h === 'postrouting')) || (isSk && !['output', 'postrouting', 'input'].includes(h)));
        if (bad.length) {
          // Shared with hooks where it is known (Docker's nat-prerouting-and-output): a hint only.
          const partly = bad.length < hooks.length;
          const neg = m.nft?.op === '!=' || m.options.some((o) => o.negated);
          out.push({
            range: m.range, severity: partly ? 'hint' : 'warning', code: 'hook-never-matches',
            message: `"${left}" is not known at hook ${bad.join(', ')} (chain ${chain.name} runs there): ${neg ? 'this negated test always holds there' : 'this test never matches there'}`,
            related: relatedPath(reach, chain, bad[0]),
          });
        }
      }
    }
  }
  return out;
}

export function analyzePlacement(rs: Ruleset): Diagnostic[] {
  return runSteps(analyzePlacementSteps(rs));
}

/** analyzePlacement in steps of about 25 ms (for the language server); same result. */
export function* analyzePlacementSteps(rs: Ruleset): Generator<void, Diagnostic[], void> {
  const budget = new TimeSlice();
  const out: Diagnostic[] = [];
  for (const t of rs.tables) {
    const { graph } = yield* chainGraphSteps(t, undefined, budget);
    const reach = yield* hookReachSteps(graph, budget);
    const ds = rs.kind === 'nft' ? nftPlacement(t, graph, reach) : yield* placementSteps(t, graph, reach, budget);
    for (const d of ds) out.push(d);
  }
  return out;
}
