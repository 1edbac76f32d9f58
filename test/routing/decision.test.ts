// routeDecision on small hand-made configs: what it answers "unknown" to, the step list, multipath
// as "one of", and the kernel details the agreement test found (ip rule command form included).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAddrs, parseIpRoutes, parseIpRules, parseRtTables, routeDecision, type RoutingConfig } from '../../server/src/routing/index';

function cfg(rules: string, routes: string, addrs: string, rt = '', family: 'ip' | 'ip6' = 'ip'): RoutingConfig {
  const tables = parseRtTables(rt).value;
  const r = parseIpRules(rules, { tables, family }), ro = parseIpRoutes(routes, { tables }), a = parseAddrs(addrs);
  for (const p of [r, ro, a]) assert.deepEqual(p.diagnostics, []);
  return { rules: r.value, routes: ro.value, interfaces: a.value, tables, forwarding: true };
}

const ADDRS = 'lo UNKNOWN 127.0.0.1/8\nwan1 UP 192.168.1.10/24\nwan2 UP 192.168.2.10/24\nlan UP 192.168.10.1/24\n';

test('seed 004 multi-WAN: ct-mark-restored marks pick the WAN; no mark is "one of" the two weighted next hops', () => {
  const c = cfg(
    'ip rule add fwmark 2 table wan1\nip rule add fwmark 3 table wan2\n',
    [
      'ip route add 192.168.1.0/24  table wan1 dev wan1',
      'ip route add default via 192.168.1.1 table wan1  dev wan1',
      'ip route add 192.168.2.0/24  table wan2 dev wan2',
      'ip route add default via 192.168.2.1 table wan2  dev wan2',
      'ip route add 192.168.10.0/24 table main dev lan',
      'ip route add 192.168.1.0/24  table main dev wan1',
      'ip route add 192.168.2.0/24  table main dev wan2',
      'ip route add default scope global \\',
      '\tnexthop via 192.168.1.1 dev wan1 weight 1 \\',
      '\tnexthop via 192.168.2.1 dev wan2 weight 2',
    ].join('\n'),
    ADDRS,
    '251 wan1\n250 wan2\n',
  );
  // Rules without a priority go in front of the previous ones, as the kernel numbers them.
  assert.deepEqual(c.rules.map((r) => r.priority), [0, 32764, 32765, 32766, 32767]);
  const fromLan = { iif: 'lan', src: '192.168.10.20', dst: '1.1.1.1', ipproto: 'tcp', dport: 443 } as const;
  const m3 = routeDecision(c, { ...fromLan, mark: 3 });
  assert.deepEqual([m3.tableName, m3.gateway, m3.dev], ['wan2', '192.168.2.1', 'wan2']);
  const m2 = routeDecision(c, { ...fromLan, mark: 2 });
  assert.deepEqual([m2.tableName, m2.gateway, m2.dev], ['wan1', '192.168.1.1', 'wan1']);
  const none = routeDecision(c, { ...fromLan });
  assert.equal(none.tableName, 'main');
  assert.equal(none.dev, undefined);
  assert.deepEqual(none.nexthops.map((h) => [h.gateway, h.dev, h.weight]), [['192.168.1.1', 'wan1', 1], ['192.168.2.1', 'wan2', 2]]);
  assert.match(none.summary, /one of: via 192\.168\.1\.1 dev wan1 \| via 192\.168\.2\.1 dev wan2$/);
  // Sent by the router itself: each next hop comes with its own source address.
  const own = routeDecision(c, { dst: '1.1.1.1', uid: 0 });
  assert.deepEqual(own.nexthops.map((h) => h.src), ['192.168.1.10', '192.168.2.10']);
  assert.deepEqual(own.steps.map((s) => `${s.rule.priority} ${s.outcome}`), ['0 miss', '32764 no-match', '32765 no-match', '32766 hit']);
});

test('unknown instead of a guess: uid of a sent packet, l3mdev, unknown table name, suppress_ifgroup', () => {
  const base = 'lo UNKNOWN 127.0.0.1/8\neth0 UP 10.0.0.2/24\n';
  const routes = 'default via 10.0.0.1 dev eth0\n10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.2\n';
  const uid = cfg('0:\tfrom all lookup local\n10:\tfrom all uidrange 1000-1999 prohibit\n32766:\tfrom all lookup main\n', routes, base);
  const u = routeDecision(uid, { dst: '8.8.8.8' });
  assert.equal(u.outcome, 'unknown');
  assert.match(u.reason!, /uid/);
  assert.equal(routeDecision(uid, { dst: '8.8.8.8', uid: 1500 }).error, 'prohibit');
  assert.equal(routeDecision(uid, { dst: '8.8.8.8', uid: 0 }).gateway, '10.0.0.1');
  // Arriving packets are looked up with uid 0 by the kernel.
  assert.equal(routeDecision(uid, { dst: '8.8.8.8', src: '10.0.0.9', iif: 'eth0' }).outcome, 'route');
  const vrf = parseIpRules('0:\tfrom all lookup local\n1000:\tfrom all lookup [l3mdev-table]\n32766:\tfrom all lookup main\n');
  const v = routeDecision({ ...uid, rules: vrf.value }, { dst: '8.8.8.8', uid: 0 });
  assert.equal(v.outcome, 'unknown');
  assert.match(v.reason!, /l3mdev-table/);
  const grp = parseIpRules('0:\tfrom all lookup local\n5:\tfrom all lookup main suppress_ifgroup 3\n');
  assert.equal(routeDecision({ ...uid, rules: grp.value }, { dst: '8.8.8.8', uid: 0 }).outcome, 'unknown');
  assert.equal(routeDecision(uid, { dst: '224.0.0.5', uid: 0 }).outcome, 'unknown');
  assert.equal(routeDecision(uid, { dst: 'not-an-address' }).outcome, 'unknown');
});

