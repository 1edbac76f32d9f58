// The seeds' scenarios, worked out by hand from the rules (see the comments at each test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRuleset } from '../../server/src/parse';
import { parsePacket, type Packet } from '../../server/src/sim/packet';
import { walk, walkBranches, type WalkResult } from '../../server/src/sim/walk';

const root = join(import.meta.dirname, '../..');
const ZT = readFileSync(join(root, 'examples/ztunnel-ambient.rules'), 'utf8');
const SC = readFileSync(join(root, 'examples/istio-sidecar.iptables'), 'utf8');
const zt = parseRuleset(ZT);
const sc = parseRuleset(SC);

/** 1-based line of the rule written exactly so in the file (the n-th occurrence). */
function lineOf(text: string, rule: string, nth = 1): number {
  const lines = text.split('\n');
  let seen = 0;
  for (let i = 0; i < lines.length; i++) if (lines[i] === rule && ++seen === nth) return i + 1;
  throw new Error(`rule not in file: ${rule}`);
}

function pkt(line: string): Packet {
  const r = parsePacket(line);
  assert.deepEqual(r.errors, []);
  return r.packet!;
}

const matched = (r: WalkResult) => r.steps.filter((s) => s.kind === 'rule' && s.result === 'match').map((s) => `${s.hook} ${s.table} ${s.line}`);

test('ztunnel: a packet from the pod veth gets 0x220 and saves it to the connection in FORWARD', () => {
  // ztunnel-PREROUTING: the pod's own address skips the 0x210 rule, `-i veth` sets 0x220, and the next
  // `--mark 0x200/0x200` RETURN matches (0x220 has bit 0x200). FORWARD saves 0x220 into the ct mark.
  const r = walk(zt, pkt('tcp 10.244.0.3:40000 -> 10.96.0.10:80 iif vethfe50c7fb'));
  assert.equal(r.verdict, 'ACCEPT');
  assert.deepEqual(r.path, ['prerouting', 'forward', 'postrouting']);
  assert.equal(r.packet.mark, 0x220);
  assert.equal(r.packet.ctmark, 0x220);
  assert.deepEqual(matched(r), [
    `prerouting mangle ${lineOf(ZT, '-A PREROUTING -j ztunnel-PREROUTING')}`,
    `prerouting mangle ${lineOf(ZT, '-A ztunnel-PREROUTING -i vethfe50c7fb -j MARK --set-xmark 0x220/0x220')}`,
    `prerouting mangle ${lineOf(ZT, '-A ztunnel-PREROUTING -m mark --mark 0x200/0x200 -j RETURN', 3)}`,
    `prerouting nat ${lineOf(ZT, '-A PREROUTING -j ztunnel-PREROUTING', 2)}`,
    `forward mangle ${lineOf(ZT, '-A FORWARD -j ztunnel-FORWARD')}`,
    `forward mangle ${lineOf(ZT, '-A ztunnel-FORWARD -m mark --mark 0x220/0x220 -j CONNMARK --save-mark --nfmask 0x220 --ctmask 0x220')}`,
    `postrouting mangle ${lineOf(ZT, '-A POSTROUTING -j ztunnel-POSTROUTING')}`,
    `postrouting nat ${lineOf(ZT, '-A POSTROUTING -j ztunnel-POSTROUTING', 2)}`,
  ]);
  // The no-match steps say which option failed.
  const skip = r.steps.find((s) => s.line === lineOf(ZT, '-A ztunnel-PREROUTING ! -s 10.244.0.3/32 -i vethfe50c7fb -j MARK --set-xmark 0x210/0x210'));
  assert.equal(skip?.result, 'nomatch');
  assert.equal(skip?.failed, '! -s 10.244.0.3/32');
});

test('ztunnel: another source on the pod veth gets 0x210 (inbound to the pod)', () => {
  const r = walk(zt, pkt('tcp 10.244.0.7:40000 -> 10.244.0.3:80 iif vethfe50c7fb'));
  assert.equal(r.packet.mark, 0x210);
  assert.equal(r.packet.ctmark, 0x210);
  assert.ok(matched(r).includes(`forward mangle ${lineOf(ZT, '-A ztunnel-FORWARD -m mark --mark 0x210/0x210 -j CONNMARK --save-mark --nfmask 0x210 --ctmask 0x210')}`));
});

