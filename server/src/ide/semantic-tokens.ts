// Semantic tokens from the model: what the TextMate grammar cannot know (which word is a chain, a
// module, a target, a declared chain versus a use).
import type { Range, Rule } from '../model/ruleset';
import { lineCount, lineText, occurrenceSpans, ruleAtLine, symbolIsBuiltinChain, symbolIsChain, type DocumentAnalysis } from './document';
import { SEMANTIC_TOKEN_MODIFIERS, SEMANTIC_TOKEN_TYPES, type SemanticToken, type SemanticTokenModifier, type SemanticTokenType } from './types';
import { runSteps, TimeSlice } from '../steps';

const TYPE_INDEX = new Map<SemanticTokenType, number>(SEMANTIC_TOKEN_TYPES.map((t, i) => [t, i]));
const MOD_BIT = new Map<SemanticTokenModifier, number>(SEMANTIC_TOKEN_MODIFIERS.map((m, i) => [m, 1 << i]));

/** The tokens, decoded (tests and small callers; the server sends `semanticTokenDataSteps`' encoding). */
export function semanticTokens(doc: DocumentAnalysis, lines?: { start: number; end: number }): SemanticToken[] {
  const data = runSteps(semanticTokenDataSteps(doc, lines));
  const out: SemanticToken[] = [];
  let line = 0, ch = 0;
  for (let i = 0; i < data.length; i += 5) {
    line += data[i];
    ch = data[i] ? data[i + 1] : ch + data[i + 1];
    const mods = SEMANTIC_TOKEN_MODIFIERS.filter((m) => data[i + 4] & MOD_BIT.get(m)!);
    out.push({ line, character: ch, length: data[i + 2], type: SEMANTIC_TOKEN_TYPES[data[i + 3]], modifiers: mods });
  }
  return out;
}

/** Above this many lines a whole-document request gets no tokens (the client asks for its viewport with a
 *  range request instead): VS Code itself treats files over 300 000 lines as large and stops tokenizing
 *  them, and 3.75 million tokens of a 750 000-line dump are a 150 MB array and a 40 MB message. */
export const FULL_TOKENS_MAX_LINES = 300_000;

export function fullTokensAllowed(doc: DocumentAnalysis): boolean {
  return lineCount(doc) <= FULL_TOKENS_MAX_LINES;
}

/** Tokens as they are found: four numbers each in typed arrays (a 750 000-line dump has 3.75 million
 *  tokens; an object, a modifier array and a "line:char" key apiece took about a gigabyte). */
class TokenBuffer {
  n = 0;
  line = new Int32Array(1024);
  ch = new Int32Array(1024);
  len = new Int32Array(1024);
  /** Type index | modifier bits << 8. */
  kind = new Int32Array(1024);
  push(line: number, ch: number, len: number, type: SemanticTokenType, mods: number): void {
    if (this.n === this.line.length) {
      const grow = (a: Int32Array) => { const b = new Int32Array(a.length * 2); b.set(a); return b; };
      this.line = grow(this.line); this.ch = grow(this.ch); this.len = grow(this.len); this.kind = grow(this.kind);
    }
    const k = this.n++;
    this.line[k] = line; this.ch[k] = ch; this.len[k] = len; this.kind[k] = TYPE_INDEX.get(type)! | (mods << 8);
  }
}

function modBits(mods: SemanticTokenModifier[]): number {
  let m = 0;
  for (const x of mods) m |= MOD_BIT.get(x)!;
  return m;
}

const NO_MODS: SemanticTokenModifier[] = [];

/** The document's semantic tokens in LSP's relative encoding (5 numbers per token), computed in slices of
 *  ~25 ms so the language server answers other requests meanwhile and drops a cancelled request.
 *  Where two tokens start at the same place the first found wins; a token starting inside the previous one
 *  is dropped. */
