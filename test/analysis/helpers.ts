// Small helpers for the analysis tests: check a text and pick diagnostics by code.
import { checkText } from '../../server/src/check';
import type { Diagnostic } from '../../server/src/model/ruleset';

export function diags(text: string, opts: Parameters<typeof checkText>[1] = {}): Diagnostic[] {
  return checkText(text, opts).diagnostics;
}

export function codes(ds: Diagnostic[], code: string): Diagnostic[] {
  return ds.filter((d) => d.code === code);
}

/** 1-based line numbers of the diagnostics with this code. */
export function linesOf(ds: Diagnostic[], code: string): number[] {
  return codes(ds, code).map((d) => d.range.start.line + 1);
}

export function save(table: string, chains: string[], rules: string[]): string {
  const builtins: Record<string, string[]> = {
    filter: ['INPUT', 'FORWARD', 'OUTPUT'], nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
    mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'], raw: ['PREROUTING', 'OUTPUT'], security: ['INPUT', 'FORWARD', 'OUTPUT'],
  };
  return [`*${table}`, ...builtins[table].map((c) => `:${c} ACCEPT [0:0]`), ...chains.map((c) => `:${c} - [0:0]`), ...rules, 'COMMIT', ''].join('\n');
}
