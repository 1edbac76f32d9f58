// Every place a rule writes or tests a packet mark or a conntrack mark, reduced to the kernel's
// arithmetic (xt_MARK, xt_CONNMARK, xt_mark, xt_connmark), and indexed by bit.
import { FULL, parseMarkMask, parseU32, shorthand, u32 } from '../knowledge/marks';
import type { Action, Match, Option, Range, Value } from '../model/ruleset';
import type { DocumentAnalysis, RuleRef } from './document';
import type { Rule } from '../model/ruleset';
import { runSteps, TimeSlice } from '../steps';

export type MarkDomain = 'mark' | 'ctmark';

export type MarkOp =
  /** domain = (domain AND NOT mask) XOR value. `title` is the rule text that does it ("MARK --set-xmark 0x200/0x200"). */
  | { kind: 'xmark'; domain: MarkDomain; value: number; mask: number; title: string; flag: string; range: Range; rule: RuleRef }
  /** CONNMARK --save-mark: ctmark = (ctmark AND NOT ctmask) XOR (mark AND nfmask). */
  | { kind: 'save'; domain: 'ctmark'; nfmask: number; ctmask: number; title: string; flag: string; range: Range; rule: RuleRef }
  /** CONNMARK --restore-mark: mark = (mark AND NOT nfmask) XOR (ctmark AND ctmask). */
  | { kind: 'restore'; domain: 'mark'; nfmask: number; ctmask: number; title: string; flag: string; range: Range; rule: RuleRef }
  /** -m mark / -m connmark --mark V/M: (domain AND M) == V, or != when negated. */
  | { kind: 'test'; domain: MarkDomain; value: number; mask: number; negated: boolean; title: string; flag: string; range: Range; rule: RuleRef };

export type BitRole = 'set' | 'clear' | 'toggle' | 'copy' | 'test';

export interface BitUse {
  op: MarkOp;
  role: BitRole;
}

export interface MarkIndex {
  ops: MarkOp[];
  /** uses[domain][bit] */
  uses: Record<MarkDomain, BitUse[][]>;
  /** Ops by the line of their rule. */
  byLine: Map<number, MarkOp[]>;
}

function markValue(v: Value | undefined): { value: number; mask: number; hasMask: boolean } | undefined {
  if (!v) return undefined;
  if (v.kind === 'mark') return { value: v.value, mask: v.mask, hasMask: v.hasMask };
  return parseMarkMask(v.text);
}

function numValue(v: Value | undefined): number | undefined {
  if (!v) return undefined;
  if (v.kind === 'number') return u32(v.value);
  if (v.kind === 'mark' && !v.hasMask) return v.value;
  return parseU32(v.text);
}

function optName(o: Option): string {
  return o.name.replace(/^-+/, '');
}

function spanOf(rs: Range[]): Range {
  let r = rs[0];
  for (const x of rs.slice(1)) {
    if (x.start.line !== r.start.line || x.end.line !== r.end.line) continue;
    r = { start: x.start.character < r.start.character ? x.start : r.start, end: x.end.character > r.end.character ? x.end : r.end };
  }
  return r;
}

function written(o: Option): string {
  return [o.negated ? '!' : '', o.flag, ...o.values.map((v) => v.text)].filter(Boolean).join(' ');
}

