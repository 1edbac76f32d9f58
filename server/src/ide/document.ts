// One analysed document: text, model, diagnostics, and the indexes the IDE features query.
// Built once per document version; every query after that is a lookup or a walk over one chain's rules
// (hover must stay fast on 750 000-line dumps). The indexes are numbers in typed arrays, not objects per
// rule or per occurrence: ~30 bytes a rule on a kube dump where objects took ~800 (issue 7). Occurrences,
// symbols and rule references are objects made on demand, so never compare them by identity.
// Rules are read through the model only where needed: after the iptables model keeps rules as their line
// text, each `matches` / `actions` read rebuilds the rule, so jumps and owners are read from the line.
import { checkTextSteps, type CheckProgress, type CheckResult } from '../check';
import type { ParseOptions } from '../parse';
import { runSteps, TimeSlice } from '../steps';
import { jumpFromLine } from '../model/iptables-line-jump';
import { LineRange, lineRange, type Action, type Chain, type Diagnostic, type NamedSet, type Range, type Rule, type Ruleset, type Table, type Variable } from '../model/ruleset';
import { buildMarkIndexSteps, type MarkIndex } from './mark-index';

export { jumpFromLine, type LineJump } from '../model/iptables-line-jump';

export type OccurrenceRole = 'declaration' | 'reference' | 'owner';

/** One place a name is written: `:X` / `-N X` / nft `chain x` (declaration), `-j X` / `jump x`
 *  / vmap entry (reference), or `-A X` (owner: the rule is appended to X). Made on demand. */
export interface ChainOccurrence {
  symbol: ChainSymbol;
  range: Range;
  role: OccurrenceRole;
  /** The rule that holds the reference or is owned (references and owners only). */
  rule?: RuleRef;
  kind?: 'jump' | 'goto';
}

/** A named thing of the file: a chain (per table), an nft named set or map (per table), or an nft
 *  variable (`define`, file-wide: no table). Made on demand; `id` identifies it within its document. */
export interface ChainSymbol {
  id: number;
  kind: 'chain' | 'set' | 'variable';
  table: Table | undefined;
  name: string;
  chain?: Chain;
  set?: NamedSet;
  variable?: Variable;
}

export interface RuleRef {
  table: Table;
  chain: Chain;
  rule: Rule;
}

/** Occurrences of one role (declarations, or references), grouped by symbol: symbol `s` holds entries
 *  [symStart[s], symStart[s + 1]) in the order they were found (model order); `byPos` lists the entries
 *  by position in the document. */
interface OccurrenceTable {
  line: Int32Array;
  /** column * 2, + 1 for a goto. */
  colK: Int32Array;
  /** Flat index of the rule holding it, -1 for none. */
  rule: Int32Array;
  symStart: Int32Array;
  byPos: Int32Array;
}

/** Symbols that are not chains of the model (jump targets no table declares, sets, variables). */
interface ExtraSymbol {
  kind: ChainSymbol['kind'];
  table: Table | undefined;
  name: string;
  set?: NamedSet;
  variable?: Variable;
}

/**
 * Chains are numbered table by table (chain id = chainBase[table] + index in table.chains) and rules in
 * model order (flat index = chainRuleStart[chain id] + index in chain.rules). Symbols: chain ids first
 * (one symbol per chain), then `extras`.
 */
export interface EditorIndex {
  chainBase: Int32Array;
  chainRuleStart: Int32Array;
  chainCount: number;
  ruleCount: number;
  /** Chain ids whose name an earlier chain of the same table has (the models do not make them; kept
   *  exact anyway): chain id → symbol id, and symbol id → every chain id of that name. */
  chainAlias?: Map<number, number>;
  aliasChains?: Map<number, number[]>;
  extras: ExtraSymbol[];
  /** Lines that start a rule, ascending, and the first rule (model order) starting on each. */
  ruleLines: Int32Array;
  ruleAtLine: Int32Array;
  decls: OccurrenceTable;
  refs: OccurrenceTable;
}

export interface DocumentAnalysis {
  uri: string;
  text: string;
  version: number;
  ruleset: Ruleset;
  diagnostics: Diagnostic[];
  /** Offset in `text` where each line starts (lines end at "\n"; a "\r" before it is not part of the line). */
  lineStarts: Uint32Array;
  index: EditorIndex;
  marks: MarkIndex;
}

// ---------------------------------------------------------------- lines

export function lineCount(doc: DocumentAnalysis): number {
  return doc.lineStarts.length;
}

/** Where line `i` ends in `text` (before its "\r\n" or "\n"). */
function lineEnd(doc: Pick<DocumentAnalysis, 'text' | 'lineStarts'>, i: number): number {
  const ls = doc.lineStarts;
  if (i + 1 >= ls.length) return doc.text.length;
  let e = ls[i + 1] - 1;
  if (e > ls[i] && doc.text.charCodeAt(e - 1) === 13) e--;
  return e;
}

