// The iptables extension knowledge base: every match module and target with its options, their
// arity, value types, negation, and the combinations userspace and kernel refuse.
// The data live in iptables-matches.ts and iptables-targets.ts as compact tuples; this file compiles
// them once into lookup maps (nothing here runs per rule).
import type { Option, Range, Value } from '../model/ruleset';
import { MATCHES } from './iptables-matches';
import { TARGETS } from './iptables-targets';

/** How an option's argument is read. Parametric kinds carry bounds or allowed words. */
export interface ValueType {
  k: string;
  min: number;
  max: number;
  set?: ReadonlySet<string>;
  fold: boolean;
  list: boolean;
  /** Human words for messages, e.g. "connection state". */
  what: string;
}

export interface OptionSpec {
  /** Canonical long name without dashes. */
  name: string;
  /** Every long name accepted (canonical first), without dashes. */
  names: string[];
  doc: string;
  neg: boolean;
  /** May be given more than once (policy elements after --next, for example). */
  multi: boolean;
  /** 0 = flag, 1, 2 = two words (tcp-flags, match-set), -1 = optional argument. */
  arity: number;
  type: ValueType;
}

/** What a module's check function may look at and report. Implemented by the rule builder. */
export interface CheckApi {
  family: 'ip' | 'ip6';
  table: string;
  /** Chain name and whether it is built-in (hook known); user chains skip hook checks. */
  chain: string | undefined;
  builtin: boolean;
  /** Protocol number of the rule's -p, undefined when none; negated when `! -p`. */
  proto: number | undefined;
  protoNegated: boolean;
  /** The -p seen when this module's first option was parsed (userspace checks that read it then). */
  protoAtParse: number | undefined;
  has(name: string): boolean;
  opt(name: string): Option | undefined;
  /** First value of an option. */
  val(name: string): Value | undefined;
  /** Options in the order written. */
  options: Option[];
  /** Range of the module name (`-m x` / `-j X`). */
  at: Range;
  error(range: Range, code: string, message: string): void;
  warn(range: Range, code: string, message: string): void;
}

export interface ExtensionSpec {
  name: string;
  kind: 'match' | 'target';
  family: 'both' | 'ip' | 'ip6';
  doc: string;
  options: OptionSpec[];
  byName: ReadonlyMap<string, OptionSpec>;
  /** Each group: at least one of these options must be given. */
  need: string[][];
  /** Each group: at most one of these options may be given. */
  excl: string[][];
  /** Protocol numbers one of which `-p` must name (not negated) for the module to load. */
  proto?: number[];
  /** The protocol is checked by userspace while parsing: -p must come before the module's options. */
  protoBefore?: boolean;
  /** Tables the kernel allows it in. */
  tables?: string[];
  /** Built-in chains (hooks) the kernel allows it in. */
  hooks?: string[];
  /** A terminal target ends the chain walk for the packet (DNAT, REJECT...). */
  terminal?: boolean;
  check?: (api: CheckApi) => void;
}

/** Compact source form: [names "a|b", type, flags ("!" negatable, "*" repeatable), doc]. */
export type OptTuple = [string, string, string, string];

export interface ExtensionSource {
  name: string;
  family?: 'both' | 'ip' | 'ip6';
  doc: string;
  opts: OptTuple[];
  need?: string[][];
  excl?: string[][];
  proto?: number[];
  protoBefore?: boolean;
  tables?: string[];
  hooks?: string[];
  terminal?: boolean;
  /** Other names the module is loaded under (icmpv6 for icmp6). */
  aliases?: string[];
  check?: (api: CheckApi) => void;
}

const NAMED_TYPES = new Set([
  'none', 'addr', 'addrs', 'addr1', 'arange', 'natto', 'natports', 'port', 'ports', 'portlist', 'iface', 'mark',
  'proto', 'mac', 'prob', 'icmp', 'icmp6', 'word', 'str', 'tcpflags', 'rate', 'hlrate', 'burst', 'tos', 'loglevel',
  'time', 'date', 'pfx6', 'class', 'ownerid', 'setflags', 'chunks', 'tcpopts', 'dscpclass', 'rejectv4',
  'rejectv6', 'hexstr', 'monthdays', 'weekdays', 'ip6hdrs', 'optslist', 'rateval', 'interval', 'label', 'prefixlen',
  'ledDelay', 'helper', 'u32expr', 'zone', 'qbalance', 'port1',
]);

const typeCache = new Map<string, ValueType>();

/** Type DSL: named ("port"), "u:MIN:MAX", "r:MIN:MAX" (a[:b] range), "e:A,B" / "el:A,B" (enum / enum list,
 *  case-folded), "E:a,b" / "El:a,b" (case-sensitive), "s:MAX" (string of at most MAX bytes), "m:MAX" (value[/mask]). */
