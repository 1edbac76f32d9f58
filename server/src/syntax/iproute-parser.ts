// iproute2 outputs → routing model: `ip rule show`, `ip route show [table N|all]`, `ip addr` /
// `ip -br addr`, and /etc/iproute2/rt_tables. Also the matching command forms (`ip rule add ...`,
// `ip route add ...`) so a hand-written node profile can use either. One bad line gets a diagnostic with
// its range and is left out; every other line is kept. Never throws.
import type { Diagnostic, Range } from '../model/ruleset';
import {
  defaultIpRules,
  defaultRtTables,
  parseInetAddr,
  parseInetPrefix,
  prefixContains,
  SCOPES,
  type IfAddress,
  type InetFamily,
  type Interface,
  type IpRule,
  type Nexthop,
  type Parsed,
  type Route,
  type RouteType,
  type RtTables,
} from '../model/routing';
import { readWordLines, span, type Word, type WordLine } from './iproute-lexer';

export interface IprouteParseOptions {
  /** Family for `default`/`all` when nothing on the line tells (default ip). */
  family?: InetFamily;
  /** Table names (rt_tables); the built-ins are always known. */
  tables?: RtTables;
  /** `ip route show table N` output has no `table` column: the routes belong to this table (default main). */
  table?: number;
  /** First line number of `text` in its document (for text embedded in a node profile). */
  lineOffset?: number;
}

function diag(diags: Diagnostic[], range: Range, code: string, message: string, severity: Diagnostic['severity'] = 'error'): void {
  diags.push({ range, severity, code, message });
}

/** Walks one line's words. */
class Cursor {
  i = 0;
  constructor(readonly words: Word[], readonly diags: Diagnostic[]) {}
  get done(): boolean { return this.i >= this.words.length; }
  peek(): Word | undefined { return this.words[this.i]; }
  next(): Word | undefined { return this.words[this.i++]; }
  /** The value after keyword `kw`; reports a missing value. */
  arg(kw: Word): Word | undefined {
    const w = this.next();
    if (!w) diag(this.diags, kw.range, 'missing-value', `"${kw.value}" needs a value`);
    return w;
  }
}

function parseNumber(text: string): number | undefined {
  if (/^0x[0-9a-f]+$/i.test(text)) return parseInt(text, 16);
  if (/^\d+$/.test(text)) return Number(text);
  return undefined;
}

function parseU32(text: string): number | undefined {
  const n = parseNumber(text);
  return n !== undefined && n <= 0xffffffff ? n : undefined;
}

function numRange(text: string, max: number): { from: number; to: number } | undefined {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!m) return undefined;
  const from = Number(m[1]), to = m[2] === undefined ? from : Number(m[2]);
  return from <= to && to <= max ? { from, to } : undefined;
}

const IPPROTO: Record<string, number> = { icmp: 1, igmp: 2, tcp: 6, udp: 17, gre: 47, esp: 50, ah: 51, 'ipv6-icmp': 58, icmpv6: 58, sctp: 132, udplite: 136 };

export function ipprotoNumber(text: string): number | undefined {
  const n = parseNumber(text);
  if (n !== undefined) return n <= 255 ? n : undefined;
  return IPPROTO[text.toLowerCase()];
}

function resolveTable(text: string, tables: RtTables): number | undefined {
  const n = parseNumber(text);
  if (n !== undefined) return n;
  return tables.byName.get(text);
}

function lineText(l: WordLine): string {
  return l.words.map((w) => w.text).join(' ');
}

/** Joins lines ending with a `\` word to the next one (shell continuations in hand-written files). */
function joinContinuations(lines: WordLine[]): WordLine[] {
  const out: WordLine[] = [];
  let cur: WordLine | undefined;
  for (const l of lines) {
    if (l.comment) { if (!cur) out.push(l); continue; }
    const cont = l.words.length > 0 && l.words[l.words.length - 1].value === '\\';
    const words = cont ? l.words.slice(0, -1) : l.words;
    if (cur) {
      cur.words.push(...words);
      cur.range = { start: cur.range.start, end: (words[words.length - 1] ?? cur.words[cur.words.length - 1]).range.end };
    } else {
      cur = { ...l, words: [...words] };
    }
    if (!cont) { out.push(cur); cur = undefined; }
  }
  if (cur) out.push(cur);
  return out;
}