/** The text of line `i` without its line ending ('' past the end), as `text.split(/\r?\n/)[i]`. */
export function lineText(doc: Pick<DocumentAnalysis, 'text' | 'lineStarts'>, i: number): string {
  if (i < 0 || i >= doc.lineStarts.length) return '';
  return doc.text.slice(doc.lineStarts[i], lineEnd(doc, i));
}

export function computeLineStarts(text: string): Uint32Array {
  let n = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  const out = new Uint32Array(n);
  let k = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) out[k++] = i + 1;
  return out;
}

/** The text of a one-line range (undefined for a range over several lines). */
export function textIn(doc: Pick<DocumentAnalysis, 'text' | 'lineStarts'>, r: Range): string | undefined {
  if (r.start.line !== r.end.line) return undefined;
  if (r.start.line < 0 || r.start.line >= doc.lineStarts.length) return undefined;
  return lineText(doc, r.start.line).slice(r.start.character, r.end.character);
}

/** Is `name` written at (line, ch), inside the line? */
function nameAt(doc: Pick<DocumentAnalysis, 'text' | 'lineStarts'>, line: number, ch: number, name: string): boolean {
  if (line < 0 || line >= doc.lineStarts.length || ch < 0) return false;
  const at = doc.lineStarts[line] + ch;
  return at + name.length <= lineEnd(doc, line) && doc.text.startsWith(name, at);
}

export function contains(r: Range, line: number, character: number): boolean {
  if (line < r.start.line || line > r.end.line) return false;
  if (line === r.start.line && character < r.start.character) return false;
  if (line === r.end.line && character > r.end.character) return false;
  return true;
}

export function sameRange(a: Range, b: Range): boolean {
  return a.start.line === b.start.line && a.start.character === b.start.character && a.end.line === b.end.line && a.end.character === b.end.character;
}

// ---------------------------------------------------------------- reading rules from their line

const OWNER_FLAG = /(?:^|\s)(?:-A|--append|-I|--insert|-R|--replace|-D|--delete)\s+(\S+)/;

/** Column of the chain name in `-A NAME ...` (or -I/-R/-D) on an iptables rule's line, or -1. */
function ownerColumn(doc: Pick<DocumentAnalysis, 'text' | 'lineStarts'>, line: number, name: string): number {
  const s = doc.lineStarts[line];
  const e = lineEnd(doc, line);
  const t = doc.text;
  // Fast path for the usual `-A NAME ...` at the start of the line.
  if (t.startsWith('-A ', s) && s + 3 + name.length <= e && t.startsWith(name, s + 3) && (s + 3 + name.length === e || t.charCodeAt(s + 3 + name.length) === 32)) return 3;
  const m = OWNER_FLAG.exec(t.slice(s, e));
  return m && m[1] === name ? m.index + m[0].length - m[1].length : -1;
}

// ---------------------------------------------------------------- building

/** Progress of one document's analysis: the check (parse, analyses), then the editor's indexes. */
export interface DocumentProgress {
  phase: CheckProgress['phase'] | 'index';
  message: string;
  /** 0..100 */
  percentage: number;
}

/** Share of the progress bar the check takes; the indexes take the rest. */
const CHECK_SHARE = 90;

export function analyzeDocument(uri: string, text: string, version = 0, opts: ParseOptions = {}): DocumentAnalysis {
  return runSteps(analyzeDocumentSteps(uri, text, version, opts));
}

/** A growable list of int32 tuples. */
class IntRows {
  data: Int32Array;
  n = 0;
  constructor(readonly width: number, cap = 1024) {
    this.data = new Int32Array(cap * width);
  }
  push4(a: number, b: number, c: number, d: number) {
    if ((this.n + 1) * this.width > this.data.length) {
      const g = new Int32Array(this.data.length * 2);
      g.set(this.data);
      this.data = g;
    }
    const o = this.n++ * this.width;
    this.data[o] = a; this.data[o + 1] = b; this.data[o + 2] = c; this.data[o + 3] = d;
  }
}

/** Rows (sym, line, colK, rule) → an OccurrenceTable: same-position duplicates dropped (the first found
 *  stays, as before), grouped by symbol in the order found, and a by-position order. */
