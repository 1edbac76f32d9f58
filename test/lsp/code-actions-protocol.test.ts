// Quick fixes over the protocol: the server offers the analyses' fixes as code actions, and applying one
// clears the diagnostic it was offered for.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { applyEdits, ensureBuilt, LspClient } from './lsp-client';

let c: LspClient;
before(async () => {
  ensureBuilt();
  c = new LspClient();
  await c.initialize({ diagnosticsDelay: 20 });
});
after(async () => c?.shutdown());

test('undefined chain and a mark mask: code actions with edits that fix them', async () => {
  const uri = 'untitled:quickfix.rules';
  const text = [
    '*mangle',
    ':PREROUTING ACCEPT [0:0]',
    ':A - [0:0]',
    '-A PREROUTING -j A',
    '-A A -m mark --mark 0x3/0x1 -j B',
    'COMMIT',
    '',
  ].join('\n');
  const diags = c.waitDiagnostics(uri, (p) => p.diagnostics.length > 0);
  await c.open(uri, text);
  const published = await diags;
  const codes = published.diagnostics.map((d) => d.code).sort();
  assert.ok(codes.includes('undefined-chain') && codes.includes('mark-mask-never-matches'), JSON.stringify(codes));
  const actions: any[] = await c.request('textDocument/codeAction', {
    textDocument: { uri },
    range: { start: { line: 4, character: 0 }, end: { line: 4, character: 40 } },
    context: { diagnostics: published.diagnostics },
  });
  const titles = actions.map((a) => a.title);
  assert.ok(titles.some((t) => /Declare chain B/.test(t)), JSON.stringify(titles));
  assert.ok(actions.every((a) => a.kind === 'quickfix' && a.edit?.changes?.[uri]?.length));
  const declare = actions.find((a) => /Declare chain B/.test(a.title));
  const fixedText = applyEdits(text, declare.edit.changes[uri]);
  assert.ok(fixedText.includes(':B - [0:0]\n'), fixedText);
  const after = c.waitDiagnostics(uri, (p) => p.version === 2);
  await c.change(uri, 2, fixedText);
  const p2 = await after;
  assert.ok(!p2.diagnostics.some((d) => d.code === 'undefined-chain'), JSON.stringify(p2.diagnostics));
  const mask = actions.find((a) => a.diagnostics?.[0]?.code === 'mark-mask-never-matches');
  assert.ok(mask, 'a fix is offered for the mask');
  assert.match(applyEdits(text, mask.edit.changes[uri]), /--mark 0x(3\/0x3|1\/0x1)/);
});
