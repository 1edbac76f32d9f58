// Mutation fuzzing seeded from the shared corpora: every input must parse and analyse without
// throwing, in time proportional to its size, with every diagnostic range inside the document.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkText } from '../../server/src/check';
import type { Diagnostic } from '../../server/src/model/ruleset';

export const SHARED = resolve(import.meta.dirname, '../../../shared');

import { prng } from '../support/prng';

export { prng };

function walk(dir: string, out: string[], pred: (p: string) => boolean) {
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    const st = statSync(p);
    if (st.isDirectory()) walk(p, out, pred);
    else if (st.size < 200_000 && pred(p)) out.push(p);
  }
}

/** Seed texts: real iptables dumps, nft dumps, and the bogons, cut to at most `maxLines` lines. */
export function seedTexts(maxLines = 40): string[] {
  const files: string[] = [];
  walk(join(SHARED, 'corpora/real-iptables/moby'), files, () => true);
  walk(join(SHARED, 'corpora/real-nft'), files, (p) => !p.endsWith('.json'));
  walk(join(SHARED, 'corpora/nft-shell/testcases'), files, (p) => p.endsWith('.nft') || p.includes('/bogons/nft-f/'));
  walk(join(SHARED, 'corpora/iptables-t/shell'), files, (p) => p.includes('dump'));
  files.sort();
  const texts: string[] = [];
  for (const f of files) {
    const lines = readFileSync(f, 'utf8').split('\n');
    for (let i = 0; i < lines.length; i += maxLines) texts.push(lines.slice(i, i + maxLines).join('\n'));
  }
  return texts;
}

const tokenRe = /\s+|[^\s]+/g;

export type Mutator = (text: string, rnd: () => number) => string;

const pick = <T>(xs: T[], rnd: () => number): T => xs[Math.floor(rnd() * xs.length)];

export const MUTATORS: Record<string, Mutator> = {
  swapTokens(t, rnd) {
    const toks = t.match(tokenRe) ?? [];
    const words = toks.map((x, i) => [x, i] as const).filter(([x]) => !/^\s/.test(x));
    if (words.length < 2) return t;
    const [, i] = pick(words, rnd), [, j] = pick(words, rnd);
    [toks[i], toks[j]] = [toks[j], toks[i]];
    return toks.join('');
  },
  deleteToken(t, rnd) {
    const toks = t.match(tokenRe) ?? [];
    if (!toks.length) return t;
    toks.splice(Math.floor(rnd() * toks.length), 1);
    return toks.join('');
  },
  duplicateToken(t, rnd) {
    const toks = t.match(tokenRe) ?? [];
    if (!toks.length) return t;
    const i = Math.floor(rnd() * toks.length);
    toks.splice(i, 0, toks[i], ' ');
    return toks.join('');
  },
  duplicateLines(t, rnd) {
    const lines = t.split('\n');
    const i = Math.floor(rnd() * lines.length), n = 1 + Math.floor(rnd() * 5);
    lines.splice(i, 0, ...lines.slice(i, i + n));
    return lines.join('\n');
  },
  truncate(t, rnd) {
    return t.slice(0, Math.floor(rnd() * t.length));
  },
  randomBytes(t, rnd) {
    const chars = [...t];
    const n = 1 + Math.floor(rnd() * 8);
    for (let k = 0; k < n; k++) {
      const i = Math.floor(rnd() * (chars.length + 1));
      chars.splice(i, 0, String.fromCharCode(Math.floor(rnd() * 0x3000)));
    }
    return chars.join('');
  },
  crlf: (t) => t.replace(/\n/g, '\r\n'),
  bom: (t) => '\ufeff' + t,
  nul(t, rnd) {
    const i = Math.floor(rnd() * (t.length + 1));
    return t.slice(0, i) + '\0' + t.slice(i);
  },
  tabs: (t) => t.replace(/ /g, '\t'),
  longLine(t, rnd) {
    const filler = pick(['A', '-m ', '{ ', '"', 'x'.repeat(7) + ' ', '0x1/', '!'], rnd);
    return t + '\n' + filler.repeat(Math.ceil(20_000 / filler.length)) + '\n';
  },
  deepNesting(t, rnd) {
    const d = 200 + Math.floor(rnd() * 800);
    return t + '\ntable ip x { chain y { ip saddr ' + '{ '.repeat(d) + '1.2.3.4' + ' }'.repeat(d) + ' } }\n';
  },
  quoteChaos(t, rnd) {
    const i = Math.floor(rnd() * (t.length + 1));
    return t.slice(0, i) + pick(['"', '\\', '\\"', '{', '}', ';', '$', '@', '#'], rnd) + t.slice(i);
  },
};

export interface FuzzFailure {
  seed: number;
  mutator: string;
  problem: string;
  input: string;
}

/** Checks one input; returns a problem description or undefined. */
export function checkOne(text: string): string | undefined {
  const t0 = performance.now();
  let diags: Diagnostic[];
  try {
    diags = checkText(text).diagnostics;
  } catch (e) {
    return `threw: ${(e as Error)?.stack ?? e}`;
  }
  const ms = performance.now() - t0;
  // A hang detector, not a benchmark: linear in the size with room for a loaded 2-core machine.
  const bound = 2000 + text.length * 0.05;
  if (ms > bound) return `took ${ms.toFixed(0)} ms for ${text.length} characters (bound ${bound.toFixed(0)} ms)`;
  const lines = text.split(/\r?\n/);
  for (const d of diags) {
    const { start, end } = d.range;
    const inside = (p: { line: number; character: number }) =>
      p.line >= 0 && p.line < lines.length && p.character >= 0 && p.character <= lines[p.line].length;
    if (!inside(start) || !inside(end)) return `diagnostic range outside the document: ${JSON.stringify(d)}`;
    if (end.line < start.line || (end.line === start.line && end.character < start.character)) return `inverted range: ${JSON.stringify(d)}`;
    if (d.code === 'internal-error') return `internal error: ${d.message}`;
  }
  return undefined;
}

/** Parser set-up (Chevrotain self-analysis) and JIT warm-up happen once, outside any time bound. */
export function warmUp(): void {
  for (const t of seedTexts().slice(0, 50)) checkText(t);
}

export function fuzz(count: number, seed0 = 1, onFailure?: (f: FuzzFailure) => void): { runs: number; failures: FuzzFailure[]; byMutator: Record<string, number> } {
  const seeds = seedTexts();
  warmUp();
  const names = Object.keys(MUTATORS);
  const failures: FuzzFailure[] = [];
  const byMutator: Record<string, number> = {};
  for (let k = 0; k < count; k++) {
    const seed = seed0 + k;
    const rnd = prng(seed);
    let text = pick(seeds, rnd);
    const rounds = 1 + Math.floor(rnd() * 3);
    const used: string[] = [];
    for (let r = 0; r < rounds; r++) {
      const name = pick(names, rnd);
      used.push(name);
      text = MUTATORS[name](text, rnd);
    }
    for (const u of used) byMutator[u] = (byMutator[u] ?? 0) + 1;
    const problem = checkOne(text);
    if (problem) {
      const f = { seed, mutator: used.join('+'), problem, input: text.length > 2000 ? text.slice(0, 2000) + '…' : text };
      failures.push(f);
      onFailure?.(f);
    }
  }
  return { runs: count, failures, byMutator };
}