function occurrenceTable(rows: IntRows, symbolCount: number, lines: number): OccurrenceTable {
  const n = rows.n, d = rows.data;
  // By position: counting sort on the line (stable), then by column within a line.
  const lineCountArr = new Int32Array(lines + 2);
  for (let i = 0; i < n; i++) lineCountArr[d[i * 4 + 1] + 1]++;
  for (let l = 0; l < lines + 1; l++) lineCountArr[l + 1] += lineCountArr[l];
  const pos = new Int32Array(n);
  for (let i = 0; i < n; i++) pos[lineCountArr[d[i * 4 + 1]]++] = i;
  // Within a line: by column, stable (insertion sort for the usual few; a vmap of thousands on one line sorts).
  for (let a = 0; a < n; ) {
    const l = d[pos[a] * 4 + 1];
    let b = a + 1;
    while (b < n && d[pos[b] * 4 + 1] === l) b++;
    if (b - a > 16) {
      pos.subarray(a, b).sort((x, y) => (d[x * 4 + 2] >> 1) - (d[y * 4 + 2] >> 1) || x - y);
      a = b;
      continue;
    }
    for (let k = a + 1; k < b; k++) {
      const x = pos[k], cx = d[x * 4 + 2] >> 1;
      let j = k - 1;
      while (j >= a && d[pos[j] * 4 + 2] >> 1 > cx) { pos[j + 1] = pos[j]; j--; }
      pos[j + 1] = x;
    }
    a = b;
  }
  // Same position twice: the first found stays (ties are in the order found).
  const dead = new Uint8Array(n);
  let live = n;
  for (let k = 1, kept = pos[0]; k < n; k++) {
    const x = pos[k];
    if (d[x * 4 + 1] === d[kept * 4 + 1] && d[x * 4 + 2] >> 1 === d[kept * 4 + 2] >> 1) { dead[x] = 1; live--; }
    else kept = x;
  }
  // Grouped by symbol, in the order found.
  const symStart = new Int32Array(symbolCount + 1);
  for (let i = 0; i < n; i++) if (!dead[i]) symStart[d[i * 4] + 1]++;
  for (let s = 0; s < symbolCount; s++) symStart[s + 1] += symStart[s];
  const fill = symStart.slice(0, symbolCount);
  const slot = new Int32Array(n);
  const line = new Int32Array(live), colK = new Int32Array(live), rule = new Int32Array(live);
  for (let i = 0; i < n; i++) {
    if (dead[i]) continue;
    const k = fill[d[i * 4]]++;
    slot[i] = k;
    line[k] = d[i * 4 + 1];
    colK[k] = d[i * 4 + 2];
    rule[k] = d[i * 4 + 3];
  }
  const byPos = new Int32Array(live);
  for (let k = 0, m = 0; k < n; k++) if (!dead[pos[k]]) byPos[m++] = slot[pos[k]];
  return { line, colK, rule, symStart, byPos };
}

/** analyzeDocument in steps of a few tens of milliseconds (the check's own steps, then the index loops),
 *  so the language server stays responsive on 750 000-line dumps and can abandon a stale version. */
