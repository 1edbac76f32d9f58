// Hover: chains (where declared, how many rules, who jumps here), mark arithmetic, and the knowledge
// base's doc lines for every other module, option and target (never guessed).
import type { Action, Match, Option, Range } from '../model/ruleset';
import { contains, occurrenceAt, ruleText, type ChainSymbol, type DocumentAnalysis } from './document';
import { markHover } from './mark-hover';
import { matchDoc, optionDoc, targetDoc } from './knowledge-docs';
import type { HoverResult } from './types';

const MAX_CALLERS = 10;

function lineLink(doc: DocumentAnalysis, line0: number): string {
  return `[line ${line0 + 1}](${doc.uri}#L${line0 + 1})`;
}

export function chainHover(doc: DocumentAnalysis, s: ChainSymbol): string {
  const c = s.chain;
  const out: string[] = [];
  const kind = !c ? 'not declared' : c.builtin ? 'built-in chain' : c.hook ? `base chain (${c.type ?? 'filter'} hook ${c.hook})` : 'user-defined chain';
  out.push(`**chain ${s.name}** — table ${s.table.name}, ${kind}`);
  const facts: string[] = [];
  if (c?.builtin && c.hook) facts.push(`hook ${c.hook}, priority ${c.priority ?? 0}`);
  if (c?.policy) facts.push(`policy ${c.policy}`);
  if (facts.length) out.push(facts.join('; ') + '.');
  const decls = s.occurrences.filter((o) => o.role === 'declaration');
  if (decls.length) out.push(`Declared at ${decls.map((d) => lineLink(doc, d.range.start.line)).join(', ')}.`);
  else out.push(`Not declared in table ${s.table.name}.`);
  if (c) out.push(`${c.rules.length} ${c.rules.length === 1 ? 'rule' : 'rules'}.`);
  const callers = s.occurrences.filter((o) => o.role === 'reference');
  if (callers.length) {
    const lines = callers.slice(0, MAX_CALLERS).map((o) => `- ${o.kind === 'goto' ? 'goto' : 'jump'} from ${lineLink(doc, o.range.start.line)}${o.rule ? ` (${o.rule.chain.name}): \`${ruleText(doc, o.rule.rule)}\`` : ''}`);
    if (callers.length > MAX_CALLERS) lines.push(`- and ${callers.length - MAX_CALLERS} more`);
    out.push(`Jumped to from ${callers.length} ${callers.length === 1 ? 'place' : 'places'}:\n` + lines.join('\n'));
  } else if (c && !c.builtin && !c.hook) {
    out.push('No rule of this file jumps here.');
  }
  return out.join('\n\n');
}

function notInKb(what: string): string {
  return `${what}: not in the knowledge base.`;
}

function optionAt(opts: Option[], line: number, ch: number): Option | undefined {
  return opts.find((o) => contains(o.range, line, ch) || contains(o.nameRange, line, ch));
}

function at(r: Range | undefined, line: number, ch: number): boolean {
  return !!r && contains(r, line, ch);
}

export function hover(doc: DocumentAnalysis, line: number, character: number): HoverResult | undefined {
  const occ = occurrenceAt(doc, line, character);
  if (occ) return { markdown: chainHover(doc, occ.symbol), range: occ.range };
  const ref = doc.rulesByLine.get(line);
  if (!ref) return undefined;
  const rule = ref.rule;
  const ops = doc.marks.byLine.get(line) ?? [];
  // A mark option (or its value) under the cursor.
  const op = ops.find((o) => contains(o.range, line, character));
  if (op) return { markdown: markHover(doc, op), range: op.range };
  for (const a of rule.actions) {
    if (at(a.nameRange, line, character)) {
      const first = ops.find((o) => o.kind !== 'test' && o.rule.rule === rule);
      if (first && /^(CONN)?MARK$/i.test(a.name)) return { markdown: markHover(doc, first), range: a.nameRange };
      return { markdown: actionDoc(a), range: a.nameRange };
    }
    const o = optionAt(a.options, line, character);
    if (o) {
      const d = optionDoc(a.name, o.name, true);
      return { markdown: d ? `**${a.name} ${o.flag}**\n\n${d}` : notInKb(`\`${a.name} ${o.flag}\``), range: o.range };
    }
  }
  for (const m of rule.matches) {
    if (at(m.moduleRange, line, character)) {
      const test = ops.find((o) => o.kind === 'test' && contains(m.range, o.range.start.line, o.range.start.character));
      if (test && (m.module === 'mark' || m.module === 'connmark')) return { markdown: markHover(doc, test), range: m.moduleRange! };
      return { markdown: moduleDoc(m), range: m.moduleRange! };
    }
    const o = optionAt(m.options, line, character);
    if (o) {
      const d = optionDoc(m.module, o.name, false);
      const label = m.module ? `-m ${m.module} ${o.flag}` : o.flag;
      return { markdown: d ? `**${label}**\n\n${d}` : notInKb(`\`${label}\``), range: o.range };
    }
  }
  return undefined;
}

function actionDoc(a: Action): string {
  const d = targetDoc(a.name);
  return d ? `**${a.name}**\n\n${d}` : notInKb(`target \`${a.name}\``);
}

function moduleDoc(m: Match): string {
  const d = matchDoc(m.module);
  return d ? `**-m ${m.module}**\n\n${d}` : notInKb(`match module \`${m.module}\``);
}
