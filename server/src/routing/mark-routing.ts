// Where a mark sends packets, for the editor: what the bits a MARK target writes make of each `ip rule`
// that reads them, and the table and route they lead to ("bit 0x100 → ip rule 101 → table 101 →
// default via 192.168.127.2 dev istioout"); which MARK writes can satisfy an `ip rule fwmark`; and
// findings on the rules themselves (fwmark bits no rule sets, lookups of empty tables, gotos to a
// priority that does not exist). Pure functions over the routing model and the ruleset model.
import { FULL, hex, u32 } from '../knowledge/marks';
import { tableLabel, type InetFamily, type IpRule, type Route, type RoutingConfig } from '../model/routing';
import type { Diagnostic, Range, Ruleset } from '../model/ruleset';
import { describeRoute } from './decision';
import { prepare } from './prepare';

/** Bits a MARK-like statement leaves in the packet mark: the bits of `mask` become `value & mask`.
 *  `any`: the bits of `mask` are copied from elsewhere (a ct mark), so any of them may be set. */
export interface MarkWrite {
  value: number;
  mask: number;
  any?: boolean;
  /** Where the write is (the target or statement), for navigation. */
  range?: Range;
  text?: string;
}

export type Verdict = 'matches' | 'no' | 'depends';

export interface MarkReader {
  rule: IpRule;
  verdict: Verdict;
  why: string;
}

export interface MarkRoute {
  bits: MarkWrite;
  /** Every `ip rule` with a fwmark selector, with what these bits make of it, in priority order. */
  readers: MarkReader[];
  /** The rules the bits pass through and the one that decides (goto hops, then the lookup). */
  path: IpRule[];
  target?: { rule: IpRule; table?: number; tableName?: string; routes: Route[]; headline?: Route };
  /** Rules before the target that may catch the packet first (their outcome depends on the packet). */
  caveats: string[];
  /** "bit 0x100 → ip rule 101 → table 101 → default via 192.168.127.2 dev istioout". */
  summary: string;
}

function and3(a: Verdict, b: Verdict): Verdict {
  if (a === 'no' || b === 'no') return 'no';
  return a === 'matches' && b === 'matches' ? 'matches' : 'depends';
}

function fwmarkVerdict(r: IpRule, w: MarkWrite): Verdict {
  if (!r.fwmark) return 'matches';
  const { value, mask } = r.fwmark;
  if (w.any) {
    // Bits copied from elsewhere: only bits outside `w.mask` that the rule needs set could rule it out,
    // and those are unknown too.
    return 'depends';
  }
  const known = u32(w.mask);
  const kv = u32(w.value & w.mask);
  if (u32(kv & mask & known) !== u32(value & known & mask)) return 'no';
  return u32(mask & ~known) === 0 ? 'matches' : 'depends';
}

function hasOtherSelectors(r: IpRule): boolean {
  return !!(r.from || r.to || r.iif || r.oif || r.tos || r.ipproto !== undefined || r.sport || r.dport || r.uidrange || r.l3mdev || r.tunId);
}

/** What bits `w` make of rule `r` as a whole (the other selectors depend on the packet). */
export function ruleVerdict(r: IpRule, w: MarkWrite): { verdict: Verdict; why: string } {
  const fw = fwmarkVerdict(r, w);
  const inner = and3(fw, hasOtherSelectors(r) ? 'depends' : 'matches');
  const verdict: Verdict = !r.not ? inner : inner === 'matches' ? 'no' : inner === 'no' ? 'matches' : 'depends';
  const why = fw === 'depends' && r.fwmark
    ? `fwmark ${r.fwmark.text} reads bits ${hex(r.fwmark.mask & ~(w.any ? 0 : w.mask))} this write does not set`
    : fw === 'no' ? `fwmark ${r.fwmark!.text} does not match` : hasOtherSelectors(r) ? 'its other selectors depend on the packet' : r.fwmark ? `fwmark ${r.fwmark.text} matches` : 'matches every packet';
  return { verdict, why };
}