export function compileType(src: string): ValueType {
  const hit = typeCache.get(src);
  if (hit) return hit;
  let t: ValueType;
  const colon = src.indexOf(':');
  const head = colon < 0 ? src : src.slice(0, colon);
  const rest = colon < 0 ? '' : src.slice(colon + 1);
  switch (head) {
    case 'u': case 'r': case 'm': {
      const [a, b] = rest.split(':');
      t = { k: head === 'u' ? 'uint' : head === 'r' ? 'urange' : 'masked', min: Number(a), max: Number(b), fold: false, list: false, what: '' };
      break;
    }
    case 'e': case 'el': case 'E': case 'El': {
      const [words, what] = rest.split('|');
      const fold = head === 'e' || head === 'el';
      const vals = words.split(',').map((w) => (fold ? w.toUpperCase() : w));
      t = { k: 'enum', min: 0, max: 0, set: new Set(vals), fold, list: head.length === 2, what: what ?? 'value' };
      break;
    }
    case 's':
      t = { k: 'string', min: 0, max: Number(rest || 0), fold: false, list: false, what: '' };
      break;
    default:
      if (!NAMED_TYPES.has(head)) throw new Error(`unknown value type ${src}`);
      t = { k: head, min: 0, max: 0, fold: false, list: false, what: '' };
  }
  typeCache.set(src, t);
  return t;
}

function compile(kind: 'match' | 'target', s: ExtensionSource): ExtensionSpec {
  const options: OptionSpec[] = [];
  const byName = new Map<string, OptionSpec>();
  for (const [names, type, flags, doc] of s.opts) {
    const list = names.split('|');
    const vt = compileType(type || 'none');
    const arity = vt.k === 'none' ? 0 : flags.includes('?') ? -1 : flags.includes('2') || vt.k === 'tcpflags' || vt.k === 'chunks' ? 2 : 1;
    const o: OptionSpec = { name: list[0], names: list, doc, neg: flags.includes('!'), multi: flags.includes('*'), arity, type: vt };
    options.push(o);
    for (const n of list) byName.set(n, o);
  }
  return {
    name: s.name,
    kind,
    family: s.family ?? 'both',
    doc: s.doc,
    options,
    byName,
    need: s.need ?? [],
    excl: s.excl ?? [],
    proto: s.proto,
    protoBefore: s.protoBefore,
    tables: s.tables,
    hooks: s.hooks,
    terminal: s.terminal,
    check: s.check,
  };
}

function index(kind: 'match' | 'target', sources: ExtensionSource[]) {
  const v4 = new Map<string, ExtensionSpec>();
  const v6 = new Map<string, ExtensionSpec>();
  const all: ExtensionSpec[] = [];
  for (const s of sources) {
    const spec = compile(kind, s);
    all.push(spec);
    for (const n of [s.name, ...(s.aliases ?? [])]) {
      if (spec.family !== 'ip6') v4.set(n, spec);
      if (spec.family !== 'ip') v6.set(n, spec);
    }
  }
  return { v4, v6, all };
}

const matchIndex = index('match', MATCHES);
const targetIndex = index('target', TARGETS);

export const ALL_MATCHES: readonly ExtensionSpec[] = matchIndex.all;
export const ALL_TARGETS: readonly ExtensionSpec[] = targetIndex.all;

/** The match module `name` as the given family knows it. */
export function findMatch(name: string, family: 'ip' | 'ip6'): ExtensionSpec | undefined {
  return (family === 'ip' ? matchIndex.v4 : matchIndex.v6).get(name);
}

export function findTarget(name: string, family: 'ip' | 'ip6'): ExtensionSpec | undefined {
  return (family === 'ip' ? targetIndex.v4 : targetIndex.v6).get(name);
}

/** The module exists, but only for the other family (e.g. -m icmp in ip6tables). */
export function otherFamilyOnly(kind: 'match' | 'target', name: string, family: 'ip' | 'ip6'): boolean {
  const idx = kind === 'match' ? matchIndex : targetIndex;
  return !(family === 'ip' ? idx.v4 : idx.v6).has(name) && (family === 'ip' ? idx.v6 : idx.v4).has(name);
}

export const VERDICTS: ReadonlySet<string> = new Set(['ACCEPT', 'DROP', 'RETURN', 'QUEUE']);

export const VERDICT_DOCS: Readonly<Record<string, string>> = {
  ACCEPT: 'Let the packet through this chain; the next table or hook still sees it.',
  DROP: 'Discard the packet silently; nothing after this sees it.',
  RETURN: 'Leave this chain: back to the rule after the calling jump, or the policy in a built-in chain.',
  QUEUE: 'Hand the packet to a userspace program on queue 0 (NFQUEUE without options).',
};

