// ipset save/list parsing and membership (`-m set --match-set NAME DIRS`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ipsetContains, parseIpsets, type Ipset } from '../../server/src/routing/index';

// Captured from `ipset save` / `ipset list` (ipset 7.17) in a scratch namespace.
const SAVE = `create a hash:ip family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x2e85be40
add a 10.0.0.0
add a 10.0.0.1
create n hash:net family inet hashsize 1024 maxelem 65536 counters comment bucketsize 12 initval 0x094be933
add n 10.1.0.0/16 nomatch packets 0 bytes 0
add n 10.0.0.0/8 packets 0 bytes 0 comment "wide net"
create ipp hash:ip,port family inet hashsize 1024 maxelem 65536 timeout 300 bucketsize 12 initval 0x5653daac
add ipp 10.0.0.2,tcp:82 timeout 299
add ipp 10.0.0.1,udp:53 timeout 99
add ipp 10.0.0.1,tcp:80 timeout 299
create np hash:net,port family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x67046c1d
add np 192.168.0.0/24,tcp:443
create ni hash:net,iface family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0xd5d9d0a1
add ni 10.0.0.0/8,eth0
create bp bitmap:port range 0-1024
add bp 22
add bp 80
create six hash:ip family inet6 hashsize 1024 maxelem 65536 bucketsize 12 initval 0x2a0a39d1
add six 2001:db8::1
create nm hash:ip family inet hashsize 1024 maxelem 65536 netmask 24 bucketsize 12 initval 0x523ed572
add nm 10.5.5.0
create bip bitmap:ip range 10.9.0.0-10.9.0.255
add bip 10.9.0.5
create ipn hash:ip,port,net family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x9beaa5d7
add ipn 10.0.0.1,tcp:80,172.16.0.0/12
create l list:set size 8
add l a
add l np
`;

const LIST = `Name: n
Type: hash:net
Revision: 7
Header: family inet hashsize 1024 maxelem 65536 counters comment bucketsize 12 initval 0x094be933
Size in memory: 673
References: 0
Number of entries: 2
Members:
10.1.0.0/16 nomatch packets 0 bytes 0
10.0.0.0/8 packets 0 bytes 0 comment "wide net"

Name: six
Type: hash:ip
Revision: 6
Header: family inet6 hashsize 1024 maxelem 65536 bucketsize 12 initval 0x2a0a39d1
Size in memory: 288
References: 0
Number of entries: 1
Members:
2001:db8::1
`;

function sets(text: string): Map<string, Ipset> {
  const { value, diagnostics } = parseIpsets(text);
  assert.deepEqual(diagnostics, []);
  return new Map(value.map((s) => [s.name, s]));
}

test('ipset save: types, options, members with their options', () => {
  const s = sets(SAVE);
  assert.equal(s.size, 11);
  const n = s.get('n')!;
  assert.deepEqual([n.type, n.method, n.dims, n.known, n.family], ['hash:net', 'hash', ['net'], true, 'ip']);
  assert.deepEqual(n.options.map((o) => o.key), ['family', 'hashsize', 'maxelem', 'counters', 'comment', 'bucketsize', 'initval']);
  assert.deepEqual(n.members.map((m) => [m.text, m.nomatch, m.options]), [
    ['10.1.0.0/16', true, [{ key: 'packets', value: '0' }, { key: 'bytes', value: '0' }]],
    ['10.0.0.0/8', false, [{ key: 'packets', value: '0' }, { key: 'bytes', value: '0' }, { key: 'comment', value: 'wide net' }]],
  ]);
  assert.deepEqual(s.get('ipp')!.members.map((m) => m.parts), [['10.0.0.2', 'tcp:82'], ['10.0.0.1', 'udp:53'], ['10.0.0.1', 'tcp:80']]);
  assert.equal(s.get('six')!.family, 'ip6');
  assert.deepEqual(s.get('l')!.members.map((m) => m.text), ['a', 'np']);
});