function bitsLabel(w: MarkWrite): string {
  const v = u32(w.value & w.mask);
  if (!w.any && w.mask === FULL) return `mark ${hex(v)}`;
  if (!w.any && v !== 0 && (v & (v - 1)) === 0 && w.mask === v) return `bit ${hex(v)}`;
  return w.any ? `mark bits ${hex(w.mask)} (copied)` : `mark ${hex(v)}/${hex(w.mask)}`;
}

function routeText(r: Route): string {
  const t = describeRoute(r);
  return r.nexthops.length === 1 && r.nexthops[0].onlink ? `${t} onlink` : t;
}

/** Where packets carrying the bits of `w` are routed by the policy rules. */
export function markRoute(cfg: RoutingConfig, w: MarkWrite, family: InetFamily = 'ip'): MarkRoute {
  const p = prepare(cfg);
  const rules = p.rules.get(family) ?? [];
  const readers: MarkReader[] = [];
  for (const r of rules) if (r.fwmark) readers.push({ rule: r, ...ruleVerdict(r, w) });
  const path: IpRule[] = [];
  const caveats: string[] = [];
  let target: MarkRoute['target'];
  const parts = [bitsLabel(w)];
  for (let i = 0; i < rules.length && !target; i++) {
    const r = rules[i];
    const { verdict, why } = ruleVerdict(r, w);
    if (verdict === 'no') continue;
    if (verdict === 'depends') { caveats.push(`ip rule ${r.priority} may match first: ${why}`); continue; }
    if (r.action === 'lookup' && r.priority === 0 && !r.fwmark && r.table === 255) continue; // every packet's local lookup
    if (r.action === 'nop') continue;
    if (r.action === 'goto') {
      const t = rules.findIndex((x) => x.priority === r.gotoTarget);
      path.push(r);
      if (t <= i) { caveats.push(`ip rule ${r.priority}: no rule with priority ${r.gotoTarget}, the goto is skipped`); continue; }
      parts.push(`ip rule ${r.priority} goto ${r.gotoTarget}`);
      i = t - 1;
      continue;
    }
    path.push(r);
    if (r.action === 'lookup') {
      const routes = r.table === undefined ? [] : p.tables.get(`${family}/${r.table}`) ?? [];
      const headline = routes.find((x) => x.dst.len === 0) ?? (routes.length === 1 ? routes[0] : undefined);
      const tableName = r.table === undefined ? r.tableText : tableLabel(r.table, cfg.tables);
      target = { rule: r, table: r.table, tableName, routes, headline };
      parts.push(`ip rule ${r.priority}`, `table ${tableName}`);
      if (headline) parts.push(routeText(headline));
      else parts.push(routes.length ? `${routes.length} routes` : 'no routes (the lookup falls through)');
    } else {
      target = { rule: r, routes: [] };
      parts.push(`ip rule ${r.priority}`, r.action);
    }
  }
  if (!target) parts.push('no ip rule decides on these bits alone');
  return { bits: w, readers, path, target, caveats, summary: parts.join(' → ') };
}

/** The writes whose bits can make `rule`'s fwmark selector true (for "go to definition" from ip rule to MARK). */
export function writesForRule(rule: IpRule, writes: MarkWrite[]): MarkWrite[] {
  if (!rule.fwmark) return [];
  // A write that touches none of the bits the rule reads does not count as a definition.
  return writes.filter((w) => (w.mask & rule.fwmark!.mask) !== 0 && fwmarkVerdict({ ...rule, not: false }, w) !== 'no');
}

export type RoutingFindingCode = 'fwmark-never-set' | 'lookup-empty-table' | 'goto-missing-priority';

/**
 * Findings on the policy rules: a fwmark whose bits no write in the ruleset sets (only with `writes`),
 * a `lookup` of a table without routes, a `goto` to a priority no rule has. Ranges are in the
 * ip-rule source the rules were parsed from.
 */
