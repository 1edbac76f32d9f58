// Real nftables rulesets (Docker's nftables backend, nftables' shipped examples, a 2015 listing), all
// loaded by a real kernel: no error diagnostic. The one JSON ruleset is not taken for nft text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { parseRuleset } from '../../server/src/parse';

const repoRoot = resolve(import.meta.dirname, '../..');
const corpus = resolve(repoRoot, '../shared/corpora/real-nft');
// licences and notes that travel with the corpus, not rulesets
const NOT_RULESETS = new Set(['LICENSE', 'NOTICE', 'COPYING', 'info', '.gitattributes']);

function walk(dir: string, out: string[] = []): string[] {
  for (const f of readdirSync(dir).sort()) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (!NOT_RULESETS.has(f)) out.push(p);
  }
  return out;
}

test('real-nft: every ruleset parses without an error diagnostic', () => {
  const files = walk(corpus).filter((f) => !f.includes('examples-json'));
  assert.ok(files.length >= 330, `expected the real-nft corpus at ${corpus}`);
  const offenders: string[] = [];
  let rules = 0, tables = 0;
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    const rs = parseRuleset(text, text.trim() ? {} : { kind: 'nft' });
    if (text.trim()) assert.equal(rs.kind, 'nft', `${relative(corpus, f)} detected as ${rs.kind}`);
    tables += rs.tables.length;
    for (const t of rs.tables) for (const c of t.chains) rules += c.rules.length;
    for (const d of rs.diagnostics) {
      if (d.severity === 'error') offenders.push(`${relative(corpus, f)}:${d.range.start.line + 1}: ${d.code}: ${d.message}`);
    }
  }
  console.log(`real-nft: ${files.length} files, ${tables} tables, ${rules} rules, ${offenders.length} errors`);
  assert.equal(offenders.length, 0, offenders.slice(0, 30).join('\n'));
});

test('real-nft: the JSON ruleset is not taken for nft text; read as nft it gets one clear diagnostic', () => {
  const f = walk(corpus).find((x) => x.includes('examples-json'))!;
  assert.equal(basename(f), 'json-ruleset.nft');
  const text = readFileSync(f, 'utf8');
  assert.notEqual(parseRuleset(text).kind, 'nft');
  const rs = parseRuleset(text, { kind: 'nft' });
  assert.deepEqual(rs.diagnostics.map((d) => d.code), ['json-ruleset']);
});
