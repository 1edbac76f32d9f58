// The rule builder and the typed values: one iptables rule's words -> matches, target, diagnostics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRule, type RuleContext } from '../../server/src/model/iptables-rule';
import { parseIptablesDocument, type RuleItem } from '../../server/src/syntax/iptables-parser';
import { parseRuleset } from '../../server/src/parse';
import {
  addressValue, checkUint, interfaceValue, markValue, natToValue, parseIPv6, parseUnsigned, portListValue,
  portRangeValue, protocolNumber,
} from '../../server/src/model/values';
import { findMatch, findTarget, isKnownOptionFlag, ALL_MATCHES, ALL_TARGETS } from '../../server/src/knowledge/iptables-extensions';
import type { Range, Value } from '../../server/src/model/ruleset';

const R: Range = { start: { line: 0, character: 0 }, end: { line: 0, character: 1 } };
const FILTER_IN: RuleContext = { table: 'filter', family: 'ip', chain: 'INPUT', builtin: true };

/** Items of `-A CHAIN <rule>` after the chain name, as the parser gives them (line 0). */
function items(rule: string): RuleItem[] {
  const doc = parseIptablesDocument(`-A X ${rule}\n`);
  const line = doc.lines[0];
  assert.equal(line.kind, 'command');
  return (line as { items: RuleItem[] }).items.slice(2);
}

function build(rule: string, ctx: RuleContext = FILTER_IN) {
  return buildRule(items(rule), ctx);
}

function codes(rule: string, ctx: RuleContext = FILTER_IN): string[] {
  return build(rule, ctx).diagnostics.map((d) => `${d.severity}:${d.code}`);
}

/** Source text a diagnostic range covers in `-A X <rule>`. */
function covered(rule: string, r: Range): string {
  return `-A X ${rule}`.slice(r.start.character, r.end.character);
}

test('numbers read like strtoul base 0, with exact u64 bounds', () => {
  assert.equal(parseUnsigned('0x10'), 16);
  assert.equal(parseUnsigned('010'), 8);
  assert.equal(parseUnsigned('4294967295'), 4294967295);
  assert.ok(Number.isNaN(parseUnsigned('12a')));
  assert.equal(checkUint('18446744073709551615', 0, 18446744073709551615), 18446744073709551615);
  assert.match(String(checkUint('18446744073709551616', 0, 18446744073709551615)), /out of range/);
  assert.match(String(checkUint('-1', 0, 255)), /negative/);
  assert.match(String(checkUint('256', 0, 255)), /out of range 0\.\.255/);
});

test('addresses: prefixes, dotted and non-contiguous masks, IPv6, hostnames, family', () => {
  const a = addressValue('10.11.12.13/255.128.0.0', R, 'ip') as Extract<Value, { kind: 'address' }>;
  assert.equal(a.kind, 'address');
  assert.equal(a.prefix, 9);
  assert.equal((addressValue('10.0.12.0/255.0.255.0', R, 'ip') as { prefix: number }).prefix, -1);
  assert.equal((addressValue('10.0.0.1', R, 'ip') as { prefix: number }).prefix, 32);
  assert.match(String(addressValue('10.0.0.0/33', R, 'ip')), /more than 32/);
  assert.match(String(addressValue('1.2.3.256', R, 'ip')), /not a valid IPv4/);
  assert.equal((addressValue('example.com', R, 'ip') as { hostname?: boolean }).hostname, true);
  assert.match(String(addressValue('2001:db8::1', R, 'ip')), /IPv6 address; this is an IPv4/);
  assert.match(String(addressValue('10.0.0.1', R, 'ip6')), /IPv4 address; this is an IPv6/);
  assert.equal((addressValue('2001:db8::/ffff:ffff::', R, 'ip6') as { prefix: number }).prefix, 32);
  assert.deepEqual(parseIPv6('::ffff:1.2.3.4'), [0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304]);
  assert.equal(parseIPv6('1::2::3'), undefined);
});

test('ports: names, open ranges, reversed ranges, multiport slots', () => {
  assert.deepEqual(pick(portRangeValue('ssh', R)), { from: 22, to: 22 });
  assert.deepEqual(pick(portRangeValue(':4', R)), { from: 0, to: 4 });
  assert.deepEqual(pick(portRangeValue('1024:', R)), { from: 1024, to: 65535 });
  assert.match(String(portRangeValue('4:3', R)), /reversed/);
  assert.match(String(portRangeValue('65536', R)), /out of range/);
  const ml = portListValue('53,1024:65535', R) as Extract<Value, { kind: 'ports' }>;
  assert.deepEqual(ml.ports, [{ from: 53, to: 53 }, { from: 1024, to: 65535 }]);
  assert.match(String(portListValue('1,2,3,4,5,6,7,8,9,10,11,12,13,14,15:16', R)), /at most 15/);
});

