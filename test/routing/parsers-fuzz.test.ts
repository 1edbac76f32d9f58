// Property tests: the iproute2/ipset/profile parsers and the decision never throw, and every
// diagnostic range lies inside the text, on whatever input (random words drawn from the grammars'
// own vocabulary, mutations of real listings, arbitrary strings).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { loadNodeProfile, parseAddrs, parseIpRoutes, parseIpRules, parseIpsets, parseRtTables, routeDecision } from '../../server/src/routing/index';
import type { Diagnostic } from '../../server/src/model/ruleset';

const VOCAB = [
  'from', 'to', 'all', 'not', 'fwmark', '0x100/0x100', 'lookup', 'table', 'goto', '32766', 'main', 'local', 'iif', 'oif', 'lo', 'eth0',
  'via', 'dev', 'src', 'scope', 'link', 'host', 'metric', 'proto', 'kernel', 'onlink', 'nexthop', 'weight', 'default', 'blackhole',
  'unreachable', 'prohibit', 'throw', 'broadcast', '10.0.0.0/8', '10.0.0.1', '::1', 'fe80::/64', '2001:db8::1/128', '1.2.3.4/33',
  '100:', '0:', 'suppress_prefixlength', '0', 'uidrange', '1-2', 'ipproto', 'tcp', 'dport', '80-90', 'tos', '0x10', '[detached]',
  'inet', 'inet6', 'brd', 'secondary', '1:', '<UP,LOWER_UP>', 'mtu', 'UP', 'DOWN', 'create', 'add', 'hash:ip', 'hash:net,iface',
  'family', 'nomatch', 'Name:', 'Type:', 'Members:', 'Header:', 'timeout', '"quoted', '"a b"', '\\', '#', 'ip', 'rule', 'route', 'addr',
  'ipset', 'ip-rule', 'ip-route', 'ip-addr', 'ruleset', '<<E', 'E', 'forwarding', 'on', '\t', 'ÿ', '𝕏', '\r',
];

const lineArb = fc.array(fc.constantFrom(...VOCAB), { maxLength: 12 }).map((ws) => ws.join(' '));
const docArb = fc.oneof(
  fc.array(lineArb, { maxLength: 20 }).map((ls) => ls.join('\n')),
  fc.string({ maxLength: 300 }),
  fc.array(fc.oneof(lineArb, fc.string({ maxLength: 40 })), { maxLength: 10 }).map((ls) => ls.join('\r\n')),
);

function inBounds(text: string, ds: Diagnostic[]): void {
  const lines = text.split('\n');
  for (const d of ds) {
    for (const p of [d.range.start, d.range.end]) {
      assert.ok(p.line >= 0 && p.line <= lines.length, `line ${p.line} of ${lines.length}: ${d.code}`);
      assert.ok(p.character >= 0 && p.character <= (lines[p.line]?.length ?? 0) + 1, `column ${p.character} on line ${p.line}: ${d.code}`);
    }
    assert.ok(d.code && d.message);
  }
}

test('parsers never throw and keep diagnostics inside the text', () => {
  fc.assert(
    fc.property(docArb, (text) => {
      const rules = parseIpRules(text);
      const routes = parseIpRoutes(text);
      const addrs = parseAddrs(text);
      const sets = parseIpsets(text);
      const rt = parseRtTables(text);
      for (const p of [rules, routes, addrs, sets, rt]) inBounds(text, p.diagnostics);
      const prof = loadNodeProfile(text + '\n', () => text);
      inBounds(text + '\n', prof.diagnostics);
      const d = routeDecision({ rules: rules.value, routes: routes.value, interfaces: addrs.value, tables: rt.value, forwarding: true }, { dst: '10.0.0.1', mark: 0x100, iif: 'eth0', src: '10.9.9.9' });
      assert.ok(['route', 'error', 'unknown'].includes(d.outcome));
    }),
    { numRuns: 1500, seed: 606 },
  );
});
