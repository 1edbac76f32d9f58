// nftables grammar. The token stream is split into statements (newline or `;` at bracket depth 0,
// blocks opened by `table x {`, `chain y {`, `set s {` ...), and each statement is parsed by a
// Chevrotain rule chosen by its block kind. A bad statement yields a diagnostic and never hides the
// statements after it. Keyword decisions (how many words a selector such as `ct original ip saddr`
// takes, which words a statement accepts) come from knowledge/nft-keywords.ts through gates.
import { EmbeddedActionsParser, EOF, type IToken, type TokenType } from 'chevrotain';
import {
  allTokens, Amp, Assign, BadString, Bang, Caret, Colon, Comma, Dash, Dot, EqEq, Ge, Gt, LBracket, LCurly, Le,
  LParen, Lt, Neq, Newline, nftLexer, Pipe, Plus, QuotedString, RawPayload, RBracket, RCurly, RParen, Semi,
  SetRef, Shl, Shr, Slash, Star, Tilde, VarRef, Word,
} from './nft-lexer';
import {
  ARP_ADDR_SUB, COMMAND_VERBS, CT_DIR, CT_KEYS, FIB_FLAGS, FIB_RESULTS, INNER_CARRIERS, IP_OPTIONS, IPSEC_KEYS,
  META_KEYS, META_UNQUALIFIED, OSF_KEYS, PAYLOAD_FIELDS, RT_KEYS, SCTP_CHUNK_FIELDS, SCTP_CHUNKS, SELECTOR_STARTS,
  SOCKET_KEYS, TCP_OPTIONS,
} from '../knowledge/nft-keywords';
import type { Diagnostic, Range } from '../model/ruleset';

// ---------------------------------------------------------------- AST

export interface Span {
  range: Range;
  /** Source text of the node. */
  text: string;
}

export type Expr = Span &
  (
    | { k: 'sel'; proto: string; key: string; words: string[] }
    | { k: 'val'; str: boolean }
    | { k: 'ref'; name: string }
    | { k: 'var'; name: string }
    | { k: 'set'; elems: Elem[] }
    | { k: 'bin'; op: string; l: Expr; r: Expr }
    | { k: 'list'; items: Expr[] }
    | { k: 'verdict'; verb: string; target?: string; targetRange?: Range }
    | { k: 'hash'; kind: string }
    | { k: 'bad' }
  );

export interface Elem extends Span {
  key: Expr;
  data?: Expr;
  opts: { name: string; value?: Expr; range: Range }[];
}

export interface StmtArg {
  key: string;
  keyRange: Range;
  value?: Expr;
}

export type RuleStmt = Span &
  (
    | { k: 'match'; left: Expr; op: string; opRange?: Range; right: Expr }
    | { k: 'verdict'; verb: string; verbRange: Range; target?: string; targetRange?: Range; anon?: boolean }
    | { k: 'stmt'; name: string; nameRange: Range; args: StmtArg[] }
    | { k: 'mangle'; left: Expr; value: Expr }
    | { k: 'vmap'; key: Expr; map: Expr }
    | { k: 'setop'; op: string; opRange: Range; set: string; setRange: Range; elem: Expr; stmts: RuleStmt[] }
    | { k: 'unknown'; word: string }
  );

/** A parsed statement of any block kind. */
export type NftStmt = Span &
  (
    | { k: 'define'; redefine: boolean; name: string; nameRange: Range; value?: Expr }
    | { k: 'undefine'; name: string; nameRange: Range }
    | { k: 'include'; path: string; pathRange: Range }
    | {
        // a command or a declaration header (`table x`, `chain y`, `add rule ...`, `set s`)
        k: 'cmd';
        verb?: string;
        verbRange?: Range;
        object: string;
        objectRange: Range;
        family?: string;
        familyRange?: Range;
        names: { text: string; range: Range }[];
        handle?: { value: string; range: Range; kw: string };
        rule?: RuleStmt[];
        elements?: Expr;
        tail: IToken[];
      }
    | { k: 'hookspec'; type?: { text: string; range: Range }; hook?: { text: string; range: Range }; devices?: Expr; priority?: PrioritySpec }
    | { k: 'policy'; value: Expr }
    | { k: 'prop'; name: string; nameRange: Range; values: Expr[]; tokens: IToken[] }
    | { k: 'rule'; stmts: RuleStmt[] }
    | { k: 'empty' }
  );

export interface PrioritySpec extends Span {
  base?: { text: string; range: Range; isVar: boolean; negative: boolean };
  op?: '+' | '-';
  offset?: { text: string; range: Range };
}

export type BlockKind = 'top' | 'table' | 'chain' | 'set' | 'flowtable' | 'object' | 'anonchain';

export interface Block {
  kind: BlockKind;
  header?: StmtNode;
  children: StmtNode[];
  open?: IToken;
  close?: IToken;
}

export interface StmtNode {
  stmt?: NftStmt;
  ctx: BlockKind;
  range: Range;
  /** `# handle N` comment on the statement's line. */
  handle?: number;
  block?: Block;
  /** The `$name` tokens of the statement, in order. */
  vars: IToken[];
  /** Set when the statement had a syntax error (the stmt holds what was read). */
  broken?: boolean;
}

export interface NftDocument {
  root: Block;
  diagnostics: Diagnostic[];
  text: string;
}

// ---------------------------------------------------------------- helpers

// Tokens carry offsets only (smaller tokens, less GC on 150k-line files); positions come from the
// line starts of the document being parsed.
let lineStarts: number[] = [0];

function computeLineStarts(text: string): number[] {
  const ls = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) ls.push(i + 1);
  return ls;
}

/** 0-based line and UTF-16 column of an offset in the document last parsed. */
export function offsetPos(off: number): { line: number; character: number } {
  let lo = 0, hi = lineStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (lineStarts[mid] <= off) lo = mid; else hi = mid - 1;
  }
  return { line: lo, character: off - lineStarts[lo] };
}

export function tokRange(t: IToken): Range {
  const start = offsetPos(t.startOffset);
  const endOff = t.startOffset + t.image.length;
  const end = t.image.indexOf('\n') < 0 ? { line: start.line, character: start.character + t.image.length } : offsetPos(endOff);
  return { start, end };
}

function spanTok(a: IToken, b: IToken): Range {
  const start = offsetPos(a.startOffset);
  const end = a === b || offsetOnLine(b.startOffset + b.image.length, start.line) < 0 ? tokRange(b).end : { line: start.line, character: b.startOffset + b.image.length - lineStarts[start.line] };
  return { start, end };
}

/** -1 unless the offset lies on the given line. */
function offsetOnLine(off: number, line: number): number {
  const next = line + 1 < lineStarts.length ? lineStarts[line + 1] : Infinity;
  return off >= lineStarts[line] && off < next ? off - lineStarts[line] : -1;
}

export function unquote(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}

const VERDICT_WORDS = new Set(['accept', 'drop', 'continue', 'return', 'jump', 'goto']);
const REL_WORDS: Record<string, string> = { eq: '==', ne: '!=', lt: '<', gt: '>', le: '<=', ge: '>=' };
const BINOP_WORDS = new Set(['and', 'or', 'xor', 'lshift', 'rshift']);

type ArgKind = 'flag' | 'value' | 'expr' | 'to' | 'words';
interface StmtSpec {
  args: Record<string, ArgKind>;
  /** Words allowed after `words` args, or as bare flags. */
  words?: Set<string>;
  /** Bare values (no keyword) accepted when they match. */
  positional?: RegExp;
  positionalExpr?: boolean;
}