export function routingFindings(cfg: RoutingConfig, writes?: MarkWrite[]): Diagnostic[] {
  const p = prepare(cfg);
  const out: Diagnostic[] = [];
  const settable = writes ? writes.reduce((acc, w) => u32(acc | (w.any ? w.mask : (w.value & w.mask) | (w.value & ~w.mask))), 0) : FULL;
  for (const [family, rules] of p.rules) {
    if (!cfg.rules.some((r) => r.family === family)) continue;
    const prios = new Set(rules.map((r) => r.priority));
    for (const r of rules) {
      if (r.action === 'goto' && r.gotoTarget !== undefined && !prios.has(r.gotoTarget)) {
        out.push({ range: r.tableRange ?? r.range, severity: 'warning', code: 'goto-missing-priority', message: `no ip rule has priority ${r.gotoTarget}: this goto is skipped` });
      }
      if (r.action === 'lookup' && r.table !== undefined && r.table !== 253 && cfg.routes.length && !p.index.has(`${family}/${r.table}`)) {
        out.push({ range: r.tableRange ?? r.range, severity: 'warning', code: 'lookup-empty-table', message: `table ${tableLabel(r.table, cfg.tables)} has no routes: the lookup always falls through` });
      }
      if (writes && r.fwmark && !r.not) {
        const missing = u32(r.fwmark.value & r.fwmark.mask & ~settable);
        if (missing) {
          out.push({ range: r.fwmark.range, severity: 'warning', code: 'fwmark-never-set', message: `no rule in the ruleset sets mark bit(s) ${hex(missing)}: ip rule ${r.priority} never matches` });
        }
      }
    }
  }
  return out;
}

function num(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = /^0x[0-9a-f]+$/i.test(text) ? parseInt(text, 16) : /^\d+$/.test(text) ? Number(text) : undefined;
  return n !== undefined && n <= FULL ? n : undefined;
}

/**
 * The packet-mark writes of a ruleset: iptables MARK (every form iptables-save prints), CONNMARK
 * --restore-mark (bits copied from the ct mark), nft `meta mark set` (a constant, or anything else
 * as "any bit"). Used by routingFindings and writesForRule.
 */
export function markWritesFromRuleset(rs: Ruleset): MarkWrite[] {
  const out: MarkWrite[] = [];
  for (const t of rs.tables) for (const c of t.chains) for (const r of c.rules) for (const a of r.actions) {
    const opt = (name: string) => a.options.find((o) => o.name === name);
    const markVal = (name: string) => {
      const v = opt(name)?.values[0];
      if (!v) return undefined;
      if (v.kind === 'mark') return { value: v.value, mask: v.hasMask ? v.mask : FULL };
      const [x, m] = v.text.split('/');
      const value = num(x), mask = m === undefined ? FULL : num(m);
      return value === undefined || mask === undefined ? undefined : { value, mask };
    };
    if (a.name === 'MARK') {
      const x = markVal('set-xmark');
      const s = markVal('set-mark');
      const or = markVal('or-mark'), and = markVal('and-mark'), xor = markVal('xor-mark');
      const w = x ?? (s && { value: s.value, mask: u32(s.mask | s.value) }) ?? (or && { value: or.value, mask: or.value }) ?? (and && { value: 0, mask: u32(~and.value) }) ?? (xor && { value: xor.value, mask: 0 });
      out.push(w ? { ...w, range: a.range } : { value: 0, mask: FULL, any: true, range: a.range });
    } else if (a.name === 'CONNMARK' && opt('restore-mark')) {
      const mask = markVal('mask')?.value;
      const nf = markVal('nfmask')?.value ?? mask ?? FULL, ct = markVal('ctmask')?.value ?? mask ?? FULL;
      out.push({ value: 0, mask: u32(nf & ct), any: true, range: a.range });
    } else if (a.name === 'mark-set') {
      const v = num(opt('value')?.values[0]?.text);
      out.push(v !== undefined ? { value: v, mask: FULL, range: a.range, text: a.text } : { value: 0, mask: FULL, any: true, range: a.range, text: a.text });
    }
  }
  return out;
}