/** Drops a leading `ip [-4|-6] rule|route|addr add|append|replace` so command lines read like output. */
function stripCommand(words: Word[], objects: string[]): { words: Word[]; command: boolean; family?: InetFamily } {
  let i = 0;
  let family: InetFamily | undefined;
  if (words[i]?.value === 'ip') i++;
  while (words[i] && /^-[46]$/.test(words[i].value)) { family = words[i].value === '-6' ? 'ip6' : 'ip'; i++; }
  if (i > 0 || objects.includes(words[0]?.value ?? '')) {
    if (objects.includes(words[i]?.value ?? '')) i++;
    else if (i > 0) return { words, command: false };
    if (['add', 'append', 'replace', 'a', 'change', 'prepend'].includes(words[i]?.value ?? '')) i++;
    return { words: words.slice(i), command: true, family };
  }
  return { words, command: false };
}

// ---------------------------------------------------------------- rt_tables

export function parseRtTables(text: string, opts: { lineOffset?: number } = {}): Parsed<RtTables> {
  const { lines, diagnostics } = readWordLines(text, opts.lineOffset ?? 0);
  const t = defaultRtTables();
  for (const l of lines) {
    if (l.comment) continue;
    const [id, name, ...rest] = l.words;
    const n = parseNumber(id.value);
    if (n === undefined || n > 0xffffffff || !name) {
      diag(diagnostics, l.range, 'bad-rt-table', 'expected "ID NAME" (a table number and its name)');
      continue;
    }
    if (rest.length) diag(diagnostics, span(rest[0], rest[rest.length - 1]), 'syntax', 'unexpected words after the table name', 'warning');
    t.byName.set(name.value, n);
    t.byId.set(n, name.value);
    t.entries.push({ id: n, name: name.value, range: l.range });
  }
  return { value: t, diagnostics };
}

// ---------------------------------------------------------------- ip rule

const RULE_ACTIONS = new Set(['blackhole', 'unreachable', 'prohibit', 'nop']);

export function parseIpRules(text: string, opts: IprouteParseOptions = {}): Parsed<IpRule[]> {
  const { lines, diagnostics } = readWordLines(text, opts.lineOffset ?? 0);
  const tables = opts.tables ?? defaultRtTables();
  const rules: IpRule[] = [];
  const commandFamilies = new Set<InetFamily>(), listedFamilies = new Set<InetFamily>();
  for (const l of joinContinuations(lines)) {
    if (l.comment || !l.words.length) continue;
    const before = diagnostics.length;
    const r = parseRuleLine(l, tables, opts.family ?? 'ip', rules, diagnostics);
    if (r && !diagnostics.slice(before).some((d) => d.severity === 'error')) {
      rules.push(r);
      (r.priorityRange && /^\d+:$/.test(r.text.split(/\s/)[0]) ? listedFamilies : commandFamilies).add(r.family);
    }
  }
  // `ip rule add` lines add to the rules a kernel starts with; a listing already shows them.
  rules.unshift(...[...commandFamilies].filter((f) => !listedFamilies.has(f)).flatMap((f) => defaultIpRules(f)));
  // The kernel keeps rules sorted by priority; equal priorities stay in the order they came.
  const sorted = rules.map((r, i) => [r, i] as const).sort((a, b) => a[0].priority - b[0].priority || a[1] - b[1]).map((x) => x[0]);
  return { value: sorted, diagnostics };
}

