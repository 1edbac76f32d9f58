// Editor features that follow marks into policy routing (issue 6), in editor terms (no LSP types):
//   routingHover       a mark in a ruleset → where it sends the packet (markRoute, per bit); an `ip rule`
//                      line → describeIpRule and the MARK rules that set its bits; a route line → the
//                      ip rules that look up its table; `--match-set NAME` → the ipset
//   routingDefinition  MARK write → the ip rules that read its bits, and back; `lookup N` → the table's
//                      routes; `goto P` → rule P; a route → the rules that look up its table;
//                      `--match-set NAME` → the set; a profile directive → its file
//   routingDiagnostics routingFindings and the parsers' diagnostics, per file of the profile
// The profile comes from findProfileForDocument (routing-profile.ts).
import { FULL, hex, u32 } from '../knowledge/marks';
import { defaultIpRules, tableLabel, type InetFamily, type IpRule, type Route } from '../model/routing';
import type { Diagnostic, Range } from '../model/ruleset';
import type { ProfileSource } from '../model/node-profile';
import { describeIpRule, markRoute, markWritesFromRuleset, routingFindings, writesForRule, type MarkWrite } from '../routing/mark-routing';
import { describeRoute } from '../routing/decision';
import { analyzeDocument, contains, ruleAtLine, type DocumentAnalysis } from './document';
import type { MarkOp } from './mark-index';
import { pathToUri, sourceUri, uriToPath, type RoutingContext } from './routing-profile';
import type { HoverResult, Location } from './types';

export interface RoutingDocument {
  uri: string;
  text: string;
  /** The ruleset analysis the language server already has (made here when missing). */
  analysis?: DocumentAnalysis;
}

const MAX_ROUTES_SHOWN = 6;
const MAX_LINKS = 12;

// ---------------------------------------------------------------- where things are

function samePath(a: string | undefined, b: string | undefined): boolean {
  return !!a && !!b && a === b;
}

/** Is `doc` the file `s` was read from (inline text: the profile)? */
function isSourceDoc(ctx: RoutingContext, s: ProfileSource, doc: RoutingDocument): boolean {
  const p = uriToPath(doc.uri);
  if (s.path) return samePath(uriToPath(s.path), p);
  return ctx.profilePath ? samePath(ctx.profilePath, p) : doc.uri === ctx.profileUri;
}

function isRulesetDoc(ctx: RoutingContext, doc: RoutingDocument): boolean {
  if (ctx.role === 'ruleset') return true;
  return !!ctx.profile.ruleset && isSourceDoc(ctx, ctx.profile.ruleset, doc);
}

function onLine(r: Range | undefined, line: number): boolean {
  return !!r && r.start.line <= line && line <= r.end.line;
}

function ruleAt(ctx: RoutingContext, doc: RoutingDocument, line: number): { rule: IpRule; source: ProfileSource } | undefined {
  for (const [s, rules] of ctx.index.rulesBySource) {
    if (!isSourceDoc(ctx, s, doc)) continue;
    const rule = rules.find((r) => onLine(r.range, line) && r.text);
    if (rule) return { rule, source: s };
  }
  return undefined;
}

function routeAt(ctx: RoutingContext, doc: RoutingDocument, line: number): { route: Route; source: ProfileSource } | undefined {
  for (const [s, routes] of ctx.index.routesBySource) {
    if (!isSourceDoc(ctx, s, doc)) continue;
    const route = routes.find((r) => onLine(r.range, line));
    if (route) return { route, source: s };
  }
  return undefined;
}

function ruleLocation(ctx: RoutingContext, r: IpRule): Location | undefined {
  const s = ctx.index.sourceOfRule.get(r);
  // The kernel's own rules added to `ip rule add` lines have no place in any file.
  if (!s || (r.range.start.line === 0 && r.range.end.line === 0 && r.range.end.character === 0)) return undefined;
  return { uri: sourceUri(ctx, s), range: r.range };
}

function rulesetUri(ctx: RoutingContext, doc?: RoutingDocument): string | undefined {
  if (doc && isRulesetDoc(ctx, doc)) return doc.uri;
  const p = ctx.profile.ruleset?.path;
  return p ? pathToUri(p) : undefined;
}

