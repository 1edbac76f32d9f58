// One analysed document: text, model, diagnostics, and the indexes the IDE features query.
// Built once per document version; every query after that is a lookup (hover must stay fast on
// 150 000-line dumps).
import { checkTextSteps, type CheckProgress, type CheckResult } from '../check';
import type { ParseOptions } from '../parse';
import { runSteps, TimeSlice } from '../steps';
import { lineRange, type Action, type Chain, type Diagnostic, type NamedSet, type Range, type Rule, type Ruleset, type Table, type Variable } from '../model/ruleset';
import { buildMarkIndex, type MarkIndex } from './mark-index';

export type OccurrenceRole = 'declaration' | 'reference' | 'owner';

/** One place a chain name is written: `:X` / `-N X` / nft `chain x` (declaration), `-j X` / `jump x`
 *  / vmap entry (reference), or `-A X` (owner: the rule is appended to X). */
export interface ChainOccurrence {
  symbol: ChainSymbol;
  range: Range;
  role: OccurrenceRole;
  /** The rule that holds the reference or is owned (references and owners only). */
  rule?: RuleRef;
  kind?: 'jump' | 'goto';
}

/** A named thing of the file: a chain (per table), an nft named set or map (per table), or an nft
 *  variable (`define`, file-wide: no table). */
export interface ChainSymbol {
  kind: 'chain' | 'set' | 'variable';
  table: Table | undefined;
  name: string;
  chain?: Chain;
  set?: NamedSet;
  variable?: Variable;
  occurrences: ChainOccurrence[];
}

export interface RuleRef {
  table: Table;
  chain: Chain;
  rule: Rule;
}

export interface DocumentAnalysis {
  uri: string;
  text: string;
  version: number;
  ruleset: Ruleset;
  diagnostics: Diagnostic[];
  lines: string[];
  /** Chain symbols by table, then name. */
  chains: Map<Table, Map<string, ChainSymbol>>;
  /** nft named sets and maps by table, then name. */
  sets: Map<Table, Map<string, ChainSymbol>>;
  /** nft variables by name. */
  variables: Map<string, ChainSymbol>;
  /** Chain, set and variable occurrences by line. */
  occurrencesByLine: Map<number, ChainOccurrence[]>;
  /** Rules by their first line. */
  rulesByLine: Map<number, RuleRef>;
  marks: MarkIndex;
}

export function splitLines(text: string): string[] {
  return text.split(/\r?\n/);
}

export function textAt(lines: string[], r: Range): string | undefined {
  if (r.start.line !== r.end.line) return undefined;
  const l = lines[r.start.line];
  return l === undefined ? undefined : l.slice(r.start.character, r.end.character);
}

export function contains(r: Range, line: number, character: number): boolean {
  if (line < r.start.line || line > r.end.line) return false;
  if (line === r.start.line && character < r.start.character) return false;
  if (line === r.end.line && character > r.end.character) return false;
  return true;
}