/** Built-in options of every rule (the `-s -d -p -i -o -f` part), keyed by how they may be written. */
export interface BaseOption {
  name: string;
  short?: string;
  longs: string[];
  doc: string;
  neg: boolean;
  arity: number;
  type: ValueType;
}

const BASE_SRC: [string, string, string[], string, string, string][] = [
  // name, short, longs, type, flags, doc
  ['source', 's', ['source', 'src'], 'addrs', '!', 'Source address or network (address[/mask]); a comma list expands to one rule each.'],
  ['destination', 'd', ['destination', 'dst'], 'addrs', '!', 'Destination address or network (address[/mask]).'],
  ['protocol', 'p', ['protocol'], 'proto', '!', 'Layer-4 protocol by name or number; "all" or 0 matches any.'],
  ['in-interface', 'i', ['in-interface'], 'iface', '!', 'Interface the packet arrived on; a trailing "+" matches every name with that prefix.'],
  ['out-interface', 'o', ['out-interface'], 'iface', '!', 'Interface the packet will leave by; a trailing "+" is a prefix wildcard.'],
  ['fragment', 'f', ['fragment'], 'none', '!', 'Only second and later fragments of a fragmented IPv4 packet.'],
  ['match', 'm', ['match'], 'word', '', 'Load a match module; its options follow.'],
  ['jump', 'j', ['jump'], 'word', '', 'Target: a verdict, a target extension or a user chain to call (returns here).'],
  ['goto', 'g', ['goto'], 'word', '', 'Continue in a user chain without a return point: RETURN there skips back past this chain.'],
  ['set-counters', 'c', ['set-counters'], 'u:0:18446744073709551615', '2', 'Initial packet and byte counters of the rule.'],
  ['ipv4', '4', ['ipv4'], 'none', '', 'Rule applies to IPv4 only (ip6tables-restore skips it).'],
  ['ipv6', '6', ['ipv6'], 'none', '', 'Rule applies to IPv6 only (iptables-restore skips it).'],
];

export const BASE_OPTIONS: ReadonlyMap<string, BaseOption> = (() => {
  const m = new Map<string, BaseOption>();
  for (const [name, short, longs, type, flags, doc] of BASE_SRC) {
    const vt = compileType(type);
    const o: BaseOption = { name, short, longs, doc, neg: flags.includes('!'), arity: vt.k === 'none' ? 0 : flags.includes('2') ? 2 : 1, type: vt };
    m.set('-' + short, o);
    for (const l of longs) m.set('--' + l, o);
  }
  return m;
})();

/** Long names of the base options (for unique-prefix abbreviations as getopt accepts them). */
export const BASE_LONG_NAMES: readonly string[] = BASE_SRC.flatMap((b) => b[2]);

const ALL_OPTION_FLAGS: ReadonlySet<string> = new Set([
  ...BASE_OPTIONS.keys(),
  ...[...matchIndex.all, ...targetIndex.all].flatMap((s) => s.options.flatMap((o) => o.names.map((n) => '--' + n))),
]);

/** `flag` (e.g. "--ctstate", "-s") is an option some module or the core defines. */
export function isKnownOptionFlag(flag: string): boolean {
  return ALL_OPTION_FLAGS.has(flag);
}

// ---- for hover and completion (ide/knowledge-docs.ts)

function lookup(name: string, isTarget: boolean, family: 'ip' | 'ip6'): ExtensionSpec | undefined {
  return isTarget ? findTarget(name, family) ?? findTarget(name, family === 'ip' ? 'ip6' : 'ip') : findMatch(name, family) ?? findMatch(name, family === 'ip' ? 'ip6' : 'ip');
}

/** Doc line of a match module or target (verdicts included); undefined when not in the knowledge base. */
export function extensionDoc(name: string, isTarget: boolean, family: 'ip' | 'ip6' = 'ip'): string | undefined {
  if (isTarget && VERDICT_DOCS[name]) return VERDICT_DOCS[name];
  return lookup(name, isTarget, family)?.doc;
}

/** Doc line of one option (`--dport` or `dport`) of a module or target. */
export function extensionOptionDoc(name: string, option: string, isTarget: boolean, family: 'ip' | 'ip6' = 'ip'): string | undefined {
  return lookup(name, isTarget, family)?.byName.get(option.replace(/^--?/, ''))?.doc;
}

/** Every option flag of a module or target, canonical names first (`--dport`, `--destination-port`...). */
export function extensionOptionFlags(name: string, isTarget: boolean, family: 'ip' | 'ip6' = 'ip'): string[] {
  const s = lookup(name, isTarget, family);
  return s ? s.options.flatMap((o) => o.names.map((n) => '--' + n)) : [];
}

/** Doc line of a built-in option (`-s`, `--source`, `-p`...). */
export function baseOptionDoc(flag: string): string | undefined {
  return BASE_OPTIONS.get(flag)?.doc;
}
