// Semantic tokens are found into typed arrays and ordered by a counting sort (memory on 750 000-line
// dumps). The result must be what the plain version gives: one object per token, a "line:char" set for
// the first token at each place, a sort, and overlaps dropped. That version is kept here as the oracle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyzeDocument, lineText, occurrenceSpans, symbolIsBuiltinChain, symbolIsChain, type DocumentAnalysis } from '../../server/src/ide/document';
import { semanticTokens } from '../../server/src/ide/semantic-tokens';
import type { Range } from '../../server/src/model/ruleset';
import type { SemanticToken, SemanticTokenModifier, SemanticTokenType } from '../../server/src/ide/types';
import { corpusFiles } from '../support/corpus-files';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const shared = resolve(repoRoot, '../shared');

function oracle(doc: DocumentAnalysis): SemanticToken[] {
  const toks: SemanticToken[] = [];
  const taken = new Set<string>();
  const add = (r: Range | undefined, type: SemanticTokenType, modifiers: SemanticTokenModifier[] = []) => {
    if (!r || r.start.line !== r.end.line || r.end.character <= r.start.character) return;
    const key = `${r.start.line}:${r.start.character}`;
    if (taken.has(key)) return;
    taken.add(key);
    toks.push({ line: r.start.line, character: r.start.character, length: r.end.character - r.start.character, type, modifiers });
  };
  for (const o of occurrenceSpans(doc)) {
    const mods: SemanticTokenModifier[] = [];
    if (o.declaration) mods.push('declaration');
    if (symbolIsBuiltinChain(doc, o.symbol)) mods.push('defaultLibrary');
    const key = `${o.line}:${o.character}`;
    if (o.length <= 0 || taken.has(key)) continue;
    taken.add(key);
    toks.push({ line: o.line, character: o.character, length: o.length, type: symbolIsChain(doc, o.symbol) ? 'function' : 'variable', modifiers: mods });
  }
  for (const t of doc.ruleset.tables) {
    add(t.nameRange, 'namespace', ['declaration']);
    for (const c of t.chains) {
      for (const r of c.rules) {
        for (const m of r.matches) {
          add(m.moduleRange, 'type');
          for (const o of m.options) add(o.nameRange, 'parameter');
        }
        for (const a of r.actions) {
          if (a.kind === 'verdict') add(a.nameRange, 'keyword');
          else if (a.kind === 'extension') add(a.nameRange, 'macro', /MARK$/.test(a.name) ? ['modification'] : []);
          for (const o of a.options) add(o.nameRange, 'parameter');
        }
      }
    }
  }
  for (const op of doc.marks.ops) {
    const o = op.range;
    const txt = lineText(doc, o.start.line).slice(o.start.character, o.end.character);
    const m = /(\S+)$/.exec(txt);
    if (m && m.index > 0) add({ start: { line: o.start.line, character: o.start.character + m.index }, end: o.end }, 'number');
  }
  toks.sort((a, b) => a.line - b.line || a.character - b.character);
  const out: SemanticToken[] = [];
  for (const t of toks) {
    const p = out[out.length - 1];
    if (p && p.line === t.line && t.character < p.character + p.length) continue;
    out.push(t);
  }
  return out;
}


test('semantic tokens equal the plain version on the examples, real rulesets, nft dumps and a kube dump', () => {
  const inputs = [
    ...corpusFiles(join(repoRoot, 'examples')),
    ...corpusFiles(join(shared, 'corpora/real-iptables')),
    ...corpusFiles(join(shared, 'corpora/real-nft')),
    ...corpusFiles(join(shared, 'corpora/nft-shell')).filter((f) => f.includes('/dumps/') && f.endsWith('.nft')),
  ].filter((f) => !f.endsWith('.json')).map((f) => ({ name: f, text: readFileSync(f, 'utf8') }));
  inputs.push({ name: 'kube 300', text: execFileSync('node', [join(shared, 'tools/gen-kube.js'), '300'], { encoding: 'utf8', maxBuffer: 1 << 28 }) });
  // Same place twice (a chain name that is also read as something else), overlaps, CRLF.
  inputs.push({ name: 'odd', text: '*mangle\r\n:PREROUTING ACCEPT [0:0]\r\n:MARK - [0:0]\r\n-A PREROUTING -j MARK --set-xmark 0x1/0x1\r\n-A PREROUTING -m mark --mark 0x1/0x1 -j MARK\r\nCOMMIT\r\n' });
  let tokens = 0;
  for (const { name, text } of inputs) {
    const doc = analyzeDocument(`file:///${name}`, text, 1);
    const want = oracle(doc);
    const got = semanticTokens(doc);
    assert.deepEqual(got, want, name);
    tokens += got.length;
  }
  console.log(`semantic tokens: ${inputs.length} documents, ${tokens} tokens, all equal to the plain version`);
  assert.ok(tokens > 100_000);
});

test('range tokens (the viewport) are the whole document\'s tokens on those lines', () => {
  const kube = execFileSync('node', [join(shared, 'tools/gen-kube.js'), '300'], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const docs = [
    analyzeDocument('file:///kube', kube, 1),
    ...['examples/ztunnel-ambient.rules', 'examples/multi-wan.nft', 'examples/istio-sidecar.iptables'].map((f) => analyzeDocument(`file:///${f}`, readFileSync(join(repoRoot, f), 'utf8'), 1)),
  ];
  let windows = 0, tokens = 0;
  for (const doc of docs) {
    const all = semanticTokens(doc);
    const n = doc.text.split('\n').length;
    for (const [start, len] of [[0, 50], [7, 1], [Math.floor(n / 3), 120], [n - 40, 100], [n + 5, 10]]) {
      const end = start + len - 1;
      const got = semanticTokens(doc, { start, end });
      // A token starting inside the previous one is dropped in both; a window cannot start inside a token.
      assert.deepEqual(got, all.filter((t) => t.line >= start && t.line <= end), `${doc.uri} lines ${start}-${end}`);
      windows++;
      tokens += got.length;
    }
  }
  console.log(`range tokens: ${windows} windows, ${tokens} tokens, each equal to the whole document's on those lines`);
  assert.ok(tokens > 500);
});