const OWNER_FLAG = /(?:^|\s)(?:-A|--append|-I|--insert|-R|--replace|-D|--delete)\s+(\S+)/;

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
  const lines = splitLines(text);
  const chains = new Map<Table, Map<string, ChainSymbol>>();
  const occurrencesByLine = new Map<number, ChainOccurrence[]>();
  const rulesByLine = new Map<number, RuleRef>();

  const symbolOf = (t: Table, name: string): ChainSymbol => {
    let m = chains.get(t);
    if (!m) chains.set(t, (m = new Map()));
    let s = m.get(name);
    if (!s) m.set(name, (s = { kind: 'chain', table: t, name, occurrences: [] }));
    return s;
  };
  const sets = new Map<Table, Map<string, ChainSymbol>>();
  const variables = new Map<string, ChainSymbol>();
  const setOf = (t: Table, name: string): ChainSymbol => {
    let m = sets.get(t);
    if (!m) sets.set(t, (m = new Map()));
    let s = m.get(name);
    if (!s) m.set(name, (s = { kind: 'set', table: t, name, occurrences: [] }));
    return s;
  };
  /** `@name` / `$name`: the occurrence is the name after the sigil. */
  const unsigil = (r: Range | undefined, sigil: string): Range | undefined => {
    if (!r || r.start.line !== r.end.line || lines[r.start.line]?.[r.start.character] !== sigil) return r;
    return r.end.line === r.start.line ? lineRange(r.start.line, r.start.character + 1, r.end.character) : { start: { line: r.start.line, character: r.start.character + 1 }, end: r.end };
  };
  const seen = new Set<number>();
  // Only ranges whose text is the name are recorded: a rename must never overwrite anything else.
  const add = (s: ChainSymbol, range: Range | undefined, role: OccurrenceRole, rule?: RuleRef, kind?: 'jump' | 'goto') => {
    if (!range || range.start.line !== range.end.line || range.end.character - range.start.character !== s.name.length) return;
    if (!lines[range.start.line]?.startsWith(s.name, range.start.character)) return;
    const key = range.start.line * 65536 + range.start.character;
    if (seen.has(key)) return;
    seen.add(key);
    const o: ChainOccurrence = { symbol: s, range, role, rule, kind };
    s.occurrences.push(o);
    const l = occurrencesByLine.get(range.start.line);
    if (l) l.push(o);
    else occurrencesByLine.set(range.start.line, [o]);
  };

  const budget = new TimeSlice();
  let ruleCount = 0;
  for (const t of ruleset.tables) for (const c of t.chains) ruleCount += c.rules.length;
  let rulesDone = 0;
  const indexing = (): DocumentProgress => ({ phase: 'index', message: 'indexing', percentage: Math.min(100, Math.round(CHECK_SHARE + ((100 - CHECK_SHARE) * rulesDone) / Math.max(1, ruleCount))) });
  yield indexing();

  // The indexes are ours, not the parser's: a bug here must cost features, never the document.
  try {
    for (const t of ruleset.tables) {
      for (const st of t.sets) {
        const s = setOf(t, st.name);
        s.set = st;
        add(s, st.nameRange, 'declaration');
      }
      for (const c of t.chains) {
        if (budget.due()) yield indexing();
        const s = symbolOf(t, c.name);
        s.chain = c;
        for (const d of c.declarations) add(s, d, 'declaration');
        if (!c.declarations.length && ruleset.kind === 'nft') add(s, c.nameRange, 'declaration');
      }
    }
    for (const t of ruleset.tables) {
      for (const c of t.chains) {
        let owner: ChainSymbol | undefined;
        for (const r of c.rules) {
          if (budget.due()) yield indexing();
          rulesDone++;
          const ref: RuleRef = { table: t, chain: c, rule: r };
          if (!rulesByLine.has(r.range.start.line)) rulesByLine.set(r.range.start.line, ref);
          if (ruleset.kind !== 'nft') {
            const line = r.range.start.line;
            const text = lines[line] ?? '';
            let ch = -1;
            // Fast path for the usual `-A NAME ...` at the start of the line.
            if (text.startsWith('-A ') && text.startsWith(c.name, 3) && (text.length === 3 + c.name.length || text[3 + c.name.length] === ' ')) ch = 3;
            else {
              const m = OWNER_FLAG.exec(text);
              if (m && m[1] === c.name) ch = m.index + m[0].length - m[1].length;
            }
            // One light range per rule (a kube dump has 500 000 of them).
            if (ch >= 0) add(owner ??= symbolOf(t, c.name), lineRange(line, ch, ch + c.name.length), 'owner', ref);
          }
          for (const a of r.actions) addActionRefs(t, a, ref);
          if (ruleset.kind === 'nft') addSetRefs(t, r, ref);
        }
      }
    }
    if (ruleset.kind === 'nft') {
      for (const v of ruleset.variables) {
        let s = variables.get(v.name);
        if (!s) variables.set(v.name, (s = { kind: 'variable', table: undefined, name: v.name, variable: v, occurrences: [] }));
        add(s, v.nameRange, 'declaration');
        for (const r of v.references) add(s, unsigil(r, '$'), 'reference');
      }
    }
  } catch (e) {
    diagnostics.push(internalError('indexing', e));
  }

  function addSetRefs(t: Table, r: Rule, ref: RuleRef) {
    for (const m of r.matches) {
      if (m.nft?.setRef) add(setOf(t, m.nft.setRef), unsigil(m.nft.setRefRange, '@'), 'reference', ref);
    }
    // `vmap @name`, `map @name`, `add @name { ... }`, `update @name`: the statement's own text.
    for (const a of r.actions) {
      const l = a.range.start.line;
      if (a.range.end.line !== l) continue;
      const text = (lines[l] ?? '').slice(a.range.start.character, a.range.end.character);
      for (const m of text.matchAll(/@([A-Za-z_][\w.-]*)/g)) {
        const ch = a.range.start.character + m.index! + 1;
        add(setOf(t, m[1]), lineRange(l, ch, ch + m[1].length), 'reference', ref);
      }
    }
  }

  function addActionRefs(t: Table, a: Action, ref: RuleRef) {
    if ((a.kind === 'jump' || a.kind === 'goto') && a.chain) add(symbolOf(t, a.chain), a.chainRange, 'reference', ref, a.kind);
    for (const e of a.vmap?.entries ?? []) {
      if (!e.chain) continue;
      add(symbolOf(t, e.chain), nameInside(lines, e.range, e.chain), 'reference', ref, e.verdict === 'goto' ? 'goto' : 'jump');
    }
  }

  // Built now rather than on the first hover, so no hover pays for the whole file.
  const doc = { uri, text, version, ruleset, diagnostics, lines, chains, sets, variables, occurrencesByLine, rulesByLine } as Omit<DocumentAnalysis, 'marks'> & { marks: MarkIndex };
  yield indexing();
  try {
    doc.marks = buildMarkIndex(doc);
  } catch (e) {
    doc.marks = { ops: [], uses: { mark: Array.from({ length: 32 }, () => []), ctmark: Array.from({ length: 32 }, () => []) }, byLine: new Map() };
    diagnostics.push(internalError('mark index', e));
  }
  return doc;
}

