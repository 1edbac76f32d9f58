/// <reference types="mocha" />
// Integration tests against the real `vscode` API: the extension activates, the language server starts
// over IPC, and the editor's own commands (executeHoverProvider...) get the answers.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

const EXT_ID = 'netfilter-lens.netfilter-lens';

async function until<T>(what: string, f: () => T | undefined | Promise<T | undefined>, ms = 20000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function examplesUri(name: string): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'a workspace folder is open');
  const base = folder.uri.path.endsWith('/examples') ? folder.uri : vscode.Uri.joinPath(folder.uri, 'examples');
  return vscode.Uri.joinPath(base, name);
}

function posOf(doc: vscode.TextDocument, needle: string, offset: number): vscode.Position {
  const i = doc.getText().indexOf(needle);
  assert.ok(i >= 0, needle);
  return doc.positionAt(i + offset);
}

function hoverText(hs: vscode.Hover[]): string {
  return hs.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
}

describe('Netfilter Lens in the editor', () => {
  let doc: vscode.TextDocument;

  before(async () => {
    doc = await vscode.workspace.openTextDocument(examplesUri('ztunnel-ambient.rules'));
    await vscode.window.showTextDocument(doc);
    const ext = vscode.extensions.getExtension(EXT_ID);
    assert.ok(ext, `${EXT_ID} is installed`);
    await ext.activate();
  });

  it('associates the seed files with the languages', async () => {
    assert.equal(doc.languageId, 'iptables');
    const s = await vscode.workspace.openTextDocument(examplesUri('istio-sidecar.iptables'));
    assert.equal(s.languageId, 'iptables');
    const n = await vscode.workspace.openTextDocument(examplesUri('multi-wan.nft'));
    assert.equal(n.languageId, 'nftables');
  });

  it('associates the routing files of a node profile and outlines them', async () => {
    const rule = await vscode.workspace.openTextDocument(examplesUri('seed000-node/ip-rule.txt'));
    assert.equal(rule.languageId, 'iproute');
    assert.equal((await vscode.workspace.openTextDocument(examplesUri('seed000-node/node.nflens-node'))).languageId, 'nflens-node');
    assert.equal((await vscode.workspace.openTextDocument(examplesUri('seed000-node/ipset.save'))).languageId, 'ipset');
    const syms = await until('routing symbols', async () => {
      const r = await vscode.commands.executeCommand<vscode.DocumentSymbol[]>('vscode.executeDocumentSymbolProvider', rule.uri);
      return r?.length ? r : undefined;
    });
    assert.ok(syms.length > 0);
  });

  it('publishes diagnostics with codes as the user types', async () => {
    const u = await vscode.workspace.openTextDocument({ language: 'iptables', content: '*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n' });
    const ed = await vscode.window.showTextDocument(u);
    await ed.edit((e) => e.insert(new vscode.Position(2, 0), '-A INPUT -j NOWHERE\n'));
    const d = await until('undefined-chain', () => vscode.languages.getDiagnostics(u.uri).find((x) => x.code === 'undefined-chain'));
    assert.equal(d.range.start.line, 2);
    assert.equal(d.range.start.character, 12);
    assert.equal(d.source, 'nflens');
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });

  it('hover works the mark numbers out', async () => {
    const hs = await until('hover', async () => {
      const r = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, posOf(doc, '--set-xmark 0x200/0x200', 3));
      return r?.length ? r : undefined;
    });
    const md = hoverText(hs);
    assert.match(md, /mark = \(mark AND NOT 0x200\) XOR 0x200/);
    assert.match(md, /sets bit 0x200, leaves all other bits/);
    assert.match(md, /\| 0x0 \| 0x200 \|/);
    assert.match(md, /\| 0x10 \| 0x210 \|/);
    const over = hoverText(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, posOf(doc, '--set-xmark 0x220/0xffffffff', 14)));
    assert.match(over, /overwrites the whole mark with 0x220/);
  });

  it('definition, references and rename of a chain', async () => {
    const at = posOf(doc, '-j ztunnel-FORWARD', 5);
    const defs = await vscode.commands.executeCommand<(vscode.Location | vscode.LocationLink)[]>('vscode.executeDefinitionProvider', doc.uri, at);
    const range = (l: vscode.Location | vscode.LocationLink) => ('targetRange' in l ? l.targetRange : l.range);
    assert.deepEqual(defs.map((l) => [range(l).start.line, range(l).start.character]), [[7, 1]]);
    const refs = await vscode.commands.executeCommand<vscode.Location[]>('vscode.executeReferenceProvider', doc.uri, at);
    assert.deepEqual(refs.map((l) => l.range.start.line).sort((a, b) => a - b), [7, 14, 17, 18]);
    const we = await vscode.commands.executeCommand<vscode.WorkspaceEdit>('vscode.executeDocumentRenameProvider', doc.uri, at, 'zt-FWD');
    const edits = we.get(doc.uri);
    assert.equal(edits.length, 4);
    assert.ok(edits.every((e) => e.newText === 'zt-FWD'));
  });

  it('outline: table → chain → rule', async () => {
    const syms = await vscode.commands.executeCommand<vscode.DocumentSymbol[]>('vscode.executeDocumentSymbolProvider', doc.uri);
    assert.deepEqual(syms.map((s) => s.name), ['mangle', 'nat']);
    const pre = syms[0].children.find((c) => c.name === 'ztunnel-PREROUTING');
    assert.equal(pre?.children.length, 15);
  });

  it('completion after -j offers the chains of the table and the targets', async () => {
    const u = await vscode.workspace.openTextDocument({ language: 'iptables', content: '*nat\n:PREROUTING ACCEPT [0:0]\n:MY-DNAT - [0:0]\n-A PREROUTING -p tcp -j \nCOMMIT\n' });
    const list = await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', u.uri, new vscode.Position(3, 24));
    const labels = list.items.map((i) => (typeof i.label === 'string' ? i.label : i.label.label));
    assert.ok(labels.includes('MY-DNAT'), labels.join(' '));
    assert.ok(labels.includes('DNAT'));
  });

  it('the "Simulate packet from here" lens on a seed rule opens the trace panel and decorates the rules', async () => {
    await vscode.window.showTextDocument(doc);
    // The lens above rule 34 (`-i vethfe50c7fb -j MARK --set-xmark 0x220/0x220`), as the editor gets it.
    const lenses = await until('code lenses', async () => {
      const r = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri);
      return r?.length ? r : undefined;
    });
    assert.equal(lenses.length, 45, 'one lens per rule (29) and chain (16)');
    const lens = lenses.find((l) => l.range.start.line === 33);
    assert.ok(lens?.command, 'a lens on line 34');
    assert.equal(lens.command.title, 'Simulate packet from here');
    assert.equal(lens.command.command, 'nflens.simulateFromHere');
    // Run it as a click does; the input box proposing the witness is accepted as is.
    let done = false;
    const run = Promise.resolve(vscode.commands.executeCommand<any>(lens.command.command, ...(lens.command.arguments ?? []))).finally(() => (done = true));
    const end = Date.now() + 20000;
    while (!done && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 300));
      if (!done) await Promise.resolve(vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem')).catch(() => {});
    }
    const summary = await run;
    assert.ok(summary, 'the command returned a summary');
    assert.match(summary.packet, /iif vethfe50c7fb/);
    assert.equal(summary.verdict, 'ACCEPT');
    assert.equal(summary.panel, true);
    assert.ok(summary.decorated.matched.includes(34) && summary.decorated.matched.includes(18), JSON.stringify(summary.decorated));
    assert.ok(summary.decorated.nomatch.includes(35), JSON.stringify(summary.decorated));
    assert.equal(summary.decorated.verdict, 43);
    // The tab model catches up with a new webview panel asynchronously: look for the tab for up to 5 s.
    const traceTab = () => vscode.window.tabGroups.all.flatMap((g) => g.tabs).some((t) => t.input instanceof vscode.TabInputWebview && t.label.startsWith('Packet trace'));
    for (const stop = Date.now() + 5000; !traceTab() && Date.now() < stop; ) await new Promise((r) => setTimeout(r, 100));
    const tabs = vscode.window.tabGroups.all.flatMap((g) => g.tabs);
    assert.ok(traceTab(), tabs.map((t) => t.label).join(', '));
    // "Simulate packet..." for the whole file with a typed packet: from the first hook, istioin gets 0x200.
    const whole = await vscode.commands.executeCommand<any>('nflens.simulatePacket', { uri: doc.uri.toString(), packet: 'tcp 10.244.0.3:40000 -> 10.96.0.10:80 iif istioin' });
    assert.ok(whole.decorated.matched.includes(23) && whole.decorated.matched.includes(24), JSON.stringify(whole.decorated));
    assert.ok(!whole.decorated.matched.includes(34));
    const before = await vscode.commands.executeCommand<any>('nflens.traceDecorations');
    assert.equal(before.uri, doc.uri.toString());
    assert.ok(before.matched.length > 0);
    // An edit makes the decorations stale: they go.
    const ed = await vscode.window.showTextDocument(doc);
    await ed.edit((e) => e.insert(new vscode.Position(0, 0), '# edited\n'));
    const after = await vscode.commands.executeCommand<any>('nflens.traceDecorations');
    assert.deepEqual([after.matched, after.nomatch, after.verdict], [[], [], undefined]);
    await vscode.commands.executeCommand('workbench.action.files.revert');
    assert.equal(doc.isDirty, false);
  });

  it('switches an untitled plain-text document that holds a ruleset to iptables', async () => {
    const u = await vscode.workspace.openTextDocument({ language: 'plaintext', content: '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n' });
    await vscode.window.showTextDocument(u);
    await until('language switch', () => vscode.workspace.textDocuments.find((d) => d.uri.toString() === u.uri.toString() && d.languageId === 'iptables'));
  });
});