/** The mark operations of one iptables target (MARK, CONNMARK). */
export function actionMarkOps(a: Action, rule: RuleRef): MarkOp[] {
  const name = a.name.toUpperCase();
  if (name !== 'MARK' && name !== 'CONNMARK') return [];
  const domain: MarkDomain = name === 'MARK' ? 'mark' : 'ctmark';
  const ops: MarkOp[] = [];
  const get = (n: string) => a.options.find((o) => optName(o) === n);
  for (const o of a.options) {
    const n = optName(o);
    const base = { title: `${name} ${written(o)}`, flag: o.flag, range: o.range, rule };
    let vm: { value: number; mask: number } | undefined;
    if (n === 'set-xmark') {
      const p = markValue(o.values[0]);
      if (p) vm = { value: p.value, mask: p.mask };
    } else if (n === 'set-mark') {
      const p = markValue(o.values[0]);
      if (p) vm = shorthand.setMark(p.value, p.hasMask ? p.mask : FULL);
    } else if (n === 'and-mark' || n === 'or-mark' || n === 'xor-mark') {
      const b = numValue(o.values[0]);
      if (b !== undefined) vm = n === 'and-mark' ? shorthand.andMark(b) : n === 'or-mark' ? shorthand.orMark(b) : shorthand.xorMark(b);
    } else if ((n === 'save-mark' || n === 'restore-mark') && domain === 'ctmark') {
      const mask = numValue(get('mask')?.values[0]);
      const nfmask = numValue(get('nfmask')?.values[0]) ?? mask ?? FULL;
      const ctmask = numValue(get('ctmask')?.values[0]) ?? mask ?? FULL;
      // The op spans the flag and its mask options, so a hover on `--nfmask 0x220` explains the copy too.
      const parts = [o, ...['nfmask', 'ctmask', 'mask'].map(get).filter((x): x is Option => !!x)];
      const whole = { ...base, title: `CONNMARK ${parts.map(written).join(' ')}`, range: spanOf(parts.map((x) => x.range)) };
      if (n === 'save-mark') ops.push({ kind: 'save', domain: 'ctmark', nfmask, ctmask, ...whole });
      else ops.push({ kind: 'restore', domain: 'mark', nfmask, ctmask, ...whole });
      continue;
    }
    if (vm) ops.push({ kind: 'xmark', domain, value: u32(vm.value), mask: u32(vm.mask), ...base });
  }
  return ops;
}

export function matchMarkOps(m: Match, rule: RuleRef): MarkOp[] {
  if (m.module !== 'mark' && m.module !== 'connmark') return [];
  const domain: MarkDomain = m.module === 'mark' ? 'mark' : 'ctmark';
  const ops: MarkOp[] = [];
  for (const o of m.options) {
    if (optName(o) !== 'mark') continue;
    const p = markValue(o.values[0]);
    if (p) ops.push({ kind: 'test', domain, value: u32(p.value), mask: u32(p.mask), negated: o.negated, title: `-m ${m.module} ${written(o)}`, flag: o.flag, range: o.range, rule });
  }
  return ops;
}

const NFT_NUM = '(0x[0-9a-fA-F]+|\\d+)';
const NFT_AND = '(?:and|&)', NFT_OR = '(?:or|\\|)', NFT_XOR = '(?:xor|\\^)';

/** nft `meta mark set ...` / `ct mark set ...`: a number, the other mark (a copy, optionally masked),
 *  or the same mark combined with and/or/xor. Anything else is not worked out (no numbers shown). */
