// The command-line splitter (iptables-argv.ts) must read every line exactly as the word token patterns
// of the Chevrotain lexer would: same words, kinds, offsets, and the same unexpected characters.
// Compared on every line of the real iptables corpora and on random lines built from the characters
// that matter (quotes, backslashes, `!`, `-`, brackets, odd Unicode spaces, CR, control characters).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Lexer } from 'chevrotain';
import { splitArgv, type ArgKind } from '../../server/src/syntax/iptables-argv';
import { Bang, Counters, Flag, QuotedString, wordTokens } from '../../server/src/syntax/iptables-lexer';
import { parseRuleset } from '../../server/src/parse';
import { prng } from '../support/prng';
import { filesUnder } from '../support/corpus-files';

const SHARED = resolve(import.meta.dirname, '../../../shared');
const wordLexer = new Lexer(wordTokens, { positionTracking: 'onlyOffset', ensureOptimizations: false });

type Piece = [ArgKind | 'error', number, number];

function byTokens(line: string): Piece[] {
  const r = wordLexer.tokenize(line);
  const out: Piece[] = [];
  for (const t of r.tokens) {
    const k = t.tokenType === Counters ? 'counters' : t.tokenType === Flag ? 'flag' : t.tokenType === Bang ? 'bang' : t.tokenType === QuotedString ? 'string' : 'word';
    out.push([k, t.startOffset, t.startOffset + t.image.length]);
  }
  for (const e of r.errors) out.push(['error', e.offset, e.offset + e.length]);
  return out.sort((a, b) => a[1] - b[1]);
}

function bySplitter(line: string): Piece[] {
  const out: Piece[] = [];
  splitArgv(line, 0, line.length, {
    arg: (k, s, e) => void out.push([k, s, e]),
    error: (s, e) => void out.push(['error', s, e]),
  });
  return out;
}


test('the splitter reads every line of the real iptables corpus as the word tokens do', () => {
  let lines = 0;
  for (const f of filesUnder(join(SHARED, 'corpora/real-iptables'))) {
    for (const line of readFileSync(f, 'utf8').split('\n')) {
      if (!line || line[0] === '#' || line[0] === '*' || line[0] === ':') continue;
      const l = line.endsWith('\r') ? line.slice(0, -1) : line;
      assert.deepEqual(bySplitter(l), byTokens(l), `${f}: ${JSON.stringify(l)}`);
      lines++;
    }
  }
  console.log(`  ${lines} corpus lines agree`);
  assert.ok(lines > 50_000);
});

test('the splitter agrees with the word tokens on 20 000 random lines', () => {
  const alphabet = ['-', '--', '!', '"', '\\', '[', ']', ':', '0', '9', 'a', 'Z', ' ', '\t', '\f', '\v', '\r', '\u00a0', '\u2028', '\u3000', '\ufeff', '\u0000', '\u0085', 'é', '🙂', '#', '*', '=', ',', '/'];
  const rnd = prng(20261128);
  for (let n = 0; n < 20_000; n++) {
    let l = '';
    const len = Math.floor(rnd() * 24);
    for (let i = 0; i < len; i++) l += alphabet[Math.floor(rnd() * alphabet.length)];
    assert.deepEqual(bySplitter(l), byTokens(l), JSON.stringify(l));
  }
});

test('a document reads the same through CommandLine tokens and through word tokens', () => {
  // A form feed before a rule keeps it off the CommandLine path: both paths must build the same rule.
  const body = ['-A INPUT -s 10.0.0.0/8 -p tcp -m tcp --dport 22 -m comment --comment "ssh \\"in\\"" -j ACCEPT', '[3:180] -A INPUT ! -i lo -j DROP', '-A INPUT -m state --state\r NEW -j ACCEPT'];
  const plain = parseRuleset(`*filter\n:INPUT ACCEPT [0:0]\n${body.join('\n')}\nCOMMIT\n`);
  const fed = parseRuleset(`*filter\n:INPUT ACCEPT [0:0]\n${body.map((b) => '\f' + b).join('\n')}\nCOMMIT\n`);
  const shape = (rs: typeof plain) => JSON.parse(JSON.stringify({
    rules: rs.tables[0].chains[0].rules.map((r) => ({ ...JSON.parse(JSON.stringify(r)), range: { s: r.range.start.character, e: r.range.end.character } })),
    diagnostics: rs.diagnostics.map((d) => [d.code, d.message, d.range.start.line]),
  }));
  const a = shape(plain), b = shape(fed);
  assert.equal(a.rules.length, 3);
  // Columns differ by the form feed; everything else must match.
  const strip = (x: unknown): unknown => JSON.parse(JSON.stringify(x, (k, v) => (k === 'character' || k === 's' || k === 'e' ? undefined : v)));
  assert.deepEqual(strip(a), strip(b));
  assert.ok(a.diagnostics.some((d: string[]) => d[0] === 'syntax' && d[1].includes('\\r')), 'a lone CR is reported');
});
