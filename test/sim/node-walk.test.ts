// The walk with the node's routing (examples/seed000-node): fwmark bits set by the ztunnel rules
// steer the routing decision between PREROUTING and FORWARD/INPUT; the ipset comes from the profile.
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

test('pod traffic marked 0x220 skips the ambient tables (ip rule 100 goto 32766) and leaves by eth0', () => {
  const r = walk(rs, pkt('tcp 10.244.0.3:40000 -> 10.244.1.5:80 iif vethfe50c7fb'), opts);
  assert.equal(r.packet.mark, 0x220);
  assert.deepEqual(r.path, ['prerouting', 'forward', 'postrouting']);
  assert.equal(r.packet.oif, 'eth0');
  assert.match(routeEvent(r.steps), /ip rule 32766/);
});

test('a member of ztunnel-pods-ips (from the profile\'s ipset) gets 0x100 and goes to istioout by table 101', () => {
  const r = walk(rs, pkt('tcp 10.244.0.3:40000 -> 10.244.1.5:80 iif eth0'), opts);
  assert.equal(r.unknowns.length, 0, 'the set is known from the profile');
  assert.equal(r.packet.mark, 0x100);
  assert.equal(r.packet.oif, 'istioout');
  assert.match(routeEvent(r.steps), /ip rule 101.*table 101/);
  // Not a member: no mark, rule 103 / main.
  const o = walk(rs, pkt('tcp 10.244.2.9:40000 -> 10.244.1.5:80 iif eth0'), opts);
  assert.equal(o.packet.mark, 0);
  assert.equal(o.packet.oif, 'eth0');
});

test('a connection marked 0x210 seen from outside the pod veth gets 0x40 and table 102 sends it to the pod', () => {
  const r = walk(rs, pkt('tcp 10.244.1.5:80 -> 10.244.0.3:40000 iif istioout ct established reply ctmark 0x210'), opts);
  // istioout packets are marked 0x200 first and return: the 0x210 rule is never reached from there.
  assert.equal(r.packet.mark, 0x200);
  const e = walk(rs, pkt('tcp 10.244.1.5:80 -> 10.244.0.3:40000 iif eth0 ct established reply ctmark 0x210'), opts);
  assert.equal(e.packet.mark, 0x40);
  assert.equal(e.packet.oif, 'vethfe50c7fb');
  assert.match(routeEvent(e.steps), /ip rule 102/);
});

test('traffic for the node address is delivered (INPUT) by the local routes; no routing file: host list', () => {
  const r = walk(rs, pkt('udp 10.244.1.5:5000 -> 10.244.0.1:6081 iif eth0'), opts);
  assert.deepEqual(r.path, ['prerouting', 'input']);
  const without = walk(rs, pkt('udp 10.244.1.5:5000 -> 10.244.0.1:6081 iif eth0'));
  assert.deepEqual(without.path, ['prerouting', 'forward', 'postrouting'], 'without routing, 10.244.0.1 is not known as local');
});
