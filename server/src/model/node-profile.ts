// The node profile: one small file (`*.nflens-node`) that ties one host's state together — its
// ruleset, `ip rule`, routes per table, addresses, ipsets — so the walk can take the routing decision
// and set contents from it. Format (docs/node-profile.md): one directive per line, `#` comments;
// a file argument is a path relative to the profile or `<<WORD` followed by inline text up to a line
// holding only WORD.
//
//   node NAME
//   ruleset FILE
//   rt-tables FILE
//   ip-rule [-4|-6] FILE
//   ip-route [-4|-6] [table ID|NAME] FILE
//   ip-addr FILE
//   ipset FILE
//   forwarding on|off
//
// A ruleset can point at its profile with a comment line `# nflens-node: PATH` (findNodeProfileRef).
import { dirname, isAbsolute, join } from 'node:path';
import type { Diagnostic, Range } from './ruleset';
import { defaultRtTables, type InetFamily, type Interface, type IpRule, type Route, type RoutingConfig, type RtTables } from './routing';
import type { Ipset } from './ipset';
import { readWordLines, type Word } from '../syntax/iproute-lexer';
import { parseAddrs, parseIpRoutes, parseIpRules, parseRtTables } from '../syntax/iproute-parser';
import { parseIpsets } from '../syntax/ipset-parser';

export type ProfileSourceKind = 'ruleset' | 'rt-tables' | 'ip-rule' | 'ip-route' | 'ip-addr' | 'ipset';

export interface ProfileSource {
  kind: ProfileSourceKind;
  /** Resolved path of the file, or undefined for inline text. */
  path?: string;
  /** The file's text (inline text included). */
  text: string;
  /** For inline text: its first line in the profile (diagnostics are already in profile coordinates). */
  inlineLine?: number;
  /** The directive in the profile. */
  range: Range;
  /** Diagnostics in the source's own coordinates (profile coordinates for inline text). */
  diagnostics: Diagnostic[];
  family?: InetFamily;
  table?: number;
}

export interface NodeProfile {
  path?: string;
  name?: string;
  /** The ruleset text and where it came from (the caller parses it: iptables or nft). */
  ruleset?: ProfileSource;
  routing: RoutingConfig;
  ipsets: Ipset[];
  /** Sets by name (for list:set and the walk's `-m set`). */
  ipsetsByName: Map<string, Ipset>;
  sources: ProfileSource[];
  /** Diagnostics of the profile file itself (unknown directives, missing files ...). */
  diagnostics: Diagnostic[];
}

export type ReadFile = (path: string) => string | undefined;

const KINDS = new Set<string>(['ruleset', 'rt-tables', 'ip-rule', 'ip-route', 'ip-addr', 'ipset']);

interface Directive {
  kind: ProfileSourceKind;
  words: Word[];
  range: Range;
  file?: Word;
  inline?: { text: string; line: number };
  family?: InetFamily;
  tableWord?: Word;
}

/**
 * Reads a node profile. `pathOrText`: a path (no line break) read with `readFile`, or the profile text
 * itself (then `opts.path` tells where it lives, for relative file names). Never throws.
 */
