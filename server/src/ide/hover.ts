// Hover: chains (where declared, how many rules, who jumps here), mark arithmetic, and the knowledge
// base's doc lines for every other module, option and target (never guessed).
import type { Action, Match, Option, Range } from '../model/ruleset';
import { contains, declarationsOf, occurrenceAt, referenceCount, referencesOf, ruleAtLine, ruleText, type ChainSymbol, type DocumentAnalysis } from './document';
import { markHover } from './mark-hover';
import { hookDoc, matchDoc, nftExpressionDoc, nftStatementDoc, optionDoc, targetDoc } from './knowledge-docs';
import type { HoverResult } from './types';

const MAX_CALLERS = 10;

function lineLink(doc: DocumentAnalysis, line0: number): string {
  return `[line ${line0 + 1}](${doc.uri}#L${line0 + 1})`;
}

function setHover(doc: DocumentAnalysis, s: ChainSymbol): string {
  const st = s.set;
  const out: string[] = [];
  const what = st ? (st.kind === 'set' ? 'set' : st.kind === 'vmap' ? 'verdict map' : 'map') : 'set';
  out.push(`**${what} @${s.name}** — table ${s.table?.name}${st ? '' : ', not declared in this table'}`);
  if (st) {
    const facts: string[] = [];
    if (st.keyType) facts.push(`type ${st.keyType}${st.dataType ? ` : ${st.dataType}` : ''}`);
    if (st.flags?.length) facts.push(`flags ${st.flags.join(', ')}`);
    facts.push(`${st.elements.length} ${st.elements.length === 1 ? 'element' : 'elements'} in this file`);
    out.push(facts.join('; ') + '.');
  }
  out.push(usedFrom(doc, s));
  return out.join('\n\n');
}

function variableHover(doc: DocumentAnalysis, s: ChainSymbol): string {
  const v = s.variable;
  return [`**define ${s.name}** = \`${v?.value ?? '?'}\``, usedFrom(doc, s)].join('\n\n');
}

function usedFrom(doc: DocumentAnalysis, s: ChainSymbol): string {
  const n = referenceCount(doc, s);
  if (!n) return 'Not used in this file.';
  const shown = referencesOf(doc, s, MAX_CALLERS).map((o) => lineLink(doc, o.range.start.line));
  return `Used at ${shown.join(', ')}${n > MAX_CALLERS ? ` and ${n - MAX_CALLERS} more` : ''}.`;
}

export function symbolHover(doc: DocumentAnalysis, s: ChainSymbol): string {
  return s.kind === 'set' ? setHover(doc, s) : s.kind === 'variable' ? variableHover(doc, s) : chainHover(doc, s);
}

