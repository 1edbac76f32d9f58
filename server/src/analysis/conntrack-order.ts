// Conntrack tests and writes in chains that run before connection tracking (priority -200): the raw
// table (-300) and nft base chains below -200. There the packet has no conntrack entry yet, so (seen
// on this kernel) every packet's state is INVALID, `--ctstate NEW` never matches, connmark tests never
// match (negated ones neither), nft `ct mark 0` does not match, and CONNMARK / `ct mark set` do nothing.
// Only packets looped back over lo still carry the entry from their way out.
import type { Chain, Diagnostic, Rule, Ruleset, Table } from '../model/ruleset';
import { chainGraph, type ChainGraph } from './chain-graph';
import { optText, ruleOptions, ruleTarget } from './rule-facts';

const CONNTRACK_PRIORITY = -200;

const note = 'only packets looped back over lo already carry a conntrack entry';

/** Chains every one of whose entry chains runs before conntrack. */
function preConntrackChains(table: Table, g: ChainGraph, nft: boolean): Map<string, string> {
  const early = new Map<string, string>(); // chain -> why
  const reachedBy = new Map<string, Set<boolean>>(); // chain -> {entry is early?}
  for (const base of table.chains) {
    const isEntry = nft ? base.hook !== undefined : base.builtin;
    if (!isEntry) continue;
    // Conntrack looks packets up at prerouting and output only; at input, forward and postrouting the
    // entry exists whatever the priority.
    const isEarly = nft ? (base.priority ?? 0) < CONNTRACK_PRIORITY && (base.hook === 'prerouting' || base.hook === 'output') && table.family !== 'netdev' && table.family !== 'bridge' && table.family !== 'arp' : table.name === 'raw';
    const seen = new Set([base.name]);
    const q = [base.name];
    while (q.length) {
      const n = q.pop()!;
      (reachedBy.get(n) ?? reachedBy.set(n, new Set()).get(n)!).add(isEarly);
      for (const e of g.out.get(n) ?? []) if (!seen.has(e.to.name)) { seen.add(e.to.name); q.push(e.to.name); }
    }
  }
  for (const [name, kinds] of reachedBy) {
    if (kinds.size === 1 && kinds.has(true)) early.set(name, nft ? 'runs before conntrack (priority below -200)' : 'the raw table runs before conntrack');
  }
  return early;
}

const STATES = ['INVALID', 'NEW', 'ESTABLISHED', 'RELATED', 'UNTRACKED', 'SNAT', 'DNAT'];

function iptablesRule(table: Table, chain: Chain, rule: Rule, why: string, out: Diagnostic[]) {
  for (const f of ruleOptions(rule)) {
    const mod = f.match.module;
    if ((mod === 'state' && f.name === 'state') || (mod === 'conntrack' && f.name === 'ctstate')) {
      const states = optText(f.option).toUpperCase().split(',').filter((s) => STATES.includes(s));
      const hit = states.includes('INVALID') !== f.option.negated;
      out.push({
        range: f.option.range, severity: 'warning', code: 'before-conntrack',
        message: `${f.option.negated ? '! ' : ''}${f.option.flag} ${optText(f.option)} in ${chain.name}: ${why}, so every packet is INVALID here and this test ${hit ? 'matches every packet' : 'never matches'} (${note})`,
      });
    } else if (mod === 'conntrack' || mod === 'connmark') {
      out.push({
        range: f.option.range, severity: 'warning', code: 'before-conntrack',
        message: `-m ${mod} ${f.option.flag} in ${chain.name}: ${why}; without a conntrack entry this test never matches, negated or not (${note})`,
      });
    }
  }
  const t = ruleTarget(rule, table);
  if (t.kind === 'target' && t.name === 'CONNMARK' && t.action) {
    out.push({ range: t.action.range, severity: 'warning', code: 'before-conntrack', message: `CONNMARK in ${chain.name}: ${why}; there is no conntrack entry to read or write yet, so it does nothing (${note})` });
  }
}

function nftRule(chain: Chain, rule: Rule, why: string, out: Diagnostic[]) {
  for (const m of rule.matches) {
    if (m.module !== 'ct') continue;
    const key = m.options[0]?.name ?? '';
    const right = m.options[0]?.values.map((v) => v.text).join(',') ?? '';
    if (key === 'state') {
      const invalid = /\binvalid\b/i.test(right);
      const neg = m.nft?.op === '!=' || m.options[0]?.negated;
      out.push({ range: m.range, severity: 'warning', code: 'before-conntrack', message: `ct state in ${chain.name}: ${why}, so every packet is invalid here and this test ${invalid !== !!neg ? 'matches every packet' : 'never matches'} (${note})` });
    } else if (!['zone', 'helper', 'timeout', 'expectation', ''].includes(key)) { // `ct helper "x"` assigns (objref), it is meant for raw
      out.push({ range: m.range, severity: 'warning', code: 'before-conntrack', message: `ct ${key} in ${chain.name}: ${why}; without a conntrack entry this test does not match (${note})` });
    }
  }
  for (const a of rule.actions) {
    if (a.kind === 'extension' && a.name.startsWith('ct-') && a.name.endsWith('-set') && a.name !== 'ct-zone-set' && a.name !== 'ct-helper-set' && a.name !== 'ct-timeout-set' && a.name !== 'ct-expectation-set') {
      out.push({ range: a.range, severity: 'warning', code: 'before-conntrack', message: `${a.text ?? a.name} in ${chain.name}: ${why}; there is no conntrack entry to write yet, so it does nothing (${note})` });
    }
  }
}

export function analyzeConntrackOrder(rs: Ruleset): Diagnostic[] {
  const out: Diagnostic[] = [];
  const nft = rs.kind === 'nft';
  for (const t of rs.tables) {
    if (!nft && t.name !== 'raw') continue;
    const g = chainGraph(t).graph;
    const early = preConntrackChains(t, g, nft);
    for (const c of t.chains) {
      const why = early.get(c.name);
      if (!why) continue;
      for (const r of c.rules) (nft ? nftRule(c, r, why, out) : iptablesRule(t, c, r, why, out));
    }
  }
  return out;
}