export function sameRange(a: Range, b: Range): boolean {
  return a.start.line === b.start.line && a.start.character === b.start.character && a.end.line === b.end.line && a.end.character === b.end.character;
}

/** The last whole-word occurrence of `name` inside a one-line range (a vmap entry `"k" : jump name`). */
function nameInside(lines: string[], r: Range, name: string): Range | undefined {
  const t = textAt(lines, r);
  if (t === undefined) return undefined;
  if (t === name) return r;
  const re = new RegExp(`(^|[^\\w.-])(${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')})(?![\\w.-])`, 'g');
  let last: RegExpExecArray | null = null;
  for (let m = re.exec(t); m; m = re.exec(t)) last = m;
  if (!last) return undefined;
  const ch = r.start.character + last.index + last[1].length;
  return { start: { line: r.start.line, character: ch }, end: { line: r.start.line, character: ch + name.length } };
}

export function occurrenceAt(doc: DocumentAnalysis, line: number, character: number): ChainOccurrence | undefined {
  return doc.occurrencesByLine.get(line)?.find((o) => contains(o.range, line, character));
}

/** The table a line belongs to: the last table whose header starts at or before it. */
export function tableAtLine(doc: DocumentAnalysis, line: number): Table | undefined {
  const rule = doc.rulesByLine.get(line);
  if (rule) return rule.table;
  let best: Table | undefined;
  for (const t of doc.ruleset.tables) {
    const start = Math.min(t.range.start.line, t.nameRange.start.line);
    if (start <= line && (!best || start >= Math.min(best.range.start.line, best.nameRange.start.line))) best = t;
  }
  return best ?? doc.ruleset.tables[0];
}

export function ruleText(doc: DocumentAnalysis, r: Rule): string {
  const l = doc.lines[r.range.start.line] ?? '';
  const t = r.range.start.line === r.range.end.line ? l.slice(r.range.start.character, r.range.end.character) : l.slice(r.range.start.character);
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
