// The walk's rules on small hand-written rulesets: jumps, gotos, returns, policies, marks, conntrack,
// NAT, unknown steps, loops, starting mid-ruleset, the packet syntax and the CLI's JSON.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRuleset } from '../../server/src/parse';
import { formatPacket, parsePacket, type Packet } from '../../server/src/sim/packet';
import { startPointAt, walk, walkBranches, type WalkResult } from '../../server/src/sim/walk';
import { simulateCommand } from '../../server/src/cli/simulate-command';

function pkt(line: string): Packet {
  const r = parsePacket(line);
  assert.deepEqual(r.errors, [], line);
  return r.packet!;
}
const matchedLines = (r: WalkResult) => r.steps.filter((s) => s.kind === 'rule' && s.result === 'match').map((s) => s.line);
const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

const JUMPS = `*mangle
:PREROUTING ACCEPT [0:0]
:CHAIN-PART - [0:0]
:CHAIN-XXX - [0:0]
:CHAIN-A - [0:0]
:CHAIN-SUB - [0:0]
-A PREROUTING -j CHAIN-PART
-A PREROUTING -j MARK --set-xmark 0x1000/0x1000
-A CHAIN-PART -j CHAIN-XXX
-A CHAIN-PART -j CHAIN-A
-A CHAIN-PART -m comment --comment "chain-part" -j MARK --set-xmark 0x1/0x1
-A CHAIN-A -g CHAIN-SUB
-A CHAIN-A -m comment --comment "chain-a" -j MARK --set-xmark 0x2/0x2
-A CHAIN-SUB -m comment --comment "hello" -j MARK --set-xmark 0x4/0x4
COMMIT
`;

test('-j returns to the next rule, -g returns to the most recent -j (seed 002)', () => {
  const r = walk(parseRuleset(JUMPS), pkt('tcp 10.0.0.1 -> 10.0.0.2'));
  assert.deepEqual(matchedLines(r), [7, 9, 10, 12, 14, 11, 8]);
  // "chain-a" (after the goto) never runs: bit 0x2 stays clear.
  assert.equal(r.packet.mark, 0x1000 | 0x4 | 0x1);
  assert.ok(!r.steps.some((s) => s.line === 13));
});

test('RETURN from a base chain and the end of a goto chain take the base chain policy', () => {
  const text = `*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:G - [0:0]
-A INPUT -p udp -j RETURN
-A INPUT -p tcp -g G
-A INPUT -j ACCEPT
-A FORWARD -j DROP
-A G -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
`;
  const rs = parseRuleset(text);
  const host = 'host 10.0.0.2';
  const udp = walk(rs, pkt(`udp 10.0.0.1 -> 10.0.0.2 ${host}`));
  assert.equal(udp.verdict, 'DROP');
  assert.equal(udp.steps[udp.decidedAt!].kind, 'policy');
  const ssh = walk(rs, pkt(`tcp 10.0.0.1 -> 10.0.0.2:22 ${host}`));
  assert.equal(ssh.verdict, 'ACCEPT');
  const web = walk(rs, pkt(`tcp 10.0.0.1 -> 10.0.0.2:80 ${host}`));
  assert.equal(web.verdict, 'DROP', 'G falls off its end: back to INPUT\'s policy, not to the rule after the goto');
  assert.ok(!web.steps.some((s) => s.line === lineOf(text, '-A INPUT -j ACCEPT')));
  const fwd = walk(rs, pkt('tcp 10.0.0.1 -> 10.0.9.9'));
  assert.equal(fwd.verdict, 'DROP');
  assert.equal(fwd.steps[fwd.decidedAt!].line, lineOf(text, '-A FORWARD -j DROP'));
});

