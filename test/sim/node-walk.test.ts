// The walk with the node's routing (examples/seed000-node): fwmark bits set by the ztunnel rules
// steer the routing decision between PREROUTING and FORWARD/INPUT; the ipset comes from the profile.
// vethfe50c7fb / 10.244.0.3 is ztunnel's pod; 10.244.0.7 is an ambient app pod behind veth7c2e91ab.
// The first three tests are issue 6's must-show packets (the kernel agrees: test/kernel/node-walk-seed000).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRuleset } from '../../server/src/parse';
import { loadNodeProfile } from '../../server/src/routing/index';
import { parsePacket, type Packet } from '../../server/src/sim/packet';
import { walk } from '../../server/src/sim/walk';

const root = join(import.meta.dirname, '../..');
const profile = loadNodeProfile(join(root, 'examples/seed000-node/node.nflens-node'), (p) => readFileSync(p, 'utf8'));
const rs = parseRuleset(profile.ruleset!.text);
const opts = { routing: profile.routing, ipsets: profile.ipsetsByName };

function pkt(line: string): Packet {
  const r = parsePacket(line);
  assert.deepEqual(r.errors, [], line);
  return r.packet!;
}
const routeEvent = (steps: { kind: string; action: string }[]) => steps.find((s) => s.kind === 'event' && s.action.startsWith('routing (after PREROUTING)'))?.action ?? '';

/** The mark each rule step left, as "chain line: action → mark". */
const marks = (steps: { kind: string; table?: string; chain?: string; action: string; mark: string }[]) =>
  steps.filter((s) => s.kind === 'rule' && /MARK/.test(s.action)).map((s) => `${s.table} ${s.chain}: ${s.action} → ${s.mark}`);

test('must show: TCP from the app pod\'s veth gets 0x100 (ipset), ip rule 101 → table 101, leaves by istioout', () => {
  const r = walk(rs, pkt('tcp 10.244.0.7:40000 -> 10.244.1.5:80 iif veth7c2e91ab'), opts);
  assert.equal(r.unknowns.length, 0, 'the set is known from the profile');
  assert.equal(r.verdict, 'ACCEPT');
  assert.deepEqual(marks(r.steps), ['mangle ztunnel-PREROUTING: MARK --set-xmark 0x100/0x100 → 0x100']);
  assert.equal(r.packet.mark, 0x100);
  assert.deepEqual(r.path, ['prerouting', 'forward', 'postrouting']);
  assert.equal(routeEvent(r.steps), 'routing (after PREROUTING): FORWARD via 192.168.127.2 dev istioout (ip rule 101, table 101)');
  assert.equal(r.packet.oif, 'istioout');
  // The nat ztunnel chains accept 0x100 before anything else could translate it.
  assert.deepEqual(r.steps.filter((s) => s.table === 'nat' && s.kind === 'rule').map((s) => `${s.chain} ${s.action}`),
    ['PREROUTING -j ztunnel-PREROUTING', 'ztunnel-PREROUTING ACCEPT', 'POSTROUTING -j ztunnel-POSTROUTING', 'ztunnel-POSTROUTING ACCEPT']);
  // ztunnel (10.244.0.3) is no member: from another interface it is not marked and leaves by main.
  const zt = walk(rs, pkt('tcp 10.244.0.3:40000 -> 10.244.1.5:80 iif eth0'), opts);
  assert.equal(zt.packet.mark, 0);
  assert.equal(zt.packet.oif, 'eth0');
  assert.match(routeEvent(zt.steps), /ip rule 32766, table main/);
});