test('ztunnel: a packet from istioin gets 0x200 and returns at once', () => {
  const r = walk(zt, pkt('tcp 10.244.0.7:40000 -> 10.244.0.3:8080 iif istioin'));
  assert.equal(r.verdict, 'ACCEPT');
  assert.equal(r.packet.mark, 0x200);
  assert.equal(r.packet.ctmark, 0, '0x200 matches neither save rule in FORWARD');
  const m = matched(r);
  assert.ok(m.includes(`prerouting mangle ${lineOf(ZT, '-A ztunnel-PREROUTING -i istioin -j MARK --set-xmark 0x200/0x200')}`));
  assert.ok(m.includes(`prerouting mangle ${lineOf(ZT, '-A ztunnel-PREROUTING -i istioin -j RETURN')}`));
  // Nothing after the RETURN in ztunnel-PREROUTING was looked at.
  const after = r.steps.filter((s) => s.chain === 'ztunnel-PREROUTING' && s.table === 'mangle' && s.line > lineOf(ZT, '-A ztunnel-PREROUTING -i istioin -j RETURN'));
  assert.equal(after.length, 0);
});

test('ztunnel: UDP to port 6081 (geneve) returns untouched and is delivered locally', () => {
  const r = walk(zt, pkt('udp 10.244.1.5:50000 -> 10.244.0.1:6081 iif eth0 host 10.244.0.1'));
  assert.deepEqual(r.path, ['prerouting', 'input']);
  assert.equal(r.packet.mark, 0);
  assert.equal(r.packet.ctmark, 0);
  assert.ok(matched(r).includes(`prerouting mangle ${lineOf(ZT, '-A ztunnel-PREROUTING -p udp -m udp --dport 6081 -j RETURN')}`));
  assert.ok(!r.steps.some((s) => s.line === lineOf(ZT, '-A ztunnel-PREROUTING -p udp -j MARK --set-xmark 0x220/0x220')));
  // The same packet to another port falls to `-p udp -j MARK 0x220` and INPUT saves it.
  const r2 = walk(zt, pkt('udp 10.244.1.5:50000 -> 10.244.0.1:5000 iif eth0 host 10.244.0.1'));
  assert.equal(r2.packet.mark, 0x220);
  assert.equal(r2.packet.ctmark, 0x220);
});

test('ztunnel: a reply on a connection marked 0x220 is marked 0x200; nat is not consulted', () => {
  const r = walk(zt, pkt('tcp 10.96.0.10:80 -> 10.244.0.3:40000 iif eth0 ct established reply ctmark 0x220'));
  assert.equal(r.packet.mark, 0x200);
  assert.equal(r.packet.ctmark, 0x220);
  assert.ok(matched(r).includes(`prerouting mangle ${lineOf(ZT, '-A ztunnel-PREROUTING -m connmark --mark 0x220/0x220 -j MARK --set-xmark 0x200/0x200')}`));
  assert.ok(!r.steps.some((s) => s.table === 'nat' && s.kind === 'rule'), 'nat chains only see the first packet');
  // A connection marked 0x210 seen from outside the pod veth gets 0x40.
  const r2 = walk(zt, pkt('tcp 10.96.0.10:80 -> 10.244.0.3:40000 iif eth0 ct established reply ctmark 0x210'));
  assert.equal(r2.packet.mark, 0x40);
});

