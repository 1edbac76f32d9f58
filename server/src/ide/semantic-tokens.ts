// Semantic tokens from the model: what the TextMate grammar cannot know (which word is a chain, a
// module, a target, a declared chain versus a use).
import type { Range } from '../model/ruleset';
import { lineText, occurrenceSpans, symbolIsBuiltinChain, symbolIsChain, type DocumentAnalysis } from './document';
import type { SemanticToken, SemanticTokenModifier, SemanticTokenType } from './types';
import { runSteps, TimeSlice } from '../steps';

export function semanticTokens(doc: DocumentAnalysis): SemanticToken[] {
  return runSteps(semanticTokensSteps(doc));
}

/** semanticTokens in slices of ~25 ms (2.3 s and 1.5 million tokens on a 300 000-line kube dump), so the
 *  language server answers other requests meanwhile and drops a cancelled request. */
export function* semanticTokensSteps(doc: DocumentAnalysis): Generator<void, SemanticToken[], void> {
  const budget = new TimeSlice();
  const toks: SemanticToken[] = [];
  const taken = new Set<string>();
  const add = (r: Range | undefined, type: SemanticTokenType, modifiers: SemanticTokenModifier[] = []) => {
    if (!r || r.start.line !== r.end.line || r.end.character <= r.start.character) return;
    const key = `${r.start.line}:${r.start.character}`;
    if (taken.has(key)) return;
    taken.add(key);
    toks.push({ line: r.start.line, character: r.start.character, length: r.end.character - r.start.character, type, modifiers });
  };
  let n = 0;
  for (const o of occurrenceSpans(doc)) {
    if ((++n & 1023) === 0 && budget.due()) yield;
    const mods: SemanticTokenModifier[] = [];
    if (o.declaration) mods.push('declaration');
    if (symbolIsBuiltinChain(doc, o.symbol)) mods.push('defaultLibrary');
    const key = `${o.line}:${o.character}`;
    if (o.length <= 0 || taken.has(key)) continue;
    taken.add(key);
    toks.push({ line: o.line, character: o.character, length: o.length, type: symbolIsChain(doc, o.symbol) ? 'function' : 'variable', modifiers: mods });
  }
  for (const t of doc.ruleset.tables) {
    add(t.nameRange, 'namespace', ['declaration']);
    for (const c of t.chains) {
      for (const r of c.rules) {
        if (budget.due()) yield;
        for (const m of r.matches) {
          add(m.moduleRange, 'type');
          for (const o of m.options) add(o.nameRange, 'parameter');
        }
        for (const a of r.actions) {
          if (a.kind === 'verdict') add(a.nameRange, 'keyword');
          else if (a.kind === 'extension') add(a.nameRange, 'macro', /MARK$/.test(a.name) ? ['modification'] : []);
          for (const o of a.options) add(o.nameRange, 'parameter');
        }
      }
    }
  }
  for (const op of doc.marks.ops) {
    const o = op.range;
    // The value after the flag: the rest of the option's range.
    const l = lineText(doc, o.start.line);
    const txt = l.slice(o.start.character, o.end.character);
    const m = /(\S+)$/.exec(txt);
    if (m && m.index > 0) add({ start: { line: o.start.line, character: o.start.character + m.index }, end: o.end }, 'number');
  }
  yield;
  toks.sort((a, b) => a.line - b.line || a.character - b.character);
  yield;
  // Drop overlaps (a token must not start inside the previous one).
  const out: SemanticToken[] = [];
  for (const t of toks) {
    if (budget.due()) yield;
    const p = out[out.length - 1];
    if (p && p.line === t.line && t.character < p.character + p.length) continue;
    out.push(t);
  }
  return out;
}