function parseRuleLine(l: WordLine, tables: RtTables, defFamily: InetFamily, earlier: IpRule[], diags: Diagnostic[]): IpRule | undefined {
  const cmd = stripCommand(l.words, ['rule', 'ru']);
  const c = new Cursor(cmd.words, diags);
  let family: InetFamily | undefined = cmd.family;
  const rule: IpRule = { family: defFamily, priority: -1, not: false, action: 'lookup', unmodeled: [], range: l.range, text: lineText(l) };
  let actionSet = false;
  const first = c.peek();
  const m = first && /^(\d+):$/.exec(first.value);
  if (m) {
    c.next();
    rule.priority = Number(m[1]);
    rule.priorityRange = first!.range;
  } else if (!cmd.command) {
    diag(diags, first ? first.range : l.range, 'rule-priority', 'expected "PRIORITY:" at the start of an `ip rule show` line');
    return undefined;
  }
  let fromText: Word | undefined, toText: Word | undefined;
  while (!c.done) {
    const w = c.next()!;
    const kw = w.value;
    switch (kw) {
      case 'not': rule.not = true; break;
      case 'from': fromText = c.arg(w); break;
      case 'to': toText = c.arg(w); break;
      case 'priority': case 'prio': case 'pref': case 'preference': case 'order': {
        const a = c.arg(w);
        const n = a && parseU32(a.value);
        if (a && n === undefined) diag(diags, a.range, 'bad-number', `bad priority "${a.value}"`);
        else if (a) { rule.priority = n!; rule.priorityRange = a.range; }
        break;
      }
      case 'fwmark': {
        const a = c.arg(w);
        if (!a) break;
        const [v, mk] = a.value.split('/');
        const value = parseU32(v), mask = mk === undefined ? 0xffffffff : parseU32(mk);
        if (value === undefined || mask === undefined) diag(diags, a.range, 'bad-mark', `bad fwmark "${a.value}" (expected VALUE[/MASK])`);
        else rule.fwmark = { value, mask, text: a.value, range: a.range };
        break;
      }
      case 'tos': case 'dsfield': {
        const a = c.arg(w);
        if (!a) break;
        const n = parseNumber(a.value);
        if (n === undefined || n > 255) diag(diags, a.range, 'bad-number', `bad ${kw} "${a.value}"`);
        else rule.tos = n;
        break;
      }
      case 'iif': case 'dev': case 'oif': {
        const a = c.arg(w);
        if (!a) break;
        const detached = c.peek()?.value === '[detached]';
        if (detached) c.next();
        if (kw === 'oif') { rule.oif = a.value; rule.oifDetached = detached; } else { rule.iif = a.value; rule.iifDetached = detached; }
        break;
      }
      case 'ipproto': {
        const a = c.arg(w);
        if (!a) break;
        const n = ipprotoNumber(a.value);
        if (n === undefined) diag(diags, a.range, 'bad-protocol', `unknown protocol "${a.value}"`);
        else rule.ipproto = n;
        break;
      }
      case 'sport': case 'dport': {
        const a = c.arg(w);
        if (!a) break;
        const r = numRange(a.value, 65535);
        if (!r) diag(diags, a.range, 'bad-port', `bad port range "${a.value}"`);
        else rule[kw] = r;
        break;
      }
      case 'uidrange': {
        const a = c.arg(w);
        if (!a) break;
        const r = numRange(a.value, 0xffffffff);
        if (!r) diag(diags, a.range, 'bad-number', `bad uid range "${a.value}"`);
        else rule.uidrange = r;
        break;
      }
      case 'l3mdev': rule.l3mdev = true; rule.unmodeled.push({ keyword: kw, range: w.range }); break;
      case 'tun_id': { const a = c.arg(w); if (a) { rule.tunId = a.value; rule.unmodeled.push({ keyword: kw, range: w.range }); } break; }
      case 'lookup': case 'table': {
        const a = c.arg(w);
        if (!a) break;
        rule.action = 'lookup';
        actionSet = true;
        rule.tableText = a.value;
        rule.tableRange = a.range;
        rule.table = resolveTable(a.value, tables);
        if (rule.table === undefined) diag(diags, a.range, 'unknown-table', `table "${a.value}" is not in rt_tables`, 'warning');
        break;
      }
      case 'goto': {
        const a = c.arg(w);
        if (!a) break;
        const n = parseU32(a.value);
        if (n === undefined) { diag(diags, a.range, 'bad-number', `bad goto target "${a.value}"`); break; }
        rule.action = 'goto';
        actionSet = true;
        rule.gotoTarget = n;
        rule.tableRange = a.range;
        if (c.peek()?.value === '[unresolved]') { c.next(); rule.unresolved = true; }
        break;
      }
      case 'type': {
        const a = c.arg(w);
        if (a && (RULE_ACTIONS.has(a.value) || a.value === 'unicast')) {
          if (a.value !== 'unicast') { rule.action = a.value as IpRule['action']; actionSet = true; }
        } else if (a) diag(diags, a.range, 'bad-rule-type', `unknown rule type "${a.value}"`);
        break;
      }
      case 'suppress_prefixlength': {
        const a = c.arg(w);
        const n = a && parseNumber(a.value);
        if (a && n === undefined) diag(diags, a.range, 'bad-number', `bad prefix length "${a.value}"`);
        else if (a) rule.suppressPrefixlength = n!;
        break;
      }
      case 'suppress_ifgroup': case 'sup_group': {
        const a = c.arg(w);
        if (a) { rule.suppressIfgroup = a.value; rule.unmodeled.push({ keyword: kw, range: w.range }); }
        break;
      }
      case 'realms': case 'realm': { const a = c.arg(w); if (a) rule.realms = a.value; break; }
      case 'proto': case 'protocol': { const a = c.arg(w); if (a) rule.protocol = a.value; break; }
      case 'nat': case 'map-to': { const a = c.arg(w); if (a) rule.unmodeled.push({ keyword: kw, range: w.range }); break; }
      default:
        if (RULE_ACTIONS.has(kw)) { rule.action = kw as IpRule['action']; actionSet = true; break; }
        // Kept, but a decision that reaches this rule says "unknown": the word may be a selector.
        rule.unmodeled.push({ keyword: kw, range: w.range });
        diag(diags, w.range, 'unknown-keyword', `unknown ip rule keyword "${kw}"`, 'warning');
    }
  }
  if (!actionSet) {
    if (cmd.command) { rule.action = 'lookup'; rule.table = 254; rule.tableText = 'main'; }
    else { diag(diags, l.range, 'rule-action', 'no action (lookup/goto/blackhole/unreachable/prohibit/nop)'); return undefined; }
  }
  for (const [w, key] of [[fromText, 'from'], [toText, 'to']] as const) {
    if (!w || w.value === 'all') continue;
    const p = parseInetPrefix(w.value, undefined);
    if (!p) { diag(diags, w.range, 'bad-address', `bad prefix "${w.value}"`); continue; }
    if (family && p.family !== family) { diag(diags, w.range, 'family-mismatch', `"${w.value}" is not ${family === 'ip' ? 'IPv4' : 'IPv6'}`); continue; }
    family = p.family;
    rule[key] = p;
  }
  rule.family = family ?? defFamily;
  if (rule.priority < 0) {
    // `ip rule add` without a priority: the kernel takes the second rule's priority minus one.
    const base = [...defaultIpRules(rule.family), ...earlier.filter((r) => r.family === rule.family)].sort((a, b) => a.priority - b.priority);
    rule.priority = base[1].priority > 0 ? base[1].priority - 1 : 0;
  }
  if (rule.action === 'goto' && rule.gotoTarget !== undefined && rule.gotoTarget <= rule.priority) {
    diag(diags, rule.tableRange ?? l.range, 'goto-backwards', `goto ${rule.gotoTarget} must point past the rule's own priority ${rule.priority} (the kernel refuses it)`);
  }
  return rule;
}

