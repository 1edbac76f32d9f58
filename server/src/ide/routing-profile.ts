// Finding the node profile (`*.nflens-node`, docs/node-profile.md) an editor document belongs to, and
// the indexes the routing IDE features query: which profile source each ip rule / route / ipset came
// from, and the MARK writes of the profile's ruleset. Never throws: a missing or broken profile is a
// diagnostic on the document (on its `# nflens-node:` comment when it has one).
//
// File access is injected (ProfileFs) so the language server can overlay open documents; the default
// is the disk. Loaded profiles are cached by path and by the stamps (mtime or document version) of the
// profile and of every file it read, so a hover re-reads nothing until one of them changes.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Diagnostic, Range } from '../model/ruleset';
import type { IpRule, Route } from '../model/routing';
import type { Ipset } from '../model/ipset';
import { findNodeProfileRef, loadNodeProfile, type ProfileSourceKind as SourceKind, type NodeProfile, type ProfileSource, type ProfileSourceKind } from '../model/node-profile';
import { parseAddrs, parseIpRoutes, parseIpRules, parseRtTables } from '../syntax/iproute-parser';
import { defaultRtTables } from '../model/routing';
import { parseIpsets } from '../syntax/ipset-parser';
import { parseRuleset } from '../parse';
import { markWritesFromRuleset, type MarkWrite } from '../routing/mark-routing';

export type ReadFile = (path: string) => string | undefined;

export interface ProfileFs {
  readFile: ReadFile;
  /** Changes whenever the file does (mtime, or an open document's version); undefined: no such file. */
  stamp?(path: string): string | number | undefined;
  /** Entries of a folder, for the `*.nflens-node` search; undefined: cannot list. */
  listDir?(dir: string): { name: string; dir: boolean }[] | undefined;
}

/** What the document is to the profile. */
export type ProfileRole = 'profile' | ProfileSourceKind;

export interface ProfileIndex {
  rulesBySource: Map<ProfileSource, IpRule[]>;
  sourceOfRule: Map<IpRule, ProfileSource>;
  routesBySource: Map<ProfileSource, Route[]>;
  sourceOfRoute: Map<Route, ProfileSource>;
  ipsetsBySource: Map<ProfileSource, Ipset[]>;
  /** The MARK / CONNMARK --restore-mark / `meta mark set` writes of the profile's ruleset. */
  writes?: MarkWrite[];
}

export interface RoutingContext {
  /** Absolute path of the profile (undefined for an unsaved profile document). */
  profilePath?: string;
  profileUri: string;
  profile: NodeProfile;
  index: ProfileIndex;
  /** What the document asked about is to the profile, and its source entry (none for the profile itself). */
  role: ProfileRole;
  source?: ProfileSource;
  via: 'comment' | 'folder' | 'self';
}

export interface ProfileLookup {
  context?: RoutingContext;
  /** Diagnostics for the document itself: a profile that cannot be read or has problems. */
  diagnostics: Diagnostic[];
}

// ---------------------------------------------------------------- uris and paths

export function uriToPath(uriOrPath: string): string | undefined {
  if (uriOrPath.startsWith('file:')) {
    try {
      return fileURLToPath(uriOrPath);
    } catch {
      return undefined;
    }
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(uriOrPath) && !/^[a-z]:[\\/]/i.test(uriOrPath)) return undefined; // untitled:, vscode-remote: ...
  return resolve(uriOrPath);
}

export function pathToUri(path: string): string {
  return pathToFileURL(path).href;
}

/** The uri a profile source's ranges refer to: its file, or the profile for inline text. */
export function sourceUri(ctx: RoutingContext, s: ProfileSource | undefined): string {
  return s?.path ? pathToUri(s.path) : ctx.profileUri;
}

// ---------------------------------------------------------------- file access

function safe<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

export function diskFs(): Required<ProfileFs> {
  return {
    readFile: (p) => safe(() => readFileSync(p, 'utf8')),
    stamp: (p) => safe(() => statSync(p).mtimeMs),
    listDir: (d) => safe(() => readdirSync(d, { withFileTypes: true }).map((e) => ({ name: e.name, dir: e.isDirectory() }))),
  };
}

/**
 * The disk with the editor's open documents on top: an open document's text is read instead of the
 * file, and its version is its stamp (so an unsaved edit of ip-rule.txt reloads the profile).
 * `open(path)` returns the open document at that path, if any.
 */