export function chainHover(doc: DocumentAnalysis, s: ChainSymbol): string {
  const c = s.chain;
  const tname = s.table?.name ?? '?';
  const out: string[] = [];
  const kind = !c ? 'not declared' : c.builtin ? 'built-in chain' : c.hook ? `base chain (${c.type ?? 'filter'} hook ${c.hook})` : 'user-defined chain';
  out.push(`**chain ${s.name}** — table ${tname}, ${kind}`);
  const facts: string[] = [];
  if ((c?.builtin || c?.hook) && c.hook) facts.push(`hook ${c.hook}, priority ${c.priority ?? 0}`);
  if (c?.policy) facts.push(`policy ${c.policy}`);
  if (facts.length) out.push(facts.join('; ') + '.');
  const hd = c?.hook ? hookDoc(c.hook) : undefined;
  if (hd) out.push(`Hook ${c!.hook}: ${hd}`);
  const decls = declarationsOf(doc, s);
  if (decls.length) out.push(`Declared at ${decls.map((d) => lineLink(doc, d.range.start.line)).join(', ')}.`);
  else out.push(`Not declared in table ${tname}.`);
  if (c) out.push(`${c.rules.length} ${c.rules.length === 1 ? 'rule' : 'rules'}.`);
  const nCallers = referenceCount(doc, s);
  if (nCallers) {
    const lines = referencesOf(doc, s, MAX_CALLERS).map((o) => {
      const rule = o.rule;
      return `- ${o.kind === 'goto' ? 'goto' : 'jump'} from ${lineLink(doc, o.range.start.line)}${rule ? ` (${rule.chain.name}): \`${ruleText(doc, rule.rule)}\`` : ''}`;
    });
    if (nCallers > MAX_CALLERS) lines.push(`- and ${nCallers - MAX_CALLERS} more`);
    out.push(`Jumped to from ${nCallers} ${nCallers === 1 ? 'place' : 'places'}:\n` + lines.join('\n'));
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
  if (occ) return { markdown: symbolHover(doc, occ.symbol), range: occ.range };
  const ref = ruleAtLine(doc, line);
  if (!ref) return undefined;
  const rule = ref.rule;
  const ops = doc.marks.byLine.get(line) ?? [];
  // A mark option (or its value) under the cursor.
  const op = ops.find((o) => contains(o.range, line, character));
  if (op) return { markdown: markHover(doc, op), range: op.range };
  if (doc.ruleset.kind === 'nft') return nftHover(rule.matches, rule.actions, line, character);
  const family = doc.ruleset.family === 'ip6' ? 'ip6' : 'ip';
  for (const a of rule.actions) {
    if (at(a.nameRange, line, character)) {
      const first = ops.find((o) => o.kind !== 'test' && o.rule.rule === rule);
      if (first && /^(CONN)?MARK$/i.test(a.name)) return { markdown: markHover(doc, first), range: a.nameRange };
      return { markdown: actionDoc(a, family), range: a.nameRange };
    }
    const o = optionAt(a.options, line, character);
    if (o) {
      const d = optionDoc(a.name, o.name, o.flag, true, family);
      return { markdown: d ? `**${a.name} ${o.flag}**\n\n${d}` : notInKb(`\`${a.name} ${o.flag}\``), range: o.range };
    }
  }
  for (const m of rule.matches) {
    if (at(m.moduleRange, line, character)) {
      const test = ops.find((o) => o.kind === 'test' && contains(m.range, o.range.start.line, o.range.start.character));
      if (test && (m.module === 'mark' || m.module === 'connmark')) return { markdown: markHover(doc, test), range: m.moduleRange! };
      return { markdown: moduleDoc(m, family), range: m.moduleRange! };
    }
    const o = optionAt(m.options, line, character);
    if (o) {
      const d = optionDoc(m.module, o.name, o.flag, false, family);
      const label = m.module ? `-m ${m.module} ${o.flag}` : o.flag;
      return { markdown: d ? `**${label}**\n\n${d}` : notInKb(`\`${label}\``), range: o.range };
    }
  }
  return undefined;
}

function actionDoc(a: Action, family: 'ip' | 'ip6'): string {
  const d = targetDoc(a.name, family);
  return d ? `**${a.name}**\n\n${d}` : notInKb(`target \`${a.name}\``);
}

function moduleDoc(m: Match, family: 'ip' | 'ip6'): string {
  const d = matchDoc(m.module, family);
  return d ? `**-m ${m.module}**\n\n${d}` : notInKb(`match module \`${m.module}\``);
}

const MAX_LABEL = 160;

/** A statement as a one-line hover title: a rule with a 1 000 000-element anonymous set is 14 MB of text. */
function shortLabel(text: string): string {
  const one = text.slice(0, MAX_LABEL * 4).replace(/\s+/g, ' ').trim();
  return one.length > MAX_LABEL || text.length > MAX_LABEL * 4 ? one.slice(0, MAX_LABEL - 1) + '…' : one;
}

/** nft: the doc of the statement or of the expression's first word under the cursor. */
function nftHover(matches: Match[], actions: Action[], line: number, ch: number): HoverResult | undefined {
  for (const a of actions) {
    if (!contains(a.range, line, ch)) continue;
    const text = (a.text ?? a.name).trim();
    const key = a.kind === 'verdict' || a.kind === 'jump' || a.kind === 'goto' ? a.name : /^\S*/.exec(text)![0];
    const d = nftStatementDoc(key) ?? nftStatementDoc(a.name);
    return { markdown: d ? `**${shortLabel(text)}**\n\n${d}` : notInKb(`\`${shortLabel(text)}\``), range: a.range };
  }
  for (const m of matches) {
    if (!contains(m.range, line, ch) || !m.nft) continue;
    const first = m.nft.left.trim().split(/\s+/)[0];
    const d = nftExpressionDoc(first);
    const text = shortLabel(`${m.nft.left}${m.nft.op === 'implicit' ? '' : ' ' + m.nft.op} ${m.nft.right.slice(0, MAX_LABEL * 4)}`);
    return { markdown: d ? `**${text}**\n\n${d}` : notInKb(`\`${first}\``), range: m.range };
  }
  return undefined;
}
