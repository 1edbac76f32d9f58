// Reading one rule of the model for the analyses: the target it ends in, its options by canonical name
// and their values. Works with typed values when the rule builder filled them and with the source
// words otherwise, so the analyses stay correct while the builder changes.
import type { Action, Chain, Match, Option, Rule, Table, Value } from '../model/ruleset';
import { parseMarkMask } from '../knowledge/marks';

/** Target extensions the analyses know by name (iptables). A `-j NAME` naming one of these and no chain is a target. */
export const KNOWN_TARGETS = new Set([
  'ACCEPT', 'DROP', 'RETURN', 'QUEUE', 'REJECT', 'DNAT', 'SNAT', 'MASQUERADE', 'REDIRECT', 'NETMAP', 'MARK', 'CONNMARK',
  'LOG', 'NFLOG', 'ULOG', 'TRACE', 'CT', 'NOTRACK', 'TCPMSS', 'DSCP', 'TOS', 'TTL', 'HL', 'ECN', 'CLASSIFY', 'TPROXY',
  'NFQUEUE', 'CHECKSUM', 'SECMARK', 'CONNSECMARK', 'SYNPROXY', 'AUDIT', 'IDLETIMER', 'LED', 'TEE', 'SET', 'HMARK',
  'RATEEST', 'CLUSTERIP', 'TCPOPTSTRIP', 'NPTV6', 'DNPT', 'SNPT', 'JOURNAL',
]);

/** Targets after which the packet leaves the chain for good (when the rule matches). */
const ENDING_TARGETS = new Set(['ACCEPT', 'DROP', 'REJECT', 'QUEUE', 'NFQUEUE', 'DNAT', 'SNAT', 'MASQUERADE', 'REDIRECT', 'NETMAP', 'TPROXY', 'SYNPROXY', 'RETURN', 'CLUSTERIP']);

export type TargetKind = 'none' | 'verdict' | 'jump' | 'goto' | 'target' | 'nft';

export interface RuleTarget {
  kind: TargetKind;
  /** Upper-case target or verdict name; the chain name for jump/goto. */
  name: string;
  action?: Action;
}

/** The iptables target of a rule (nft rules: the verdict statement, if any). */
// Per-table name index, so asking about every rule of a 100 000-rule table stays linear.
const chainIndexCache = new WeakMap<Table, { n: number; names: Set<string> }>();
function chainsByName(table: Table): Set<string> {
  const hit = chainIndexCache.get(table);
  if (hit && hit.n === table.chains.length) return hit.names;
  const names = new Set(table.chains.map((c) => c.name));
  chainIndexCache.set(table, { n: table.chains.length, names });
  return names;
}

export function ruleTarget(rule: Rule, table: Table, chains?: Map<string, Chain>): RuleTarget {
  const a = rule.actions[rule.actions.length - 1];
  if (!a) return { kind: 'none', name: '' };
  if (a.kind === 'verdict') return { kind: 'verdict', name: a.name.toUpperCase(), action: a };
  if (a.kind === 'jump' || a.kind === 'goto') {
    const name = a.chain ?? a.name;
    const declared = (chains ?? chainsByName(table)).has(name);
    // Until the rule builder knows every target, `-j TPROXY` may arrive as a jump.
    if (!declared && KNOWN_TARGETS.has(name) && a.kind === 'jump') return { kind: 'target', name, action: a };
    return { kind: a.kind, name, action: a };
  }
  return { kind: 'target', name: a.name.toUpperCase(), action: a };
}

/** Does a matching packet leave the chain at this rule? (Jumps are decided by the caller.) */
export function isEndingTarget(t: RuleTarget): boolean {
  if (t.kind === 'goto') return true;
  if (t.kind === 'verdict' || t.kind === 'target') return ENDING_TARGETS.has(t.name);
  return false;
}

const ALIASES: Record<string, string> = {
  s: 'source', src: 'source', source: 'source',
  d: 'destination', dst: 'destination', destination: 'destination',
  i: 'in-interface', 'in-interface': 'in-interface',
  o: 'out-interface', 'out-interface': 'out-interface',
  p: 'protocol', protocol: 'protocol',
  f: 'fragment', fragment: 'fragment',
  'destination-port': 'dport', dport: 'dport', 'destination-ports': 'dports', dports: 'dports',
  'source-port': 'sport', sport: 'sport', 'source-ports': 'sports', sports: 'sports',
  ports: 'ports', port: 'ports',
};

const BUILTIN_FLAGS = new Set(['-s', '--source', '--src', '-d', '--destination', '--dst', '-i', '--in-interface', '-o', '--out-interface', '-p', '--protocol', '-f', '--fragment']);

export function optName(o: Option): string {
  const n = o.name.replace(/^-+/, '');
  return ALIASES[n] ?? n;
}

export function isBuiltinOpt(o: Option): boolean {
  return BUILTIN_FLAGS.has(o.flag) || (o.flag === '' && ['source', 'destination', 'in-interface', 'out-interface', 'protocol', 'fragment'].includes(o.name));
}

export function valueText(v: Value): string {
  return v.kind === 'string' ? v.value : v.text;
}

export function optText(o: Option): string {
  return o.values.map(valueText).join(' ');
}

export interface FoundOption {
  match: Match;
  option: Option;
  name: string;
}

/** Every option of the rule's matches with its canonical name and module. */
export function ruleOptions(rule: Rule): FoundOption[] {
  const out: FoundOption[] = [];
  for (const m of rule.matches) for (const o of m.options) out.push({ match: m, option: o, name: optName(o) });
  return out;
}

/** The module an option belongs to: "" for the built-in -s -d -i -o -p -f, wherever the builder put them. */
export function moduleOf(f: FoundOption): string {
  return isBuiltinOpt(f.option) ? '' : f.match.module;
}

export function markOf(v: Value | undefined): { value: number; mask: number; hasMask: boolean } | undefined {
  if (!v) return undefined;
  if (v.kind === 'mark') return { value: v.value >>> 0, mask: v.mask >>> 0, hasMask: v.hasMask };
  if (v.kind === 'number') return { value: v.value >>> 0, mask: 0xffffffff, hasMask: false };
  return parseMarkMask(valueText(v));
}

export function describeRule(rule: Rule, chain: Chain): string {
  return `rule ${rule.index + 1} of ${chain.name} (line ${rule.range.start.line + 1})`;
}
