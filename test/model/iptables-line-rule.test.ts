// A plain `-A CHAIN ...` rule is kept as its line and rebuilt when read (IptablesLineRule). The rebuilt
// rule must be the rule the parser built: same matches, actions, options, values, ranges and comment,
// whatever order the rules are read in and however long ago they were last read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIptablesRuleset } from '../../server/src/model/from-iptables';
import { IptablesLineRule } from '../../server/src/model/iptables-line-rule';
import { detectKind } from '../../server/src/syntax/detect';
import type { Rule, Ruleset } from '../../server/src/model/ruleset';
import { analyzeMarks, markOps } from '../../server/src/analysis/mark-analysis';
import { chainGraph } from '../../server/src/analysis/chain-graph';
import { corpusFiles } from '../support/corpus-files';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const shared = resolve(repoRoot, '../shared');


/** The iptables-t test lines as save documents: every rule line appended to its first chain. */
function tDocuments(): { name: string; text: string }[] {
  const dir = join(shared, 'corpora/iptables-t');
  const out: { name: string; text: string }[] = [];
  for (const f of readdirSync(dir).filter((x) => /^lib(xt|ipt|ip6t)_.*\.t$/.test(x)).sort()) {
    let table = 'filter', chain = 'INPUT';
    const body: string[] = [];
    const flush = () => {
      if (body.length) out.push({ name: `${f}:${table}`, text: `*${table}\n:${chain} ACCEPT [0:0]\n:USER - [0:0]\n${body.join('\n')}\nCOMMIT\n` });
      body.length = 0;
    };
    for (const l of readFileSync(join(dir, f), 'utf8').split('\n')) {
      if (l.startsWith('*')) { flush(); table = l.slice(1).trim(); continue; }
      if (l.startsWith(':')) { flush(); chain = l.slice(1).split(',')[0].trim(); continue; }
      if (!l.trim() || /^[#%@]/.test(l)) continue;
      body.push(`-A ${chain} ${l.split(';')[0]}`);
    }
    flush();
  }
  return out;
}

function allRules(rs: Ruleset): Rule[] {
  return rs.tables.flatMap((t) => t.chains.flatMap((c) => c.rules));
}

function compare(name: string, text: string): { lazy: number; rules: number } {
  if (text.charCodeAt(0) === 0xfeff) text = ' ' + text.slice(1); // as parseRuleset does
  const kind = detectKind(text).kind;
  if (kind === 'nft') return { lazy: 0, rules: 0 };
  const lazy = buildIptablesRuleset(text, { kind });
  const eager = buildIptablesRuleset(text, { kind, eager: true });
  const a = allRules(lazy), b = allRules(eager);
  assert.equal(a.length, b.length, name);
  let n = 0;
  // Read backwards first (every read a rebuild once the cache has turned over), then forwards.
  for (let i = a.length - 1; i >= 0; i--) assert.equal(JSON.stringify(a[i]), JSON.stringify(b[i]), `${name}: rule ${i}`);
  for (let i = 0; i < a.length; i++) {
    if (a[i] instanceof IptablesLineRule) n++;
    assert.deepEqual(a[i].matches, b[i].matches, `${name}: matches of rule ${i}`);
    assert.deepEqual(a[i].actions, b[i].actions, `${name}: actions of rule ${i}`);
    assert.equal(a[i].comment, b[i].comment, `${name}: comment of rule ${i}`);
    assert.deepEqual(a[i].range, b[i].range);
    assert.equal(a[i].index, b[i].index);
  }
  assert.equal(JSON.stringify(lazy), JSON.stringify(eager), name);
  return { lazy: n, rules: a.length };
}

test('rules rebuilt from their lines equal the rules as parsed: real iptables files', () => {
  let lazy = 0, rules = 0;
  const all = corpusFiles(join(shared, 'corpora/real-iptables'));
  for (const f of all) {
    const r = compare(f, readFileSync(f, 'utf8'));
    lazy += r.lazy;
    rules += r.rules;
  }
  console.log(`real-iptables: ${all.length} files, ${rules} rules, ${lazy} kept as lines`);
  assert.ok(lazy > 60_000 && lazy <= rules);
});

test('rules rebuilt from their lines equal the rules as parsed: iptables test-suite lines, good and bad', () => {
  let lazy = 0, rules = 0;
  for (const d of tDocuments()) {
    const r = compare(d.name, d.text);
    lazy += r.lazy;
    rules += r.rules;
  }
  console.log(`iptables-t: ${rules} rules, ${lazy} kept as lines`);
  assert.ok(lazy > 1_000);
});

test('rules rebuilt from their lines equal the rules as parsed: a kube dump, CRLF, BOM, counters, -c', () => {
  const kube = execFileSync('node', [join(shared, 'tools/gen-kube.js'), '300'], { encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.ok(compare('kube', kube).lazy > 3_000);
  assert.ok(compare('kube-crlf', kube.replace(/\n/g, '\r\n')).lazy > 3_000);
  const odd = '\ufeff*filter\r\n:INPUT DROP [5:300]\r\n:X - [0:0]\r\n[7:420] -A INPUT -i lo -j ACCEPT\r\n-A INPUT -c 1 2 -p tcp --dport 22 -j X\r\n-A X -m comment --comment "a \\"b\\"" -m mark --mark 0x1/0xff -j MARK --set-xmark 0x2/0xf\r\n-A X   -p udp   --sport 1:2  \r\nCOMMIT\r\n';
  assert.ok(compare('odd', odd).lazy >= 4);
});

/** Each iptables document of the real corpus, the test-suite lines and `extra`, built both ways. */
function* lazyAndEager(extra: { name: string; text: string }[]): Generator<{ name: string; lazy: Ruleset; eager: Ruleset }> {
  const texts = corpusFiles(join(shared, 'corpora/real-iptables')).map((f) => ({ name: f, text: readFileSync(f, 'utf8') }));
  for (const { name, text } of [...texts, ...tDocuments(), ...extra]) {
    const kind = detectKind(text).kind;
    if (kind === 'nft') continue;
    yield { name, lazy: buildIptablesRuleset(text, { kind }), eager: buildIptablesRuleset(text, { kind, eager: true }) };
  }
}

test('the mark pass skips lines without "mark" or TPROXY unread, and finds the same mark operations', () => {
  // Abbreviated options and dashed chain names that contain MARK.
  const odd = { name: 'odd', text: '*mangle\n:PREROUTING ACCEPT [0:0]\n:KUBE-MARK-MASQ - [0:0]\n-A PREROUTING -j KUBE-MARK-MASQ\n-A PREROUTING -p tcp -j TPROXY --on-port 1 --tproxy-m 0x1/0x1\n-A PREROUTING -m mark --mar 0x2/0x2 -j RETURN\n-A PREROUTING -j MARK --set-xm 0x4/0x4\n-A PREROUTING -jCONNMARK --save-m\nCOMMIT\n' };
  let ops = 0, lazyRules = 0, docs = 0;
  for (const { name, lazy, eager } of lazyAndEager([odd])) {
    docs++;
    const a = markOps(lazy), b = markOps(eager);
    assert.equal(JSON.stringify(a), JSON.stringify(b), name);
    assert.equal(JSON.stringify(analyzeMarks(lazy)), JSON.stringify(analyzeMarks(eager)), name);
    ops += a.length;
    if (name === 'odd') assert.deepEqual(a.map((o) => o.kind), ['xmark', 'test', 'xmark', 'save'], 'abbreviated options are still found');
    lazyRules += allRules(lazy).filter((r) => r.lineText !== undefined).length;
  }
  console.log(`mark operations: ${ops} found alike in ${docs} documents (${lazyRules} rules kept as lines)`);
  assert.ok(ops > 50);
});

test('the chain graph reads plain jumps from the lines and is the graph the rules\' actions give', () => {
  const kube = { name: 'kube', text: execFileSync('node', [join(shared, 'tools/gen-kube.js'), '300'], { encoding: 'utf8', maxBuffer: 1 << 28 }) };
  // Undeclared chains, a target name jumped to as a chain, gotos, quoted and abbreviated jumps, a wrap gap.
  const odd = { name: 'odd', text: '*filter\n:INPUT ACCEPT [0:0]\n:A - [0:0]\n:B - [0:0]\n-A INPUT -j A\n-A INPUT -g B\n-A INPUT -j NOPE\n-A INPUT -j LED\n-A INPUT --jump "A"\n-A INPUT --ju B\n-A INPUT -jA\n-A A -j B\n-A B -j A\n-A INPUT -p tcp -j                          A\n-A INPUT -j ACCEPT\nCOMMIT\n' };
  let edges = 0, diags = 0, docs = 0;
  for (const { name, lazy, eager } of lazyAndEager([kube, odd])) {
    docs++;
    for (let t = 0; t < lazy.tables.length; t++) {
      const a = chainGraph(lazy.tables[t], lazy), b = chainGraph(eager.tables[t], eager);
      const shape = (g: typeof a) => JSON.stringify({ e: g.graph.edges.map((e) => [e.from.name, e.to.name, e.kind, e.range, e.ruleIndex]), d: g.diagnostics });
      assert.equal(shape(a), shape(b), `${name} table ${lazy.tables[t].name}`);
      edges += a.graph.edges.length;
      diags += a.diagnostics.length;
    }
  }
  console.log(`chain graph: ${edges} edges and ${diags} diagnostics alike in ${docs} documents`);
  assert.ok(edges > 5_000 && diags > 5);
});