test('forwarding off: a routed arrival is "no route to host", local delivery still works', () => {
  const c = cfg('', 'default via 10.0.0.1 dev eth0\n', 'lo UNKNOWN 127.0.0.1/8\neth0 UP 10.0.0.2/24\n');
  c.forwarding = false;
  const d = routeDecision(c, { dst: '8.8.8.8', src: '10.0.0.9', iif: 'eth0' });
  assert.deepEqual([d.outcome, d.error, d.errno], ['error', 'host-unreachable', 'EHOSTUNREACH']);
  assert.equal(routeDecision(c, { dst: '10.0.0.2', src: '10.0.0.9', iif: 'eth0' }).type, 'local');
  assert.equal(routeDecision(c, { dst: '10.0.0.2', src: '10.0.0.2', iif: 'eth0' }).error, 'martian-source');
});

test('IPv6 output: rules and tables apply; an unreachable route is EHOSTUNREACH as for IPv4 (seen with ip -6 route get)', () => {
  const c = cfg(
    '0:\tfrom all lookup local\n100:\tfrom all fwmark 0x1 lookup 10\n32766:\tfrom all lookup main\n',
    'default via fe80::1 dev eth0 proto ra metric 1024 pref medium\nunreachable 2001:db8:dead::/48 dev lo table 10 metric 1024 pref medium\n2001:db8::/32 via fe80::2 dev eth0 table 10 metric 1024 pref medium\n',
    'lo UNKNOWN ::1/128\neth0 UP 2001:db8:1::2/64 fe80::9/64\n',
    '',
    'ip6', // `ip -6 rule` output: "from all" does not tell the family
  );
  const a = routeDecision(c, { dst: '2001:db8:5::1', mark: 1, uid: 0 });
  assert.deepEqual([a.tableName, a.gateway, a.dev], ['10', 'fe80::2', 'eth0']);
  assert.match(a.reason!, /IPv6 source/);
  assert.equal(routeDecision(c, { dst: '2001:db8:dead::1', mark: 1, uid: 0 }).errno, 'EHOSTUNREACH');
  assert.equal(routeDecision(c, { dst: '2606:4700::1', uid: 0 }).gateway, 'fe80::1');
});

test('without a main listing the prefix routes come from the addresses, except noprefixroute ones', () => {
  const addrs = parseAddrs([
    '2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP',
    '    inet 10.0.0.2/24 brd 10.0.0.255 scope global eth0',
    '    inet 10.8.0.1/24 brd 10.8.0.255 scope global noprefixroute eth0',
  ].join('\n'));
  const c: RoutingConfig = { rules: [], routes: [], interfaces: addrs.value, tables: parseRtTables('').value, forwarding: true };
  const on = routeDecision(c, { dst: '10.0.0.7', uid: 0 });
  assert.deepEqual([on.tableName, on.dev, on.src, on.route?.origin], ['main', 'eth0', '10.0.0.2', 'from-addresses']);
  assert.equal(routeDecision(c, { dst: '10.8.0.7', uid: 0 }).error, 'unreachable');
  assert.equal(routeDecision(c, { dst: '10.8.0.1', uid: 0 }).type, 'local');
  assert.equal(routeDecision(c, { dst: '10.0.0.255', uid: 0 }).type, 'broadcast');
});

test('words the parser does not know make the decision unknown where they matter, not silently ignored', () => {
  const rules = parseIpRules('0:\tfrom all lookup local\n50:\tfrom all flowlabel 0x1/0xf lookup 7\n32766:\tfrom all lookup main\n', { family: 'ip6' });
  assert.deepEqual(rules.diagnostics.map((d) => [d.code, d.severity]), [['unknown-keyword', 'warning'], ['unknown-keyword', 'warning']]);
  const routes = parseIpRoutes('2001:db8:50::/48 from 2001:db8:1::/64 via fe80::1 dev eth0 metric 1024 pref medium\n2001:db8:60::/48 via fe80::1 dev eth0 metric 1024 pref medium\n');
  const c: RoutingConfig = { rules: rules.value, routes: routes.value, interfaces: [], tables: parseRtTables('').value, forwarding: true };
  const d = routeDecision(c, { dst: '2001:db8:60::1', uid: 0 });
  assert.equal(d.outcome, 'unknown');
  assert.match(d.reason!, /rule 50/);
  const noFlow: RoutingConfig = { ...c, rules: parseIpRules('0:\tfrom all lookup local\n32766:\tfrom all lookup main\n', { family: 'ip6' }).value };
  assert.equal(routeDecision(noFlow, { dst: '2001:db8:60::1', uid: 0 }).gateway, 'fe80::1');
  const src = routeDecision(noFlow, { dst: '2001:db8:50::1', uid: 0 });
  assert.equal(src.outcome, 'unknown');
  assert.match(src.reason!, /"from 2001:db8:1::\/64"/);
  assert.deepEqual(routes.diagnostics, []);
});