// ---------------------------------------------------------------- ip route

const ROUTE_TYPES = new Set<RouteType>(['unicast', 'local', 'broadcast', 'multicast', 'anycast', 'blackhole', 'unreachable', 'prohibit', 'throw', 'nat']);
/** Route attributes that take one value and that the decision does not need. */
const ROUTE_VALUE_ATTRS = new Set(['mtu', 'advmss', 'rtt', 'rttvar', 'reordering', 'window', 'cwnd', 'initcwnd', 'initrwnd', 'ssthresh', 'realms', 'realm', 'rto_min', 'hoplimit', 'features', 'quickack', 'congctl', 'fastopen_no_cookie', 'expires', 'pref', 'nhid', 'error', 'encap', 'ttl-propagate', 'cache', 'age', 'used', 'users']);
const ROUTE_FLAG_ATTRS = new Set(['pervasive', 'linkdown', 'dead', 'offload', 'trap', 'rt_offload', 'rt_trap', 'rt_offload_failed', 'notify', 'unresolved']);

export function parseIpRoutes(text: string, opts: IprouteParseOptions = {}): Parsed<Route[]> {
  const { lines, diagnostics } = readWordLines(text, opts.lineOffset ?? 0);
  const tables = opts.tables ?? defaultRtTables();
  const routes: Route[] = [];
  let last: { route: Route; ok: boolean } | undefined;
  for (const l of joinContinuations(lines)) {
    if (l.comment || !l.words.length) continue;
    if (l.words[0].value === 'nexthop') {
      // A multipath route's next hop on its own (indented) line.
      if (!last) { diag(diagnostics, l.range, 'orphan-nexthop', '"nexthop" line without a route before it'); continue; }
      const c = new Cursor(l.words, diagnostics);
      const before = diagnostics.length;
      parseNexthops(c, last.route, diagnostics);
      if (diagnostics.slice(before).some((d) => d.severity === 'error')) last.ok = false;
      last.route.range = { start: last.route.range!.start, end: l.range.end };
      last.route.text += '\n' + lineText(l);
      continue;
    }
    if (last?.ok) finishRoute(last.route, routes, diagnostics);
    const before = diagnostics.length;
    const r = parseRouteLine(l, tables, opts, diagnostics);
    last = r ? { route: r, ok: !diagnostics.slice(before).some((d) => d.severity === 'error') } : undefined;
  }
  if (last?.ok) finishRoute(last.route, routes, diagnostics);
  return { value: routes, diagnostics };
}

