// Quick fixes as code actions, in editor terms. The analyses attach fixes (plain edits) to their
// diagnostics; here they are picked for a range and given the document's own line endings, so a fix
// never mixes "\n" into a CRLF file.
import type { Diagnostic, Range } from '../model/ruleset';
import { fixesOf } from '../analysis/quick-fixes';
import type { TextEdit } from './types';

export interface CodeActionItem {
  title: string;
  kind: 'quickfix';
  diagnostic: Diagnostic;
  edits: TextEdit[];
}

function overlaps(a: Range, b: Range): boolean {
  const before = (p: Range['start'], q: Range['start']) => p.line < q.line || (p.line === q.line && p.character < q.character);
  return !before(a.end, b.start) && !before(b.end, a.start);
}

export function eolOf(text: string): '\r\n' | '\n' {
  const i = text.indexOf('\n');
  return i > 0 && text.charCodeAt(i - 1) === 13 ? '\r\n' : '\n';
}

export function codeActions(text: string, diagnostics: Diagnostic[], range: Range): CodeActionItem[] {
  const eol = eolOf(text);
  const out: CodeActionItem[] = [];
  for (const d of diagnostics) {
    if (!overlaps(d.range, range)) continue;
    for (const f of fixesOf(d)) {
      out.push({
        title: f.title,
        kind: 'quickfix',
        diagnostic: d,
        edits: f.edits.map((e) => ({ range: e.range, newText: eol === '\n' ? e.newText : e.newText.replace(/\r?\n/g, eol) })),
      });
    }
  }
  return out;
}

/** Offsets of each line start; positions past a line's end or the last line are clamped, as editors do. */
function offsetAt(text: string, starts: number[], p: Range['start']): number {
  if (p.line >= starts.length) return text.length;
  const lineEnd = p.line + 1 < starts.length ? starts[p.line + 1] : text.length;
  return Math.min(starts[p.line] + p.character, lineEnd);
}

/** Applies non-overlapping edits; returns the new text and the edits that undo them. */
export function applyEdits(text: string, edits: TextEdit[]): { text: string; undo: TextEdit[] } {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  const spans = edits
    .map((e) => ({ from: offsetAt(text, starts, e.range.start), to: offsetAt(text, starts, e.range.end), newText: e.newText }))
    .sort((a, b) => a.from - b.from);
  let out = '', at = 0, shift = 0;
  const undoSpans: { from: number; to: number; oldText: string }[] = [];
  for (const s of spans) {
    out += text.slice(at, s.from) + s.newText;
    undoSpans.push({ from: s.from + shift, to: s.from + shift + s.newText.length, oldText: text.slice(s.from, s.to) });
    shift += s.newText.length - (s.to - s.from);
    at = s.to;
  }
  out += text.slice(at);
  const outStarts = [0];
  for (let i = 0; i < out.length; i++) if (out.charCodeAt(i) === 10) outStarts.push(i + 1);
  const posAt = (off: number) => {
    let lo = 0, hi = outStarts.length - 1;
    while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (outStarts[mid] <= off) lo = mid; else hi = mid - 1; }
    return { line: lo, character: off - outStarts[lo] };
  };
  return { text: out, undo: undoSpans.map((u) => ({ range: { start: posAt(u.from), end: posAt(u.to) }, newText: u.oldText })) };
}
