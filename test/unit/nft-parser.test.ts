import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRuleset } from '../../server/src/parse';
import type { Range, Ruleset } from '../../server/src/model/ruleset';

const nft = (text: string): Ruleset => parseRuleset(text, { kind: 'nft' });
const r = (l1: number, c1: number, l2: number, c2: number): Range => ({ start: { line: l1, character: c1 }, end: { line: l2, character: c2 } });
const errors = (rs: Ruleset) => rs.diagnostics.filter((d) => d.severity === 'error');
/** Text a range covers, on one line. */
const at = (text: string, x: Range) => text.split('\n')[x.start.line].slice(x.start.character, x.end.character);

const DOC = `table inet filter { # handle 3
\tchain input {
\t\ttype filter hook input priority filter + 10; policy drop;
\t\tct state established,related accept
\t\ttcp dport { 22, 80 } ip saddr 10.0.0.0/8 counter packets 5 bytes 300 jump ssh comment "ssh in" # handle 7
\t}
\tchain ssh {
\t\tmeta mark and 0x200 == 0x200 drop
\t}
}
`;

test('nft: tables, base chains, rules, matches and actions with exact ranges', () => {
  const rs = nft(DOC);
  assert.deepEqual(errors(rs), []);
  assert.equal(rs.kind, 'nft');
  const t = rs.tables[0];
  assert.equal(t.family, 'inet');
  assert.equal(t.name, 'filter');
  assert.equal(at(DOC, t.nameRange), 'filter');
  const input = t.chains[0];
  assert.equal(input.name, 'input');
  assert.equal(at(DOC, input.nameRange), 'input');
  assert.equal(input.builtin, false);
  assert.equal(input.type, 'filter');
  assert.equal(input.hook, 'input');
  assert.equal(input.priority, 10);
  assert.equal(input.policy, 'drop');
  assert.equal(at(DOC, input.policyRange!), 'drop');
  assert.equal(input.rules.length, 2);
  const r1 = input.rules[1];
  assert.equal(at(DOC, r1.range), 'tcp dport { 22, 80 } ip saddr 10.0.0.0/8 counter packets 5 bytes 300 jump ssh comment "ssh in"');
  assert.equal(r1.handle, 7);
  assert.equal(r1.comment, 'ssh in');
  assert.deepEqual(r1.counters, { packets: 5, bytes: 300 });
  assert.deepEqual(r1.matches.map((m) => [m.module, m.nft!.left, m.nft!.op, m.nft!.right]), [
    ['tcp', 'tcp dport', 'implicit', '{ 22, 80 }'],
    ['ip', 'ip saddr', 'implicit', '10.0.0.0/8'],
  ]);
  const addr = r1.matches[1].options[0].values[0];
  assert.equal(addr.kind, 'address');
  assert.deepEqual(addr.kind === 'address' && [addr.addr, addr.prefix], ['10.0.0.0', 8]);
  assert.equal(at(DOC, addr.range), '10.0.0.0/8');
  assert.deepEqual(r1.matches[0].options[0].values.map((v) => v.kind === 'number' && v.value), [22, 80]);
  const jump = r1.actions.find((a) => a.kind === 'jump')!;
  assert.equal(jump.chain, 'ssh');
  assert.equal(at(DOC, jump.chainRange!), 'ssh');
  assert.deepEqual(r1.actions.map((a) => a.name), ['counter', 'jump']);
  const ssh = t.chains[1];
  assert.equal(ssh.hook, undefined);
  assert.equal(ssh.rules[0].matches[0].nft!.op, '==');
  assert.equal(ssh.rules[0].matches[0].nft!.left, 'meta mark and 0x200');
  assert.equal(ssh.rules[0].actions[0].kind, 'verdict');
  assert.equal(ssh.rules[0].actions[0].name, 'drop');
});