export function* analyzeDocumentSteps(uri: string, text: string, version = 0, opts: ParseOptions = {}): Generator<DocumentProgress, DocumentAnalysis, void> {
  let checked: CheckResult;
  const check = checkTextSteps(text, opts);
  try {
    for (;;) {
      const r = check.next();
      if (r.done) {
        checked = r.value;
        break;
      }
      yield { ...r.value, percentage: Math.round((r.value.percentage * CHECK_SHARE) / 100) };
    }
  } finally {
    // Abandoned (return()) while the check runs: end it too, so it lets go of its state.
    check.return(undefined as never);
  }
  const ruleset = checked.ruleset;
  const diagnostics = [...checked.diagnostics];
  const lineStarts = computeLineStarts(text);
  const lines = { text, lineStarts };
  const nLines = lineStarts.length;
  const tables = ruleset.tables;
  const nft = ruleset.kind === 'nft';

  const chainBase = new Int32Array(tables.length + 1);
  for (let ti = 0; ti < tables.length; ti++) chainBase[ti + 1] = chainBase[ti] + tables[ti].chains.length;
  const nChains = chainBase[tables.length];
  const chainRuleStart = new Int32Array(nChains + 1);
  for (let ti = 0, id = 0; ti < tables.length; ti++) for (const c of tables[ti].chains) { chainRuleStart[id + 1] = chainRuleStart[id] + c.rules.length; id++; }
  const ruleCount = chainRuleStart[nChains];

  // Names → symbol ids, for the build only.
  const chainIds = new Map<Table, Map<string, number>>();
  const setIds = new Map<Table, Map<string, number>>();
  const variableIds = new Map<string, number>();
  const extras: ExtraSymbol[] = [];
  let chainAlias: Map<number, number> | undefined;
  let aliasChains: Map<number, number[]> | undefined;
  for (let ti = 0; ti < tables.length; ti++) {
    const m = new Map<string, number>();
    chainIds.set(tables[ti], m);
    tables[ti].chains.forEach((c, k) => {
      const id = chainBase[ti] + k;
      const first = m.get(c.name);
      if (first === undefined) m.set(c.name, id);
      else {
        (chainAlias ??= new Map()).set(id, first);
        aliasChains ??= new Map();
        const l = aliasChains.get(first);
        if (l) l.push(id);
        else aliasChains.set(first, [first, id]);
      }
    });
  }
  const chainSym = (t: Table, name: string): number => {
    const m = chainIds.get(t)!;
    let id = m.get(name);
    if (id === undefined) {
      m.set(name, (id = nChains + extras.length));
      extras.push({ kind: 'chain', table: t, name });
    }
    return id;
  };
  const setSym = (t: Table, name: string): number => {
    let m = setIds.get(t);
    if (!m) setIds.set(t, (m = new Map()));
    let id = m.get(name);
    if (id === undefined) {
      m.set(name, (id = nChains + extras.length));
      extras.push({ kind: 'set', table: t, name });
    }
    return id;
  };
  const symName = (id: number): string => (id < nChains ? chainOfId(tables, chainBase, id).name : extras[id - nChains].name);

  const declRows = new IntRows(4);
  const refRows = new IntRows(4, 1 << 14);
  /** `@name` / `$name`: the occurrence is the name after the sigil. */
  const unsigil = (r: Range | undefined, sigil: string): Range | undefined => {
    if (!r || r.start.line !== r.end.line || lineText(lines, r.start.line)[r.start.character] !== sigil) return r;
    return lineRange(r.start.line, r.start.character + 1, r.end.character);
  };
  // Only ranges whose text is the name are recorded: a rename must never overwrite anything else.
  const add = (rows: IntRows, sym: number, range: Range | undefined, rule: number, goto = false) => {
    if (!range || range.start.line !== range.end.line) return;
    const name = symName(sym);
    const line = range.start.line, ch = range.start.character;
    if (range.end.character - ch !== name.length || !nameAt(lines, line, ch, name)) return;
    rows.push4(sym, line, ch * 2 + (goto ? 1 : 0), rule);
  };

  const budget = new TimeSlice();
  let rulesDone = 0;
  const indexing = (): DocumentProgress => ({ phase: 'index', message: 'indexing', percentage: Math.min(100, Math.round(CHECK_SHARE + ((100 - CHECK_SHARE) * rulesDone) / Math.max(1, ruleCount))) });
  yield indexing();

  const addActionRefs = (t: Table, a: Action, f: number) => {
    if ((a.kind === 'jump' || a.kind === 'goto') && a.chain) add(refRows, chainSym(t, a.chain), a.chainRange, f, a.kind === 'goto');
    for (const e of a.vmap?.entries ?? []) {
      if (!e.chain) continue;
      add(refRows, chainSym(t, e.chain), nameInside(lines, e.range, e.chain), f, e.verdict === 'goto');
    }
  };
  const addSetRefs = (t: Table, r: Rule, f: number) => {
    for (const m of r.matches) {
      if (m.nft?.setRef) add(refRows, setSym(t, m.nft.setRef), unsigil(m.nft.setRefRange, '@'), f);
    }
    // `vmap @name`, `map @name`, `add @name { ... }`, `update @name`: the statement's own text.
    for (const a of r.actions) {
      const l = a.range.start.line;
      if (a.range.end.line !== l) continue;
      const s = lineText(lines, l).slice(a.range.start.character, a.range.end.character);
      for (const m of s.matchAll(/@([A-Za-z_][\w.-]*)/g)) {
        const ch = a.range.start.character + m.index! + 1;
        add(refRows, setSym(t, m[1]), lineRange(l, ch, ch + m[1].length), f);
      }
    }
  };

  // Rules by line: lines and flat indexes in model order, sorted by line below.
  const rLine = new Int32Array(ruleCount);
  // The indexes are ours, not the parser's: a bug here must cost features, never the document.
  let index: EditorIndex;
  try {
    for (const t of tables) {
      for (const st of t.sets) {
        const id = setSym(t, st.name);
        extras[id - nChains].set = st;
        add(declRows, id, st.nameRange, -1);
      }
      for (const c of t.chains) {
        if (budget.due()) yield indexing();
        const id = chainSym(t, c.name);
        for (const d of c.declarations) add(declRows, id, d, -1);
        if (!c.declarations.length && nft) add(declRows, id, c.nameRange, -1);
      }
    }
    let f = 0;
    for (const t of tables) {
      for (const c of t.chains) {
        for (const r of c.rules) {
          if (budget.due()) yield indexing();
          rulesDone++;
          const line = r.range.start.line;
          rLine[f] = line;
          if (nft) {
            for (const a of r.actions) addActionRefs(t, a, f);
            addSetRefs(t, r, f);
          } else if (line >= 0 && line < nLines) {
            const j = jumpFromLine(text, lineStarts[line], lineEnd(lines, line));
            if (j.kind === 'unsure') for (const a of r.actions) addActionRefs(t, a, f);
            else if (j.kind !== 'none') {
              add(refRows, chainSym(t, j.name), lineRange(line, j.column, j.column + j.name.length), f, j.kind === 'goto');
            }
          } else for (const a of r.actions) addActionRefs(t, a, f);
          f++;
        }
      }
    }
    if (nft) {
      for (const v of ruleset.variables) {
        let id = variableIds.get(v.name);
        if (id === undefined) {
          variableIds.set(v.name, (id = nChains + extras.length));
          extras.push({ kind: 'variable', table: undefined, name: v.name, variable: v });
        }
        add(declRows, id, v.nameRange, -1);
        for (const r of v.references) add(refRows, id, unsigil(r, '$'), -1);
      }
    }
    yield indexing();
    const nSyms = nChains + extras.length;
    // Rules by line: the first rule (model order) starting on each line.
    const order = new Int32Array(ruleCount);
    const cnt = new Int32Array(nLines + 2);
    let valid = 0;
    for (let k = 0; k < ruleCount; k++) if (rLine[k] >= 0 && rLine[k] < nLines) { cnt[rLine[k] + 1]++; valid++; }
    for (let l = 0; l <= nLines; l++) cnt[l + 1] += cnt[l];
    for (let k = 0; k < ruleCount; k++) if (rLine[k] >= 0 && rLine[k] < nLines) order[cnt[rLine[k]]++] = k;
    let distinct = 0;
    for (let k = 0; k < valid; k++) if (k === 0 || rLine[order[k]] !== rLine[order[k - 1]]) distinct++;
    const ruleLines = new Int32Array(distinct), ruleAtLine = new Int32Array(distinct);
    for (let k = 0, m = 0; k < valid; k++) {
      if (k > 0 && rLine[order[k]] === rLine[order[k - 1]]) continue;
      ruleLines[m] = rLine[order[k]];
      ruleAtLine[m++] = order[k];
    }
    yield indexing();
    index = {
      chainBase, chainRuleStart, chainCount: nChains, ruleCount, chainAlias, aliasChains, extras,
      ruleLines, ruleAtLine,
      decls: occurrenceTable(declRows, nSyms, nLines),
      refs: occurrenceTable(refRows, nSyms, nLines),
    };
  } catch (e) {
    diagnostics.push(internalError('indexing', e));
    const empty = (): OccurrenceTable => ({ line: new Int32Array(0), colK: new Int32Array(0), rule: new Int32Array(0), symStart: new Int32Array(nChains + extras.length + 1), byPos: new Int32Array(0) });
    index = { chainBase, chainRuleStart, chainCount: nChains, ruleCount, chainAlias, aliasChains, extras, ruleLines: new Int32Array(0), ruleAtLine: new Int32Array(0), decls: empty(), refs: empty() };
  }

  // Built now rather than on the first hover, so no hover pays for the whole file.
  const doc = { uri, text, version, ruleset, diagnostics, lineStarts, index } as Omit<DocumentAnalysis, 'marks'> & { marks: MarkIndex };
  yield indexing();
  try {
    const marks = buildMarkIndexSteps(doc);
    for (let r = marks.next(); ; r = marks.next()) {
      if (r.done) { doc.marks = r.value; break; }
      yield indexing();
    }
  } catch (e) {
    doc.marks = { ops: [], uses: { mark: Array.from({ length: 32 }, () => []), ctmark: Array.from({ length: 32 }, () => []) }, byLine: new Map() };
    diagnostics.push(internalError('mark index', e));
  }
  return doc;
}