function pick(v: unknown) {
  const x = v as { from: number; to: number };
  return { from: x.from, to: x.to };
}

test('NAT targets, interfaces, marks, protocols', () => {
  assert.equal(typeof natToValue('1.1.1.1-1.1.1.10:1025-65535', R, 'ip'), 'object');
  assert.equal(typeof natToValue('[dead::beef-dead::fee7]:1000-2000/65535', R, 'ip6'), 'object');
  assert.equal(typeof natToValue('dead::beef', R, 'ip6'), 'object');
  assert.match(String(natToValue('1.1.1.1:echo-ssh', R, 'ip')), /not a number/);
  assert.match(String(natToValue('1.1.1.1:1000-2000/0', R, 'ip')), /base port/);
  assert.match(String(natToValue('[1.1.1.1]:80', R, 'ip')), /brackets/);
  const i = interfaceValue('eth+', R) as Extract<Value, { kind: 'interface' }>;
  assert.deepEqual([i.name, i.wildcard], ['eth', true]);
  assert.match(String(interfaceValue('0123456789abcdef', R)), /at most 15/);
  const m = markValue('0x200/0x200', R) as Extract<Value, { kind: 'mark' }>;
  assert.deepEqual([m.value, m.mask, m.hasMask], [0x200, 0x200, true]);
  assert.match(String(markValue('0x100000000', R)), /32-bit/);
  assert.equal(protocolNumber('TCP'), 6);
  assert.equal(protocolNumber('ipv6-icmp'), 58);
  assert.match(String(protocolNumber('tcpp')), /unknown protocol/);
});

test('-p tcp --dport loads the tcp match implicitly; the port is typed', () => {
  const r = build('-s 10.0.0.0/8 -p tcp --dport 80 -j ACCEPT');
  assert.deepEqual(r.diagnostics, []);
  assert.deepEqual(r.matches.map((m) => m.module), ['', 'tcp']);
  assert.equal(r.matches[1].moduleRange, undefined);
  const dport = r.matches[1].options[0];
  assert.equal(dport.name, 'dport');
  assert.deepEqual(pick(dport.values[0]), { from: 80, to: 80 });
  assert.equal(r.matches[0].options[0].values[0].kind, 'address');
  assert.deepEqual(r.actions.map((a) => [a.kind, a.name, a.known]), [['verdict', 'ACCEPT', true]]);
});

test('a port option before -p is unknown, with the range on the flag', () => {
  const rule = '--dport 22 -p tcp -j ACCEPT';
  const r = build(rule);
  const d = r.diagnostics.find((x) => x.code === 'unknown-option')!;
  assert.equal(d.severity, 'error');
  assert.equal(covered(rule, d.range), '--dport');
  assert.match(d.message, /-p tcp/);
});

test('targets: verdict, extension with typed options, chain jump and goto', () => {
  const m = build('-j MARK --set-xmark 0x10/0x10', { table: 'mangle', family: 'ip', chain: 'PREROUTING', builtin: true });
  assert.deepEqual(m.diagnostics, []);
  assert.equal(m.actions[0].kind, 'extension');
  assert.equal(m.actions[0].options[0].values[0].kind, 'mark');
  const j = build('-j MY-CHAIN');
  assert.deepEqual([j.actions[0].kind, j.actions[0].chain], ['jump', 'MY-CHAIN']);
  assert.equal(covered('-j MY-CHAIN', j.actions[0].chainRange!), 'MY-CHAIN');
  const g = build('-g ACCEPT');
  assert.deepEqual([g.actions[0].kind, g.actions[0].chain], ['goto', 'ACCEPT']);
  // A name that is no known target is a chain; a chain takes no options (iptables: unknown option).
  const u = build('-j TPCMSS --clamp-mss-to-pmtu');
  assert.deepEqual(u.diagnostics.map((d) => d.code), ['unknown-option']);
  assert.match(u.diagnostics[0].message, /did you mean TCPMSS\?/);
  assert.deepEqual([u.actions[0].kind, u.actions[0].chain], ['jump', 'TPCMSS']);
});

test('unknown modules are warnings and keep their options unvalidated', () => {
  const rule = '-m quota2 --name q --quota 100 -j ACCEPT';
  const r = build(rule);
  assert.deepEqual(r.diagnostics.map((d) => `${d.severity}:${d.code}:${covered(rule, d.range)}`), ['warning:unknown-module:quota2']);
  assert.equal(r.matches[0].known, false);
  assert.deepEqual(r.matches[0].options.map((o) => o.name), ['name', 'quota']);
  assert.match(build('-m addtrype --dst-type LOCAL').diagnostics[0].message, /did you mean addrtype\?/);
});

