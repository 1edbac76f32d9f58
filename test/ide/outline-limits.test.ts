// The outline of a huge dump: past MAX_OUTLINE_ITEMS rules no rule items, past as many chains only the
// built-in ones; below the limits every chain and rule is listed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyzeDocument } from '../../server/src/ide/document';
import { documentSymbols, MAX_OUTLINE_ITEMS } from '../../server/src/ide/symbols';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const kube = execFileSync('node', [resolve(repoRoot, '../shared/tools/gen-kube.js'), '300'], { encoding: 'utf8', maxBuffer: 1 << 28 });
const doc = analyzeDocument('file:///kube', kube, 1);
const rules = doc.ruleset.tables.reduce((a, t) => a + t.chains.reduce((b, c) => b + c.rules.length, 0), 0);
const chains = doc.ruleset.tables.reduce((a, t) => a + t.chains.length, 0);

test('below the limits the outline lists every chain and rule', () => {
  assert.ok(rules < MAX_OUTLINE_ITEMS);
  const syms = documentSymbols(doc);
  const listedChains = syms.flatMap((t) => t.children.filter((c) => c.kind === 'chain'));
  assert.equal(listedChains.length, chains);
  assert.equal(listedChains.reduce((a, c) => a + c.children.length, 0), rules);
});

test('past the limits: no rule items, built-in chains only, and the table says why', () => {
  const limit = Math.floor(Math.min(rules, chains) / 2);
  const syms = documentSymbols(doc, limit);
  const listed = syms.flatMap((t) => t.children.filter((c) => c.kind === 'chain'));
  assert.ok(listed.length > 0 && listed.every((c) => c.children.length === 0), 'no rules');
  const builtins = doc.ruleset.tables.reduce((a, t) => a + t.chains.filter((c) => c.builtin).length, 0);
  assert.equal(listed.length, builtins);
  for (const t of syms) assert.match(t.detail ?? '', new RegExp(`too many to list \\(over ${limit}\\)`));
  // The chain's range still spans its rules.
  const nat = doc.ruleset.tables.find((t) => t.name === 'nat')!;
  const pre = listed.find((c) => c.name === 'KUBE-SERVICES') ?? listed.find((c) => c.name === 'PREROUTING')!;
  const chain = nat.chains.find((c) => c.name === pre.name)!;
  const last = chain.rules[chain.rules.length - 1];
  if (last) assert.ok(pre.range.end.line >= last.range.start.line);
});