/** The last whole-word occurrence of `name` inside a one-line range (a vmap entry `"k" : jump name`). */
function nameInside(lines: Pick<DocumentAnalysis, 'text' | 'lineStarts'>, r: Range, name: string): Range | undefined {
  const t = textIn(lines, r);
  if (t === undefined) return undefined;
  if (t === name) return r;
  const re = new RegExp(`(^|[^\\w.-])(${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')})(?![\\w.-])`, 'g');
  let last: RegExpExecArray | null = null;
  for (let m = re.exec(t); m; m = re.exec(t)) last = m;
  if (!last) return undefined;
  const ch = r.start.character + last.index + last[1].length;
  return lineRange(r.start.line, ch, ch + name.length);
}

// ---------------------------------------------------------------- queries

/** Largest k with a[k] <= x (a ascending), or -1. */
function floorIndex(a: Int32Array, x: number, n = a.length): number {
  let lo = 0, hi = n - 1, best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] <= x) { best = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return best;
}

function chainOfId(tables: Table[], chainBase: Int32Array, id: number): Chain {
  const ti = floorIndex(chainBase, id, tables.length);
  return tables[ti].chains[id - chainBase[ti]];
}

function tableIndexOfChainId(doc: DocumentAnalysis, id: number): number {
  return floorIndex(doc.index.chainBase, id, doc.ruleset.tables.length);
}