export function nftActionMarkOps(a: Action, rule: RuleRef): MarkOp[] {
  const domain: MarkDomain | undefined = a.name === 'mark-set' ? 'mark' : a.name === 'ct-mark-set' ? 'ctmark' : undefined;
  if (!domain) return [];
  const text = (a.text ?? '').trim();
  const m = /\bmark\s+set\s+(.+)$/.exec(text);
  if (!m) return [];
  const rhs = m[1].trim().replace(/^\((.*)\)$/, '$1').replace(/\s+/g, ' ');
  const base = { title: text, flag: '', range: a.range, rule };
  const self = domain === 'mark' ? '(?:meta )?mark' : 'ct mark';
  const other = domain === 'mark' ? 'ct mark' : '(?:meta )?mark';
  const n = (x: string) => parseU32(x);
  let r: RegExpExecArray | null;
  if ((r = new RegExp(`^${NFT_NUM}$`).exec(rhs)) && n(r[1]) !== undefined) return [{ kind: 'xmark', domain, value: n(r[1])!, mask: FULL, ...base }];
  if ((r = new RegExp(`^${other}(?: ${NFT_AND} ${NFT_NUM})?$`).exec(rhs))) {
    const mask = r[1] !== undefined ? n(r[1]) : FULL;
    if (mask === undefined) return [];
    return domain === 'mark'
      ? [{ kind: 'restore', domain: 'mark', nfmask: FULL, ctmask: mask, ...base }]
      : [{ kind: 'save', domain: 'ctmark', nfmask: mask, ctmask: FULL, ...base }];
  }
  if ((r = new RegExp(`^\\(?${self} ${NFT_AND} ${NFT_NUM}\\)? ${NFT_OR} ${NFT_NUM}$`).exec(rhs))) {
    const keep = n(r[1]), v = n(r[2]);
    if (keep === undefined || v === undefined) return [];
    // (x AND K) OR V: V's bits set, bits outside K and V cleared, the rest kept.
    return [{ kind: 'xmark', domain, value: v, mask: u32(~keep | v), ...base }];
  }
  if ((r = new RegExp(`^${self} ${NFT_OR} ${NFT_NUM}$`).exec(rhs)) && n(r[1]) !== undefined) return [{ kind: 'xmark', domain, ...shorthand.orMark(n(r[1])!), ...base }];
  if ((r = new RegExp(`^${self} ${NFT_AND} ${NFT_NUM}$`).exec(rhs)) && n(r[1]) !== undefined) return [{ kind: 'xmark', domain, ...shorthand.andMark(u32(~n(r[1])!)), ...base }];
  if ((r = new RegExp(`^${self} ${NFT_XOR} ${NFT_NUM}$`).exec(rhs)) && n(r[1]) !== undefined) return [{ kind: 'xmark', domain, ...shorthand.xorMark(n(r[1])!), ...base }];
  return [];
}

/** nft `meta mark 0x10`, `mark != 0x1`, `meta mark & 0xff == 0x2`, `ct mark and 0xf0 != 0`. */
export function nftMatchMarkOps(m: Match, rule: RuleRef): MarkOp[] {
  const e = m.nft;
  if (!e) return [];
  const left = e.left.trim().replace(/\s+/g, ' ');
  const r = new RegExp(`^(meta mark|mark|ct mark)(?: ${NFT_AND} ${NFT_NUM})?$`).exec(left);
  if (!r) return [];
  if (e.op !== '==' && e.op !== '!=' && e.op !== 'implicit') return [];
  const value = parseU32(e.right.trim());
  const mask = r[2] !== undefined ? parseU32(r[2]) : FULL;
  if (value === undefined || mask === undefined) return [];
  const domain: MarkDomain = r[1] === 'ct mark' ? 'ctmark' : 'mark';
  const op = e.op === 'implicit' ? '' : ` ${e.op}`;
  return [{ kind: 'test', domain, value, mask, negated: e.op === '!=', title: `${left}${op} ${e.right.trim()}`, flag: '', range: m.range, rule }];
}

/** What an op does to each bit of its domain (for the save/restore copies, of the written domain). */
export function bitRoles(op: MarkOp): { role: BitRole; bits: number }[] {
  switch (op.kind) {
    case 'xmark':
      return [
        { role: 'set', bits: u32(op.value & op.mask) },
        { role: 'clear', bits: u32(op.mask & ~op.value) },
        { role: 'toggle', bits: u32(op.value & ~op.mask) },
      ];
    case 'save':
      // ctmark bit: in ctmask and nfmask → copied; in ctmask only → cleared; in nfmask only → toggled by mark.
      return [
        { role: 'copy', bits: u32(op.ctmask & op.nfmask) },
        { role: 'clear', bits: u32(op.ctmask & ~op.nfmask) },
        { role: 'toggle', bits: u32(op.nfmask & ~op.ctmask) },
      ];
    case 'restore':
      return [
        { role: 'copy', bits: u32(op.nfmask & op.ctmask) },
        { role: 'clear', bits: u32(op.nfmask & ~op.ctmask) },
        { role: 'toggle', bits: u32(op.ctmask & ~op.nfmask) },
      ];
    case 'test':
      return [{ role: 'test', bits: op.mask }];
  }
}

