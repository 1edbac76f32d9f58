// Quick fixes as plain data: a title and text edits. The language server turns them into code actions;
// the CLI can print them. They ride on the diagnostic as an extra `fixes` field.
import type { Chain, Diagnostic, Range, Rule, Ruleset, Table } from '../model/ruleset';

export interface TextEdit {
  range: Range;
  newText: string;
}

export interface QuickFix {
  title: string;
  edits: TextEdit[];
}

export type FixableDiagnostic = Diagnostic & { fixes?: QuickFix[] };

export function fixesOf(d: Diagnostic): QuickFix[] {
  return (d as FixableDiagnostic).fixes ?? [];
}

export function withFixes<D extends Diagnostic>(d: D, fixes: QuickFix[]): D & { fixes?: QuickFix[] } {
  if (!fixes.length) return d;
  return Object.assign(d, { fixes: [...fixesOf(d), ...fixes] });
}

const lineStart = (line: number) => ({ line, character: 0 });

/** Removes the rule's whole line(s). */
export function removeRuleFix(rule: Rule, what = 'rule'): QuickFix {
  return { title: `Remove the ${what}`, edits: [{ range: { start: lineStart(rule.range.start.line), end: lineStart(rule.range.end.line + 1) }, newText: '' }] };
}

/** Declares a missing chain: `:NAME - [0:0]` after the table's last chain line (save format), `-N NAME` otherwise. */
export function declareChainFix(rs: Ruleset, table: Table, name: string, usedAt: Range): QuickFix {
  if (rs.kind === 'nft') {
    return { title: `Declare chain ${name}`, edits: [{ range: { start: lineStart(table.range.start.line + 1), end: lineStart(table.range.start.line + 1) }, newText: `\tchain ${name} {\n\t}\n` }] };
  }
  const decls: Range[] = table.chains.flatMap((c: Chain) => c.declarations);
  if (rs.kind === 'iptables-save') {
    const last = decls.reduce<Range | undefined>((a, r) => (!a || r.start.line > a.start.line ? r : a), undefined);
    const line = last ? last.start.line + 1 : table.range.start.line + 1;
    return { title: `Declare chain ${name}`, edits: [{ range: { start: lineStart(line), end: lineStart(line) }, newText: `:${name} - [0:0]\n` }] };
  }
  return { title: `Declare chain ${name}`, edits: [{ range: { start: lineStart(usedAt.start.line), end: lineStart(usedAt.start.line) }, newText: `-N ${name}\n` }] };
}
