// nftables rulesets in the walk: the multi-wan seed (a new connection, then an established one),
// several base chains on one hook, accept ending only its base chain, sets, verdict maps, NAT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRuleset } from '../../server/src/parse';
import { parsePacket, type Packet } from '../../server/src/sim/packet';
import { walk, walkBranches, type WalkResult } from '../../server/src/sim/walk';

const root = join(import.meta.dirname, '../..');
const MW = readFileSync(join(root, 'examples/multi-wan.nft'), 'utf8');

function pkt(line: string): Packet {
  const r = parsePacket(line);
  assert.deepEqual(r.errors, [], line);
  return r.packet!;
}
const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;
const matched = (r: WalkResult) => r.steps.filter((s) => s.kind === 'rule' && s.result === 'match').map((s) => `${s.hook} ${s.chain} ${s.line}`);

test('multi-wan: a new connection leaving by wan2 gets ct mark 3; its reply restores mark 3 before routing', () => {
  const rs = parseRuleset(MW);
  assert.equal(rs.kind, 'nft');
  const first = walk(rs, pkt('tcp 192.168.1.10:40000 -> 1.1.1.1:443 iif lan oif wan2'));
  assert.equal(first.verdict, 'ACCEPT');
  assert.equal(first.packet.ctmark, 3);
  assert.equal(first.packet.mark, 0);
  assert.deepEqual(matched(first), [`postrouting postrouting-ct-mark ${lineOf(MW, 'oifname "wan2" ct state new ct mark set 3')}`]);
  // The reply on that connection: prerouting copies the ct mark into the packet mark (for ip rule fwmark).
  const reply = walk(rs, pkt('tcp 1.1.1.1:443 -> 192.168.1.10:40000 iif wan2 oif lan ct established reply ctmark 3'));
  assert.equal(reply.packet.mark, 3);
  assert.deepEqual(matched(reply), [`prerouting prerouting ${lineOf(MW, 'ct state { established, related } meta mark set ct mark')}`]);
  // A new connection from wan1 to this host is marked 2 in input.
  const inbound = walk(rs, pkt('tcp 203.0.113.5:50000 -> 198.51.100.2:22 iif wan1 host 198.51.100.2'));
  assert.deepEqual(inbound.path, ['prerouting', 'input']);
  assert.equal(inbound.packet.ctmark, 2);
  // Sent by this host on an established connection: output restores the mark too.
  const local = walk(rs, pkt('tcp 198.51.100.2:22 -> 203.0.113.5:50000 local oif wan1 ct established reply ctmark 2'));
  assert.equal(local.packet.mark, 2);
  assert.ok(local.steps.some((s) => /re-route after OUTPUT \(mark changed\)/.test(s.action)));
});

const MULTI = `table inet a {
  set trusted { type ipv4_addr; flags interval; elements = { 10.1.0.0/16, 192.0.2.7 } }
  chain in1 {
    type filter hook input priority 0; policy accept;
    ip saddr @trusted accept
    tcp dport vmap { 22 : jump ssh, 80 : accept, 23 : drop }
    meta mark set mark or 0x10
  }
  chain ssh {
    iifname "eth*" meta mark set mark or 0x1 return
    drop
  }
}
table ip b {
  chain in2 {
    type filter hook input priority 10; policy drop;
    meta mark & 0x1 == 0x1 accept
    ip saddr 10.1.0.0/16 accept
    limit rate 10/second accept
  }
}
`;

test('nft: accept ends only its base chain; sets, vmaps and return', () => {
  const rs = parseRuleset(MULTI);
  const host = 'host 10.0.0.1';
  // Trusted: accepted by in1, then in2 (priority 10) still sees it and accepts.
  const t = walk(rs, pkt(`tcp 10.1.2.3:4000 -> 10.0.0.1:443 iif eth0 ${host}`));
  assert.equal(t.verdict, 'ACCEPT');
  assert.deepEqual(t.steps.filter((s) => s.kind === 'rule' && s.result === 'match').map((s) => s.chain), ['in1', 'in2']);
  // ssh from eth0: the vmap jumps to ssh, which marks 0x1 and returns; in2 accepts on the mark.
  const ssh = walk(rs, pkt(`tcp 203.0.113.1:4000 -> 10.0.0.1:22 iif eth0 ${host}`));
  assert.equal(ssh.verdict, 'ACCEPT');
  assert.equal(ssh.packet.mark, 0x11);
  // ssh from wlan0: dropped in ssh.
  const wl = walk(rs, pkt(`tcp 203.0.113.1:4000 -> 10.0.0.1:22 iif wlan0 ${host}`));
  assert.equal(wl.verdict, 'DROP');
  assert.equal(wl.steps[wl.decidedAt!].chain, 'ssh');
  // telnet: the vmap drops.
  assert.equal(walk(rs, pkt(`tcp 203.0.113.1:4000 -> 10.0.0.1:23 ${host}`)).verdict, 'DROP');
  // Other traffic reaches the limit rule: unknown, both branches.
  const other = walkBranches(rs, pkt(`udp 203.0.113.1:4000 -> 10.0.0.1:53 ${host}`));
  assert.deepEqual(other.map((b) => b.result.verdict).sort(), ['ACCEPT', 'DROP']);
  // The packet line can give a set's contents instead of the file's.
  const g = walk(rs, pkt(`tcp 203.0.113.1:4000 -> 10.0.0.1:443 set trusted=203.0.113.0/24 ${host}`));
  assert.equal(g.steps.find((s) => s.kind === 'rule')?.result, 'match');
});

