// The node profile's own languages in the editor (ip rule, ip route, ip addr, rt_tables, ipset, the
// `.nflens-node` file): what kind of file a document is, its outline, and its parser diagnostics when
// it stands alone (a file that is part of a profile gets them from routingDiagnostics instead).
import { basename } from 'node:path';
import type { Diagnostic, Range } from '../model/ruleset';
import { formatInetPrefix, tableLabel, type InetFamily, type Route, type RtTables } from '../model/routing';
import { loadNodeProfile, type ProfileSource, type ProfileSourceKind } from '../model/node-profile';
import { parseAddrs, parseIpRoutes, parseIpRules, parseRtTables } from '../syntax/iproute-parser';
import { parseIpsets } from '../syntax/ipset-parser';
import { describeRoute } from '../routing/decision';
import type { SymbolItem } from './types';

export type RoutingFileKind = Exclude<ProfileSourceKind, 'ruleset'> | 'profile';

export interface RoutingParseOptions {
  family?: InetFamily;
  /** `ip route show table N` output: the table the routes belong to (default main). */
  table?: number;
  tables?: RtTables;
  /** For a profile: where it lives (relative file names) and how to read them. */
  path?: string;
  readFile?: (path: string) => string | undefined;
}

/** The language ids of package.json `contributes.languages` for these files. */
export const ROUTING_LANGUAGE_IDS = ['iproute', 'ipset', 'nflens-node'] as const;

/**
 * What a routing file holds: from its name when that tells (`*.nflens-node`, `rt_tables`, `ip-rule*`,
 * `ip-route*`, `ip-addr*`, `*.ipset`, `ipset*`), else from its first line of content. `languageId`
 * (iproute, ipset, nflens-node) settles the family of formats when the content does not.
 */
export function detectRoutingFileKind(text: string, path?: string, languageId?: string): RoutingFileKind {
  const name = path ? basename(path).toLowerCase() : '';
  if (name.endsWith('.nflens-node') || languageId === 'nflens-node') return 'profile';
  if (name === 'rt_tables' || /^rt[_-]tables/.test(name)) return 'rt-tables';
  if (/^ip[_-]?rules?\b/.test(name)) return 'ip-rule';
  if (/^ip[_-]?routes?\b/.test(name)) return 'ip-route';
  if (/^ip[_-]?addr/.test(name)) return 'ip-addr';
  if (name.endsWith('.ipset') || /^ipsets?\b/.test(name) || languageId === 'ipset') return 'ipset';
  const first = text.split('\n', 200).map((l) => l.trim()).find((l) => l && !l.startsWith('#')) ?? '';
  if (/^(create|add|-N|-A)\s+\S+/.test(first) || /^Name:\s/.test(first)) return 'ipset';
  if (/^\d+:\s+(not\s+)?(from|to|iif|oif|fwmark|tos|dsfield|ipproto|sport|dport|uidrange|lookup|goto|blackhole|unreachable|prohibit|nop|l3mdev)\b/.test(first) || /^ip\s+(-[46]\s+)?rule\s/.test(first)) return 'ip-rule';
  if (/^\d+:\s+\S+:\s+</.test(first) || /^\S+\s+(UP|DOWN|UNKNOWN|LOWERLAYERDOWN|DORMANT|NOTPRESENT)(\s|$)/.test(first)) return 'ip-addr';
  if (/^(0x[0-9a-f]+|\d+)\s+[A-Za-z_][\w.-]*\s*$/i.test(first)) return 'rt-tables';
  return 'ip-route';
}

function union(a: Range, b: Range): Range {
  const start = a.start.line < b.start.line || (a.start.line === b.start.line && a.start.character <= b.start.character) ? a.start : b.start;
  const end = a.end.line > b.end.line || (a.end.line === b.end.line && a.end.character >= b.end.character) ? a.end : b.end;
  return { start, end };
}

function routeSymbols(routes: Route[], tables?: RtTables): SymbolItem[] {
  const byTable = new Map<string, Route[]>();
  for (const r of routes) {
    if (!r.range) continue;
    const k = `${r.family}/${r.table}`;
    const l = byTable.get(k);
    if (l) l.push(r);
    else byTable.set(k, [r]);
  }
  const out: SymbolItem[] = [];
  for (const list of byTable.values()) {
    const children = list.map((r) => ({ name: describeRoute(r) || formatInetPrefix(r.dst), detail: [r.proto && `proto ${r.proto}`, r.metric ? `metric ${r.metric}` : ''].filter(Boolean).join(', ') || undefined, kind: 'rule' as const, range: r.range!, selectionRange: r.range!, children: [] }));
    const range = children.map((c) => c.range).reduce(union);
    const fam = list[0].family === 'ip6' ? ' (IPv6)' : '';
    out.push({ name: `table ${tableLabel(list[0].table, tables)}${fam}`, detail: `${list.length} route${list.length === 1 ? '' : 's'}`, kind: 'table', range, selectionRange: children[0].range, children });
  }
  return out;
}

