// Conntrack tests before conntrack: raw table and nft prerouting/output chains below -200 only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diags, codes, save } from './helpers';

test('raw table: ctstate, connmark and CONNMARK are flagged; mangle is not', () => {
  const raw = diags(save('raw', [], ['-A PREROUTING -m conntrack --ctstate NEW -j ACCEPT', '-A OUTPUT -m connmark --mark 0x1/0x1 -j ACCEPT', '-A OUTPUT -j CONNMARK --set-xmark 0x1/0x1', '-A OUTPUT -p udp -j CT --zone 1']));
  assert.deepEqual(codes(raw, 'before-conntrack').map((d) => d.range.start.line + 1), [4, 5, 6]);
  assert.deepEqual(codes(diags(save('mangle', [], ['-A PREROUTING -m conntrack --ctstate NEW -j ACCEPT'])), 'before-conntrack'), []);
});

test('nft: only prerouting/output chains below -200; input at -225 already has the entry; ct helper assignment is meant for raw', () => {
  const nft = (hook: string, prio: string, stmt: string) => `table inet t {\n\tchain c {\n\t\ttype filter hook ${hook} priority ${prio}; policy accept;\n\t\t${stmt}\n\t}\n}\n`;
  assert.equal(codes(diags(nft('prerouting', 'raw', 'ct state new accept')), 'before-conntrack').length, 1);
  assert.equal(codes(diags(nft('output', '-250', 'ct mark set 1')), 'before-conntrack').length, 1);
  assert.equal(codes(diags(nft('input', '-225', 'ct state new accept')), 'before-conntrack').length, 0);
  assert.equal(codes(diags(nft('prerouting', 'mangle', 'ct state new accept')), 'before-conntrack').length, 0);
  assert.equal(codes(diags(nft('prerouting', 'raw', 'udp dport 137 ct helper "netbios-ns"')), 'before-conntrack').length, 0);
});