const MARK_TARGET = /^(CONN)?MARK$/i;
/** A rule's text can hold a mark match or target only if it has "mark" other than inside a dashed
 *  name (`-m mark`, `-jMARK`, `CONNMARK`, `meta mark set`; not `-j KUBE-MARK-MASQ`). */
const MAYBE_MARK = /(?<!-)mark|mark(?!-)/i;

/** The rule's source text (from the start of its range to its end). */
function ruleSource(doc: Pick<DocumentAnalysis, 'text' | 'lineStarts'>, r: Rule): string {
  const { start, end } = r.range;
  const ls = doc.lineStarts;
  if (start.line < 0 || start.line >= ls.length) return '';
  const from = ls[start.line] + start.character;
  const to = end.line < ls.length ? ls[end.line] + end.character : doc.text.length;
  return doc.text.slice(from, Math.max(from, to));
}

export function buildMarkIndex(doc: Pick<DocumentAnalysis, 'text' | 'lineStarts' | 'ruleset'>): MarkIndex {
  return runSteps(buildMarkIndexSteps(doc));
}

/** buildMarkIndex in ~25 ms steps (a 750 000-line dump's rules take ~300 ms to look through). */
export function* buildMarkIndexSteps(doc: Pick<DocumentAnalysis, 'text' | 'lineStarts' | 'ruleset'>): Generator<void, MarkIndex, void> {
  const budget = new TimeSlice();
  let n = 0;
  const ops: MarkOp[] = [];
  const byLine = new Map<number, MarkOp[]>();
  const uses: Record<MarkDomain, BitUse[][]> = {
    mark: Array.from({ length: 32 }, () => []),
    ctmark: Array.from({ length: 32 }, () => []),
  };
  const nft = doc.ruleset.kind === 'nft';
  for (const t of doc.ruleset.tables) {
    for (const c of t.chains) {
      for (const r of c.rules) {
        if ((++n & 255) === 0 && budget.due()) yield;
        // Cheap tests first: almost no rule of a big dump touches a mark, and reading a rule's matches
        // rebuilds it from its line.
        if (!MAYBE_MARK.test(ruleSource(doc, r))) continue;
        let found: MarkOp[];
        if (nft) {
          if (!r.matches.some((m) => m.nft && /mark/.test(m.nft.left)) && !r.actions.some((a) => a.name === 'mark-set' || a.name === 'ct-mark-set')) continue;
          const ref: RuleRef = { table: t, chain: c, rule: r };
          found = [...r.matches.flatMap((m) => nftMatchMarkOps(m, ref)), ...r.actions.flatMap((a) => nftActionMarkOps(a, ref))];
        } else {
          if (!r.matches.some((m) => m.module === 'mark' || m.module === 'connmark') && !r.actions.some((a) => MARK_TARGET.test(a.name))) continue;
          const ref: RuleRef = { table: t, chain: c, rule: r };
          found = [...r.matches.flatMap((m) => matchMarkOps(m, ref)), ...r.actions.flatMap((a) => actionMarkOps(a, ref))];
        }
        if (!found.length) continue;
        byLine.set(r.range.start.line, found);
        for (const op of found) {
          ops.push(op);
          // A save reads the packet mark's nfmask bits; a restore reads the ctmark's ctmask bits.
          for (const { role, bits } of bitRoles(op)) {
            for (let b = 0; b < 32; b++) if ((bits >>> b) & 1) uses[op.domain][b].push({ op, role });
          }
        }
      }
    }
  }
  return { ops, uses, byLine };
}
