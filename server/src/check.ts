// Parse plus every analysis: what `nflens check` and the language server report.
import { parseRuleset, type ParseOptions } from './parse';
import { analyzeChains, chainGraph } from './analysis/chain-graph';
import { hookReach } from './analysis/hooks';
import { analyzePlacement } from './analysis/placement';
import { chainUsageDiagnostics } from './analysis/chain-usage';
import { analyzeRuleOrder } from './analysis/rule-order';
import { analyzeMarks } from './analysis/mark-analysis';
import { analyzeConntrackOrder } from './analysis/conntrack-order';
import type { Diagnostic, Ruleset } from './model/ruleset';

export interface CheckResult {
  ruleset: Ruleset;
  diagnostics: Diagnostic[];
}

function safely(f: () => Diagnostic[]): Diagnostic[] {
  try {
    return f();
  } catch (e) {
    return [{
      range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
      severity: 'error',
      code: 'internal-error',
      message: `internal error in analysis: ${(e as Error)?.message ?? String(e)}`,
    }];
  }
}

/** The rule builder already reports placement in built-in chains (hook-mismatch, table-mismatch): keep one report per rule. */
function withoutModelDuplicates(rs: Ruleset, ds: Diagnostic[]): Diagnostic[] {
  const lines = new Set(rs.diagnostics.filter((d) => d.code === 'hook-mismatch' || d.code === 'table-mismatch').map((d) => d.range.start.line));
  return ds.filter((d) => !lines.has(d.range.start.line));
}

export function checkText(text: string, opts: ParseOptions = {}): CheckResult {
  const ruleset = parseRuleset(text, opts);
  const diagnostics = [
    ...ruleset.diagnostics,
    ...safely(() => analyzeChains(ruleset)),
    ...safely(() => withoutModelDuplicates(ruleset, analyzePlacement(ruleset))),
    ...safely(() => ruleset.tables.flatMap((t) => {
      const { graph } = chainGraph(t);
      return chainUsageDiagnostics(t, graph, hookReach(graph));
    })),
    ...safely(() => analyzeRuleOrder(ruleset)),
    ...safely(() => analyzeMarks(ruleset)),
    ...safely(() => analyzeConntrackOrder(ruleset)),
  ];
  diagnostics.sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character);
  return { ruleset, diagnostics };
}