test('nft: a broken rule in the middle is reported at its token and the rules after it stay', () => {
  const text = DOC.replace('\t\tct state established,related accept\n', '\t\tct state established,related accept\n\t\tip saddr { 1.1.1.1, 2.2.2.2 accept\n\t\tfrobnicate 7\n\t\tudp dport 53 accept\n');
  const rs = nft(text);
  const errs = errors(rs);
  assert.equal(errs.length, 2, JSON.stringify(errs));
  assert.deepEqual(errs.map((d) => [d.range.start.line, d.code]), [[4, 'syntax'], [5, 'unknown-keyword']]);
  assert.equal(at(text, errs[1].range), 'frobnicate');
  const input = rs.tables[0].chains[0];
  // the unbalanced rule ends at its line; the unknown statement is kept as an unknown action
  assert.deepEqual(input.rules.map((x) => x.matches[0]?.nft?.left ?? x.actions[0]?.name), ['ct state', 'frobnicate', 'udp dport', 'tcp dport']);
  assert.equal(input.rules[1].actions[0].known, false);
  assert.equal(rs.tables[0].chains[1].rules.length, 1);
});

test('nft: a missing brace at the end is reported at the block it leaves open', () => {
  const text = 'table ip t {\n\tchain c {\n\t\taccept\n\t}\n';
  const rs = nft(text);
  assert.deepEqual(errors(rs).map((d) => [d.code, d.range.start.line, d.range.start.character]), [['syntax', 0, 11]]);
  assert.equal(rs.tables[0].chains[0].rules.length, 1);
});

test('nft: define and $variables: value, references, undefined use, priority and policy from variables', () => {
  const text = `define lan = { 10.0.0.0/8, 192.168.0.0/16 }
define prio = -5
define pol = drop
table ip t {
\tchain c {
\t\ttype filter hook forward priority $prio; policy $pol;
\t\tip saddr $lan accept
\t\tip daddr $lan ip saddr $nope drop
\t}
}
`;
  const rs = nft(text);
  const lan = rs.variables.find((v) => v.name === 'lan')!;
  assert.equal(lan.value, '{ 10.0.0.0/8, 192.168.0.0/16 }');
  assert.equal(at(text, lan.nameRange), 'lan');
  assert.deepEqual(lan.references.map((x) => [x.start.line, at(text, x)]), [[6, '$lan'], [7, '$lan']]);
  const c = rs.tables[0].chains[0];
  assert.equal(c.priority, -5);
  assert.equal(c.policy, 'drop');
  const errs = errors(rs);
  assert.deepEqual(errs.map((d) => [d.code, at(text, d.range)]), [['undefined-variable', '$nope']]);
});

test('nft: verdict maps list their chains; named vmaps resolve through the map elements', () => {
  const text = `table inet t {
\tmap ports {
\t\ttype inet_service : verdict
\t\telements = { 22 : jump ssh, 80 : goto web, 443 : accept }
\t}
\tchain input {
\t\ttype filter hook input priority 0;
\t\ttcp dport vmap { 22 : jump ssh, 8080 : goto web, 1 : drop }
\t\ttcp dport vmap @ports
\t}
\tchain ssh { accept; }
\tchain web { accept; }
}
`;
  const rs = nft(text);
  assert.deepEqual(errors(rs), []);
  const [anon, named] = rs.tables[0].chains[0].rules.map((x) => x.actions[0]);
  assert.equal(anon.name, 'vmap');
  assert.equal(anon.vmap!.key, 'tcp dport');
  assert.deepEqual(anon.vmap!.entries.map((e) => [e.key, e.verdict, e.chain]), [['22', 'jump', 'ssh'], ['8080', 'goto', 'web'], ['1', 'drop', undefined]]);
  assert.equal(at(text, anon.vmap!.entries[0].range), 'ssh');
  assert.deepEqual(named.vmap!.entries.map((e) => [e.verdict, e.chain]), [['jump', 'ssh'], ['goto', 'web']]);
  const set = rs.tables[0].sets[0];
  assert.equal(set.kind, 'vmap');
  assert.deepEqual(set.elements.map((e) => [e.text, e.value]), [['22', 'jump ssh'], ['80', 'goto web'], ['443', 'accept']]);
});