function tableOfChainId(doc: DocumentAnalysis, id: number): Table {
  return doc.ruleset.tables[tableIndexOfChainId(doc, id)];
}

/** The chain id of flat rule `f`. */
function chainIdOfRule(doc: DocumentAnalysis, f: number): number {
  return floorIndex(doc.index.chainRuleStart, f, doc.index.chainCount);
}

/** The rule with flat index `f`. */
export function ruleRef(doc: DocumentAnalysis, f: number): RuleRef {
  const id = chainIdOfRule(doc, f);
  const ti = tableIndexOfChainId(doc, id);
  const table = doc.ruleset.tables[ti];
  const chain = table.chains[id - doc.index.chainBase[ti]];
  return { table, chain, rule: chain.rules[f - doc.index.chainRuleStart[id]] };
}

/** Flat index of the first rule starting on `line`, or -1. */
export function ruleIndexAtLine(doc: DocumentAnalysis, line: number): number {
  const k = floorIndex(doc.index.ruleLines, line);
  return k >= 0 && doc.index.ruleLines[k] === line ? doc.index.ruleAtLine[k] : -1;
}

/** The first rule (model order) starting on `line`. */
export function ruleAtLine(doc: DocumentAnalysis, line: number): RuleRef | undefined {
  const f = ruleIndexAtLine(doc, line);
  return f < 0 ? undefined : ruleRef(doc, f);
}

/** Lines that start a rule, ascending, each with its first rule's chain id (rules of one chain share it). */
export function* ruleStartLines(doc: DocumentAnalysis): Generator<{ line: number; chainId: number }> {
  const { ruleLines, ruleAtLine: at } = doc.index;
  for (let k = 0; k < ruleLines.length; k++) yield { line: ruleLines[k], chainId: chainIdOfRule(doc, at[k]) };
}

function symbolIdOfChain(doc: DocumentAnalysis, chainId: number): number {
  return doc.index.chainAlias?.get(chainId) ?? chainId;
}

function symbolById(doc: DocumentAnalysis, id: number): ChainSymbol {
  const ix = doc.index;
  if (id < ix.chainCount) {
    const ids = ix.aliasChains?.get(id);
    const table = tableOfChainId(doc, id);
    // As before: the symbol's chain is the last of that name.
    const chain = chainOfId(doc.ruleset.tables, ix.chainBase, ids ? ids[ids.length - 1] : id);
    return { id, kind: 'chain', table, name: chain.name, chain };
  }
  const x = ix.extras[id - ix.chainCount];
  const s: ChainSymbol = { id, kind: x.kind, table: x.table, name: x.name };
  if (x.set) s.set = x.set;
  if (x.variable) s.variable = x.variable;
  return s;
}

/** The symbol of the k-th chain of table t. */
export function chainSymbolAt(doc: DocumentAnalysis, t: Table, k: number): ChainSymbol {
  const ti = doc.ruleset.tables.indexOf(t);
  return symbolById(doc, symbolIdOfChain(doc, doc.index.chainBase[ti] + k));
}

/** The symbol of that kind and name (chains and sets per table), if the file has one. */
export function symbolNamed(doc: DocumentAnalysis, kind: ChainSymbol['kind'], t: Table | undefined, name: string): ChainSymbol | undefined {
  if (kind === 'chain' && t) {
    const k = t.chains.findIndex((c) => c.name === name);
    if (k >= 0) return chainSymbolAt(doc, t, k);
  }
  const ix = doc.index;
  const e = ix.extras.findIndex((x) => x.kind === kind && x.name === name && (kind === 'variable' || x.table === t));
  return e >= 0 ? symbolById(doc, ix.chainCount + e) : undefined;
}

class Occurrence implements ChainOccurrence {
  constructor(
    private readonly doc: DocumentAnalysis,
    readonly symbol: ChainSymbol,
    readonly range: Range,
    readonly role: OccurrenceRole,
    private readonly ruleIndex: number,
    readonly kind?: 'jump' | 'goto',
  ) {}
  get rule(): RuleRef | undefined {
    return this.ruleIndex < 0 ? undefined : ruleRef(this.doc, this.ruleIndex);
  }
}

function fromTable(doc: DocumentAnalysis, s: ChainSymbol, tab: OccurrenceTable, k: number, role: OccurrenceRole): ChainOccurrence {
  const ch = tab.colK[k] >> 1;
  const kind = role === 'reference' && s.kind === 'chain' ? (tab.colK[k] & 1 ? 'goto' : 'jump') : undefined;
  return new Occurrence(doc, s, new LineRange(tab.line[k], ch, ch + s.name.length), role, tab.rule[k], kind);
}

