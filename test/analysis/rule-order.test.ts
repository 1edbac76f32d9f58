// Unreachable, shadowed and redundant rules over the match space, following packet changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diags, codes, linesOf, save } from './helpers';

// save('filter', [...]) puts the first rule on line 5 plus the number of user chains.
test('a rule after an unconditional ACCEPT is unreachable, and names the rule responsible', () => {
  const ds = diags(save('filter', [], ['-A INPUT -j ACCEPT', '-A INPUT -p tcp -j DROP']));
  const u = codes(ds, 'unreachable-rule');
  assert.deepEqual(u.map((d) => d.range.start.line + 1), [6]);
  assert.equal(u[0].related![0].range.start.line + 1, 5);
  const fix = (u[0] as { fixes?: { edits: { range: { start: { line: number }; end: { line: number } }; newText: string }[] }[] }).fixes![0];
  assert.deepEqual([fix.edits[0].range.start.line, fix.edits[0].range.end.line, fix.edits[0].newText], [5, 6, '']);
});

test('CIDR, port range, protocol and interface containment', () => {
  const ds = diags(save('filter', [], [
    '-A INPUT -s 10.0.0.0/8 -p tcp -m tcp --dport 1000:2000 -i eth+ -j DROP',
    '-A INPUT -s 10.1.2.0/24 -p tcp -m tcp --dport 1500 -i eth0 -j ACCEPT', // inside: shadowed
    '-A INPUT -s 10.1.2.0/24 -p udp -m udp --dport 1500 -i eth0 -j ACCEPT', // other protocol
    '-A INPUT -s 10.1.2.0/24 -p tcp -m tcp --dport 1500 -i wlan0 -j ACCEPT', // other interface
    '-A INPUT -s 10.1.2.0/24 -p tcp -m tcp --dport 999:1500 -i eth0 -j ACCEPT', // range sticks out
    '-A INPUT -s 10.1.2.0/24 -p tcp -m tcp --dport 1500 -i eth0 -j DROP', // inside, same verdict
  ]));
  assert.deepEqual(linesOf(ds, 'shadowed-rule'), [6]);
  assert.deepEqual(linesOf(ds, 'redundant-rule'), [10]);
});

test('negations: ! -s and ! -i are reasoned about, not ignored', () => {
  const ds = diags(save('filter', [], [
    '-A INPUT ! -s 10.0.0.0/8 -j DROP',
    '-A INPUT -s 192.168.1.1 -j ACCEPT', // outside 10/8: inside the negation
    '-A INPUT -s 10.2.3.4 -j ACCEPT', // not shadowed
    '-A INPUT ! -i lo -j REJECT',
    '-A INPUT -s 10.2.3.5 -i eth0 -j ACCEPT', // eth0 is not lo
  ]));
  assert.deepEqual(linesOf(ds, 'shadowed-rule'), [6, 9]);
});

test('a match we do not model makes the earlier rule "may match": no claim', () => {
  const ds = diags(save('filter', [], [
    '-A INPUT -p tcp -m limit --limit 1/s -j ACCEPT',
    '-A INPUT -p tcp -m tcp --dport 22 -j DROP',
    '-A INPUT -p tcp -m set --match-set foo src -j ACCEPT',
    '-A INPUT -p tcp -m tcp --dport 22 -j DROP',
  ]));
  assert.deepEqual(codes(ds, 'shadowed-rule'), []);
  assert.deepEqual(codes(ds, 'unreachable-rule'), []);
});

test('a MARK in between that sets the tested bit is followed: the later test is reachable', () => {
  const ds = diags(save('mangle', [], [
    '-A PREROUTING -m mark --mark 0x200/0x200 -j ACCEPT',
    '-A PREROUTING -i veth0 -j MARK --set-xmark 0x210/0x210',
    '-A PREROUTING -m mark --mark 0x200/0x200 -j ACCEPT',
    '-A PREROUTING -j MARK --set-xmark 0x1/0x1',
    '-A PREROUTING -m mark --mark 0x200/0x200 -j ACCEPT', // 0x1 changed, 0x200 not: redundant
  ]));
  assert.deepEqual(codes(ds, 'redundant-rule').map((d) => d.range.start.line + 1), [11]);
  assert.match(codes(ds, 'redundant-rule')[0].message, /rule 3 of PREROUTING \(line 9\)/);
});

test('a jump in between into a chain that changes the mark is followed too', () => {
  const ds = diags(save('mangle', ['SETM'], [
    '-A PREROUTING -m mark --mark 0x1/0x1 -j ACCEPT',
    '-A PREROUTING -j SETM',
    '-A PREROUTING -m mark --mark 0x1/0x1 -j ACCEPT',
    '-A SETM -p udp -j MARK --set-xmark 0x1/0x1',
  ]));
  assert.deepEqual(codes(ds, 'redundant-rule'), []);
  assert.deepEqual(codes(ds, 'shadowed-rule'), []);
});

test('a jump to a chain that always ends in a verdict ends the caller; RETURN in between does not', () => {
  const ends = diags(save('filter', ['BLOCK'], ['-A INPUT -j BLOCK', '-A INPUT -j ACCEPT', '-A BLOCK -j LOG', '-A BLOCK -j DROP']));
  assert.deepEqual(linesOf(ends, 'unreachable-rule'), [7]);
  const returns = diags(save('filter', ['BLOCK'], ['-A INPUT -j BLOCK', '-A INPUT -j ACCEPT', '-A BLOCK -p tcp -j RETURN', '-A BLOCK -j DROP']));
  assert.deepEqual(linesOf(returns, 'unreachable-rule'), []);
});