function finishRoute(r: Route, out: Route[], diags: Diagnostic[]): void {
  const needsHop = r.type === 'unicast' || r.type === 'local' || r.type === 'broadcast' || r.type === 'anycast' || r.type === 'multicast';
  if (needsHop && !r.nexthops.some((h) => h.dev || h.gateway)) {
    diag(diags, r.range!, 'route-no-nexthop', 'route without "dev" or "via"');
    return;
  }
  r.multipath = r.nexthops.length > 1 || r.multipath;
  out.push(r);
}

function parseNexthops(c: Cursor, r: Route, diags: Diagnostic[]): void {
  // `nexthop via A dev D weight W [onlink] nexthop ...` (several on one line in command form).
  let hop: Nexthop | undefined;
  while (!c.done) {
    const w = c.next()!;
    switch (w.value) {
      case 'nexthop':
        hop = { weight: 1, onlink: false, range: w.range };
        r.nexthops.push(hop);
        r.multipath = true;
        break;
      case 'via': case 'dev': case 'weight': case 'onlink': case 'dead': case 'linkdown': case 'pervasive': {
        if (!hop) { diag(diags, w.range, 'syntax', `"${w.value}" before "nexthop"`); break; }
        readHopWord(w, c, hop, diags);
        hop.range = { start: hop.range!.start, end: w.range.end };
        break;
      }
      default:
        diag(diags, w.range, 'unknown-keyword', `unknown nexthop keyword "${w.value}"`, 'warning');
    }
  }
}

