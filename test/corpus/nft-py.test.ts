// Every `ok` line of nftables' own Python test suite (tests/py/**/*.t, nft 1.1.6) placed in its
// tables and chains as an `nft -f` script: no error diagnostic. The .t format is read as
// nft-py/nft-test.py does (`:chain;config`, `*family;table;chains`, `!set`, `?elements`, `%object`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseRuleset } from '../../server/src/parse';

const repoRoot = resolve(import.meta.dirname, '../..');
const corpus = resolve(repoRoot, '../shared/corpora/nft-py');

function tFiles(dir: string): string[] {
  const out: string[] = [];
  for (const f of readdirSync(dir).sort()) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) out.push(...tFiles(p));
    else if (/\.t(\.netdev)?$/.test(f)) out.push(p);
  }
  return out;
}

interface Doc {
  text: string;
  /** generated line → source line (1-based) and its text */
  origin: { line: number; src: string; rule: boolean }[];
  okRules: number;
}

/** Builds an nft script from one .t file: every ok line in every table (and chain) it applies to. */
export function tToScript(content: string, want: 'ok' | 'fail' = 'ok'): Doc {
  const out: string[] = [];
  const origin: Doc['origin'] = [];
  const chains = new Map<string, string>();
  const tables: { family: string; name: string; chains: string[] }[] = [];
  let okRules = 0;
  const emit = (s: string, line: number, src: string, rule: boolean) => { out.push(s); origin.push({ line, src, rule }); };
  content.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\s+$/, '');
    const n = i + 1;
    if (!line.trim() || line.startsWith('#')) return;
    if (line.startsWith(':')) {
      const [name, config] = line.slice(1).split(';');
      chains.set(name, config ?? '');
      return;
    }
    if (line.startsWith('*')) {
      const [family, name, cs] = line.slice(1).split(';');
      const t = { family, name, chains: (cs ?? '').split(',').filter(Boolean) };
      tables.push(t);
      emit(`add table ${family} ${name}`, n, line, false);
      for (const c of t.chains) {
        const cfg = chains.get(c);
        emit(`add chain ${family} ${name} ${c}${cfg ? ` { ${cfg}; }` : ''}`, n, line, false);
      }
      return;
    }
    if (line.startsWith('!')) {
      const [spec, result] = line.slice(1).split(';');
      if (result !== 'ok') return;
      const tok = spec.split(' ');
      const name = tok[0];
      let rest = tok.slice(1).join(' ');
      let flags = '';
      let timeout = '';
      const fm = / flags (\S+)$/.exec(rest);
      if (fm) { flags = `flags ${fm[1]}; `; rest = rest.slice(0, fm.index); }
      const tm = / timeout (\S+)$/.exec(rest);
      if (tm) { timeout = `timeout ${tm[1]}; `; rest = rest.slice(0, tm.index); }
      const kind = / : /.test(rest) ? 'map' : 'set';
      for (const t of tables) emit(`add ${kind} ${t.family} ${t.name} ${name} { ${rest}; ${timeout}${flags}}`, n, line, false);
      return;
    }
    if (line.startsWith('?')) {
      const [spec, result] = line.slice(1).split(';');
      if (result !== 'ok') return;
      const sp = spec.indexOf(' ');
      for (const t of tables) emit(`add element ${t.family} ${t.name} ${spec.slice(0, sp)} { ${spec.slice(sp + 1)} }`, n, line, false);
      return;
    }
    if (line.startsWith('%')) {
      const brace = line.lastIndexOf('}');
      const [spec, result] = brace < 0 ? line.slice(1).split(';') : [line.slice(1, brace + 1), line.slice(brace + 2)];
      if (result !== 'ok') return;
      const tok = spec.split(' ');
      const name = tok[0];
      let type = tok[2];
      let rest = tok.slice(3);
      if (type === 'ct') { type = `ct ${tok[3]}`; rest = tok.slice(4); }
      for (const t of tables) emit(`add ${type} ${t.family} ${t.name} ${name} ${rest.join(' ')}`, n, line, false);
      return;
    }
    if (line.startsWith('-')) return; // disabled test
    const parts = line.split(';');
    if (parts.length < 2 || parts[1] !== want) return;
    okRules++;
    for (const t of tables) for (const c of t.chains) emit(`add rule ${t.family} ${t.name} ${c} ${parts[0]}`, n, line, true);
  });
  return { text: out.join('\n') + '\n', origin, okRules };
}

test('nft-py: every ok line of tests/py/*.t loads without an error diagnostic', () => {
  const files = tFiles(corpus);
  assert.ok(files.length >= 100, `expected the nft-py corpus at ${corpus}`);
  let ok = 0;
  const offenders: string[] = [];
  for (const f of files) {
    const doc = tToScript(readFileSync(f, 'utf8'));
    ok += doc.okRules;
    const { diagnostics } = parseRuleset(doc.text, { kind: 'nft' });
    const seen = new Set<number>();
    for (const d of diagnostics) {
      if (d.severity !== 'error') continue;
      const o = doc.origin[d.range.start.line];
      if (!o || seen.has(o.line)) continue;
      seen.add(o.line);
      offenders.push(`${relative(corpus, f)}:${o.line}: ${d.code}: ${d.message} | ${o.src}`);
    }
  }
  console.log(`nft-py: ${files.length} files, ${ok} ok rule lines, ${offenders.length} ok lines with an error`);
  assert.ok(ok > 1500, `only ${ok} ok rule lines found`);
  assert.equal(offenders.length, 0, offenders.slice(0, 30).join('\n'));
});

test('nft-py: share of the fail lines flagged with an error (printed; at least 25%)', () => {
  let fails = 0;
  let flagged = 0;
  for (const f of tFiles(corpus)) {
    const doc = tToScript(readFileSync(f, 'utf8'), 'fail');
    fails += doc.okRules;
    const { diagnostics } = parseRuleset(doc.text, { kind: 'nft' });
    const hit = new Set<number>();
    for (const d of diagnostics) {
      const o = doc.origin[d.range.start.line];
      if (d.severity === 'error' && o?.rule) hit.add(o.line);
    }
    flagged += hit.size;
  }
  console.log(`nft-py: ${flagged}/${fails} fail lines flagged (${((100 * flagged) / fails).toFixed(1)}%)`);
  assert.ok(fails > 200);
  assert.ok(flagged / fails >= 0.25, `only ${flagged}/${fails}`);
});
