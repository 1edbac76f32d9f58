// nf_tables refuses 16 nested jumps from a base chain and loads 15 (real loads, iptables 1.8.9 nft backend,
// kernel 6.x); legacy loads both. Checked against the kernel by test/kernel/adversarial.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkText } from '../../server/src/check';
import { deepChain } from '../support/rulesets';

test('15 nested jumps load; the 16th is an error on the rule that makes it', () => {
  assert.deepEqual(checkText(deepChain(15)).diagnostics.filter((d) => d.severity === 'error'), []);
  const d = checkText(deepChain(16)).diagnostics.filter((x) => x.code === 'jump-too-deep');
  assert.equal(d.length, 1);
  assert.equal(d[0].range.start.line, 2 + 16 + 1 + 14); // the rule `-A C14 -j C15`
  assert.match(d[0].message, /16 nested jumps deep from INPUT/);
});

test('a 10 000-deep jump chain: one diagnostic, no stack overflow, in time', () => {
  const t0 = performance.now();
  const d = checkText(deepChain(10_000)).diagnostics;
  assert.equal(d.filter((x) => x.code === 'jump-too-deep').length, 1);
  assert.ok(performance.now() - t0 < 30_000);
});
