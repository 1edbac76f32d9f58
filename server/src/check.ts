// Parse plus every analysis: what `nflens check` and the language server report.
import { parseRulesetSteps, type ParseOptions } from './parse';
import { analyzeChainsSteps, chainGraphSteps, forgetChainGraph } from './analysis/chain-graph';
import { hookReachSteps } from './analysis/hooks';
import { analyzePlacementSteps } from './analysis/placement';
import { chainUsageDiagnostics } from './analysis/chain-usage';
import { analyzeRuleOrderSteps } from './analysis/rule-order';
import { analyzeMarksSteps } from './analysis/mark-analysis';
import { analyzeConntrackOrder } from './analysis/conntrack-order';
import type { Diagnostic, Ruleset } from './model/ruleset';
import { runSteps } from './steps';

export interface CheckResult {
  ruleset: Ruleset;
  diagnostics: Diagnostic[];
}

function internalError(e: unknown): Diagnostic {
  return {
    range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
    severity: 'error',
    code: 'internal-error',
    message: `internal error in analysis: ${(e as Error)?.message ?? String(e)}`,
  };
}

/** The rule builder already reports placement in built-in chains (hook-mismatch, table-mismatch): keep one report per rule. */
function withoutModelDuplicates(rs: Ruleset, ds: Diagnostic[]): Diagnostic[] {
  const lines = new Set(rs.diagnostics.filter((d) => d.code === 'hook-mismatch' || d.code === 'table-mismatch').map((d) => d.range.start.line));
  return ds.filter((d) => !lines.has(d.range.start.line));
}

export interface CheckProgress {
  phase: 'parse' | 'analysis';
  message: string;
  /** 0..100 */
  percentage: number;
}

export function checkText(text: string, opts: ParseOptions = {}): CheckResult {
  return runSteps(checkTextSteps(text, opts));
}

/** Share of the work that parsing takes, for progress reports (measured on kube dumps: about half). */
const PARSE_SHARE = 50;

/** checkText in steps: one per parser chunk, then one per analysis pass, each reporting progress, so the
 *  language server can serve other requests in between and abandon a stale version (`return()`). */
export function* checkTextSteps(text: string, opts: ParseOptions = {}): Generator<CheckProgress, CheckResult, void> {
  const parse = parseRulesetSteps(text, opts);
  let ruleset: Ruleset;
  for (;;) {
    const r = parse.next();
    if (r.done) {
      ruleset = r.value;
      break;
    }
    yield { phase: 'parse', message: 'parsing', percentage: Math.round(r.value * PARSE_SHARE) };
  }
  const diagnostics: Diagnostic[] = ruleset.diagnostics.slice();
  // Each pass is a generator that yields about every 25 ms (a kube dump's passes take seconds each).
  const passes: [string, () => Generator<void, Diagnostic[], void>][] = [
    ['chains and jumps', () => analyzeChainsSteps(ruleset)],
    ['placement', function* () {
      return withoutModelDuplicates(ruleset, yield* analyzePlacementSteps(ruleset));
    }],
    ['chain usage', function* () {
      const out: Diagnostic[] = [];
      for (const t of ruleset.tables) {
        const { graph } = yield* chainGraphSteps(t);
        for (const d of chainUsageDiagnostics(t, graph, yield* hookReachSteps(graph))) out.push(d);
      }
      return out;
    }],
    ['rule order', () => analyzeRuleOrderSteps(ruleset)],
    ['marks', () => analyzeMarksSteps(ruleset)],
    ['conntrack', function* () {
      return analyzeConntrackOrder(ruleset);
    }],
  ];
  for (let i = 0; i < passes.length; i++) {
    const progress: CheckProgress = { phase: 'analysis', message: passes[i][0], percentage: Math.round(PARSE_SHARE + (i * (100 - PARSE_SHARE)) / passes.length) };
    yield progress;
    // A bug in one pass costs its findings, never the others' or the document.
    try {
      const pass = passes[i][1]();
      for (;;) {
        const r = pass.next();
        if (r.done) {
          for (const d of r.value) diagnostics.push(d);
          break;
        }
        yield progress;
      }
    } catch (e) {
      diagnostics.push(internalError(e));
    }
  }
  for (const t of ruleset.tables) forgetChainGraph(t);
  diagnostics.sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character);
  return { ruleset, diagnostics };
}
