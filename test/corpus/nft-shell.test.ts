// nftables' shell test suite (tests/shell, nft 1.1.6): every `dumps/*.nft` listing parses without an
// error, and every input under bogons/nft-f (which nft must reject) gets at least one error from
// `checkText` (parse + analyses), and no crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseRuleset } from '../../server/src/parse';
import { checkText } from '../../server/src/check';

const repoRoot = resolve(import.meta.dirname, '../..');
const corpus = resolve(repoRoot, '../shared/corpora/nft-shell');

function walk(dir: string, keep: (p: string) => boolean, out: string[] = []): string[] {
  for (const f of readdirSync(dir).sort()) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) walk(p, keep, out);
    else if (keep(p)) out.push(p);
  }
  return out;
}

test('nft-shell: every dumps/*.nft listing parses without an error', () => {
  const files = walk(corpus, (p) => /\/dumps\/[^/]+\.nft$/.test(p));
  assert.ok(files.length >= 400, `expected the nft-shell dumps at ${corpus}`);
  const offenders: string[] = [];
  let rules = 0;
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    // empty dumps (an empty ruleset) carry no content to detect; they are nft by where they live
    const rs = parseRuleset(text, text.trim() ? {} : { kind: 'nft' });
    if (text.trim()) assert.equal(rs.kind, 'nft', `${relative(corpus, f)} detected as ${rs.kind}`);
    for (const t of rs.tables) for (const c of t.chains) rules += c.rules.length;
    for (const d of rs.diagnostics) {
      if (d.severity === 'error') offenders.push(`${relative(corpus, f)}:${d.range.start.line + 1}:${d.range.start.character + 1}: ${d.code}: ${d.message}`);
    }
  }
  console.log(`nft-shell dumps: ${files.length} files, ${rules} rules in the model, ${offenders.length} errors`);
  assert.ok(rules > 900, `only ${rules} rules read`);
  assert.equal(offenders.length, 0, offenders.slice(0, 30).join('\n'));
});

test('nft-shell bogons/nft-f: each input nft must reject gets at least one error and no crash', () => {
  const dir = join(corpus, 'testcases/bogons/nft-f');
  const files = walk(dir, () => true);
  assert.equal(files.length, 84);
  const missed: string[] = [];
  const codes = new Map<string, number>();
  for (const f of files) {
    // what `nflens check` reports: the parse plus the chain analyses (undefined jump targets)
    const { diagnostics } = checkText(readFileSync(f, 'utf8'), { kind: 'nft' });
    const errs = diagnostics.filter((d) => d.severity === 'error');
    assert.ok(!diagnostics.some((d) => d.code === 'internal-error'), `${f}: ${JSON.stringify(diagnostics)}`);
    if (!errs.length) missed.push(relative(dir, f));
    for (const c of new Set(errs.map((d) => d.code))) codes.set(c, (codes.get(c) ?? 0) + 1);
  }
  console.log(`nft-f bogons: ${files.length - missed.length}/${files.length} rejected; files per code: ${[...codes].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(', ')}`);
  assert.deepEqual(missed, []);
});
