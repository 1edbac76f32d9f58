// User chains nothing uses: declared and never referenced (unused), or referenced only from chains
// that no hook reaches (unreachable). Both load fine; they are dead weight or a forgotten jump.
import type { Diagnostic, Table } from '../model/ruleset';
import type { ChainGraph } from './chain-graph';
import type { HookReach } from './hooks';

export function chainUsageDiagnostics(table: Table, g: ChainGraph, reach: HookReach): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const c of table.chains) {
    // Built-in and base chains are entered by hooks; a chain only appended to (never declared) is already an error.
    if (c.builtin || c.hook !== undefined || !c.declarations.length) continue;
    const into = g.into.get(c.name) ?? [];
    const hooks = reach.hooksOf(c.name);
    if (!into.length) {
      out.push({
        range: c.nameRange, severity: 'information', code: 'unused-chain',
        message: `chain ${c.name} is declared but nothing jumps or goes to it${c.rules.length ? `: its ${c.rules.length} rule${c.rules.length > 1 ? 's' : ''} never run` : ''}`,
      });
    } else if (hooks.length === 0) {
      const from = [...new Set(into.map((e) => e.from.name))];
      out.push({
        range: c.nameRange, severity: 'information', code: 'unreachable-chain',
        message: `chain ${c.name} is only referenced from ${from.join(', ')}, which no hook reaches: its rules never run`,
        related: into.map((e) => ({ range: e.range, message: `${e.from.name} ${e.kind}s to ${c.name}, but no hook reaches ${e.from.name}` })),
      });
    }
  }
  return out;
}
