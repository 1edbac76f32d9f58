// Splits one iptables command line (`[p:b] -A CHAIN ...`) into its argv, the way iptables-restore
// splits a line before getopt sees it. The Chevrotain lexer hands over a command line as one
// `CommandLine` token; this scanner then yields exactly the items the per-word token patterns of
// iptables-lexer.ts would (Counters, Flag, Bang, QuotedString, Word, skipped blanks, and unexpected
// characters as errors): test/unit/iptables-argv.test.ts checks it against that lexer. A rule line is a
// flat word list, so one token per line spares the lexer and the grammar a token object per word.

export type ArgKind = 'counters' | 'flag' | 'bang' | 'string' | 'word';

export interface ArgSink {
  arg(kind: ArgKind, start: number, end: number): void;
  /** Characters no token pattern accepts, [start, end). */
  error(start: number, end: number): void;
}

/** JavaScript's `\s` minus the lexer's blanks [ \t\f\v] and newline: characters that are no token. */
function isOtherSpace(c: number): boolean {
  return c === 13 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 ||
    c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

function isBlank(c: number): boolean {
  return c === 32 || c === 9 || c === 12 || c === 11;
}

/** Not in `\s`: a character a Word may hold (a `"` is excluded by the callers). */
function isWordChar(c: number): boolean {
  return c > 32 ? !(c >= 0xa0 && isOtherSpace(c)) : c !== 32 && (c < 9 || c > 13);
}

function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** `\[\d+:\d+\]` at `i`: its end, or -1. */
function countersEnd(s: string, i: number, end: number): number {
  let j = i + 1;
  const d0 = j;
  while (j < end && s.charCodeAt(j) >= 48 && s.charCodeAt(j) <= 57) j++;
  if (j === d0 || j >= end || s.charCodeAt(j) !== 58) return -1;
  const d1 = ++j;
  while (j < end && s.charCodeAt(j) >= 48 && s.charCodeAt(j) <= 57) j++;
  if (j === d1 || j >= end || s.charCodeAt(j) !== 93) return -1;
  return j + 1;
}

/** `--?[A-Za-z][^\s"!]*` at `i`: its end, or -1. */
function flagEnd(s: string, i: number, end: number): number {
  let j = i + 1;
  if (j < end && s.charCodeAt(j) === 45) j++;
  if (j >= end || !isLetter(s.charCodeAt(j))) return -1;
  j++;
  for (; j < end; j++) {
    const c = s.charCodeAt(j);
    if (c === 34 || c === 33 || !isWordChar(c)) break;
  }
  return j;
}

/** `"(?:[^"\\\r\n]|\\.)*"?` at `i` (`.` excludes \n \r \u2028 \u2029). */
function quotedEnd(s: string, i: number, end: number): number {
  let j = i + 1;
  while (j < end) {
    const c = s.charCodeAt(j);
    if (c === 34 || c === 10 || c === 13) break;
    if (c === 92) {
      const n = j + 1 < end ? s.charCodeAt(j + 1) : -1;
      if (n < 0 || n === 10 || n === 13 || n === 0x2028 || n === 0x2029) break;
      j += 2;
      continue;
    }
    j++;
  }
  if (j < end && s.charCodeAt(j) === 34) j++;
  return j;
}

/** Does some token pattern match at `i`? (Where an error run stops.) */
function tokenStarts(s: string, i: number, end: number): boolean {
  const c = s.charCodeAt(i);
  return isBlank(c) || c === 34 || isWordChar(c) || (c === 13 && i + 1 < end && s.charCodeAt(i + 1) === 10);
}

/** Scans `s[start, end)` (one line, without its line break). */
export function splitArgv(s: string, start: number, end: number, out: ArgSink): void {
  let i = start;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (isBlank(c)) {
      i++;
      continue;
    }
    let j: number;
    if (c === 91 && (j = countersEnd(s, i, end)) > 0) out.arg('counters', i, j);
    else if (c === 45 && (j = flagEnd(s, i, end)) > 0) out.arg('flag', i, j);
    else if (c === 33) out.arg('bang', i, (j = i + 1));
    else if (c === 34) out.arg('string', i, (j = quotedEnd(s, i, end)));
    else if (isWordChar(c)) {
      j = i + 1;
      while (j < end) {
        const d = s.charCodeAt(j);
        if (d === 34 || !isWordChar(d)) break;
        j++;
      }
      out.arg('word', i, j);
    } else {
      j = i + 1;
      while (j < end && !tokenStarts(s, j, end)) j++;
      out.error(i, j);
    }
    i = j;
  }
}