function readHopWord(w: Word, c: Cursor, hop: Nexthop, diags: Diagnostic[]): void {
  switch (w.value) {
    case 'via': {
      let a = c.arg(w);
      if (a && (a.value === 'inet' || a.value === 'inet6')) a = c.arg(a);
      if (!a) return;
      const g = parseInetAddr(a.value);
      if (!g) diag(diags, a.range, 'bad-address', `bad gateway "${a.value}"`);
      else { hop.gateway = g; hop.gatewayText = a.value; }
      return;
    }
    case 'dev': case 'oif': { const a = c.arg(w); if (a) hop.dev = a.value; return; }
    case 'weight': {
      const a = c.arg(w);
      const n = a && parseNumber(a.value);
      if (a && (n === undefined || n < 1 || n > 256)) diag(diags, a.range, 'bad-number', `bad weight "${a.value}" (1..256)`);
      else if (a) hop.weight = n!;
      return;
    }
    case 'onlink': hop.onlink = true; return;
    default: return; // dead / linkdown / pervasive: flags of a kernel listing
  }
}

function parseRouteLine(l: WordLine, tables: RtTables, opts: IprouteParseOptions, diags: Diagnostic[]): Route | undefined {
  const cmd = stripCommand(l.words, ['route', 'r', 'ro', 'rou']);
  const c = new Cursor(cmd.words, diags);
  let type: RouteType = 'unicast';
  const t0 = c.peek();
  if (t0 && ROUTE_TYPES.has(t0.value as RouteType)) { type = t0.value as RouteType; c.next(); }
  if (c.peek()?.value === 'to') c.next();
  const dstWord = c.next();
  if (!dstWord) { diag(diags, l.range, 'route-destination', 'route without a destination'); return undefined; }
  const hop: Nexthop = { weight: 1, onlink: false };
  const r: Route = {
    family: cmd.family ?? opts.family ?? 'ip', type, dst: { family: 'ip', n: 0n, len: 0, text: dstWord.value }, table: opts.table ?? 254,
    nexthops: [], multipath: false, scope: -1, metric: -1, attrs: [], origin: 'parsed', range: l.range, text: lineText(l),
  };
  let srcWord: Word | undefined, scopeSet = false, v6hint = false;
  while (!c.done) {
    const w = c.next()!;
    const kw = w.value;
    if (kw === 'nexthop') { c.i--; parseNexthops(c, r, diags); break; }
    switch (kw) {
      case 'via': case 'dev': case 'oif': case 'weight': case 'onlink': readHopWord(w, c, hop, diags); break;
      case 'table': {
        const a = c.arg(w);
        if (!a) break;
        const n = resolveTable(a.value, tables);
        if (n === undefined) diag(diags, a.range, 'unknown-table', `table "${a.value}" is not in rt_tables`);
        else { r.table = n; r.tableText = a.value; }
        break;
      }
      case 'src': srcWord = c.arg(w); break;
      case 'scope': {
        const a = c.arg(w);
        if (!a) break;
        const n = SCOPES[a.value] ?? parseNumber(a.value);
        if (n === undefined || n > 255) diag(diags, a.range, 'bad-scope', `unknown scope "${a.value}"`);
        else { r.scope = n; scopeSet = true; }
        break;
      }
      case 'proto': case 'protocol': { const a = c.arg(w); if (a) r.proto = a.value; break; }
      case 'metric': case 'priority': case 'preference': {
        const a = c.arg(w);
        const n = a && parseU32(a.value);
        if (a && n === undefined) diag(diags, a.range, 'bad-number', `bad metric "${a.value}"`);
        else if (a) r.metric = n!;
        break;
      }
      case 'tos': case 'dsfield': {
        const a = c.arg(w);
        const n = a && parseNumber(a.value);
        if (a && (n === undefined || n > 255)) diag(diags, a.range, 'bad-number', `bad tos "${a.value}"`);
        else if (a) r.tos = n!;
        break;
      }
      case 'lock': break; // `mtu lock 1400`: the next word is read by mtu
      case 'from': { const a = c.arg(w); if (a) (r.unmodeled ??= []).push(`from ${a.value}`); break; } // IPv6 source-specific route
      default:
        if (ROUTE_FLAG_ATTRS.has(kw)) { r.attrs.push({ key: kw, value: '' }); break; }
        if (ROUTE_VALUE_ATTRS.has(kw)) {
          if (kw === 'pref') v6hint = true;
          let a = c.arg(w);
          if (a?.value === 'lock') a = c.arg(a);
          if (a) r.attrs.push({ key: kw, value: a.value });
          break;
        }
        (r.unmodeled ??= []).push(kw);
        diag(diags, w.range, 'unknown-keyword', `unknown ip route keyword "${kw}"`, 'warning');
    }
  }
  if (hop.gateway || hop.dev || hop.onlink) r.nexthops.unshift(hop);
  // The family: from the destination, else the gateway or source, else the `pref` hint (IPv6 only).
  const fam = parseInetPrefix(dstWord.value)?.family ?? r.nexthops.find((h) => h.gateway)?.gateway?.family
    ?? (srcWord && parseInetAddr(srcWord.value)?.family) ?? cmd.family ?? (v6hint ? 'ip6' : opts.family ?? 'ip');
  r.family = fam;
  const dst = parseInetPrefix(dstWord.value, fam);
  if (!dst) { diag(diags, dstWord.range, 'bad-address', `bad destination "${dstWord.value}"`); return undefined; }
  r.dst = dst;
  if (srcWord) {
    const s = parseInetAddr(srcWord.value);
    if (!s || s.family !== fam) diag(diags, srcWord.range, 'bad-address', `bad source "${srcWord.value}"`);
    else r.src = s;
  }
  for (const h of r.nexthops) {
    if (h.gateway && h.gateway.family !== fam && fam === 'ip6') diag(diags, l.range, 'family-mismatch', 'IPv4 gateway for an IPv6 route', 'warning');
  }
  if (r.metric < 0) r.metric = fam === 'ip6' && !cmd.command ? 0 : fam === 'ip6' ? 1024 : 0;
  if (!scopeSet) {
    // `ip route show` prints the scope unless it is global; the command form derives it like iproute2.
    if (cmd.command) {
      r.scope = type === 'local' || type === 'nat' ? 254
        : type === 'broadcast' || type === 'multicast' || type === 'anycast' ? 253
        : type === 'unicast' && !r.nexthops.some((h) => h.gateway) ? 253 : 0;
    } else r.scope = 0;
  }
  if (r.table === 255 && !r.tableText) r.tableText = 'local';
  return r;
}

