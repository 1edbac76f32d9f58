// Hover text for mark operations: the formula with the actual numbers, a bit table, worked examples,
// a plain sentence, and which other rules of the file set or test the same bits.
import { bitsOf, describeXmark, FULL, hex, markMatches, restoreMark, saveMark, u32, xmark } from '../knowledge/marks';
import { ruleText, type DocumentAnalysis } from './document';
import { bitRoles, type BitRole, type MarkDomain, type MarkOp } from './mark-index';

const DOMAIN_NAME: Record<MarkDomain, string> = { mark: 'packet mark', ctmark: 'conntrack mark' };
const VAR: Record<MarkDomain, string> = { mark: 'mark', ctmark: 'ctmark' };

/** An incoming mark that shows both kept and changed bits: the first of a few round values whose bit
 *  the operation leaves alone (0x10 unless the operation touches it). */
export function exampleMark(touched: number): number {
  for (const c of [0x10, 0x1, 0x100, 0x1000, 0x10000, 0x80000000]) if ((touched & c) === 0) return c;
  return 0x10;
}

function code(s: string): string {
  return '`' + s + '`';
}

function bitsText(x: number): string {
  x = u32(x);
  if (x === 0) return '—';
  if (x === FULL) return 'all (0xffffffff)';
  return hex(x);
}

function bitTable(rows: [string, number][]): string {
  const lines = ['| effect | bits |', '|---|---|'];
  for (const [label, bits] of rows) if (bits) lines.push(`| ${label} | ${bitsText(bits)} |`);
  return lines.join('\n');
}

export function xmarkSentence(domain: MarkDomain, value: number, mask: number): string {
  const s = describeXmark(value, mask);
  return domain === 'ctmark' ? s.replace('the whole mark', 'the whole conntrack mark') : s;
}

function renderXmark(op: Extract<MarkOp, { kind: 'xmark' }>): string[] {
  const v = VAR[op.domain];
  const { value, mask } = op;
  const out: string[] = [];
  out.push(`**${op.title}** — ${DOMAIN_NAME[op.domain]}`);
  out.push('```\n' + `${v} = (${v} AND NOT ${hex(mask)}) XOR ${hex(value)}` + '\n```');
  if (op.flag.replace(/^-+/, '') !== 'set-xmark') out.push(`The same as ${code(`${op.domain === 'mark' ? 'MARK' : 'CONNMARK'} --set-xmark ${hex(value)}/${hex(mask)}`)}.`);
  out.push(`In words: ${xmarkSentence(op.domain, value, mask)}.`);
  out.push(bitTable([
    ['set to 1', u32(value & mask)],
    ['cleared to 0', u32(mask & ~value)],
    ['toggled', u32(value & ~mask)],
    ['kept', u32(~(mask | value))],
  ]));
  const ex = exampleMark(u32(mask | value));
  const rows = [`| ${v} before | ${v} after |`, '|---|---|'];
  for (const m of [0, ex, FULL]) rows.push(`| ${hex(m)} | ${hex(xmark(m, value, mask))} |`);
  out.push(rows.join('\n'));
  return out;
}

function renderCopy(op: Extract<MarkOp, { kind: 'save' | 'restore' }>): string[] {
  const out: string[] = [];
  const { nfmask, ctmask } = op;
  if (op.kind === 'save') {
    out.push(`**${op.title}** — copies the packet mark into the conntrack mark`);
    out.push('```\n' + `ctmark = (ctmark AND NOT ${hex(ctmask)}) XOR (mark AND ${hex(nfmask)})` + '\n```');
    out.push(`In words: ${copySentence('packet mark', 'conntrack mark', nfmask, ctmask, true)}.`);
    out.push(bitTable([
      ['copied from the packet mark', u32(ctmask & nfmask)],
      ['cleared to 0', u32(ctmask & ~nfmask)],
      ['toggled where the packet mark has a 1', u32(nfmask & ~ctmask)],
      ['kept', u32(~(ctmask | nfmask))],
    ]));
    const ex = exampleMark(u32(ctmask | nfmask));
    const rows = ['| mark | ctmark before | ctmark after |', '|---|---|---|'];
    for (const [m, c] of [[0, 0], [u32(nfmask | ex), 0], [0, u32(ctmask | ex)]]) rows.push(`| ${hex(m)} | ${hex(c)} | ${hex(saveMark(c, m, nfmask, ctmask))} |`);
    out.push(rows.join('\n'));
  } else {
    out.push(`**${op.title}** — copies the conntrack mark into the packet mark`);
    out.push('```\n' + `mark = (mark AND NOT ${hex(nfmask)}) XOR (ctmark AND ${hex(ctmask)})` + '\n```');
    out.push(`In words: ${copySentence('conntrack mark', 'packet mark', ctmask, nfmask, false)}.`);
    out.push(bitTable([
      ['copied from the conntrack mark', u32(nfmask & ctmask)],
      ['cleared to 0', u32(nfmask & ~ctmask)],
      ['toggled where the conntrack mark has a 1', u32(ctmask & ~nfmask)],
      ['kept', u32(~(ctmask | nfmask))],
    ]));
    const ex = exampleMark(u32(ctmask | nfmask));
    const rows = ['| ctmark | mark before | mark after |', '|---|---|---|'];
    for (const [c, m] of [[0, 0], [u32(ctmask | ex), 0], [0, u32(nfmask | ex)]]) rows.push(`| ${hex(c)} | ${hex(m)} | ${hex(restoreMark(m, c, nfmask, ctmask))} |`);
    out.push(rows.join('\n'));
  }
  return out;
}

