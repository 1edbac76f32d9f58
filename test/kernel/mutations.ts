// Deterministic single-token mutations of iptables-save files. A real kernel load judges each one
// (test/kernel/iptables-load.test.ts); the same generator can feed issue 4's agreement test.
// This file reads the save format with its own small tokenizer on purpose: the oracle's side must
// not depend on the parser it judges.

export type Family = 'ip' | 'ip6';

export interface SaveFile {
  /** Label used in reports, e.g. the corpus-relative path. */
  name: string;
  text: string;
  family: Family;
}

export interface Mutation {
  /** Stable id: kind, file index, line and a counter. */
  id: string;
  kind: MutationKind;
  file: string;
  family: Family;
  /** 0-based line of the change in the base file. */
  line: number;
  /** Human-readable description: the line before and after. */
  what: string;
  text: string;
}

export const MUTATION_KINDS = [
  'undeclared-jump', // -j USER -> -j NFLC-MISSING
  'target-misspell', // -j ACCEPT -> -j ACCPET
  'jump-loop', // append -A D -j C where C already jumps to D
  'self-loop', // append -A C -j C
  'jump-to-builtin', // -j USER -> -j INPUT
  'target-swap', // replace the target clause with another target's
  'rule-move', // -A CHAIN -> -A OTHER-BUILT-IN
  'number-out-of-range', // port 65536, prefix /33, mark 0x100000000 ...
  'number-in-range', // control: another valid number
  'value-drop', // --dport 80 -> --dport
  'option-misspell', // --dport -> --dpotr
  'module-misspell', // -m conntrack -> -m conntrakc
  'policy-change', // :INPUT ACCEPT -> DROP / RETURN, :USER - -> ACCEPT
  'chain-delete', // delete a :CHAIN line
  'chain-duplicate', // duplicate a :CHAIN line
  'proto-change', // -p tcp -> -p udp / icmp / all
  'address-invalid', // 10.0.0.1 -> 10.0.0.256
  'interface-long', // -i eth0 -> 16+ characters
  'option-duplicate', // --dport 80 --dport 80
  'negation-insert', // ! before a flag
  'token-delete', // any one token of a rule
  'table-misspell', // *nat -> *nta
  'commit-delete', // drop a COMMIT line
] as const;
export type MutationKind = (typeof MUTATION_KINDS)[number];

import { prng } from '../support/prng';

export { prng };

export function shuffle<T>(xs: T[], rnd: () => number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

export interface Tok {
  text: string;
  start: number;
  end: number;
}

/** Whitespace-separated tokens; a double-quoted string (with \" escapes) stays one token. */
export function tokenize(line: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i])) i++;
    if (i >= line.length) break;
    const start = i;
    let quoted = false;
    while (i < line.length && (quoted || !/\s/.test(line[i]))) {
      if (line[i] === '\\' && quoted) i++;
      else if (line[i] === '"') quoted = !quoted;
      i++;
    }
    toks.push({ text: line.slice(start, i), start, end: i });
  }
  return toks;
}

const BUILTIN: Record<string, string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
  security: ['INPUT', 'FORWARD', 'OUTPUT'],
};
const VERDICTS = new Set(['ACCEPT', 'DROP', 'RETURN', 'QUEUE']);

interface RuleLine {
  n: number;
  table: string;
  chain: string;
  toks: Tok[];
  /** Index of the token after `-A CHAIN`. */
  body: number;
  /** Index of -j/-g, or -1. */
  jump: number;
}

interface TableInfo {
  name: string;
  line: number;
  commit: number;
  chainLines: { n: number; name: string; builtin: boolean }[];
  declared: Set<string>;
  edges: { from: string; to: string }[];
}

interface Doc {
  lines: string[];
  tables: TableInfo[];
  rules: RuleLine[];
}

function readDoc(text: string): Doc {
  const lines = text.split('\n');
  const tables: TableInfo[] = [];
  const rules: RuleLine[] = [];
  let cur: TableInfo | undefined;
  lines.forEach((line, n) => {
    const t = line.trim();
    if (t.startsWith('*')) {
      cur = { name: t.slice(1), line: n, commit: -1, chainLines: [], declared: new Set(), edges: [] };
      tables.push(cur);
    } else if (!cur) {
      return;
    } else if (t === 'COMMIT') {
      cur.commit = n;
      cur = undefined;
    } else if (t.startsWith(':')) {
      const name = t.slice(1).split(/\s+/)[0];
      cur.chainLines.push({ n, name, builtin: (BUILTIN[cur.name] ?? []).includes(name) });
      cur.declared.add(name);
    } else {
      const toks = tokenize(line);
      const a = toks.findIndex((x) => x.text === '-A' || x.text === '--append');
      if (a < 0 || a > 1 || !toks[a + 1]) return;
      const jump = toks.findIndex((x, i) => i > a + 1 && (x.text === '-j' || x.text === '-g' || x.text === '--jump' || x.text === '--goto'));
      const r: RuleLine = { n, table: cur.name, chain: toks[a + 1].text, toks, body: a + 2, jump };
      rules.push(r);
      if (jump >= 0 && toks[jump + 1]) cur.edges.push({ from: r.chain, to: toks[jump + 1].text });
    }
  });
  return { lines, tables, rules };
}

