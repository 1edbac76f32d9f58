// Chevrotain lexer for iptables-save / iptables-restore / `iptables -S` text.
// Line-oriented: `#`, `*table`, `:chain` and COMMIT only mean something at the start of a line,
// which custom matchers check by looking at the character before the match.
import { createToken, Lexer, type IToken } from 'chevrotain';
import { lineStartPattern } from './line-lexing';

// Categories: `Item` is anything a command line may hold; `Any` is every token but Newline (so that
// no line can fail to parse: what does not belong is reported by the model with its range).
export const Any = createToken({ name: 'Any', pattern: Lexer.NA });
export const Item = createToken({ name: 'Item', pattern: Lexer.NA, categories: [Any] });

export const Newline = createToken({ name: 'Newline', pattern: /\r?\n/, line_breaks: true });
export const Whitespace = createToken({ name: 'Whitespace', pattern: /[ \t\f\v]+/, group: Lexer.SKIPPED });
export const Comment = createToken({
  name: 'Comment',
  categories: [Any],
  pattern: lineStartPattern(/#[^\n]*/),
  start_chars_hint: ['#'],
  line_breaks: false,
});
export const TableHeader = createToken({
  name: 'TableHeader',
  categories: [Any],
  pattern: lineStartPattern(/\*[^\s]*/),
  start_chars_hint: ['*'],
  line_breaks: false,
});
export const ChainHeader = createToken({
  name: 'ChainHeader',
  categories: [Any],
  pattern: lineStartPattern(/:[^\s]*/),
  start_chars_hint: [':'],
  line_breaks: false,
});
export const Commit = createToken({
  name: 'Commit',
  categories: [Any],
  pattern: lineStartPattern(/COMMIT(?=\s|$)/),
  start_chars_hint: ['C'],
  line_breaks: false,
});
export const Counters = createToken({ name: 'Counters', pattern: /\[\d+:\d+\]/, categories: [Item] });
export const Flag = createToken({ name: 'Flag', pattern: /--?[A-Za-z][^\s"!]*/, categories: [Item] });
export const Bang = createToken({ name: 'Bang', pattern: /!/, categories: [Item] });
export const QuotedString = createToken({ name: 'QuotedString', pattern: /"(?:[^"\\\r\n]|\\.)*"?/, categories: [Item] });
export const Word = createToken({ name: 'Word', pattern: /[^\s"]+/, categories: [Item] });

export const allTokens = [Newline, Whitespace, Comment, TableHeader, ChainHeader, Commit, Counters, Flag, Bang, QuotedString, Word, Any, Item];

let lexer: Lexer | undefined;

export function iptablesLexer(): Lexer {
  // ensureOptimizations would reject the custom matchers' lack of first-char info; hints cover it.
  lexer ??= new Lexer(allTokens, { positionTracking: 'onlyOffset', ensureOptimizations: false, skipValidations: true });
  return lexer;
}

export type { IToken };