test('must show: the app pod answering a connection ztunnel opened (ct mark 0x210) gets 0x40, table 102 sends it back to ztunnel', () => {
  const r = walk(rs, pkt('tcp 10.244.0.7:8080 -> 10.244.1.5:40000 iif veth7c2e91ab ct established reply ctmark 0x210'), opts);
  assert.equal(r.unknowns.length, 0);
  assert.deepEqual(marks(r.steps), ['mangle ztunnel-PREROUTING: MARK --set-xmark 0x40/0x40 → 0x40']);
  assert.equal(r.packet.mark, 0x40);
  assert.equal(routeEvent(r.steps), 'routing (after PREROUTING): FORWARD via 10.244.0.3 dev vethfe50c7fb (ip rule 102, table 102)');
  assert.equal(r.packet.oif, 'vethfe50c7fb');
  assert.equal(r.packet.ctmark, 0x210, 'FORWARD saves only 0x220 / 0x210 marks');
  // On ztunnel's own veth the 0x40 rule does not apply (`! -i vethfe50c7fb`): 0x210 again, main.
  const z = walk(rs, pkt('tcp 10.244.1.5:40000 -> 10.244.0.7:8080 iif vethfe50c7fb ct established ctmark 0x210'), opts);
  assert.equal(z.packet.mark, 0x210);
  assert.equal(z.packet.oif, 'veth7c2e91ab');
  assert.match(routeEvent(z.steps), /ip rule 32766, table main/);
});

test('must show: from istioin 0x200 skips to main (ip rule 100 goto 32766), which reaches the app pod; unmarked, table 100 would loop to istioin', () => {
  const r = walk(rs, pkt('tcp 10.244.1.5:40000 -> 10.244.0.7:8080 iif istioin'), opts);
  assert.equal(r.unknowns.length, 0);
  assert.deepEqual(marks(r.steps), ['mangle ztunnel-PREROUTING: MARK --set-xmark 0x200/0x200 → 0x200']);
  assert.equal(r.packet.mark, 0x200);
  assert.equal(routeEvent(r.steps), 'routing (after PREROUTING): FORWARD via the link dev veth7c2e91ab (ip rule 32766, table main)');
  assert.equal(r.packet.oif, 'veth7c2e91ab');
  const e = walk(rs, pkt('tcp 10.244.1.5:40000 -> 10.244.0.7:8080 iif eth0'), opts);
  assert.equal(e.packet.mark, 0);
  assert.equal(routeEvent(e.steps), 'routing (after PREROUTING): FORWARD via 192.168.126.2 dev istioin (ip rule 103, table 100)');
  assert.equal(e.packet.oif, 'istioin');
});

test('ztunnel\'s own traffic (vethfe50c7fb, 10.244.0.3) is marked 0x220 and skips the ambient tables', () => {
  const r = walk(rs, pkt('tcp 10.244.0.3:40000 -> 10.244.1.5:80 iif vethfe50c7fb'), opts);
  assert.equal(r.packet.mark, 0x220);
  assert.deepEqual(r.path, ['prerouting', 'forward', 'postrouting']);
  assert.equal(r.packet.oif, 'eth0');
  assert.match(routeEvent(r.steps), /ip rule 32766/);
});

test('a set member arriving on another interface still gets 0x100 (the rule reads only the source); a non-member does not', () => {
  const r = walk(rs, pkt('tcp 10.244.0.8:40000 -> 10.244.1.5:80 iif eth0'), opts);
  assert.equal(r.unknowns.length, 0);
  assert.equal(r.packet.mark, 0x100);
  assert.equal(r.packet.oif, 'istioout');
  assert.match(routeEvent(r.steps), /ip rule 101.*table 101/);
  const o = walk(rs, pkt('tcp 10.244.2.9:40000 -> 10.244.1.5:80 iif eth0'), opts);
  assert.equal(o.packet.mark, 0);
  assert.equal(o.packet.oif, 'eth0');
});

test('a connection marked 0x210 seen on istioout gets 0x200 first, so no 0x40', () => {
  const r = walk(rs, pkt('tcp 10.244.1.5:80 -> 10.244.0.7:40000 iif istioout ct established reply ctmark 0x210'), opts);
  assert.equal(r.packet.mark, 0x200);
  assert.equal(r.packet.oif, 'veth7c2e91ab');
});

test('traffic for the node address is delivered (INPUT) by the local routes; no routing file: host list', () => {
  const r = walk(rs, pkt('udp 10.244.1.5:5000 -> 10.244.0.1:6081 iif eth0'), opts);
  assert.deepEqual(r.path, ['prerouting', 'input']);
  const without = walk(rs, pkt('udp 10.244.1.5:5000 -> 10.244.0.1:6081 iif eth0'));
  assert.deepEqual(without.path, ['prerouting', 'forward', 'postrouting'], 'without routing, 10.244.0.1 is not known as local');
});
