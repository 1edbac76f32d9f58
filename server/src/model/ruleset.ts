// One ruleset model for iptables and nftables. Pure data: no vscode, no LSP types.
// Positions are 0-based line and UTF-16 column (as LSP counts them); the CLI adds 1.

export interface Position {
  line: number;
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

export type Severity = 'error' | 'warning' | 'information' | 'hint';

export interface RelatedInfo {
  range: Range;
  message: string;
}

export interface Diagnostic {
  range: Range;
  severity: Severity;
  /** Stable, kebab-case: part of the CLI's JSON contract. */
  code: string;
  message: string;
  related?: RelatedInfo[];
}

export type FileKind = 'iptables-save' | 'iptables-S' | 'nft';
export type Family = 'ip' | 'ip6' | 'inet' | 'arp' | 'bridge' | 'netdev';
export type Hook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting' | 'ingress' | 'egress';

/** A typed option value. `text` is always the source text; other fields are filled when it parsed. */
export type Value =
  | { kind: 'address'; text: string; range: Range; family: 'ip' | 'ip6'; addr: string; prefix: number; hostname?: boolean }
  | { kind: 'address-range'; text: string; range: Range; from: string; to: string }
  | { kind: 'port'; text: string; range: Range; from: number; to: number }
  | { kind: 'ports'; text: string; range: Range; ports: { from: number; to: number }[] }
  | { kind: 'interface'; text: string; range: Range; name: string; wildcard: boolean }
  | { kind: 'mark'; text: string; range: Range; value: number; mask: number; hasMask: boolean }
  | { kind: 'number'; text: string; range: Range; value: number }
  | { kind: 'number-range'; text: string; range: Range; from: number; to: number }
  | { kind: 'list'; text: string; range: Range; items: string[] }
  | { kind: 'string'; text: string; range: Range; value: string }
  | { kind: 'word'; text: string; range: Range };

export interface Option {
  /** Canonical long name without dashes, e.g. "dport", "set-xmark", "source". */
  name: string;
  /** The name as written, e.g. "-s", "--dport". */
  flag: string;
  negated: boolean;
  values: Value[];
  range: Range;
  nameRange: Range;
}

export interface Match {
  /** Module name: for iptables the `-m` module ("tcp", "mark"), or "" for the built-in options
   *  (-s -d -p -i -o -f); for nft the expression's payload/meta key ("ip", "tcp", "meta", "ct"). */
  module: string;
  moduleRange?: Range;
  /** False when the module is not in our knowledge base: reported, never guessed. */
  known: boolean;
  options: Option[];
  range: Range;
  /** nft only: the expression text and operator, e.g. left "ip saddr", op "==", right "10.0.0.0/8". */
  nft?: NftMatch;
}

export interface NftMatch {
  left: string;
  op: '==' | '!=' | '<' | '>' | '<=' | '>=' | 'in' | 'implicit' | '&';
  right: string;
  /** Named set/map reference (`@name`) on the right side, if any. */
  setRef?: string;
  setRefRange?: Range;
}

export type ActionKind =
  | 'verdict' // ACCEPT, DROP, RETURN, QUEUE, nft accept/drop/return/continue/queue
  | 'jump'
  | 'goto'
  | 'extension'; // a target module (MARK, CONNMARK, DNAT, LOG...) or an nft statement (meta mark set, counter, nat...)

export interface Action {
  kind: ActionKind;
  /** Verdict or target name: "ACCEPT", "DROP", "RETURN", "MARK", "DNAT"...; for nft statements the
   *  statement's key, e.g. "mark-set", "counter", "dnat", "log", "vmap". Jump/goto: the chain name in `chain`. */
  name: string;
  chain?: string;
  chainRange?: Range;
  known: boolean;
  options: Option[];
  range: Range;
  nameRange: Range;
  /** nft only: the statement's source text. */
  text?: string;
  /** nft verdict map: key expression and the chains it can jump/goto. */
  vmap?: { key: string; entries: { key: string; verdict: string; chain?: string; range: Range }[] };
}

export interface Rule {
  /** Index in its chain (0-based), in model order. */
  index: number;
  range: Range;
  matches: Match[];
  /** iptables: zero or one target. nft: the statements in source order (verdict last). */
  actions: Action[];
  comment?: string;
  counters?: { packets: number; bytes: number };
  /** How the rule entered the chain: -A (append, default), -I (insert), nft add/insert. */
  op?: 'append' | 'insert' | 'delete' | 'replace';
  /** nft rule handle, if listed. */
  handle?: number;
  /** The rule's line as written, when the model keeps the rule as its line (iptables `-A`): a pass may skip
   *  a rule by its words instead of reading `matches`, which rebuilds it. */
  readonly lineText?: string;
}

export interface Chain {
  name: string;
  nameRange: Range;
  /** Where the chain is declared (`:NAME`, `-N NAME`, nft `chain NAME {`); several for nft re-opens. */
  declarations: Range[];
  range: Range;
  builtin: boolean;
  policy?: string;
  policyRange?: Range;
  counters?: { packets: number; bytes: number };
  /** nft base chains (and, for iptables built-ins, the implied values). */
  type?: 'filter' | 'nat' | 'route';
  hook?: Hook;
  priority?: number;
  device?: string;
  rules: Rule[];
}

export interface NamedSet {
  name: string;
  nameRange: Range;
  range: Range;
  kind: 'set' | 'map' | 'vmap';
  keyType?: string;
  dataType?: string;
  flags?: string[];
  elements: { text: string; range: Range; value?: string }[];
}

export interface Table {
  name: string;
  family: Family;
  nameRange: Range;
  range: Range;
  chains: Chain[];
  sets: NamedSet[];
  /** Other nft objects (counter, quota, ct helper, flowtable, limit...), by kind and name. */
  objects: { kind: string; name: string; nameRange: Range; range: Range }[];
}

export interface Variable {
  name: string;
  nameRange: Range;
  value: string;
  range: Range;
  references: Range[];
}

export interface Ruleset {
  kind: FileKind;
  /** For iptables files: ip or ip6 (from a `# Generated by ip6tables-save` line, addresses, or hint). */
  family: Family;
  tables: Table[];
  variables: Variable[];
  includes: { path: string; range: Range }[];
  diagnostics: Diagnostic[];
}

/** A range inside one line, stored as three numbers: a 150 000-line dump holds millions of ranges, and
 *  this is one small object where a plain Range is three. Its positions are made on access, so they are
 *  values (never compare them by identity, never assign to them); JSON sees a plain Range. */
export class LineRange implements Range {
  constructor(readonly line: number, readonly startCh: number, readonly endCh: number) {}
  get start(): Position {
    return { line: this.line, character: this.startCh };
  }
  get end(): Position {
    return { line: this.line, character: this.endCh };
  }
  toJSON(): { start: Position; end: Position } {
    return { start: this.start, end: this.end };
  }
}

export function lineRange(line: number, startCh: number, endCh: number): Range {
  return new LineRange(line, startCh, endCh);
}

/** From the start of `a` to the end of `b`. */
export function spanRange(a: Range, b: Range): Range {
  if (a instanceof LineRange && b instanceof LineRange && a.line === b.line) return new LineRange(a.line, a.startCh, b.endCh);
  return { start: a.start, end: b.end };
}

export function pos(line: number, character: number): Position {
  return { line, character };
}

export function range(line: number, startCh: number, endLine: number, endCh: number): Range {
  if (line === endLine) return new LineRange(line, startCh, endCh);
  return { start: { line, character: startCh }, end: { line: endLine, character: endCh } };
}

export function rangeOnLine(line: number, startCh: number, endCh: number): Range {
  return new LineRange(line, startCh, endCh);
}

export function ruleCount(rs: Ruleset): number {
  let n = 0;
  for (const t of rs.tables) for (const c of t.chains) n += c.rules.length;
  return n;
}

export function chainCount(rs: Ruleset): number {
  let n = 0;
  for (const t of rs.tables) n += t.chains.length;
  return n;
}
