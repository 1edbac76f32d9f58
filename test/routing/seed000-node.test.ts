// The seed 000 node (examples/seed000-node): its profile loads cleanly and the fwmark bits steer
// packets to the tables the seed notes describe. vethfe50c7fb / 10.244.0.3 is ztunnel; the ambient app
// pods 10.244.0.7 and .8 sit behind veth7c2e91ab and veth3d8a05e2 (see the example's README).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { loadNodeProfile, routeDecision, ipsetContains, isLocalAddress, type NodeProfile, type RouteQuery } from '../../server/src/routing/index';
import { formatInetAddr } from '../../server/src/model/routing';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const profilePath = join(repoRoot, 'examples/seed000-node/node.nflens-node');
const read = (p: string) => readFileSync(p, 'utf8');

function node(): NodeProfile {
  return loadNodeProfile(profilePath, read);
}

test('seed 000 profile loads every file without a diagnostic', () => {
  const p = node();
  assert.deepEqual(p.diagnostics, []);
  for (const s of p.sources) assert.deepEqual(s.diagnostics, [], `${s.path}`);
  assert.equal(p.name, 'kind-worker (seed 000)');
  assert.match(p.ruleset!.text, /ztunnel-PREROUTING/);
  assert.deepEqual(p.routing.rules.map((r) => r.priority), [0, 100, 101, 102, 103, 32766, 32767]);
  const byTable = (t: number) => p.routing.routes.filter((r) => r.table === t).length;
  assert.deepEqual([byTable(254), byTable(100), byTable(101), byTable(102)], [9, 3, 2, 2]);
  assert.deepEqual(p.routing.interfaces.map((i) => i.name), ['lo', 'eth0', 'vethfe50c7fb', 'istioin', 'istioout', 'veth7c2e91ab', 'veth3d8a05e2']);
  assert.equal(p.routing.forwarding, true);
  assert.ok(isLocalAddress(p.routing, '10.244.0.1'));
  assert.ok(!isLocalAddress(p.routing, '10.244.0.3'));
  assert.ok(!isLocalAddress(p.routing, '10.244.0.7'));
});

/** TCP from the ambient app pod 10.244.0.7, arriving on its own veth. */
const fromApp: RouteQuery = { iif: 'veth7c2e91ab', src: '10.244.0.7', dst: '10.244.1.5', ipproto: 'tcp', sport: 40000, dport: 80 };

test('mark 0x100 from the app pod\'s veth: ip rule 101 → table 101 → default via 192.168.127.2 dev istioout', () => {
  const d = routeDecision(node().routing, { ...fromApp, mark: 0x100 });
  assert.equal(d.outcome, 'route');
  assert.equal(d.path, 'input');
  assert.equal(d.type, 'unicast');
  assert.equal(d.rule?.priority, 101);
  assert.equal(d.table, 101);
  assert.equal(d.route?.dst.len, 0);
  assert.equal(d.gateway, '192.168.127.2');
  assert.equal(d.dev, 'istioout');
  assert.deepEqual(d.steps.map((s) => `${s.rule.priority}:${s.outcome}`), ['0:miss', '100:no-match', '101:hit']);
  assert.equal(d.summary, 'rule 101 fwmark 0x100/0x100 lookup 101 → table 101 → default via 192.168.127.2 dev istioout → via 192.168.127.2 dev istioout');
  // Unmarked, the same packet misses table 100 (no route for 10.244.1.5) and goes out by main.
  const plain = routeDecision(node().routing, { ...fromApp, mark: 0 });
  assert.equal(plain.rule?.priority, 32766);
  assert.equal(plain.dev, 'eth0');
});

test('mark 0x40 (the app pod answering a connection ztunnel opened): ip rule 102 → table 102 → back to ztunnel', () => {
  const cfg = node().routing;
  const d = routeDecision(cfg, { iif: 'veth7c2e91ab', src: '10.244.0.7', dst: '10.244.1.5', mark: 0x40, ipproto: 'tcp', sport: 8080, dport: 40000 });
  assert.equal(d.outcome, 'route');
  assert.equal(d.rule?.priority, 102);
  assert.equal(d.table, 102);
  assert.equal(d.gateway, '10.244.0.3');
  assert.equal(d.dev, 'vethfe50c7fb');
  assert.ok(d.route?.nexthops[0].onlink);
  assert.deepEqual(d.steps.map((s) => `${s.rule.priority}:${s.outcome}`), ['0:miss', '100:no-match', '101:no-match', '102:hit']);
  // To ztunnel's own address: table 102's link route.
  const toZt = routeDecision(cfg, { iif: 'istioout', src: '192.168.127.2', dst: '10.244.0.3', mark: 0x40 });
  assert.equal(toZt.table, 102);
  assert.equal(toZt.route?.dst.len, 32);
  assert.equal(toZt.gateway, undefined);
  assert.equal(toZt.dev, 'vethfe50c7fb');
});