test('nft: priorities (named, arithmetic, per family), hooks per family and type, policies', () => {
  const prio = (fam: string, spec: string) => {
    const rs = nft(`table ${fam} t {\n\tchain c {\n\t\ttype filter hook ${fam === 'netdev' ? 'ingress device lo' : 'input'} priority ${spec};\n\t}\n}\n`);
    return { p: rs.tables[0]?.chains[0]?.priority, codes: errors(rs).map((d) => d.code) };
  };
  assert.deepEqual(prio('ip', 'filter + 10'), { p: 10, codes: [] });
  assert.deepEqual(prio('ip', 'mangle - 5'), { p: -155, codes: [] });
  assert.deepEqual(prio('ip6', 'raw'), { p: -300, codes: [] });
  assert.deepEqual(prio('ip', '-150'), { p: -150, codes: [] });
  assert.deepEqual(prio('bridge', 'filter'), { p: -200, codes: [] });
  assert.deepEqual(prio('netdev', 'filter'), { p: 0, codes: [] });
  assert.deepEqual(prio('netdev', 'dstnat'), { p: undefined, codes: ['bad-priority'] });
  assert.deepEqual(prio('ip', 'srcnDDD'), { p: undefined, codes: ['bad-priority'] });
  const hook = (fam: string, type: string, h: string) => errors(nft(`table ${fam} t { chain c { type ${type} hook ${h} priority 0; } }`)).map((d) => d.code);
  assert.deepEqual(hook('ip', 'nat', 'forward'), ['bad-hook']);
  assert.deepEqual(hook('ip', 'nat', 'postrouting'), []);
  assert.deepEqual(hook('arp', 'filter', 'forward'), ['bad-hook']);
  assert.deepEqual(hook('ip', 'route', 'output'), []);
  assert.deepEqual(hook('bridge', 'nat', 'input'), ['bad-chain-type']);
  assert.deepEqual(errors(nft('table ip t { chain c { policy drop; } }')).map((d) => d.code), ['not-base-chain']);
  assert.deepEqual(errors(nft('table ip t { chain c { type filter hook input priority 0; policy deny; } }')).map((d) => d.code), ['bad-policy']);
});

test('nft: command scripts (add/insert/replace/delete rule, handles, elements, include, flush ruleset, continuation)', () => {
  const text = `#!/usr/sbin/nft -f
flush ruleset
include "/etc/nftables.d/extra.nft"
add table ip t
add chain ip t c { type filter hook output priority 0 ; }
add set ip t s { type ipv4_addr; flags interval; }
add element ip t s { 10.0.0.0/8, 1.2.3.4 }
add rule ip t c ip daddr @s \\
    counter accept
insert rule ip t c udp dport 53 accept
add rule t c tcp dport 22 drop
`;
  const rs = nft(text);
  assert.deepEqual(rs.diagnostics.filter((d) => d.severity !== 'hint'), []);
  assert.deepEqual(rs.includes.map((i) => [i.path, at(text, i.range)]), [['/etc/nftables.d/extra.nft', '"/etc/nftables.d/extra.nft"']]);
  const c = rs.tables[0].chains[0];
  assert.equal(c.hook, 'output');
  assert.deepEqual(c.rules.map((x) => [x.index, x.op, x.matches[0].nft!.left]), [[0, 'insert', 'udp dport'], [1, 'append', 'ip daddr'], [2, 'append', 'tcp dport']]);
  const setMatch = c.rules[1].matches[0];
  assert.equal(setMatch.nft!.setRef, 's');
  assert.equal(at(text, setMatch.nft!.setRefRange!), '@s');
  assert.deepEqual(c.rules[1].range, r(7, 16, 8, 18));
  assert.deepEqual(rs.tables[0].sets[0].elements.map((e) => e.text), ['10.0.0.0/8', '1.2.3.4']);
  // a named set referenced but never declared, and an element for a map shape in a plain set
  const bad = nft('table ip t { set s { type ipv4_addr; }\n chain c { ip saddr @nope accept; }\n}\nadd element ip t s { 1.2.3.4 : 5.6.7.8 }\n');
  assert.deepEqual(errors(bad).map((d) => d.code), ['undefined-set', 'bad-element']);
});