export function* semanticTokenDataSteps(doc: DocumentAnalysis, lines?: { start: number; end: number }): Generator<void, number[], void> {
  const budget = new TimeSlice();
  const buf = new TokenBuffer();
  const from = lines ? lines.start : 0, to = lines ? lines.end : Infinity;
  const add = (r: Range | undefined, type: SemanticTokenType, modifiers: SemanticTokenModifier[] = NO_MODS) => {
    if (!r || r.start.line !== r.end.line || r.end.character <= r.start.character) return;
    if (r.start.line < from || r.start.line > to) return;
    buf.push(r.start.line, r.start.character, r.end.character - r.start.character, type, modBits(modifiers));
  };
  let n = 0;
  for (const o of occurrenceSpans(doc)) {
    if ((++n & 1023) === 0 && budget.due()) yield;
    if (o.length <= 0 || o.line < from || o.line > to) continue;
    let mods = 0;
    if (o.declaration) mods |= MOD_BIT.get('declaration')!;
    if (symbolIsBuiltinChain(doc, o.symbol)) mods |= MOD_BIT.get('defaultLibrary')!;
    buf.push(o.line, o.character, o.length, symbolIsChain(doc, o.symbol) ? 'function' : 'variable', mods);
  }
  const ruleTokens = (r: Rule) => {
    for (const m of r.matches) {
      add(m.moduleRange, 'type');
      for (const o of m.options) add(o.nameRange, 'parameter');
    }
    for (const a of r.actions) {
      if (a.kind === 'verdict') add(a.nameRange, 'keyword');
      else if (a.kind === 'extension') add(a.nameRange, 'macro', /MARK$/.test(a.name) ? ['modification'] : []);
      for (const o of a.options) add(o.nameRange, 'parameter');
    }
  };
  for (const t of doc.ruleset.tables) add(t.nameRange, 'namespace', ['declaration']);
  if (lines && doc.ruleset.kind !== 'nft') {
    // A range (the editor's viewport): only the rules on those lines are read (one rule per iptables line).
    for (let l = from; l <= to && l < lineCount(doc); l++) {
      if (budget.due()) yield;
      const ref = ruleAtLine(doc, l);
      if (ref) ruleTokens(ref.rule);
    }
  } else for (const t of doc.ruleset.tables) {
    for (const c of t.chains) {
      for (const r of c.rules) {
        if (budget.due()) yield;
        if (lines && (r.range.end.line < from || r.range.start.line > to)) continue;
        ruleTokens(r);
      }
    }
  }
  for (const op of doc.marks.ops) {
    const o = op.range;
    if (o.start.line < from || o.start.line > to) continue;
    // The value after the flag: the rest of the option's range.
    const l = lineText(doc, o.start.line);
    const txt = l.slice(o.start.character, o.end.character);
    const m = /(\S+)$/.exec(txt);
    if (m && m.index > 0) add({ start: { line: o.start.line, character: o.start.character + m.index }, end: o.end }, 'number');
  }
  yield;
  return yield* encodeTokens(buf, budget);
}

/** Orders the tokens by position (a counting sort by line, then by column within each line: stable, so the
 *  first found of two at one place comes first), keeps the first at each place and drops a token starting
 *  inside the one before, and encodes them relative to each other. */
function* encodeTokens(buf: TokenBuffer, budget: TimeSlice): Generator<void, number[], void> {
  const { n, line, ch, len, kind } = buf;
  let maxLine = 0;
  for (let k = 0; k < n; k++) if (line[k] > maxLine) maxLine = line[k];
  const start = new Int32Array(maxLine + 2);
  for (let k = 0; k < n; k++) start[line[k] + 1]++;
  for (let l = 0; l <= maxLine; l++) start[l + 1] += start[l];
  const order = new Int32Array(n);
  const fill = start.slice(0, maxLine + 1);
  for (let k = 0; k < n; k++) order[fill[line[k]]++] = k;
  yield;
  const enc = new Int32Array(5 * n);
  let w = 0;
  let prevLine = 0, prevCh = 0;
  const bucket: number[] = [];
  for (let l = 0; l <= maxLine; l++) {
    const a = start[l], b = start[l + 1];
    if (a === b) continue;
    if ((l & 1023) === 0 && budget.due()) yield;
    bucket.length = 0;
    for (let k = a; k < b; k++) bucket.push(order[k]);
    // Stable: ties keep the order in which the tokens were found.
    if (bucket.length > 1) bucket.sort((x, y) => ch[x] - ch[y] || x - y);
    // Overlaps are within a line: each line's bucket starts afresh. Every token has a length, so a second
    // token at the same place starts inside the first and is dropped with the overlaps.
    let prevEnd = -1;
    for (const k of bucket) {
      const c = ch[k];
      if (c < prevEnd) continue;
      enc[w] = l - prevLine;
      enc[w + 1] = l === prevLine ? c - prevCh : c;
      enc[w + 2] = len[k];
      enc[w + 3] = kind[k] & 0xff;
      enc[w + 4] = kind[k] >>> 8;
      w += 5;
      prevLine = l;
      prevCh = c;
      prevEnd = c + len[k];
    }
  }
  // The protocol wants a plain array: made at its exact size (an array grown by push keeps up to half again).
  const data = new Array<number>(w);
  for (let i = 0; i < w; i++) {
    if ((i & 0xffff) === 0 && budget.due()) yield;
    data[i] = enc[i];
  }
  return data;
}
