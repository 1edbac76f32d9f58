// Turns the items of one iptables rule (everything after `-A CHAIN`) into matches and a target.
// PLACEHOLDER: minimal grouping only; the extension knowledge base replaces this.
import type { Action, Diagnostic, Match, Option, Value } from './ruleset';
import type { RuleItem } from '../syntax/iptables-parser';

export interface RuleContext {
  table: string;
  family: 'ip' | 'ip6';
}

export interface BuiltRule {
  matches: Match[];
  actions: Action[];
  comment?: string;
  diagnostics: Diagnostic[];
}

export function buildRule(items: RuleItem[], _ctx: RuleContext): BuiltRule {
  const matches: Match[] = [];
  const actions: Action[] = [];
  const diagnostics: Diagnostic[] = [];
  let cur: Match | undefined;
  let target: Action | undefined;
  let negate = false;
  let opt: Option | undefined;
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    if (it.kind === 'bang') { negate = true; continue; }
    if (it.kind === 'flag') {
      if ((it.text === '-m' || it.text === '--match') && items[i + 1]) {
        const m = items[++i];
        cur = { module: m.value, moduleRange: m.range, known: false, options: [], range: { start: it.range.start, end: m.range.end } };
        matches.push(cur);
        opt = undefined;
        continue;
      }
      if ((it.text === '-j' || it.text === '-g' || it.text === '--jump' || it.text === '--goto') && items[i + 1]) {
        const m = items[++i];
        const isGoto = it.text === '-g' || it.text === '--goto';
        const verdict = ['ACCEPT', 'DROP', 'RETURN', 'QUEUE'].includes(m.value);
        const ext = !isGoto && ['MARK', 'CONNMARK', 'DNAT', 'SNAT', 'MASQUERADE', 'REDIRECT', 'LOG', 'REJECT', 'CT', 'TRACE', 'NOTRACK'].includes(m.value);
        target = {
          kind: verdict ? 'verdict' : ext ? 'extension' : isGoto ? 'goto' : 'jump',
          name: m.value,
          chain: verdict || ext ? undefined : m.value,
          chainRange: verdict || ext ? undefined : m.range,
          known: verdict,
          options: [],
          range: { start: it.range.start, end: m.range.end },
          nameRange: m.range,
        };
        actions.push(target);
        opt = undefined;
        continue;
      }
      opt = { name: it.text.replace(/^--?/, ''), flag: it.text, negated: negate, values: [], range: it.range, nameRange: it.range };
      negate = false;
      if (target) target.options.push(opt);
      else {
        if (!cur) { cur = { module: '', known: true, options: [], range: it.range }; matches.push(cur); }
        cur.options.push(opt);
      }
      continue;
    }
    if (opt) {
      const v: Value = { kind: 'word', text: it.value, range: it.range };
      opt.values.push(v);
      opt.range = { start: opt.range.start, end: it.range.end };
    }
  }
  return { matches, actions, diagnostics };
}
