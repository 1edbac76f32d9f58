// Chevrotain lexer for nftables scripts (`nft -f`) and `nft list ruleset` output.
// Values such as 10.0.0.0/8, dead::beef, 00:11:22:33:44:55, echo-request, 1-1024 or 10mbytes/second
// lex as one Word; the model splits ranges and prefixes. `.`, `:`, `-`, `/` standing alone (with space
// around them) are operators.
import { createToken, Lexer, type CustomPatternMatcherFunc, type IToken } from 'chevrotain';

const isWordChar = (c: number) =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95; // 0-9 A-Z a-z _
const isHex = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);

/** After a ':' — a group of hex digits not followed by other word characters, as in 2001:db8::1 but not 25:accept. */
function hexRunFollows(text: string, j: number): boolean {
  const start = j;
  while (j < text.length && isHex(text.charCodeAt(j))) j++;
  return j > start && !(j < text.length && isWordChar(text.charCodeAt(j)));
}

/** Longest value-like word at offset. */
function scanWord(text: string, offset: number): number {
  let i = offset;
  const n = text.length;
  let hexOnly = true; // word so far is hex digits and colons: an IPv6 or MAC address may continue with ':'
  const first = text.charCodeAt(i);
  if (first === 58 /* : */) {
    if (text.charCodeAt(i + 1) !== 58) return 0; // only `::` starts a word
  } else if (!isWordChar(first)) return 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (isWordChar(c)) {
      if (!isHex(c)) hexOnly = false;
      i++;
      continue;
    }
    const next = i + 1 < n ? text.charCodeAt(i + 1) : 0;
    if (c === 58 /* : */) {
      const prevColon = i > offset && text.charCodeAt(i - 1) === 58;
      if (prevColon && i - 1 > offset && text.charCodeAt(i - 2) === 58) break; // never ':::'
      if (hexOnly && (next === 58 || prevColon || hexRunFollows(text, i + 1))) { i++; continue; }
      // a trailing `::` (e.g. "1c3::") ends the word after the colons
      break;
    }
    if (c === 46 /* . */ || c === 45 /* - */ || c === 47 /* / */ || c === 37 /* % */) {
      if (isWordChar(next)) { hexOnly = c === 45; i++; continue; } // after '-' a new address may start
      break;
    }
    if (c === 42 /* * */) { i++; break; } // `eth*` wildcard ends a word
    break;
  }
  return i - offset;
}

const wordMatcher: CustomPatternMatcherFunc = (text, offset) => {
  const len = scanWord(text, offset);
  if (!len) return null;
  const m = [text.substr(offset, len)] as unknown as RegExpExecArray;
  return m;
};

export const Newline = createToken({ name: 'Newline', pattern: /\r?\n/, line_breaks: true });
export const Continuation = createToken({ name: 'Continuation', pattern: /\\[ \t]*\r?\n/, line_breaks: true, group: Lexer.SKIPPED });
export const Whitespace = createToken({ name: 'Whitespace', pattern: /[ \t\f\v]+/, group: Lexer.SKIPPED });
export const Comment = createToken({ name: 'Comment', pattern: /#[^\n\r]*/, group: 'comments' });
export const QuotedString = createToken({ name: 'QuotedString', pattern: /"[^"\n\r]*"/ });
export const BadString = createToken({ name: 'BadString', pattern: /"[^"\n\r]*/ });
export const RawPayload = createToken({ name: 'RawPayload', pattern: /@(?:[a-z]+|\d+),\d+,\d+/ });
export const SetRef = createToken({ name: 'SetRef', pattern: /@[A-Za-z0-9_.\-/]+/ });
export const VarRef = createToken({ name: 'VarRef', pattern: /\$[A-Za-z0-9_.\-/]+/ });
export const LCurly = createToken({ name: 'LCurly', pattern: '{' });
export const RCurly = createToken({ name: 'RCurly', pattern: '}' });
export const LParen = createToken({ name: 'LParen', pattern: '(' });
export const RParen = createToken({ name: 'RParen', pattern: ')' });
export const LBracket = createToken({ name: 'LBracket', pattern: '[' });
export const RBracket = createToken({ name: 'RBracket', pattern: ']' });
export const Semi = createToken({ name: 'Semi', pattern: ';' });
export const Comma = createToken({ name: 'Comma', pattern: ',' });
export const EqEq = createToken({ name: 'EqEq', pattern: '==' });
export const Neq = createToken({ name: 'Neq', pattern: '!=' });
export const Le = createToken({ name: 'Le', pattern: '<=' });
export const Ge = createToken({ name: 'Ge', pattern: '>=' });
export const Shl = createToken({ name: 'Shl', pattern: '<<' });
export const Shr = createToken({ name: 'Shr', pattern: '>>' });
export const Lt = createToken({ name: 'Lt', pattern: '<' });
export const Gt = createToken({ name: 'Gt', pattern: '>' });
export const Assign = createToken({ name: 'Assign', pattern: '=' });
export const Bang = createToken({ name: 'Bang', pattern: '!' });
export const Amp = createToken({ name: 'Amp', pattern: '&' });
export const Pipe = createToken({ name: 'Pipe', pattern: '|' });
export const Caret = createToken({ name: 'Caret', pattern: '^' });
export const Word = createToken({
  name: 'Word',
  pattern: wordMatcher,
  line_breaks: false,
  start_chars_hint: [..."0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_:"],
});
export const Colon = createToken({ name: 'Colon', pattern: ':' });
export const Dot = createToken({ name: 'Dot', pattern: '.' });
export const Dash = createToken({ name: 'Dash', pattern: '-' });
export const Slash = createToken({ name: 'Slash', pattern: '/' });
export const Plus = createToken({ name: 'Plus', pattern: '+' });
export const Star = createToken({ name: 'Star', pattern: '*' });
export const Tilde = createToken({ name: 'Tilde', pattern: '~' });

export const allTokens = [
  Newline, Continuation, Whitespace, Comment, QuotedString, BadString, RawPayload, SetRef, VarRef,
  LCurly, RCurly, LParen, RParen, LBracket, RBracket, Semi, Comma, EqEq, Neq, Le, Ge, Shl, Shr, Lt, Gt, Assign, Bang,
  Amp, Pipe, Caret, Word, Colon, Dot, Dash, Slash, Plus, Star, Tilde,
];

let lexer: Lexer | undefined;

export function nftLexer(): Lexer {
  lexer ??= new Lexer(allTokens, { positionTracking: 'onlyOffset', ensureOptimizations: false, skipValidations: true });
  return lexer;
}

export type { IToken };
