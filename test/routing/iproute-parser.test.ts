// Parsers for iproute2 output: every form the kernel prints, the command forms, and fault tolerance
// (a bad line gets a diagnostic with its range; the lines around it are kept).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAddrs, parseIpRoutes, parseIpRules, parseRtTables } from '../../server/src/routing/index';
import { formatInetAddr, formatInetPrefix } from '../../server/src/model/routing';

test('ip rule show: every selector and action the kernel prints', () => {
  const text = [
    '0:\tfrom all lookup local',
    '90:\tfrom all uidrange 5-10 prohibit',
    '95:\tfrom all ipproto tcp dport 80-90 lookup 103',
    '96:\tfrom 10.0.0.0/8 to 8.8.8.8 tos 0x10 fwmark 0x8 iif eth0 [detached] oif d1 unreachable',
    '97:\tfrom all goto 200 [unresolved]',
    '98:\tfrom all lookup main suppress_prefixlength 0',
    '99:\tnot from all fwmark 0x40/0x40 iif lo lookup 102 realms 1/2 proto boot',
    '100:\tfrom all sport 1000 blackhole',
    '101:\tfrom all nop',
    '1000:\tfrom all lookup [l3mdev-table]',
    '32766:\tfrom all lookup main',
  ].join('\n');
  const { value: r, diagnostics } = parseIpRules(text);
  assert.deepEqual(diagnostics.filter((d) => d.severity === 'error'), []);
  assert.equal(r.length, 11);
  assert.deepEqual([r[1].uidrange, r[1].action], [{ from: 5, to: 10 }, 'prohibit']);
  assert.deepEqual([r[2].ipproto, r[2].dport, r[2].table], [6, { from: 80, to: 90 }, 103]);
  const x = r[3];
  assert.equal(formatInetPrefix(x.from!), '10.0.0.0/8');
  assert.equal(formatInetPrefix(x.to!), '8.8.8.8');
  assert.deepEqual([x.tos, x.fwmark?.value, x.fwmark?.mask, x.iif, x.iifDetached, x.oif, x.action], [0x10, 8, 0xffffffff, 'eth0', true, 'd1', 'unreachable']);
  assert.deepEqual([r[4].action, r[4].gotoTarget, r[4].unresolved], ['goto', 200, true]);
  assert.equal(r[5].suppressPrefixlength, 0);
  assert.deepEqual([r[6].not, r[6].fwmark?.mask, r[6].iif, r[6].realms, r[6].protocol], [true, 0x40, 'lo', '1/2', 'boot']);
  assert.deepEqual([r[7].sport, r[7].action], [{ from: 1000, to: 1000 }, 'blackhole']);
  assert.equal(r[8].action, 'nop');
  // `[l3mdev-table]` is not a table name we know: kept, with a warning, and the decision says unknown.
  assert.equal(r[9].table, undefined);
  assert.ok(diagnostics.some((d) => d.code === 'unknown-table' && d.range.start.line === 9));
  assert.deepEqual(r[10].table, 254);
  assert.deepEqual(x.fwmark?.range, { start: { line: 3, character: 47 }, end: { line: 3, character: 50 } });
});

test('ip rule: command form, table names from rt_tables, priorities assigned like the kernel', () => {
  const tables = parseRtTables('# reserved\n255\tlocal\n251 wan1\n0x10 vpn # hex id\nbogus\n').value;
  assert.equal(tables.byName.get('wan1'), 251);
  const { value: r, diagnostics } = parseIpRules('ip rule add fwmark 2 table wan1 pref 10\nip rule add to 192.168.0.0/16 lookup main\nip -6 rule add from 2001:db8::/32 table vpn prio 7\n', { tables });
  assert.deepEqual(diagnostics, []);
  // The kernel's own rules come first (command lines add to them); the listing is in priority order.
  assert.deepEqual(r.map((x) => [x.family, x.priority, x.table]), [
    ['ip', 0, 255], ['ip6', 0, 255], ['ip6', 7, 0x10], ['ip', 9, 254], ['ip', 10, 251], ['ip', 32766, 254], ['ip6', 32766, 254], ['ip', 32767, 253],
  ]);
});

test('ip rule: a bad line gets a diagnostic with its range, the others are kept', () => {
  const { value: r, diagnostics } = parseIpRules('0:\tfrom all lookup local\n100:\tfrom all fwmark 0xZZ lookup 5\n101:\tfrom 10.0.0.300 lookup 6\n102:\tfrom all frobnicate 3 lookup 7\nnot a rule\n32766:\tfrom all lookup main\n');
  assert.deepEqual(r.map((x) => x.priority), [0, 102, 32766]);
  const at = (code: string) => diagnostics.filter((d) => d.code === code).map((d) => [d.range.start.line, d.range.start.character, d.range.end.character]);
  assert.deepEqual(at('bad-mark'), [[1, 21, 25]]);
  assert.deepEqual(at('bad-address'), [[2, 10, 20]]);
  assert.deepEqual(at('unknown-keyword'), [[3, 14, 24], [3, 25, 26]]);
  assert.deepEqual(at('rule-priority'), [[4, 0, 3]]);
});