test('negation: before the option, not inside; options that cannot be negated', () => {
  const r = build('-p tcp ! --dport 22 ! -s 10.0.0.1');
  assert.deepEqual(r.diagnostics, []);
  assert.equal(r.matches[1].options[0].negated, true);
  assert.equal(r.matches[0].options.find((o) => o.name === 'source')!.negated, true);
  assert.deepEqual(codes('-p tcp --dport ! 22'), ['error:misplaced-negation']);
  assert.deepEqual(codes('-s ! 10.0.0.1'), ['error:misplaced-negation']);
  assert.deepEqual(codes('-j TEE ! --gateway 1.1.1.1'), ['error:not-negatable']);
});

test('getopt forms: --name=value, glued short options, unique abbreviations', () => {
  const rule = '--protocol=tcp -s1.2.3.4 -ieth0 --dpo 22 -jACCEPT';
  const r = build(rule);
  assert.deepEqual(r.diagnostics.map((d) => d.code), ['abbreviated-option']);
  const base = r.matches[0].options;
  assert.deepEqual(base.map((o) => o.name), ['protocol', 'source', 'in-interface']);
  assert.equal(covered(rule, base[0].values[0].range), 'tcp');
  assert.equal(covered(rule, base[1].values[0].range), '1.2.3.4');
  assert.equal(covered(rule, base[1].nameRange), '-s');
  assert.equal(r.matches[1].options[0].name, 'dport');
  assert.equal(r.actions[0].name, 'ACCEPT');
});

test('bad values point at the value and say why', () => {
  const rule = '-p tcp --dport 65536 -m mark --mark 0x1ffffffff -i 0123456789abcdef0';
  const r = build(rule);
  const got = r.diagnostics.map((d) => [d.code, covered(rule, d.range)]);
  assert.deepEqual(got, [['bad-value', '65536'], ['bad-value', '0x1ffffffff'], ['bad-value', '0123456789abcdef0']]);
  assert.match(r.diagnostics[0].message, /65535/);
});

test('required, exclusive, repeated options and missing arguments', () => {
  assert.deepEqual(codes('-m comment'), ['error:missing-option']);
  assert.deepEqual(codes('-m comment --comment'), ['error:missing-argument']);
  assert.deepEqual(codes('-p tcp -m tcp --syn --tcp-flags SYN SYN'), ['error:conflicting-options']);
  assert.deepEqual(codes('-p tcp --dport 1 --dport 2'), ['error:duplicate-option']);
  assert.deepEqual(codes('-s 1.1.1.1 -s 2.2.2.2'), ['error:duplicate-option']);
  assert.deepEqual(codes('-m state NEW'), ['error:unexpected-argument', 'error:missing-option']);
  assert.deepEqual(codes('-m statistic --mode nth --every 5'), ['error:missing-option']);
});

test('values the kernel judged: rate limits, mistyped ranges, single-address iprange', () => {
  assert.deepEqual(codes('-m limit --limit 10000/s'), []);
  assert.deepEqual(codes('-m limit --limit 10001/s'), ['error:bad-value']);
  assert.deepEqual(codes('-m limit --limit 600000/min'), []);
  assert.deepEqual(codes('-m hashlimit --hashlimit-upto 1000000/sec --hashlimit-name x'), []);
  assert.deepEqual(codes('-m hashlimit --hashlimit-upto 1000001/sec --hashlimit-name x'), ['error:bad-value']);
  assert.deepEqual(codes('-d 10.0.0.1-10.0.0.5'), ['error:bad-value']);
  assert.match(build('-d 10.0.0.1-10.0.0.5').diagnostics[0].message, /iprange/);
  assert.deepEqual(codes('-d gw.example.org'), ['warning:hostname']);
  assert.deepEqual(codes('-m iprange --src-range 10.0.0.1'), []);
  assert.deepEqual(codes('-m iprange --src-range 10.0.0.5-10.0.0.1'), ['warning:never-matches']);
});

test('protocol requirements follow iptables: -p after -m tcp is fine, multiport needs it first', () => {
  assert.deepEqual(codes('-m tcp --dport 1 -p tcp'), []);
  assert.deepEqual(codes('-m tcp --dport 1'), ['error:missing-protocol']);
  assert.deepEqual(codes('-p udp -m multiport --dports 53,67'), []);
  assert.deepEqual(codes('-m multiport --dports 53 -p udp'), ['error:missing-protocol']);
  assert.deepEqual(codes('! -p tcp --dport 22'), ['warning:negated-protocol']);
  assert.deepEqual(codes('! -p tcp -m tcp'), ['error:negated-protocol']);
  assert.deepEqual(codes('! -p all'), ['error:never-matches']);
  const nat: RuleContext = { table: 'nat', family: 'ip', chain: 'PREROUTING', builtin: true };
  assert.deepEqual(codes('-j DNAT --to-destination 10.0.0.1:80', nat), ['error:missing-protocol']);
  assert.deepEqual(codes('-p tcp -j DNAT --to-destination 10.0.0.1:80', nat), []);
});