test('nft: statements keep their parts (nat, log, limit, mangle), unknown words are errors, never a crash', () => {
  const text = `table ip nat {
\tchain post {
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t\toifname "eth0" ip saddr 10.0.0.0/24 snat to 192.0.2.1:1024-2048 random,persistent
\t\tmeta mark set mark or 0x10 ct mark set meta mark log prefix "nat: " level info limit rate over 10/second burst 5 packets
\t}
}
`;
  const rs = nft(text);
  assert.deepEqual(errors(rs), []);
  const [snat, mangle] = rs.tables[0].chains[0].rules;
  const a = snat.actions[0];
  assert.equal(a.name, 'snat');
  assert.deepEqual(a.options.map((o) => o.name), ['to', 'random', 'persistent']);
  assert.equal(at(text, a.options[0].range), 'to 192.0.2.1:1024-2048');
  assert.deepEqual(mangle.actions.map((x) => x.name), ['mark-set', 'ct-mark-set', 'log', 'limit']);
  for (const junk of ['table {', '}}}', 'table ip t { chain c { tcp dport { 1, } ) accept } }', '\u0000\u0001', 'add rule', 'define = ', 'table ip t { chain c { jump { accept } } }']) {
    const x = nft(junk);
    assert.ok(Array.isArray(x.diagnostics));
    assert.ok(!x.diagnostics.some((d) => d.code === 'internal-error'), `${JSON.stringify(junk)}: ${JSON.stringify(x.diagnostics)}`);
  }
  assert.deepEqual(errors(nft('table ip t { chain c { type filter hook input priority 0; meta iifname set "x" } }')).map((d) => d.code), ['not-settable']);
});

test('nft: an anonymous chain (jump { ... }) keeps its rules in a chain named after its parent', () => {
  const text = 'table inet t {\n\tchain c {\n\t\ttype filter hook input priority 0;\n\t\ttcp dport 22 jump {\n\t\t\tip saddr 10.0.0.0/8 accept\n\t\t\tdrop\n\t\t}\n\t\tudp dport 53 accept\n\t}\n}\n';
  const rs = nft(text);
  assert.deepEqual(errors(rs), []);
  const [c, anon] = rs.tables[0].chains;
  assert.equal(c.rules.length, 2);
  const jump = c.rules[0].actions.find((a) => a.kind === 'jump')!;
  assert.equal(jump.chain, 'c/anon@4');
  assert.equal(anon.name, 'c/anon@4');
  assert.deepEqual(anon.rules.map((x) => x.actions.map((a) => a.name).join(' ')), ['accept', 'drop']);
  assert.equal(c.rules[1].matches[0].nft!.left, 'udp dport');
});

test('nft: named objects, flowtables and ct helpers land in Table.objects; bad hooks and properties are reported', () => {
  const text = `table inet t {
	counter hits { packets 1 bytes 2 }
	quota q { 25 mbytes }
	ct helper ftp-std { type "ftp" protocol tcp; l3proto inet; }
	flowtable ft { hook ingress priority filter; devices = { lo }; }
	chain c {
		type filter hook forward priority 0;
		counter name hits flow add @ft ct helper set "ftp-std"
	}
}
`;
  const rs = nft(text);
  assert.deepEqual(errors(rs), []);
  assert.deepEqual(rs.tables[0].objects.map((o) => [o.kind, o.name, at(text, o.nameRange)]), [
    ['counter', 'hits', 'hits'], ['quota', 'q', 'q'], ['ct helper', 'ftp-std', 'ftp-std'], ['flowtable', 'ft', 'ft'],
  ]);
  const bad = nft('table inet t {\n\tflowtable ft { hook egress priority 0; }\n\tct helper h { kind "x"; }\n\tchain c { counter name nope; }\n}\n');
  assert.deepEqual(errors(bad).map((d) => [d.range.start.line, d.code]), [[1, 'bad-hook'], [2, 'unknown-keyword'], [3, 'undefined-object']]);
});

