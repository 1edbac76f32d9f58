// Issue 7 "no data loss": every quick fix is one set of edits that, applied and undone, restores the
// file byte for byte, with CRLF and without; inserted lines use the file's own line ending.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { checkText } from '../../server/src/check';
import { applyEdits, codeActions } from '../../server/src/ide/code-actions';
import { filesUnder } from '../support/corpus-files';

const SHARED = resolve(import.meta.dirname, '../../../shared');


/** Corpus rulesets small enough to try every quick fix on. */
function files(dir: string): string[] {
  return filesUnder(dir).filter((p) => statSync(p).size < 60_000 && !/LICENSE|NOTICE|README|info$|\.json$/.test(basename(p)));
}

const WHOLE = { start: { line: 0, character: 0 }, end: { line: 1e9, character: 0 } };

test('quick fixes on the corpora round-trip byte for byte (LF and CRLF)', () => {
  const corpus = [
    ...files(join(SHARED, 'corpora/real-iptables/moby/iptabler-save')).slice(0, 60),
    ...files(join(SHARED, 'corpora/real-iptables/net-network')).slice(0, 30),
    ...files(join(SHARED, 'corpora/real-nft/moby/nftabler')).slice(0, 40),
    resolve(import.meta.dirname, '../../examples/ztunnel-ambient.rules'),
    resolve(import.meta.dirname, '../../examples/istio-sidecar.iptables'),
  ];
  let fixes = 0, filesWithFixes = 0;
  const titles = new Map<string, number>();
  for (const f of corpus) {
    const lf = readFileSync(f, 'utf8').replace(/\r\n/g, '\n');
    for (const text of [lf, lf.replace(/\n/g, '\r\n')]) {
      const actions = codeActions(text, checkText(text).diagnostics, WHOLE);
      if (actions.length && text === lf) filesWithFixes++;
      for (const a of actions) {
        fixes++;
        const key = a.title.replace(/\S*\d\S*|"[^"]*"|\b[A-Z][\w-]+\b/g, '…');
        titles.set(key, (titles.get(key) ?? 0) + 1);
        const done = applyEdits(text, a.edits);
        assert.notEqual(done.text, text, `${f}: fix "${a.title}" changes nothing`);
        if (text.includes('\r\n')) assert.ok(!/[^\r]\n/.test(done.text.replace(/^\n/, '')), `${f}: fix "${a.title}" put a bare LF into a CRLF file`);
        assert.equal(applyEdits(done.text, done.undo).text, text, `${f}: undoing "${a.title}" does not restore the file`);
      }
    }
  }
  console.log(`quick fixes: ${fixes} applied and undone over ${corpus.length} files x 2 line endings (${filesWithFixes} files have fixes); kinds: ${JSON.stringify(Object.fromEntries(titles))}`);
  assert.ok(fixes > 20, 'the corpora offer quick fixes to test');
});

test('declare a missing chain: the fix makes the error go away', () => {
  const text = '*filter\r\n:INPUT ACCEPT [0:0]\r\n:A - [0:0]\r\n-A INPUT -j A\r\n-A A -j B\r\nCOMMIT\r\n';
  const d = checkText(text).diagnostics.filter((x) => x.code === 'undefined-chain');
  assert.equal(d.length, 1);
  const [a] = codeActions(text, d, d[0].range);
  assert.match(a.title, /Declare chain B/);
  const fixed = applyEdits(text, a.edits).text;
  assert.equal(checkText(fixed).diagnostics.filter((x) => x.severity === 'error').length, 0, fixed);
  assert.ok(fixed.includes(':B - [0:0]\r\n'));
});
