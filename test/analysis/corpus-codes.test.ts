// `nflens check` (checkText) on every file of the shared corpora: each finishes, no analysis crashes,
// and the count of each diagnostic code is printed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { resolve, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkText } from '../../server/src/check';
import { filesUnder } from '../support/corpus-files';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const corpora = resolve(repoRoot, '../shared/corpora');


const ANALYSIS_CODES = ['wrong-table', 'wrong-hook', 'hook-never-matches', 'unsupported-target', 'legacy-refuses', 'unused-chain', 'unreachable-chain',
  'unreachable-rule', 'shadowed-rule', 'redundant-rule', 'generalizes-rule', 'mark-mask-never-matches', 'mark-xor-toggles', 'mark-clobber', 'mark-bit-never-set',
  'mark-bit-never-tested', 'connmark-mask-misses', 'before-conntrack', 'mark-restore-after-routing', 'undefined-chain', 'jump-loop', 'jump-to-builtin'];

test('checkText finishes on every corpus file; counts of each diagnostic code', { skip: existsSync(corpora) ? undefined : 'no ../shared/corpora', timeout: 600_000 }, () => {
  const all = filesUnder(corpora);
  const counts = new Map<string, number>();
  const crashes: string[] = [];
  let slowest = { ms: 0, file: '' };
  const t0 = Date.now();
  for (const f of all) {
    const text = readFileSync(f, 'utf8');
    const t = Date.now();
    let ds;
    try {
      ds = checkText(text).diagnostics;
    } catch (e) {
      crashes.push(`${relative(corpora, f)}: threw ${(e as Error).message}`);
      continue;
    }
    const ms = Date.now() - t;
    if (ms > slowest.ms) slowest = { ms, file: relative(corpora, f) };
    for (const d of ds) {
      counts.set(d.code, (counts.get(d.code) ?? 0) + 1);
      if (d.code === 'internal-error') crashes.push(`${relative(corpora, f)}: ${d.message}`);
    }
  }
  console.log(`# ${all.length} corpus files checked in ${((Date.now() - t0) / 1000).toFixed(1)} s; slowest ${slowest.ms} ms (${slowest.file})`);
  console.log('# diagnostic codes (analysis codes marked *):');
  for (const [code, n] of [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))) {
    console.log(`#   ${ANALYSIS_CODES.includes(code) ? '*' : ' '} ${code.padEnd(26)} ${n}`);
  }
  assert.ok(all.length > 2000, `only ${all.length} corpus files`);
  assert.deepEqual(crashes, [], 'an analysis crashed');
  assert.ok(slowest.ms < 15_000, `checkText took ${slowest.ms} ms on ${slowest.file}`);
});