const ACTION_TEXT: Record<string, string> = {
  blackhole: 'the packet is dropped silently (blackhole: EINVAL)',
  unreachable: 'the packet is refused: network unreachable (ENETUNREACH)',
  prohibit: 'the packet is refused: administratively prohibited (EACCES)',
  nop: 'nothing happens (nop): the next rule is tried',
};

/** Hover text for one `ip rule`: what it selects and where it sends packets, one line per fact. */
export function describeIpRule(cfg: RoutingConfig, rule: IpRule): string[] {
  const p = prepare(cfg);
  const sel: string[] = [];
  if (rule.from) sel.push(`source in ${formatPrefix(rule.from)}`);
  if (rule.to) sel.push(`destination in ${formatPrefix(rule.to)}`);
  if (rule.fwmark) {
    const { value, mask } = rule.fwmark;
    sel.push(mask === FULL ? `mark ${hex(value)}` : value === mask ? `mark bits ${hex(mask)} set` : value === 0 ? `mark bits ${hex(mask)} clear` : `mark AND ${hex(mask)} = ${hex(value)}`);
  }
  if (rule.iif) sel.push(rule.iif === 'lo' ? 'sent by this host (iif lo)' : `arriving on ${rule.iif}${rule.iifDetached ? ' (no such device: never)' : ''}`);
  if (rule.oif) sel.push(`bound to output device ${rule.oif}${rule.oifDetached ? ' (no such device: never)' : ''}`);
  if (rule.tos) sel.push(`TOS ${hex(rule.tos)}`);
  if (rule.ipproto !== undefined) sel.push(`IP protocol ${rule.ipproto}`);
  if (rule.sport) sel.push(`source port ${rule.sport.from}${rule.sport.to !== rule.sport.from ? `-${rule.sport.to}` : ''}`);
  if (rule.dport) sel.push(`destination port ${rule.dport.from}${rule.dport.to !== rule.dport.from ? `-${rule.dport.to}` : ''}`);
  if (rule.uidrange) sel.push(`socket uid ${rule.uidrange.from}-${rule.uidrange.to} (packets sent by this host)`);
  const who = sel.length ? `packets with ${sel.join(', ')}` : 'every packet';
  const lines = [`ip rule ${rule.priority}: ${rule.not ? `every packet except ${who}` : who}`];
  switch (rule.action) {
    case 'lookup': {
      if (rule.table === undefined) { lines.push(`lookup ${rule.tableText}: not a table rt_tables names`); break; }
      const name = tableLabel(rule.table, cfg.tables);
      const routes = p.tables.get(`${rule.family}/${rule.table}`) ?? [];
      if (!routes.length) lines.push(`lookup table ${name}: no routes, the lookup always falls through to the next rule`);
      else {
        lines.push(`lookup table ${name} (${routes.length} route${routes.length > 1 ? 's, longest prefix first' : ''}); without a route for the destination the next rule is tried`);
        for (const r of routes.slice(0, 6)) lines.push(`  ${routeText(r)}`);
        if (routes.length > 6) lines.push(`  … ${routes.length - 6} more`);
      }
      if (rule.suppressPrefixlength !== undefined) lines.push(`a route found with prefix length ≤ ${rule.suppressPrefixlength} is ignored (suppress_prefixlength): the next rule is tried`);
      break;
    }
    case 'goto': {
      const rules = p.rules.get(rule.family) ?? [];
      const t = rules.find((r) => r.priority === rule.gotoTarget);
      lines.push(t ? `goto ${rule.gotoTarget}: continue at ${t.text.replace(/\s+/g, ' ').trim()}` : `goto ${rule.gotoTarget}: no rule has that priority, so the goto is skipped`);
      break;
    }
    default:
      lines.push(ACTION_TEXT[rule.action]);
  }
  return lines;
}

function formatPrefix(p: { text: string }): string {
  return p.text;
}