test('tables, hooks and families the kernel enforces', () => {
  assert.deepEqual(codes('-j DNAT --to-destination 10.0.0.1'), ['error:table-mismatch']);
  assert.deepEqual(codes('-j DNAT --to-destination 10.0.0.1', { table: 'nat', family: 'ip', chain: 'INPUT', builtin: true }), ['error:hook-mismatch']);
  assert.deepEqual(codes('-j DNAT --to-destination 10.0.0.1', { table: 'nat', family: 'ip', chain: 'USERCHAIN', builtin: false }), []);
  assert.deepEqual(codes('-o eth0'), ['error:hook-mismatch']);
  assert.deepEqual(codes('-m owner --uid-owner 0'), ['error:hook-mismatch']);
  assert.deepEqual(codes('-m icmp --icmp-type 8 -p icmp', { table: 'filter', family: 'ip6', chain: 'INPUT', builtin: true }), ['error:family-mismatch']);
  assert.deepEqual(codes('-p ipv6-icmp --icmpv6-type echo-request', { table: 'filter', family: 'ip6', chain: 'INPUT', builtin: true }), []);
  assert.deepEqual(codes('-j TRACE'), ['warning:table-mismatch']);
});

test('comment and -c counters go to the rule', () => {
  const r = build('-m comment --comment "a \\"quoted\\" note" -c 10 2000 -j RETURN');
  assert.deepEqual(r.diagnostics, []);
  assert.equal(r.comment, 'a "quoted" note');
  assert.deepEqual(r.counters, { packets: 10, bytes: 2000 });
  // -c is a rule-level flag, not a packet match.
  assert.deepEqual(r.matches.map((m) => m.module), ['comment']);
  assert.deepEqual(codes('-c 1 2 -c 3 4'), ['error:duplicate-option']);
  assert.deepEqual(codes('-c 1 x'), ['error:bad-value']);
});

test('the same option name goes to the most recently loaded module', () => {
  const r = build('-m mark --mark 1 -m connmark --mark 2');
  assert.deepEqual(r.diagnostics, []);
  assert.deepEqual(r.matches.map((m) => [m.module, m.options.map((o) => o.values[0].text)]), [['mark', ['1']], ['connmark', ['2']]]);
  const rec = build('-m recent --rcheck --name a -m recent --update --name b');
  assert.deepEqual(rec.diagnostics, []);
  assert.deepEqual(rec.matches.map((m) => m.options.length), [2, 2]);
});

test('a whole document: chain context reaches the builder, prose and redactions are warnings', () => {
  const text = `root@host:~# iptables-save
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
-A INPUT -j DNAT --to-destination 10.0.0.1
-A PREROUTING -m mac --mac-source XX:XX:XX:XX:XX:XX -j RETURN
COMMIT
`;
  const rs = parseRuleset(text);
  const got = rs.diagnostics.map((d) => `${d.range.start.line}:${d.severity}:${d.code}`);
  assert.deepEqual(got, ['0:warning:not-iptables', '4:error:hook-mismatch', '5:warning:redacted-value']);
});

test('knowledge base: every module of the iptables test suite is known, with docs', () => {
  for (const n of ['tcp', 'udp', 'conntrack', 'multiport', 'hashlimit', 'u32', 'policy', 'srh', 'string', 'set']) assert.ok(findMatch(n, n === 'srh' ? 'ip6' : 'ip'), n);
  for (const n of ['MARK', 'CONNMARK', 'CT', 'DNAT', 'SNAT', 'MASQUERADE', 'REDIRECT', 'LOG', 'NFLOG', 'NFQUEUE', 'TPROXY', 'SYNPROXY', 'HMARK']) assert.ok(findTarget(n, 'ip'), n);
  assert.equal(findMatch('icmp', 'ip6'), undefined);
  assert.equal(findMatch('icmpv6', 'ip6')!.name, 'icmp6');
  assert.ok(isKnownOptionFlag('--ctstate'));
  for (const s of [...ALL_MATCHES, ...ALL_TARGETS]) {
    assert.ok(s.doc.length > 10 && s.doc.endsWith('.'), `${s.name} doc`);
    for (const o of s.options) assert.ok(o.doc.length > 3, `${s.name} --${o.name} doc`);
  }
});

test('a near miss of a known module is an error (the kernel cannot load it); a far one is a warning', () => {
  const typo = build('-m conntrakc --ctstate NEW -j ACCEPT').diagnostics.find((d) => d.code === 'unknown-module');
  assert.equal(typo?.severity, 'error');
  assert.match(typo!.message, /did you mean conntrack\?/);
  assert.equal(build('-m someaddon --x 1 -j ACCEPT').diagnostics.find((d) => d.code === 'unknown-module')?.severity, 'warning');
});
