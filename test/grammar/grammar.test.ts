// TextMate grammars (syntaxes/) checked with vscode-tmgrammar-test against the fixtures in
// test/grammar/fixtures: each `^^^ scope` line under a source line asserts the scopes of those columns.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '../..');
const cli = join(repo, 'node_modules/vscode-tmgrammar-test/dist/unit.js');
const grammars = ['syntaxes/iptables.tmLanguage.json', 'syntaxes/nftables.tmLanguage.json'];

function run(pattern: string) {
  return spawnSync(process.execPath, [cli, ...grammars.flatMap((g) => ['-g', g]), '--compact', pattern], { cwd: repo, encoding: 'utf8' });
}

describe('TextMate grammars', () => {
  it('the fixtures pass (iptables-save, iptables -S, nft)', () => {
    const r = run('test/grammar/fixtures/*.test.*');
    assert.equal(r.status, 0, r.stdout + r.stderr);
    // All three fixtures ran (a wrong glob would pass vacuously).
    for (const f of ['ztunnel.test.rules', 'istio.test.iptables', 'multi-wan.test.nft']) assert.match(r.stdout + r.stderr, new RegExp(f.replace(/\./g, '\\.')));
  });

  it('a wrong scope in a fixture makes the run fail', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nflens-grammar-'));
    try {
      const good = readFileSync(join(repo, 'test/grammar/fixtures/ztunnel.test.rules'), 'utf8');
      const bad = good.replace('^^^^^^^^ support.function.target.iptables', '^^^^^^^^ entity.name.function.chain.iptables');
      assert.notEqual(bad, good);
      writeFileSync(join(dir, 'bad.test.rules'), bad);
      const r = run(join(dir, '*.test.rules'));
      assert.notEqual(r.status, 0);
      assert.match(r.stdout + r.stderr, /entity\.name\.function\.chain\.iptables/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('package.json contributes both grammars with their scope names', () => {
    const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
    const byLang = Object.fromEntries(pkg.contributes.grammars.map((g: any) => [g.language, g]));
    for (const [lang, scope, file] of [['iptables', 'source.iptables', grammars[0]], ['nftables', 'source.nftables', grammars[1]]]) {
      assert.equal(byLang[lang].scopeName, scope);
      assert.equal(byLang[lang].path, './' + file);
      assert.equal(JSON.parse(readFileSync(join(repo, file), 'utf8')).scopeName, scope);
    }
  });
});