// ---------------------------------------------------------------- ip addr / ip -br addr

function inferScope(a: { family: InetFamily; n: bigint }): number {
  if (a.family === 'ip') return (a.n >> 24n) === 127n ? 254 : 0;
  if (a.n === 1n) return 254;
  return (a.n >> 118n) === 0x3fan ? 253 : 0; // fe80::/10
}

export function parseAddrs(text: string, opts: { lineOffset?: number } = {}): Parsed<Interface[]> {
  const { lines, diagnostics } = readWordLines(text, opts.lineOffset ?? 0);
  const ifs: Interface[] = [];
  let cur: Interface | undefined;
  const newIf = (nameWord: Word, range: Range): Interface => {
    const raw = nameWord.value.replace(/:$/, '');
    const at = raw.indexOf('@');
    const i: Interface = { name: at < 0 ? raw : raw.slice(0, at), link: at < 0 ? undefined : raw.slice(at + 1), flags: [], up: true, addrs: [], range };
    ifs.push(i);
    return i;
  };
  for (const l of lines) {
    if (l.comment || !l.words.length) continue;
    const w = l.words;
    const head = w[0].value;
    if (/^\d+:$/.test(head)) {
      // `3: d0@p0: <BROADCAST,UP,LOWER_UP> mtu 1500 ... state UP ...`
      if (!w[1]) { diag(diagnostics, l.range, 'syntax', 'interface line without a name'); cur = undefined; continue; }
      cur = newIf(w[1], l.range);
      cur.index = Number(head.slice(0, -1));
      const fl = w[2] && /^<(.*)>$/.exec(w[2].value);
      cur.flags = fl ? fl[1].split(',').filter(Boolean) : [];
      cur.up = cur.flags.includes('UP');
      for (let i = 2; i < w.length - 1; i++) {
        if (w[i].value === 'mtu') cur.mtu = Number(w[i + 1].value);
        if (w[i].value === 'state') cur.state = w[i + 1].value;
      }
      continue;
    }
    if (head === 'inet' || head === 'inet6') {
      if (!cur) { diag(diagnostics, l.range, 'orphan-address', 'address line before any interface line'); continue; }
      const a = parseAddrLine(l, cur, diagnostics);
      if (a) cur.addrs.push(a);
      continue;
    }
    if (head.startsWith('link/') || head === 'valid_lft' || head === 'altname' || head === 'preferred_lft' || /^(vrf|veth|bridge|bond|vlan|vxlan|geneve|dummy|tun|ipip|gre)$/.test(head)) {
      if (!cur) diag(diagnostics, l.range, 'orphan-address', `"${head}" line before any interface line`, 'warning');
      continue;
    }
    if (l.indent > 0) { diag(diagnostics, w[0].range, 'unknown-keyword', `unknown ip addr line "${head}"`, 'warning'); continue; }
    // `ip -br addr`: NAME STATE ADDR/LEN ...
    cur = newIf(w[0], l.range);
    if (w[1]) { cur.state = w[1].value; cur.up = w[1].value !== 'DOWN'; }
    for (const aw of w.slice(2)) {
      const p = parseInetPrefix(aw.value, undefined, true);
      if (!p || !aw.value.includes('/')) { diag(diagnostics, aw.range, 'bad-address', `bad address "${aw.value}" (expected ADDR/LEN)`); continue; }
      const local = { family: p.family, n: p.n };
      const prefix = parseInetPrefix(aw.value, p.family)!;
      // The brief form drops "secondary": an address in a subnet the device already has is one.
      const secondary = cur.addrs.some((o) => o.family === p.family && o.prefix.len === p.len && prefixContains(o.prefix, local));
      cur.addrs.push({ family: p.family, local, prefix, scope: inferScope(local), secondary, range: aw.range, text: aw.value });
    }
    cur = undefined;
  }
  return { value: ifs, diagnostics };
}

