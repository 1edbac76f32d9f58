// TextMate grammars of the node profile's languages (syntaxes/iproute, ipset, nflens-node), checked with
// vscode-tmgrammar-test against test/grammar/*.test.txt (a `^^^ scope` line asserts the scopes of those
// columns). The iptables grammar is loaded too: a profile's inline ruleset embeds it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '../..');
const cli = join(repo, 'node_modules/vscode-tmgrammar-test/dist/unit.js');
const grammars: [string, string][] = [
  ['syntaxes/iproute.tmLanguage.json', 'source.iproute'],
  ['syntaxes/ipset.tmLanguage.json', 'source.ipset'],
  ['syntaxes/nflens-node.tmLanguage.json', 'source.nflens-node'],
  ['syntaxes/iptables.tmLanguage.json', 'source.iptables'],
];
const fixtures = ['iproute-rule.test.txt', 'iproute-route.test.txt', 'iproute-addr.test.txt', 'ipset.test.txt', 'nflens-node.test.txt'];

function run(pattern: string) {
  return spawnSync(process.execPath, [cli, ...grammars.flatMap(([g]) => ['-g', g]), '--compact', pattern], { cwd: repo, encoding: 'utf8' });
}

describe('routing TextMate grammars', () => {
  it('the fixtures pass (ip rule, ip route, ip addr + rt_tables, ipset, node profile)', () => {
    const r = run('test/grammar/*.test.txt');
    assert.equal(r.status, 0, r.stdout + r.stderr);
    for (const f of fixtures) assert.match(r.stdout + r.stderr, new RegExp(`${f.replace(/\./g, '\\.')} run successfuly`));
  });

  it('a wrong scope in a fixture makes the run fail', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nflh-grammar-'));
    try {
      const good = readFileSync(join(repo, 'test/grammar/iproute-rule.test.txt'), 'utf8');
      const bad = good.replace('^^^^^ constant.numeric.mark.iproute', '^^^^^ entity.name.namespace.table.iproute');
      assert.notEqual(bad, good);
      writeFileSync(join(dir, 'bad.test.txt'), bad);
      const r = run(join(dir, '*.test.txt'));
      assert.notEqual(r.status, 0);
      assert.match(r.stdout + r.stderr, /entity\.name\.namespace\.table\.iproute/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('each grammar file declares its scope name', () => {
    for (const [file, scope] of grammars) assert.equal(JSON.parse(readFileSync(join(repo, file), 'utf8')).scopeName, scope);
  });
});