/** The rules appended to the symbol's chain(s) whose `-A NAME` is on their line (iptables only), by flat index. */
function* owners(doc: DocumentAnalysis, s: ChainSymbol): Generator<{ f: number; line: number; ch: number }> {
  if (s.kind !== 'chain' || s.id >= doc.index.chainCount || doc.ruleset.kind === 'nft') return;
  const ids = doc.index.aliasChains?.get(s.id) ?? [s.id];
  for (const id of ids) {
    const c = chainOfId(doc.ruleset.tables, doc.index.chainBase, id);
    const f0 = doc.index.chainRuleStart[id];
    for (let k = 0; k < c.rules.length; k++) {
      const line = c.rules[k].range.start.line;
      if (line < 0 || line >= doc.lineStarts.length) continue;
      const ch = ownerColumn(doc, line, c.name);
      if (ch >= 0) yield { f: f0 + k, line, ch };
    }
  }
}

/** The symbol's declarations, in model order. */
export function declarationsOf(doc: DocumentAnalysis, s: ChainSymbol): ChainOccurrence[] {
  const t = doc.index.decls;
  const out: ChainOccurrence[] = [];
  for (let k = t.symStart[s.id]; k < t.symStart[s.id + 1]; k++) out.push(fromTable(doc, s, t, k, 'declaration'));
  return out;
}

/** How many references (jumps, gotos, vmap entries, `@set`, `$var`) the symbol has. */
export function referenceCount(doc: DocumentAnalysis, s: ChainSymbol): number {
  const t = doc.index.refs;
  return t.symStart[s.id + 1] - t.symStart[s.id];
}

/** The first `limit` references, in model order (the order the rules are in their chains). */
export function referencesOf(doc: DocumentAnalysis, s: ChainSymbol, limit = Infinity): ChainOccurrence[] {
  const t = doc.index.refs;
  const out: ChainOccurrence[] = [];
  const end = Math.min(t.symStart[s.id + 1], t.symStart[s.id] + limit);
  for (let k = t.symStart[s.id]; k < end; k++) out.push(fromTable(doc, s, t, k, 'reference'));
  return out;
}

/** Every occurrence of the symbol: declarations, then owners and references in model order. */
export function occurrencesOf(doc: DocumentAnalysis, s: ChainSymbol): ChainOccurrence[] {
  const out = declarationsOf(doc, s);
  const t = doc.index.refs;
  let k = t.symStart[s.id];
  const end = t.symStart[s.id + 1];
  for (const o of owners(doc, s)) {
    // A rule's owner comes before its own references.
    while (k < end && t.rule[k] >= 0 && t.rule[k] < o.f) out.push(fromTable(doc, s, t, k++, 'reference'));
    out.push(new Occurrence(doc, s, new LineRange(o.line, o.ch, o.ch + s.name.length), 'owner', o.f));
  }
  while (k < end) out.push(fromTable(doc, s, t, k++, 'reference'));
  return out;
}

/** The first of occurrencesOf without making the others. */
export function firstOccurrence(doc: DocumentAnalysis, s: ChainSymbol): ChainOccurrence | undefined {
  const d = doc.index.decls;
  if (d.symStart[s.id + 1] > d.symStart[s.id]) return fromTable(doc, s, d, d.symStart[s.id], 'declaration');
  const t = doc.index.refs;
  const k = t.symStart[s.id];
  const o = owners(doc, s).next();
  if (!o.done && !(k < t.symStart[s.id + 1] && t.rule[k] >= 0 && t.rule[k] < o.value.f)) {
    return new Occurrence(doc, s, new LineRange(o.value.line, o.value.ch, o.value.ch + s.name.length), 'owner', o.value.f);
  }
  return k < t.symStart[s.id + 1] ? fromTable(doc, s, t, k, 'reference') : undefined;
}

/** Does the symbol occur anywhere? */
export function hasOccurrences(doc: DocumentAnalysis, s: ChainSymbol): boolean {
  const { decls, refs } = doc.index;
  if (decls.symStart[s.id + 1] > decls.symStart[s.id] || refs.symStart[s.id + 1] > refs.symStart[s.id]) return true;
  return !owners(doc, s).next().done;
}

/** The entries of an occurrence table on `line`, by position. */
function* onLine(tab: OccurrenceTable, line: number): Generator<number> {
  const bp = tab.byPos;
  let lo = 0, hi = bp.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (tab.line[bp[mid]] < line) lo = mid + 1; else hi = mid;
  }
  for (let i = lo; i < bp.length && tab.line[bp[i]] === line; i++) yield bp[i];
}

function symbolIdOf(tab: OccurrenceTable, k: number): number {
  return floorIndex(tab.symStart, k, tab.symStart.length - 1);
}