test('nft: NAT statements and ct mark arithmetic', () => {
  const text = `table ip nat {
  chain pre {
    type nat hook prerouting priority dstnat; policy accept;
    tcp dport 80 dnat to 10.0.0.5:8080
    udp dport 53 redirect to :5353
  }
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" masquerade
  }
}
table ip m {
  chain f {
    type filter hook forward priority mangle; policy accept;
    ct mark set ct mark and 0xff00 or 0x7
    meta mark set ct mark xor 0x1
  }
}
`;
  const rs = parseRuleset(text);
  const host = 'host 10.0.0.1/24@lan,198.51.100.2/24@wan';
  const web = walk(rs, pkt(`tcp 203.0.113.1:4000 -> 198.51.100.2:80 iif wan ctmark 0x1234 ${host}`));
  assert.equal(web.packet.dst, '10.0.0.5');
  assert.equal(web.packet.dport, 8080);
  assert.deepEqual(web.path, ['prerouting', 'forward', 'postrouting']);
  assert.equal(web.packet.oif, 'lan', 'the connected subnet of 10.0.0.5');
  assert.equal(web.packet.ctmark, 0x1207);
  assert.equal(web.packet.mark, 0x1206);
  const dns = walk(rs, pkt(`udp 10.0.0.9:4000 -> 10.0.0.1:53 iif lan ${host}`));
  assert.equal(dns.packet.dport, 5353);
  assert.equal(dns.packet.dst, '10.0.0.1');
  const out = walk(rs, pkt(`tcp 10.0.0.9:4000 -> 203.0.113.1:443 iif lan oif wan ${host}`));
  assert.equal(out.packet.src, '198.51.100.2');
});

test('nft: before conntrack (priority raw) ct expressions stop the rule; ct mark set does nothing', () => {
  const text = `table inet r {
  chain early {
    type filter hook prerouting priority -300; policy accept;
    ct state established meta mark set 0x1
    meta mark set ct mark
    ct mark set 0x5
    meta mark set mark or 0x2
  }
  chain late {
    type filter hook prerouting priority -150; policy accept;
    ct state established meta mark set mark or 0x10
    meta mark set ct mark or mark
  }
}
`;
  const r = walk(parseRuleset(text), pkt('tcp 10.0.0.1:4000 -> 10.0.0.2:80 ct established ctmark 0x100'));
  const early = r.steps.filter((s) => s.kind === 'rule' && s.chain === 'early').map((s) => s.result);
  assert.deepEqual(early, ['nomatch', 'nomatch', 'match', 'match']);
  assert.match(r.steps.filter((s) => s.chain === 'early')[1].failed ?? '', /no conntrack entry/);
  // late (after conntrack): the state is known and the ct mark (still 0x100) is read.
  assert.equal(r.packet.mark, 0x112);
  assert.equal(r.packet.ctmark, 0x100);
});

test('nft: a statement written before a match runs even when the match then fails', () => {
  const text = `table ip o {
  chain c {
    type filter hook prerouting priority 0; policy accept;
    meta mark set mark or 0x1 ip saddr 10.9.9.9 meta mark set mark or 0x2 accept
    meta mark set mark or 0x4 ip saddr 10.0.0.1 meta mark set mark or 0x8
  }
}
`;
  const r = walk(parseRuleset(text), pkt('tcp 10.0.0.1:4000 -> 10.0.0.2:80'));
  const rules = r.steps.filter((s) => s.kind === 'rule');
  assert.deepEqual(rules.map((s) => s.result), ['nomatch', 'match']);
  assert.equal(rules[0].failed, 'ip saddr 10.9.9.9');
  assert.equal(r.packet.mark, 0x1 | 0x4 | 0x8, '0x1 ran before the failing match; 0x2 did not');
});
