// Where the seed 000 marks lead (the hover text of issue 6), MARK ↔ ip rule navigation, and the
// findings on ip rules (fwmark bits nobody sets, empty tables, gotos to nowhere).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describeIpRule, loadNodeProfile, markRoute, markWritesFromRuleset, parseIpRules, routingFindings, writesForRule } from '../../server/src/routing/index';
import { parseRuleset } from '../../server/src/parse';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const node = () => loadNodeProfile(join(repoRoot, 'examples/seed000-node/node.nflens-node'), (f) => readFileSync(f, 'utf8'));

test('hover text: where each seed 000 mark write sends the packet', () => {
  const cfg = node().routing;
  const s = (value: number, mask: number) => markRoute(cfg, { value, mask });
  const m100 = s(0x100, 0x100);
  assert.equal(m100.summary, 'bit 0x100 → ip rule 101 → table 101 → default via 192.168.127.2 dev istioout');
  assert.deepEqual(m100.caveats, ['ip rule 100 may match first: fwmark 0x200/0x200 reads bits 0x200 this write does not set']);
  assert.deepEqual(m100.readers.map((r) => `${r.rule.priority} ${r.verdict}`), ['100 depends', '101 matches', '102 depends']);
  assert.equal(m100.target?.routes.length, 2);
  assert.equal(s(0x40, 0x40).summary, 'bit 0x40 → ip rule 102 → table 102 → default via 10.244.0.3 dev vethfe50c7fb onlink');
  assert.equal(s(0x200, 0x200).summary, 'bit 0x200 → ip rule 100 goto 32766 → ip rule 32766 → table main → default via 172.18.0.1 dev eth0');
  // ztunnel-OUTPUT's --set-xmark 0x220/0xffffffff: the whole mark is known.
  const out = s(0x220, 0xffffffff);
  assert.equal(out.summary, 'mark 0x220 → ip rule 100 goto 32766 → ip rule 32766 → table main → default via 172.18.0.1 dev eth0');
  assert.deepEqual(out.readers.map((r) => r.verdict), ['matches', 'no', 'no']);
  assert.deepEqual(out.caveats, []);
  assert.equal(s(0x210, 0x210).summary, 'mark 0x210/0x210 → ip rule 100 goto 32766 → ip rule 32766 → table main → default via 172.18.0.1 dev eth0');
  // Clearing bits: a --set-xmark 0x0/0x300 leaves the packet to rule 102 or 103 depending on bit 0x40.
  const clr = s(0, 0x300);
  assert.deepEqual(clr.readers.map((r) => r.verdict), ['no', 'no', 'depends']);
  assert.equal(clr.summary, 'mark 0x0/0x300 → ip rule 103 → table 100 → 3 routes');
});

test('MARK writes of the ztunnel rules, and which of them can satisfy each ip rule', () => {
  const p = node();
  const rs = parseRuleset(p.ruleset!.text);
  const writes = markWritesFromRuleset(rs);
  assert.deepEqual(writes.map((w) => `${w.value.toString(16)}/${w.mask.toString(16)}`), ['220/ffffffff', '200/200', '200/200', '200/200', '40/40', '210/210', '220/220', '220/220', '100/100']);
  const byPrio = (n: number) => p.routing.rules.find((r) => r.priority === n)!;
  assert.deepEqual(writesForRule(byPrio(101), writes).map((w) => w.range!.start.line), [36]);
  assert.deepEqual(writesForRule(byPrio(102), writes).map((w) => w.range!.start.line), [29]);
  assert.deepEqual(writesForRule(byPrio(100), writes).map((w) => w.range!.start.line), [21, 22, 24, 27, 31, 33, 34]);
  assert.deepEqual(routingFindings(p.routing, writes), []);
});

test('findings: fwmark bits no rule sets, lookup of an empty table, goto to a missing priority', () => {
  const p = node();
  const writes = markWritesFromRuleset(parseRuleset(p.ruleset!.text));
  const extra = parseIpRules('104:\tfrom all fwmark 0x1000/0x1000 lookup 104\n105:\tfrom all goto 200\n106:\tnot from all fwmark 0x8000 lookup main\n');
  const cfg = { ...p.routing, rules: [...p.routing.rules, ...extra.value] };
  const f = routingFindings(cfg, writes);
  assert.deepEqual(f.map((d) => [d.code, d.range.start.line, d.range.start.character]), [
    ['lookup-empty-table', 0, 42], ['fwmark-never-set', 0, 21], ['goto-missing-priority', 1, 19],
  ]);
  assert.match(f[1].message, /0x1000/);
  // Without the ruleset's writes nothing can be said about fwmarks.
  assert.deepEqual(routingFindings(cfg).map((d) => d.code), ['lookup-empty-table', 'goto-missing-priority']);
  // A CONNMARK --restore-mark may bring any of its bits back from the ct mark.
  const restore = parseRuleset('*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j CONNMARK --restore-mark --nfmask 0xff00 --ctmask 0xff00\nCOMMIT\n');
  const w2 = markWritesFromRuleset(restore);
  assert.deepEqual(w2.map((w) => [w.mask, w.any]), [[0xff00, true]]);
  // With only that restore, 0x1000 can come back but 0x40 (ip rule 102, line 3 of ip-rule.txt) cannot.
  assert.deepEqual(routingFindings(cfg, w2).filter((d) => d.code === 'fwmark-never-set').map((d) => [d.range.start.line, d.message.match(/0x[0-9a-f]+/)![0]]), [[3, '0x40']]);
});

test('hover text for the seed 000 ip rules', () => {
  const cfg = node().routing;
  const at = (n: number) => describeIpRule(cfg, cfg.rules.find((r) => r.priority === n)!);
  assert.deepEqual(at(101), [
    'ip rule 101: packets with mark bits 0x100 set',
    'lookup table 101 (2 routes, longest prefix first); without a route for the destination the next rule is tried',
    '  10.244.0.3 dev vethfe50c7fb',
    '  default via 192.168.127.2 dev istioout',
  ]);
  assert.deepEqual(at(100), ['ip rule 100: packets with mark bits 0x200 set', 'goto 32766: continue at 32766: from all lookup main']);
  assert.equal(at(103)[0], 'ip rule 103: every packet');
  assert.equal(at(102)[3], '  default via 10.244.0.3 dev vethfe50c7fb onlink');
  assert.equal(at(32767)[1], 'lookup table default: no routes, the lookup always falls through to the next rule');
});