export function occurrenceAt(doc: DocumentAnalysis, line: number, character: number): ChainOccurrence | undefined {
  const within = (line2: number, ch: number, len: number) => line2 === line && character >= ch && character <= ch + len;
  const { decls, refs } = doc.index;
  for (const k of onLine(decls, line)) {
    const s = symbolById(doc, symbolIdOf(decls, k));
    if (within(line, decls.colK[k] >> 1, s.name.length)) return fromTable(doc, s, decls, k, 'declaration');
  }
  if (doc.ruleset.kind !== 'nft') {
    const f = ruleIndexAtLine(doc, line);
    if (f >= 0) {
      const id = chainIdOfRule(doc, f);
      const c = chainOfId(doc.ruleset.tables, doc.index.chainBase, id);
      const ch = ownerColumn(doc, line, c.name);
      if (ch >= 0 && within(line, ch, c.name.length)) {
        const s = symbolById(doc, symbolIdOfChain(doc, id));
        return new Occurrence(doc, s, new LineRange(line, ch, ch + s.name.length), 'owner', f);
      }
    }
  }
  for (const k of onLine(refs, line)) {
    const s = symbolById(doc, symbolIdOf(refs, k));
    if (within(line, refs.colK[k] >> 1, s.name.length)) return fromTable(doc, s, refs, k, 'reference');
  }
  return undefined;
}

/** Every occurrence in the file as plain numbers (semantic tokens): declarations, owners, references. */
export function* occurrenceSpans(doc: DocumentAnalysis): Generator<{ line: number; character: number; length: number; declaration: boolean; symbol: number }> {
  const ix = doc.index;
  for (const tab of [ix.decls, ix.refs]) {
    const declaration = tab === ix.decls;
    for (let id = 0; id + 1 < tab.symStart.length; id++) {
      if (tab.symStart[id] === tab.symStart[id + 1]) continue;
      const len = symbolName(doc, id).length;
      for (let k = tab.symStart[id]; k < tab.symStart[id + 1]; k++) yield { line: tab.line[k], character: tab.colK[k] >> 1, length: len, declaration, symbol: id };
    }
  }
  if (doc.ruleset.kind === 'nft') return;
  for (let id = 0; id < ix.chainCount; id++) {
    const c = chainOfId(doc.ruleset.tables, ix.chainBase, id);
    for (let k = 0; k < c.rules.length; k++) {
      const line = c.rules[k].range.start.line;
      if (line < 0 || line >= doc.lineStarts.length) continue;
      const ch = ownerColumn(doc, line, c.name);
      if (ch >= 0) yield { line, character: ch, length: c.name.length, declaration: false, symbol: symbolIdOfChain(doc, id) };
    }
  }
}

function symbolName(doc: DocumentAnalysis, id: number): string {
  return id < doc.index.chainCount ? chainOfId(doc.ruleset.tables, doc.index.chainBase, id).name : doc.index.extras[id - doc.index.chainCount].name;
}

/** Is symbol `id` a chain and a built-in one? */
export function symbolIsBuiltinChain(doc: DocumentAnalysis, id: number): boolean {
  if (id >= doc.index.chainCount) return false;
  const ids = doc.index.aliasChains?.get(id);
  return chainOfId(doc.ruleset.tables, doc.index.chainBase, ids ? ids[ids.length - 1] : id).builtin;
}

/** Is symbol `id` a chain (declared or only jumped to)? */
export function symbolIsChain(doc: DocumentAnalysis, id: number): boolean {
  return id < doc.index.chainCount || doc.index.extras[id - doc.index.chainCount].kind === 'chain';
}

/** The table a line belongs to: the last table whose header starts at or before it. */
export function tableAtLine(doc: DocumentAnalysis, line: number): Table | undefined {
  const f = ruleIndexAtLine(doc, line);
  if (f >= 0) return tableOfChainId(doc, chainIdOfRule(doc, f));
  let best: Table | undefined;
  for (const t of doc.ruleset.tables) {
    const start = Math.min(t.range.start.line, t.nameRange.start.line);
    if (start <= line && (!best || start >= Math.min(best.range.start.line, best.nameRange.start.line))) best = t;
  }
  return best ?? doc.ruleset.tables[0];
}

export function ruleText(doc: Pick<DocumentAnalysis, 'text' | 'lineStarts'>, r: Rule): string {
  const range = r.range;
  const l = lineText(doc, range.start.line);
  const t = range.start.line === range.end.line ? l.slice(range.start.character, range.end.character) : l.slice(range.start.character);
  return t.trim();
}

function internalError(what: string, e: unknown): Diagnostic {
  return {
    range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
    severity: 'error',
    code: 'internal-error',
    message: `internal error in the editor ${what}: ${(e as Error)?.message ?? String(e)}`,
  };
}
