// The seed rulesets (examples/, from the team's seed notes) get the diagnostics a careful engineer
// would give, and nothing else: every diagnostic on them is asserted here with the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { checkText } from '../../server/src/check';
import { markMap } from '../../server/src/analysis/mark-analysis';
import { parseRuleset } from '../../server/src/parse';

const ex = (f: string) => readFileSync(fileURLToPath(new URL(`../../examples/${f}`, import.meta.url)), 'utf8');
const show = (ds: { range: { start: { line: number } }; code: string; message: string }[]) => ds.map((d) => `${d.range.start.line + 1} ${d.code}: ${d.message}`).join('\n');

test('ztunnel ambient (seed 000/001): one finding, the whole-mark overwrite in ztunnel-OUTPUT', () => {
  const text = ex('ztunnel-ambient.rules');
  const ds = checkText(text).diagnostics;
  // `-A ztunnel-OUTPUT -s 10.244.0.1/32 -j MARK --set-xmark 0x220/0xffffffff` sets 0x220 and clears
  // every other bit, while the ruleset gives bits 0x10 (part of 0x210), 0x40 and 0x100 their own
  // meaning (set in ztunnel-PREROUTING, tested in ztunnel-FORWARD/INPUT, nat ztunnel-POSTROUTING).
  // 0x220/0x220 would set the same two bits without wiping the others.
  assert.deepEqual(ds.map((d) => `${d.range.start.line + 1} ${d.severity} ${d.code}`), ['22 warning mark-clobber'], show(ds));
  const m = ds[0].message;
  assert.match(m, /clearing bits 0x150/);
  for (const bit of ['0x10:', '0x40:', '0x100:']) assert.ok(m.includes(bit), `${bit} missing in ${m}`);
  assert.ok(!/0x200:|0x20:/.test(m), 'bits the rule writes itself are not "other rules\' bits"');
  assert.match(m, /--set-xmark 0x220\/0x220 would set only its own bits/);
  assert.ok(ds[0].related!.some((r) => r.range.start.line + 1 === 48), 'names the nat rule testing 0x100');
});

test('ztunnel ambient: the repeated "--mark 0x200/0x200 -j RETURN" rules are not flagged: MARK rules in between set 0x200', () => {
  const ds = checkText(ex('ztunnel-ambient.rules')).diagnostics;
  // Lines 29, 33 and 36 repeat the same test; 0x210/0x210 (line 32) and 0x220/0x220 (lines 34, 35)
  // set bit 0x200 between them, so each later RETURN does catch packets.
  assert.deepEqual(ds.filter((d) => /unreachable|shadowed|redundant/.test(d.code)), []);
  // Every chain is jumped to from its hook: nothing unused; every placement is valid.
  assert.deepEqual(ds.filter((d) => /chain|hook|table/.test(d.code)), []);
});

test('ztunnel ambient: the mark map shows each bit\'s writers and readers', () => {
  const map = markMap(parseRuleset(ex('ztunnel-ambient.rules')));
  const roles = (d: 'mark' | 'ctmark', hex: string) => [...new Set(map[d].find((e) => e.hex === hex)!.uses.map((u) => u.role))].sort();
  assert.deepEqual(roles('mark', '0x200'), ['set', 'test']);
  assert.deepEqual(roles('mark', '0x40'), ['clear', 'set', 'test']); // cleared by the whole-mark write in OUTPUT
  assert.deepEqual(roles('ctmark', '0x200'), ['copy', 'test']); // --save-mark --nfmask 0x220 --ctmask 0x220
  assert.deepEqual(roles('ctmark', '0x10'), ['copy', 'test']);
});