function symbolsOf(kind: Exclude<RoutingFileKind, 'profile'>, text: string, opts: RoutingParseOptions, lineOffset?: number): SymbolItem[] {
  switch (kind) {
    case 'ip-rule':
      return parseIpRules(text, { family: opts.family, tables: opts.tables, lineOffset }).value
        .filter((r) => r.text && !(r.range.start.line === 0 && r.range.end.character === 0))
        .map((r) => ({ name: String(r.priority), detail: r.text.replace(/^\s*\d+:\s*/, '').replace(/\s+/g, ' ').trim(), kind: 'rule' as const, range: r.range, selectionRange: r.priorityRange ?? r.range, children: [] }));
    case 'ip-route':
      return routeSymbols(parseIpRoutes(text, { family: opts.family, tables: opts.tables, table: opts.table, lineOffset }).value, opts.tables);
    case 'ip-addr':
      return parseAddrs(text, { lineOffset }).value.filter((i) => i.range).map((i) => {
        const children = i.addrs.filter((a) => a.range).map((a) => ({ name: `${a.family === 'ip' ? 'inet' : 'inet6'} ${a.prefix.text}`, detail: a.secondary ? 'secondary' : undefined, kind: 'variable' as const, range: a.range!, selectionRange: a.range!, children: [] }));
        const range = children.reduce((acc, c) => union(acc, c.range), i.range!);
        return { name: i.name, detail: [i.up ? 'UP' : 'DOWN', i.state && i.state !== (i.up ? 'UP' : 'DOWN') ? i.state : ''].filter(Boolean).join(' '), kind: 'table' as const, range, selectionRange: i.range!, children };
      });
    case 'rt-tables':
      return parseRtTables(text, { lineOffset }).value.entries.map((e) => ({ name: e.name, detail: `table ${e.id}`, kind: 'variable' as const, range: e.range, selectionRange: e.range, children: [] }));
    case 'ipset':
      return parseIpsets(text, { lineOffset }).value.filter((s) => s.range).map((s) => ({ name: s.name, detail: `${s.type || 'unknown type'}, ${s.members.length} member${s.members.length === 1 ? '' : 's'}`, kind: 'set' as const, range: s.range!, selectionRange: s.nameRange ?? s.range!, children: [] }));
  }
}

function profileSourceEnd(s: ProfileSource): Range {
  if (s.inlineLine === undefined) return s.range;
  const lines = s.text.split('\n').length;
  // Through the closing word of the inline text.
  return { start: s.range.start, end: { line: s.inlineLine + lines, character: 0 } };
}

/** The outline of a routing document; never throws. */
export function routingDocumentSymbols(kind: RoutingFileKind, text: string, opts: RoutingParseOptions = {}): SymbolItem[] {
  try {
    if (kind !== 'profile') return symbolsOf(kind, text, opts);
    // Every directive is listed, readable or not: files are not read here (an empty text stands in).
    const p = loadNodeProfile(text.includes('\n') ? text : text + '\n', () => '', { path: opts.path });
    return p.sources.map((s) => {
      const label = s.path ? basename(s.path) : 'inline';
      const children = s.inlineLine !== undefined && s.kind !== 'ruleset'
        ? symbolsOf(s.kind, s.text, { family: s.family, table: s.table, tables: p.routing.tables }, s.inlineLine)
        : [];
      return { name: `${s.kind} ${label}`, detail: s.table !== undefined ? `table ${tableLabel(s.table, p.routing.tables)}` : s.family === 'ip6' ? 'IPv6' : undefined, kind: 'variable' as const, range: profileSourceEnd(s), selectionRange: s.range, children };
    });
  } catch {
    return [];
  }
}

/** Parser diagnostics of a routing document on its own (not part of a profile); never throws. */
export function routingParseDiagnostics(kind: RoutingFileKind, text: string, opts: RoutingParseOptions = {}): Diagnostic[] {
  try {
    switch (kind) {
      case 'ip-rule': return parseIpRules(text, opts).diagnostics;
      case 'ip-route': return parseIpRoutes(text, opts).diagnostics;
      case 'ip-addr': return parseAddrs(text).diagnostics;
      case 'rt-tables': return parseRtTables(text).diagnostics;
      case 'ipset': return parseIpsets(text).diagnostics;
      case 'profile': return loadNodeProfile(text.includes('\n') ? text : text + '\n', opts.readFile, { path: opts.path }).diagnostics;
    }
  } catch (e) {
    return [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, severity: 'error', code: 'internal-error', message: String((e as Error)?.message ?? e) }];
  }
}