function parseAddrLine(l: WordLine, iface: Interface, diags: Diagnostic[]): IfAddress | undefined {
  const w = l.words;
  const aw = w[1];
  if (!aw) { diag(diags, l.range, 'missing-value', 'address line without an address'); return undefined; }
  const p = parseInetPrefix(aw.value, undefined, true);
  if (!p) { diag(diags, aw.range, 'bad-address', `bad address "${aw.value}"`); return undefined; }
  const local = { family: p.family, n: p.n };
  const a: IfAddress = { family: p.family, local, prefix: parseInetPrefix(aw.value, p.family)!, scope: inferScope(local), secondary: false, range: aw.range, text: aw.value };
  for (let i = 2; i < w.length; i++) {
    const k = w[i].value;
    if (k === 'peer' && w[i + 1]) {
      const pp = parseInetPrefix(w[++i].value, p.family);
      if (pp) { a.peer = pp; a.prefix = pp; }
    } else if (k === 'brd' && w[i + 1]) {
      a.broadcast = parseInetAddr(w[++i].value);
    } else if (k === 'scope' && w[i + 1]) {
      const s = SCOPES[w[++i].value] ?? parseNumber(w[i].value);
      if (s !== undefined) a.scope = s;
    } else if (k === 'secondary') {
      a.secondary = true;
    } else if (k === 'noprefixroute') {
      a.noprefixroute = true;
    } else if (i === w.length - 1 && (k === iface.name || k.startsWith(iface.name + ':'))) {
      a.label = k;
    }
  }
  return a;
}