test('mark 0x200 (ztunnel delivering on istioin): ip rule 100 goto 32766 skips table 100 and main reaches the app pod', () => {
  const cfg = node().routing;
  const q: RouteQuery = { iif: 'istioin', src: '10.244.1.5', dst: '10.244.0.7', ipproto: 'tcp', sport: 40000, dport: 8080 };
  const d = routeDecision(cfg, { ...q, mark: 0x200 });
  assert.equal(d.outcome, 'route');
  assert.equal(d.rule?.priority, 32766);
  assert.equal(d.table, 254);
  assert.equal(d.gateway, undefined);
  assert.equal(d.dev, 'veth7c2e91ab');
  assert.deepEqual(d.steps.map((s) => `${s.rule.priority}:${s.outcome}`), ['0:miss', '100:goto', '32766:hit']);
  // Without the mark, ip rule 103 / table 100 would send it straight back to istioin.
  const loop = routeDecision(cfg, { ...q, mark: 0 });
  assert.equal(loop.rule?.priority, 103);
  assert.equal(loop.table, 100);
  assert.equal(loop.dev, 'istioin');
});

test('mark 0x200 (and 0x300, 0x220) from any pod: ip rule 100 goto 32766 skips 101-103 and uses main', () => {
  const cfg = node().routing;
  for (const q of [fromApp, { ...fromApp, iif: 'vethfe50c7fb', src: '10.244.0.3' }]) {
    for (const mark of [0x200, 0x300, 0x220]) {
      const d = routeDecision(cfg, { ...q, mark });
      assert.equal(d.outcome, 'route', `mark ${mark}`);
      assert.equal(d.rule?.priority, 32766);
      assert.equal(d.table, 254);
      assert.equal(d.gateway, '172.18.0.3');
      assert.equal(d.dev, 'eth0');
      assert.deepEqual(d.steps.map((s) => `${s.rule.priority}:${s.outcome}`), ['0:miss', '100:goto', '32766:hit']);
    }
  }
});

test('no mark: rule 103 → table 100 for 10.244.0.7 (via istioin, src 10.244.0.1), else main', () => {
  const cfg = node().routing;
  const out = routeDecision(cfg, { dst: '10.244.0.7', uid: 0 });
  assert.equal(out.path, 'output');
  assert.equal(out.rule?.priority, 103);
  assert.equal(out.table, 100);
  assert.equal(out.gateway, '192.168.126.2');
  assert.equal(out.dev, 'istioin');
  assert.equal(out.src, '10.244.0.1');
  const web = routeDecision(cfg, { dst: '93.184.216.34', uid: 0 });
  assert.equal(web.table, 254);
  assert.equal(web.gateway, '172.18.0.1');
  assert.equal(web.src, '172.18.0.2');
  const local = routeDecision(cfg, { ...fromApp, dst: '10.244.0.1' });
  assert.equal(local.type, 'local');
  assert.equal(local.table, 255);
});

test('the ztunnel-pods-ips set holds the ambient app pods as sources, not ztunnel', () => {
  const set = node().ipsetsByName.get('ztunnel-pods-ips')!;
  assert.equal(set.type, 'hash:ip');
  assert.equal(ipsetContains(set, { src: '10.244.0.7', dst: '10.244.1.5' }, ['src']), true);
  assert.equal(ipsetContains(set, { src: '10.244.0.8', dst: '10.244.1.5' }, ['src']), true);
  assert.equal(ipsetContains(set, { src: '10.244.0.3', dst: '10.244.1.5' }, ['src']), false);
  assert.equal(ipsetContains(set, { src: '10.244.0.4', dst: '10.244.0.7' }, ['src']), false);
  assert.equal(ipsetContains(set, { src: '10.244.0.4', dst: '10.244.0.7' }, ['dst']), true);
  assert.equal(ipsetContains(set, { dst: '10.244.0.7' }, ['src']), undefined);
});

test('every set member is enrolled as Istio enrolls a pod: table 100 via istioin from the node, a main route on its own veth', () => {
  // Istio's CNI (AddPodToMesh) adds the pod to the set and `table 100 IP/32 via 192.168.126.2 dev istioin
  // src HOST`; the CNI gave it a veth of its own. The seed's table 100 names .7 and .8.
  const p = node();
  const set = p.ipsetsByName.get('ztunnel-pods-ips')!;
  const members = set.members.map((m) => m.parts[0]).sort();
  assert.deepEqual(members, ['10.244.0.7', '10.244.0.8']);
  const veths = new Set<string>();
  for (const ip of members) {
    const d = routeDecision(p.routing, { dst: ip, uid: 0 });
    assert.equal(`${d.table} ${d.gateway} ${d.dev} ${d.src}`, `100 192.168.126.2 istioin 10.244.0.1`, ip);
    const main = p.routing.routes.filter((r) => r.table === 254 && r.dst.len === 32 && formatInetAddr({ family: 'ip', n: r.dst.n }) === ip);
    assert.equal(main.length, 1, ip);
    const dev = main[0].nexthops[0].dev!;
    assert.match(dev, /^veth/);
    assert.notEqual(dev, 'vethfe50c7fb', `${ip} is not behind ztunnel's veth`);
    veths.add(dev);
  }
  assert.equal(veths.size, members.length, 'one veth per pod');
});