test('ztunnel: the ipset match is unknown; both branches are walked, and a known set decides', () => {
  const p = pkt('tcp 10.244.0.5:40000 -> 10.244.0.9:80 iif eth0');
  const r = walk(zt, p);
  const u = r.steps.find((s) => s.result === 'unknown');
  assert.ok(u, 'an unknown step');
  assert.equal(u.line, lineOf(ZT, '-A ztunnel-PREROUTING -p tcp -m set --match-set ztunnel-pods-ips src -j MARK --set-xmark 0x100/0x100'));
  assert.match(u.reason ?? '', /ztunnel-pods-ips/);
  assert.equal(u.assumed, 'nomatch');
  assert.equal(r.packet.mark, 0);
  const br = walkBranches(zt, p);
  assert.equal(br.length, 2);
  const marks = br.map((b) => b.result.packet.mark).sort();
  assert.deepEqual(marks, [0, 0x100]);
  const withSet = walk(zt, pkt('tcp 10.244.0.5:40000 -> 10.244.0.9:80 iif eth0 set ztunnel-pods-ips=10.244.0.0/24'));
  assert.equal(withSet.unknowns.length, 0);
  assert.equal(withSet.packet.mark, 0x100);
  // 0x100 then makes the nat ztunnel-PREROUTING rule ACCEPT (ends the nat chain).
  assert.ok(matched(withSet).includes(`prerouting nat ${lineOf(ZT, '-A ztunnel-PREROUTING -m mark --mark 0x100/0x100 -j ACCEPT')}`));
});

test('sidecar (iptables -S): uid 1337 returns from ISTIO_OUTPUT, other uids are redirected to 15001', () => {
  const envoy = walk(sc, pkt('tcp 10.244.0.9:40000 -> 10.96.0.10:80 local uid 1337 gid 1337'));
  assert.equal(envoy.verdict, 'ACCEPT');
  assert.equal(envoy.packet.dst, '10.96.0.10');
  assert.equal(envoy.packet.dport, 80);
  assert.ok(matched(envoy).includes(`output nat ${lineOf(SC, '-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN')}`));
  assert.deepEqual(envoy.path, ['output', 'postrouting']);

  const app = walk(sc, pkt('tcp 10.244.0.9:40000 -> 10.96.0.10:80 local uid 1000 gid 1000'));
  assert.equal(app.packet.dst, '127.0.0.1');
  assert.equal(app.packet.dport, 15001);
  assert.ok(matched(app).includes(`output nat ${lineOf(SC, '-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001')}`));
  // REDIRECT sends it over lo back in: PREROUTING and INPUT, with nat not asked again.
  assert.deepEqual(app.path, ['output', 'postrouting', 'prerouting', 'input']);
  assert.equal(app.unknowns.length, 0);

  // Without the gid the gid rule cannot be decided: the walk says so.
  const noGid = walk(sc, pkt('tcp 10.244.0.9:40000 -> 10.96.0.10:80 local uid 1000'));
  assert.ok(noGid.unknowns.some((u) => /gid/.test(u.reason)));
});

test('sidecar: inbound TCP is redirected to 15006 except the excluded ports; DNS goes to zone 2 and 15053', () => {
  const inb = walk(sc, pkt('tcp 10.0.0.5:40000 -> 10.244.0.9:8080 iif eth0 host 10.244.0.9'));
  assert.equal(inb.packet.dport, 15006);
  assert.equal(inb.packet.dst, '10.244.0.9');
  assert.deepEqual(inb.path, ['prerouting', 'input']);
  const ssh = walk(sc, pkt('tcp 10.0.0.5:40000 -> 10.244.0.9:22 iif eth0 host 10.244.0.9'));
  assert.equal(ssh.packet.dport, 22);
  assert.ok(matched(ssh).includes(`prerouting nat ${lineOf(SC, '-A ISTIO_INBOUND -p tcp -m tcp --dport 22 -j RETURN')}`));
  const dns = walk(sc, pkt('udp 10.244.0.9:40000 -> 10.96.0.10:53 local uid 1000 gid 1000'));
  assert.equal(dns.packet.ctZone, 2);
  assert.equal(dns.packet.dst, '127.0.0.1');
  assert.equal(dns.packet.dport, 15053);
  const envoyDns = walk(sc, pkt('udp 10.244.0.9:40000 -> 10.96.0.10:53 local uid 1337 gid 1337'));
  assert.equal(envoyDns.packet.ctZone, 1);
  assert.equal(envoyDns.packet.dport, 53, 'the uid 1337 RETURN in nat OUTPUT keeps the destination');
});
