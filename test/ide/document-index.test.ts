// The editor's compact indexes (ide/document.ts) against oracles built from the model:
//  - jumpFromLine (a rule's -j/-g read from its line) against the rule's own actions, on every rule of the
//    real iptables corpus and on random lines of awkward words;
//  - occurrences (declarations, `-A X` owners, jump references), rules by line and the answers of
//    definition/references/occurrenceAt against a from-scratch list made from the model per file;
//  - references and rename on a chain with 100 000 referencing rules answer within a second.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseRuleset } from '../../server/src/parse';
import { analyzeDocument, computeLineStarts, jumpFromLine, lineText, occurrenceAt, occurrenceSpans, ruleAtLine, type DocumentAnalysis } from '../../server/src/ide/document';
import { definition, references, rename } from '../../server/src/ide/navigation';
import { hover } from '../../server/src/ide/hover';
import type { Ruleset } from '../../server/src/model/ruleset';
import { prng } from '../support/prng';
import { corpusFiles } from '../support/corpus-files';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const corpus = resolve(repoRoot, '../shared/corpora/real-iptables');


/** What the model says the rule jumps to: kind, chain and the column of its name (or none). */
function modelJump(rs: Ruleset, text: string, lineStarts: Uint32Array) {
  const out: { line: number; from: number; to: number; expect: string }[] = [];
  for (const t of rs.tables) {
    for (const c of t.chains) {
      for (const r of c.rules) {
        const line = r.range.start.line;
        const a = r.actions.find((x) => (x.kind === 'jump' || x.kind === 'goto') && x.chain);
        const expect = a && a.chainRange && a.chainRange.start.line === line ? JSON.stringify({ kind: a.kind, name: a.chain, column: a.chainRange.start.character }) : JSON.stringify({ kind: 'none' });
        const to = line + 1 < lineStarts.length ? lineStarts[line + 1] - 1 : text.length;
        out.push({ line, from: lineStarts[line], to: to > lineStarts[line] && text.charCodeAt(to - 1) === 13 ? to - 1 : to, expect });
      }
    }
  }
  return out;
}

test('jumpFromLine agrees with the rule\'s actions on every rule of the real iptables corpus', () => {
  let rules = 0, unsure = 0;
  const wrong: string[] = [];
  for (const f of corpusFiles(corpus)) {
    const text = readFileSync(f, 'utf8');
    const rs = parseRuleset(text);
    if (rs.kind === 'nft') continue;
    const ls = computeLineStarts(text);
    for (const r of modelJump(rs, text, ls)) {
      rules++;
      const j = jumpFromLine(text, r.from, r.to);
      if (j.kind === 'unsure') { unsure++; continue; }
      if (JSON.stringify(j) !== r.expect && wrong.length < 10) wrong.push(`${f}:${r.line + 1}: line says ${JSON.stringify(j)}, model ${r.expect}: ${text.slice(r.from, r.to)}`);
    }
  }
  console.log(`  ${rules} rules, ${unsure} read from their actions instead (${((100 * unsure) / rules).toFixed(2)}%)`);
  assert.ok(rules > 50000, `the whole corpus: ${rules} rules`);
  assert.deepEqual(wrong, []);
  // The fast path must be the usual path, or the index phase rebuilds every rule.
  assert.ok(unsure / rules < 0.02, `unsure on ${unsure} of ${rules}`);
});

test('jumpFromLine on random lines of awkward words: plain or unsure, never different from the model', () => {
  const words = ['-j', '-g', '--jump', '--goto', '--jump=Y', '-jY', '--jum', '-fj', 'ACCEPT', 'DROP', 'MARK', 'DNAT', 'TEE', 'Y', 'X', 'KUBE-MARK-MASQ', '"-j Z"', '"a b"', '"Y"', '!', '-m', 'comment', '--comment', '-s', '10.0.0.1', '--set-xmark', '0x1/0x1', "'q'", '--log-prefix', '-f', '-c', '1', '2', '-p', 'tcp', '--dport', '80', 'a\\b', '\t', 'é', '--gid-owner', 'REJECT', 'RETURN', 'QUEUE', 'NFLOG', 'CT', '--to-destination', '-i', 'eth0', '-o', ' '.repeat(17), 'ACC' + ' '.repeat(70) + 'EPT'];
  const rnd = prng(7);
  let plain = 0;
  const wrong: string[] = [];
  // Terminal wraps the model joins (a gap of 16+ after a column that is a multiple of 10), at every offset.
  const wraps = Array.from({ length: 24 }, (_, w) => `-A X -m comment --comment ${'c'.repeat(1 + (w % 12))} -j ${w < 12 ? 'ACC' : 'Y'}${' '.repeat(20)}${w < 12 ? 'EPT' : 'Z'}`);
  for (let i = 0; i < 3000 + wraps.length; i++) {
    const n = 1 + Math.floor(rnd() * 7);
    const ws = Array.from({ length: n }, () => words[Math.floor(rnd() * words.length)]);
    const line = i >= 3000 ? wraps[i - 3000] : `-A X ${ws.join(rnd() < 0.1 ? '\t' : ' ')}`;
    const text = `*filter\n:X - [0:0]\n:Y - [0:0]\n${line}\nCOMMIT\n`;
    const rs = parseRuleset(text);
    const ls = computeLineStarts(text);
    for (const r of modelJump(rs, text, ls)) {
      const j = jumpFromLine(text, r.from, r.to);
      if (j.kind === 'unsure') continue;
      plain++;
      if (JSON.stringify(j) !== r.expect && wrong.length < 10) wrong.push(`${JSON.stringify(line)}: line says ${JSON.stringify(j)}, model ${r.expect}`);
    }
  }
  console.log(`  ${plain} of ${3000 + wraps.length} random lines read from the line`);
  assert.deepEqual(wrong, []);
  assert.ok(plain > 1000, `the line is read on most random lines: ${plain}`);
});

