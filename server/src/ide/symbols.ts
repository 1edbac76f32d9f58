// Document symbols (table → chain → rule), workspace symbols and folding ranges.
import type { Chain, Range, Table } from '../model/ruleset';
import { chainSymbolAt, firstOccurrence, lineCount, lineText, ruleStartLines, ruleText, type DocumentAnalysis } from './document';
import type { FoldingItem, SymbolItem, WorkspaceSymbolItem } from './types';

function union(a: Range, b: Range): Range {
  const start = a.start.line < b.start.line || (a.start.line === b.start.line && a.start.character <= b.start.character) ? a.start : b.start;
  const end = a.end.line > b.end.line || (a.end.line === b.end.line && a.end.character >= b.end.character) ? a.end : b.end;
  return { start, end };
}

/** The k-th chain of t: its first declaration, else its first occurrence, else its name. */
function chainSelection(doc: DocumentAnalysis, t: Table, c: Chain, k: number): Range {
  const s = chainSymbolAt(doc, t, k);
  return firstOccurrence(doc, s)?.range ?? c.nameRange;
}

const MAX_RULE_NAME = 80;

/** Above this many rules the outline lists no rules, and above this many chains only the built-in and
 *  base chains (as with the code lenses): a 750 000-line kube dump would be 550 000 rule items and
 *  200 000 chains, a 100 MB answer nobody can read. Workspace symbols still find any chain by name. */
export const MAX_OUTLINE_ITEMS = 10_000;

export function documentSymbols(doc: DocumentAnalysis, maxItems = MAX_OUTLINE_ITEMS): SymbolItem[] {
  const out: SymbolItem[] = [];
  let ruleCount = 0, chainCount = 0;
  for (const t of doc.ruleset.tables) for (const c of t.chains) { ruleCount += c.rules.length; chainCount++; }
  const listRules = ruleCount <= maxItems;
  for (const t of doc.ruleset.tables) {
    const chains: SymbolItem[] = [];
    for (const [k, c] of t.chains.entries()) {
      if (chainCount > maxItems && !c.builtin && !c.hook) continue;
      const sel = chainSelection(doc, t, c, k);
      let range = union(c.range, sel);
      const rules: SymbolItem[] = [];
      for (const r of c.rules) {
        range = union(range, r.range);
        if (!listRules) continue;
        let name = ruleText(doc, r);
        if (name.length > MAX_RULE_NAME) name = name.slice(0, MAX_RULE_NAME - 1) + '…';
        rules.push({ name: name || `rule ${r.index + 1}`, detail: `rule ${r.index + 1}`, kind: 'rule' as const, range: r.range, selectionRange: r.range, children: [] });
      }
      const detail = c.builtin ? `built-in${c.policy ? `, policy ${c.policy}` : ''}` : c.hook ? `${c.type ?? 'filter'} hook ${c.hook}` : `${c.rules.length} rules`;
      chains.push({ name: c.name, detail, kind: 'chain', range, selectionRange: sel, children: rules });
    }
    let range = union(t.range, t.nameRange);
    for (const c of chains) range = union(range, c.range);
    const sets: SymbolItem[] = t.sets.map((s) => ({ name: s.name, detail: s.kind, kind: 'set' as const, range: union(s.range, s.nameRange), selectionRange: s.nameRange, children: [] }));
    for (const s of sets) range = union(range, s.range);
    let detail = doc.ruleset.kind === 'nft' ? `table ${t.family}` : 'table';
    if (!listRules) {
      const n = t.chains.reduce((a, c) => a + c.rules.length, 0);
      detail += `, ${n} rules${chainCount > maxItems ? ` in ${t.chains.length} chains (built-in and base chains listed)` : ''}: too many to list (over ${maxItems})`;
    }
    out.push({ name: t.name, detail, kind: 'table', range, selectionRange: t.nameRange, children: [...sets, ...chains] });
  }
  for (const v of doc.ruleset.variables) {
    out.push({ name: v.name, detail: v.value, kind: 'variable', range: union(v.range, v.nameRange), selectionRange: v.nameRange, children: [] });
  }
  return out;
}

