// Issue 6's full walk for the seed 000 node, judged by the kernel. The node (examples/seed000-node) is
// rebuilt in a scratch namespace by node-rig.ts: its interfaces are veths to a "ztunnel" namespace
// (vethfe50c7fb with ztunnel's 10.244.0.3; istioin / istioout, .2 of each /30), an "apps" namespace
// (the ambient app pods 10.244.0.7 / .8 behind veth7c2e91ab / veth3d8a05e2) and an "uplink" namespace
// (eth0: 172.18.0.1, .3, .4); addresses, routes and ip rules from the profile, the
// ipset from ipset.save, the rules from examples/ztunnel-ambient.rules (iptables-nft-restore). Every
// mark below is set by the ruleset's own rules or restored from a conntrack entry inserted with that
// ct mark (`conntrack -I`); no extra marking rule is added.
//
// Per packet, the walk (with the node's routing and ipsets, as `nflens simulate --node`) is compared
// with the kernel: the rule sequence, verdicts, final mark, addresses and ct mark (kernel-compare.ts
// over `nft monitor trace` and `conntrack -L`), and the routing outcome: the path (INPUT / FORWARD /
// OUTPUT), the mark routing read, the table / type / next hop (`ip route get` with the mark the kernel
// had at the routing decision vs the walk's decision), the output interface (postrouting's `oif`) and
// where the packet came out (captured on the peer end, its next hop read from the destination MAC).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kernelAvailable } from '../support/netns';
import { parseRuleset } from '../../server/src/parse';
import { loadNodeProfile, routeDecision, type RouteDecision } from '../../server/src/routing/index';
import { parsePacket } from '../../server/src/sim/packet';
import { walk, type WalkResult } from '../../server/src/sim/walk';
import { compare } from '../sim/kernel-compare';
import { compare as compareRoute, parseRouteGet } from '../routing/route-get';
import { NodeRig, rigTools, type NodeSend, type KernelRoute } from './node-rig';

const root = join(import.meta.dirname, '../..');
const avail = ((): { ok: boolean; reason?: string } => {
  const k = kernelAvailable();
  if (!k.ok) return k;
  const missing = rigTools();
  return missing ? { ok: false, reason: missing } : k;
})();

interface Tuple { proto: 'tcp' | 'udp'; src: string; dst: string; sport: number; dport: number }

interface Case {
  name: string;
  send: Omit<NodeSend, 'ipid'>;
  /** The packet line the walk gets. */
  line: string;
  /** A connection inserted first (original tuple) with this ct mark. */
  ct?: Tuple & { mark: number };
  /** Index of an earlier case that opened this packet's connection: sent in a second round, and the
   *  walk's line takes the ct mark the walk left on that connection (`ctmark LEADER` in `line`). */
  follows?: number;
  /** What the scenario is about, checked against the kernel (so the case keeps testing it):
   *  the table the routing decision used and the output interface ('' = delivered to the node). */
  intent: { table: string; oif: string };
}

let sport = 21000;
let ipid = 1000;