test('MARK and CONNMARK arithmetic with masks', () => {
  const text = `*mangle
:PREROUTING ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
-A PREROUTING -j CONNMARK --restore-mark --nfmask 0xff --ctmask 0xf0
-A PREROUTING -j MARK --set-xmark 0x210/0x210
-A PREROUTING -m mark --mark 0x200/0x200 -j MARK --set-xmark 0x1/0x0
-A PREROUTING -m mark ! --mark 0x0/0x1 -j MARK --set-mark 0x4000/0x4000
-A FORWARD -j CONNMARK --save-mark --nfmask 0x4000 --ctmask 0xffff0000
-A FORWARD -j CONNMARK --set-xmark 0x5/0xf
COMMIT
`;
  const r = walk(parseRuleset(text), pkt('udp 10.0.0.1:1000 -> 10.0.9.9:53 mark 0x30005 ctmark 0x12345678 ct established'));
  // restore: mark = (0x30005 & ~0xff) ^ (0x12345678 & 0xf0) = 0x30070
  assert.equal(r.steps[1].mark, '0x30070');
  // 0x210/0x210 sets bits 0x200 and 0x10; 0x1/0x0 toggles bit 0; --set-mark 0x4000/0x4000 sets 0x4000.
  assert.equal(r.packet.mark, 0x34271);
  // save: ct = (0x12345678 & ~0xffff0000) ^ (0x34271 & 0x4000) = 0x5678 ^ 0x4000 = 0x1678; then xmark 0x5/0xf.
  assert.equal(r.packet.ctmark, 0x1675);
});

