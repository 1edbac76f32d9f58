// The seed 000 node (examples/seed000-node): its profile loads cleanly and the fwmark bits steer
// packets to the tables the seed notes describe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { loadNodeProfile, routeDecision, ipsetContains, isLocalAddress, type NodeProfile, type RouteQuery } from '../../server/src/routing/index';

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
  assert.deepEqual([byTable(254), byTable(100), byTable(101), byTable(102)], [7, 3, 2, 2]);
  assert.deepEqual(p.routing.interfaces.map((i) => i.name), ['lo', 'eth0', 'vethfe50c7fb', 'istioin', 'istioout']);
  assert.equal(p.routing.forwarding, true);
  assert.ok(isLocalAddress(p.routing, '10.244.0.1'));
  assert.ok(!isLocalAddress(p.routing, '10.244.0.3'));
});

const fromPod: RouteQuery = { iif: 'vethfe50c7fb', src: '10.244.0.3', dst: '10.244.1.5', ipproto: 'tcp', sport: 40000, dport: 80 };

test('mark 0x100 from the pod: ip rule 101 → table 101 → default via 192.168.127.2 dev istioout', () => {
  const d = routeDecision(node().routing, { ...fromPod, mark: 0x100 });
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
});

test('mark 0x40: ip rule 102 → table 102 (default via the pod, onlink; the pod route for the pod itself)', () => {
  const cfg = node().routing;
  const d = routeDecision(cfg, { iif: 'istioout', src: '192.168.127.2', dst: '10.244.1.5', mark: 0x40, ipproto: 'tcp', dport: 80, sport: 5555 });
  assert.equal(d.outcome, 'route');
  assert.equal(d.rule?.priority, 102);
  assert.equal(d.table, 102);
  assert.equal(d.gateway, '10.244.0.3');
  assert.equal(d.dev, 'vethfe50c7fb');
  assert.ok(d.route?.nexthops[0].onlink);
  const toPod = routeDecision(cfg, { iif: 'istioout', src: '192.168.127.2', dst: '10.244.0.3', mark: 0x40 });
  assert.equal(toPod.table, 102);
  assert.equal(toPod.route?.dst.len, 32);
  assert.equal(toPod.gateway, undefined);
  assert.equal(toPod.dev, 'vethfe50c7fb');
});

test('mark 0x200 (and 0x300, 0x220): ip rule 100 goto 32766 skips 101-103 and uses main', () => {
  const cfg = node().routing;
  for (const mark of [0x200, 0x300, 0x220]) {
    const d = routeDecision(cfg, { ...fromPod, mark });
    assert.equal(d.outcome, 'route', `mark ${mark}`);
    assert.equal(d.rule?.priority, 32766);
    assert.equal(d.table, 254);
    assert.equal(d.gateway, '172.18.0.3');
    assert.equal(d.dev, 'eth0');
    assert.deepEqual(d.steps.map((s) => `${s.rule.priority}:${s.outcome}`), ['0:miss', '100:goto', '32766:hit']);
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
  const local = routeDecision(cfg, { ...fromPod, dst: '10.244.0.1' });
  assert.equal(local.type, 'local');
  assert.equal(local.table, 255);
});

test('the ztunnel-pods-ips set holds the pod as a source, not other pods', () => {
  const set = node().ipsetsByName.get('ztunnel-pods-ips')!;
  assert.equal(set.type, 'hash:ip');
  assert.equal(ipsetContains(set, { src: '10.244.0.3', dst: '10.244.1.5' }, ['src']), true);
  assert.equal(ipsetContains(set, { src: '10.244.0.4', dst: '10.244.0.3' }, ['src']), false);
  assert.equal(ipsetContains(set, { src: '10.244.0.4', dst: '10.244.0.3' }, ['dst']), true);
  assert.equal(ipsetContains(set, { dst: '10.244.0.3' }, ['src']), undefined);
});
