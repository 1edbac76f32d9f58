// Chevrotain grammar for one line of an iptables-save / restore / `-S` document.
// The document is lexed once, then parsed line by line: a bad line yields a diagnostic and never
// hides the lines after it.
import { EmbeddedActionsParser, type IToken, type TokenType } from 'chevrotain';
import {
  allTokens,
  Bang,
  ChainHeader,
  Comment,
  Commit,
  Counters,
  Flag,
  iptablesLexer,
  Newline,
  QuotedString,
  TableHeader,
  Word,
} from './iptables-lexer';
import type { Diagnostic, Range } from '../model/ruleset';

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
  | { kind: 'command'; counters?: { packets: number; bytes: number }; items: RuleItem[]; range: Range };

export function tokenRange(t: IToken): Range {
  const line = (t.startLine ?? 1) - 1;
  const col = (t.startColumn ?? 1) - 1;
  return { start: { line, character: col }, end: { line, character: col + t.image.length } };
}

function parseCounters(image: string): { packets: number; bytes: number } {
  const m = /^\[(\d+):(\d+)\]$/.exec(image)!;
  return { packets: Number(m[1]), bytes: Number(m[2]) };
}

export function unquote(image: string): string {
  if (!image.startsWith('"')) return image;
  const body = image.endsWith('"') && image.length > 1 ? image.slice(1, -1) : image.slice(1);
  return body.replace(/\\(.)/g, '$1');
}

function item(kind: RuleItem['kind'], t: IToken): RuleItem {
  return { kind, text: t.image, value: kind === 'string' ? unquote(t.image) : t.image, range: tokenRange(t) };
}

class IptablesLineParser extends EmbeddedActionsParser {
  constructor() {
    super(allTokens as TokenType[], { recoveryEnabled: false, skipValidations: true });
    this.performSelfAnalysis();
  }

  public line = this.RULE('line', (): IptLine | undefined => {
    return this.OR([
      { ALT: () => this.SUBRULE(this.tableLine) },
      { ALT: () => this.SUBRULE(this.chainLine) },
      { ALT: () => this.SUBRULE(this.commitLine) },
      { ALT: () => this.SUBRULE(this.commentLine) },
      { ALT: () => this.SUBRULE(this.commandLine) },
    ]);
  });

  private tableLine = this.RULE('tableLine', (): IptLine => {
    const t = this.CONSUME(TableHeader);
    return this.ACTION(() => {
      const r = tokenRange(t);
      return {
        kind: 'table' as const,
        name: t.image.slice(1),
        range: r,
        nameRange: { start: { line: r.start.line, character: r.start.character + 1 }, end: r.end },
      };
    });
  });

  private chainLine = this.RULE('chainLine', (): IptLine => {
    const c = this.CONSUME(ChainHeader);
    const p = this.OPTION(() => this.OR([{ ALT: () => this.CONSUME(Word) }, { ALT: () => this.CONSUME(Flag) }]));
    const k = this.OPTION2(() => this.CONSUME(Counters));
    return this.ACTION(() => {
      const r = tokenRange(c);
      const last = k ?? p ?? c;
      return {
        kind: 'chain' as const,
        name: c.image.slice(1),
        nameRange: { start: { line: r.start.line, character: r.start.character + 1 }, end: r.end },
        policy: p?.image,
        policyRange: p ? tokenRange(p) : undefined,
        counters: k ? parseCounters(k.image) : undefined,
        range: { start: r.start, end: tokenRange(last).end },
      };
    });
  });

  private commitLine = this.RULE('commitLine', (): IptLine => {
    const t = this.CONSUME(Commit);
    return this.ACTION(() => ({ kind: 'commit' as const, range: tokenRange(t) }));
  });

  private commentLine = this.RULE('commentLine', (): IptLine => {
    const t = this.CONSUME(Comment);
    return this.ACTION(() => ({ kind: 'comment' as const, text: t.image, range: tokenRange(t) }));
  });

  private commandLine = this.RULE('commandLine', (): IptLine => {
    const k = this.OPTION(() => this.CONSUME(Counters));
    const items: RuleItem[] = [];
    this.AT_LEAST_ONE(() => {
      this.OR([
        { ALT: () => { const t = this.CONSUME(Flag); this.ACTION(() => items.push(item('flag', t))); } },
        { ALT: () => { const t = this.CONSUME(Bang); this.ACTION(() => items.push(item('bang', t))); } },
        { ALT: () => { const t = this.CONSUME(Word); this.ACTION(() => items.push(item('word', t))); } },
        { ALT: () => { const t = this.CONSUME(QuotedString); this.ACTION(() => items.push(item('string', t))); } },
        // Counters after the command are the `-c`-less restore form `[p:b]` only at the start; elsewhere a word.
        { ALT: () => { const t = this.CONSUME2(Counters); this.ACTION(() => items.push(item('word', t))); } },
      ]);
    });
    return this.ACTION(() => {
      const first = k ? tokenRange(k) : items[0].range;
      return {
        kind: 'command' as const,
        counters: k ? parseCounters(k.image) : undefined,
        items,
        range: { start: first.start, end: items[items.length - 1].range.end },
      };
    });
  });
}

let parser: IptablesLineParser | undefined;

export interface IptDocument {
  lines: IptLine[];
  diagnostics: Diagnostic[];
}

const EOF_LINE_MSG = 'unexpected text';

/** Lex and parse a whole document. Never throws. */
export function parseIptablesDocument(text: string): IptDocument {
  parser ??= new IptablesLineParser();
  const lexed = iptablesLexer().tokenize(text);
  const diagnostics: Diagnostic[] = [];
  for (const e of lexed.errors) {
    const line = (e.line ?? 1) - 1;
    const col = (e.column ?? 1) - 1;
    diagnostics.push({
      range: { start: { line, character: col }, end: { line, character: col + Math.max(1, e.length) } },
      severity: 'error',
      code: 'syntax',
      message: `unexpected character ${JSON.stringify(text.substr(e.offset, Math.max(1, e.length)))}`,
    });
  }
  const lines: IptLine[] = [];
  const toks = lexed.tokens;
  let i = 0;
  while (i < toks.length) {
    let j = i;
    while (j < toks.length && toks[j].tokenType !== Newline) j++;
    if (j > i) {
      const lineToks = toks.slice(i, j);
      parser.input = lineToks;
      const res = parser.line();
      if (parser.errors.length || !res) {
        const bad = parser.errors[0]?.token;
        const at = bad && bad.image ? bad : lineToks[0];
        diagnostics.push({
          range: tokenRange(at),
          severity: 'error',
          code: 'syntax',
          message: describeLineError(lineToks, at),
        });
        // Keep what could be read: a command line with a stray token still names its items.
      } else {
        lines.push(res);
      }
    }
    i = j + 1;
  }
  return { lines, diagnostics };
}

function describeLineError(lineToks: IToken[], at: IToken): string {
  const first = lineToks[0];
  if (first.tokenType === TableHeader) return `unexpected ${JSON.stringify(at.image)} after table header`;
  if (first.tokenType === ChainHeader) return `unexpected ${JSON.stringify(at.image)} in chain declaration: expected ":CHAIN POLICY [packets:bytes]"`;
  if (first.tokenType === Commit) return 'unexpected text after COMMIT';
  return `${EOF_LINE_MSG} ${JSON.stringify(at.image)}`;
}
