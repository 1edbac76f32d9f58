// Mark arithmetic shared by hover, analysis and the packet walk. All values are unsigned 32-bit.
// Formulas from the xt_MARK / xt_CONNMARK kernel targets (see shared notes, netfilter-semantics).

export const FULL = 0xffffffff;

export const u32 = (x: number): number => x >>> 0;

export function hex(x: number): string {
  return '0x' + u32(x).toString(16);
}

/** Parses a number as iptables does (strtoul base 0: 0x.., 0.., decimal). Undefined if not a u32. */
export function parseU32(text: string): number | undefined {
  if (!/^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.test(text)) return undefined;
  const v = text.length > 1 && text[0] === '0' && text[1] !== 'x' && text[1] !== 'X' ? parseInt(text, 8) : Number(text);
  return Number.isInteger(v) && v >= 0 && v <= FULL ? v : undefined;
}

/** `value[/mask]` as written after --mark, --set-xmark, --set-mark. */
export function parseMarkMask(text: string): { value: number; mask: number; hasMask: boolean } | undefined {
  const slash = text.indexOf('/');
  const v = parseU32(slash < 0 ? text : text.slice(0, slash));
  if (v === undefined) return undefined;
  if (slash < 0) return { value: v, mask: FULL, hasMask: false };
  const m = parseU32(text.slice(slash + 1));
  return m === undefined ? undefined : { value: v, mask: m, hasMask: true };
}

/** MARK/CONNMARK --set-xmark V/M: mark = (mark AND NOT M) XOR V. */
export function xmark(mark: number, value: number, mask: number): number {
  return u32((mark & ~mask) ^ value);
}

/** -m mark / -m connmark --mark V/M, and ip rule fwmark V/M: (mark AND M) == V. */
export function markMatches(mark: number, value: number, mask: number): boolean {
  return u32(mark & mask) === u32(value);
}

/** CONNMARK --save-mark: ctmark = (ctmark AND NOT ctmask) XOR (mark AND nfmask). */
export function saveMark(ctmark: number, mark: number, nfmask = FULL, ctmask = FULL): number {
  return u32((ctmark & ~ctmask) ^ (mark & nfmask));
}

/** CONNMARK --restore-mark: mark = (mark AND NOT nfmask) XOR (ctmark AND ctmask). */
export function restoreMark(mark: number, ctmark: number, nfmask = FULL, ctmask = FULL): number {
  return u32((mark & ~nfmask) ^ (ctmark & ctmask));
}

/** The xmark (value, mask) pair equivalent to each MARK/CONNMARK shorthand, as iptables-save prints it. */
export const shorthand = {
  setMark: (v: number, m = FULL) => ({ value: u32(v), mask: u32(m | v) }),
  andMark: (b: number) => ({ value: 0, mask: u32(~b) }),
  orMark: (b: number) => ({ value: u32(b), mask: u32(b) }),
  xorMark: (b: number) => ({ value: u32(b), mask: 0 }),
};

export type BitEffect = 'set' | 'clear' | 'toggle' | 'keep';

/** What --set-xmark V/M does to each bit: M&V set, M&~V clear, ~M&V toggle, else keep. */
export function xmarkBitEffect(value: number, mask: number, bit: number): BitEffect {
  const b = u32(1 << bit);
  const inV = (value & b) !== 0;
  const inM = (mask & b) !== 0;
  if (inM) return inV ? 'set' : 'clear';
  return inV ? 'toggle' : 'keep';
}

export function bitsOf(x: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < 32; i++) if ((u32(x) >>> i) & 1) out.push(i);
  return out;
}

/** A plain sentence for --set-xmark V/M ("sets bit 0x200, leaves all other bits"). */
export function describeXmark(value: number, mask: number): string {
  value = u32(value);
  mask = u32(mask);
  const set = u32(value & mask), clear = u32(mask & ~value), toggle = u32(value & ~mask);
  if (mask === FULL) return `overwrites the whole mark with ${hex(value)}`;
  const parts: string[] = [];
  const bits = (x: number) => (bitsOf(x).length === 1 ? `bit ${hex(x)}` : `bits ${hex(x)}`);
  if (set) parts.push(`sets ${bits(set)}`);
  if (clear) parts.push(`clears ${bits(clear)}`);
  if (toggle) parts.push(`toggles ${bits(toggle)}`);
  if (!parts.length) return 'changes nothing';
  const untouched = u32(~(mask | value));
  parts.push(untouched === 0 ? 'touches every bit' : set | clear | toggle ? 'leaves all other bits' : '');
  return parts.filter(Boolean).join(', ');
}