export function loadNodeProfile(pathOrText: string, readFile?: ReadFile, opts: { path?: string } = {}): NodeProfile {
  const diagnostics: Diagnostic[] = [];
  let path = opts.path;
  let text = pathOrText;
  if (!pathOrText.includes('\n') && readFile && !/\s(ruleset|ip-rule|ip-route|ip-addr|ipset|node)\b/.test(' ' + pathOrText)) {
    path = pathOrText;
    const t = safeRead(readFile, path);
    if (t === undefined) {
      diagnostics.push({ range: zero(), severity: 'error', code: 'file-not-found', message: `cannot read node profile "${path}"` });
      text = '';
    } else text = t;
  }
  const base = path ? dirname(path) : '.';
  const profile: NodeProfile = {
    path,
    routing: { rules: [], routes: [], interfaces: [], tables: defaultRtTables(), forwarding: true },
    ipsets: [],
    ipsetsByName: new Map(),
    sources: [],
    diagnostics,
  };
  const directives = readDirectives(text, profile, diagnostics);

  const load = (d: Directive): ProfileSource | undefined => {
    if (d.inline) return { kind: d.kind, text: d.inline.text, inlineLine: d.inline.line, range: d.range, diagnostics: [], family: d.family };
    if (!d.file) { diagnostics.push({ range: d.range, severity: 'error', code: 'missing-value', message: `"${d.kind}" needs a file name or <<WORD inline text` }); return undefined; }
    const p = isAbsolute(d.file.value) ? d.file.value : join(base, d.file.value);
    const t = readFile ? safeRead(readFile, p) : undefined;
    if (t === undefined) {
      diagnostics.push({ range: d.file.range, severity: 'error', code: 'file-not-found', message: `cannot read "${p}"` });
      return undefined;
    }
    return { kind: d.kind, path: p, text: t, range: d.range, diagnostics: [], family: d.family };
  };

  // rt_tables first: rules and routes may name tables.
  let tables: RtTables = defaultRtTables();
  for (const d of directives.filter((x) => x.kind === 'rt-tables')) {
    const s = load(d);
    if (!s) continue;
    const r = parseRtTables(s.text, { lineOffset: s.inlineLine });
    s.diagnostics = r.diagnostics;
    for (const e of r.value.entries) { tables.byName.set(e.name, e.id); tables.byId.set(e.id, e.name); tables.entries.push(e); }
    profile.sources.push(s);
  }
  profile.routing.tables = tables;
  const rules: IpRule[] = [], routes: Route[] = [], ifs: Interface[] = [];
  for (const d of directives) {
    if (d.kind === 'rt-tables') continue;
    const s = load(d);
    if (!s) continue;
    const lineOffset = s.inlineLine;
    switch (d.kind) {
      case 'ruleset':
        if (profile.ruleset) diagnostics.push({ range: d.range, severity: 'error', code: 'duplicate-directive', message: 'only one ruleset per node' });
        else profile.ruleset = s;
        break;
      case 'ip-rule': {
        const r = parseIpRules(s.text, { family: d.family, tables, lineOffset });
        s.diagnostics = r.diagnostics;
        for (const x of r.value) rules.push(x); // loops, not push(...): a full BGP table is ~1 000 000 routes
        break;
      }
      case 'ip-route': {
        let table: number | undefined;
        if (d.tableWord) {
          table = /^\d+$/.test(d.tableWord.value) ? Number(d.tableWord.value) : tables.byName.get(d.tableWord.value);
          if (table === undefined) { diagnostics.push({ range: d.tableWord.range, severity: 'error', code: 'unknown-table', message: `table "${d.tableWord.value}" is not in rt_tables` }); break; }
          s.table = table;
        }
        const r = parseIpRoutes(s.text, { family: d.family, tables, table, lineOffset });
        s.diagnostics = r.diagnostics;
        for (const x of r.value) routes.push(x);
        break;
      }
      case 'ip-addr': {
        const r = parseAddrs(s.text, { lineOffset });
        s.diagnostics = r.diagnostics;
        for (const x of r.value) ifs.push(x);
        break;
      }
      case 'ipset': {
        const r = parseIpsets(s.text, { lineOffset });
        s.diagnostics = r.diagnostics;
        for (const set of r.value) {
          if (profile.ipsetsByName.has(set.name)) s.diagnostics.push({ range: set.nameRange ?? d.range, severity: 'error', code: 'duplicate-set', message: `set "${set.name}" is defined twice` });
          else { profile.ipsets.push(set); profile.ipsetsByName.set(set.name, set); }
        }
        break;
      }
    }
    profile.sources.push(s);
  }
  profile.routing.rules = rules;
  profile.routing.routes = routes;
  profile.routing.interfaces = ifs;
  // Inline sources report in the profile's coordinates: surface them with the profile's own.
  for (const s of profile.sources) if (s.inlineLine !== undefined) for (const d of s.diagnostics) diagnostics.push(d);
  return profile;
}