/** `readMask` selects bits of the source, `writeMask` the bits of the destination that are replaced. */
function copySentence(from: string, to: string, readMask: number, writeMask: number, _save: boolean): string {
  const both = u32(readMask & writeMask);
  if (readMask === FULL && writeMask === FULL) return `replaces the whole ${to} with the ${from}`;
  const parts: string[] = [];
  if (both) parts.push(`copies ${bitsOf(both).length === 1 ? 'bit' : 'bits'} ${hex(both)} of the ${from} into the ${to}`);
  const clear = u32(writeMask & ~readMask);
  if (clear) parts.push(`clears bits ${hex(clear)} of the ${to}`);
  const toggle = u32(readMask & ~writeMask);
  if (toggle) parts.push(`toggles bits ${hex(toggle)} of the ${to} where the ${from} has a 1`);
  const kept = u32(~(readMask | writeMask));
  if (kept) parts.push('leaves all other bits');
  return parts.join(', ') || 'changes nothing';
}

export function testSentence(domain: MarkDomain, value: number, mask: number, negated: boolean): string {
  const name = DOMAIN_NAME[domain];
  value = u32(value);
  mask = u32(mask);
  if (u32(value & ~mask) !== 0) {
    return negated
      ? `always matches: ${hex(value)} has bits outside the mask ${hex(mask)}, so (${VAR[domain]} AND ${hex(mask)}) can never equal it`
      : `never matches: ${hex(value)} has bits outside the mask ${hex(mask)}, so (${VAR[domain]} AND ${hex(mask)}) can never equal it`;
  }
  let s: string;
  if (mask === FULL) s = `the ${name} is exactly ${hex(value)}`;
  else if (mask === 0) return negated ? 'never matches (the mask is 0)' : 'always matches (the mask is 0)';
  else if (value === mask) s = bitsOf(mask).length === 1 ? `bit ${hex(mask)} of the ${name} is set` : `bits ${hex(mask)} of the ${name} are all set`;
  else if (value === 0) s = bitsOf(mask).length === 1 ? `bit ${hex(mask)} of the ${name} is clear` : `bits ${hex(mask)} of the ${name} are all clear`;
  else s = `within bits ${hex(mask)}, the ${name} is ${hex(value)} (bits ${hex(value)} set, bits ${hex(u32(mask & ~value))} clear)`;
  const rest = mask === FULL ? '' : ', whatever the other bits are';
  return negated ? `matches unless ${s}${rest}` : `matches when ${s}${rest}`;
}

function renderTest(op: Extract<MarkOp, { kind: 'test' }>): string[] {
  const v = VAR[op.domain];
  const out: string[] = [];
  out.push(`**${op.title}** — tests the ${DOMAIN_NAME[op.domain]}`);
  out.push('```\n' + `(${v} AND ${hex(op.mask)}) ${op.negated ? '!=' : '=='} ${hex(op.value)}` + '\n```');
  out.push(`In words: ${testSentence(op.domain, op.value, op.mask, op.negated)}.`);
  const ex = exampleMark(op.mask);
  const rows = [`| ${v} | matches |`, '|---|---|'];
  const samples = [0, op.value, u32(op.value ^ (op.mask & -op.mask)), u32(op.value | ex), FULL].filter((x, i, a) => a.indexOf(x) === i);
  for (const m of samples) rows.push(`| ${hex(m)} | ${markMatches(m, op.value, op.mask) !== op.negated ? 'yes' : 'no'} |`);
  out.push(rows.join('\n'));
  return out;
}

const ROLE_WORDS: Record<BitRole, string> = {
  set: 'set by',
  clear: 'cleared by',
  toggle: 'toggled by',
  copy: 'copied in by',
  test: 'tested by',
};

const MAX_LINKS = 8;

/** For each bit the op involves: which rules of the file set, clear, copy or test it. */
function bitUses(doc: DocumentAnalysis, op: MarkOp): string[] {
  // The bits worth listing: a full-mask overwrite involves every bit, but only its 1 bits are news.
  let bits = 0;
  for (const r of bitRoles(op)) bits |= r.bits;
  if (op.kind === 'xmark' && op.mask === FULL) bits = op.value;
  if (op.kind === 'test' && op.mask === FULL) bits = op.value;
  bits = u32(bits);
  const list = bitsOf(bits);
  if (!list.length || list.length > 8) return [];
  const out: string[] = [];
  const domains: MarkDomain[] = op.kind === 'save' || op.kind === 'restore' ? ['mark', 'ctmark'] : [op.domain];
  for (const domain of domains) {
    for (const b of list) {
      const uses = doc.marks.uses[domain][b];
      const lines: string[] = [];
      for (const role of ['set', 'toggle', 'copy', 'clear', 'test'] as BitRole[]) {
        const us = uses.filter((u) => u.role === role);
        if (!us.length) continue;
        const shown = us.slice(0, MAX_LINKS).map((u) => link(doc, u.op));
        const more = us.length > MAX_LINKS ? ` and ${us.length - MAX_LINKS} more` : '';
        lines.push(`- ${ROLE_WORDS[role]}: ${shown.join(', ')}${more}`);
      }
      out.push(`**Bit ${hex(u32(1 << b))} of the ${DOMAIN_NAME[domain]}** in this file:\n` + (lines.length ? lines.join('\n') : '- no rule sets or tests it'));
    }
  }
  return out;
}

function link(doc: DocumentAnalysis, op: MarkOp): string {
  const line = op.rule.rule.range.start.line + 1;
  const title = ruleText(doc, op.rule.rule).replace(/["\\]/g, "'");
  return `[line ${line}](${doc.uri}#L${line} "${title}")`;
}

export function markHover(doc: DocumentAnalysis, op: MarkOp): string {
  const parts = op.kind === 'xmark' ? renderXmark(op) : op.kind === 'test' ? renderTest(op) : renderCopy(op);
  return [...parts, ...bitUses(doc, op)].join('\n\n');
}