export function overlayFs(open: (path: string) => { text: string; version: number } | undefined): Required<ProfileFs> {
  const disk = diskFs();
  return {
    readFile: (p) => open(p)?.text ?? disk.readFile(p),
    stamp: (p) => {
      const d = open(p);
      return d ? `v${d.version}:${d.text.length}` : disk.stamp(p);
    },
    listDir: disk.listDir,
  };
}

function normFs(fs: ProfileFs | ReadFile): Required<ProfileFs> {
  const disk = diskFs();
  if (typeof fs === 'function') return { ...disk, readFile: (p) => safe(() => fs(p)) };
  return {
    readFile: (p) => safe(() => fs.readFile(p)),
    stamp: fs.stamp ? (p) => safe(() => fs.stamp!(p)) : disk.stamp,
    listDir: fs.listDir ? (d) => safe(() => fs.listDir!(d)) : disk.listDir,
  };
}

// ---------------------------------------------------------------- the cache

interface CachedProfile {
  stamps: Map<string, string | number | undefined>;
  /** For a profile read from the editor's text: that text. */
  text?: string;
  profile: NodeProfile;
  index: ProfileIndex;
}

/** Loaded profiles by path, and the folder searches, each valid while its stamps are unchanged. */
export class ProfileCache {
  readonly profiles = new Map<string, CachedProfile>();
  readonly searches = new Map<string, { stamps: Map<string, string | number | undefined>; found: string[] }>();
  /** Loads counted, for tests and the lead's measurements. */
  loads = 0;

  clear(): void {
    this.profiles.clear();
    this.searches.clear();
  }
}

const defaultCache = new ProfileCache();

function fresh(stamps: Map<string, string | number | undefined>, fs: Required<ProfileFs>): boolean {
  for (const [p, s] of stamps) if (s === undefined || fs.stamp(p) !== s) return false;
  return true;
}

/** A profile from its path, through the cache. */
export function loadProfileCached(path: string, fsIn: ProfileFs | ReadFile, cache = defaultCache): { profile: NodeProfile; index: ProfileIndex } {
  const fs = normFs(fsIn);
  const hit = cache.profiles.get(path);
  if (hit && fresh(hit.stamps, fs)) return hit;
  const read = new Set<string>();
  const readFile: ReadFile = (p) => {
    read.add(p);
    return fs.readFile(p);
  };
  cache.loads++;
  const profile = loadNodeProfile(path, readFile);
  const index = indexProfile(profile, readFile);
  const stamps = new Map<string, string | number | undefined>();
  // A file that could not be read has no stamp: such an entry is reloaded every time (it may appear).
  for (const p of [path, ...read]) stamps.set(p, fs.stamp(p));
  const entry = { stamps, profile, index };
  cache.profiles.set(path, entry);
  return entry;
}

/**
 * Which rule, route and set came from which source. loadNodeProfile concatenates them in source order,
 * so parsing each source again with the same options gives the counts to cut the lists at.
 */
export function indexProfile(profile: NodeProfile, readFile?: ReadFile): ProfileIndex {
  const index: ProfileIndex = { rulesBySource: new Map(), sourceOfRule: new Map(), routesBySource: new Map(), sourceOfRoute: new Map(), ipsetsBySource: new Map() };
  const tables = profile.routing.tables;
  let ri = 0, rti = 0;
  const unknownTable = (s: ProfileSource) => profile.diagnostics.some((d) => d.code === 'unknown-table' && d.range.start.line === s.range.start.line);
  for (const s of profile.sources) {
    if (s.kind === 'ip-rule') {
      const n = parseIpRules(s.text, { family: s.family, tables, lineOffset: s.inlineLine }).value.length;
      const list = profile.routing.rules.slice(ri, ri + n);
      ri += n;
      index.rulesBySource.set(s, list);
      for (const r of list) index.sourceOfRule.set(r, s);
    } else if (s.kind === 'ip-route') {
      const n = unknownTable(s) ? 0 : parseIpRoutes(s.text, { family: s.family, tables, table: s.table, lineOffset: s.inlineLine }).value.length;
      const list = profile.routing.routes.slice(rti, rti + n);
      rti += n;
      index.routesBySource.set(s, list);
      for (const r of list) index.sourceOfRoute.set(r, s);
    } else if (s.kind === 'ipset') {
      const names = new Set(parseIpsets(s.text, { lineOffset: s.inlineLine }).value.map((x) => x.name));
      index.ipsetsBySource.set(s, profile.ipsets.filter((x) => names.has(x.name) && !claimed(index, x)));
    }
  }
  if (profile.ruleset) {
    const rs = safe(() => parseRuleset(profile.ruleset!.text));
    if (rs) index.writes = markWritesFromRuleset(rs);
  }
  void readFile;
  return index;
}

