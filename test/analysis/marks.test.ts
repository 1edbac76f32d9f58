// Mark/mask conflicts, clobbering writes, unused bits, connmark masks, and the per-bit map.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diags, codes, save } from './helpers';
import { parseRuleset } from '../../server/src/parse';
import { markMap, markMapText } from '../../server/src/analysis/mark-analysis';

type Fix = { title: string; edits: { newText: string }[] };

test('--mark V/M with bits of V outside M never matches: an error with two fixes', () => {
  const ds = diags(save('mangle', [], ['-A PREROUTING -m mark --mark 0x3/0x1 -j ACCEPT', '-A PREROUTING -j MARK --set-xmark 0x3/0x3']));
  const e = codes(ds, 'mark-mask-never-matches');
  assert.equal(e.length, 1);
  assert.equal(e[0].severity, 'error');
  const fixes = (e[0] as { fixes?: Fix[] }).fixes!;
  assert.deepEqual(fixes.map((f) => f.edits[0].newText), ['0x3/0x3', '0x3/0x3']);
  const ct = codes(diags(save('mangle', [], ['-A PREROUTING -m connmark ! --mark 0x10/0x1 -j ACCEPT'])), 'mark-mask-never-matches');
  assert.equal(ct[0].severity, 'warning');
  assert.match(ct[0].message, /always holds/);
});

test('--set-xmark V/M with V outside M toggles: warning; an explicit xor (mask 0) does not warn', () => {
  const ds = diags(save('mangle', [], ['-A PREROUTING -j MARK --set-xmark 0x6/0x2', '-A PREROUTING -j MARK --set-xmark 0x1/0x0', '-A PREROUTING -m mark --mark 0x7/0x7 -j ACCEPT']));
  const w = codes(ds, 'mark-xor-toggles');
  assert.equal(w.length, 1);
  assert.match(w[0].message, /0x4/);
  assert.equal((w[0] as { fixes?: Fix[] }).fixes![0].edits[0].newText, '0x6/0x6');
});

test('a whole-mark overwrite lists the bits other rules own', () => {
  const ds = diags(save('mangle', [], [
    '-A PREROUTING -i eth0 -j MARK --set-xmark 0x100/0x100',
    '-A OUTPUT -j MARK --set-mark 0x2',
    '-A POSTROUTING -m mark --mark 0x100/0x100 -j ACCEPT',
    '-A POSTROUTING -m mark --mark 0x2/0x2 -j ACCEPT',
  ]));
  const c = codes(ds, 'mark-clobber');
  assert.equal(c.length, 1);
  assert.equal(c[0].range.start.line + 1, 8); // the --set-mark 0x2 rule
  assert.match(c[0].message, /0x100/);
  assert.doesNotMatch(c[0].message, /bits 0x102/);
  assert.ok(c[0].related!.length >= 2);
});

test('bits tested but never set, set but never tested (hints)', () => {
  const ds = diags(save('mangle', [], ['-A PREROUTING -j MARK --set-xmark 0x1/0x1', '-A FORWARD -m mark --mark 0x3/0x3 -j ACCEPT', '-A FORWARD -j MARK --set-xmark 0x8/0x8']));
  assert.deepEqual(codes(ds, 'mark-bit-never-set').map((d) => d.message.match(/bit (0x\w+)/)![1]), ['0x2']);
  assert.deepEqual(codes(ds, 'mark-bit-never-tested').map((d) => d.message.match(/bit (0x\w+)/)![1]), ['0x8']);
});

test('CONNMARK --save-mark whose masks miss a bit tested on the ct mark later', () => {
  const ds = diags(save('mangle', [], [
    '-A FORWARD -j MARK --set-xmark 0x30/0x30',
    '-A FORWARD -j CONNMARK --save-mark --nfmask 0x10 --ctmask 0x10',
    '-A PREROUTING -m connmark --mark 0x20/0x20 -j ACCEPT',
    '-A PREROUTING -m connmark --mark 0x10/0x10 -j ACCEPT',
  ]));
  const w = codes(ds, 'connmark-mask-misses');
  assert.equal(w.length, 1);
  assert.match(w[0].message, /0x20/);
  assert.equal(w[0].range.start.line + 1, 8);
});

test('the mark map lists who sets, clears and tests each bit', () => {
  const rs = parseRuleset(save('mangle', [], ['-A PREROUTING -j MARK --set-xmark 0x210/0x210', '-A PREROUTING -m mark --mark 0x200/0x200 -j RETURN', '-A OUTPUT -j MARK --set-xmark 0x220/0xffffffff']));
  const map = markMap(rs);
  const b200 = map.mark.find((e) => e.hex === '0x200')!;
  assert.deepEqual(b200.uses.map((u) => u.role).sort(), ['set', 'set', 'test']);
  const b100 = map.mark.find((e) => e.hex === '0x100')!;
  assert.deepEqual(b100.uses.map((u) => u.role), ['clear']);
  assert.equal(map.mark.length, 32);
  assert.match(markMapText(map), /0x200 +set: PREROUTING rule 1 \(line 7\), OUTPUT rule 1 \(line 9\); test: PREROUTING rule 2 \(line 8\)/);
});

test('ip rule fwmark selectors count as readers of mark bits (seed 000 node: ip rule with the ztunnel rules)', async () => {
  const { readFileSync } = await import('node:fs');
  const { fileURLToPath } = await import('node:url');
  const { parseIpRules } = await import('../../server/src/syntax/iproute-parser');
  const { analyzeMarks, ipRuleMarkOps, markMap } = await import('../../server/src/analysis/mark-analysis');
  const ex = (f: string) => readFileSync(fileURLToPath(new URL(`../../examples/${f}`, import.meta.url)), 'utf8');
  const rules = parseIpRules(ex('seed000-node/ip-rule.txt')).value;
  const external = ipRuleMarkOps(rules);
  assert.deepEqual(external.map((o) => (o.kind === 'test' ? `${o.value}/${o.mask}` : '')), ['512/512', '256/256', '64/64']);
  const rs = parseRuleset(ex('ztunnel-ambient.rules'));
  const clobber = analyzeMarks(rs, { external }).filter((d) => d.code === 'mark-clobber');
  assert.equal(clobber.length, 1);
  assert.match(clobber[0].message, /0x100: [^;]*tested by ip rule 101 \(fwmark 0x100\/0x100\)/);
  assert.match(clobber[0].message, /0x40: [^;]*tested by ip rule 102/);
  // Related information stays inside the ruleset file.
  assert.ok(clobber[0].related!.length > 0 && clobber[0].related!.every((r) => !external.some((e) => e.range === r.range)));
  // A bit set only for routing: without the ip rules it is "set but never tested"; with them it is read.
  const only = parseRuleset(save('mangle', [], ['-A PREROUTING -i eth1 -j MARK --set-xmark 0x40/0x40', '-A PREROUTING -m mark --mark 0x1/0x1 -j ACCEPT', '-A PREROUTING -j MARK --set-xmark 0x1/0x1']));
  assert.equal(analyzeMarks(only).filter((d) => d.code === 'mark-bit-never-tested').length, 1);
  assert.equal(analyzeMarks(only, { external }).filter((d) => d.code === 'mark-bit-never-tested').length, 0);
  const map = markMap(only, [...(await import('../../server/src/analysis/mark-analysis')).markOps(only), ...external]);
  assert.ok(map.mark.find((e) => e.hex === '0x40')!.uses.some((u) => u.role === 'test' && u.op.rule.table === 'ip rule'));
});