const ELEM_KW = new Set(['timeout', 'expires', 'comment', 'counter', 'quota', 'limit', 'last']);
const ELEM_ARGS = new Set(['packets', 'bytes', 'over', 'until', 'used', 'rate', 'burst', 'never', 'count']);
const UNIT_RE = /^(?:\d[\w.]*|[kmg]?bytes|packets|second|minute|hour|day|week|\w+\/(?:second|minute|hour|day|week))$/;
const STMTS: Record<string, StmtSpec> = {
  counter: { args: { packets: 'value', bytes: 'value', name: 'expr' } },
  log: {
    args: { prefix: 'value', group: 'value', snaplen: 'value', 'queue-threshold': 'value', level: 'value', flags: 'words' },
    words: new Set(['tcp', 'ip', 'ether', 'sequence', 'options', 'skuid', 'all']),
  },
  limit: { args: { rate: 'flag', over: 'flag', until: 'flag', burst: 'flag', name: 'expr' }, positional: UNIT_RE },
  quota: { args: { over: 'flag', until: 'flag', used: 'flag', name: 'expr' }, positional: /^(?:\d[\w]*|[kmg]?bytes)$/ },
  reject: { args: { with: 'words' }, words: new Set(['icmp', 'icmpv6', 'icmpx', 'tcp', 'type', 'reset']), positional: undefined },
  queue: { args: { num: 'expr', flags: 'words', to: 'expr', bypass: 'flag', fanout: 'flag' }, words: new Set(['bypass', 'fanout']) },
  snat: { args: { to: 'to', ip: 'flag', ip6: 'flag', prefix: 'flag', addr: 'flag', port: 'flag', random: 'flag', persistent: 'flag', 'fully-random': 'flag' }, positionalExpr: true },
  dnat: { args: { to: 'to', ip: 'flag', ip6: 'flag', prefix: 'flag', addr: 'flag', port: 'flag', random: 'flag', persistent: 'flag', 'fully-random': 'flag' }, positionalExpr: true },
  masquerade: { args: { to: 'to', random: 'flag', persistent: 'flag', 'fully-random': 'flag' } },
  redirect: { args: { to: 'to', random: 'flag', persistent: 'flag', 'fully-random': 'flag' } },
  tproxy: { args: { to: 'to', ip: 'flag', ip6: 'flag' } },
  dup: { args: { to: 'expr', device: 'expr' } },
  fwd: { args: { to: 'expr', device: 'expr', ip: 'flag', ip6: 'flag' } },
  synproxy: { args: { mss: 'value', wscale: 'value', timestamp: 'flag', 'sack-perm': 'flag', name: 'expr' } },
  notrack: { args: {} },
  tunnel: { args: { name: 'expr' } },
  flow: { args: { add: 'flag', offload: 'flag' }, positional: /^@/ },
  last: { args: { used: 'flag', never: 'flag' }, positional: /^\d/ },
  xt: { args: { match: 'value', target: 'value', watcher: 'value' } },
  comment: { args: {}, positional: /^"/ },
};

/** Statement keywords with a grammar of their own in rule bodies. */
export const RULE_STATEMENT_WORDS = new Set([...Object.keys(STMTS), 'meter', 'set', 'add', 'update', 'delete', 'reset']);

function isSelectorStart(t: IToken): boolean {
  return t.tokenType === Word && SELECTOR_STARTS.has(t.image);
}

/** Does `next` continue the selector whose words so far are `w`? */
function selectorContinues(w: string[], next: IToken, next2: IToken): boolean {
  if (next.tokenType !== Word) {
    if (next.tokenType === Dot) {
      // fib flags are joined with '.': fib saddr . iif oif
      return w[0] === 'fib' && w.length >= 2 && FIB_FLAGS.has(w[w.length - 1]) && next2.tokenType === Word && FIB_FLAGS.has(next2.image);
    }
    return false;
  }
  const n = next.image;
  const first = w[0];
  const last = w[w.length - 1];
  const len = w.length;
  switch (first) {
    case 'meta':
      return len === 1 && META_KEYS.has(n);
    case 'ct':
      if (len === 1) return CT_DIR.has(n) || CT_KEYS.has(n);
      if (len === 2 && CT_DIR.has(last)) return CT_KEYS.has(n) || n === 'ip' || n === 'ip6';
      if (len === 3 && (last === 'ip' || last === 'ip6')) return n === 'saddr' || n === 'daddr';
      return false;
    case 'fib': {
      // fib FLAG [. FLAG]* RESULT
      if (len === 1 || last === '.') return FIB_FLAGS.has(n);
      let i = 2;
      while (i < len && w[i] === '.') i += 2;
      return i === len && FIB_RESULTS.has(n);
    }
    case 'socket':
      if (len === 1) return SOCKET_KEYS.has(n);
      if (len === 2 && last === 'cgroupv2') return n === 'level';
      if (len === 3 && last === 'level') return /^\d+$/.test(n);
      return false;
    case 'osf':
      if (len === 1) return n === 'ttl' || OSF_KEYS.has(n);
      if (last === 'ttl') return n === 'loose' || n === 'skip' || n === 'global';
      if (w.includes('ttl') && len === 3) return OSF_KEYS.has(n);
      return false;
    case 'ipsec':
      if (len === 1) return n === 'in' || n === 'out';
      if (last === 'spnum') return /^\d+$/.test(n);
      if (IPSEC_KEYS.has(last)) return false;
      return n === 'spnum' || n === 'ip' || n === 'ip6' || IPSEC_KEYS.has(n);
    case 'exthdr':
      if (len === 1) return ['hbh', 'rt', 'frag', 'dst', 'mh', 'srh', 'rt0', 'rt2'].includes(n);
      if (len === 2) return (PAYLOAD_FIELDS[last] ?? []).includes(n);
      return false;
    case 'tunnel':
      return len === 1 && /^[a-z][\w-]*$/.test(n);
    case 'rt':
      if (len === 1) return RT_KEYS.has(n) || n === 'ip' || n === 'ip6' || PAYLOAD_FIELDS.rt.includes(n);
      if (len === 2 && (last === 'ip' || last === 'ip6')) return n === 'nexthop';
      return false;
    case 'tcp':
      if (len === 1) return n === 'option' || PAYLOAD_FIELDS.tcp.includes(n);
      if (w[1] === 'option') {
        if (len === 2) return n in TCP_OPTIONS || /^\d+$/.test(n);
        if (len === 3) return (TCP_OPTIONS[last] ?? []).includes(n);
      }
      return false;
    case 'ip':
      if (len === 1) return n === 'option' || PAYLOAD_FIELDS.ip.includes(n);
      if (w[1] === 'option') {
        if (len === 2) return n in IP_OPTIONS;
        if (len === 3) return (IP_OPTIONS[last] ?? []).includes(n);
      }
      return false;
    case 'sctp':
      if (len === 1) return n === 'chunk' || PAYLOAD_FIELDS.sctp.includes(n);
      if (w[1] === 'chunk') {
        if (len === 2) return SCTP_CHUNKS.has(n);
        if (len === 3) return SCTP_CHUNK_FIELDS.has(n);
      }
      return false;
    case 'dccp':
      if (len === 1) return n === 'option' || PAYLOAD_FIELDS.dccp.includes(n);
      if (len === 2 && w[1] === 'option') return /^\d+$/.test(n);
      return false;
    case 'arp':
      if (len === 1) return PAYLOAD_FIELDS.arp.includes(n);
      if (len === 2 && (last === 'saddr' || last === 'daddr')) return ARP_ADDR_SUB.has(n);
      return false;
  }
  if (META_UNQUALIFIED.has(first) && len === 1 && !(first in PAYLOAD_FIELDS)) return false;
  if (INNER_CARRIERS.has(first)) {
    // vxlan vni / vxlan ip saddr / gretap ether type
    if (len === 1) return (PAYLOAD_FIELDS[first] ?? []).includes(n) || (n in PAYLOAD_FIELDS && !INNER_CARRIERS.has(n));
    const inner = w[1];
    if (len === 2 && inner in PAYLOAD_FIELDS) return (PAYLOAD_FIELDS[inner] ?? []).includes(n);
    return false;
  }
  if (first in PAYLOAD_FIELDS) {
    if (len === 1) return PAYLOAD_FIELDS[first].includes(n);
    return false;
  }
  return false;
}

function selectorParts(w: string[]): { proto: string; key: string } {
  const first = w[0];
  if (META_UNQUALIFIED.has(first) && w.length === 1) return { proto: 'meta', key: first };
  if (first === 'ct') return { proto: 'ct', key: w.filter((x) => !CT_DIR.has(x) && x !== 'ct').join(' ') };
  if (first === 'rt' && w.length > 1 && (RT_KEYS.has(w[1]) || w[1] === 'ip' || w[1] === 'ip6')) return { proto: 'rt', key: w.slice(1).join(' ') };
  return { proto: first, key: w.slice(1).join(' ') };
}

// ---------------------------------------------------------------- parser

class NftParser extends EmbeddedActionsParser {
  diags: Diagnostic[] = [];
  text = '';
  /** Collected rule statements: kept when a later statement in the same rule fails. */
  ruleOut: RuleStmt[] = [];
  /** The statement being parsed opens a block (so `jump` may lack its target). */
  opensBlock = false;

  constructor() {
    super(allTokens as TokenType[], { recoveryEnabled: false, skipValidations: true, maxLookahead: 1 });
    this.performSelfAnalysis();
  }

  private src(a: IToken, b: IToken): string {
    return this.text.slice(a.startOffset, b.startOffset + b.image.length);
  }

  private span(a: IToken, b: IToken): Span {
    return { range: spanTok(a, b), text: this.src(a, b) };
  }

  private la(i: number): IToken {
    return this.LA(i);
  }

  private isWord(i: number, img?: string): boolean {
    const t = this.LA(i);
    return t.tokenType === Word && (img === undefined || t.image === img);
  }


  // ---- entry rules, one per block kind -------------------------------------------------------

  public topStmt = this.RULE('topStmt', (): NftStmt => {
    return this.OR([
      { GATE: () => this.isWord(1, 'define') || this.isWord(1, 'redefine'), ALT: () => this.SUBRULE(this.defineStmt) },
      { GATE: () => this.isWord(1, 'undefine'), ALT: () => this.SUBRULE(this.undefineStmt) },
      { GATE: () => this.isWord(1, 'include'), ALT: () => this.SUBRULE(this.includeStmt) },
      { ALT: () => this.SUBRULE(this.command, { ARGS: [true] }) },
    ]);
  });

  public tableStmt = this.RULE('tableStmt', (): NftStmt => {
    return this.OR([
      { GATE: () => this.isWord(1, 'flags') || this.isWord(1, 'comment'), ALT: () => this.SUBRULE(this.prop) },
      { ALT: () => this.SUBRULE(this.command, { ARGS: [false] }) },
    ]);
  });

  public chainStmt = this.RULE('chainStmt', (): NftStmt => {
    return this.OR([
      { GATE: () => this.isWord(1, 'type'), ALT: () => this.SUBRULE(this.hookSpec) },
      { GATE: () => this.isWord(1, 'hook') && this.isWord(2), ALT: () => this.SUBRULE1(this.hookSpec) },
      { GATE: () => this.isWord(1, 'policy') && (this.isWord(2) || this.LA(2).tokenType === VarRef), ALT: () => this.SUBRULE(this.policyStmt) },
      {
        GATE: () => (this.isWord(1, 'devices') && this.LA(2).tokenType === Assign) || (this.isWord(1, 'comment') && this.LA(2).tokenType === QuotedString && this.LA(3).tokenType === EOF) || (this.isWord(1, 'flags') && this.isWord(2, 'offload')),
        ALT: () => this.SUBRULE1(this.prop),
      },
      { ALT: () => this.SUBRULE(this.ruleStmt) },
    ]);
  });

  public setStmt = this.RULE('setStmt', (): NftStmt => this.SUBRULE(this.prop));
  public objectStmt = this.RULE('objectStmt', (): NftStmt => {
    return this.OR([
      { GATE: () => this.isWord(1, 'hook'), ALT: () => this.SUBRULE(this.hookSpec) },
      { ALT: () => this.SUBRULE(this.prop) },
    ]);
  });
  public ruleOnly = this.RULE('ruleOnly', (): NftStmt => this.SUBRULE(this.ruleStmt));

  // ---- top-level pieces -----------------------------------------------------------------------

  private defineStmt = this.RULE('defineStmt', (): NftStmt => {
    const kw = this.CONSUME(Word);
    const name = this.OR([{ ALT: () => this.CONSUME1(Word) }, { ALT: () => this.CONSUME(VarRef) }]);
    this.CONSUME(Assign);
    const value = this.SUBRULE(this.defineValue);
    return this.ACTION(() => {
      const last = this.LA(0);
      return {
        k: 'define' as const, redefine: kw.image === 'redefine', name: name.image.replace(/^\$/, ''),
        nameRange: tokRange(name), value, ...this.span(kw, last),
      };
    });
  });

  /** A define's value: a list of rhs values, a set, or an expression. */
  private defineValue = this.RULE('defineValue', (): Expr => {
    return this.OR([
      { GATE: () => isSelectorStart(this.LA(1)), ALT: () => this.SUBRULE(this.expr, { ARGS: [true] }) },
      { ALT: () => this.SUBRULE(this.rhs) },
    ]);
  });

  private undefineStmt = this.RULE('undefineStmt', (): NftStmt => {
    const kw = this.CONSUME(Word);
    const name = this.OR([{ ALT: () => this.CONSUME1(Word) }, { ALT: () => this.CONSUME(VarRef) }]);
    return this.ACTION(() => ({ k: 'undefine' as const, name: name.image.replace(/^\$/, ''), nameRange: tokRange(name), ...this.span(kw, name) }));
  });

  private includeStmt = this.RULE('includeStmt', (): NftStmt => {
    const kw = this.CONSUME(Word);
    const p = this.CONSUME(QuotedString);
    return this.ACTION(() => ({ k: 'include' as const, path: unquote(p.image), pathRange: tokRange(p), ...this.span(kw, p) }));
  });

  /** `[verb] object [family] names... [handle N] [tail]`; also the headers of blocks. */
  private command = this.RULE('command', (top: boolean): NftStmt => {
    let verb: IToken | undefined;
    const names: { text: string; range: Range }[] = [];
    let family: IToken | undefined;
    let handle: { value: string; range: Range; kw: string } | undefined;
    let rule: RuleStmt[] | undefined;
    let elements: Expr | undefined;
    const tail: IToken[] = [];
    let nNames = 0;
    let obj = '';
    this.OPTION({ GATE: () => top && this.isWord(1) && COMMAND_VERBS.has(this.LA(1).image) && this.LA(2).tokenType === Word, DEF: () => { verb = this.CONSUME(Word); } });
    const objTok = this.CONSUME1(Word);
    this.ACTION(() => { obj = objTok.image; });
    this.OPTION1({
      GATE: () => obj === 'ct' && this.isWord(1),
      DEF: () => { const t = this.CONSUME2(Word); this.ACTION(() => { obj = `ct ${t.image}`; }); },
    });
    this.ACTION(() => {
      nNames = top ? nameCount(obj, verb?.image) : (obj === 'table' ? -1 : 1);
    });
    // Family only at the top: `chain ip t c`, `table inet x`.
    this.OPTION2({
      GATE: () => top && nNames !== 0 && this.isWord(1) && ['ip', 'ip6', 'inet', 'arp', 'bridge', 'netdev'].includes(this.LA(1).image) && (nNames < 0 || this.namesAhead(2) >= Math.max(nNames, 1) || obj === 'ruleset' || obj.endsWith('s')),
      DEF: () => { family = this.CONSUME3(Word); },
    });
    this.MANY({
      GATE: () => names.length < Math.abs(nNames) && !(this.isWord(1, 'handle') && this.isWord(2)) && (this.LA(1).tokenType === Word || this.LA(1).tokenType === QuotedString || this.LA(1).tokenType === VarRef),
      DEF: () => {
        const t = this.OR1([{ ALT: () => this.CONSUME4(Word) }, { ALT: () => this.CONSUME(QuotedString) }, { ALT: () => this.CONSUME(VarRef) }]);
        this.ACTION(() => names.push({ text: t.image, range: tokRange(t) }));
      },
    });
    this.OPTION3({
      GATE: () => (this.isWord(1, 'handle') || this.isWord(1, 'position') || this.isWord(1, 'index')) && this.isWord(2),
      DEF: () => {
        const k = this.CONSUME5(Word);
        const v = this.CONSUME6(Word);
        this.ACTION(() => { handle = { value: v.image, range: tokRange(v), kw: k.image }; });
      },
    });
    this.OR2([
      {
        GATE: () => obj === 'rule' && verb?.image !== 'delete' && verb?.image !== 'destroy' && verb?.image !== 'list' && verb?.image !== 'reset' && top,
        ALT: () => { this.SUBRULE(this.ruleStmt); this.ACTION(() => { rule = this.ruleOut; }); },
      },
      {
        GATE: () => obj === 'element' && this.LA(1).tokenType === LCurly,
        ALT: () => { elements = this.SUBRULE(this.setLit, { ARGS: [false] }); },
      },
      {
        GATE: () => obj === 'describe',
        ALT: () => { elements = this.SUBRULE(this.expr, { ARGS: [true] }); },
      },
      {
        // anything else: kept for the model to judge (object parameters, rename target...)
        ALT: () => {
          this.MANY1(() => {
            const t = this.SUBRULE(this.anyToken);
            this.ACTION(() => tail.push(t));
          });
        },
      },
    ]);
    return this.ACTION(() => {
      const last = this.LA(0);
      return {
        k: 'cmd' as const, verb: verb?.image, verbRange: verb ? tokRange(verb) : undefined, object: obj,
        objectRange: tokRange(objTok), family: family?.image, familyRange: family ? tokRange(family) : undefined,
        names, handle, rule, elements, tail, ...this.span(verb ?? objTok, last),
      };
    });
  });

  /** How many Word/String/Var tokens follow from LA(i) (a hint for the optional family). */
  private namesAhead(i: number): number {
    let n = 0;
    for (;; i++) {
      const t = this.LA(i);
      if (t.tokenType === Word || t.tokenType === QuotedString || t.tokenType === VarRef) n++;
      else break;
    }
    return n;
  }

  private anyToken = this.RULE('anyToken', (): IToken => {
    return this.OR(
      allTokens.filter((t) => t !== Newline && (t as TokenType).GROUP === undefined).map((tt, i) => ({ ALT: () => this.consume(i, tt as TokenType) })),
    );
  });

  private prop = this.RULE('prop', (): NftStmt => {
    const name = this.OR9([{ ALT: () => this.CONSUME(Word) }, { ALT: () => this.CONSUME(QuotedString) }]);
    const values: Expr[] = [];
    const tokens: IToken[] = [];
    this.OPTION(() => this.CONSUME(Assign));
    this.MANY(() => {
      this.OR([
        {
          GATE: () => this.LA(1).tokenType === LCurly,
          ALT: () => { const e = this.SUBRULE(this.setLit, { ARGS: [false] }); this.ACTION(() => values.push(e)); },
        },
        {
          GATE: () => isSelectorStart(this.LA(1)) && name.image === 'typeof',
          ALT: () => { const e = this.SUBRULE(this.expr, { ARGS: [true] }); this.ACTION(() => values.push(e)); },
        },
        { ALT: () => { const t = this.SUBRULE(this.anyToken); this.ACTION(() => { tokens.push(t); values.push(this.valOf(t)); }); } },
      ]);
    });
    return this.ACTION(() => ({ k: 'prop' as const, name: name.image, nameRange: tokRange(name), values, tokens, ...this.span(name, this.LA(0)) }));
  });

  private valOf(t: IToken): Expr {
    const base = { range: tokRange(t), text: t.image };
    if (t.tokenType === SetRef) return { k: 'ref', name: t.image.slice(1), ...base };
    if (t.tokenType === VarRef) return { k: 'var', name: t.image.slice(1), ...base };
    return { k: 'val', str: t.tokenType === QuotedString, ...base };
  }

  private hookSpec = this.RULE('hookSpec', (): NftStmt => {
    let type: IToken | undefined, hook: IToken | undefined, devices: Expr | undefined, priority: PrioritySpec | undefined;
    const start = this.LA(1);
    this.OPTION({ GATE: () => this.isWord(1, 'type'), DEF: () => { this.CONSUME(Word); type = this.CONSUME1(Word); } });
    this.MANY(() => {
      this.OR([
        { GATE: () => this.isWord(1, 'hook'), ALT: () => { this.CONSUME2(Word); hook = this.CONSUME3(Word); } },
        {
          GATE: () => this.isWord(1, 'device'),
          ALT: () => {
            this.CONSUME4(Word);
            const d = this.OR1([{ ALT: () => this.CONSUME5(Word) }, { ALT: () => this.CONSUME(QuotedString) }, { ALT: () => this.CONSUME(VarRef) }]);
            this.ACTION(() => { devices = this.valOf(d); });
          },
        },
        {
          GATE: () => this.isWord(1, 'devices'),
          ALT: () => {
            this.CONSUME6(Word);
            this.CONSUME(Assign);
            devices = this.OR2([
              { ALT: () => this.SUBRULE(this.setLit, { ARGS: [false] }) },
              { ALT: () => { const v = this.CONSUME1(VarRef); return this.ACTION(() => this.valOf(v)); } },
            ]);
          },
        },
        { GATE: () => this.isWord(1, 'priority'), ALT: () => { priority = this.SUBRULE(this.prioritySpec); } },
      ]);
    });
    return this.ACTION(() => {
      const r = (x?: IToken) => (x ? { text: x.image, range: tokRange(x) } : undefined);
      return { k: 'hookspec' as const, type: r(type), hook: r(hook), devices, priority, ...this.span(start, this.LA(0)) };
    });
  });

  private prioritySpec = this.RULE('prioritySpec', (): PrioritySpec => {
    const kw = this.CONSUME(Word);
    let neg: IToken | undefined;
    let op: IToken | undefined;
    let off: IToken | undefined;
    this.OPTION(() => { neg = this.CONSUME(Dash); });
    const base = this.OR([{ ALT: () => this.CONSUME1(Word) }, { ALT: () => this.CONSUME(VarRef) }]);
    this.OPTION1(() => {
      op = this.OR1([{ ALT: () => this.CONSUME(Plus) }, { ALT: () => this.CONSUME1(Dash) }]);
      off = this.CONSUME2(Word);
    });
    return this.ACTION(() => ({
      base: { text: base.image, range: neg ? spanTok(neg, base) : tokRange(base), isVar: base.tokenType === VarRef, negative: !!neg },
      op: op ? (op.image as '+' | '-') : undefined,
      offset: off ? { text: off.image, range: tokRange(off) } : undefined,
      ...this.span(kw, this.LA(0)),
    }));
  });

  private policyStmt = this.RULE('policyStmt', (): NftStmt => {
    const kw = this.CONSUME(Word);
    const v = this.OR([{ ALT: () => this.CONSUME1(Word) }, { ALT: () => this.CONSUME(VarRef) }]);
    return this.ACTION(() => ({ k: 'policy' as const, value: this.valOf(v), ...this.span(kw, v) }));
  });

  // ---- rules ---------------------------------------------------------------------------------

  private ruleStmt = this.RULE('ruleStmt', (): NftStmt => {
    const start = this.LA(1);
    this.ACTION(() => { this.ruleOut = []; });
    const out = this.ACTION(() => this.ruleOut);
    this.MANY(() => {
      const s = this.SUBRULE(this.statement);
      this.ACTION(() => out.push(s));
    });
    return this.ACTION(() => ({ k: 'rule' as const, stmts: out, ...this.span(start, this.LA(0)) }));
  });

  private statement = this.RULE('statement', (): RuleStmt => {
    return this.OR([
      { GATE: () => this.isWord(1) && VERDICT_WORDS.has(this.LA(1).image), ALT: () => this.SUBRULE(this.verdict) },
      { GATE: () => this.isWord(1, 'meter'), ALT: () => this.SUBRULE(this.meterStmt) },
      {
        GATE: () => (this.isWord(1, 'add') || this.isWord(1, 'update') || this.isWord(1, 'delete')) && this.LA(2).tokenType === SetRef,
        ALT: () => this.SUBRULE(this.setOpStmt),
      },
      { GATE: () => this.isWord(1, 'set') && (this.isWord(2, 'add') || this.isWord(2, 'update')), ALT: () => this.SUBRULE(this.legacySetStmt) },
      { GATE: () => this.isWord(1, 'reset') && isSelectorStart(this.LA(2)), ALT: () => this.SUBRULE(this.resetStmt) },
      { GATE: () => this.isWord(1) && this.LA(1).image in STMTS && (this.LA(1).image !== 'tunnel' || this.isWord(2, 'name')), ALT: () => this.SUBRULE(this.kwStmt) },
      {
        GATE: () => isSelectorStart(this.LA(1)) || this.LA(1).tokenType === RawPayload || this.LA(1).tokenType === LParen,
        ALT: () => this.SUBRULE(this.exprStmt),
      },
      { GATE: () => this.LA(1).tokenType === Word, ALT: () => this.SUBRULE(this.unknownStmt) },
    ]);
  });

  private verdict = this.RULE('verdict', (): RuleStmt => {
    const v = this.CONSUME(Word);
    let target: IToken | undefined;
    this.OPTION({
      GATE: () => (v.image === 'jump' || v.image === 'goto') && (this.isWord(1) || this.LA(1).tokenType === QuotedString || this.LA(1).tokenType === VarRef),
      DEF: () => { target = this.OR([{ ALT: () => this.CONSUME1(Word) }, { ALT: () => this.CONSUME(QuotedString) }, { ALT: () => this.CONSUME(VarRef) }]); },
    });
    return this.ACTION(() => {
      const anon = (v.image === 'jump' || v.image === 'goto') && !target && this.opensBlock && this.LA(1).tokenType === EOF;
      if ((v.image === 'jump' || v.image === 'goto') && !target && !anon) {
        this.diags.push({ range: tokRange(v), severity: 'error', code: 'syntax', message: `"${v.image}" needs a chain name` });
      }
      return {
        k: 'verdict' as const, verb: v.image, verbRange: tokRange(v), target: target ? unquote(target.image) : undefined,
        targetRange: target ? tokRange(target) : undefined, anon, ...this.span(v, target ?? v),
      };
    });
  });

  private unknownStmt = this.RULE('unknownStmt', (): RuleStmt => {
    const w = this.CONSUME(Word);
    this.MANY(() => this.SUBRULE(this.anyToken));
    return this.ACTION(() => {
      this.diags.push({ range: tokRange(w), severity: 'error', code: 'unknown-keyword', message: `unknown expression or statement "${w.image}"` });
      return { k: 'unknown' as const, word: w.image, ...this.span(w, this.LA(0)) };
    });
  });

  private kwStmt = this.RULE('kwStmt', (): RuleStmt => {
    const name = this.CONSUME(Word);
    const args: StmtArg[] = [];
    let spec: StmtSpec = STMTS.counter;
    this.ACTION(() => { spec = STMTS[name.image]; });
    this.MANY({
      GATE: () => this.argStarts(spec, args),
      DEF: () => {
        this.OR([
          { GATE: () => this.LA(1).tokenType === Comma, ALT: () => { this.CONSUME(Comma); } },
          { GATE: () => this.LA(1).tokenType === Slash, ALT: () => { this.CONSUME(Slash); } },
          { GATE: () => this.LA(1).tokenType === Dot, ALT: () => { this.CONSUME(Dot); } },
          {
            GATE: () => this.isWord(1) && spec.args[this.LA(1).image] === 'flag',
            ALT: () => { const k = this.CONSUME6(Word); this.ACTION(() => args.push({ key: k.image, keyRange: tokRange(k) })); },
          },
          {
            GATE: () => this.isWord(1) && spec.args[this.LA(1).image] === 'value',
            ALT: () => {
              const k = this.CONSUME1(Word);
              const v = this.SUBRULE(this.rhsPrimary);
              this.ACTION(() => args.push({ key: k.image, keyRange: tokRange(k), value: v }));
            },
          },
          {
            GATE: () => this.isWord(1) && spec.args[this.LA(1).image] === 'expr',
            ALT: () => {
              const k = this.CONSUME2(Word);
              const v = this.SUBRULE(this.expr, { ARGS: [true] });
              this.ACTION(() => args.push({ key: k.image, keyRange: tokRange(k), value: v }));
            },
          },
          {
            GATE: () => this.isWord(1) && spec.args[this.LA(1).image] === 'to',
            ALT: () => {
              const k = this.CONSUME3(Word);
              const v = this.SUBRULE(this.natTarget);
              this.ACTION(() => args.push({ key: k.image, keyRange: tokRange(k), value: v }));
            },
          },
          {
            GATE: () => this.isWord(1) && spec.args[this.LA(1).image] === 'words',
            ALT: () => {
              const k = this.CONSUME4(Word);
              const ws: IToken[] = [];
              this.MANY1({
                GATE: () => this.wordsContinue(name.image, spec, ws),
                DEF: () => {
                  const t = this.OR1([{ ALT: () => this.CONSUME5(Word) }, { ALT: () => this.CONSUME1(Comma) }]);
                  this.ACTION(() => ws.push(t));
                },
              });
              this.ACTION(() => {
                const words = ws.filter((t) => t.tokenType === Word);
                const value: Expr | undefined = ws.length
                  ? { k: 'list', items: words.map((t) => this.valOf(t)), ...this.span(ws[0], ws[ws.length - 1]) }
                  : undefined;
                args.push({ key: k.image, keyRange: tokRange(k), value });
              });
            },
          },
          {
            GATE: () => !!spec.positionalExpr,
            ALT: () => {
              const v = this.SUBRULE1(this.natTarget);
              this.ACTION(() => args.push({ key: '', keyRange: v.range, value: v }));
            },
          },
          {
            ALT: () => {
              const v = this.SUBRULE1(this.rhsPrimary);
              this.ACTION(() => args.push({ key: '', keyRange: v.range, value: v }));
            },
          },
        ]);
      },
    });
    return this.ACTION(() => ({ k: 'stmt' as const, name: name.image, nameRange: tokRange(name), args, ...this.span(name, this.LA(0)) }));
  });

  /** Words of a `words` argument: flag lists (`bypass,fanout`), `log flags tcp sequence`, `reject with icmp type X`. */
  private wordsContinue(stmt: string, spec: StmtSpec, ws: IToken[]): boolean {
    const t = this.LA(1);
    const prev = ws[ws.length - 1];
    if (t.tokenType === Comma) return !!prev && prev.tokenType === Word && this.isWord(2);
    if (t.tokenType !== Word || t.image in spec.args) return false;
    if (spec.words?.has(t.image)) return true;
    // reject with icmp|icmpv6|icmpx [type] CODE: the code is any word
    return stmt === 'reject' && !!prev && /^(icmp|icmpv6|icmpx|type)$/.test(prev.image) && !VERDICT_WORDS.has(t.image);
  }

  /** Does the next token continue the keyword statement? */
  private argStarts(spec: StmtSpec, args: StmtArg[]): boolean {
    const t = this.LA(1);
    if (t.tokenType === EOF) return false;
    if (t.tokenType === Comma) return args.length > 0 && args[args.length - 1].value === undefined && this.isWord(2) && spec.args[this.LA(2).image] === 'flag';
    if (t.tokenType === Word && t.image in spec.args) return true;
    if (t.tokenType === Dot) return args.length > 0 && args[args.length - 1].key === 'addr';
    if (spec.positionalExpr && !args.some((a) => a.key === '' || a.key === 'to') && (t.tokenType === Word || t.tokenType === LBracket || t.tokenType === VarRef) && !(t.image in STMTS) && !VERDICT_WORDS.has(t.image) && !(isSelectorStart(t) && !this.looksLikeValue(t))) return true;
    if (spec.positional) {
      if (t.tokenType === Slash) return args.length > 0;
      if (t.tokenType === QuotedString || t.tokenType === SetRef) return spec.positional.test(t.image);
      if (t.tokenType === Word && spec.positional.test(t.image) && !VERDICT_WORDS.has(t.image)) return true;
    }
    return false;
  }

  private looksLikeValue(t: IToken): boolean {
    return /^[\d:]/.test(t.image);
  }

  /** `to` targets: `1.2.3.4`, `1.2.3.4:80`, `[dead::1]:80`, `:8080`, `ip saddr map { ... }`. */
  private natTarget = this.RULE('natTarget', (): Expr => {
    const start = this.LA(1);
    let addr: Expr | undefined;
    let port: Expr | undefined;
    this.OR([
      {
        GATE: () => this.LA(1).tokenType === Colon,
        ALT: () => { port = this.SUBRULE(this.natPort); },
      },
      {
        ALT: () => {
          addr = this.OR1([
            {
              GATE: () => this.LA(1).tokenType === LBracket,
              ALT: () => {
                const a0 = this.CONSUME(LBracket);
                this.SUBRULE(this.rhsRange);
                this.CONSUME(RBracket);
                // [a::1]-[a::2] and [a::]/64
                this.OPTION2(() => {
                  this.OR2([
                    { ALT: () => { this.CONSUME(Dash); this.CONSUME1(LBracket); this.SUBRULE1(this.rhsRange); this.CONSUME1(RBracket); } },
                    { ALT: () => { this.CONSUME(Slash); this.CONSUME(Word); } },
                  ]);
                });
                return this.ACTION(() => ({ k: 'val' as const, str: false, ...this.span(a0, this.LA(0)) }));
              },
            },
            { ALT: () => this.SUBRULE(this.expr, { ARGS: [true] }) },
          ]);
          this.OPTION(() => { port = this.SUBRULE1(this.natPort); });
        },
      },
    ]);
    return this.ACTION(() => {
      const sp = this.span(start, this.LA(0));
      if (addr && !port) return addr;
      return { k: 'bin' as const, op: ':', l: addr ?? { k: 'bad' as const, range: sp.range, text: '' }, r: port!, ...sp };
    });
  });

  private natPort = this.RULE('natPort', (): Expr => {
    this.CONSUME(Colon);
    return this.OR([
      { GATE: () => isSelectorStart(this.LA(1)), ALT: () => this.SUBRULE(this.expr, { ARGS: [true] }) },
      { ALT: () => this.SUBRULE(this.rhsRange) },
    ]);
  });

  private meterStmt = this.RULE('meterStmt', (): RuleStmt => {
    const kw = this.CONSUME(Word);
    const name = this.CONSUME1(Word);
    const args: StmtArg[] = [{ key: 'name', keyRange: tokRange(name), value: this.valOf(name) }];
    this.OPTION(() => {
      const k = this.CONSUME2(Word);
      const v = this.CONSUME3(Word);
      this.ACTION(() => args.push({ key: k.image, keyRange: tokRange(k), value: this.valOf(v) }));
    });
    const s = this.SUBRULE(this.setLit, { ARGS: [true] });
    this.ACTION(() => args.push({ key: 'elem', keyRange: s.range, value: s }));
    return this.ACTION(() => ({ k: 'stmt' as const, name: 'meter', nameRange: tokRange(kw), args, ...this.span(kw, this.LA(0)) }));
  });

  private setOpStmt = this.RULE('setOpStmt', (): RuleStmt => {
    const op = this.CONSUME(Word);
    const ref = this.CONSUME(SetRef);
    const elem = this.SUBRULE(this.setLit, { ARGS: [true] });
    return this.ACTION(() => ({
      k: 'setop' as const, op: op.image, opRange: tokRange(op), set: ref.image.slice(1), setRange: tokRange(ref), elem,
      stmts: [], ...this.span(op, this.LA(0)),
    }));
  });

  private legacySetStmt = this.RULE('legacySetStmt', (): RuleStmt => {
    const kw = this.CONSUME(Word);
    const op = this.CONSUME1(Word);
    const e = this.SUBRULE(this.expr, { ARGS: [true] });
    const ref = this.CONSUME(SetRef);
    return this.ACTION(() => ({
      k: 'setop' as const, op: op.image, opRange: tokRange(op), set: ref.image.slice(1), setRange: tokRange(ref), elem: e,
      stmts: [], ...this.span(kw, ref),
    }));
  });

  private resetStmt = this.RULE('resetStmt', (): RuleStmt => {
    const kw = this.CONSUME(Word);
    const e = this.SUBRULE(this.selector);
    return this.ACTION(() => ({ k: 'stmt' as const, name: 'reset', nameRange: tokRange(kw), args: [{ key: '', keyRange: e.range, value: e }], ...this.span(kw, this.LA(0)) }));
  });

  private exprStmt = this.RULE('exprStmt', (): RuleStmt => {
    const start = this.LA(1);
    const left = this.SUBRULE(this.expr, { ARGS: [true] });
    return this.OR([
      {
        GATE: () => this.isWord(1, 'set'),
        ALT: () => {
          this.CONSUME(Word);
          const vstart = this.LA(1);
          const items: Expr[] = [];
          const v0 = this.SUBRULE1(this.expr, { ARGS: [true] });
          this.ACTION(() => items.push(v0));
          // ct event set new,related
          this.MANY(() => {
            this.CONSUME(Comma);
            const v = this.SUBRULE2(this.expr, { ARGS: [true] });
            this.ACTION(() => items.push(v));
          });
          return this.ACTION(() => {
            const value: Expr = items.length === 1 ? items[0] : { k: 'list', items, ...this.span(vstart, this.LA(0)) };
            return { k: 'mangle' as const, left, value, ...this.span(start, this.LA(0)) };
          });
        },
      },
      {
        GATE: () => this.isWord(1, 'vmap'),
        ALT: () => {
          this.CONSUME1(Word);
          const map = this.OR1([
            { GATE: () => this.LA(1).tokenType === LCurly, ALT: () => this.SUBRULE(this.setLit, { ARGS: [false] }) },
            { ALT: () => this.SUBRULE(this.rhsPrimary) },
          ]);
          return this.ACTION(() => ({ k: 'vmap' as const, key: left, map, ...this.span(start, this.LA(0)) }));
        },
      },
      {
        ALT: () => {
          let op: IToken | undefined;
          this.OPTION({
            GATE: () => this.isRelOp(),
            DEF: () => { op = this.SUBRULE(this.anyToken); },
          });
          const right = this.SUBRULE(this.rhs);
          return this.ACTION(() => {
            const opText = op ? (op.tokenType === Word ? REL_WORDS[op.image] ?? (op.image === 'over' ? '>' : op.image) : op.image) : 'implicit';
            return { k: 'match' as const, left, op: opText, opRange: op ? tokRange(op) : undefined, right, ...this.span(start, this.LA(0)) };
          });
        },
      },
    ]);
  });

  private isRelOp(): boolean {
    const t = this.LA(1);
    const tt = t.tokenType;
    if (tt === EqEq || tt === Neq || tt === Lt || tt === Gt || tt === Le || tt === Ge) return true;
    if (tt === Bang) return true;
    if (tt === Word && (t.image in REL_WORDS || t.image === 'over') && this.LA(2).tokenType !== EOF) return true;
    return false;
  }

  // ---- expressions ---------------------------------------------------------------------------

  /** Expression with selectors: binops, concatenation, `map` lookups. */
  private expr = this.RULE('expr', (sel: boolean): Expr => {
    const start = this.LA(1);
    let e = this.SUBRULE(this.concat, { ARGS: [sel] });
    this.OPTION({
      GATE: () => this.isWord(1, 'map'),
      DEF: () => {
        this.CONSUME(Word);
        const m = this.OR([
          { GATE: () => this.LA(1).tokenType === LCurly, ALT: () => this.SUBRULE(this.setLit, { ARGS: [false] }) },
          { ALT: () => this.SUBRULE(this.rhsPrimary) },
        ]);
        this.ACTION(() => { e = { k: 'bin', op: 'map', l: e, r: m, ...this.span(start, this.LA(0)) }; });
      },
    });
    return e;
  });


  private concat = this.RULE('concat', (sel: boolean): Expr => {
    const start = this.LA(1);
    let e = this.SUBRULE(this.binop, { ARGS: [sel] });
    this.MANY(() => {
      this.CONSUME(Dot);
      const r = this.SUBRULE1(this.binop, { ARGS: [sel] });
      this.ACTION(() => { e = { k: 'bin', op: '.', l: e, r, ...this.span(start, this.LA(0)) }; });
    });
    return e;
  });

  private binop = this.RULE('binop', (sel: boolean): Expr => {
    const start = this.LA(1);
    let e = this.SUBRULE(this.primary, { ARGS: [sel] });
    this.MANY({
      GATE: () => {
        const tt = this.LA(1).tokenType;
        return tt === Amp || tt === Pipe || tt === Caret || tt === Shl || tt === Shr || (tt === Word && BINOP_WORDS.has(this.LA(1).image));
      },
      DEF: () => {
        const op = this.SUBRULE(this.anyToken);
        const r = this.SUBRULE1(this.primary, { ARGS: [sel] });
        this.ACTION(() => { e = { k: 'bin', op: op.image, l: e, r, ...this.span(start, this.LA(0)) }; });
      },
    });
    return e;
  });


  private primary = this.RULE('primary', (sel: boolean): Expr => {
    return this.OR([
      {
        GATE: () => sel && (this.isWord(1, 'numgen') || this.isWord(1, 'jhash') || this.isWord(1, 'symhash')),
        ALT: () => this.SUBRULE(this.hashExpr),
      },
      { GATE: () => sel && (isSelectorStart(this.LA(1)) || this.LA(1).tokenType === RawPayload), ALT: () => this.SUBRULE(this.selector) },
      {
        GATE: () => this.LA(1).tokenType === LParen,
        ALT: () => {
          const a = this.CONSUME(LParen);
          const e = this.SUBRULE(this.expr, { ARGS: [sel] });
          const b = this.CONSUME(RParen);
          return this.ACTION(() => ({ ...e, ...this.span(a, b) }));
        },
      },
      { ALT: () => this.SUBRULE(this.valueRange) },
    ]);
  });

  /** A value with spaced `-` (range) or `/` (prefix) only: bit operators belong to the expression. */
  private valueRange = this.RULE('valueRange', (): Expr => {
    const start = this.LA(1);
    let e = this.SUBRULE(this.rhsPrimary);
    this.MANY(() => {
      const op = this.OR([{ ALT: () => this.CONSUME(Dash) }, { ALT: () => this.CONSUME(Slash) }]);
      const r = this.SUBRULE1(this.rhsPrimary);
      this.ACTION(() => { e = { k: 'bin', op: op.image, l: e, r, ...this.span(start, this.LA(0)) }; });
    });
    return e;
  });

  private hashExpr = this.RULE('hashExpr', (): Expr => {
    const kw = this.CONSUME(Word);
    this.OPTION({ GATE: () => kw.image === 'numgen', DEF: () => this.CONSUME1(Word) });
    this.OPTION1({ GATE: () => kw.image === 'jhash', DEF: () => this.SUBRULE(this.concat, { ARGS: [true] }) });
    this.MANY({
      GATE: () => this.isWord(1, 'mod') || this.isWord(1, 'seed') || this.isWord(1, 'offset'),
      DEF: () => { this.CONSUME2(Word); this.CONSUME3(Word); },
    });
    return this.ACTION(() => ({ k: 'hash' as const, kind: kw.image, ...this.span(kw, this.LA(0)) }));
  });

  private selector = this.RULE('selector', (): Expr => {
    return this.OR([
      {
        ALT: () => {
          const t = this.CONSUME(RawPayload);
          return this.ACTION(() => ({ k: 'sel' as const, proto: 'payload', key: t.image, words: [t.image], ...this.span(t, t) }));
        },
      },
      {
        ALT: () => {
          const first = this.CONSUME(Word);
          const words: string[] = [];
          this.ACTION(() => words.push(first.image));
          this.MANY({
            GATE: () => selectorContinues(words, this.LA(1), this.LA(2)) || (words[0] === 'tcp' && words[1] === 'option' && words.length === 2 && this.LA(1).tokenType === RawPayload),
            DEF: () => {
              const t = this.OR1([{ ALT: () => this.CONSUME1(Word) }, { ALT: () => this.CONSUME(Dot) }, { ALT: () => this.CONSUME1(RawPayload) }]);
              this.ACTION(() => words.push(t.image));
            },
          });
          // rt0 addr[1], srh sid[2]
          this.OPTION({
            GATE: () => this.LA(1).tokenType === LBracket && (words[words.length - 1] === 'addr' || words[words.length - 1] === 'sid'),
            DEF: () => {
              this.CONSUME(LBracket);
              const n = this.CONSUME2(Word);
              this.CONSUME(RBracket);
              this.ACTION(() => { words[words.length - 1] += `[${n.image}]`; });
            },
          });
          return this.ACTION(() => {
            const { proto, key } = selectorParts(words);
            return { k: 'sel' as const, proto, key, words, ...this.span(first, this.LA(0)) };
          });
        },
      },
    ]);
  });

  /** Right-hand side of a relation: comma list of concatenations of ranges. */
  private rhs = this.RULE('rhs', (): Expr => {
    return this.SUBRULE(this.rhsList);
  });

  private rhsList = this.RULE('rhsList', (): Expr => {
    const start = this.LA(1);
    const items: Expr[] = [];
    const a = this.SUBRULE(this.rhsConcat);
    this.ACTION(() => items.push(a));
    this.MANY({
      GATE: () => this.LA(1).tokenType === Comma,
      DEF: () => {
        this.CONSUME(Comma);
        const b = this.SUBRULE1(this.rhsConcat);
        this.ACTION(() => items.push(b));
      },
    });
    return this.ACTION(() => (items.length === 1 ? items[0] : { k: 'list' as const, items, ...this.span(start, this.LA(0)) }));
  });

  private rhsConcat = this.RULE('rhsConcat', (): Expr => {
    const start = this.LA(1);
    let e = this.SUBRULE(this.rhsRange);
    this.MANY(() => {
      this.CONSUME(Dot);
      const r = this.SUBRULE1(this.rhsRange);
      this.ACTION(() => { e = { k: 'bin', op: '.', l: e, r, ...this.span(start, this.LA(0)) }; });
    });
    return e;
  });

  /** A value with spaced `-` (range), `/` (prefix or mask) or bit operators. */
  private rhsRange = this.RULE('rhsRange', (): Expr => {
    const start = this.LA(1);
    let e = this.SUBRULE(this.rhsPrimary);
    this.MANY(() => {
      const op = this.OR([
        { ALT: () => this.CONSUME(Dash) },
        { ALT: () => this.CONSUME(Slash) },
        { ALT: () => this.CONSUME(Pipe) },
        { ALT: () => this.CONSUME(Amp) },
        { ALT: () => this.CONSUME(Caret) },
        { ALT: () => this.CONSUME(Shl) },
        { ALT: () => this.CONSUME(Shr) },
      ]);
      const r = this.SUBRULE1(this.rhsPrimary);
      this.ACTION(() => { e = { k: 'bin', op: op.image, l: e, r, ...this.span(start, this.LA(0)) }; });
    });
    return e;
  });

  // alternatives told apart by token type alone: no gates, so Chevrotain takes its fast LL(1) path
  public rhsPrimary = this.RULE('rhsPrimary', (): Expr => {
    return this.OR([
      { ALT: () => this.SUBRULE(this.setLit, { ARGS: [false] }) },
      {
        ALT: () => {
          const a = this.CONSUME(LParen);
          const e = this.SUBRULE(this.rhs);
          const b = this.CONSUME(RParen);
          return this.ACTION(() => ({ ...e, ...this.span(a, b) }));
        },
      },
      {
        ALT: () => {
          let neg: IToken | undefined;
          this.OPTION(() => { neg = this.OR1([{ ALT: () => this.CONSUME(Dash) }, { ALT: () => this.CONSUME(Bang) }, { ALT: () => this.CONSUME(Tilde) }]); });
          const t = this.OR2([
            { ALT: () => this.CONSUME(Word) },
            { ALT: () => this.CONSUME(QuotedString) },
            { ALT: () => this.CONSUME(SetRef) },
            { ALT: () => this.CONSUME(VarRef) },
            { ALT: () => this.CONSUME(Star) },
            { ALT: () => this.CONSUME(RawPayload) },
          ]);
          return this.ACTION(() => {
            const v = this.valOf(t);
            if (!neg) return v;
            return { ...v, ...this.span(neg, t) } as Expr;
          });
        },
      },
    ]);
  });

  /** `{ elem, elem : data, ... }`; `sel` lets elements be selector expressions (set statements). */
  public setLit = this.RULE('setLit', (sel: boolean): Expr => {
    const a = this.CONSUME(LCurly);
    const elems: Elem[] = [];
    this.MANY(() => {
      this.OR([
        { ALT: () => { this.CONSUME(Comma); } },
        {
          ALT: () => {
            const el = this.SUBRULE(this.element, { ARGS: [sel] });
            this.ACTION(() => elems.push(el));
          },
        },
      ]);
    });
    const b = this.CONSUME(RCurly);
    return this.ACTION(() => ({ k: 'set' as const, elems, ...this.span(a, b) }));
  });

  private element = this.RULE('element', (sel: boolean): Elem => {
    const start = this.LA(1);
    const opts: Elem['opts'] = [];
    let data: Expr | undefined;
    const key = this.OR([
      { GATE: () => sel, ALT: () => this.SUBRULE(this.expr, { ARGS: [true] }) },
      { ALT: () => this.SUBRULE(this.rhsConcat) },
    ]);
    this.SUBRULE(this.elemOpts, { ARGS: [opts] });
    this.OPTION(() => {
      this.CONSUME(Colon);
      data = this.OR1([
        { GATE: () => this.isWord(1) && VERDICT_WORDS.has(this.LA(1).image), ALT: () => this.SUBRULE(this.verdictValue) },
        { ALT: () => this.SUBRULE1(this.rhsConcat) },
      ]);
      this.SUBRULE1(this.elemOpts, { ARGS: [opts] });
    });
    return this.ACTION(() => ({ key, data, opts, ...this.span(start, this.LA(0)) }));
  });

  /** Per-element statements: `timeout 1s`, `counter packets 1 bytes 2`, `limit rate 1/second burst 5 packets`. */
  private elemOpts = this.RULE('elemOpts', (opts: Elem['opts']) => {
    this.MANY({
      GATE: () => this.isWord(1) && (ELEM_KW.has(this.LA(1).image) || (this.LA(1).image === 'ct' && this.isWord(2, 'count'))),
      DEF: () => {
        const k = this.CONSUME(Word);
        const vals: IToken[] = [];
        this.MANY1({
          GATE: () => (this.isWord(1) && !ELEM_KW.has(this.LA(1).image) && (ELEM_ARGS.has(this.LA(1).image) || UNIT_RE.test(this.LA(1).image))) || this.LA(1).tokenType === Slash || (k.image === 'comment' && this.LA(1).tokenType === QuotedString && vals.length === 0),
          DEF: () => {
            const t = this.OR([{ ALT: () => this.CONSUME1(Word) }, { ALT: () => this.CONSUME(Slash) }, { ALT: () => this.CONSUME(QuotedString) }]);
            this.ACTION(() => vals.push(t));
          },
        });
        this.ACTION(() => {
          const v: Expr | undefined = vals.length ? { k: 'val', str: vals[0].tokenType === QuotedString, ...this.span(vals[0], vals[vals.length - 1]) } : undefined;
          opts.push({ name: k.image, value: v, range: spanTok(k, this.LA(0)) });
        });
      },
    });
  });

  private verdictValue = this.RULE('verdictValue', (): Expr => {
    const v = this.CONSUME(Word);
    let t: IToken | undefined;
    this.OPTION({
      GATE: () => v.image === 'jump' || v.image === 'goto',
      DEF: () => { t = this.OR([{ ALT: () => this.CONSUME1(Word) }, { ALT: () => this.CONSUME(QuotedString) }, { ALT: () => this.CONSUME(VarRef) }]); },
    });
    return this.ACTION(() => ({
      k: 'verdict' as const, verb: v.image, target: t ? unquote(t.image) : undefined, targetRange: t ? tokRange(t) : undefined, ...this.span(v, t ?? v),
    }));
  });
}

/** Names after `[verb] OBJECT [family]`: -1 means "up to one" (an optional table name). */
function nameCount(obj: string, verb?: string): number {
  switch (obj) {
    case 'table': return 1;
    case 'chain': case 'rule': case 'set': case 'map': case 'element': case 'flowtable': case 'counter': case 'quota':
    case 'limit': case 'secmark': case 'synproxy': case 'ct helper': case 'ct timeout': case 'ct expectation': case 'tunnel':
    case 'meter':
      return 2;
    case 'ruleset': case 'describe': case 'monitor': case 'export': case 'import': return 0;
    default:
      void verb;
      return -1; // plural listings: `list chains [family] [table]`
  }
}

// ---------------------------------------------------------------- statement splitting

const OPENERS_TOP = new Set(['table', 'chain', 'set', 'map', 'flowtable', 'counter', 'quota', 'limit', 'secmark', 'synproxy', 'tunnel', 'ct']);

function blockKindOf(first: string, second: string | undefined): BlockKind | undefined {
  switch (first) {
    case 'table': return 'table';
    case 'chain': return 'chain';
    case 'set': case 'map': return 'set';
    case 'flowtable': return 'flowtable';
    case 'counter': case 'quota': case 'limit': case 'secmark': case 'synproxy': case 'tunnel': return 'object';
    case 'ct': return second === 'helper' || second === 'timeout' || second === 'expectation' ? 'object' : undefined;
  }
  return undefined;
}

function opensBlock(ctx: BlockKind, cur: IToken[]): BlockKind | undefined {
  if (!cur.length) return undefined;
  const last = cur[cur.length - 1];
  if (ctx === 'chain' || ctx === 'anonchain') {
    return last.tokenType === Word && (last.image === 'jump' || last.image === 'goto') ? 'anonchain' : undefined;
  }
  if (ctx === 'object') return last.tokenType === Word && cur.length === 1 ? 'object' : undefined; // tunnel { vxlan { ... } }
  if (ctx !== 'top' && ctx !== 'table') return undefined;
  if (!(last.tokenType === Word || last.tokenType === QuotedString || last.tokenType === VarRef)) return undefined;
  let i = 0;
  if (ctx === 'top' && cur[0].tokenType === Word && (cur[0].image === 'add' || cur[0].image === 'create')) i = 1;
  const w = cur[i];
  if (!w || w.tokenType !== Word || !OPENERS_TOP.has(w.image)) return undefined;
  if (ctx === 'table' && w.image === 'table') return undefined;
  if (cur.length - i < 2) return undefined;
  return blockKindOf(w.image, cur[i + 1]?.image);
}

const CONTINUE_AFTER = new Set<TokenType>([LCurly, Comma, Colon, Assign, Dot, LParen, LBracket]);
const CONTINUE_BEFORE = new Set<TokenType>([RCurly, Comma, Colon, Dot, RParen, RBracket]);

let parser: NftParser | undefined;

/** Lex, split and parse a whole nft document. Never throws. With `onTop`, each top-level statement
 *  (with its block) is handed over as soon as it is complete and not kept in `root`, so a 150k-line
 *  script never holds its whole syntax tree at once. */
export function parseNftDocument(text: string, onTop?: (n: StmtNode) => void): NftDocument {
  parser ??= new NftParser();
  const p = parser;
  p.text = text;
  const diagnostics: Diagnostic[] = [];
  lineStarts = computeLineStarts(text);
  const handles = new Map<number, number>();
  const ts = new TokenStream(text, (lexed, base) => {
    for (const e of lexed.errors) {
      const off = e.offset + base;
      const { line, character: col } = offsetPos(off);
      diagnostics.push({
        range: { start: { line, character: col }, end: { line, character: col + Math.max(1, e.length) } },
        severity: 'error', code: 'syntax',
        message: `unexpected character ${JSON.stringify(text.substr(off, Math.max(1, e.length)))}`,
      });
    }
    // `# handle N` comments, by line
    for (const c of (lexed.groups.comments ?? []) as IToken[]) {
      const m = /^#\s*handle\s+(\d+)/.exec(c.image);
      if (m) handles.set(offsetPos(c.startOffset + base).line, Number(m[1]));
    }
  });

  const root: Block = { kind: 'top', children: [] };
  const stack: Block[] = [root];
  let cur: IToken[] = [];
  let depth = 0;
  // Real rulesets nest a few levels; past MAX_NESTING the statement is reported, not parsed, so a
  // hostile file cannot exhaust the stack of the recursive-descent parser.
  let tooDeep: IToken | undefined;
  let tooDeepWhy = '';
  // Binary operators since the last `,` `:` `{` `}`: `a . b . c` is a tree as deep as its chain, and the
  // builder walks it recursively (100 000 `|` or `.` overflowed the stack).
  let chain = 0;

  const flush = (opener?: BlockKind, openTok?: IToken) => {
    if (!cur.length) {
      if (opener) {
        diagnostics.push({ range: tokRange(openTok!), severity: 'error', code: 'syntax', message: 'unexpected "{"' });
      }
      return;
    }
    const blk = stack[stack.length - 1];
    let node: StmtNode;
    if (tooDeep) {
      diagnostics.push({ range: tokRange(tooDeep), severity: 'error', code: 'too-deep', message: tooDeepWhy || `nesting deeper than ${MAX_NESTING} levels: this statement is not parsed` });
      node = { ctx: blk.kind, range: spanTok(cur[0], cur[cur.length - 1]), vars: NO_TOKENS, broken: true };
      tooDeep = undefined;
      tooDeepWhy = '';
    } else node = parseStatement(p, cur, blk.kind, !!opener, diagnostics, text);
    if (handles.size) {
      const h = handles.get(tokRange(cur[cur.length - 1]).end.line);
      if (h !== undefined) node.handle = h;
    }
    if (onTop && stack.length === 1 && !opener) onTop(node);
    else blk.children.push(node);
    if (opener) {
      const b: Block = { kind: opener, header: node, children: [], open: openTok };
      node.block = b;
      stack.push(b);
    }
    cur = [];
    depth = 0;
    chain = 0;
  };

  for (let t = ts.next(); t; t = ts.next()) {
    const tt = t.tokenType;
    if (tt === BadString) {
      diagnostics.push({ range: tokRange(t), severity: 'error', code: 'syntax', message: 'unterminated string' });
      continue;
    }
    if (tt === Newline) {
      if (depth === 0) { flush(); continue; }
      const prev = cur[cur.length - 1];
      const next = ts.peekPastNewlines();
      if ((prev && CONTINUE_AFTER.has(prev.tokenType)) || (next && CONTINUE_BEFORE.has(next.tokenType))) continue;
      flush(); // unbalanced brackets: the parser reports them on this line only
      continue;
    }
    if (tt === Semi && depth === 0) { flush(); continue; }
    if (tt === Comma || tt === Colon || tt === LCurly || tt === RCurly) chain = 0;
    else if ((tt === Dot || tt === Pipe || tt === Amp || tt === Caret || tt === Shl || tt === Shr || (tt === Word && BINOP_WORDS.has(t.image))) && ++chain > MAX_CHAIN && !tooDeep) {
      tooDeep = t;
      tooDeepWhy = `more than ${MAX_CHAIN} operators in a row ("." "|" "&" ...): this statement is not parsed`;
    }
    if (tt === LCurly) {
      if (depth === 0) {
        const kind = opensBlock(stack[stack.length - 1].kind, cur);
        if (kind && stack.length <= MAX_NESTING) { flush(kind, t); continue; }
        if (!cur.length) {
          diagnostics.push({ range: tokRange(t), severity: 'error', code: 'syntax', message: 'unexpected "{": a block needs a header such as "chain NAME {"' });
        }
      }
      if (++depth > MAX_NESTING || stack.length > MAX_NESTING) tooDeep ??= t;
      cur.push(t);
      continue;
    }
    if (tt === LParen || tt === LBracket) { if (++depth > MAX_NESTING) tooDeep ??= t; cur.push(t); continue; }
    if (tt === RParen || tt === RBracket) { if (depth > 0) depth--; cur.push(t); continue; }
    if (tt === RCurly) {
      if (depth > 0) { depth--; cur.push(t); continue; }
      flush();
      if (stack.length > 1) {
        const b = stack.pop()!;
        b.close = t;
        if (onTop && stack.length === 1) onTop(root.children.pop()!);
      } else {
        diagnostics.push({ range: tokRange(t), severity: 'error', code: 'syntax', message: 'unmatched "}"' });
      }
      continue;
    }
    cur.push(t);
  }
  flush();
  while (stack.length > 1) {
    const b = stack.pop()!;
    diagnostics.push({ range: tokRange(b.open!), severity: 'error', code: 'syntax', message: 'missing "}" for this block' });
    if (onTop && stack.length === 1) onTop(root.children.pop()!);
  }
  return { root, diagnostics, text };
}

const CHUNK = 1 << 16;
const MAX_NESTING = 64;
/** nft concatenates at most 16 fields; a thousand operators in one expression is no real ruleset. */
const MAX_CHAIN = 1000;

/** Tokens of the document, lexed 64 KiB at a time (cut at line ends, never after a `\`
 *  continuation) so tokens die young instead of all living until the parse ends. */
class TokenStream {
  private buf: IToken[] = [];
  private pos = 0;
  private at = 0;

  constructor(private text: string, private onChunk: (lexed: ReturnType<ReturnType<typeof nftLexer>['tokenize']>, base: number) => void) {}

  private fill(): boolean {
    const text = this.text;
    if (this.at >= text.length) return false;
    let end = Math.min(text.length, this.at + CHUNK);
    if (end < text.length) {
      let nl = text.indexOf('\n', end);
      while (nl > 0 && (text.charCodeAt(nl - 1) === 92 || (text.charCodeAt(nl - 1) === 13 && text.charCodeAt(nl - 2) === 92))) nl = text.indexOf('\n', nl + 1);
      end = nl < 0 ? text.length : nl + 1;
    }
    const base = this.at;
    const lexed = nftLexer().tokenize(end === text.length && base === 0 ? text : text.slice(base, end));
    if (base) {
      for (const t of lexed.tokens) { t.startOffset += base; if (t.endOffset !== undefined) t.endOffset += base; }
    }
    this.onChunk(lexed, base);
    this.buf = lexed.tokens;
    this.pos = 0;
    this.at = end;
    return true;
  }

  next(): IToken | undefined {
    while (this.pos >= this.buf.length) if (!this.fill()) return undefined;
    const t = this.buf[this.pos];
    (this.buf as (IToken | undefined)[])[this.pos++] = undefined; // let parsed tokens go
    return t;
  }

  /** The next token that is not a newline, without consuming anything. */
  peekPastNewlines(): IToken | undefined {
    for (;;) {
      while (this.pos < this.buf.length && this.buf[this.pos].tokenType === Newline) this.pos++;
      if (this.pos < this.buf.length) return this.buf[this.pos];
      if (!this.fill()) return undefined;
    }
  }
}

const NO_TOKENS: IToken[] = [];

function parseStatement(p: NftParser, toks: IToken[], ctx: BlockKind, opens: boolean, diagnostics: Diagnostic[], text: string): StmtNode {
  const range = spanTok(toks[0], toks[toks.length - 1]);
  let vars: IToken[] = NO_TOKENS;
  for (const t of toks) if (t.tokenType === VarRef) (vars === NO_TOKENS ? (vars = []) : vars).push(t);
  const node: StmtNode = { ctx, range, vars };
  p.input = toks;
  p.diags = [];
  p.ruleOut = [];
  p.opensBlock = opens;
  let res: NftStmt | undefined;
  const w0 = toks[0].tokenType === Word ? toks[0].image : '';
  try {
    if (ctx !== 'top' && (w0 === 'define' || w0 === 'redefine' || w0 === 'undefine' || w0 === 'include')) res = p.topStmt();
    else switch (ctx) {
      case 'top': res = p.topStmt(); break;
      case 'table': res = p.tableStmt(); break;
      case 'chain': res = p.chainStmt(); break;
      case 'anonchain': res = p.ruleOnly(); break;
      case 'set': res = p.setStmt(); break;
      case 'flowtable': case 'object': res = p.objectStmt(); break;
    }
  } catch (e) {
    diagnostics.push({ range, severity: 'error', code: 'internal-error', message: `internal parser error: ${(e as Error).message}` });
  }
  for (const d of p.diags) diagnostics.push(d); // no push(...): one statement may hold a million elements
  if (p.errors.length) {
    node.broken = true;
    const err = p.errors[0];
    let t = err.token;
    let message: string;
    if (!t || t.tokenType === EOF || t.image === '') {
      t = toks[toks.length - 1];
      message = `incomplete statement after ${JSON.stringify(t.image)}`;
    } else {
      message = `unexpected ${JSON.stringify(t.image)}`;
    }
    diagnostics.push({ range: tokRange(t), severity: 'error', code: 'syntax', message });
    // keep what was read of a broken rule
    if (!res && p.ruleOut.length) res = { k: 'rule', stmts: p.ruleOut, range, text: text.slice(toks[0].startOffset, toks[toks.length - 1].startOffset + toks[toks.length - 1].image.length) };
  }
  node.stmt = res ?? undefined;
  // The parser outlives the document: do not keep this statement's tokens (a million-element set) alive in it.
  p.input = NO_TOKENS;
  p.ruleOut = [];
  return node;
}

export { Word, QuotedString, VarRef, SetRef };