interface Candidate {
  kind: MutationKind;
  line: number;
  before: string;
  after: string;
  text: string;
}

function withLine(doc: Doc, n: number, after: string | null): string {
  const ls = [...doc.lines];
  if (after === null) ls.splice(n, 1);
  else ls[n] = after;
  return ls.join('\n');
}

function insertLine(doc: Doc, at: number, line: string): string {
  const ls = [...doc.lines];
  ls.splice(at, 0, line);
  return ls.join('\n');
}

function replaceTok(line: string, t: Tok, text: string): string {
  return line.slice(0, t.start) + text + line.slice(t.end);
}

function deleteTok(line: string, t: Tok): string {
  let end = t.end;
  while (end < line.length && line[end] === ' ') end++;
  return line.slice(0, t.start) + line.slice(end);
}

/** Swaps two adjacent, different letters in the middle of a word. */
function transpose(word: string, rnd: () => number): string | undefined {
  const spots: number[] = [];
  for (let i = 1; i + 1 < word.length - 1; i++) if (/[a-zA-Z]/.test(word[i]) && /[a-zA-Z]/.test(word[i + 1]) && word[i] !== word[i + 1]) spots.push(i);
  if (!spots.length) return undefined;
  const i = spots[Math.floor(rnd() * spots.length)];
  return word.slice(0, i) + word[i + 1] + word[i] + word.slice(i + 2);
}

function isFlag(t: string): boolean {
  return /^--?[a-zA-Z]/.test(t);
}

function targetClauses(family: Family): string[] {
  const v4 = family === 'ip';
  return [
    `-j DNAT --to-destination ${v4 ? '10.77.0.1' : 'fd77::1'}`,
    `-j SNAT --to-source ${v4 ? '10.77.0.1' : 'fd77::1'}`,
    '-j MASQUERADE',
    '-j REDIRECT --to-ports 8080',
    `-j REJECT --reject-with ${v4 ? 'icmp-port-unreachable' : 'icmp6-port-unreachable'}`,
    '-j CT --notrack',
    '-j NOTRACK',
    '-j MARK --set-xmark 0x1/0xff',
    '-j CONNMARK --save-mark --nfmask 0xff --ctmask 0xff',
    '-j LOG --log-prefix "nflc "',
    '-j TRACE',
    '-j TCPMSS --clamp-mss-to-pmtu',
    '-j DSCP --set-dscp 0x0a',
    '-j CLASSIFY --set-class 1:1',
    '-j TPROXY --on-port 3128 --tproxy-mark 0x1/0x1',
    '-j RETURN',
    '-j ACCEPT',
  ];
}

const PORT_OPTS = new Set(['--dport', '--sport', '--destination-port', '--source-port', '--dports', '--sports', '--destination-ports', '--source-ports', '--ports', '--to-ports', '--to-port']);
const MARK_OPTS = new Set(['--mark', '--set-mark', '--set-xmark', '--or-mark', '--and-mark', '--xor-mark', '--nfmask', '--ctmask', '--mask']);
const SMALL_INT_OPTS: Record<string, number> = { '--log-level': 7, '--hitcount': 255, '--hl-eq': 255, '--ttl-eq': 255, '--queue-num': 65535, '--nflog-group': 65535 };

