// Every file of ../shared/corpora/real-iptables (each was loaded by a real kernel once) gets no error,
// and for iptables files the model holds one rule per `-A` line. Prose and shell prompts pasted into
// a dump (net-network-noisy) are warnings with a range; the rules around them still count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseRuleset } from '../../server/src/parse';
import { ruleCount } from '../../server/src/model/ruleset';
import { corpusFiles } from '../support/corpus-files';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const root = resolve(repoRoot, '../shared/corpora/real-iptables');


const all = corpusFiles(root);

test('real-iptables: every file parses without an error and keeps every -A rule', () => {
  assert.ok(all.length >= 380, `expected the whole corpus, found ${all.length} files`);
  const problems: string[] = [];
  let rules = 0;
  for (const f of all) {
    const text = readFileSync(f, 'utf8');
    const rs = parseRuleset(text);
    assert.notEqual(rs.kind, 'nft', `${relative(root, f)} detected as nft`);
    const errors = rs.diagnostics.filter((d) => d.severity === 'error');
    const expected = text.split('\n').filter((l) => /^(\[\d+:\d+\] )?-A /.test(l)).length;
    const got = ruleCount(rs);
    rules += got;
    if (errors.length || got !== expected) {
      problems.push(`${relative(root, f)}: ${got}/${expected} rules; ${errors.slice(0, 3).map((e) => `${e.range.start.line + 1}:${e.range.start.character + 1} ${e.code} ${e.message}`).join('; ')}`);
    }
  }
  console.log(`real-iptables: ${all.length} files, ${rules} rules, ${problems.length} with problems`);
  assert.deepEqual(problems, []);
});

test('real-iptables: noisy dumps warn on the pasted prose with a range, not an error', () => {
  const noisy = all.filter((f) => f.includes('net-network-noisy'));
  assert.equal(noisy.length, 3);
  for (const f of noisy) {
    const text = readFileSync(f, 'utf8');
    const lines = text.split('\n');
    const rs = parseRuleset(text);
    const prose = rs.diagnostics.filter((d) => d.code === 'not-iptables');
    assert.ok(prose.length >= 1, `${relative(root, f)}: no not-iptables warning`);
    for (const d of prose) {
      assert.equal(d.severity, 'warning');
      const line = lines[d.range.start.line];
      // The warning sits on a line that is not iptables syntax (starts with neither -, *, :, # nor COMMIT).
      assert.doesNotMatch(line, /^\s*([-*:#]|COMMIT)/, `${relative(root, f)}:${d.range.start.line + 1}`);
      assert.ok(d.range.end.character > d.range.start.character);
    }
  }
});

test('real-iptables: a token cut by a terminal wrap is joined back (openwrt dump)', () => {
  const f = all.find((x) => x.endsWith('openwrt.org/iptables-save-AA.txt'))!;
  const rs = parseRuleset(readFileSync(f, 'utf8'));
  const wraps = rs.diagnostics.filter((d) => d.code === 'terminal-wrap');
  assert.ok(wraps.length >= 10);
  const nat = rs.tables.find((t) => t.name === 'nat')!;
  const dnat = nat.chains.find((c) => c.name === 'zone_wan_prerouting')!.rules[0].actions[0];
  assert.equal(dnat.name, 'DNAT');
  assert.equal(dnat.options[0].values[0].text, '192.168.1.1:22');
  const fwd = rs.tables.find((t) => t.name === 'filter')!.chains.find((c) => c.name === 'FORWARD')!;
  assert.ok(fwd.rules.some((r) => r.actions[0]?.name === 'ACCEPT' && r.matches.some((m) => m.module === 'conntrack')));
});
