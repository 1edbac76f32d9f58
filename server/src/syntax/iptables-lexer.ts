// Chevrotain lexer for iptables-save / iptables-restore / `iptables -S` text.
// Line-oriented: `#`, `*table`, `:chain` and COMMIT only mean something at the start of a line,
// which custom matchers check by looking at the character before the match.
import { createToken, Lexer, type IToken } from 'chevrotain';
import { atLineStart, lineStartPattern } from './line-lexing';

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
/** A whole command line from its first word (without the line break): split into words by
 *  iptables-argv.ts, which follows the word patterns below exactly. Lines it does not take (one that
 *  starts with a form feed, say) are lexed word by word. */
export const CommandLine = createToken({
  name: 'CommandLine',
  categories: [Any],
  pattern: (text: string, offset: number): RegExpExecArray | null => {
    const c = text.charCodeAt(offset);
    if (c === 32 || c === 9 || c === 10 || c === 13 || c === 11 || c === 12 || !atLineStart(text, offset)) return null;
    let end = text.indexOf('\n', offset);
    if (end < 0) end = text.length;
    if (end > offset && text.charCodeAt(end - 1) === 13) end--;
    if (end === offset) return null;
    return [text.substring(offset, end)] as unknown as RegExpExecArray;
  },
  // Every Latin-1 first character but blanks and line breaks (others fall back to the word tokens).
  start_chars_hint: Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).filter((ch) => !/[ \t\n\r\v\f]/.test(ch)),
  line_breaks: false,
});
export const Counters = createToken({ name: 'Counters', pattern: /\[\d+:\d+\]/, categories: [Item] });
export const Flag = createToken({ name: 'Flag', pattern: /--?[A-Za-z][^\s"!]*/, categories: [Item] });
export const Bang = createToken({ name: 'Bang', pattern: /!/, categories: [Item] });
export const QuotedString = createToken({ name: 'QuotedString', pattern: /"(?:[^"\\\r\n]|\\.)*"?/, categories: [Item] });
export const Word = createToken({ name: 'Word', pattern: /[^\s"]+/, categories: [Item] });

export const allTokens = [Newline, Whitespace, Comment, TableHeader, ChainHeader, Commit, CommandLine, Counters, Flag, Bang, QuotedString, Word, Any, Item];

/** The word patterns alone (what CommandLine's splitter must agree with; used by its test). */
export const wordTokens = [Newline, Whitespace, Counters, Flag, Bang, QuotedString, Word];

let lexer: Lexer | undefined;

export function iptablesLexer(): Lexer {
  // ensureOptimizations would reject the custom matchers' lack of first-char info; hints cover it.
  lexer ??= new Lexer(allTokens, { positionTracking: 'onlyOffset', ensureOptimizations: false, skipValidations: true });
  return lexer;
}

export type { IToken };