test('ip rule: goto that does not point forward is an error', () => {
  const { diagnostics } = parseIpRules('100:\tfrom all goto 50\n');
  assert.deepEqual(diagnostics.map((d) => d.code), ['goto-backwards']);
});

test('ip route show table all: types, attributes, multipath, IPv6', () => {
  const text = [
    'default via 10.2.0.254 dev d1 table 101 ',
    '10.7.0.0/16 dev d2 table 101 scope link src 10.1.0.9 ',
    'blackhole 10.8.0.0/16 table 101 ',
    'unreachable 10.9.0.0/16 table 101 ',
    'throw 10.10.0.0/16 table 101 ',
    'default table 102 ',
    '\tnexthop via 10.1.0.254 dev d0 weight 1 ',
    '\tnexthop via 10.3.0.254 dev d2 weight 3 ',
    'prohibit 10.11.0.0/16 table 102 ',
    '8.8.0.0/16 via 10.2.0.254 dev d1 metric 10 mtu lock 1400 ',
    '8.8.0.0/16 via 10.1.0.254 dev d0 proto static metric 50 ',
    '8.9.0.0/16 via 10.99.0.254 dev d1 onlink ',
    '10.1.0.0/24 dev d0 proto kernel scope link src 10.1.0.1 linkdown ',
    'local 10.1.0.1 dev d0 table local proto kernel scope host src 10.1.0.1 ',
    'broadcast 10.1.0.255 dev d0 table local proto kernel scope link src 10.1.0.1 ',
    'fe80::/64 dev d0 proto kernel metric 256 pref medium',
    'default via fe80::1 dev d0 proto ra metric 1024 expires 1798sec hoplimit 64 pref medium',
    'local ::1 dev lo table local proto kernel metric 0 pref medium',
    'multicast ff00::/8 dev d0 table local proto kernel metric 256 pref medium',
    'unreachable default dev lo table 5 metric 1024 pref medium',
  ].join('\n');
  const { value: r, diagnostics } = parseIpRoutes(text);
  assert.deepEqual(diagnostics, []);
  assert.equal(r.length, 18);
  assert.deepEqual(r.map((x) => x.type).slice(0, 5), ['unicast', 'unicast', 'blackhole', 'unreachable', 'throw']);
  assert.deepEqual([r[1].scope, formatInetAddr(r[1].src!), r[1].table], [253, '10.1.0.9', 101]);
  const mp = r[5];
  assert.deepEqual([mp.multipath, mp.table, mp.nexthops.map((h) => `${formatInetAddr(h.gateway!)} ${h.dev} ${h.weight}`)], [true, 102, ['10.1.0.254 d0 1', '10.3.0.254 d2 3']]);
  assert.deepEqual(mp.range, { start: { line: 5, character: 0 }, end: { line: 7, character: 39 } });
  assert.deepEqual([r[7].metric, r[7].attrs], [10, [{ key: 'mtu', value: '1400' }]]);
  assert.deepEqual([r[8].proto, r[8].metric], ['static', 50]);
  assert.equal(r[9].nexthops[0].onlink, true);
  assert.deepEqual([r[11].type, r[11].table, r[11].scope], ['local', 255, 254]);
  assert.deepEqual(r.slice(13).map((x) => [x.family, x.type, formatInetPrefix(x.dst), x.table]), [
    ['ip6', 'unicast', 'fe80::/64', 254], ['ip6', 'unicast', 'default', 254], ['ip6', 'local', '::1', 255],
    ['ip6', 'multicast', 'ff00::/8', 255], ['ip6', 'unreachable', 'default', 5],
  ]);
});

