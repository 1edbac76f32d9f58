// Protocol tests: the bundled server (`node dist/server.js --stdio`) driven over JSON-RPC with the
// examples made from the seeds (ztunnel ambient iptables-save, Istio sidecar `iptables -S`).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkText } from '../../server/src/check';
import { extensionDoc, extensionOptionDoc, extensionOptionFlags } from '../../server/src/knowledge/iptables-extensions';
import { applyEdits, ensureBuilt, fileUri, find, LspClient, type Range } from './lsp-client';

const ZT = 'examples/ztunnel-ambient.rules';
const ISTIO = 'examples/istio-sidecar.iptables';

function brief(d: { code: string; range: Range; severity: number }): string {
  return `${d.code}@${at(d.range)}/${d.severity}`;
}

function at(r: Range): string {
  return `${r.start.line}:${r.start.character}-${r.end.line}:${r.end.character}`;
}

describe('language server over stdio', () => {
  let c: LspClient;
  let zt: { uri: string; text: string; lines: string[] };
  let istio: { uri: string; text: string; lines: string[] };

  before(async () => {
    ensureBuilt();
    c = new LspClient();
    const init = await c.initialize();
    assert.equal(init.capabilities.hoverProvider, true);
    assert.deepEqual(init.capabilities.renameProvider, { prepareProvider: true });
    const zDiag = c.waitDiagnostics(fileUri(ZT));
    zt = c.openFile(ZT);
    istio = c.openFile(ISTIO);
    await zDiag;
  });

  after(async () => {
    await c?.shutdown();
  });

  describe('diagnostics', () => {
    it('publishes an empty list for the clean seed, then the undefined chain as the user types', async () => {
      const first = c.published.find((p) => p.uri === zt.uri);
      assert.ok(first, 'diagnostics published on open');
      // Exactly the core's diagnostics (the seed has warnings, no errors), with code, range and severity.
      const core = checkText(zt.text).diagnostics;
      assert.deepEqual(first.diagnostics.map(brief), core.map((d) => `${d.code}@${at(d.range)}/${{ error: 1, warning: 2, information: 3, hint: 4 }[d.severity]}`));
      assert.ok(!first.diagnostics.some((d) => d.severity === 1), 'no errors in the seed');
      const uri = 'untitled:typed.rules';
      await c.open(uri, '*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n', 'iptables', 1);
      await c.waitDiagnostics(uri);
      const typed = '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j NOWHERE\nCOMMIT\n';
      // Three edits; the diagnostics of the last one name the undefined chain.
      await c.change(uri, 2, typed.slice(0, 30));
      await c.change(uri, 3, typed.slice(0, 40));
      const got = c.waitDiagnostics(uri, (p) => p.version === 4);
      await c.change(uri, 4, typed);
      const p = await got;
      const d = p.diagnostics.find((x) => x.code === 'undefined-chain');
      assert.ok(d, `undefined-chain in ${JSON.stringify(p.diagnostics)}`);
      assert.equal(at(d.range), '2:12-2:19');
      assert.equal(d.source, 'nflens');
      assert.equal(d.severity, 1);
    });

    it('debounces: quick edits within the delay publish once, for the last version', async () => {
      // Its own server with a 1 s delay, so a loaded CI machine cannot stretch the gaps between edits past it.
      const slow = new LspClient();
      try {
        await slow.initialize({ diagnosticsDelay: 1000 });
        const uri = 'untitled:debounce.rules';
        const t0 = Date.now();
        await slow.open(uri, '*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n', 'iptables', 1);
        await slow.change(uri, 2, '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT\nCOMMIT\n');
        const last = slow.waitDiagnostics(uri);
        await slow.change(uri, 3, '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j NOWHERE\nCOMMIT\n');
        const sent = Date.now() - t0;
        const p = await last;
        assert.ok(sent < 900, `edits took ${sent} ms to send; the test needs them within the delay`);
        assert.equal(p.version, 3);
        assert.deepEqual(slow.published.filter((x) => x.uri === uri).map((x) => x.version), [3]);
        assert.ok(Date.now() - t0 >= 1000, 'published only after the delay');
      } finally {
        await slow.shutdown();
      }
    });
  });

  describe('navigation (iptables-save, two tables with the same chain name)', () => {
    it('definition of -j ztunnel-PREROUTING goes to the declaration of its own table', async () => {
      const mangleJump = find(zt.lines, '-j ztunnel-PREROUTING', 5, 0);
      const natJump = find(zt.lines, '-j ztunnel-PREROUTING', 5, 1);
      const d1 = await c.request('textDocument/definition', { textDocument: { uri: zt.uri }, position: mangleJump });
      assert.deepEqual(d1.map((l: any) => at(l.range)), ['11:1-11:19']);
      assert.equal(d1[0].uri, zt.uri);
      const d2 = await c.request('textDocument/definition', { textDocument: { uri: zt.uri }, position: natJump });
      assert.deepEqual(d2.map((l: any) => at(l.range)), ['44:1-44:19']);
    });

    it('references list the declaration, the jump and every -A line of the chain', async () => {
      const pos = find(zt.lines, ':ztunnel-FORWARD', 3);
      const refs = await c.request('textDocument/references', { textDocument: { uri: zt.uri }, position: pos, context: { includeDeclaration: true } });
      assert.deepEqual(refs.map((l: any) => at(l.range)), ['7:1-7:16', '14:14-14:29', '17:3-17:18', '18:3-18:18']);
      const noDecl = await c.request('textDocument/references', { textDocument: { uri: zt.uri }, position: pos, context: { includeDeclaration: false } });
      assert.equal(noDecl.length, 3);
      const pre = await c.request('textDocument/references', { textDocument: { uri: zt.uri }, position: find(zt.lines, ':ztunnel-PREROUTING', 2, 0), context: { includeDeclaration: true } });
      assert.equal(pre.length, 1 + 1 + 15, 'mangle ztunnel-PREROUTING: declaration, one jump, 15 rules');
      assert.ok(pre.every((l: any) => l.range.start.line < 38), 'nothing from the nat table');
    });

    it('document highlight marks the declaration as write and uses as read', async () => {
      const hl = await c.request('textDocument/documentHighlight', { textDocument: { uri: zt.uri }, position: find(zt.lines, '-j ztunnel-FORWARD', 4) });
      assert.deepEqual(hl.map((h: any) => `${at(h.range)}/${h.kind}`), ['7:1-7:16/3', '14:14-14:29/2', '17:3-17:18/2', '18:3-18:18/2']);
    });

    it('rename rewrites every occurrence and the result parses clean; built-ins and clashes are refused', async () => {
      const pos = find(zt.lines, '-j ztunnel-FORWARD', 6);
      const prep = await c.request('textDocument/prepareRename', { textDocument: { uri: zt.uri }, position: pos });
      assert.equal(prep.placeholder, 'ztunnel-FORWARD');
      assert.equal(at(prep.range), '14:14-14:29');
      const we = await c.request('textDocument/rename', { textDocument: { uri: zt.uri }, position: pos, newName: 'zt-FWD' });
      const edits = we.changes[zt.uri];
      assert.equal(edits.length, 4);
      const renamed = applyEdits(zt.text, edits);
      assert.equal((renamed.match(/ztunnel-FORWARD/g) ?? []).length, 0);
      assert.equal((renamed.match(/zt-FWD/g) ?? []).length, 4);
      // The renamed document is still clean, and its chain still has its two rules.
      const uri = 'untitled:renamed.rules';
      const diags = c.waitDiagnostics(uri);
      await c.open(uri, renamed);
      // Same problems on the same lines (columns move where the shorter name was written).
      const codeLine = (d: { code: string; range: Range }) => `${d.code}@${d.range.start.line}`;
      const before = c.published.find((p) => p.uri === zt.uri)!.diagnostics.map(codeLine);
      assert.deepEqual((await diags).diagnostics.map(codeLine), before, 'the rename introduces no problem');
      const h = await c.request('textDocument/hover', { textDocument: { uri }, position: find(renamed.split('\n'), '-j zt-FWD', 4) });
      assert.match(h.contents.value, /\*\*chain zt-FWD\*\* — table mangle, user-defined chain/);
      assert.match(h.contents.value, /\n2 rules\./);

      await assert.rejects(
        c.request('textDocument/rename', { textDocument: { uri: zt.uri }, position: find(zt.lines, '-A PREROUTING', 4), newName: 'X' }),
        /built-in chain/,
      );
      await assert.rejects(
        c.request('textDocument/rename', { textDocument: { uri: zt.uri }, position: pos, newName: 'ztunnel-INPUT' }),
        /already has a chain "ztunnel-INPUT"/,
      );
      await assert.rejects(
        c.request('textDocument/rename', { textDocument: { uri: zt.uri }, position: pos, newName: 'a-name-that-is-longer-than-28-chars' }),
        /at most 28/,
      );
    });

    it('iptables -S: -N declarations, jumps from two chains, definition and references', async () => {
      const pos = find(istio.lines, '-j ISTIO_IN_REDIRECT', 5, 0);
      const def = await c.request('textDocument/definition', { textDocument: { uri: istio.uri }, position: pos });
      assert.deepEqual(def.map((l: any) => at(l.range)), ['22:3-22:20']);
      const refs = await c.request('textDocument/references', { textDocument: { uri: istio.uri }, position: pos, context: { includeDeclaration: true } });
      assert.deepEqual(refs.map((l: any) => l.range.start.line), [22, 35, 36, 39, 42]);
    });
  });

  describe('symbols and folding', () => {
    it('document symbols: table → chain → rule', async () => {
      const syms = await c.request('textDocument/documentSymbol', { textDocument: { uri: zt.uri } });
      assert.deepEqual(syms.map((s: any) => s.name), ['mangle', 'nat']);
      const mangle = syms[0];
      assert.equal(mangle.kind, 3);
      assert.deepEqual(mangle.children.map((s: any) => s.name), [
        'PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING',
        'ztunnel-FORWARD', 'ztunnel-INPUT', 'ztunnel-OUTPUT', 'ztunnel-POSTROUTING', 'ztunnel-PREROUTING',
      ]);
      const pre = mangle.children.find((s: any) => s.name === 'ztunnel-PREROUTING');
      assert.equal(pre.kind, 12);
      assert.equal(pre.children.length, 15);
      assert.equal(pre.children[0].name, '-A ztunnel-PREROUTING -i istioin -j MARK --set-xmark 0x200/0x200');
      assert.equal(at(pre.selectionRange), '11:1-11:19');
      // Every child lies inside its parent (the outline and breadcrumbs rely on it).
      const inside = (a: Range, b: Range) => (a.start.line > b.start.line || (a.start.line === b.start.line && a.start.character >= b.start.character))
        && (a.end.line < b.end.line || (a.end.line === b.end.line && a.end.character <= b.end.character));
      for (const t of syms) for (const ch of t.children) {
        assert.ok(inside(ch.range, t.range), `${ch.name} inside ${t.name}`);
        assert.ok(inside(ch.selectionRange, ch.range), `${ch.name} selection inside range`);
        for (const r of ch.children) assert.ok(inside(r.range, ch.range), `rule inside ${ch.name}`);
      }
    });

    it('workspace symbols find chains of every open document with their table', async () => {
      const ws = await c.request('workspace/symbol', { query: 'ztunnel-pre' });
      const fromZt = ws.filter((s: any) => s.location.uri === zt.uri).map((s: any) => `${s.containerName}/${s.name}@${s.location.range.start.line}`);
      assert.deepEqual(fromZt.sort(), ['mangle/ztunnel-PREROUTING@11', 'nat/ztunnel-PREROUTING@44']);
      const istioSyms = await c.request('workspace/symbol', { query: 'istio_in' });
      assert.deepEqual(istioSyms.map((s: any) => s.name).sort(), ['ISTIO_INBOUND', 'ISTIO_IN_REDIRECT']);
    });

    it('folding: each table up to its COMMIT, and runs of rules of one chain', async () => {
      const f = await c.request('textDocument/foldingRange', { textDocument: { uri: zt.uri } });
      const got = f.map((x: any) => `${x.startLine}-${x.endLine}`);
      for (const want of ['1-37', '38-49', '17-18', '22-36']) assert.ok(got.includes(want), `${want} in ${got}`);
    });
  });

  describe('completion', () => {
    async function complete(uri: string, text: string, line: number): Promise<string[]> {
      await c.change(uri, ++version, text);
      const lines = text.split('\n');
      const r = await c.request('textDocument/completion', { textDocument: { uri }, position: { line, character: lines[line].length } });
      return (Array.isArray(r) ? r : r.items).map((i: any) => i.label);
    }
    let version = 1;

    it('after -j: the chains of the rule\'s table, then targets', async () => {
      const uri = 'untitled:complete.rules';
      await c.open(uri, zt.text);
      const lines = zt.text.split('\n');
      const natLine = lines.indexOf(':ztunnel-PREROUTING - [0:0]', 40);
      lines.splice(natLine + 1, 0, '-A PREROUTING -p tcp -j ');
      const labels = await complete(uri, lines.join('\n'), natLine + 1);
      assert.ok(labels.includes('ztunnel-POSTROUTING'));
      assert.ok(!labels.includes('ztunnel-FORWARD'), 'mangle-only chain not offered in nat');
      assert.ok(!labels.includes('PREROUTING'), 'no jumps to built-in chains');
      for (const t of ['ACCEPT', 'DNAT', 'MARK', 'CONNMARK']) assert.ok(labels.includes(t), t);
      const g = lines.slice();
      g[natLine + 1] = '-A PREROUTING -g ';
      const gl = await complete(uri, g.join('\n'), natLine + 1);
      assert.deepEqual(gl.sort(), ['ztunnel-POSTROUTING', 'ztunnel-PREROUTING']);
    });

    it('after -m, -p, --ctstate (after a comma) and -A', async () => {
      const uri = 'untitled:complete.rules';
      const lines = zt.text.split('\n');
      lines.splice(20, 0, '-A ztunnel-INPUT -m ');
      const mods = await complete(uri, lines.join('\n'), 20);
      for (const m of ['mark', 'connmark', 'conntrack', 'owner', 'set']) assert.ok(mods.includes(m), m);
      lines[20] = '-A ztunnel-INPUT -p ';
      assert.ok((await complete(uri, lines.join('\n'), 20)).includes('udp'));
      lines[20] = '-A ztunnel-INPUT -m conntrack --ctstate NEW,';
      const states = await complete(uri, lines.join('\n'), 20);
      assert.ok(states.includes('ESTABLISHED') && states.includes('RELATED'));
      assert.ok(!states.includes('NEW'), 'NEW already listed');
      lines[20] = '-A ';
      const chains = await complete(uri, lines.join('\n'), 20);
      assert.ok(chains.includes('ztunnel-INPUT') && chains.includes('PREROUTING'));
    });
  });

  describe('hover with the mark arithmetic worked out', () => {
    async function hoverAt(needle: string, offset: number, nth = 0, doc = zt): Promise<string> {
      const h = await c.request('textDocument/hover', { textDocument: { uri: doc.uri }, position: find(doc.lines, needle, offset, nth) });
      assert.ok(h, `hover at ${needle}`);
      assert.equal(h.contents.kind, 'markdown');
      return h.contents.value;
    }

    it('--set-xmark 0x220/0xffffffff overwrites the whole mark', async () => {
      const md = await hoverAt('--set-xmark 0x220/0xffffffff', 14);
      assert.match(md, /mark = \(mark AND NOT 0xffffffff\) XOR 0x220/);
      assert.match(md, /In words: overwrites the whole mark with 0x220\./);
      assert.match(md, /\| set to 1 \| 0x220 \|/);
      assert.match(md, /\| cleared to 0 \| 0xfffffddf \|/);
      assert.match(md, /\| 0x0 \| 0x220 \|/);
      assert.match(md, /\| 0x10 \| 0x220 \|/);
      assert.match(md, /\| 0xffffffff \| 0x220 \|/);
    });

    it('--set-xmark 0x200/0x200 sets bit 0x200: 0x0 → 0x200, 0x10 → 0x210; who sets and tests bit 0x200', async () => {
      const md = await hoverAt('--set-xmark 0x200/0x200', 3);
      assert.match(md, /mark = \(mark AND NOT 0x200\) XOR 0x200/);
      assert.match(md, /In words: sets bit 0x200, leaves all other bits\./);
      assert.match(md, /\| set to 1 \| 0x200 \|/);
      assert.match(md, /\| kept \| 0xfffffdff \|/);
      assert.match(md, /\| 0x0 \| 0x200 \|/);
      assert.match(md, /\| 0x10 \| 0x210 \|/);
      const bit = md.slice(md.indexOf('**Bit 0x200 of the packet mark**'));
      const setBy = /- set by: (.*)/.exec(bit)![1];
      const testedBy = /- tested by: (.*)/.exec(bit)![1];
      const lines = (s: string) => [...s.matchAll(/\[line (\d+)\]\(([^#)]+)#L\d+/g)].map((m) => Number(m[1]));
      // Rules that give bit 0x200 a 1 (0x220/0xffffffff, 0x200/0x200 ×3, 0x210/0x210, 0x220/0x220 ×2).
      assert.deepEqual(lines(setBy), [22, 23, 25, 28, 32, 34, 35]);
      // Rules whose -m mark mask covers 0x200.
      assert.deepEqual(lines(testedBy), [18, 19, 20, 21, 29, 33, 36]);
      assert.ok(bit.includes(`](${zt.uri}#L23`), 'links point into the document');
    });

    it('--set-xmark 0x40/0x40 on the target name as well', async () => {
      const md = await hoverAt('-j MARK --set-xmark 0x40/0x40', 4);
      assert.match(md, /In words: sets bit 0x40, leaves all other bits\./);
      assert.match(md, /\| 0x10 \| 0x50 \|/);
    });

    it('CONNMARK --save-mark --nfmask 0x220 --ctmask 0x220', async () => {
      const md = await hoverAt('--save-mark --nfmask 0x220 --ctmask 0x220', 15);
      assert.match(md, /ctmark = \(ctmark AND NOT 0x220\) XOR \(mark AND 0x220\)/);
      assert.match(md, /copies bits 0x220 of the packet mark into the conntrack mark, leaves all other bits/);
      assert.match(md, /\| 0x230 \| 0x0 \| 0x220 \|/);
      assert.match(md, /\| 0x0 \| 0x230 \| 0x10 \|/);
      assert.match(md, /\*\*Bit 0x20 of the conntrack mark\*\* in this file:\n- copied in by: \[line 18\][^\n]*\[line 20\]/);
    });

    it('-m mark --mark 0x100/0x100 and -m connmark --mark 0x210/0x210 as formula and words', async () => {
      const md = await hoverAt('-m mark --mark 0x100/0x100', 10);
      assert.match(md, /\(mark AND 0x100\) == 0x100/);
      assert.match(md, /In words: matches when bit 0x100 of the packet mark is set, whatever the other bits are\./);
      assert.match(md, /- set by: \[line 37\]/);
      assert.match(md, /- cleared by: \[line 22\]/);
      const ct = await hoverAt('-m connmark --mark 0x210/0x210', 13);
      assert.match(ct, /\(ctmark AND 0x210\) == 0x210/);
      assert.match(ct, /matches when bits 0x210 of the conntrack mark are all set/);
      assert.match(ct, /\| 0x200 \| no \|/);
      assert.match(ct, /\| 0x210 \| yes \|/);
    });

    it('a ruleset inside a node profile: the mark hover adds where the mark routes, definition reaches the ip rule', async () => {
      // examples/seed000-node/node.nflens-node names the ztunnel ruleset (issue 6's routing IDE layer).
      const pos = find(zt.lines, '-i istioin -j MARK --set-xmark 0x200/0x200', 22);
      const h = await c.request('textDocument/hover', { textDocument: { uri: zt.uri }, position: pos });
      const [ours, routing] = h.contents.value.split('\n\n---\n\n');
      assert.match(ours, /sets bit 0x200, leaves all other bits/);
      assert.match(routing, /^\*\*Routing\*\* — node profile \[node\.nflens-node\]/);
      assert.match(routing, /bit 0x200 → ip rule 100/);
      const defs = await c.request('textDocument/definition', { textDocument: { uri: zt.uri }, position: pos });
      assert.ok(defs.some((l: any) => l.uri.endsWith('/examples/seed000-node/ip-rule.txt') && l.range.start.line === 1), JSON.stringify(defs));
      // A ruleset outside any profile has no routing section.
      const other = await c.request('textDocument/hover', { textDocument: { uri: istio.uri }, position: find(istio.lines, '-j ISTIO_OUTPUT', 5) });
      assert.ok(!other.contents.value.includes('**Routing**'));
    });

    it('the MARK and CONNMARK shorthands and negated or impossible tests', async () => {
      const uri = 'untitled:shorthands.rules';
      const text = [
        '*mangle',
        ':PREROUTING ACCEPT [0:0]',
        '-A PREROUTING -i a -j MARK --set-mark 0x1/0x3',
        '-A PREROUTING -i b -j MARK --and-mark 0xff',
        '-A PREROUTING -i c -j MARK --or-mark 0x4',
        '-A PREROUTING -i d -j MARK --xor-mark 0x8',
        '-A PREROUTING -i e -j CONNMARK --restore-mark --mask 0xff',
        '-A PREROUTING -i f -j CONNMARK --set-xmark 0x1/0x1',
        '-A PREROUTING -m mark ! --mark 0x1/0x1 -j ACCEPT',
        '-A PREROUTING -m mark --mark 0x3/0x1 -j ACCEPT',
        'COMMIT',
        '',
      ].join('\n');
      await c.open(uri, text);
      const lines = text.split('\n');
      const h = async (needle: string, off = 3) => {
        const r = await c.request('textDocument/hover', { textDocument: { uri }, position: find(lines, needle, off) });
        assert.ok(r, needle);
        return r.contents.value as string;
      };
      const set = await h('--set-mark 0x1/0x3');
      assert.match(set, /mark = \(mark AND NOT 0x3\) XOR 0x1/);
      assert.match(set, /The same as `MARK --set-xmark 0x1\/0x3`/);
      assert.match(set, /In words: sets bit 0x1, clears bit 0x2, leaves all other bits\./);
      assert.match(set, /\| 0x10 \| 0x11 \|/);
      assert.match(set, /\| 0xffffffff \| 0xfffffffd \|/);
      const and = await h('--and-mark 0xff');
      assert.match(and, /mark = \(mark AND NOT 0xffffff00\) XOR 0x0/);
      assert.match(and, /clears bits 0xffffff00, leaves all other bits/);
      assert.match(and, /\| 0xffffffff \| 0xff \|/);
      assert.match(await h('--or-mark 0x4'), /sets bit 0x4, leaves all other bits[^]*\| 0x10 \| 0x14 \|/);
      const xor = await h('--xor-mark 0x8');
      assert.match(xor, /mark = \(mark AND NOT 0x0\) XOR 0x8/);
      assert.match(xor, /toggles bit 0x8, leaves all other bits[^]*\| 0xffffffff \| 0xfffffff7 \|/);
      const restore = await h('--restore-mark --mask 0xff', 18);
      assert.match(restore, /^\*\*CONNMARK --restore-mark --mask 0xff\*\*/);
      assert.match(restore, /mark = \(mark AND NOT 0xff\) XOR \(ctmark AND 0xff\)/);
      assert.match(restore, /copies bits 0xff of the conntrack mark into the packet mark, leaves all other bits/);
      assert.match(await h('CONNMARK --set-xmark 0x1/0x1', 12), /ctmark = \(ctmark AND NOT 0x1\) XOR 0x1[^]*sets bit 0x1, leaves all other bits/);
      const neg = await h('! --mark 0x1/0x1', 4);
      assert.match(neg, /\(mark AND 0x1\) != 0x1/);
      assert.match(neg, /matches unless bit 0x1 of the packet mark is set/);
      assert.match(await h('--mark 0x3/0x1'), /never matches: 0x3 has bits outside the mask 0x1/);
    });

    it('chains: declaration, rule count, callers', async () => {
      const md = await hoverAt('-j ztunnel-PREROUTING', 6, 0);
      assert.match(md, /\*\*chain ztunnel-PREROUTING\*\* — table mangle, user-defined chain/);
      assert.match(md, /Declared at \[line 12\]/);
      assert.match(md, /\n15 rules\./);
      assert.match(md, /Jumped to from 1 place:\n- jump from \[line 13\]\([^)]*\) \(PREROUTING\): `-A PREROUTING -j ztunnel-PREROUTING`/);
      const b = await hoverAt(':PREROUTING', 3, 1);
      assert.match(b, /\*\*chain PREROUTING\*\* — table nat, built-in chain/);
      assert.match(b, /hook prerouting, priority -100; policy ACCEPT\./);
      const redirect = await hoverAt('-N ISTIO_IN_REDIRECT', 5, 0, istio);
      assert.match(redirect, /Jumped to from 3 places:/);
    });

    it('other modules, options and targets: the knowledge base\'s doc line, or "not in the knowledge base"', async () => {
      assert.equal(await hoverAt('-m owner --uid-owner', 4, 0, istio), `**-m owner**\n\n${extensionDoc('owner', false)}`);
      assert.equal(await hoverAt('--uid-owner 1337', 3, 0, istio), `**-m owner --uid-owner**\n\n${extensionOptionDoc('owner', 'uid-owner', false)}`);
      assert.equal(await hoverAt('-j REDIRECT', 5, 0, istio), `**REDIRECT**\n\n${extensionDoc('REDIRECT', true)}`);
      assert.equal(await hoverAt('-j CT --zone 1', 9, 0, istio), `**CT --zone**\n\n${extensionOptionDoc('CT', 'zone', true)}`);
      const uri = 'untitled:unknown.rules';
      const text = '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m nosuchmodule --foo 1 -j ACCEPT\nCOMMIT\n';
      await c.open(uri, text);
      const h = await c.request('textDocument/hover', { textDocument: { uri }, position: { line: 2, character: 14 } });
      assert.equal(h.contents.value, 'match module `nosuchmodule`: not in the knowledge base.');
    });

    it('option completion comes from the knowledge base for the modules on the line', async () => {
      const uri = 'untitled:options.rules';
      const text = '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m conntrack --ct\nCOMMIT\n';
      await c.open(uri, text);
      const r = await c.request('textDocument/completion', { textDocument: { uri }, position: { line: 2, character: 34 } });
      const labels = (Array.isArray(r) ? r : r.items).map((i: any) => i.label);
      assert.deepEqual(labels, extensionOptionFlags('conntrack', false).filter((f) => f.startsWith('--ct')));
      assert.ok(labels.includes('--ctstate'));
    });
  });

  it('answers hover, definition and completion at every position of the seeds, whole and cut mid-line', async () => {
    const cut = zt.lines.map((l, i) => (i % 3 === 1 ? l.slice(0, Math.floor(l.length / 2)) : l)).join('\n');
    const docs = [
      { uri: zt.uri, lines: zt.lines },
      { uri: istio.uri, lines: istio.lines },
      { uri: 'untitled:cut.rules', lines: cut.split('\n') },
    ];
    await c.open('untitled:cut.rules', cut);
    let n = 0, hovers = 0;
    for (const d of docs) {
      for (let line = 0; line < d.lines.length; line++) {
        for (let character = 0; character <= d.lines[line].length; character += 2) {
          const p = { textDocument: { uri: d.uri }, position: { line, character } };
          const [h] = await Promise.all([c.request('textDocument/hover', p), c.request('textDocument/definition', p), c.request('textDocument/completion', p)]);
          if (h) hovers++;
          n++;
        }
      }
    }
    assert.ok(n > 2000, `${n} positions`);
    assert.ok(hovers > n / 4, `${hovers} of ${n} positions have a hover`);
  });

  it('semantic tokens: chain declarations, uses, modules, verdicts', async () => {
    const legend = { types: ['namespace', 'function', 'keyword', 'type', 'parameter', 'number', 'macro', 'variable', 'string'], mods: ['declaration', 'defaultLibrary', 'modification'] };
    const r = await c.request('textDocument/semanticTokens/full', { textDocument: { uri: zt.uri } });
    const toks: string[] = [];
    let line = 0, ch = 0;
    for (let i = 0; i < r.data.length; i += 5) {
      const [dl, dc, len, type, mods] = r.data.slice(i, i + 5);
      line += dl;
      ch = dl ? dc : ch + dc;
      const m = legend.mods.filter((_, k) => mods & (1 << k));
      toks.push(`${line}:${ch}:${zt.lines[line].slice(ch, ch + len)}:${legend.types[type]}${m.length ? '.' + m.join('.') : ''}`);
    }
    for (const want of [
      '1:1:mangle:namespace.declaration',
      '7:1:ztunnel-FORWARD:function.declaration',
      '2:1:PREROUTING:function.declaration.defaultLibrary',
      '14:14:ztunnel-FORWARD:function',
      '17:3:ztunnel-FORWARD:function',
      '17:22:mark:type',
      '17:27:--mark:parameter',
      '17:34:0x220/0x220:number',
      `26:${zt.lines[26].indexOf('RETURN')}:RETURN:keyword`,
    ]) assert.ok(toks.includes(want), `${want} in\n${toks.slice(0, 40).join('\n')}`);
  });
});