/** Chains, tables and sets whose name contains the query (case-insensitive; an empty query lists all). */
export function workspaceSymbols(docs: Iterable<DocumentAnalysis>, query: string, limit = 500): WorkspaceSymbolItem[] {
  const q = query.toLowerCase();
  const out: WorkspaceSymbolItem[] = [];
  for (const doc of docs) {
    for (const t of doc.ruleset.tables) {
      if (t.name.toLowerCase().includes(q)) out.push({ name: t.name, kind: 'table', location: { uri: doc.uri, range: t.nameRange } });
      for (const [k, c] of t.chains.entries()) {
        if (!c.name.toLowerCase().includes(q)) continue;
        out.push({ name: c.name, kind: 'chain', containerName: t.name, location: { uri: doc.uri, range: chainSelection(doc, t, c, k) } });
        if (out.length >= limit) return out;
      }
      for (const s of t.sets) if (s.name.toLowerCase().includes(q)) out.push({ name: s.name, kind: 'set', containerName: t.name, location: { uri: doc.uri, range: s.nameRange } });
    }
  }
  return out;
}

export function foldingRanges(doc: DocumentAnalysis): FoldingItem[] {
  const out: FoldingItem[] = [];
  const n = lineCount(doc);
  const line = (i: number) => lineText(doc, i);
  // Comment blocks.
  for (let i = 0; i < n; i++) {
    if (!/^\s*#/.test(line(i))) continue;
    let j = i;
    while (j + 1 < n && /^\s*#/.test(line(j + 1))) j++;
    if (j > i) out.push({ startLine: i, endLine: j, kind: 'comment' });
    i = j;
  }
  if (doc.ruleset.kind === 'nft') {
    for (const t of doc.ruleset.tables) {
      // A table's range may be its header only: fold to the end of its last chain or set.
      let end = t.range.end.line - 1;
      for (const x of [...t.chains, ...t.sets]) end = Math.max(end, x.range.end.line);
      if (end > t.range.start.line) out.push({ startLine: t.range.start.line, endLine: end });
      for (const c of t.chains) if (c.range.end.line > c.range.start.line) out.push({ startLine: c.range.start.line, endLine: c.range.end.line - 1 });
      for (const s of t.sets) if (s.range.end.line > s.range.start.line) out.push({ startLine: s.range.start.line, endLine: s.range.end.line - 1 });
    }
    return out.sort((a, b) => a.startLine - b.startLine);
  }
  // iptables-save: a table from its `*name` line to its COMMIT; `-S`: from the table's first line to its last.
  const tableStarts = doc.ruleset.tables.map((t) => Math.min(t.nameRange.start.line, t.range.start.line)).sort((a, b) => a - b);
  for (let k = 0; k < tableStarts.length; k++) {
    const start = tableStarts[k];
    let end = (k + 1 < tableStarts.length ? tableStarts[k + 1] : n) - 1;
    if (doc.ruleset.kind === 'iptables-save') {
      let commit = -1;
      for (let i = start + 1; i <= end; i++) if (/^\s*COMMIT\b/.test(line(i))) { commit = i; break; }
      if (commit >= 0) end = commit;
    }
    while (end > start && !line(end).trim()) end--;
    if (end > start) out.push({ startLine: start, endLine: end });
  }
  // Runs of consecutive rules of one chain.
  let runStart = -1, runChain: unknown, prev = -2;
  const flush = () => { if (runStart >= 0 && prev > runStart) out.push({ startLine: runStart, endLine: prev }); };
  for (const { line: l, chainId: c } of ruleStartLines(doc)) {
    if (c === runChain && l === prev + 1) { prev = l; continue; }
    flush();
    runStart = l; runChain = c; prev = l;
  }
  flush();
  return out.sort((a, b) => a.startLine - b.startLine || b.endLine - a.endLine);
}