test('ct state and marks with masks', () => {
  const ds = diags(save('filter', [], [
    '-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
    '-A INPUT -m state --state ESTABLISHED -j DROP', // inside
    '-A INPUT -m conntrack --ctstate NEW,ESTABLISHED -j DROP', // NEW sticks out
    '-A INPUT -m mark --mark 0x10/0xf0 -j DROP',
    '-A INPUT -m mark --mark 0x13/0xff -j ACCEPT', // (mark & 0xf0) == 0x10 holds: inside
    '-A INPUT -m mark --mark 0x23/0xff -j ACCEPT',
  ]));
  assert.deepEqual(linesOf(ds, 'shadowed-rule'), [6, 9]);
});

test('nftables: unreachable after an unconditional verdict, shadowed sets and ranges, limit makes a rule "may match"', () => {
  const text = `table inet f {
	chain input {
		type filter hook input priority 0; policy drop;
		ip saddr 10.0.0.0/8 tcp dport { 80, 443 } accept
		ip saddr 10.1.0.0/16 tcp dport 443 drop
		ip saddr 10.1.0.0/16 udp dport 443 drop
		udp dport 1000-2000 limit rate 10/second accept
		udp dport 1500 drop
		iifname "eth*" ct state established,related counter accept
		iifname "eth0" ct state established drop
		ip6 saddr ::1 tcp dport 80 drop
		meta mark and 0xff == 0x1 drop
		meta mark set 0x1
		meta mark and 0xff == 0x1 accept
		jump sink
		tcp dport 22 accept
	}
	chain sink {
		counter
		drop
	}
}
`;
  const ds = diags(text);
  assert.deepEqual(linesOf(ds, 'shadowed-rule'), [5, 10]);
  assert.deepEqual(linesOf(ds, 'redundant-rule'), []);
  // line 14 tests the mark after line 13 set it: not claimed. Line 16 follows `jump sink`, which always drops.
  assert.deepEqual(linesOf(ds, 'unreachable-rule'), [16]);
  assert.match(codes(ds, 'unreachable-rule')[0].message, /jump sink/);
});

test('generalization: a later, wider rule with another verdict names the exception before it (information); catch-alls are left out', () => {
  const ds = diags(save('filter', [], [
    '-A INPUT -s 10.1.2.3 -p tcp -m tcp --dport 22 -j ACCEPT',
    '-A INPUT -s 10.0.0.0/8 -p tcp -j DROP', // generalizes line 5
    '-A INPUT -s 10.0.0.0/8 -p tcp -m tcp --dport 22 -j ACCEPT', // shadowed by line 6
    '-A INPUT -j DROP', // catch-all: not reported as a generalization
  ]));
  const g = codes(ds, 'generalizes-rule');
  assert.deepEqual(g.map((d) => [d.range.start.line + 1, d.related![0].range.start.line + 1, d.severity]), [[6, 5, 'information']]);
  assert.deepEqual(linesOf(ds, 'shadowed-rule'), [7]);
});

test('covered by several earlier rules together: shadowed, naming all of them', () => {
  const ds = diags(save('filter', [], [
    '-A INPUT -s 10.0.0.0/9 -p tcp -j DROP',
    '-A INPUT -s 10.128.0.0/9 -p tcp -j REJECT',
    '-A INPUT -p udp -m udp --dport 1:1000 -j DROP',
    '-A INPUT -p udp -m udp --dport 1001:65535 -j DROP',
    '-A INPUT -s 10.0.0.0/8 -p tcp -m tcp --dport 22 -j ACCEPT', // rules 1 and 2 together
    '-A INPUT -p udp -m udp --dport 53:2000 -j ACCEPT', // rules 3 and 4 together
    '-A INPUT -p udp -j ACCEPT', // udp port 0 is left
    '-A INPUT -s 10.0.0.0/8 -j ACCEPT', // icmp is left
  ]));
  assert.deepEqual(linesOf(ds, 'shadowed-rule'), [9, 10]);
  const a = codes(ds, 'shadowed-rule');
  assert.deepEqual(a[0].related!.map((r) => r.range.start.line + 1), [5, 6]);
  assert.deepEqual(a[1].related!.map((r) => r.range.start.line + 1), [7, 8]);
  assert.match(a[0].message, /together/);
});

test('owner: a packet without a socket passes a negated test; uid ranges; names are not resolved', () => {
  const ds = diags(save('nat', [], [
    '-A OUTPUT -p tcp -m owner ! --uid-owner 1337 -j RETURN',
    '-A OUTPUT -p tcp -m owner --uid-owner 1000-2000 -j RETURN', // uid 1337 gets here
    '-A OUTPUT -p tcp -j RETURN', // no socket and uid != 1337 returned at line 6, uid 1337 at line 7
    '-A OUTPUT -p udp -m owner --uid-owner 1337 -j RETURN',
    '-A OUTPUT -p udp -m owner ! --uid-owner 0-1336 -j ACCEPT', // uid >1336 and no socket: not inside line 7 alone
    '-A OUTPUT -p udp -m owner --uid-owner root -j RETURN', // names: unknown, never claimed covering
  ]));
  assert.deepEqual(linesOf(ds, 'redundant-rule'), [8]);
  assert.deepEqual(codes(ds, 'redundant-rule')[0].related!.map((r) => r.range.start.line + 1), [6, 7]);
  assert.deepEqual(linesOf(ds, 'shadowed-rule'), []);
});