/** Every occurrence, from the model: declarations, owners (`-A X` right after the flag), jumps. */
function oracle(doc: DocumentAnalysis): Map<string, string[]> {
  const bySymbol = new Map<string, string[]>();
  const text = (l: number) => lineText(doc, l);
  const add = (t: string, name: string, line: number, ch: number, role: string) => {
    if (text(line).slice(ch, ch + name.length) !== name) return;
    const k = `${t}/${name}`;
    const l = bySymbol.get(k) ?? bySymbol.set(k, []).get(k)!;
    const item = `${line}:${ch}:${role}`;
    if (!l.includes(item)) l.push(item);
  };
  for (const t of doc.ruleset.tables) {
    for (const c of t.chains) {
      for (const d of c.declarations) if (d.start.line === d.end.line && d.end.character - d.start.character === c.name.length) add(t.name, c.name, d.start.line, d.start.character, 'declaration');
      for (const r of c.rules) {
        const line = r.range.start.line;
        const m = /(?:^|\s)(?:-A|--append|-I|--insert|-R|--replace|-D|--delete)\s+(\S+)/.exec(text(line));
        if (m && m[1] === c.name) add(t.name, c.name, line, m.index + m[0].length - m[1].length, 'owner');
        for (const a of r.actions) {
          if ((a.kind === 'jump' || a.kind === 'goto') && a.chain && a.chainRange && a.chainRange.start.line === a.chainRange.end.line && a.chainRange.end.character - a.chainRange.start.character === a.chain.length) {
            add(t.name, a.chain, a.chainRange.start.line, a.chainRange.start.character, 'reference');
          }
        }
      }
    }
  }
  return bySymbol;
}