test('nat only for the first packet; DNAT before routing turns FORWARD into INPUT', () => {
  const text = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.2:8080
-A POSTROUTING -o eth1 -j MASQUERADE
COMMIT
`;
  const rs = parseRuleset(text);
  const host = 'host 10.0.0.2/24@eth0,192.0.2.1/24@eth1';
  const first = walk(rs, pkt(`tcp 10.0.0.9:4000 -> 198.51.100.7:80 ${host}`));
  assert.deepEqual(first.path, ['prerouting', 'input']);
  assert.equal(first.packet.dst, '10.0.0.2');
  assert.equal(first.packet.dport, 8080);
  const later = walk(rs, pkt(`tcp 10.0.0.9:4000 -> 198.51.100.7:80 ct established ${host}`));
  assert.deepEqual(later.path, ['prerouting', 'forward', 'postrouting']);
  assert.ok(later.steps.some((s) => s.kind === 'event' && /nat PREROUTING skipped: ct state established/.test(s.action)));
  const out = walk(rs, pkt(`udp 10.0.0.9:4000 -> 198.51.100.7:53 oif eth1 ${host}`));
  assert.equal(out.packet.src, '192.0.2.1', 'MASQUERADE takes the address on oif');
});

test('raw table: CT zone template reads as NEW, NOTRACK skips conntrack and nat', () => {
  const text = `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p udp -m conntrack --ctstate INVALID -j MARK --set-xmark 0x1/0x1
-A PREROUTING -p udp -j CT --zone 3
-A PREROUTING -p udp -m conntrack --ctstate NEW -j MARK --set-xmark 0x2/0x2
-A PREROUTING -p tcp -j CT --notrack
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -j DNAT --to-destination 10.0.0.5
COMMIT
`;
  const rs = parseRuleset(text);
  const u = walk(rs, pkt('udp 10.0.0.1:5 -> 10.0.9.9:53 ct established'));
  assert.equal(u.packet.mark, 0x3, 'INVALID before CT, NEW after it');
  assert.equal(u.packet.ctZone, 3);
  assert.equal(u.packet.ctState, 'new', 'no connection in zone 3: a new one');
  const t = walk(rs, pkt('tcp 10.0.0.1:5 -> 10.0.9.9:80'));
  assert.equal(t.packet.ctState, 'untracked');
  assert.equal(t.packet.dst, '10.0.9.9', 'untracked packets never see nat');
});

test('undecidable matches are unknown steps; both branches can be walked', () => {
  const text = `*filter
:INPUT ACCEPT [0:0]
-A INPUT -m statistic --mode random --probability 0.5 -j DROP
-A INPUT -m recent --rcheck --name x -j DROP
-A INPUT -m frobnicate --frob 1 -j DROP
COMMIT
`;
  const rs = parseRuleset(text);
  const p = pkt('tcp 10.0.0.1 -> 10.0.0.2 host 10.0.0.2');
  const r = walk(rs, p);
  assert.deepEqual(r.steps.filter((s) => s.kind === 'rule').map((s) => s.result), ['unknown', 'unknown', 'unknown']);
  assert.match(r.steps.filter((s) => s.kind === 'rule')[0].reason ?? '', /random/);
  assert.match(r.steps.filter((s) => s.kind === 'rule')[2].reason ?? '', /frobnicate/);
  assert.equal(r.verdict, 'ACCEPT');
  const m = walk(rs, p, { assume: 'match' });
  assert.equal(m.verdict, 'DROP');
  assert.equal(m.steps.find((s) => s.kind === 'rule')?.assumed, 'match');
  const all = walkBranches(rs, p);
  assert.equal(all.length, 4, 'drop at 1, drop at 2, drop at 3, accept');
  assert.deepEqual(all.map((b) => b.result.verdict).sort(), ['ACCEPT', 'DROP', 'DROP', 'DROP']);
});

test('a goto loop stops with LOOP; a step limit stops long walks', () => {
  const text = `*filter
:INPUT ACCEPT [0:0]
:X - [0:0]
:Y - [0:0]
-A INPUT -j X
-A X -g Y
-A Y -g X
COMMIT
`;
  const r = walk(parseRuleset(text), pkt('tcp 10.0.0.1 -> 10.0.0.2 host 10.0.0.2'));
  assert.equal(r.verdict, 'LOOP');
  const lim = walk(parseRuleset(JUMPS), pkt('tcp 10.0.0.1 -> 10.0.0.2'), { maxSteps: 3 });
  assert.equal(lim.verdict, 'STEP-LIMIT');
});

test('--from a rule in a user chain builds the return stack from the base chain', () => {
  const rs = parseRuleset(JUMPS);
  const start = startPointAt(rs, 14);
  assert.deepEqual(start, { table: 'mangle', family: 'ip', chain: 'CHAIN-SUB', ruleIndex: 0 });
  const r = walk(rs, pkt('tcp 10.0.0.1 -> 10.0.0.2'), { from: start });
  // CHAIN-SUB is reached by PREROUTING -j CHAIN-PART -j CHAIN-A -g CHAIN-SUB: returns go to CHAIN-PART.
  assert.deepEqual(matchedLines(r), [14, 11, 8]);
  assert.equal(startPointAt(rs, 5)?.chain, 'CHAIN-A', 'a chain declaration line starts the chain');
  assert.equal(startPointAt(rs, 1), undefined);
});

test('packet syntax: defaults, round trip, errors', () => {
  const p = pkt('10.0.0.1 -> 10.0.0.2');
  assert.equal(p.proto, 'tcp');
  assert.equal(p.sport, 40000);
  assert.equal(p.dport, 80);
  assert.deepEqual(p.tcpFlags, ['SYN']);
  assert.equal(p.iif, 'eth0');
  assert.equal(p.ctState, 'new');
  const q = pkt('ip6 udp [2001:db8::1]:53 -> [2001:db8::2]:5353 iif veth+x mark 0x10 ctmark 7 ct established reply zone 2 uid 1000 gid 5 host 2001:db8::2/64@eth0 set pods=2001:db8::/64');
  assert.equal(q.family, 'ip6');
  assert.equal(q.src, '2001:db8::1');
  assert.equal(q.ctDir, 'reply');
  assert.deepEqual(parsePacket(formatPacket(q)).packet, q);
  assert.deepEqual(parsePacket(formatPacket(p)).packet, p);
  const icmp = pkt('icmp 10.0.0.1 -> 10.0.0.2 type echo-reply local');
  assert.equal(icmp.icmpType, 0);
  assert.equal(icmp.iif, undefined);
  for (const bad of ['tcp 10.0.0.1', 'tcp 10.0.0.1 -> 2001:db8::1', 'tcp 10.0.0.1 -> 10.0.0.2 mark x', 'icmp 10.0.0.1:5 -> 10.0.0.2', 'tcp 10.0.0.1 -> 10.0.0.2 ct nope']) {
    assert.ok(parsePacket(bad).errors.length > 0, bad);
  }
});

test('nflens simulate: JSON trace as the issue specifies, exit codes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nfle-cli-'));
  const file = join(dir, 'j.rules');
  writeFileSync(file, JUMPS);
  const chunks: string[] = [];
  const orig = process.stdout.write.bind(process.stdout);
  const origErr = process.stderr.write.bind(process.stderr);
  (process.stdout as unknown as { write: (s: string) => boolean }).write = (s: string) => (chunks.push(String(s)), true);
  (process.stderr as unknown as { write: (s: string) => boolean }).write = () => true;
  let code: number, bad: number, missing: number;
  try {
    code = simulateCommand([file, '--packet', 'tcp 10.0.0.1 -> 10.0.0.2', '--format', 'json']);
    bad = simulateCommand([file, '--packet', 'tcp nowhere']);
    missing = simulateCommand([join(dir, 'none.rules'), '--packet', 'tcp 10.0.0.1 -> 10.0.0.2']);
  } finally {
    (process.stdout as unknown as { write: typeof orig }).write = orig;
    (process.stderr as unknown as { write: typeof origErr }).write = origErr;
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(code, 0);
  assert.equal(bad, 2);
  assert.equal(missing, 2);
  const j = JSON.parse(chunks.join(''));
  assert.equal(j.verdict, 'ACCEPT');
  assert.equal(j.packet.mark, '0x1005');
  const first = j.steps.find((s: { kind: string }) => s.kind === 'rule');
  for (const k of ['hook', 'table', 'chain', 'line', 'result', 'action', 'mark', 'ctmark']) assert.ok(k in first, k);
  assert.equal(first.hook, 'prerouting');
  assert.equal(first.line, 7);
  assert.equal(first.result, 'match');
});

test('IPv6: ip6tables-save rules walk an IPv6 packet; an IPv4 packet does not see them', () => {
  const text = `# Generated by ip6tables-save v1.8.9
*mangle
:PREROUTING ACCEPT [0:0]
-A PREROUTING -s 2001:db8:1::/48 -p udp -m udp --dport 53 -j MARK --set-xmark 0x53/0xff
-A PREROUTING ! -d 2001:db8::1/128 -j MARK --set-xmark 0x100/0x100
COMMIT
*filter
:INPUT DROP [0:0]
-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type echo-request -j ACCEPT
-A INPUT -m mark --mark 0x53/0xff -j ACCEPT
COMMIT
`;
  const rs = parseRuleset(text);
  assert.equal(rs.family, 'ip6');
  const dns = walk(rs, pkt('udp [2001:db8:1::5]:4000 -> [2001:db8::1]:53 host 2001:db8::1'));
  assert.equal(dns.packet.mark, 0x53);
  assert.equal(dns.verdict, 'ACCEPT');
  const ping = walk(rs, pkt('ip6 icmp 2001:db8:9::5 -> 2001:db8::1 host 2001:db8::1'));
  assert.equal(ping.packet.proto, 'icmpv6');
  assert.equal(ping.verdict, 'ACCEPT');
  const other = walk(rs, pkt('tcp [2001:db8:9::5]:4000 -> [2001:db8::1]:22 host 2001:db8::1'));
  assert.equal(other.verdict, 'DROP');
  const v4 = walk(rs, pkt('tcp 10.0.0.1 -> 10.0.0.2 host 10.0.0.2'));
  assert.equal(v4.verdict, 'ACCEPT');
  assert.equal(v4.steps.filter((s) => s.kind !== 'event').length, 0, 'no ip6tables chain sees an IPv4 packet');
});