function readDirectives(text: string, profile: NodeProfile, diags: Diagnostic[]): Directive[] {
  const out: Directive[] = [];
  // Heredoc bodies are raw text: cut them out before reading words.
  const rawLines = text.split('\n');
  const skip = new Set<number>();
  const heredocs = new Map<number, { text: string; line: number }>();
  for (let i = 0; i < rawLines.length; i++) {
    const m = /<<\s*['"]?([A-Za-z_][A-Za-z0-9_]*)['"]?\s*$/.exec(rawLines[i].replace(/\r$/, ''));
    if (!m || /^\s*#/.test(rawLines[i])) continue;
    let j = i + 1;
    while (j < rawLines.length && rawLines[j].replace(/\r$/, '').trim() !== m[1]) j++;
    if (j >= rawLines.length) {
      diags.push({ range: { start: { line: i, character: m.index }, end: { line: i, character: rawLines[i].length } }, severity: 'error', code: 'unterminated-inline', message: `no line "${m[1]}" ends this inline text` });
    }
    heredocs.set(i, { text: rawLines.slice(i + 1, j).join('\n'), line: i + 1 });
    for (let k = i + 1; k <= j && k < rawLines.length; k++) skip.add(k);
    i = j;
  }
  const blanked = rawLines.map((l, i) => (skip.has(i) ? '' : l)).join('\n');
  const { lines } = readWordLines(blanked);
  for (const l of lines) {
    if (l.comment || !l.words.length) continue;
    const [k, ...args] = l.words;
    if (k.value === 'node') { profile.name = args.map((a) => a.value).join(' '); continue; }
    if (k.value === 'forwarding') {
      const v = args[0]?.value;
      if (v === 'on' || v === '1' || v === 'yes') profile.routing.forwarding = true;
      else if (v === 'off' || v === '0' || v === 'no') profile.routing.forwarding = false;
      else diags.push({ range: args[0]?.range ?? k.range, severity: 'error', code: 'bad-value', message: 'forwarding takes on or off' });
      continue;
    }
    if (!KINDS.has(k.value)) {
      diags.push({ range: k.range, severity: 'error', code: 'unknown-directive', message: `unknown directive "${k.value}" (expected node, ruleset, rt-tables, ip-rule, ip-route, ip-addr, ipset, forwarding)` });
      continue;
    }
    const d: Directive = { kind: k.value as ProfileSourceKind, words: l.words, range: l.range };
    let i = 0;
    for (; i < args.length; i++) {
      const a = args[i].value;
      if ((a === '-4' || a === '-6') && (d.kind === 'ip-rule' || d.kind === 'ip-route')) d.family = a === '-6' ? 'ip6' : 'ip';
      else if (a === 'table' && d.kind === 'ip-route' && args[i + 1]) d.tableWord = args[++i];
      else break;
    }
    const rest = args.slice(i);
    const h = heredocs.get(l.line);
    if (h) d.inline = h;
    else {
      d.file = rest[0];
      if (rest.length > 1) diags.push({ range: { start: rest[1].range.start, end: rest[rest.length - 1].range.end }, severity: 'error', code: 'syntax', message: 'one file per directive' });
    }
    out.push(d);
  }
  return out;
}

function safeRead(readFile: ReadFile, p: string): string | undefined {
  try {
    return readFile(p);
  } catch {
    return undefined;
  }
}

function zero(): Range {
  return { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
}

/** `# nflens-node: PATH` in a ruleset's comment lines (first 50 lines): the profile it belongs to. */
export function findNodeProfileRef(rulesetText: string): { path: string; range: Range } | undefined {
  const lines = rulesetText.split('\n', 50);
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*#\s*nflens-node:\s*)(\S+)/.exec(lines[i]);
    if (m) return { path: m[2], range: { start: { line: i, character: m[1].length }, end: { line: i, character: m[1].length + m[2].length } } };
  }
  return undefined;
}