function link(label: string, loc: Location | undefined): string {
  return loc ? `[${label}](${loc.uri}#L${loc.range.start.line + 1})` : label;
}

function familyRules(ctx: RoutingContext, family: InetFamily): IpRule[] {
  const given = ctx.profile.routing.rules.filter((r) => r.family === family);
  return (given.length ? given : defaultIpRules(family)).slice().sort((a, b) => a.priority - b.priority);
}

function code(s: string): string {
  return '`' + s.replace(/`/g, "'") + '`';
}

function profileLabel(ctx: RoutingContext): string {
  const name = ctx.profilePath ? ctx.profilePath.split(/[\\/]/).pop()! : 'node profile';
  return `${link(name, { uri: ctx.profileUri, range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } } })}${ctx.profile.name ? ` (${ctx.profile.name})` : ''}`;
}

// ---------------------------------------------------------------- marks in the ruleset

function analysisOf(doc: RoutingDocument): DocumentAnalysis {
  return doc.analysis ?? analyzeDocument(doc.uri, doc.text);
}

/** The op under the cursor: its option or value, the MARK/CONNMARK target name, or the mark module. */
function opAt(a: DocumentAnalysis, line: number, ch: number): MarkOp | undefined {
  const ops = a.marks.byLine.get(line);
  if (!ops?.length) return undefined;
  const hit = ops.find((o) => contains(o.range, line, ch));
  if (hit) return hit;
  const ref = ruleAtLine(a, line);
  if (!ref) return undefined;
  for (const act of ref.rule.actions) {
    if (act.nameRange && contains(act.nameRange, line, ch)) return ops.find((o) => o.kind !== 'test' && contains(act.range, o.range.start.line, o.range.start.character));
  }
  for (const m of ref.rule.matches) {
    if (m.moduleRange && contains(m.moduleRange, line, ch)) return ops.find((o) => o.kind === 'test' && contains(m.range, o.range.start.line, o.range.start.character));
  }
  return undefined;
}

/** What the op leaves in (or asks of) the packet mark, as the bits routing sees. */
function opBits(op: MarkOp): MarkWrite | undefined {
  if (op.domain !== 'mark') return undefined;
  if (op.kind === 'xmark') {
    if (op.mask === 0) return { value: 0, mask: op.value, any: true };
    // Bits toggled outside the mask depend on the mark before: they stay unknown.
    return { value: u32(op.value & op.mask), mask: op.mask };
  }
  if (op.kind === 'restore') return { value: 0, mask: u32(op.nfmask & op.ctmask), any: true };
  if (op.kind === 'test' && !op.negated) return { value: u32(op.value & op.mask), mask: op.mask };
  return undefined;
}

function familiesOf(ctx: RoutingContext, a: DocumentAnalysis, line: number): InetFamily[] {
  const fam = ruleAtLine(a, line)?.table.family ?? a.ruleset.tables[0]?.family;
  if (fam === 'ip6') return ['ip6'];
  if (fam === 'inet' && ctx.profile.routing.rules.some((r) => r.family === 'ip6')) return ['ip', 'ip6'];
  return ['ip'];
}

function setBits(x: number): number[] {
  const out: number[] = [];
  for (let b = 0; b < 32; b++) if ((x >>> b) & 1) out.push(u32(1 << b));
  return out;
}

function markRouteLines(ctx: RoutingContext, w: MarkWrite, family: InetFamily, withReaders: boolean): string[] {
  const cfg = ctx.profile.routing;
  const mr = markRoute(cfg, w, family);
  const out = [code(mr.summary)];
  // Several bits written at once: where each would lead alone, for the ones some ip rule reads.
  const v = u32(w.value & w.mask);
  if (!w.any && w.mask !== FULL && setBits(v).length > 1) {
    const read = familyRules(ctx, family).reduce((acc, r) => u32(acc | (r.fwmark?.mask ?? 0)), 0);
    const each = setBits(v).filter((b) => (b & read) !== 0).map((b) => `- ${code(markRoute(cfg, { value: b, mask: b }, family).summary)}`);
    if (each.length) out.push('Each bit alone:\n' + each.join('\n'));
  }
  const t = mr.target;
  if (t && t.routes.length > 1) {
    const shown = t.routes.slice(0, MAX_ROUTES_SHOWN).map((r) => `- ${code(describeRoute(r))}${routeLoc(ctx, r) ? ` (${link('source', routeLoc(ctx, r))})` : ''}`);
    if (t.routes.length > MAX_ROUTES_SHOWN) shown.push(`- … ${t.routes.length - MAX_ROUTES_SHOWN} more`);
    out.push(`Table ${t.tableName ?? t.table} holds ${t.routes.length} routes (longest prefix first); the destination picks one:\n` + shown.join('\n'));
  }
  if (mr.caveats.length) out.push('Depends on the packet:\n' + mr.caveats.map((c) => `- ${c}`).join('\n'));
  if (withReaders && mr.readers.length) {
    const rs = mr.readers.slice(0, MAX_LINKS).map((r) => `- ${link(`ip rule ${r.rule.priority}`, ruleLocation(ctx, r.rule))} ${code(r.rule.fwmark!.text)}: ${r.verdict === 'matches' ? 'matches' : r.verdict === 'no' ? 'does not match' : 'depends'} (${r.why})`);
    out.push('ip rules that read the mark:\n' + rs.join('\n'));
  }
  return out;
}

function routeLoc(ctx: RoutingContext, r: Route): Location | undefined {
  const s = ctx.index.sourceOfRoute.get(r);
  return s && r.range ? { uri: sourceUri(ctx, s), range: r.range } : undefined;
}

function rulesetMarkHover(ctx: RoutingContext, doc: RoutingDocument, line: number, ch: number): HoverResult | undefined {
  const a = analysisOf(doc);
  const op = opAt(a, line, ch);
  if (!op) return setHover(ctx, a, line, ch);
  const head = `**Routing** — node profile ${profileLabel(ctx)}`;
  const fams = familiesOf(ctx, a, line);
  const parts: string[] = [head];
  const bits = opBits(op);
  if (bits) {
    if (op.kind === 'test') parts.push(`A packet that passes ${code(op.title)} carries mark bits ${hex(bits.value)}/${hex(bits.mask)}:`);
    else if (op.kind === 'restore') parts.push(`${code(op.title)} copies bits ${hex(bits.mask)} from the conntrack mark: any of them may be set.`);
    for (const f of fams) {
      if (fams.length > 1) parts.push(`**${f === 'ip' ? 'IPv4' : 'IPv6'}**`);
      parts.push(...markRouteLines(ctx, bits, f, true));
    }
  } else if (op.domain === 'ctmark' && op.kind !== 'test' && op.kind !== 'save') {
    // A conntrack mark reaches routing only through a --restore-mark.
    const restores = a.marks.ops.filter((o): o is Extract<MarkOp, { kind: 'restore' }> => o.kind === 'restore');
    if (!restores.length) parts.push('The conntrack mark does not steer routing: no CONNMARK --restore-mark (or `meta mark set ct mark`) in this file copies it into the packet mark.');
    for (const r of restores) {
      if (op.kind !== 'xmark') break;
      const copy = u32(r.nfmask & r.ctmask & op.mask);
      if (!copy) continue;
      parts.push(`After ${link(code(r.title), { uri: doc.uri, range: r.range })} copies it into the packet mark:`);
      for (const f of fams) parts.push(...markRouteLines(ctx, { value: u32(op.value & copy), mask: copy }, f, false));
    }
  } else if (op.kind === 'save') {
    parts.push('This copies the packet mark into the conntrack mark; the packet mark routing reads is left as it is.');
  } else if (op.kind === 'test' && op.negated) {
    const readers = familyRules(ctx, fams[0]).filter((r) => r.fwmark && (r.fwmark.mask & op.mask) !== 0);
    parts.push(`A negated test leaves many marks possible: no single route. ip rules that read these bits: ${readers.map((r) => link(`ip rule ${r.priority}`, ruleLocation(ctx, r))).join(', ') || 'none'}.`);
  } else return undefined;
  return { markdown: parts.join('\n\n'), range: op.range };
}

function setOptionAt(a: DocumentAnalysis, line: number, ch: number): { name: string; range: Range } | undefined {
  const ref = ruleAtLine(a, line);
  if (!ref) return undefined;
  for (const m of ref.rule.matches) {
    if (m.module !== 'set') continue;
    for (const o of m.options) {
      if (!/^-*match-set$/.test(o.name) || !contains(o.range, line, ch)) continue;
      const v = o.values[0];
      if (v) return { name: v.text, range: v.range };
    }
  }
  return undefined;
}

function setHover(ctx: RoutingContext, a: DocumentAnalysis, line: number, ch: number): HoverResult | undefined {
  const at = setOptionAt(a, line, ch);
  if (!at) return undefined;
  const set = ctx.profile.ipsetsByName.get(at.name);
  if (!set) return { markdown: `**ipset ${at.name}** — not in node profile ${profileLabel(ctx)}: membership is unknown to the walk.`, range: at.range };
  const members = set.members.slice(0, MAX_ROUTES_SHOWN).map((m) => `- ${code(m.text)}${m.nomatch ? ' (nomatch)' : ''}`);
  if (set.members.length > MAX_ROUTES_SHOWN) members.push(`- … ${set.members.length - MAX_ROUTES_SHOWN} more`);
  const loc = setLocation(ctx, set.name);
  return {
    markdown: [`**ipset ${link(set.name, loc)}** — ${set.type}${set.known ? '' : ' (a type not modelled: membership unknown)'}, ${set.members.length} member${set.members.length === 1 ? '' : 's'} (node profile ${profileLabel(ctx)})`, members.join('\n')].filter(Boolean).join('\n\n'),
    range: at.range,
  };
}

function setLocation(ctx: RoutingContext, name: string): Location | undefined {
  for (const [s, sets] of ctx.index.ipsetsBySource) {
    const set = sets.find((x) => x.name === name);
    if (set) return { uri: sourceUri(ctx, s), range: set.nameRange ?? set.range ?? s.range };
  }
  return undefined;
}

// ---------------------------------------------------------------- ip rule and route files

function writeLocation(ctx: RoutingContext, w: MarkWrite, doc?: RoutingDocument): Location | undefined {
  const uri = rulesetUri(ctx, doc);
  return uri && w.range ? { uri, range: w.range } : undefined;
}

function rulesetLine(ctx: RoutingContext, line: number): string {
  return (ctx.profile.ruleset?.text.split('\n', line + 1)[line] ?? '').trim();
}

function ipRuleHover(ctx: RoutingContext, rule: IpRule): HoverResult {
  const lines = describeIpRule(ctx.profile.routing, rule);
  const parts = [`**${lines[0]}**`];
  const rest = lines.slice(1);
  const body: string[] = [];
  for (const l of rest) body.push(l.startsWith('  ') ? `- ${code(l.trim())}` : l);
  if (body.length) parts.push(body.join('\n'));
  if (rule.fwmark) {
    const writes = ctx.index.writes;
    if (!writes) parts.push('No ruleset in the node profile: who sets the mark is not known.');
    else {
      const ws = writesForRule(rule, writes);
      if (!ws.length) parts.push(`No rule of the ruleset sets mark bits ${code(rule.fwmark.text)}.`);
      else {
        const items = ws.slice(0, MAX_LINKS).map((w) => `- ${link(`line ${w.range!.start.line + 1}`, writeLocation(ctx, w))}: ${code(rulesetLine(ctx, w.range!.start.line))}`);
        if (ws.length > MAX_LINKS) items.push(`- … ${ws.length - MAX_LINKS} more`);
        parts.push(`Mark bits set by ${ws.length} rule${ws.length === 1 ? '' : 's'} of the ruleset:\n` + items.join('\n'));
      }
    }
  }
  return { markdown: parts.join('\n\n'), range: rule.range };
}

function rulesLookingUp(ctx: RoutingContext, family: InetFamily, table: number): IpRule[] {
  return familyRules(ctx, family).filter((r) => r.action === 'lookup' && r.table === table);
}

function routeHover(ctx: RoutingContext, route: Route): HoverResult {
  const name = tableLabel(route.table, ctx.profile.routing.tables);
  const rules = rulesLookingUp(ctx, route.family, route.table);
  const parts = [`**${code(describeRoute(route))}** — table ${name}`];
  if (!rules.length) parts.push(`No ip rule looks up table ${name}: this route is never used.`);
  else {
    const items = rules.map((r) => {
      const sel = r.text.replace(/^\s*\d+:\s*/, '').replace(/\s+/g, ' ').trim();
      return `- ${link(`ip rule ${r.priority}`, ruleLocation(ctx, r))}: ${code(sel)}`;
    });
    parts.push(`Looked up by:\n` + items.join('\n'));
    const marked = rules.filter((r) => r.fwmark && ctx.index.writes);
    for (const r of marked) {
      const ws = writesForRule(r, ctx.index.writes!);
      parts.push(`ip rule ${r.priority} needs ${code(r.fwmark!.text)}: ${ws.length ? `set at ${ws.slice(0, MAX_LINKS).map((w) => link(`line ${w.range!.start.line + 1}`, writeLocation(ctx, w))).join(', ')} of the ruleset` : 'no rule of the ruleset sets it'}.`);
    }
  }
  return { markdown: parts.join('\n\n'), range: route.range! };
}

/** A profile directive: what its file gave the profile. */
function directiveHover(ctx: RoutingContext, line: number): HoverResult | undefined {
  const s = ctx.profile.sources.find((x) => x.range.start.line === line);
  if (!s) return undefined;
  const i = ctx.index;
  const what = s.kind === 'ip-rule' ? `${i.rulesBySource.get(s)?.length ?? 0} ip rules`
    : s.kind === 'ip-route' ? `${i.routesBySource.get(s)?.length ?? 0} routes${s.table !== undefined ? ` of table ${tableLabel(s.table, ctx.profile.routing.tables)}` : ''}`
    : s.kind === 'ipset' ? `sets ${(i.ipsetsBySource.get(s) ?? []).map((x) => `${x.name} (${x.members.length})`).join(', ') || 'none'}`
    : s.kind === 'ruleset' ? `the ruleset (${i.writes?.length ?? 0} mark writes)`
    : s.kind === 'ip-addr' ? `${ctx.profile.routing.interfaces.length} interfaces in all` : 'table names';
  const problems = s.diagnostics.length ? `; ${s.diagnostics.length} problem${s.diagnostics.length === 1 ? '' : 's'} in it` : '';
  const file = s.path ? link(s.path.split(/[\\/]/).pop()!, { uri: sourceUri(ctx, s), range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } } }) : 'inline text';
  return { markdown: `**${s.kind}** ${file}: ${what}${problems}.`, range: s.range };
}