function claimed(index: ProfileIndex, set: Ipset): boolean {
  for (const l of index.ipsetsBySource.values()) if (l.includes(set)) return true;
  return false;
}

// ---------------------------------------------------------------- finding the profile

const PROFILE_EXT = '.nflens-node';
const MAX_SUBDIRS = 64;

function samePath(a: string | undefined, b: string): boolean {
  return !!a && resolve(a) === resolve(b);
}

function roleOf(profile: NodeProfile, path: string): { role: ProfileRole; source: ProfileSource } | undefined {
  if (profile.ruleset && samePath(profile.ruleset.path, path)) return { role: 'ruleset', source: profile.ruleset };
  const s = profile.sources.find((x) => samePath(x.path, path));
  return s ? { role: s.kind, source: s } : undefined;
}

/** `*.nflens-node` files in `dir` and its direct subfolders (a ruleset next to a folder per node). */
function profilesNear(dir: string, fs: Required<ProfileFs>, cache: ProfileCache): string[] {
  const hit = cache.searches.get(dir);
  if (hit && fresh(hit.stamps, fs)) return hit.found;
  const stamps = new Map<string, string | number | undefined>();
  const found: string[] = [];
  const look = (d: string, depth: number) => {
    stamps.set(d, fs.stamp(d));
    const entries = fs.listDir(d) ?? [];
    for (const e of entries) if (!e.dir && e.name.endsWith(PROFILE_EXT)) found.push(join(d, e.name));
    if (depth === 0) {
      const subs = entries.filter((e) => e.dir && !e.name.startsWith('.') && e.name !== 'node_modules').map((e) => e.name).sort().slice(0, MAX_SUBDIRS);
      for (const s of subs) look(join(d, s), 1);
    }
  };
  look(dir, 0);
  found.sort();
  cache.searches.set(dir, { stamps, found });
  return found;
}

