// Parse plus every analysis: what `nflens check` and the language server report.
import { parseRuleset, type ParseOptions } from './parse';
import { analyzeChains } from './analysis/chain-graph';
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

export function checkText(text: string, opts: ParseOptions = {}): CheckResult {
  const ruleset = parseRuleset(text, opts);
  const diagnostics = [...ruleset.diagnostics, ...safely(() => analyzeChains(ruleset))];
  diagnostics.sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character);
  return { ruleset, diagnostics };
}