// ---------------------------------------------------------------- the entry points

/** Hover for a document of a node profile (the ruleset, an ip rule / route file, the profile itself). */
export function routingHover(ctx: RoutingContext, doc: RoutingDocument, line: number, character: number): HoverResult | undefined {
  try {
    if (isRulesetDoc(ctx, doc)) return rulesetMarkHover(ctx, doc, line, character);
    const r = ruleAt(ctx, doc, line);
    if (r) return ipRuleHover(ctx, r.rule);
    const rt = routeAt(ctx, doc, line);
    if (rt && rt.route.range) return routeHover(ctx, rt.route);
    if (ctx.role === 'profile') return directiveHover(ctx, line);
    return undefined;
  } catch {
    return undefined;
  }
}

function writeAt(doc: RoutingDocument, line: number, ch: number): MarkWrite | undefined {
  const a = analysisOf(doc);
  const ref = a.marks.byLine.has(line) ? ruleAtLine(a, line) : undefined;
  if (!ref) return undefined;
  // Only the rule under the cursor: a 150 000-line dump is not walked for one request.
  const one = { ...a.ruleset, tables: [{ ...ref.table, chains: [{ ...ref.chain, rules: [ref.rule] }] }] };
  return markWritesFromRuleset(one).find((w) => w.range && contains(w.range, line, ch));
}

