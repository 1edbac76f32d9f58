// Placement through user chains: the hooks reaching a chain decide what its rules may do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diags, codes, linesOf, save } from './helpers';

test('MASQUERADE in a user chain reached from PREROUTING and POSTROUTING is refused, with the path', () => {
  const ds = diags(save('nat', ['X'], ['-A PREROUTING -j X', '-A POSTROUTING -j X', '-A X -j MASQUERADE']));
  const w = codes(ds, 'wrong-hook');
  assert.equal(w.length, 1);
  assert.equal(w[0].severity, 'error');
  assert.equal(w[0].range.start.line + 1, 9);
  assert.match(w[0].message, /PREROUTING → X/);
  assert.equal(w[0].related?.length, 1);
  assert.equal(w[0].related![0].range.start.line + 1, 7);
});

test('the same chain reached only from POSTROUTING is fine; two jumps deep is followed', () => {
  assert.deepEqual(codes(diags(save('nat', ['X'], ['-A POSTROUTING -j X', '-A X -j MASQUERADE'])), 'wrong-hook'), []);
  const ds = diags(save('nat', ['X', 'Y'], ['-A PREROUTING -j X', '-A X -g Y', '-A Y -p tcp -j SNAT --to-source 10.0.0.1']));
  assert.match(codes(ds, 'wrong-hook')[0].message, /PREROUTING → X → Y/);
});

test('DNAT in a filter user chain nobody jumps to is still refused (the table check needs no hook)', () => {
  const ds = diags(save('filter', ['X'], ['-A X -p tcp -j DNAT --to-destination 10.0.0.1']));
  assert.ok(ds.some((d) => d.severity === 'error' && (d.code === 'wrong-table' || d.code === 'table-mismatch')), JSON.stringify(ds));
  assert.equal(codes(ds, 'unused-chain').length, 1);
});

test('-m owner through a user chain reached from INPUT is an error; from OUTPUT it is fine', () => {
  assert.deepEqual(linesOf(diags(save('filter', ['X'], ['-A INPUT -j X', '-A OUTPUT -j X', '-A X -m owner --uid-owner 0 -j ACCEPT'])), 'wrong-hook'), [8]);
  assert.deepEqual(codes(diags(save('filter', ['X'], ['-A OUTPUT -j X', '-A X -m owner --uid-owner 0 -j ACCEPT'])), 'wrong-hook'), []);
});

test('-o in a user chain reached only from INPUT loads but never matches: a warning, not an error', () => {
  const ds = diags(save('filter', ['X'], ['-A INPUT -j X', '-A X -o lo -j ACCEPT']));
  const w = codes(ds, 'hook-never-matches');
  assert.equal(w.length, 1);
  assert.equal(w[0].severity, 'warning');
  assert.ok(!ds.some((d) => d.severity === 'error'));
  assert.match(codes(diags(save('filter', ['X'], ['-A INPUT -j X', '-A X ! -o lo -j ACCEPT'])), 'hook-never-matches')[0].message, /always holds/);
});

test('CT outside raw, REJECT in mangle, TPROXY outside mangle PREROUTING, via user chains', () => {
  // The rule builder reports the table itself (table-mismatch); we report it when it does not.
  const tableErr = (text: string) => diags(text).filter((d) => d.code === 'wrong-table' || d.code === 'table-mismatch');
  assert.equal(tableErr(save('mangle', ['X'], ['-A INPUT -j X', '-A X -j CT --notrack'])).length, 1);
  assert.equal(tableErr(save('mangle', ['X'], ['-A INPUT -j X', '-A X -j REJECT'])).length, 1);
  assert.ok(codes(diags(save('mangle', ['X'], ['-A INPUT -j X', '-A X -p tcp -j TPROXY --on-port 1 --tproxy-mark 0x1/0x1'])), 'wrong-hook').length === 1);
  assert.deepEqual(codes(diags(save('mangle', ['X'], ['-A PREROUTING -j X', '-A X -p tcp -j TPROXY --on-port 1 --tproxy-mark 0x1/0x1'])), 'wrong-hook'), []);
});

test('QUEUE is refused by the nf_tables backend', () => {
  assert.equal(codes(diags(save('filter', [], ['-A INPUT -j QUEUE'])), 'unsupported-target').length, 1);
});

test('unused and unreachable chains', () => {
  const ds = diags(save('filter', ['A', 'B', 'C'], ['-A INPUT -j C', '-A A -j B']));
  assert.deepEqual(codes(ds, 'unused-chain').map((d) => d.message.split(' ')[1]), ['A']);
  assert.deepEqual(codes(ds, 'unreachable-chain').map((d) => d.message.split(' ')[1]), ['B']);
});

test('undefined chain carries a quick fix declaring it', () => {
  const ds = diags(save('filter', [], ['-A INPUT -j NOPE']));
  const d = codes(ds, 'undefined-chain')[0] as { fixes?: { title: string; edits: { newText: string; range: { start: { line: number } } }[] }[] };
  assert.ok(d.fixes?.length);
  assert.equal(d.fixes![0].edits[0].newText, ':NOPE - [0:0]\n');
  assert.equal(d.fixes![0].edits[0].range.start.line, 4);
});

test('nft: iifname in a chain reached from output only is a warning; shared with prerouting, a hint; dnat needs a nat chain', () => {
  const nft = (hooks: string[], stmt: string) => `table ip t {\n${hooks.map((h, i) => `\tchain b${i} {\n\t\ttype nat hook ${h} priority -100; policy accept;\n\t\tjump sub\n\t}\n`).join('')}\tchain sub {\n\t\t${stmt}\n\t}\n}\n`;
  const only = codes(diags(nft(['output'], 'iifname "lo" return')), 'hook-never-matches');
  assert.deepEqual(only.map((d) => d.severity), ['warning']);
  const shared = codes(diags(nft(['prerouting', 'output'], 'iifname != "br0" tcp dport 80 dnat to 10.0.0.1')), 'hook-never-matches');
  assert.deepEqual(shared.map((d) => d.severity), ['hint']);
  assert.match(shared[0].message, /always holds/);
  const filterType = diags(`table ip t {\n\tchain c {\n\t\ttype filter hook prerouting priority 0; policy accept;\n\t\ttcp dport 80 dnat to 10.0.0.1\n\t}\n}\n`);
  assert.equal(codes(filterType, 'wrong-table').length, 1);
  const post = diags(`table ip t {\n\tchain c {\n\t\ttype filter hook postrouting priority 0; policy accept;\n\t\treject\n\t}\n}\n`);
  assert.equal(codes(post, 'wrong-hook').length, 1);
});