test('occurrences, rules by line and navigation match a from-scratch list made from the model (real iptables corpus)', () => {
  const all = corpusFiles(corpus);
  let occ = 0, checkedFiles = 0;
  const wrong: string[] = [];
  const say = (s: string) => { if (wrong.length < 10) wrong.push(s); };
  for (const f of all) {
    const doc = analyzeDocument('file:///x', readFileSync(f, 'utf8'));
    if (doc.ruleset.kind === 'nft') continue;
    checkedFiles++;
    const expect = oracle(doc);
    // The whole file's occurrences (semantic tokens read them like this).
    const got = new Set<string>();
    for (const s of occurrenceSpans(doc)) got.add(`${s.line}:${s.character}`);
    const want = new Set<string>();
    for (const l of expect.values()) for (const x of l) want.add(x.split(':').slice(0, 2).join(':'));
    if ([...got].sort().join() !== [...want].sort().join()) say(`${f}: ${got.size} occurrences, oracle ${want.size}`);
    for (const [key, items] of expect) {
      const name = key.slice(key.indexOf('/') + 1);
      const sorted = items.map((x) => x.split(':').map((v, i) => (i < 2 ? Number(v) : v)) as [number, number, string]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      // Every occurrence is found at both ends of its name, as the same symbol in the same role.
      for (const [line, ch, role] of sorted.slice(0, 50)) {
        occ++;
        for (const at of [ch, ch + name.length]) {
          const o = occurrenceAt(doc, line, at);
          if (!o || o.symbol.name !== name || o.role !== role) say(`${f}:${line + 1}:${at}: ${o?.symbol.name}/${o?.role}, expected ${name}/${role}`);
        }
      }
      const [line, ch] = sorted[0];
      const refs = references(doc, line, ch).map((l) => `${l.range.start.line}:${l.range.start.character}:${l.range.end.character}`);
      const wantRefs = sorted.map(([l, c]) => `${l}:${c}:${c + name.length}`);
      if (refs.join() !== wantRefs.join()) say(`${f}: references of ${key}: ${refs.length}, expected ${wantRefs.length}`);
      const defs = definition(doc, line, ch).map((l) => `${l.range.start.line}:${l.range.start.character}`);
      const wantDefs = items.filter((x) => x.endsWith(':declaration')).map((x) => x.split(':').slice(0, 2).join(':'));
      if (defs.join() !== wantDefs.join()) say(`${f}: definition of ${key}: ${defs.join()} expected ${wantDefs.join()}`);
    }
    // Rules by line: the first rule of the model on each line.
    const first = new Map<number, string>();
    for (const t of doc.ruleset.tables) for (const c of t.chains) for (const r of c.rules) if (!first.has(r.range.start.line)) first.set(r.range.start.line, `${t.name}/${c.name}/${r.index}`);
    for (let l = 0; l < doc.lineStarts.length; l++) {
      const r = ruleAtLine(doc, l);
      const got1 = r && `${r.table.name}/${r.chain.name}/${r.rule.index}`;
      if (got1 !== first.get(l)) say(`${f}:${l + 1}: rule ${got1}, expected ${first.get(l)}`);
    }
  }
  console.log(`  ${checkedFiles} files, ${occ} occurrences looked up`);
  assert.ok(checkedFiles > 300 && occ > 20000);
  assert.deepEqual(wrong, []);
});

test('references, rename and hover on a chain with 100 000 referencing rules answer within a second', () => {
  const N = 100_000;
  const lines = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':TARGET - [0:0]'];
  for (let i = 0; i < N; i++) lines.push(`-A INPUT -s 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32 -j TARGET`);
  lines.push('-A TARGET -j ACCEPT', 'COMMIT', '');
  const doc = analyzeDocument('file:///big', lines.join('\n'));
  const line = 5 + 500;
  const ch = lines[line].indexOf('TARGET');
  const timed = <T>(f: () => T): [T, number] => { const t = performance.now(); const v = f(); return [v, performance.now() - t]; };
  const [refs, tRefs] = timed(() => references(doc, line, ch));
  const [ren, tRen] = timed(() => rename(doc, line, ch, 'OTHER'));
  const [h, tHover] = timed(() => hover(doc, line, ch));
  console.log(`  references ${refs.length} in ${tRefs.toFixed(0)} ms, rename ${tRen.toFixed(0)} ms, hover ${tHover.toFixed(1)} ms`);
  // The declaration, the owner of `-A TARGET` and the 100 000 jumps.
  assert.equal(refs.length, N + 2);
  assert.equal(refs[0].range.start.line, 4);
  assert.ok('edits' in ren && ren.edits.length === N + 2);
  assert.match(h!.markdown, /Jumped to from 100000 places/);
  assert.match(h!.markdown, /and 99990 more/);
  for (const ms of [tRefs, tRen, tHover]) assert.ok(ms < 1000, `${ms} ms`);
});

test('an nft verdict map with 2 000 entries on one line: each chain\'s references are its entries, in order', () => {
  const chains = Array.from({ length: 50 }, (_, i) => `\tchain c${i} {\n\t\taccept\n\t}`).join('\n');
  const entries = Array.from({ length: 2000 }, (_, i) => `${i + 1} : ${i % 3 ? 'jump' : 'goto'} c${(i * 7) % 50}`).join(', ');
  const text = `table inet t {\n${chains}\n\tchain pre {\n\t\ttype filter hook prerouting priority 0;\n\t\ttcp dport vmap { ${entries} }\n\t}\n}\n`;
  const doc = analyzeDocument('file:///vmap', text);
  const lines = text.split('\n');
  const line = lines.findIndex((l) => l.includes('vmap'));
  for (const name of ['c0', 'c7', 'c49']) {
    const want = [...lines[line].matchAll(new RegExp(`(?:jump|goto) (${name})(?!\\d)`, 'g'))].map((m) => m.index! + m[0].length - name.length);
    const at = want[want.length - 1];
    const o = occurrenceAt(doc, line, at);
    assert.equal(o?.symbol.name, name);
    assert.equal(o?.role, 'reference');
    const refs = references(doc, line, at, false).map((l) => `${l.range.start.line}:${l.range.start.character}`);
    assert.deepEqual(refs, want.map((c) => `${line}:${c}`));
    // The declaration comes first, on the chain's own line.
    assert.equal(definition(doc, line, at)[0].range.start.line, lines.findIndex((l) => l.includes(`chain ${name} {`)));
  }
});