test('nft: 400 seeded random mutations of a ruleset never throw and keep every range inside the text', () => {
  const base = DOC + 'define x = { 1.2.3.4, 5.6.7.8 }\nadd rule inet filter ssh ip saddr $x tcp dport vmap { 22 : jump ssh, 80 : drop }\nadd set inet filter s { type ipv4_addr; flags interval; elements = { 10.0.0.0/8 } }\n';
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const alphabet = ' \n{}[]();,:.-/"$@#!=<>&|^*\\ab09';
  for (let i = 0; i < 400; i++) {
    let m = base;
    for (let j = 0; j < 1 + (i % 4); j++) {
      const p = Math.floor(rnd() * m.length);
      const op = rnd();
      if (op < 0.45) m = m.slice(0, p) + m.slice(p + 1 + Math.floor(rnd() * 6));
      else if (op < 0.9) m = m.slice(0, p) + alphabet[Math.floor(rnd() * alphabet.length)] + m.slice(p);
      else m = m.slice(0, p) + m.slice(p, p + 15) + m.slice(p);
    }
    const rs = nft(m);
    const lines = m.split('\n');
    for (const d of rs.diagnostics) {
      assert.notEqual(d.code, 'internal-error', `${JSON.stringify(m)}: ${d.message}`);
      assert.ok(d.range.start.line < lines.length && d.range.end.character <= lines[d.range.end.line].length, `${JSON.stringify(m)}: ${JSON.stringify(d)}`);
    }
  }
});

test('nft: large documents (lexed in chunks) keep statements that cross chunk boundaries', () => {
  const ips = Array.from({ length: 20000 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.1`);
  const lines = ['table ip t {', '\tset big {', '\t\ttype ipv4_addr', '\t\telements = {'];
  for (let i = 0; i < ips.length; i += 8) lines.push(`\t\t\t${ips.slice(i, i + 8).join(', ')}${i + 8 < ips.length ? ',' : ''}`);
  lines.push('\t\t}', '\t}', '\tchain c {');
  for (let i = 0; i < 3000; i++) lines.push(`\t\tip saddr 192.168.${(i >> 8) & 255}.${i & 255} \\\n\t\t\ttcp dport ${1000 + i} counter packets ${i} bytes ${i * 60} accept # handle ${i + 10}`);
  lines.push('\t}', '}', '');
  const text = lines.join('\n');
  assert.ok(text.length > 4 * 65536);
  const rs = nft(text);
  assert.deepEqual(rs.diagnostics, []);
  assert.equal(rs.tables[0].sets[0].elements.length, 20000);
  const rules = rs.tables[0].chains[0].rules;
  assert.equal(rules.length, 3000);
  assert.deepEqual(rules.map((x) => x.handle), Array.from({ length: 3000 }, (_, i) => i + 10));
  assert.deepEqual(rules[2999].counters, { packets: 2999, bytes: 2999 * 60 });
  const last = rules[2999];
  assert.equal(at(text, last.matches[1].range), 'tcp dport 3999');
});

test('nft: insert/add with position, handle and index place rules; replace and delete find them by handle', () => {
  const text = `table ip t {
\tchain c {
\t\tudp dport 1 accept # handle 4
\t\tudp dport 2 accept # handle 5
\t}
}
insert rule ip t c position 5 udp dport 3 accept
add rule ip t c handle 4 udp dport 4 accept
insert rule ip t c index 0 udp dport 5 accept
replace rule ip t c handle 5 udp dport 6 drop
delete rule ip t c handle 4
delete rule ip t c handle 99
`;
  const rs = nft(text);
  const c = rs.tables[0].chains[0];
  assert.deepEqual(c.rules.map((x) => [x.index, x.matches[0].nft!.right]), [[0, '5'], [1, '4'], [2, '3'], [3, '6']]);
  assert.deepEqual(errors(rs).map((d) => [d.code, d.range.start.line]), [['undefined-rule', 11]]);
});
