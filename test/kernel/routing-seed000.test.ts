// The seed 000 node profile (examples/seed000-node) loaded into a scratch namespace: its interfaces,
// addresses, routes and ip rules are recreated from the parsed model, the kernel's listings are parsed
// back and compared with the profile, and `ip route get` is compared with routeDecision for a grid of
// marks × destinations × arrival paths. The namespace is built by node-ns.ts (shared with the full walk).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { Netns, kernelAvailable } from '../support/netns';
import { loadNodeProfile, parseIpRoutes, parseIpRules, routeDecision } from '../../server/src/routing/index';
import { compare, parseRouteGet } from '../routing/route-get';
import { loadNodeRouting, routeKey as key } from './node-ns';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const avail = kernelAvailable();

test('seed 000 node: the kernel agrees with the profile\'s routing', { skip: avail.ok ? false : `kernel tests need root: ${avail.reason}` }, () => {
  const p = loadNodeProfile(join(repoRoot, 'examples/seed000-node/node.nflens-node'), (f) => readFileSync(f, 'utf8'));
  assert.deepEqual(p.diagnostics, []);
  const ns = new Netns('nl6p-rt');
  try {
    ns.must(['sysctl', '-qw', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0', 'net.ipv4.ip_forward=1']);
    loadNodeRouting(ns, p);

    // Round trip: what the kernel lists is what the profile says.
    const kRules = parseIpRules(ns.must(['ip', 'rule', 'show']));
    assert.deepEqual(kRules.diagnostics, []);
    assert.deepEqual(kRules.value.map((r) => r.text.replace(/\s+/g, ' ').trim()), p.routing.rules.map((r) => r.text.replace(/\s+/g, ' ').trim()));
    const kRoutes = parseIpRoutes(ns.must(['ip', '-4', 'route', 'show', 'table', 'all']));
    assert.deepEqual(kRoutes.diagnostics, []);
    const ours = p.routing.routes.map(key).sort();
    const theirs = kRoutes.value.filter((r) => r.table !== 255).map(key).sort();
    assert.deepEqual(theirs, ours);

    const marks = [0, 0x40, 0x100, 0x200, 0x300, 0x220, 0x210, 0x140];
    const dsts = ['10.244.0.3', '10.244.0.7', '10.244.0.8', '10.244.1.5', '93.184.216.34', '10.244.0.1', '192.168.127.2', '172.18.0.3'];
    // Arrivals from ztunnel's veth, the app pod's veth, the tunnels and the uplink; {} = sent by the node.
    const paths: { iif?: string; src?: string }[] = [{}, { iif: 'vethfe50c7fb', src: '10.244.0.3' }, { iif: 'veth7c2e91ab', src: '10.244.0.7' }, { iif: 'istioout', src: '192.168.127.2' }, { iif: 'eth0', src: '172.18.0.3' }, { iif: 'istioin', src: '192.168.126.2' }];
    let total = 0;
    const bad: string[] = [];
    const tables = new Map<string, number>();
    for (const mark of marks) for (const dst of dsts) for (const path of paths) {
      const args = ['ip', 'route', 'get', dst, ...(path.src ? ['from', path.src] : []), ...(path.iif ? ['iif', path.iif] : []), 'mark', `0x${mark.toString(16)}`, 'ipproto', 'tcp', 'dport', '80'];
      const r = ns.run(args);
      const kg = parseRouteGet((r.stdout ?? '') + (r.stderr ?? ''));
      const d = routeDecision(p.routing, { dst, src: path.src, iif: path.iif, mark, ipproto: 'tcp', dport: 80, uid: path.iif ? undefined : 0 });
      total++;
      tables.set(d.tableName ?? d.error ?? '?', (tables.get(d.tableName ?? d.error ?? '?') ?? 0) + 1);
      const why = compare(kg, d, path);
      if (why) bad.push(`${args.slice(1).join(' ')}: ${why}\n  kernel: ${kg.raw.split('\n')[0]}\n  ours:   ${d.summary}`);
    }
    console.log(`seed 000 node: ${total - bad.length}/${total} agree; decisions by table ${JSON.stringify(Object.fromEntries(tables))}`);
    if (bad.length) console.log(bad.join('\n'));
    assert.equal(bad.length, 0);
  } finally {
    ns.delete();
  }
});