function cases(): Case[] {
  const out: Case[] = [];
  const add = (name: string, s: Omit<NodeSend, 'ipid' | 'sport'>, extra: string, intent: Case['intent'], ct?: (sp: number) => Case['ct']) => {
    const sp = ++sport;
    const send = { ...s, sport: sp };
    const line = `${s.proto} ${s.src}:${sp} -> ${s.dst}:${s.dport} ${s.iif ? `iif ${s.iif}` : 'local'}${extra ? ' ' + extra : ''}`;
    out.push({ name, send, line, ct: ct?.(sp), intent });
  };
  // Issue 6's must-show packets. TCP from the ambient app pod on its own veth: the ipset rule sets 0x100,
  // ip rule 101 → table 101 → default via 192.168.127.2, out by istioout (to ztunnel).
  add('must show: app pod veth -> table 101 -> istioout', { iif: 'veth7c2e91ab', src: '10.244.0.7', dst: '10.244.1.5', proto: 'tcp', dport: 80, flags: ['SYN'] }, '', { table: '101', oif: 'istioout' });
  // The app pod answering a connection ztunnel opened to it (ct mark 0x210): 0x40, table 102, back to ztunnel.
  add('must show: app pod reply on a 0x210 connection -> 0x40 -> table 102', { iif: 'veth7c2e91ab', src: '10.244.0.7', dst: '10.244.1.5', proto: 'tcp', dport: 0, flags: ['ACK'] }, 'ct established reply ctmark 0x210', { table: '102', oif: 'vethfe50c7fb' });
  // ztunnel delivering to the app pod on istioin: 0x200, ip rule 100 skips table 100 (which would send
  // 10.244.0.7 back to istioin) and main's host route reaches the pod's veth.
  add('must show: istioin -> app pod, 0x200 skips to main', { iif: 'istioin', src: '10.244.1.5', dst: '10.244.0.7', proto: 'tcp', dport: 8080, flags: ['SYN'] }, '', { table: 'main', oif: 'veth7c2e91ab' });
  // The same without conntrack -I: ztunnel opens a connection to the app pod with the client's address
  // (0x210, saved to the ct mark in FORWARD), then the pod's SYN-ACK comes back on its own veth.
  const leader = out.length;
  add('ztunnel -> app pod with the client\'s source (0x210 saved)', { iif: 'vethfe50c7fb', src: '10.244.1.5', dst: '10.244.0.7', proto: 'tcp', dport: 8080, flags: ['SYN'] }, '', { table: 'main', oif: 'veth7c2e91ab' });
  {
    const l = out[leader].send;
    out.push({
      name: 'must show: the app pod\'s SYN-ACK on that connection -> 0x40 -> table 102', follows: leader,
      send: { iif: 'veth7c2e91ab', src: l.dst, dst: l.src, proto: 'tcp', sport: l.dport, dport: l.sport, flags: ['SYN', 'ACK'] },
      line: `tcp ${l.dst}:${l.dport} -> ${l.src}:${l.sport} iif veth7c2e91ab ct established reply ctmark LEADER`,
      intent: { table: '102', oif: 'vethfe50c7fb' },
    });
  }
  // UDP from an app pod is not captured (-p udp gets 0x220): main.
  add('app pod veth, udp 53 (0x220 -> main)', { iif: 'veth3d8a05e2', src: '10.244.0.8', dst: '10.244.2.7', proto: 'udp', dport: 53 }, '', { table: 'main', oif: 'eth0' });
  // From ztunnel's veth, ztunnel's own address: 0x220 (its bit 0x200 hits ip rule 100, goto 32766: main).
  add('ztunnel veth, ztunnel address', { iif: 'vethfe50c7fb', src: '10.244.0.3', dst: '10.244.1.5', proto: 'tcp', dport: 80, flags: ['SYN'] }, '', { table: 'main', oif: 'eth0' });
  // From ztunnel's veth with another source (ztunnel speaking for a client): 0x210 (main too).
  add('ztunnel veth, other source', { iif: 'vethfe50c7fb', src: '10.244.0.9', dst: '10.244.2.7', proto: 'tcp', dport: 80, flags: ['SYN'] }, '', { table: 'main', oif: 'eth0' });
  // A set member arriving on eth0: the set rule reads only the source, so 0x100 and table 101 too.
  add('ipset member on eth0 (table 101)', { iif: 'eth0', src: '10.244.0.8', dst: '10.244.1.5', proto: 'tcp', dport: 443, flags: ['SYN'] }, '', { table: '101', oif: 'istioout' });
  // A reply on a connection with ct mark 0x210, from outside ztunnel's veth: 0x40, table 102's onlink default.
  add('ct mark 0x210 reply (table 102, default onlink)', { iif: 'eth0', src: '10.244.1.5', dst: '10.244.0.9', proto: 'tcp', dport: 0, flags: ['ACK'] }, 'ct established reply ctmark 0x210', { table: '102', oif: 'vethfe50c7fb' });
  // Same for UDP to ztunnel itself: table 102's link route.
  add('ct mark 0x210 reply to ztunnel (table 102)', { iif: 'eth0', src: '10.244.1.5', dst: '10.244.0.3', proto: 'udp', dport: 0 }, 'ct established reply ctmark 0x210', { table: '102', oif: 'vethfe50c7fb' });
  // From istioout: 0x200, main, the other app pod's veth.
  add('istioout -> app pod 10.244.0.8 (0x200 -> main)', { iif: 'istioout', src: '10.244.0.3', dst: '10.244.0.8', proto: 'tcp', dport: 80, flags: ['SYN'] }, '', { table: 'main', oif: 'veth3d8a05e2' });
  // UDP 6081 (geneve) returns unmarked: to the node it is delivered, elsewhere ip rule 103 / table 100.
  add('udp 6081 to the node', { iif: 'eth0', src: '172.18.0.3', dst: '172.18.0.2', proto: 'udp', dport: 6081 }, '', { table: 'local', oif: '' });
  add('udp 6081 forwarded (table 100)', { iif: 'eth0', src: '10.244.1.5', dst: '10.244.0.7', proto: 'udp', dport: 6081 }, '', { table: '100', oif: 'istioin' });
  // Other UDP for the node: 0x220, saved to the ct mark in INPUT.
  add('udp 5000 to the node (0x220 saved in INPUT)', { iif: 'eth0', src: '172.18.0.3', dst: '172.18.0.2', proto: 'udp', dport: 5000 }, '', { table: 'local', oif: '' });
  // Unmarked TCP from a non-member to an app pod: table 100 sends 10.244.0.8 to istioin (inbound capture).
  add('unmarked tcp to an app pod (table 100)', { iif: 'eth0', src: '10.244.2.9', dst: '10.244.0.8', proto: 'tcp', dport: 80, flags: ['SYN'] }, '', { table: '100', oif: 'istioin' });
  // A reply on a connection marked 0x220: connmark -> 0x200 -> main -> ztunnel's host route.
  add('ct mark 0x220 reply (0x200 -> main)', { iif: 'eth0', src: '10.244.1.5', dst: '10.244.0.3', proto: 'tcp', dport: 0, flags: ['ACK'] }, 'ct established reply ctmark 0x220', { table: 'main', oif: 'vethfe50c7fb' });
  // Sent by the node from 10.244.0.1: ztunnel-OUTPUT sets 0x220, the re-route moves it from table 100
  // (istioin) to main (the app pod's veth): node-sent traffic such as probes skips ztunnel.
  add('node 10.244.0.1 -> 10.244.0.7 (re-route after OUTPUT)', { src: '10.244.0.1', dst: '10.244.0.7', proto: 'udp', dport: 53 }, '', { table: 'main', oif: 'veth7c2e91ab' });
  // Sent by the node from its eth0 address: no mark, table 100, istioin.
  add('node 172.18.0.2 -> 10.244.0.7 (table 100)', { src: '172.18.0.2', dst: '10.244.0.7', proto: 'udp', dport: 53 }, '', { table: '100', oif: 'istioin' });
  // Sent by the node to ztunnel: 0x220, main's `scope host` route to ztunnel's veth.
  add('node 10.244.0.1 -> ztunnel', { src: '10.244.0.1', dst: '10.244.0.3', proto: 'tcp', dport: 8080, flags: ['SYN'] }, '', { table: 'main', oif: 'vethfe50c7fb' });
  // ztunnel to the node's veth address: 0x220, delivered, saved in INPUT.
  add('ztunnel -> node 10.244.0.1', { iif: 'vethfe50c7fb', src: '10.244.0.3', dst: '10.244.0.1', proto: 'udp', dport: 5000 }, '', { table: 'local', oif: '' });
  // UDP 6081 from ztunnel's veth returns before the veth rules: unmarked, table 100.
  add('ztunnel veth, udp 6081 (table 100)', { iif: 'vethfe50c7fb', src: '10.244.0.3', dst: '10.244.0.7', proto: 'udp', dport: 6081 }, '', { table: '100', oif: 'istioin' });
  // ztunnel to its istioout peer address: main's connected /30.
  add('ztunnel veth -> 192.168.127.2', { iif: 'vethfe50c7fb', src: '10.244.0.3', dst: '192.168.127.2', proto: 'tcp', dport: 15001, flags: ['SYN'] }, '', { table: 'main', oif: 'istioout' });
  // A reply with ct mark 0x210 arriving on istioout: 0x200 first, so no 0x40.
  add('ct mark 0x210 reply on istioout (0x200 -> main)', { iif: 'istioout', src: '10.244.1.5', dst: '10.244.0.3', proto: 'tcp', dport: 0, flags: ['ACK'] }, 'ct established reply ctmark 0x210', { table: 'main', oif: 'vethfe50c7fb' });
  // A directed broadcast on eth0's subnet: the local table's broadcast route, INPUT.
  add('udp to 172.18.255.255 (broadcast)', { iif: 'eth0', src: '172.18.0.3', dst: '172.18.255.255', proto: 'udp', dport: 5000 }, '', { table: 'local', oif: '' });

  // Replies: the packet goes from the server port back to the client's; the connection was the client's.
  for (const c of out) {
    if (!/reply/.test(c.line) || c.follows !== undefined) continue;
    const client = c.send.sport;
    const server = c.send.proto === 'tcp' ? 80 : 7000;
    c.send = { ...c.send, sport: server, dport: client };
    c.line = c.line.replace(`${c.send.src}:${client} -> ${c.send.dst}:0`, `${c.send.src}:${server} -> ${c.send.dst}:${client}`);
    const mark = Number(/ctmark (0x[0-9a-f]+)/.exec(c.line)![1]);
    c.ct = { proto: c.send.proto, src: c.send.dst, dst: c.send.src, sport: client, dport: server, mark };
  }
  return out;
}

