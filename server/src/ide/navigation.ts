// Definition, references, rename and document highlight for chains.
import { isBuiltinChain, MAX_CHAIN_NAME, STANDARD_VERDICTS } from '../knowledge/iptables-tables';
import type { Range, Table } from '../model/ruleset';
import { declarationsOf, hasOccurrences, occurrenceAt, occurrencesOf, symbolNamed, type ChainSymbol, type DocumentAnalysis } from './document';
import type { HighlightItem, Location, RenameResult } from './types';


export function definition(doc: DocumentAnalysis, line: number, character: number): Location[] {
  const o = occurrenceAt(doc, line, character);
  if (!o) return [];
  return declarationsOf(doc, o.symbol).map((d) => ({ uri: doc.uri, range: d.range }));
}

/** Every place the chain is written. `-A X` lines count as references: renaming must change them. */
export function references(doc: DocumentAnalysis, line: number, character: number, includeDeclaration = true): Location[] {
  const o = occurrenceAt(doc, line, character);
  if (!o) return [];
  return occurrencesOf(doc, o.symbol)
    .filter((x) => includeDeclaration || x.role !== 'declaration')
    .map((x) => x.range)
    .sort(byPosition)
    .map((range) => ({ uri: doc.uri, range }));
}

export function documentHighlights(doc: DocumentAnalysis, line: number, character: number): HighlightItem[] {
  const o = occurrenceAt(doc, line, character);
  if (!o) return [];
  return occurrencesOf(doc, o.symbol)
    .map((x) => ({ range: x.range, kind: x.role === 'declaration' ? ('write' as const) : ('read' as const) }))
    .sort((a, b) => byPosition(a.range, b.range));
}

function isBuiltin(doc: DocumentAnalysis, s: ChainSymbol): boolean {
  if (s.kind !== 'chain' || !s.table) return false;
  // nft base chains have names of their own choosing: only iptables built-ins are fixed.
  if (s.chain) return s.chain.builtin && doc.ruleset.kind !== 'nft';
  return doc.ruleset.kind !== 'nft' && isBuiltinChain(s.table.name, s.name);
}

function builtinError(s: ChainSymbol): string {
  return `"${s.name}" is a built-in chain of table "${s.table?.name}" and cannot be renamed`;
}

export function prepareRename(doc: DocumentAnalysis, line: number, character: number): { range: Range; placeholder: string } | { error: string } | undefined {
  const o = occurrenceAt(doc, line, character);
  if (!o) return undefined;
  if (isBuiltin(doc, o.symbol)) return { error: builtinError(o.symbol) };
  return { range: o.range, placeholder: o.symbol.name };
}

export function rename(doc: DocumentAnalysis, line: number, character: number, newName: string): RenameResult {
  const o = occurrenceAt(doc, line, character);
  if (!o) return { error: 'no chain here' };
  const s = o.symbol;
  if (isBuiltin(doc, s)) return { error: builtinError(s) };
  const bad = checkNewName(doc, s, newName);
  if (bad) return { error: bad };
  return { edits: occurrencesOf(doc, s).map((x) => ({ range: x.range, newText: newName })).sort((a, b) => byPosition(a.range, b.range)) };
}

/** Does a symbol of that name occur in the file (a jump to an undeclared chain counts)? */
function hasSymbol(doc: DocumentAnalysis, kind: ChainSymbol['kind'], t: Table | undefined, name: string): boolean {
  const s = symbolNamed(doc, kind, t, name);
  return !!s && hasOccurrences(doc, s);
}

function checkNewName(doc: DocumentAnalysis, s: ChainSymbol, name: string): string | undefined {
  if (!name) return `a ${s.kind} name cannot be empty`;
  if (s.kind === 'variable') {
    if (!/^[A-Za-z_][\w]*$/.test(name)) return `"${name}" is not a valid nft variable name (letters, digits, _)`;
    if (hasSymbol(doc, 'variable', undefined, name)) return `a variable "${name}" is already defined`;
    return undefined;
  }
  const t = s.table!;
  if (s.kind === 'set') {
    if (!/^[A-Za-z_][\w.-]*$/.test(name)) return `"${name}" is not a valid nft set name`;
    if (hasSymbol(doc, 'set', t, name) || t.sets.some((x) => x.name === name)) return `table "${t.name}" already has a set or map "${name}"`;
    return undefined;
  }
  if (/[\s"'#;{}]/.test(name)) return `"${name}" is not a valid chain name (no spaces, quotes, braces or #)`;
  if (hasSymbol(doc, 'chain', t, name) || t.chains.some((c) => c.name === name)) {
    return `table "${t.name}" already has a chain "${name}"`;
  }
  if (doc.ruleset.kind === 'nft') {
    if (!/^[A-Za-z_][\w.-]*$/.test(name)) return `"${name}" is not a valid nft chain name (letters, digits, _ . -; not starting with a digit)`;
    return undefined;
  }
  if (name.length > MAX_CHAIN_NAME) return `chain name "${name}" is ${name.length} characters; iptables allows at most ${MAX_CHAIN_NAME}`;
  if (name.startsWith('-') || name.startsWith('!')) return `a chain name cannot start with "${name[0]}"`;
  if (STANDARD_VERDICTS.includes(name) || isBuiltinChain(t.name, name)) return `"${name}" is reserved`;
  return undefined;
}

export function byPosition(a: Range, b: Range): number {
  return a.start.line - b.start.line || a.start.character - b.start.character;
}