test('ipset list parses to the same sets as ipset save', () => {
  const a = sets(SAVE), b = sets(LIST);
  for (const name of ['n', 'six']) {
    const x = a.get(name)!, y = b.get(name)!;
    assert.deepEqual([y.type, y.family, y.options, y.members.map((m) => [m.text, m.nomatch, m.options])], [x.type, x.family, x.options, x.members.map((m) => [m.text, m.nomatch, m.options])]);
  }
  assert.deepEqual(b.get('n')!.range, { start: { line: 0, character: 0 }, end: { line: 9, character: 47 } });
});

test('ipset: bad lines get diagnostics, the rest is kept', () => {
  const { value, diagnostics } = parseIpsets('create x hash:ip family inet9\nadd y 1.2.3.4\ncreate z hash:wat\nadd x 1.2.3.4 frobs\nadd x\nadd x 1.2.3.5\ncreate x hash:ip\n');
  assert.deepEqual(value.map((s) => [s.name, s.members.map((m) => m.text), s.known]), [['x', ['1.2.3.4', '1.2.3.5'], true], ['z', [], false]]);
  assert.deepEqual(diagnostics.map((d) => [d.code, d.range.start.line, d.range.start.character, d.range.end.character]), [
    ['bad-family', 0, 24, 29], ['undefined-set', 1, 4, 5], ['unknown-ipset-type', 2, 9, 17], ['unknown-keyword', 3, 14, 19], ['missing-value', 4, 0, 5], ['duplicate-set', 6, 7, 8],
  ]);
});

test('membership: hash:ip, hash:net with nomatch, ports, iface, bitmaps, netmask, list:set', () => {
  const s = sets(SAVE);
  const has = (name: string, q: Parameters<typeof ipsetContains>[1], dirs: ('src' | 'dst')[] = ['src']) => ipsetContains(s.get(name)!, q, dirs, s);
  assert.equal(has('a', { src: '10.0.0.1' }), true);
  assert.equal(has('a', { src: '10.0.0.2' }), false);
  assert.equal(has('a', { src: '10.0.0.2', dst: '10.0.0.0' }, ['dst']), true);
  assert.equal(has('n', { src: '10.2.3.4' }), true);
  assert.equal(has('n', { src: '10.1.2.3' }), false, 'the /16 nomatch inside the /8');
  assert.equal(has('n', { src: '11.0.0.1' }), false);
  assert.equal(has('ipp', { src: '10.0.0.1', proto: 'tcp', sport: 80 }, ['src', 'src']), true);
  assert.equal(has('ipp', { src: '10.0.0.1', proto: 'tcp', dport: 80, sport: 5 }, ['src', 'dst']), true);
  assert.equal(has('ipp', { src: '10.0.0.1', proto: 'udp', dport: 80 }, ['src', 'dst']), false);
  assert.equal(has('ipp', { src: '10.0.0.1', proto: 'udp', dport: 53 }, ['src', 'dst']), true);
  assert.equal(has('ipp', { src: '10.0.0.1', dport: 53 }, ['src', 'dst']), undefined, 'protocol unknown');
  assert.equal(has('np', { dst: '192.168.0.77', proto: 6, dport: 443 }, ['dst', 'dst']), true);
  assert.equal(has('ni', { src: '10.3.3.3', iif: 'eth0' }, ['src', 'src']), true);
  assert.equal(has('ni', { src: '10.3.3.3', iif: 'eth1' }, ['src', 'src']), false);
  assert.equal(has('bp', { proto: 'udp', dport: 22 }, ['dst']), true);
  assert.equal(has('bp', { proto: 'icmp' }, ['dst']), false);
  assert.equal(has('nm', { src: '10.5.5.200' }), true);
  assert.equal(has('nm', { src: '10.5.6.1' }), false);
  assert.equal(has('bip', { src: '10.9.0.5' }), true);
  assert.equal(has('six', { src: '2001:db8::1' }), true);
  assert.equal(has('six', { src: '10.0.0.1' }), false);
  assert.equal(has('ipn', { src: '10.0.0.1', proto: 'tcp', dport: 80, dst: '172.20.0.1' }, ['src', 'dst', 'dst']), true);
  assert.equal(has('l', { src: '10.0.0.0' }), true);
  assert.equal(has('l', { src: '192.168.0.1', proto: 'tcp', sport: 443 }, ['src', 'src']), true);
  assert.equal(has('l', { src: '192.168.0.1', proto: 'tcp', sport: 444 }, ['src', 'src']), false);
});