test('ip route: `show table N` output takes N; command form with continuations (seed 004)', () => {
  const t101 = parseIpRoutes('default via 192.168.127.2 dev istioout \n10.244.0.3 dev vethfe50c7fb scope link \n', { table: 101 });
  assert.deepEqual(t101.value.map((x) => x.table), [101, 101]);
  const tables = parseRtTables('251 wan1\n250 wan2\n').value;
  const cmd = parseIpRoutes([
    'ip route add 192.168.1.0/24  table wan1 dev wan1 ',
    'ip route add default via 192.168.1.1 table wan1  dev wan1 ',
    'ip route add default scope global \\',
    '\tnexthop via 192.168.1.1 dev wan1 weight 1 \\',
    '\tnexthop via 192.168.2.1 dev wan2 weight 2',
  ].join('\n'), { tables });
  assert.deepEqual(cmd.diagnostics, []);
  assert.deepEqual(cmd.value.map((x) => [x.table, formatInetPrefix(x.dst), x.scope, x.nexthops.length]), [[251, '192.168.1.0/24', 253, 1], [251, 'default', 0, 1], [254, 'default', 0, 2]]);
});

test('ip route: bad lines are reported and skipped, the rest kept', () => {
  const { value: r, diagnostics } = parseIpRoutes('10.0.0.0/33 dev d0\n10.1.0.0/16 via 10.1.0.x dev d0\n10.2.0.0/16 dev d0 table nosuch\n10.3.0.0/16\n\tnexthop via 1.2.3.4\n10.4.0.0/16 dev d0 wibble\n10.5.0.0/16 dev d0\n');
  assert.deepEqual(r.map((x) => formatInetPrefix(x.dst)), ['10.3.0.0/16', '10.4.0.0/16', '10.5.0.0/16']);
  assert.deepEqual(diagnostics.map((d) => [d.code, d.range.start.line, d.severity]), [
    ['bad-address', 0, 'error'], ['bad-address', 1, 'error'], ['unknown-table', 2, 'error'], ['unknown-keyword', 5, 'warning'],
  ]);
  assert.deepEqual(diagnostics[1].range, { start: { line: 1, character: 16 }, end: { line: 1, character: 24 } });
});

test('ip addr and ip -br addr', () => {
  const full = parseAddrs([
    '1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000',
    '    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00',
    '    inet 127.0.0.1/8 scope host lo',
    '       valid_lft forever preferred_lft forever',
    '3: d0@p0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default qlen 1000',
    '    link/ether b6:ae:e6:03:9f:e1 brd ff:ff:ff:ff:ff:ff',
    '    inet 10.1.0.1/24 brd 10.1.0.255 scope global d0',
    '    inet 10.1.0.9/24 scope global secondary d0:1',
    '    inet 10.9.0.1 peer 10.9.0.2/32 scope global d0',
    '    inet 10.8.0.1/24 brd 10.8.0.255 scope global dynamic noprefixroute d0',
    '    inet6 fe80::b4ae:e6ff:fe03:9fe1/64 scope link tentative ',
    '4: d1: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN group default qlen 1000',
  ].join('\n'));
  assert.deepEqual(full.diagnostics, []);
  const [lo, d0, d1] = full.value;
  assert.deepEqual([lo.name, lo.addrs[0].scope, lo.up], ['lo', 254, true]);
  assert.deepEqual([d0.name, d0.link, d0.index, d0.mtu, d0.state], ['d0', 'p0', 3, 1500, 'UP']);
  assert.deepEqual(d0.addrs.map((a) => [a.text, a.secondary, a.scope, a.label ?? '']), [
    ['10.1.0.1/24', false, 0, 'd0'], ['10.1.0.9/24', true, 0, 'd0:1'], ['10.9.0.1', false, 0, 'd0'], ['10.8.0.1/24', false, 0, 'd0'], ['fe80::b4ae:e6ff:fe03:9fe1/64', false, 253, ''],
  ]);
  assert.deepEqual(d0.addrs.map((a) => !!a.noprefixroute), [false, false, false, true, false]);
  assert.equal(formatInetPrefix(d0.addrs[2].prefix), '10.9.0.2');
  assert.equal(d1.up, false);
  const br = parseAddrs('lo               UNKNOWN        127.0.0.1/8 ::1/128 \nd0@p0            UP             10.1.0.1/24 10.1.0.9/24 fe80::b4ae:e6ff:fe03:9fe1/64 \nd1 DOWN 10.2.0.1/16 10.2.0.300/16\n');
  assert.deepEqual(br.value.map((i) => [i.name, i.up, i.addrs.map((a) => `${a.text}${a.secondary ? ' secondary' : ''} ${a.scope}`)]), [
    ['lo', true, ['127.0.0.1/8 254', '::1/128 254']],
    ['d0', true, ['10.1.0.1/24 0', '10.1.0.9/24 secondary 0', 'fe80::b4ae:e6ff:fe03:9fe1/64 253']],
    ['d1', false, ['10.2.0.1/16 0']],
  ]);
  assert.deepEqual(br.diagnostics.map((d) => [d.code, d.range]), [['bad-address', { start: { line: 2, character: 20 }, end: { line: 2, character: 33 } }]]);
});
