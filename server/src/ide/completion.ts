// Completion from the text before the cursor: modules after -m, targets and chains after -j/-g,
// chains after -A/-I, protocols after -p, ct states after --ctstate/--state, option flags.
import { isBuiltinChain } from '../knowledge/iptables-tables';
import type { Range } from '../model/ruleset';
import { lineText, tableAtLine, type DocumentAnalysis } from './document';
import { CORE_OPTIONS, CT_STATES, MATCH_MODULES, NFT_KEYWORDS, optionsOf, PROTOCOLS, TARGETS, targetDoc } from './knowledge-docs';
import type { CompletionEntry, CompletionKind } from './types';

export function completions(doc: DocumentAnalysis, line: number, character: number): CompletionEntry[] {
  const text = lineText(doc, line).slice(0, character);
  const m = /(\S*)$/.exec(text)!;
  let partial = m[1];
  let start = character - partial.length;
  const before = text.slice(0, start).trimEnd().split(/\s+/);
  const prev = before[before.length - 1] ?? '';
  const range = (): Range => ({ start: { line, character: start }, end: { line, character } });
  const items = (labels: Iterable<string>, kind: CompletionKind, detail?: string, doc?: (l: string) => string | undefined): CompletionEntry[] => {
    const out: CompletionEntry[] = [];
    const seen = new Set<string>();
    for (const label of labels) {
      if (seen.has(label)) continue;
      seen.add(label);
      out.push({ label, kind, detail, documentation: doc?.(label), replaceRange: range() });
    }
    return out;
  };

  if (doc.ruleset.kind === 'nft') return nftCompletions(doc, line, partial, prev, range);

  const table = tableAtLine(doc, line);
  const chainNames = (userOnly: boolean) => (table?.chains ?? []).filter((c) => !userOnly || !c.builtin).map((c) => c.name);

  switch (prev) {
    case '-m':
    case '--match':
      return items(MATCH_MODULES, 'module', 'match module');
    case '-j':
    case '--jump':
      return [...items(chainNames(true), 'chain', `chain of table ${table?.name ?? '?'}`), ...items(TARGETS, 'target', 'target', targetDoc)];
    case '-g':
    case '--goto':
      return items(chainNames(true), 'chain', `chain of table ${table?.name ?? '?'}`);
    case '-A': case '--append': case '-I': case '--insert': case '-D': case '--delete': case '-R': case '--replace':
    case '-F': case '--flush': case '-X': case '--delete-chain': case '-E': case '--rename-chain':
      return items(chainNames(false), 'chain', `chain of table ${table?.name ?? '?'}`);
    case '-P': case '--policy':
      return items(chainNames(false).filter((c) => table && isBuiltinChain(table.name, c)), 'chain', 'built-in chain');
    case '-p':
    case '--protocol':
      return items(PROTOCOLS, 'value', 'protocol');
    case '--ctstate':
    case '--state': {
      const comma = partial.lastIndexOf(',');
      const already = new Set(partial.slice(0, comma + 1).split(',').filter(Boolean));
      start += comma + 1;
      partial = partial.slice(comma + 1);
      return items(CT_STATES.filter((s) => !already.has(s)), 'value', 'conntrack state');
    }
  }
  if (partial.startsWith('-')) {
    // Options of the core and of the modules/target already on the line.
    const mods = [...text.matchAll(/(?:^|\s)(?:-m|--match)\s+(\S+)/g)].map((x) => x[1]);
    const tgt = /(?:^|\s)(?:-j|--jump)\s+(\S+)/.exec(text)?.[1];
    const fam = doc.ruleset.family === 'ip6' ? 'ip6' : 'ip';
    // The line's own modules and target first: those are the options the user is most likely after.
    const flags = [...mods.flatMap((mod) => optionsOf(mod, false, fam)), ...(tgt ? optionsOf(tgt, true, fam) : []), ...CORE_OPTIONS];
    return items(flags.filter((f) => f.startsWith(partial)), 'option');
  }
  return [];
}

function nftCompletions(doc: DocumentAnalysis, line: number, partial: string, prev: string, range: () => Range): CompletionEntry[] {
  const table = tableAtLine(doc, line);
  const out: CompletionEntry[] = [];
  const push = (label: string, kind: CompletionKind, detail?: string) => out.push({ label, kind, detail, replaceRange: range() });
  if (prev === 'jump' || prev === 'goto') {
    for (const c of table?.chains ?? []) if (!c.hook) push(c.name, 'chain', `chain of table ${table!.name}`);
    return out;
  }
  if (partial.startsWith('@')) {
    for (const s of table?.sets ?? []) push('@' + s.name, 'set', s.kind);
    return out;
  }
  if (partial.startsWith('$')) {
    for (const v of doc.ruleset.variables) push('$' + v.name, 'variable', v.value);
    return out;
  }
  for (const k of NFT_KEYWORDS) push(k, 'keyword');
  return out;
}
