// Protocol tests for the routing files of a node profile (examples/seed000-node): they are not parsed
// as rulesets; they get an outline, diagnostics, and MARK ↔ ip rule navigation through the profile.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ensureBuilt, fileUri, find, LspClient } from './lsp-client';

describe('language server over stdio: routing documents of a node profile', () => {
  let c: LspClient;
  let rule: { uri: string; text: string; lines: string[] };
  let profile: { uri: string; text: string; lines: string[] };

  before(async () => {
    ensureBuilt();
    c = new LspClient();
    await c.initialize();
    const d1 = c.waitDiagnostics(fileUri('examples/seed000-node/ip-rule.txt'));
    const d2 = c.waitDiagnostics(fileUri('examples/seed000-node/node.nflens-node'));
    rule = c.openFile('examples/seed000-node/ip-rule.txt', 'iproute');
    profile = c.openFile('examples/seed000-node/node.nflens-node', 'nflens-node');
    await Promise.all([d1, d2]);
  });
  after(async () => {
    await c?.shutdown();
  });

  it('an ip rule listing is not read as a ruleset: no ruleset diagnostics, one symbol per rule', async () => {
    const pub = c.published.find((p) => p.uri === rule.uri)!;
    assert.ok(!pub.diagnostics.some((d) => ['syntax', 'no-command', 'no-table'].includes(d.code)), JSON.stringify(pub.diagnostics));
    const syms = await c.request('textDocument/documentSymbol', { textDocument: { uri: rule.uri } });
    const flat = (xs: any[]): any[] => xs.flatMap((x) => [x, ...flat(x.children ?? [])]);
    const lines = new Set(flat(syms).map((s: any) => s.selectionRange.start.line));
    for (let l = 0; l < rule.lines.length; l++) if (/^\d+:/.test(rule.lines[l])) assert.ok(lines.has(l), `a symbol on line ${l}`);
  });

  it('definition on an fwmark rule goes to the MARK rules of the ruleset that set its bits', async () => {
    const defs = await c.request('textDocument/definition', { textDocument: { uri: rule.uri }, position: find(rule.lines, 'fwmark 0x200/0x200', 8) });
    assert.ok(defs.length > 0);
    assert.ok(defs.every((l: any) => l.uri === fileUri('examples/ztunnel-ambient.rules')), JSON.stringify(defs));
    const rs = (await import('node:fs')).readFileSync(new URL(fileUri('examples/ztunnel-ambient.rules')), 'utf8').split('\n');
    for (const l of defs) assert.match(rs[l.range.start.line], /-j MARK --set-xmark/, rs[l.range.start.line]);
  });

  it('hover on an ip rule and on a profile directive answers', async () => {
    const h = await c.request('textDocument/hover', { textDocument: { uri: rule.uri }, position: find(rule.lines, 'fwmark 0x200/0x200', 8) });
    assert.ok(h && h.contents.value.length > 0);
    const d = await c.request('textDocument/definition', { textDocument: { uri: profile.uri }, position: find(profile.lines, 'ip-rule.txt', 2) });
    assert.deepEqual(d.map((l: any) => l.uri), [rule.uri]);
  });
});