/**
 * Go to definition: a MARK write → the ip rules that read its bits; an ip rule → the ruleset rules that
 * write its fwmark bits (on `lookup N`: the table's routes; on `goto P`: rule P); a route → the rules
 * that look up its table; `--match-set NAME` → the set; a profile directive → its file.
 */
export function routingDefinition(ctx: RoutingContext, doc: RoutingDocument, line: number, character: number): Location[] {
  try {
    if (isRulesetDoc(ctx, doc)) {
      const w = writeAt(doc, line, character);
      if (w) {
        const fams = familiesOf(ctx, analysisOf(doc), line);
        return familyRules(ctx, fams[0]).filter((r) => r.fwmark && writesForRule(r, [w]).length).map((r) => ruleLocation(ctx, r)).filter((l): l is Location => !!l);
      }
      const s = setOptionAt(analysisOf(doc), line, character);
      const loc = s && setLocation(ctx, s.name);
      return loc ? [loc] : [];
    }
    const r = ruleAt(ctx, doc, line);
    if (r) {
      const rule = r.rule;
      if (rule.tableRange && contains(rule.tableRange, line, character)) {
        if (rule.action === 'goto') {
          const t = familyRules(ctx, rule.family).find((x) => x.priority === rule.gotoTarget);
          const l = t && ruleLocation(ctx, t);
          return l ? [l] : [];
        }
        if (rule.action === 'lookup' && rule.table !== undefined) {
          return ctx.profile.routing.routes.filter((x) => x.family === rule.family && x.table === rule.table).map((x) => routeLoc(ctx, x)).filter((l): l is Location => !!l).slice(0, 50);
        }
      }
      if (rule.fwmark && ctx.index.writes) return writesForRule(rule, ctx.index.writes).map((w) => writeLocation(ctx, w)).filter((l): l is Location => !!l);
      return [];
    }
    const rt = routeAt(ctx, doc, line);
    if (rt) return rulesLookingUp(ctx, rt.route.family, rt.route.table).map((x) => ruleLocation(ctx, x)).filter((l): l is Location => !!l);
    if (ctx.role === 'profile') {
      const s = ctx.profile.sources.find((x) => x.path && onLine(x.range, line) && contains(x.range, line, character));
      if (s?.path) return [{ uri: pathToUri(s.path), range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } } }];
    }
    return [];
  } catch {
    return [];
  }
}

