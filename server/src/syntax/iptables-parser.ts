// Chevrotain grammar for iptables-save / iptables-restore / `iptables -S` documents.
// The grammar accepts every token sequence (each line's tail is `Any*`), so parsing cannot fail and
// one bad line never hides the next: what does not belong on a line is reported with its range here.
import { EmbeddedActionsParser, type IToken, type TokenType } from 'chevrotain';
import {
  allTokens,
  Any,
  Bang,
  ChainHeader,
  CommandLine,
  Comment,
  Commit,
  Counters,
  Flag,
  iptablesLexer,
  Item,
  Newline,
  QuotedString,
  TableHeader,
} from './iptables-lexer';
import { unquote } from './line-lexing';
import { splitArgv, type ArgKind, type ArgSink } from './iptables-argv';
import { LineRange, spanRange, type Diagnostic, type Range } from '../model/ruleset';
import { runSteps } from '../steps';

export interface RuleItem {
  kind: 'flag' | 'bang' | 'word' | 'string';
  /** Source text, quotes included. */
  text: string;
  /** Unquoted, unescaped value. */
  value: string;
  range: Range;
}

export type IptLine =
  | { kind: 'table'; name: string; range: Range; nameRange: Range }
  | {
      kind: 'chain';
      name: string;
      nameRange: Range;
      policy?: string;
      policyRange?: Range;
      counters?: { packets: number; bytes: number };
      range: Range;
    }
  | { kind: 'commit'; range: Range }
  | { kind: 'comment'; text: string; range: Range }
  | {
      kind: 'command';
      counters?: { packets: number; bytes: number };
      items: RuleItem[];
      range: Range;
      /** A line read as one CommandLine token: where it lies in the document's text, [at, end). Its words
       *  can be read again from there (`splitCommandLine`), so the model need not keep them. */
      at?: number;
      end?: number;
    };

/** `[0:0]`, on nearly every chain line of a dump: one shared (frozen) value. */
const ZERO_COUNTERS = Object.freeze({ packets: 0, bytes: 0 });

function parseCounters(image: string): { packets: number; bytes: number } {
  if (image === '[0:0]') return ZERO_COUNTERS as { packets: number; bytes: number };
  const colon = image.indexOf(':');
  return { packets: Number(image.slice(1, colon)), bytes: Number(image.slice(colon + 1, -1)) };
}

export { unquote } from './line-lexing';

class IptablesDocumentParser extends EmbeddedActionsParser {
  /** Current line number (0-based) and the offset where it starts: positions come from offsets. */
  lineNo = 0;
  private lineStart = 0;
  /** Offset of the current chunk in the document. */
  base = 0;
  /** Where each line goes as soon as it is read. */
  sink: (line: IptLine) => void = () => {};
  diagnostics: Diagnostic[] = [];

  constructor() {
    super(allTokens as TokenType[], { recoveryEnabled: true, skipValidations: true });
    this.performSelfAnalysis();
  }

  override reset(): void {
    super.reset();
    this.lineStart = 0;
    this.diagnostics = [];
  }

  private r(t: IToken): Range {
    const c = t.startOffset - this.lineStart;
    return new LineRange(this.lineNo, c, c + t.image.length);
  }

