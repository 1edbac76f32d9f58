// The mark map over the protocol (issue 4): per bit, which rules set, clear and test it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ensureBuilt, fileUri, LspClient } from './lsp-client';

let c: LspClient;
before(async () => {
  ensureBuilt();
  c = new LspClient();
  await c.initialize({ diagnosticsDelay: 20 });
});
after(async () => c?.shutdown());

test('nflens/markMap on the ztunnel seed: bit 0x200 is set and tested by the right lines', async () => {
  const d = c.waitDiagnostics(fileUri('examples/ztunnel-ambient.rules'));
  const zt = c.openFile('examples/ztunnel-ambient.rules');
  await d;
  const { text } = await c.request('nflens/markMap', { uri: zt.uri });
  console.log(text);
  const row = text.split('\n').find((l: string) => l.trim().startsWith('0x200 '));
  assert.ok(row, text);
  // Set by the --set-xmark 0x200/0x200 rules on lines 23 (istioin), 25 (istioout), 28 (connmark 0x220);
  // tested by the `--mark 0x200/0x200 -j RETURN` rules on lines 29, 33, 36.
  for (const line of [23, 25, 28]) assert.match(row, new RegExp(`set: [^;]*\\b${line}\\b`), row);
  for (const line of [29, 33, 36]) assert.match(row, new RegExp(`test: [^;]*\\b${line}\\b`), row);
  await assert.rejects(c.request('nflens/markMap', { uri: 'file:///nope.rules' }));
});