/** Out-of-range and in-range variants of numeric values. */
function numberMutations(r: RuleLine, line: string, family: Family): { out: Candidate['after'][]; inRange: Candidate['after'][] } {
  const out: string[] = [];
  const inRange: string[] = [];
  r.toks.forEach((t, i) => {
    const flag = r.toks[i - 1]?.text ?? '';
    if (i < r.body) return;
    if (PORT_OPTS.has(flag) && /^\d+([:,]\d+)*$/.test(t.text)) {
      const first = t.text.match(/^\d+/)![0];
      out.push(replaceTok(line, t, '65536' + t.text.slice(first.length)));
      inRange.push(replaceTok(line, t, String((Number(first) % 65000) + 1) + t.text.slice(first.length)));
    }
    const cidr = t.text.match(/^(!?[0-9a-fA-F:.]+)\/(\d+)$/);
    if (cidr && (flag === '-s' || flag === '-d' || flag === '--source' || flag === '--destination')) {
      const max = family === 'ip' ? 32 : 128;
      out.push(replaceTok(line, t, `${cidr[1]}/${max + 1}`));
      inRange.push(replaceTok(line, t, `${cidr[1]}/${Math.max(1, Number(cidr[2]) - 1)}`));
    }
    if (MARK_OPTS.has(flag) && /^(0x[0-9a-fA-F]+|\d+)(\/(0x[0-9a-fA-F]+|\d+))?$/.test(t.text)) {
      out.push(replaceTok(line, t, '0x100000000' + (t.text.includes('/') ? t.text.slice(t.text.indexOf('/')) : '')));
      inRange.push(replaceTok(line, t, '0x2' + (t.text.includes('/') ? t.text.slice(t.text.indexOf('/')) : '')));
    }
    if (flag in SMALL_INT_OPTS && /^\d+$/.test(t.text)) {
      out.push(replaceTok(line, t, String(SMALL_INT_OPTS[flag] + 1)));
      inRange.push(replaceTok(line, t, String(Math.max(0, Number(t.text) - 1))));
    }
    if ((flag === '--to-destination' || flag === '--to-source') && /^[0-9.]+:\d+$/.test(t.text)) {
      out.push(replaceTok(line, t, t.text.replace(/:\d+$/, ':70000')));
      inRange.push(replaceTok(line, t, t.text.replace(/:\d+$/, ':8081')));
    }
  });
  return { out, inRange };
}

function candidates(doc: Doc, family: Family, rnd: () => number): Candidate[] {
  const cs: Candidate[] = [];
  const add = (kind: MutationKind, line: number, after: string | null) => {
    const before = doc.lines[line];
    cs.push({ kind, line, before, after: after ?? '(line deleted)', text: withLine(doc, line, after) });
  };
  const addInsert = (kind: MutationKind, at: number, line: string, shownAt: string) => {
    cs.push({ kind, line: at, before: shownAt, after: line, text: insertLine(doc, at, line) });
  };
  const tableOf = (name: string) => doc.tables.find((t) => t.name === name)!;

  for (const r of doc.rules) {
    const line = doc.lines[r.n];
    const tab = tableOf(r.table);
    const targetTok = r.jump >= 0 ? r.toks[r.jump + 1] : undefined;
    if (targetTok) {
      const user = tab.declared.has(targetTok.text) && !(BUILTIN[r.table] ?? []).includes(targetTok.text);
      if (user) {
        add('undeclared-jump', r.n, replaceTok(line, targetTok, 'NFLC-MISSING'));
        const bi = BUILTIN[r.table] ?? ['INPUT'];
        add('jump-to-builtin', r.n, replaceTok(line, targetTok, bi[Math.floor(rnd() * bi.length)]));
      } else {
        const m = transpose(targetTok.text, rnd);
        if (m) add('target-misspell', r.n, replaceTok(line, targetTok, m));
      }
      const clauses = targetClauses(family);
      const clause = clauses[Math.floor(rnd() * clauses.length)];
      add('target-swap', r.n, line.slice(0, r.toks[r.jump].start) + clause);
    }
    const others = (BUILTIN[r.table] ?? []).filter((c) => c !== r.chain);
    if (others.length) add('rule-move', r.n, replaceTok(line, r.toks[r.body - 1], others[Math.floor(rnd() * others.length)]));

    const nums = numberMutations(r, line, family);
    for (const a of nums.out) add('number-out-of-range', r.n, a);
    for (const a of nums.inRange) add('number-in-range', r.n, a);

    r.toks.forEach((t, i) => {
      if (i < r.body) return;
      const next = r.toks[i + 1];
      if (isFlag(t.text) && next && !isFlag(next.text) && next.text !== '!' && !['-j', '-g', '-m', '--match'].includes(t.text)) {
        add('value-drop', r.n, deleteTok(line, next));
        add('option-duplicate', r.n, line.slice(0, next.end) + ' ' + line.slice(t.start, next.end) + line.slice(next.end));
      }
      if (/^--[a-z][a-z-]{3,}$/.test(t.text)) {
        const m = transpose(t.text.slice(2), rnd);
        if (m) add('option-misspell', r.n, replaceTok(line, t, '--' + m));
      }
      if ((t.text === '-m' || t.text === '--match') && next) {
        const m = transpose(next.text, rnd);
        if (m) add('module-misspell', r.n, replaceTok(line, next, m));
      }
      if ((t.text === '-p' || t.text === '--protocol') && next) {
        const alts = ['tcp', 'udp', family === 'ip' ? 'icmp' : 'ipv6-icmp', 'all', 'sctp', 'gre'].filter((p) => p !== next.text);
        add('proto-change', r.n, replaceTok(line, next, alts[Math.floor(rnd() * alts.length)]));
      }
      if ((t.text === '-s' || t.text === '-d' || t.text === '--source' || t.text === '--destination' || t.text === '--to-destination' || t.text === '--to-source') && next) {
        const bad = family === 'ip' ? next.text.replace(/(\d+)(?=(\/|:|$))/, '256') : next.text.replace(/:(?=[0-9a-f]*(\/|$))/i, ':g');
        if (bad !== next.text) add('address-invalid', r.n, replaceTok(line, next, bad));
      }
      if ((t.text === '-i' || t.text === '-o' || t.text === '--in-interface' || t.text === '--out-interface') && next) {
        add('interface-long', r.n, replaceTok(line, next, (next.text.replace(/\+$/, '') + 'nflclonginterface').slice(0, 18)));
      }
      if (isFlag(t.text) && r.toks[i - 1]?.text !== '!' && t.text !== '-j') {
        add('negation-insert', r.n, line.slice(0, t.start) + '! ' + line.slice(t.start));
      }
      add('token-delete', r.n, deleteTok(line, t));
    });
  }

  for (const tab of doc.tables) {
    const before = tab.commit >= 0 ? tab.commit : doc.lines.length;
    for (const c of tab.chainLines) {
      const line = doc.lines[c.n];
      const toks = tokenize(line);
      const pol = toks[1];
      if (pol) {
        if (c.builtin) {
          const alts = ['ACCEPT', 'DROP', 'RETURN', 'REJECT', '-'].filter((p) => p !== pol.text);
          add('policy-change', c.n, replaceTok(line, pol, alts[Math.floor(rnd() * alts.length)]));
        } else {
          add('policy-change', c.n, replaceTok(line, pol, rnd() < 0.5 ? 'ACCEPT' : 'DROP'));
        }
      }
      add('chain-delete', c.n, null);
      addInsert('chain-duplicate', c.n + 1, line, line);
      if (!c.builtin) addInsert('self-loop', before, `-A ${c.name} -j ${c.name}`, `(table ${tab.name})`);
    }
    for (const e of tab.edges) {
      if (tab.declared.has(e.to) && !(BUILTIN[tab.name] ?? []).includes(e.to) && !(BUILTIN[tab.name] ?? []).includes(e.from) && e.from !== e.to) {
        addInsert('jump-loop', before, `-A ${e.to} -j ${e.from}`, `(table ${tab.name}, ${e.from} jumps to ${e.to})`);
      }
    }
    const m = transpose(tab.name, rnd);
    if (m) add('table-misspell', tab.line, '*' + m);
    if (tab.commit >= 0) add('commit-delete', tab.commit, null);
  }
  return cs;
}