function zeroRange(): Range {
  return { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
}

/** Errors of the profile file itself (unknown directives, files it cannot read ...). */
function profileProblems(profile: NodeProfile): Diagnostic[] {
  return profile.diagnostics.filter((d) => d.severity === 'error');
}

/**
 * The node profile for an editor document: the document itself when it is a `*.nflens-node` file; the
 * profile its `# nflens-node: PATH` comment names; else a `*.nflens-node` file in its folder or a direct
 * subfolder that names it (as its ruleset, or as one of its ip rule / route / address / ipset files).
 * A missing or unreadable profile gives a diagnostic on the comment, never an exception.
 */
export function findProfileForDocument(uriOrPath: string, text: string, fsIn: ProfileFs | ReadFile, cache = defaultCache): ProfileLookup {
  const diagnostics: Diagnostic[] = [];
  try {
    const fs = normFs(fsIn);
    const path = uriToPath(uriOrPath);
    // The profile document itself: read from the editor's text, relative paths from its folder.
    if ((path ?? uriOrPath).endsWith(PROFILE_EXT)) {
      const key = `self:${path ?? uriOrPath}`;
      const hit = cache.profiles.get(key);
      let entry: CachedProfile;
      if (hit && hit.text === text && fresh(hit.stamps, fs)) entry = hit;
      else {
        const read = new Set<string>();
        cache.loads++;
        const profile = loadNodeProfile(text.includes('\n') ? text : text + '\n', (p) => (read.add(p), fs.readFile(p)), { path: path ?? uriOrPath });
        const stamps = new Map<string, string | number | undefined>();
        for (const p of read) stamps.set(p, fs.stamp(p));
        entry = { stamps, text, profile, index: indexProfile(profile) };
        cache.profiles.set(key, entry);
      }
      const { profile, index } = entry;
      return { context: { profilePath: path, profileUri: path ? pathToUri(path) : uriOrPath, profile, index, role: 'profile', via: 'self' }, diagnostics };
    }
    const ref = findNodeProfileRef(text);
    if (ref) {
      const base = path ? dirname(path) : undefined;
      if (!isAbsolute(ref.path) && !base) {
        diagnostics.push({ range: ref.range, severity: 'warning', code: 'node-profile-not-found', message: `cannot resolve "${ref.path}": save the file first (the path is relative to it)` });
        return { diagnostics };
      }
      const p = isAbsolute(ref.path) ? ref.path : join(base!, ref.path);
      if (fs.readFile(p) === undefined) {
        diagnostics.push({ range: ref.range, severity: 'error', code: 'node-profile-not-found', message: `cannot read node profile "${p}"` });
        return { diagnostics };
      }
      const { profile, index } = loadProfileCached(p, fs, cache);
      const problems = profileProblems(profile);
      if (problems.length) {
        diagnostics.push({ range: ref.range, severity: 'warning', code: 'node-profile-problems', message: `node profile "${basename(p)}" has ${problems.length} problem${problems.length > 1 ? 's' : ''}: ${problems[0].message}` });
      }
      const r = path ? roleOf(profile, path) : undefined;
      if (!r && profile.ruleset?.path) {
        diagnostics.push({ range: ref.range, severity: 'information', code: 'node-profile-other-ruleset', message: `the profile's ruleset is "${profile.ruleset.path}", not this file: routing is taken from the profile, marks from this file` });
      }
      return { context: { profilePath: p, profileUri: pathToUri(p), profile, index, role: r?.role ?? 'ruleset', source: r?.source, via: 'comment' }, diagnostics };
    }
    if (!path) return { diagnostics };
    for (const p of profilesNear(dirname(path), fs, cache)) {
      const { profile, index } = loadProfileCached(p, fs, cache);
      const r = roleOf(profile, path);
      if (r) return { context: { profilePath: p, profileUri: pathToUri(p), profile, index, role: r.role, source: r.source, via: 'folder' }, diagnostics };
    }
    return { diagnostics };
  } catch (e) {
    diagnostics.push({ range: zeroRange(), severity: 'error', code: 'internal-error', message: `finding the node profile failed: ${(e as Error)?.message ?? e}` });
    return { diagnostics };
  }
}

/** The last standalone contexts made: the language server asks for one per request, and a 1 000 000-line
 *  ipset file took 6 s to parse for every hover. Same document, kind and text: the same context. */
const standaloneMemo: { uriOrPath: string; kind: string; text: string; ctx: RoutingContext }[] = [];
const STANDALONE_MEMO = 2;

/**
 * A context for a routing file that belongs to no profile (an ip rule listing opened on its own): the
 * profile holds that one file, so hover, `goto` navigation and diagnostics work on what it says alone.
 * Read-only for callers: the context is shared by the requests on the same text.
 */
export function standaloneContext(uriOrPath: string, text: string, kind: Exclude<SourceKind, 'ruleset'>): RoutingContext {
  const hit = standaloneMemo.find((m) => m.uriOrPath === uriOrPath && m.kind === kind && m.text === text);
  if (hit) return hit.ctx;
  const ctx = makeStandaloneContext(uriOrPath, text, kind);
  standaloneMemo.unshift({ uriOrPath, kind, text, ctx });
  standaloneMemo.length = Math.min(standaloneMemo.length, STANDALONE_MEMO);
  return ctx;
}

function makeStandaloneContext(uriOrPath: string, text: string, kind: Exclude<SourceKind, 'ruleset'>): RoutingContext {
  const path = uriToPath(uriOrPath);
  const uri = path ? pathToUri(path) : uriOrPath;
  const source: ProfileSource = { kind, path, text, range: zeroRange(), diagnostics: [] };
  const profile: NodeProfile = {
    path: undefined,
    routing: { rules: [], routes: [], interfaces: [], tables: defaultRtTables(), forwarding: true },
    ipsets: [], ipsetsByName: new Map(), sources: [source], diagnostics: [],
  };
  try {
    if (kind === 'ip-rule') ({ value: profile.routing.rules, diagnostics: source.diagnostics } = parseIpRules(text));
    else if (kind === 'ip-route') ({ value: profile.routing.routes, diagnostics: source.diagnostics } = parseIpRoutes(text));
    else if (kind === 'ip-addr') ({ value: profile.routing.interfaces, diagnostics: source.diagnostics } = parseAddrs(text));
    else if (kind === 'rt-tables') ({ value: profile.routing.tables, diagnostics: source.diagnostics } = parseRtTables(text));
    else {
      const r = parseIpsets(text);
      source.diagnostics = r.diagnostics;
      for (const x of r.value) if (!profile.ipsetsByName.has(x.name)) { profile.ipsets.push(x); profile.ipsetsByName.set(x.name, x); }
    }
  } catch (e) {
    source.diagnostics.push({ range: zeroRange(), severity: 'error', code: 'internal-error', message: String((e as Error)?.message ?? e) });
  }
  // Without a path the source reports through the "profile" entry, like inline text does.
  if (!path) for (const d of source.diagnostics) profile.diagnostics.push(d);
  const index = indexProfile(profile);
  // The file stands for itself: its uri is where every range points.
  return { profilePath: undefined, profileUri: uri, profile, index, role: kind, source, via: 'self' };
}