  private extra(toks: IToken[], what: string): void {
    if (!toks.length) return;
    const a = this.r(toks[0]), b = this.r(toks[toks.length - 1]);
    this.diagnostics.push({
      range: spanRange(a, b),
      severity: 'error',
      code: 'syntax',
      message: `unexpected ${JSON.stringify(toks.map((t) => t.image).join(' '))} ${what}`,
    });
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

  private rest = this.RULE('rest', (): IToken[] => {
    const toks: IToken[] = [];
    // Pushing to a local array is harmless during Chevrotain's recording phase, so no ACTION wrapper.
    this.MANY(() => toks.push(this.CONSUME(Any)));
    return toks;
  });

  private line = this.RULE('line', () => {
    this.OR([
      {
        ALT: () => {
          const t = this.CONSUME(TableHeader);
          const tail = this.SUBRULE(this.rest);
          this.ACTION(() => {
            const r = this.r(t);
            this.sink({ kind: 'table', name: t.image.slice(1), range: r, nameRange: new LineRange(this.lineNo, (r as LineRange).startCh + 1, (r as LineRange).endCh) });
            this.extra(tail, 'after the table header');
          });
        },
      },
      {
        ALT: () => {
          const c = this.CONSUME(ChainHeader);
          const tail = this.SUBRULE2(this.rest);
          this.ACTION(() => this.chainLine(c, tail));
        },
      },
      {
        ALT: () => {
          const t = this.CONSUME(Commit);
          const tail = this.SUBRULE3(this.rest);
          this.ACTION(() => {
            this.sink({ kind: 'commit', range: this.r(t) });
            this.extra(tail, 'after COMMIT');
          });
        },
      },
      {
        ALT: () => {
          const t = this.CONSUME(Comment);
          this.ACTION(() => this.sink({ kind: 'comment', text: t.image, range: this.r(t) }));
        },
      },
      {
        ALT: () => {
          const t = this.CONSUME(CommandLine);
          this.ACTION(() => this.commandText(t));
        },
      },
      {
        ALT: () => {
          const toks: IToken[] = [];
          this.AT_LEAST_ONE(() => toks.push(this.CONSUME(Item)));
          this.ACTION(() => this.commandLine(toks));
        },
      },
    ]);
  });

  private chainLine(c: IToken, tail: IToken[]): void {
    const r = this.r(c);
    let i = 0;
    const p = tail[i] && tail[i].tokenType !== Counters ? tail[i++] : undefined;
    const k = tail[i] && tail[i].tokenType === Counters ? tail[i++] : undefined;
    const last = k ?? p ?? c;
    this.sink({
      kind: 'chain',
      name: c.image.slice(1),
      nameRange: new LineRange(this.lineNo, (r as LineRange).startCh + 1, (r as LineRange).endCh),
      policy: p?.image,
      policyRange: p ? this.r(p) : undefined,
      counters: k ? parseCounters(k.image) : undefined,
      range: spanRange(r, this.r(last)),
    });
    this.extra(tail.slice(i), 'in chain declaration: expected ":CHAIN POLICY [packets:bytes]"');
  }

  /** A CommandLine token: its words, as the word tokens would have read them. */
  private commandText(t: IToken): void {
    const s = t.image;
    const split = this.split;
    split.counters = undefined;
    split.text = s;
    split.line = this.lineNo;
    split.col = t.startOffset - this.lineStart;
    split.diagnostics = this.diagnostics;
    splitArgv(s, 0, s.length, split);
    const items = split.items.slice();
    const k = split.counters;
    split.items.length = 0;
    if (!items.length) {
      if (k) this.diagnostics.push({ range: k, severity: 'error', code: 'syntax', message: 'counters without a command' });
      return;
    }
    const at = this.base + t.startOffset;
    this.sink({
      kind: 'command',
      counters: k ? parseCounters(textAt(s, k, split.col)) : undefined,
      items,
      range: spanRange(k ?? items[0].range, items[items.length - 1].range),
      at,
      end: at + s.length,
    });
  }

  private split = new LineSplit();

  private commandLine(toks: IToken[]): void {
    let i = 0;
    const k = toks[0].tokenType === Counters ? toks[i++] : undefined;
    const items: RuleItem[] = new Array(toks.length - i);
    for (let j = 0; i < toks.length; i++, j++) {
      const t = toks[i];
      const tt = t.tokenType;
      const kind = tt === Flag ? 'flag' : tt === Bang ? 'bang' : tt === QuotedString ? 'string' : 'word';
      const text = t.image;
      items[j] = { kind, text, value: kind === 'string' ? unquote(text) : text, range: this.r(t) };
    }
    const first = k ? this.r(k) : items[0]?.range;
    if (!items.length) {
      this.diagnostics.push({ range: first, severity: 'error', code: 'syntax', message: 'counters without a command' });
      return;
    }
    this.sink({
      kind: 'command',
      counters: k ? parseCounters(k.image) : undefined,
      items,
      range: spanRange(first, items[items.length - 1].range),
    });
  }
}

/** Collects one command line's words (reused: one per parser). */
class LineSplit implements ArgSink {
  items: RuleItem[] = [];
  counters: LineRange | undefined;
  text = '';
  line = 0;
  col = 0;
  diagnostics: Diagnostic[] = [];
  arg(kind: ArgKind, start: number, end: number): void {
    const range = new LineRange(this.line, this.col + start, this.col + end);
    if (kind === 'counters') {
      // Counters lead a line; anywhere else they are a word, as the token path reads them.
      if (this.items.length === 0 && this.counters === undefined) {
        this.counters = range;
        return;
      }
      kind = 'word';
    }
    const text = this.text.substring(start, end);
    this.items.push({ kind, text, value: kind === 'string' ? unquote(text) : text, range });
  }
  error(start: number, end: number): void {
    this.diagnostics.push(unexpectedChars(new LineRange(this.line, this.col + start, this.col + end), this.text.substring(start, end)));
  }
}

const resplit = new LineSplit();

/** The words of a command line read before as one CommandLine token at `text[at, end)` on `line`, its
 *  first character at column `col`: the same items the parser gave (leading counters left out). */
export function splitCommandLine(text: string, at: number, end: number, line: number, col: number): RuleItem[] {
  const split = resplit;
  split.counters = undefined;
  split.text = text;
  split.line = line;
  split.col = col - at;
  split.diagnostics = [];
  split.items = [];
  splitArgv(text, at, end, split);
  const items = split.items;
  split.items = [];
  split.text = '';
  return items;
}

/** Characters no token takes: the same report from the lexer and from the command-line splitter. */
function unexpectedChars(range: Range, text: string): Diagnostic {
  return { range, severity: 'error', code: 'syntax', message: `unexpected character ${JSON.stringify(text)}` };
}

function textAt(s: string, r: LineRange, col: number): string {
  return s.substring(r.startCh - col, r.endCh - col);
}

let parser: IptablesDocumentParser | undefined;


export interface IptDocument {
  lines: IptLine[];
  diagnostics: Diagnostic[];
}

/** Text is lexed and parsed in chunks of whole lines, so the tokens of one chunk are garbage before the
 *  next is read (a 16 MB dump never holds all its tokens at once). */
const CHUNK = 1 << 16;

/** Lex and parse a whole document; each line goes to `onLine` as it is read (or into `lines`). Never throws. */
export function parseIptablesDocument(text: string, onLine?: (line: IptLine) => void): IptDocument {
  return runSteps(parseIptablesSteps(text, onLine));
}

/** The same, one chunk per step: yields the share of the text read so far (0..1), so a caller (the
 *  language server) can report progress and serve other requests between chunks. */
export function* parseIptablesSteps(text: string, onLine?: (line: IptLine) => void): Generator<number, IptDocument, void> {
  parser ??= new IptablesDocumentParser();
  // A final newline lets the grammar treat every line alike.
  const src = text.length && text.charCodeAt(text.length - 1) === 10 ? text : text + '\n';
  const lines: IptLine[] = [];
  const diagnostics: Diagnostic[] = [];
  const sink = onLine ?? ((l: IptLine) => void lines.push(l));
  let lineNo = 0;
  for (let at = 0; at < src.length; ) {
    let end = Math.min(src.length, at + CHUNK);
    if (end < src.length) {
      const nl = src.indexOf('\n', end - 1);
      end = nl < 0 ? src.length : nl + 1;
    }
    const chunk = at === 0 && end === src.length ? src : src.slice(at, end);
    const lexed = iptablesLexer().tokenize(chunk);
    if (lexed.errors.length) lexErrors(chunk, lineNo, lexed.errors, diagnostics);
    parser.input = lexed.tokens;
    parser.lineNo = lineNo;
    parser.base = at;
    parser.sink = sink;
    parser.document();
    for (const d of parser.diagnostics) diagnostics.push(d);
    for (const e of parser.errors) {
      // The grammar accepts any token sequence; reaching this means a bug, reported rather than thrown.
      diagnostics.push({
        range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
        severity: 'error',
        code: 'internal-error',
        message: `parser: ${e.message} at ${JSON.stringify(e.token.image)} (offset ${at + e.token.startOffset})`,
      });
    }
    lineNo = parser.lineNo;
    parser.input = [];
    parser.sink = () => {};
    at = end;
    if (at < src.length) yield at / src.length;
  }
  return { lines, diagnostics };
}

function lexErrors(chunk: string, lineBase: number, errors: { offset: number; length: number }[], diagnostics: Diagnostic[]): void {
  const lineStarts = [0];
  for (let i = 0; i < chunk.length; i++) if (chunk.charCodeAt(i) === 10) lineStarts.push(i + 1);
  for (const e of errors) {
    let lo = 0, hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid] <= e.offset) lo = mid;
      else hi = mid - 1;
    }
    const col = e.offset - lineStarts[lo];
    const len = Math.max(1, e.length);
    diagnostics.push(unexpectedChars(new LineRange(lineBase + lo, col, col + len), chunk.substr(e.offset, len)));
  }
}