/** The walk's routing decision: routeDecision on the walk's packet where it routed (after PREROUTING,
 *  or at the end of OUTPUT for the re-route), i.e. the inputs the walk gave the routing model. */
function walkRoute(r: WalkResult, c: Case, cfg: Parameters<typeof routeDecision>[0]): { mark: number; d: RouteDecision; event: string } | undefined {
  const local = !c.send.iif;
  const i = local
    ? r.steps.map((s) => s.hook).lastIndexOf('output')
    : r.steps.findIndex((s) => s.kind === 'event' && s.action.startsWith('routing (after PREROUTING)'));
  if (i < 0) return undefined;
  const s = r.steps[i];
  const mark = parseInt(s.mark, 16);
  const d = routeDecision(cfg, { dst: s.dst, src: s.src, iif: c.send.iif, mark, ipproto: c.send.proto, sport: s.sport, dport: s.dport });
  const event = r.steps.filter((x) => x.kind === 'event' && /rout/.test(x.action)).map((x) => x.action).join(' | ');
  return { mark, d, event };
}

const hex = (n: number | undefined) => (n === undefined ? '-' : `0x${n.toString(16)}`);

test('seed 000 node: the full walk (netfilter + routing) agrees with the kernel', { skip: avail.ok ? false : `kernel tests skipped: ${avail.reason}` }, async () => {
  const t0 = Date.now();
  const p = loadNodeProfile(join(root, 'examples/seed000-node/node.nflens-node'), (f) => readFileSync(f, 'utf8'));
  assert.deepEqual(p.diagnostics, []);
  const rs = parseRuleset(p.ruleset!.text);
  const ipsetText = p.sources.filter((s) => s.kind === 'ipset').map((s) => s.text).join('\n');
  const opts = { routing: p.routing, ipsets: p.ipsetsByName };
  const all = cases();
  const rig = new NodeRig([
    { role: 'ztunnel', links: { vethfe50c7fb: ['10.244.0.3/32'], istioin: ['192.168.126.2/30'], istioout: ['192.168.127.2/30'] } },
    { role: 'apps', links: { veth7c2e91ab: ['10.244.0.7/32'], veth3d8a05e2: ['10.244.0.8/32'] } },
    { role: 'uplink', links: { eth0: ['172.18.0.1/16', '172.18.0.3/16', '172.18.0.4/16'] } },
  ], 'nl6p');
  const failures: string[] = [];
  const tally = { packets: 0, agree: 0, ruleSteps: 0, routingChecks: 0 };
  const report: string[] = [];
  try {
    rig.setup(p, p.ruleset!.text, ipsetText);
    await rig.ready(65001);
    rig.insertConntrack(all.flatMap((c) => (c.ct ? [c.ct] : [])));
    const sends = all.map((c) => ({ ...c.send, ipid: ++ipid }));
    // Two rounds: packets that follow another one go once the first round has been seen.
    const round = (second: boolean) => sends.filter((_, n) => (all[n].follows !== undefined) === second);
    rig.send(round(false));
    await rig.collect(round(false).map((s) => s.ipid));
    rig.send(round(true));
    const { traces, routes } = await rig.collect(sends.map((s) => s.ipid));
    const ct = rig.conntrack();
    const results: WalkResult[] = [];

    for (const [n, c] of all.entries()) {
      const s = sends[n];
      if (c.follows !== undefined) c.line = c.line.replace('LEADER', hex(results[c.follows].packet.ctmark));
      const pp = parsePacket(c.line);
      assert.deepEqual(pp.errors, [], c.line);
      const r = walk(rs, pp.packet!, opts);
      results[n] = r;
      const conn = c.ct ?? (c.follows !== undefined ? all[c.follows].send : undefined);
      tally.packets++;
      const t = traces.get(s.ipid);
      const k: KernelRoute = routes.get(s.ipid)!;
      const cmp = compare(rs, r, t, rig.handles, ct, { proto: s.proto, src: s.src, dst: s.dst, sport: s.sport, dport: s.dport }, conn);
      const problems = [...cmp.problems];
      tally.ruleSteps += Math.max(cmp.sim.length, cmp.kernel.length);
      if (r.unknowns.length) problems.push(`the walk met unknown steps: ${r.unknowns.map((u) => u.reason).join('; ')}`);

      // Routing.
      const check = (what: string, ours: unknown, kernel: unknown) => {
        tally.routingChecks++;
        if (String(ours) !== String(kernel)) problems.push(`${what}: walk ${ours}, kernel ${kernel}`);
      };
      const kPath = k.ends.has('inend') ? 'input' : k.ends.has('fwdend') ? 'forward' : k.ends.has('postend') ? 'output' : 'dropped';
      const sPath = r.verdict !== 'ACCEPT' ? 'dropped' : r.path.includes('input') ? 'input' : r.path.includes('forward') ? 'forward' : 'output';
      check('path', sPath, kPath);
      const wr = walkRoute(r, c, p.routing);
      if (!wr) problems.push('the walk made no routing decision');
      check('mark at the routing decision', hex(wr?.mark), hex(k.routeMark));
      const getArgs = [s.dst, 'from', s.src, ...(s.iif ? ['iif', s.iif] : []), 'mark', hex(k.routeMark ?? 0), 'ipproto', s.proto, 'sport', String(s.sport), 'dport', String(s.dport)];
      const kGet = parseRouteGet(rig.routeGet(getArgs));
      if (wr) {
        tally.routingChecks++;
        const why = compareRoute(kGet, wr.d, { src: s.src, iif: s.iif }, false);
        if (why) problems.push(`routing decision (ip route get ${getArgs.join(' ')}): ${why}`);
      }
      const kTable = kGet.type === 'local' ? 'local' : kGet.table ?? 'main';
      // The table the walk itself reports for an arriving packet ("... (ip rule N, table T)").
      if (s.iif) check('table in the walk\'s routing step', /\btable (\w+)\)/.exec(wr?.event ?? '')?.[1], kTable);
      if (kPath === 'input') {
        check('seen on a peer', '', k.seen.map((x) => x.dev).join(','));
      } else {
        check('oif', r.packet.oif, k.oif);
        const ourHop = wr?.d.gateway ?? r.packet.dst;
        check('where it came out (dev, next hop)', `${r.packet.oif} ${ourHop}`, k.seen.map((x) => `${x.dev} ${x.nexthop}`).join(','));
      }
      // The scenario still exercises what it says (judged by the kernel alone).
      if (kTable !== c.intent.table || (k.oif ?? '') !== c.intent.oif) {
        problems.push(`scenario: meant table ${c.intent.table} / oif ${c.intent.oif || '(local)'}, the kernel used table ${kTable} / oif ${k.oif ?? '(local)'}`);
      }
      report.push(`  ${c.name}: mark ${hex(k.routeMark)} -> table ${kTable} -> ${k.oif ? `${k.oif} (next hop ${k.seen.map((x) => x.nexthop).join(',') || '?'})` : 'INPUT'}; ` +
        `final mark ${hex(t?.endMark)}, ct mark ${hex(ct.find((e) => (conn ? e.sport === conn.sport && e.src === conn.src : e.sport === s.sport && e.src === s.src))?.mark)}`);
      if (!problems.length) { tally.agree++; continue; }
      failures.push([
        `${c.name}: "${c.line}" (ip id ${s.ipid})`,
        ...problems.map((x) => `  ! ${x}`),
        '  walk:', ...cmp.sim.map((x) => `    ${x}`), `    => ${r.verdict} path ${r.path.join(',')} mark ${hex(r.packet.mark)} ctmark ${hex(r.packet.ctmark)} oif ${r.packet.oif ?? '-'}`,
        `    routing: ${wr ? `${wr.d.summary} (mark ${hex(wr.mark)})` : '-'}; events: ${wr?.event ?? '-'}`,
        '  kernel:', ...cmp.kernel.map((x) => `    ${x}`),
        `    => ends ${[...k.ends].join(',')} mark at routing ${hex(k.routeMark)} oif ${k.oif ?? '-'} seen ${k.seen.map((x) => `${x.dev}/${x.nexthop}`).join(',') || '-'}`,
        `    ip route get ${getArgs.join(' ')}: ${kGet.raw.split('\n')[0]}`,
        '  kernel trace lines:', ...(t?.lines ?? []).map((l) => `    ${l.raw.slice(0, 220)}`),
      ].join('\n'));
    }
  } finally {
    rig.close();
  }
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  console.log(`seed 000 node walk vs kernel: ${tally.agree}/${tally.packets} packets agree; ${tally.ruleSteps} rule/policy steps and ` +
    `${tally.routingChecks} routing checks compared; ${secs} s\n${report.join('\n')}`);
  if (failures.length) console.log(failures.join('\n\n'));
  assert.equal(failures.length, 0, `${failures.length} packet(s) disagree; printed above`);
  assert.equal(tally.packets, all.length);
});
