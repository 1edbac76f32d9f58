// The witness generator: for every rule of the seed examples, a packet that the rule matches when
// the walk starts at it, unless the rule holds a match that cannot be decided (then it says why).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRuleset } from '../../server/src/parse';
import { parsePacket } from '../../server/src/sim/packet';
import { walk } from '../../server/src/sim/walk';
import { witnessFor } from '../../server/src/sim/witness';

const root = join(import.meta.dirname, '../..');

for (const file of ['examples/ztunnel-ambient.rules', 'examples/istio-sidecar.iptables']) {
  test(`witness for every rule of ${file}`, () => {
    const rs = parseRuleset(readFileSync(join(root, file), 'utf8'));
    let rules = 0, exact = 0;
    const inexact: string[] = [];
    for (const t of rs.tables) {
      for (const c of t.chains) {
        c.rules.forEach((r, i) => {
          rules++;
          const w = witnessFor(rs, { table: t.name, chain: c.name, ruleIndex: i });
          // The proposed packet is valid packet syntax and means the same packet.
          const back = parsePacket(w.text);
          assert.deepEqual(back.errors, [], w.text);
          assert.deepEqual(back.packet, w.packet, w.text);
          // Walking from the rule, the first rule step is this rule, and it matches exactly when the witness says so.
          const first = walk(rs, w.packet, { from: { table: t.name, chain: c.name, ruleIndex: i } }).steps.find((s) => s.kind === 'rule');
          assert.equal(first?.line, r.range.start.line + 1);
          assert.equal(first?.result === 'match', w.exact, `${file}:${r.range.start.line + 1} ${w.text} ${w.notes.join('; ')}`);
          if (w.exact) exact++;
          else inexact.push(`${r.range.start.line + 1}: ${w.notes.join('; ')}`);
        });
      }
    }
    console.log(`${file}: ${exact}/${rules} rules get an exact witness${inexact.length ? `; not: ${inexact.join(' | ')}` : ''}`);
    // Only the ipset rule cannot be matched without knowing the set.
    assert.ok(inexact.every((x) => /set|gid|uid/.test(x)), inexact.join('\n'));
    assert.ok(exact >= rules - 1, `${exact}/${rules}`);
  });
}

test('a witness for a negated address, interface and mark avoids them', () => {
  const text = `*mangle
:PREROUTING ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
-A PREROUTING ! -s 192.0.2.0/24 ! -i eth+ -m mark ! --mark 0x4/0x4 -p udp -m udp ! --dport 53 -j ACCEPT
-A FORWARD -o veth+ -m conntrack --ctstate RELATED,ESTABLISHED -m connmark --mark 0x10/0x10 -j ACCEPT
COMMIT
`;
  const rs = parseRuleset(text);
  const a = witnessFor(rs, { table: 'mangle', chain: 'PREROUTING', ruleIndex: 0 });
  assert.ok(a.exact, a.notes.join('; '));
  assert.ok(!a.packet.src.startsWith('192.0.2.'));
  assert.ok(!a.packet.iif?.startsWith('eth'));
  assert.equal(a.packet.proto, 'udp');
  assert.notEqual(a.packet.dport, 53);
  const b = witnessFor(rs, { table: 'mangle', chain: 'FORWARD', ruleIndex: 0 });
  assert.ok(b.exact, b.notes.join('; '));
  assert.equal(b.packet.ctState, 'related');
  assert.equal(b.packet.ctmark & 0x10, 0x10);
  assert.ok(b.packet.oif?.startsWith('veth'));
});

test('witness for every rule of the multi-wan nftables seed and an nft ruleset with sets and vmaps', () => {
  const extra = `table inet f {
  set pods { type ipv4_addr; flags interval; elements = { 10.1.0.0/16 } }
  chain in {
    type filter hook input priority 0; policy drop;
    ct state { established, related } accept
    iifname "lo" accept
    ip saddr @pods tcp dport { 22, 8000-8100 } accept
    meta mark & 0x200 == 0x200 ct direction reply accept
    ip daddr != 10.0.0.0/8 udp dport 53 ct mark 0x10 accept
    meta l4proto icmp accept
  }
  chain fwd {
    type filter hook forward priority 0; policy accept;
    iifname "veth*" oifname != "eth0" drop
  }
}
`;
  for (const [name, text] of [['examples/multi-wan.nft', readFileSync(join(root, 'examples/multi-wan.nft'), 'utf8')], ['inline nft', extra]] as const) {
    const rs = parseRuleset(text);
    assert.equal(rs.kind, 'nft');
    let rules = 0, exact = 0;
    const misses: string[] = [];
    for (const t of rs.tables) for (const c of t.chains) c.rules.forEach((r, i) => {
      rules++;
      const w = witnessFor(rs, { table: t.name, family: t.family, chain: c.name, ruleIndex: i });
      const first = walk(rs, w.packet, { from: { table: t.name, family: t.family, chain: c.name, ruleIndex: i } }).steps.find((s) => s.kind === 'rule');
      assert.equal(first?.result === 'match', w.exact, `${name}:${r.range.start.line + 1} ${w.text}`);
      if (w.exact) exact++; else misses.push(`${r.range.start.line + 1}: ${w.text} ${w.notes.join('; ')}`);
    });
    console.log(`${name}: ${exact}/${rules} rules get an exact witness`);
    assert.equal(exact, rules, misses.join('\n'));
  }
});