test('istio sidecar (seed 003): one dead RETURN in ISTIO_OUTPUT, one intended exception; nothing else', () => {
  const ds = checkText(ex('istio-sidecar.iptables')).diagnostics;
  // raw: CT only in raw PREROUTING/OUTPUT, -m owner only in OUTPUT. nat: REDIRECT in ISTIO_IN_REDIRECT,
  // which PREROUTING (via ISTIO_INBOUND) and OUTPUT (via ISTIO_OUTPUT) reach, both allowed; -o lo and
  // -m owner in ISTIO_OUTPUT, which only OUTPUT reaches. Every declared chain is jumped to.
  assert.deepEqual(ds.map((d) => `${d.range.start.line + 1} ${d.severity} ${d.code}`), ['30 information generalizes-rule', '44 information redundant-rule'], show(ds));
  // Line 44, `-o lo -p tcp ! --dport 53 -m owner ! --gid-owner 1337 -j RETURN`, is dead: a packet with
  // uid 1337 already returned at line 42 (`--uid-owner 1337 -j RETURN`), and every other one of its
  // packets (uid not 1337, or no socket, which passes a negated owner test) at line 41
  // (`-o lo -p tcp ! --dport 53 ! --uid-owner 1337 -j RETURN`). Same verdict, so redundant, not shadowed.
  const dead = ds[1];
  assert.match(dead.message, /rules 1, 2, 4 and 5 of ISTIO_OUTPUT \(lines 38, 39, 41, 42\) together/);
  assert.deepEqual(dead.related!.map((r) => r.range.start.line + 1), [38, 39, 41, 42]);
  // Line 30, the DNS REDIRECT in nat OUTPUT, is wider than line 28 (DNS from uid 1337 returns first):
  // the proxy's own DNS is exempt from the redirect. Information only: an intended exception.
  assert.match(ds[0].message, /generalizes rule 2 of OUTPUT \(line 28\)/);
});

test('multi-WAN nftables (seed 004): nothing to report', () => {
  const ds = checkText(ex('multi-wan.nft')).diagnostics;
  // iifname in the input chain, oifname in the postrouting chain: each known at its hook. `ct mark
  // set 2/3` and `meta mark set ct mark` write whole values, read by `ip rule fwmark` outside the file.
  assert.deepEqual(ds, [], show(ds));
});

test('ztunnel ambient, edited: a RETURN repeated with nothing in between is redundant; REDIRECT moved to INPUT is refused', () => {
  const lines = ex('ztunnel-ambient.rules').split('\n');
  // Repeat line 36 (`-m mark --mark 0x200/0x200 -j RETURN`) right after itself.
  const dup = [...lines.slice(0, 36), lines[35], ...lines.slice(36)].join('\n');
  const ds = checkText(dup).diagnostics.filter((d) => d.code !== 'mark-clobber');
  assert.deepEqual(ds.map((d) => `${d.range.start.line + 1} ${d.code} ${d.related?.[0].range.start.line! + 1}`), ['37 redundant-rule 36'], show(ds));
  // nat ztunnel-PREROUTING jumped to from INPUT as well: a REDIRECT there would be refused at INPUT.
  const moved = ex('ztunnel-ambient.rules').replace('-A POSTROUTING -j ztunnel-POSTROUTING\n-A ztunnel-POSTROUTING', '-A POSTROUTING -j ztunnel-POSTROUTING\n-A INPUT -j ztunnel-PREROUTING\n-A ztunnel-PREROUTING -p tcp -j REDIRECT --to-ports 15001\n-A ztunnel-POSTROUTING');
  const w = checkText(moved).diagnostics.filter((d) => d.code === 'wrong-hook');
  assert.equal(w.length, 1, show(checkText(moved).diagnostics));
  assert.match(w[0].message, /REDIRECT is only valid in PREROUTING\/OUTPUT .* reached from INPUT \(INPUT → ztunnel-PREROUTING\)/);
});

test('multi-WAN, edited as the seed warns against: restoring the mark at postrouting is too late for routing (hint)', () => {
  const text = ex('multi-wan.nft').replace('type filter hook output priority mangle', 'type filter hook postrouting priority mangle');
  const ds = checkText(text).diagnostics;
  assert.deepEqual(ds.map((d) => `${d.range.start.line + 1} ${d.severity} ${d.code}`), ['24 hint mark-restore-after-routing'], show(ds));
  assert.match(ds[0].message, /runs only at POSTROUTING: after the routing decision/);
});
