// The simulate commands' static side: the manifest contributes them, restricted mode keeps them (the
// walk is pure computation), and nothing the lens or the trace view uses can start a process.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { decorationLines, type TraceView } from '../../client/src/trace-html';
import { parseRuleset } from '../../server/src/parse';
import { simulate, simulateLenses } from '../../server/src/ide/simulate-lens';

const repo = resolve(import.meta.dirname, '../..');
const read = (p: string) => readFileSync(join(repo, p), 'utf8');
const pkg = JSON.parse(read('package.json'));

describe('simulate commands in the manifest and restricted mode', () => {
  it('contributes the simulate commands (and the mark map), shown for iptables and nftables editors', () => {
    const ids = pkg.contributes.commands.map((c: any) => c.command);
    assert.deepEqual(ids, ['nflens.simulateFromHere', 'nflens.simulatePacket', 'nflens.showMarkMap']);
    for (const m of pkg.contributes.menus.commandPalette) assert.match(m.when, /iptables/);
  });
  it('stays available in restricted mode (no restriction listed) and says the walk runs nothing', () => {
    const u = pkg.capabilities.untrustedWorkspaces;
    assert.equal(u.supported, 'limited');
    assert.equal(u.restrictedConfigurations, undefined);
    assert.match(u.description, /simulates packets/);
    assert.match(u.description, /runs nothing/);
  });
  it('no module on the lens / trace path imports child_process or runs a program', () => {
    const dirs = ['client/src', 'server/src/sim', 'server/src/ide', 'server/src/lsp'];
    const files = dirs.flatMap((d) => readdirSync(join(repo, d)).filter((f) => f.endsWith('.ts')).map((f) => join(d, f)));
    assert.ok(files.includes('client/src/simulate-commands.ts') && files.includes('server/src/ide/simulate-lens.ts'));
    for (const f of files) assert.doesNotMatch(read(f), /child_process|\bexecFile\b|\bspawn\(|new Function\(|\beval\(/, f);
  });
});

describe('decoration lines of a trace', () => {
  it('matched, not matched and the deciding rule of a real walk', () => {
    const rs = parseRuleset(read('examples/ztunnel-ambient.rules'));
    const out = simulate(rs, { uri: 'x', line: 33 });
    assert.ok('result' in out);
    const d = decorationLines(out.result as TraceView);
    // Rules matched in the walk (see test/lsp/server-protocol-simulate.test.ts) plus the ACCEPT
    // policies of the chains left (lines 3, 40, 5, 7, 43).
    assert.deepEqual([...d.matched].sort((a, b) => a - b), [3, 5, 7, 15, 17, 18, 34, 36, 40, 43, 46, 47]);
    assert.deepEqual([...d.nomatch].sort((a, b) => a - b), [19, 35, 48, 49]);
    // No rule decided (every hook accepted by policy): the verdict sits on the last rule visited.
    assert.equal(out.result.decided, undefined);
    assert.equal(d.verdict, 43);
  });
});

describe('simulate lenses on a big ruleset', () => {
  it('keeps a lens per chain and drops the per-rule lenses above MAX_RULE_LENSES rules', () => {
    const rules = Array.from({ length: 30 }, (_, i) => `-A INPUT -p tcp --dport ${1000 + i} -j ACCEPT`);
    const rs = parseRuleset(['*filter', ':INPUT ACCEPT [0:0]', ':X - [0:0]', ...rules, 'COMMIT', ''].join('\n'));
    assert.equal(simulateLenses('u', rs).length, 2 + 30);
    const capped = simulateLenses('u', rs, 29);
    assert.deepEqual(capped.map((l) => [l.range.start.line, l.what]), [[1, 'chain'], [2, 'chain']]);
    // Past the limit in chains too: only the built-in INPUT keeps its lens.
    assert.deepEqual(simulateLenses('u', rs, 1).map((l) => [l.range.start.line, l.what]), [[1, 'chain']]);
  });
});
