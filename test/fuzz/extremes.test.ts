// The extremes issue 7 names, once each: 1 MB lines, deep nesting, NUL/BOM/CRLF together.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkOne, warmUp } from './mutate';
import { checkText } from '../../server/src/check';

warmUp();

for (const [name, text] of [
  ['a 1 MB iptables line (one long comment)', '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m comment --comment "' + 'z '.repeat(500_000) + '" -j ACCEPT\nCOMMIT\n'],
  ['a 1 MB iptables line of 1 MB of words', '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s 10.0.0.1 ' + 'word '.repeat(200_000) + '-j ACCEPT\nCOMMIT\n'],
  ['an iptables rule with 3 000 match modules', '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT ' + '-m comment --comment x '.repeat(3_000) + '-j ACCEPT\nCOMMIT\n'],
  ['a 1 MB nft line', 'table ip t {\n chain c {\n  ip saddr { ' + '10.0.0.1, '.repeat(100_000) + '10.0.0.2 } accept\n }\n}\n'],
  ['a 1 MB line of one word', 'x'.repeat(1_000_000)],
  ['a 1 MB quoted string left open', '*filter\n-A INPUT -m comment --comment "' + 'y'.repeat(1_000_000)],
  ['nft braces 10 000 deep', 'table ip x { chain y { ip saddr ' + '{ '.repeat(10_000) + '1.2.3.4' + ' }'.repeat(10_000) + ' } }\n'],
  ['nft open braces 10 000 deep, never closed', 'table ip x {\n' + 'chain y {\n'.repeat(10_000)],
  ['NUL, BOM and CRLF together', '\ufeff*filter\r\n:INPUT ACCEPT [0:0]\r\n-A INPUT -s 10.0.0.1\0 -j DROP\r\nCOMMIT\r\n'],
] as const) {
  test(`${name}: no throw, no internal error, ranges inside`, () => {
    const problem = checkOne(text);
    assert.equal(problem, undefined);
    const d = checkText(text).diagnostics;
    if (name.includes('deep')) assert.ok(d.some((x) => x.severity === 'error'), 'deep nesting gets an error diagnostic');
  });
}