export interface FileDiagnostics {
  uri: string;
  /** File path (undefined for an unsaved profile). */
  path?: string;
  diagnostics: Diagnostic[];
}

/**
 * Diagnostics for every file of the profile except the ruleset (whose own analysis has its problems):
 * the profile (its directives and inline text), each ip rule / route / address / ipset / rt_tables file
 * (parser problems), and routingFindings (fwmark-never-set, lookup-empty-table, goto-missing-priority)
 * on the ip rule files. Every file gets an entry, empty when clean, so stale problems can be cleared.
 */
export function routingDiagnostics(ctx: RoutingContext): FileDiagnostics[] {
  const byUri = new Map<string, FileDiagnostics>();
  const entry = (uri: string, path?: string) => {
    let e = byUri.get(uri);
    if (!e) byUri.set(uri, (e = { uri, path, diagnostics: [] }));
    e.path ??= path;
    return e;
  };
  const profileEntry = entry(ctx.profileUri, ctx.profilePath);
  // Loops, not push(...): 200 000 diagnostics in one ipset file overflowed the stack.
  for (const d of ctx.profile.diagnostics) profileEntry.diagnostics.push(d);
  for (const s of ctx.profile.sources) {
    if (s.kind === 'ruleset' || !s.path) continue;
    const e = entry(sourceUri(ctx, s), s.path);
    for (const d of s.diagnostics) e.diagnostics.push(d);
  }
  try {
    // Findings carry the range objects of their rules: that tells which file each one is in.
    const where = new Map<Range, ProfileSource>();
    for (const [s, rules] of ctx.index.rulesBySource) {
      for (const r of rules) {
        where.set(r.range, s);
        if (r.tableRange) where.set(r.tableRange, s);
        if (r.fwmark) where.set(r.fwmark.range, s);
      }
    }
    for (const d of routingFindings(ctx.profile.routing, ctx.index.writes)) {
      const s = where.get(d.range);
      if (s) entry(sourceUri(ctx, s), s.path).diagnostics.push(d);
    }
  } catch (e) {
    profileEntry.diagnostics.push({ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, severity: 'error', code: 'internal-error', message: `routing findings failed: ${(e as Error)?.message ?? e}` });
  }
  return [...byUri.values()];
}
