// The `-j NAME` / `-g NAME` of an iptables rule read from its line's words, without building the rule: the
// editor index and the chain graph use it on big dumps, where reading a rule's actions rebuilds the rule.
import { findTarget, VERDICTS } from '../knowledge/iptables-extensions';

/** What the line's words say about its target, when they say it plainly. */
export type LineJump = { kind: 'none' } | { kind: 'jump' | 'goto'; name: string; column: number } | { kind: 'unsure' };

const UNSURE: LineJump = { kind: 'unsure' };
const NONE: LineJump = { kind: 'none' };
const WRAP_GAP = 16;
const ABBREV_JUMP = /^--(?:j|ju|jum|jump|g|go|got|goto)(?:=|$)/;

/**
 * The `-j NAME` / `-g NAME` of an iptables rule line [from, to) of `text`, read from its words the way the
 * model reads them (iptables-rule.ts: a goto always names a chain; a jump names one unless NAME is a
 * verdict or a target of either family). Anything the words leave open (quotes other than plain "...",
 * backslashes, control or non-ASCII characters, `--jump=X`, `-jX`, abbreviations, two targets, a flag
 * right after another flag, a gap wide enough to be a terminal wrap) is "unsure": the caller reads the rule's actions instead. Checked against the
 * model on every corpus line (test/ide/document-index.test.ts).
 */
export function jumpFromLine(text: string, from: number, to: number): LineJump {
  let flag = -1, flagCount = 0, tok = 0;
  let prevStart = -1, prevEnd = -1, curStart = -1, curEnd = -1;
  let argStart = -1, argEnd = -1, argQuoted = false, isGoto = false, wantArg = false, flagPrevStart = -1, flagPrevEnd = -1;
  let i = from;
  while (i < to) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9) { i++; continue; }
    // A wide gap may be a terminal wrap the model joins across (from-iptables.ts, WRAP_GAP).
    if (i - curEnd >= WRAP_GAP && curEnd >= 0) return UNSURE;
    // A word.
    const start = i;
    let quoted = false;
    while (i < to) {
      const d = text.charCodeAt(i);
      if (d === 32 || d === 9) break;
      if (d < 32 || d >= 127 || d === 39 || d === 92) return UNSURE;
      if (d === 34) {
        // A quoted part: the whole word must be one "..." (no text glued before or after).
        if (i !== start) return UNSURE;
        const close = text.indexOf('"', i + 1);
        if (close < 0 || close >= to) return UNSURE;
        for (let k = i + 1; k < close; k++) {
          const e = text.charCodeAt(k);
          if (e < 32 || e >= 127 || e === 39 || e === 92) return UNSURE;
        }
        i = close + 1;
        if (i < to && text.charCodeAt(i) !== 32 && text.charCodeAt(i) !== 9) return UNSURE;
        quoted = true;
        break;
      }
      i++;
    }
    prevStart = curStart; prevEnd = curEnd;
    curStart = start; curEnd = i;
    if (wantArg) {
      argStart = start; argEnd = i; argQuoted = quoted; wantArg = false;
    }
    if (!quoted && text.charCodeAt(start) === 45 /* - */) {
      const len = i - start;
      const isJ = len === 2 && (text.charCodeAt(start + 1) === 106 || text.charCodeAt(start + 1) === 103);
      const w = isJ ? '' : text.slice(start, i);
      if (isJ || w === '--jump' || w === '--goto') {
        if (tok < 2) return UNSURE;
        flagCount++;
        flag = tok;
        isGoto = isJ ? text.charCodeAt(start + 1) === 103 : w === '--goto';
        flagPrevStart = prevStart; flagPrevEnd = prevEnd;
        wantArg = true;
      } else if (ABBREV_JUMP.test(w) || (w.charCodeAt(1) !== 45 && /[jg]/.test(w))) {
        // --jump=X, an abbreviation, -jX or a cluster of short options holding j or g.
        return UNSURE;
      }
    }
    tok++;
  }
  if (flagCount === 0) return NONE;
  if (flagCount > 1 || flag < 0 || argStart < 0 || argQuoted) return UNSURE;
  // The word before the flag must not be an option (whose argument the flag might be) or a "!".
  const p0 = text.charCodeAt(flagPrevStart);
  if (flagPrevEnd <= flagPrevStart || p0 === 45 || p0 === 33) return UNSURE;
  const a0 = text.charCodeAt(argStart);
  if (a0 === 45 || a0 === 33) return UNSURE;
  const name = text.slice(argStart, argEnd);
  if (isGoto) return { kind: 'goto', name, column: argStart - from };
  if (VERDICTS.has(name) || findTarget(name, 'ip') || findTarget(name, 'ip6')) return NONE;
  return { kind: 'jump', name, column: argStart - from };
}