export interface MutationOptions {
  seed?: number;
  /** At most this many mutations of each kind (fewer when the files offer fewer distinct ones). */
  perKind?: number;
  /** Only these kinds (default: all of MUTATION_KINDS). */
  kinds?: readonly MutationKind[];
}

/** Picks up to perKind distinct mutations of each kind from the files, reproducibly for a seed. */
export function generateMutations(files: SaveFile[], opts: MutationOptions = {}): Mutation[] {
  const rnd = prng(opts.seed ?? 20261128);
  const perKind = opts.perKind ?? 15;
  const byKind = new Map<MutationKind, (Candidate & { file: number })[]>();
  files.forEach((f, fi) => {
    for (const c of candidates(readDoc(f.text), f.family, rnd)) {
      (byKind.get(c.kind) ?? byKind.set(c.kind, []).get(c.kind)!).push({ ...c, file: fi });
    }
  });
  const out: Mutation[] = [];
  for (const kind of opts.kinds ?? MUTATION_KINDS) {
    const seen = new Set<string>();
    let k = 0;
    for (const c of shuffle(byKind.get(kind) ?? [], rnd)) {
      if (k >= perKind) break;
      // The moby files repeat lines a lot: one mutation per distinct changed line is enough.
      const key = `${files[c.file].family}|${c.before}|${c.after}`;
      if (seen.has(key) || c.text === files[c.file].text) continue;
      seen.add(key);
      out.push({
        id: `${kind}#${++k}`,
        kind,
        file: files[c.file].name,
        family: files[c.file].family,
        line: c.line,
        what: `line ${c.line + 1}: ${c.before.trim()}  =>  ${c.after.trim()}`,
        text: c.text,
      });
    }
  }
  return out;
}
