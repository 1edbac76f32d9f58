// Chevrotain lexer and line grammar shared by the iproute2 and ipset outputs (`ip rule`, `ip route`,
// `ip addr`, rt_tables, `ipset save|list`, node profiles). All of them are lines of blank-separated
// words (a `"quoted string"` is one word); what a word means depends on its line and is decided by
// iproute-parser.ts / ipset-parser.ts. The grammar accepts every token sequence, so it cannot fail.
import { createToken, EmbeddedActionsParser, Lexer, type IToken, type TokenType } from 'chevrotain';
import { lineStartPattern, unquote } from './line-lexing';
import type { Diagnostic, Range } from '../model/ruleset';


export const Newline = createToken({ name: 'Newline', pattern: /\r?\n/, line_breaks: true });
export const Blank = createToken({ name: 'Blank', pattern: /[ \t\f\v]+/, group: Lexer.SKIPPED });
/** `#` comments only at the start of a line: `#` inside a line is a word (rt_tables allows both). */
export const LineComment = createToken({
  name: 'LineComment',
  pattern: lineStartPattern(/#[^\n]*/, 35),
  start_chars_hint: ['#'],
  line_breaks: false,
});
/** Any word, quoted or not (a category: the grammar consumes words without choosing). */
export const AnyWord = createToken({ name: 'AnyWord', pattern: Lexer.NA });
export const Quoted = createToken({ name: 'Quoted', pattern: /"(?:[^"\\\r\n]|\\.)*"?/, categories: [AnyWord] });
export const Bare = createToken({ name: 'Bare', pattern: /[^\s"]+/, categories: [AnyWord] });

const allTokens = [Newline, Blank, LineComment, Quoted, Bare, AnyWord];

export interface Word {
  /** Source text (quotes included). */
  text: string;
  /** Unquoted value. */
  value: string;
  range: Range;
  quoted: boolean;
}

export interface WordLine {
  /** 0-based line number in the document. */
  line: number;
  /** Column of the first word: indented lines continue the previous one in some outputs. */
  indent: number;
  words: Word[];
  /** Whole-line comment (`# ...`), when the line is one. */
  comment?: Word;
  range: Range;
}


class WordLineParser extends EmbeddedActionsParser {
  /** Number of the input's first line (a chunk or an inline text inside a larger document). */
  firstLine = 0;
  private lineNo = 0;
  private lineStart = 0;
  lines: WordLine[] = [];

  constructor() {
    super(allTokens as TokenType[], { recoveryEnabled: true, skipValidations: true });
    this.performSelfAnalysis();
  }

  override reset(): void {
    super.reset();
    this.lineNo = this.firstLine;
    this.lineStart = 0;
    this.lines = [];
  }

  private r(t: IToken): Range {
    const c = t.startOffset - this.lineStart;
    return { start: { line: this.lineNo, character: c }, end: { line: this.lineNo, character: c + t.image.length } };
  }

  public document = this.RULE('document', () => {
    this.MANY(() => {
      this.OPTION(() => this.SUBRULE(this.line));
      const nl = this.CONSUME(Newline);
      this.ACTION(() => {
        this.lineNo++;
        this.lineStart = nl.startOffset + nl.image.length;
      });
    });
  });

  private line = this.RULE('line', () => {
    this.OR([
      {
        ALT: () => {
          const t = this.CONSUME(LineComment);
          this.ACTION(() => {
            const range = this.r(t);
            this.lines.push({ line: this.lineNo, indent: range.start.character, words: [], comment: { text: t.image, value: t.image, range, quoted: false }, range });
          });
        },
      },
      {
        ALT: () => {
          const toks: IToken[] = [];
          this.AT_LEAST_ONE(() => {
            const t = this.CONSUME(AnyWord);
            this.ACTION(() => toks.push(t));
          });
          this.ACTION(() => {
            const words = toks.map((t) => ({ text: t.image, value: unquote(t.image), range: this.r(t), quoted: t.tokenType === Quoted }));
            this.lines.push({
              line: this.lineNo,
              indent: words[0].range.start.character,
              words,
              range: { start: words[0].range.start, end: words[words.length - 1].range.end },
            });
          });
        },
      },
    ]);
  });
}

let lexer: Lexer | undefined;
let parser: WordLineParser | undefined;

/** Splits a document into lines of words with exact ranges. Never throws. */
export function readWordLines(text: string, lineOffset = 0): { lines: WordLine[]; diagnostics: Diagnostic[] } {
  lexer ??= new Lexer(allTokens, { positionTracking: 'onlyOffset', ensureOptimizations: false, skipValidations: true });
  parser ??= new WordLineParser();
  const src = text.length && text.charCodeAt(text.length - 1) === 10 ? text : text + '\n';
  const diagnostics: Diagnostic[] = [];
  const lexed = lexer.tokenize(src);
  // Every character is some token, so lexing errors mean a bug; report rather than throw.
  for (const e of lexed.errors) {
    diagnostics.push({ range: at(src, e.offset, Math.max(1, e.length), lineOffset), severity: 'error', code: 'syntax', message: `unexpected character ${JSON.stringify(src.substr(e.offset, 1))}` });
  }
  // Lines numbered from lineOffset as they are read (shifting them after made four objects per word again).
  parser.firstLine = lineOffset;
  parser.input = lexed.tokens;
  parser.document();
  const lines = parser.lines;
  for (const e of parser.errors) {
    diagnostics.push({ range: at(src, e.token.startOffset || 0, 0, lineOffset), severity: 'error', code: 'internal-error', message: `parser: ${e.message}` });
  }
  parser.firstLine = 0;
  parser.input = [];
  return { lines, diagnostics };
}

function at(src: string, offset: number, length: number, lineOffset: number): Range {
  let line = 0, start = 0;
  for (let i = 0; i < offset && i < src.length; i++) if (src.charCodeAt(i) === 10) { line++; start = i + 1; }
  return { start: { line: line + lineOffset, character: offset - start }, end: { line: line + lineOffset, character: offset - start + length } };
}

/** Range from the start of word `a` to the end of word `b`. */
export function span(a: Word, b: Word): Range {
  return { start: a.range.start, end: b.range.end };
}
