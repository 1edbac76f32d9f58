// Protocol tests for "Simulate packet from here" (issue 5): the code lenses above every rule and chain
// declaration, and the `nflens/simulate` request walking the open document from a rule.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ensureBuilt, LspClient } from './lsp-client';

const ZT = 'examples/ztunnel-ambient.rules';
const WAN = 'examples/multi-wan.nft';

interface Lens { range: { start: { line: number; character: number } }; command: { title: string; command: string; arguments: [{ uri: string; line: number }] } }

describe('simulate lens and nflens/simulate over stdio', () => {
  let c: LspClient;
  let zt: { uri: string; text: string; lines: string[] };
  let wan: { uri: string; text: string; lines: string[] };

  before(async () => {
    ensureBuilt();
    c = new LspClient();
    const init = await c.initialize();
    assert.ok(init.capabilities.codeLensProvider, 'code lens capability announced');
    zt = c.openFile(ZT);
    wan = c.openFile(WAN, 'nftables');
  });

  after(async () => {
    await c?.shutdown();
  });

  it('puts one lens above every rule (-A) and every chain declaration (:NAME) of the iptables-save seed', async () => {
    const lenses = await c.request<Lens[]>('textDocument/codeLens', { textDocument: { uri: zt.uri } });
    const expected = zt.lines.flatMap((l, i) => (l.startsWith('-A ') || l.startsWith(':') ? [i] : []));
    assert.equal(expected.length, 29 + 16, '29 rules and 16 chains in the seed');
    assert.deepEqual(lenses.map((l) => l.range.start.line), expected);
    for (const l of lenses) {
      assert.equal(l.command.title, 'Simulate packet from here');
      assert.equal(l.command.command, 'nflens.simulateFromHere');
      assert.deepEqual(l.command.arguments, [{ uri: zt.uri, line: l.range.start.line }]);
    }
  });

  it('puts lenses above the nft chains and rules', async () => {
    const lenses = await c.request<Lens[]>('textDocument/codeLens', { textDocument: { uri: wan.uri } });
    const lines = lenses.map((l) => l.range.start.line);
    const chainLines = wan.lines.flatMap((l, i) => (/^\s*chain\s+\S+\s*\{/.test(l) ? [i] : []));
    assert.ok(chainLines.length >= 4);
    for (const i of chainLines) assert.ok(lines.includes(i), `lens on chain line ${i + 1}: ${wan.lines[i]}`);
    // Rules: lines inside a chain that are neither its `type ... hook` header nor braces/comments.
    const ruleLine = wan.lines.findIndex((l) => l.includes('iifname "wan1" ct state new ct mark set 2'));
    assert.ok(lines.includes(ruleLine), 'lens on a rule');
    assert.ok(!lines.includes(wan.lines.findIndex((l) => l.includes('type filter hook prerouting'))), 'no lens on a chain header statement');
  });

  it('walks from rule 34 (-i vethfe50c7fb -j MARK 0x220/0x220) with the witness it proposes', async () => {
    const r = await c.request('nflens/simulate', { uri: zt.uri, line: 33 });
    // The witness satisfies the rule's only match: it arrives on the pod's veth with mark 0.
    assert.match(r.packetIn, /\biif vethfe50c7fb\b/);
    assert.equal(r.witness.packet, r.packetIn);
    assert.equal(r.witness.exact, true);
    assert.deepEqual(r.start, { table: 'mangle', family: 'ip', chain: 'ztunnel-PREROUTING', ruleIndex: 11, line: 34 });
    // Worked out from the rules: 34 sets 0x220 (mark 0|0x220); 35 (-p udp) fails on tcp; 36 matches
    // (0x220 & 0x200 = 0x200) and RETURNs to the PREROUTING policy; nat 46 jumps, 49 fails
    // (0x220 & 0x100 = 0); forwarded: 15 jumps, 18 matches (0x220 & 0x220) and saves the mark into the
    // ct mark under mask 0x220 -> ct mark 0x220; 19 fails (0x220 & 0x210 = 0x200); POSTROUTING 17 and
    // nat 47 jump, 48 fails; every policy is ACCEPT.
    assert.equal(r.verdict, 'ACCEPT');
    const rules = r.steps.filter((s: any) => s.kind === 'rule');
    assert.deepEqual(rules.filter((s: any) => s.result === 'match').map((s: any) => s.line), [34, 36, 46, 15, 18, 17, 47]);
    assert.deepEqual(rules.filter((s: any) => s.result === 'nomatch').map((s: any) => `${s.line}:${s.failed}`), ['35:-p udp', '49:--mark 0x100/0x100', '19:--mark 0x210/0x210', '48:--mark 0x100/0x100']);
    assert.equal(rules.find((s: any) => s.line === 34).mark, '0x220');
    assert.equal(rules.find((s: any) => s.line === 18).ctmark, '0x220');
    assert.equal(rules.find((s: any) => s.line === 15).ctmark, '0x0', 'ct mark untouched before the CONNMARK');
    assert.deepEqual(r.path, ['prerouting', 'forward', 'postrouting']);
    assert.equal(r.packet.mark, '0x220');
    assert.equal(r.packet.ctmark, '0x220');
  });

  it('walks a packet the user typed from the first hook (fromStart)', async () => {
    const packet = 'tcp 10.244.0.3:40000 -> 10.96.0.10:80 iif istioin';
    const r = await c.request('nflens/simulate', { uri: zt.uri, line: 33, packet, fromStart: true });
    assert.equal(r.packetIn, packet);
    // From PREROUTING: 13 jumps, 23 marks 0x200 (istioin), 24 RETURNs; rule 34 is never reached.
    const matched = r.steps.filter((s: any) => s.kind === 'rule' && s.result === 'match').map((s: any) => s.line);
    assert.deepEqual(matched.slice(0, 3), [13, 23, 24]);
    assert.ok(!r.steps.some((s: any) => s.line === 34));
    assert.equal(r.packet.mark, '0x200');
    assert.equal(r.packet.ctmark, '0x0', 'mark 0x200 has neither 0x220 nor 0x210: no CONNMARK save');
  });

  it('answers errors for a line without a rule and for a bad packet, and keeps serving', async () => {
    await assert.rejects(c.request('nflens/simulate', { uri: zt.uri, line: 0 }), /holds no rule or chain/);
    await assert.rejects(c.request('nflens/simulate', { uri: zt.uri, line: 33, packet: 'tcp nowhere' }), /bad packet/);
    await assert.rejects(c.request('nflens/simulate', { uri: 'file:///nope.rules' }), /not an open ruleset/);
    const r = await c.request('nflens/simulate', { uri: zt.uri });
    assert.equal(r.packetIn, 'tcp 192.0.2.10:40000 -> 198.51.100.10:80 iif eth0');
    assert.equal(r.start, undefined);
    assert.ok(r.steps.length > 0);
  });
});
