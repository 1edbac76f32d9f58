// Parsers for the typed values of iptables options. Each parser returns a model `Value`, or a string
// with the reason the text is not a valid value. They follow what iptables' userspace accepts
// (xtables_strtoui base 0, inet_pton, getservbyname for ports, IFNAMSIZ for interfaces).
// Hot path: no regex construction, no closures per call.
import type { Range, Value } from './ruleset';
import { parseMarkMask } from '../knowledge/marks';
import { PROTOCOLS, SERVICES } from '../knowledge/iptables-names';

export type Parsed = Value | string;

export const U8 = 0xff;
export const U16 = 0xffff;
export const U32 = 0xffffffff;
export const U64 = 18446744073709551615;

const DEC = /^[0-9]+$/;
const HEX = /^0[xX][0-9a-fA-F]+$/;
const OCT = /^0[0-7]+$/;

/** Unsigned number as strtoul(base 0) reads it: decimal, 0x hex, 0 octal. No sign. NaN if not one. */
export function parseUnsigned(text: string): number {
  const n = text.length;
  if (n === 0) return NaN;
  const c0 = text.charCodeAt(0);
  if (c0 < 48 || c0 > 57) return NaN;
  if (n > 1 && c0 === 48) {
    const c1 = text.charCodeAt(1);
    if (c1 === 120 || c1 === 88) {
      if (!HEX.test(text)) return NaN;
      return n > 10 ? Number(BigInt(text)) : parseInt(text.slice(2), 16);
    }
    if (!OCT.test(text)) return NaN;
    return parseInt(text, 8);
  }
  if (n < 10) {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i) - 48;
      if (c < 0 || c > 9) return NaN;
      v = v * 10 + c;
    }
    return v;
  }
  if (!DEC.test(text)) return NaN;
  return Number(text);
}

/** `text` parsed as an unsigned integer in [min, max], or an error. */
export function checkUint(text: string, min: number, max: number): number | string {
  if (text.length && text.charCodeAt(0) === 45) return `"${text}" is negative; expected ${min}..${maxText(max)}`;
  const v = parseUnsigned(text);
  if (Number.isNaN(v)) return `"${text}" is not a number`;
  if (v >= 2 ** 53 || max >= 2 ** 53) {
    // Beyond double precision: compare exactly.
    if (v >= 2 ** 53 && exactBig(text) > (max >= 2 ** 53 ? 18446744073709551615n : BigInt(max))) return `${text} is out of range ${min}..${maxText(max)}`;
    return v;
  }
  if (v > max || v < min) return `${text} is out of range ${min}..${maxText(max)}`;
  return v;
}

function exactBig(text: string): bigint {
  if (text.length > 1 && text[0] === '0' && text[1] !== 'x' && text[1] !== 'X') return BigInt('0o' + text.slice(1));
  return BigInt(text);
}

function maxText(max: number): string {
  return max === U64 ? '18446744073709551615' : String(max);
}

export function numberValue(text: string, range: Range, min: number, max: number): Parsed {
  const v = checkUint(text, min, max);
  return typeof v === 'string' ? v : { kind: 'number', text, range, value: v };
}

/** `a[:b]`, `:b`, `a:`, `:` (open ends take min / max), as the port and spi range options read. */
export function numberRangeValue(text: string, range: Range, min: number, max: number, sep = ':'): Parsed {
  const i = text.indexOf(sep);
  if (i < 0) return numberValue(text, range, min, max);
  const a = i === 0 ? min : checkUint(text.slice(0, i), min, max);
  if (typeof a === 'string') return a;
  const rest = text.slice(i + 1);
  const b = rest.length === 0 ? max : checkUint(rest, min, max);
  if (typeof b === 'string') return b;
  if (a > b) return `range ${text} is reversed (${a} > ${b})`;
  return { kind: 'number-range', text, range, from: a, to: b };
}

// ---------------------------------------------------------------- ports

/** A port number or a service name (tcp/udp names from /etc/services). */
export function portNumber(text: string): number | string {
  const c0 = text.charCodeAt(0);
  if (c0 >= 48 && c0 <= 57) {
    const v = parseUnsigned(text);
    if (Number.isNaN(v)) {
      const s = SERVICES.get(text);
      return s ?? `"${text}" is not a port number or known service name`;
    }
    return v > U16 ? `port ${text} is out of range 0..65535` : v;
  }
  if (c0 === 45) return `port "${text}" is negative`;
  const s = SERVICES.get(text);
  return s ?? `"${text}" is not a port number or known service name`;
}

export function portValue(text: string, range: Range): Parsed {
  const p = portNumber(text);
  return typeof p === 'string' ? p : { kind: 'port', text, range, from: p, to: p };
}

/** tcp/udp/sctp/dccp `--sport`: `p`, `p:q`, `:q`, `p:`, `:`. */
export function portRangeValue(text: string, range: Range): Parsed {
  const i = text.indexOf(':');
  if (i < 0) return portValue(text, range);
  const a = i === 0 ? 0 : portNumber(text.slice(0, i));
  if (typeof a === 'string') return a;
  const rest = text.slice(i + 1);
  const b = rest.length === 0 ? U16 : portNumber(rest);
  if (typeof b === 'string') return b;
  if (a > b) return `port range ${text} is reversed (${a} > ${b})`;
  return { kind: 'port', text, range, from: a, to: b };
}

/** multiport list: up to 15 ports, a range `p:q` counting as two. */
export function portListValue(text: string, range: Range): Parsed {
  const ports: { from: number; to: number }[] = [];
  let slots = 0;
  let start = 0;
  for (let i = 0; i <= text.length; i++) {
    if (i < text.length && text.charCodeAt(i) !== 44) continue;
    const part = text.slice(start, i);
    start = i + 1;
    if (!part) return `empty port in list "${text}"`;
    const p = portRangeValue(part, range);
    if (typeof p === 'string') return p;
    const pr = p as { from: number; to: number };
    ports.push({ from: pr.from, to: pr.to });
    slots += part.indexOf(':') >= 0 ? 2 : 1;
  }
  if (slots > 15) return `too many ports: multiport takes at most 15 (a range counts as 2), got ${slots}`;
  return { kind: 'ports', text, range, ports };
}

/** NAT `--to-ports p[-q]` (numbers; a service name only alone), as REDIRECT and MASQUERADE read it. */
export function natPortsValue(text: string, range: Range): Parsed {
  const r = natPorts(text, false);
  return r !== undefined ? r : { kind: 'port', text, range, from: natFrom, to: natTo };
}

/** `p`, `p-q`, and with `withBase` also `p-q/base` (DNAT port shifting): an error, or undefined with the
 *  range in natFrom/natTo. The range the last successful natPorts() read (scratch: no object per call). */
let natFrom = 0, natTo = 0;

export function natPorts(text: string, withBase: boolean): string | undefined {
  const whole = SERVICES.get(text);
  if (whole !== undefined) { natFrom = natTo = whole; return undefined; }
  const dash = text.indexOf('-', 1);
  if (text.indexOf(':') >= 0) return `bad port "${text}": use a dash for a port range`;
  if (dash < 0) {
    const p = checkUint(text, 0, U16);
    if (typeof p === 'string') return `port ${p}`;
    natFrom = natTo = p;
    return undefined;
  }
  const a = checkUint(text.slice(0, dash), 0, U16);
  if (typeof a === 'string') return `port ${a}`;
  let rest = text.slice(dash + 1);
  const slash = rest.indexOf('/');
  let base: string | undefined;
  if (slash >= 0) {
    base = rest.slice(slash + 1);
    rest = rest.slice(0, slash);
    if (!withBase) return `bad port range "${text}"`;
  }
  const b = checkUint(rest, 0, U16);
  if (typeof b === 'string') return `port range end ${b} (a range takes numbers, not service names)`;
  if (b < a) return `port range ${text} is reversed`;
  if (base !== undefined) {
    const s = SERVICES.get(base);
    if (s === undefined) {
      const bp = checkUint(base, 1, U16);
      if (typeof bp === 'string') return `base port ${bp}`;
    }
  }
  natFrom = a;
  natTo = b;
  return undefined;
}

// ---------------------------------------------------------------- addresses

/** Dotted quad to u32, or -1. */
export function parseIPv4(text: string): number {
  let parts = 0, cur = 0, digits = 0, value = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (!digits || parts === 3) return -1;
      value = value * 256 + cur;
      parts++;
      cur = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      cur = cur * 10 + (c - 48);
      if (++digits > 3 || cur > 255) return -1;
    } else return -1;
  }
  if (!digits || parts !== 3) return -1;
  return value * 256 + cur;
}

/** IPv6 text to 8 groups, or undefined. Accepts `::`, an embedded IPv4 tail. */
export function parseIPv6(text: string): number[] | undefined {
  if (text.length < 2 || text.length > 45) return undefined;
  const dbl = text.indexOf('::');
  if (dbl >= 0 && text.indexOf('::', dbl + 1) >= 0) return undefined;
  const head = dbl >= 0 ? text.slice(0, dbl) : text;
  const tail = dbl >= 0 ? text.slice(dbl + 2) : '';
  const h = head ? groups(head) : [];
  const t = tail ? groups(tail) : [];
  if (!h || !t) return undefined;
  const n = h.length + t.length;
  if (dbl < 0) return n === 8 ? h : undefined;
  if (n > 7) return undefined;
  const out = h.slice();
  for (let i = n; i < 8; i++) out.push(0);
  for (let i = 0; i < t.length; i++) out[8 - t.length + i] = t[i];
  return out;
}

function groups(s: string): number[] | undefined {
  const out: number[] = [];
  let start = 0;
  for (let i = 0; i <= s.length; i++) {
    if (i < s.length && s.charCodeAt(i) !== 58) continue;
    const g = s.slice(start, i);
    if (i === s.length && g.indexOf('.') >= 0) {
      const v4 = parseIPv4(g);
      if (v4 < 0) return undefined;
      out.push(Math.floor(v4 / 65536), v4 % 65536);
      return out;
    }
    if (g.length < 1 || g.length > 4) return undefined;
    let v = 0;
    for (let k = 0; k < g.length; k++) {
      const c = g.charCodeAt(k);
      const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
      if (d < 0) return undefined;
      v = v * 16 + d;
    }
    out.push(v);
    start = i + 1;
  }
  return out;
}

function v4MaskPrefix(mask: number): number {
  // Contiguous mask -> prefix length; -1 for masks such as 255.0.255.0 (iptables accepts them).
  let p = 0;
  while (p < 32 && mask >= 2 ** (31 - p)) {
    mask -= 2 ** (31 - p);
    p++;
  }
  return mask === 0 ? p : -1;
}

function v6MaskPrefix(g: number[]): number {
  let p = 0, i = 0;
  while (i < 8 && g[i] === 0xffff) { p += 16; i++; }
  if (i < 8) {
    let v = g[i];
    let bits = 0;
    while (v & 0x8000) { bits++; v = (v << 1) & 0xffff; }
    if (v !== 0) return -1;
    p += bits;
    i++;
    for (; i < 8; i++) if (g[i] !== 0) return -1;
  }
  return p;
}

const HOSTNAME = /^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/;
const ALL_NUMERIC = /^[0-9.]+$/;
/** A host name never ends in an all-digit label: "10.0.0.1-10.0.0.5" is a mistyped range, not a name. */
const NUMERIC_TLD = /(^|\.)[0-9]+\.?$/;

/** Address with an optional `/prefix` or `/dotted-mask` (v4) or `/v6-mask`, or a hostname (flagged). */
export function addressValue(text: string, range: Range, family: 'ip' | 'ip6', allowMask = true): Parsed {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const maskText = slash < 0 ? undefined : text.slice(slash + 1);
  if (maskText !== undefined && !allowMask) return `"${text}": a plain address is expected here, without a mask`;
  const isV6 = addr.indexOf(':') >= 0;
  if (isV6) {
    if (family === 'ip') return `"${addr}" is an IPv6 address; this is an IPv4 (iptables) rule`;
    if (!parseIPv6(addr)) return `"${addr}" is not a valid IPv6 address`;
  } else if (parseIPv4(addr) < 0) {
    if (ALL_NUMERIC.test(addr) || !HOSTNAME.test(addr) || NUMERIC_TLD.test(addr)) {
      return `"${addr}" is not a valid ${family === 'ip' ? 'IPv4' : 'IPv6'} address${addr.indexOf('-') > 0 && NUMERIC_TLD.test(addr) ? ' (for a range FROM-TO use -m iprange --src-range / --dst-range)' : ''}`;
    }
    const prefix = maskText === undefined ? (family === 'ip' ? 32 : 128) : maskPrefix(maskText, family);
    if (typeof prefix === 'string') return prefix;
    return { kind: 'address', text, range, family, addr, prefix, hostname: true };
  } else if (family === 'ip6') {
    return `"${addr}" is an IPv4 address; this is an IPv6 (ip6tables) rule`;
  }
  const prefix = maskText === undefined ? (family === 'ip' ? 32 : 128) : maskPrefix(maskText, family);
  if (typeof prefix === 'string') return prefix;
  return { kind: 'address', text, range, family, addr, prefix };
}

function maskPrefix(mask: string, family: 'ip' | 'ip6'): number | string {
  const max = family === 'ip' ? 32 : 128;
  if (mask.length && mask.length <= 3 && DEC.test(mask)) {
    const p = Number(mask);
    return p <= max ? p : `prefix length /${mask} is more than ${max}`;
  }
  if (family === 'ip') {
    const m = parseIPv4(mask);
    return m < 0 ? `"/${mask}" is not a prefix length (0..32) or a dotted mask` : v4MaskPrefix(m);
  }
  const g = parseIPv6(mask);
  return g ? v6MaskPrefix(g) : `"/${mask}" is not a prefix length (0..128) or an IPv6 mask`;
}

/** `-s a,b,c`: iptables expands a comma list into one rule per address. */
export function addressListValue(text: string, range: Range, family: 'ip' | 'ip6'): Parsed {
  if (text.indexOf(',') < 0) return addressValue(text, range, family);
  const items: string[] = [];
  let start = 0;
  for (let i = 0; i <= text.length; i++) {
    if (i < text.length && text.charCodeAt(i) !== 44) continue;
    const part = text.slice(start, i);
    start = i + 1;
    const v = addressValue(part, range, family);
    if (typeof v === 'string') return v;
    items.push(part);
  }
  return { kind: 'list', text, range, items };
}

/** iprange `a-b` (b must not be below a). */
export function addressRangeValue(text: string, range: Range, family: 'ip' | 'ip6'): Parsed {
  // A single address is a range of one (iptables accepts it and lists it as A-A).
  const dash = text.indexOf('-');
  const from = dash < 0 ? text : text.slice(0, dash), to = dash < 0 ? text : text.slice(dash + 1);
  const a = addressValue(from, range, family, false);
  if (typeof a === 'string') return a;
  const b = addressValue(to, range, family, false);
  if (typeof b === 'string') return b;
  if ((a as { hostname?: boolean }).hostname || (b as { hostname?: boolean }).hostname) return `"${text}": a range takes numeric addresses`;
  // A reversed range loads (the kernel only warns) and never matches: the iprange check reports it.
  return { kind: 'address-range', text, range, from, to };
}

/** Orders two numeric addresses of the same family (negative: a before b). */
export function compareAddresses(a: string, b: string): number {
  if (a.indexOf(':') < 0) return parseIPv4(a) - parseIPv4(b);
  const x = parseIPv6(a), y = parseIPv6(b);
  if (!x || !y) return 0;
  for (let i = 0; i < 8; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
}

/** Why `text` is not a numeric address of `family` (no mask), or undefined when it is one. */
export function numericAddressError(text: string, family: 'ip' | 'ip6'): string | undefined {
  if (text.indexOf(':') >= 0) {
    if (family === 'ip') return `"${text}" is an IPv6 address; this is an IPv4 (iptables) rule`;
    return parseIPv6(text) ? undefined : `"${text}" is not a valid IPv6 address`;
  }
  if (parseIPv4(text) < 0) return `"${text}" is not a numeric ${family === 'ip' ? 'IPv4' : 'IPv6'} address`;
  return family === 'ip6' ? `"${text}" is an IPv4 address; this is an IPv6 (ip6tables) rule` : undefined;
}

/** DNAT/SNAT `--to-destination [addr[-addr]][:port[-port[/base]]]`, IPv6 in brackets when ports follow. */
export function natToValue(text: string, range: Range, family: 'ip' | 'ip6'): Parsed {
  let addrPart: string;
  let portPart: string | undefined;
  if (text.charCodeAt(0) === 91) {
    if (family === 'ip') return `"${text}": brackets are for IPv6 addresses`;
    const end = text.indexOf(']');
    if (end < 0) return `"${text}": missing "]"`;
    addrPart = text.slice(1, end);
    if (end + 1 < text.length) {
      if (text.charCodeAt(end + 1) !== 58) return `"${text}": expected ":" after "]"`;
      portPart = text.slice(end + 2);
    }
  } else {
    const colon = text.indexOf(':');
    if (colon >= 0 && (family === 'ip' || text.indexOf(':', colon + 1) < 0)) {
      addrPart = text.slice(0, colon);
      portPart = text.slice(colon + 1);
    } else addrPart = text;
  }
  if (portPart !== undefined) {
    const p = natPorts(portPart, true);
    if (p !== undefined) return p;
  }
  if (addrPart) {
    const dash = addrPart.indexOf('-');
    const e1 = numericAddressError(dash < 0 ? addrPart : addrPart.slice(0, dash), family);
    if (e1) return e1;
    if (dash >= 0) {
      const e2 = numericAddressError(addrPart.slice(dash + 1), family);
      if (e2) return e2;
    }
  } else if (portPart === undefined) return 'empty NAT target';
  return { kind: 'word', text, range };
}

// ---------------------------------------------------------------- interfaces, marks, misc

export const IFNAMSIZ = 16;

export function interfaceValue(text: string, range: Range): Parsed {
  if (text.length === 0) return 'empty interface name';
  if (text.length > IFNAMSIZ - 1) return `interface name "${text}" is ${text.length} characters; the kernel allows at most ${IFNAMSIZ - 1}`;
  const wildcard = text.charCodeAt(text.length - 1) === 43;
  return { kind: 'interface', text, range, name: wildcard ? text.slice(0, -1) : text, wildcard };
}

export function markValue(text: string, range: Range): Parsed {
  if (text.charCodeAt(0) === 45) return `mark "${text}" is negative`;
  const m = parseMarkMask(text);
  if (!m) return `"${text}" is not a 32-bit value[/mask] (0..0xffffffff)`;
  return { kind: 'mark', text, range, value: m.value, mask: m.mask, hasMask: m.hasMask };
}

/** `value[/mask]` with a smaller width (tos: 8 bits, devgroup and realm: 32 bits). */
export function maskedValue(text: string, range: Range, max: number, defaultMask = max): Parsed {
  const slash = text.indexOf('/');
  const v = checkUint(slash < 0 ? text : text.slice(0, slash), 0, max);
  if (typeof v === 'string') return v;
  let mask = defaultMask;
  if (slash >= 0) {
    const m = checkUint(text.slice(slash + 1), 0, max);
    if (typeof m === 'string') return `mask ${m}`;
    mask = m;
  }
  return { kind: 'mark', text, range, value: v, mask, hasMask: slash >= 0 };
}

/** Protocol by name (/etc/protocols, case-insensitive) or number 0..255. */
export function protocolNumber(text: string): number | string {
  const c0 = text.charCodeAt(0);
  if (c0 >= 48 && c0 <= 57) {
    const v = checkUint(text, 0, 255);
    return typeof v === 'string' ? `protocol ${v}` : v;
  }
  const p = PROTOCOLS.get(text) ?? PROTOCOLS.get(text.toLowerCase());
  return p ?? `unknown protocol "${text}"`;
}

export function protocolValue(text: string, range: Range): Parsed {
  const p = protocolNumber(text);
  return typeof p === 'string' ? p : { kind: 'number', text, range, value: p };
}

export function macValue(text: string, range: Range): Parsed {
  // Six hex octets separated by ':'.
  let parts = 0, digits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 58) {
      if (!digits) return `"${text}" is not a MAC address (xx:xx:xx:xx:xx:xx)`;
      parts++;
      digits = 0;
    } else if ((c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70)) {
      if (++digits > 2) return `"${text}" is not a MAC address (xx:xx:xx:xx:xx:xx)`;
    } else return `"${text}" is not a MAC address (xx:xx:xx:xx:xx:xx)`;
  }
  if (parts !== 5 || !digits) return `"${text}" is not a MAC address: expected 6 octets`;
  return { kind: 'word', text, range };
}

const FLOAT = /^(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$/;

export function probabilityValue(text: string, range: Range): Parsed {
  if (!FLOAT.test(text)) return `"${text}" is not a probability (a number from 0 to 1)`;
  const v = Number(text);
  if (!(v >= 0 && v <= 1)) return `probability ${text} is not between 0 and 1`;
  return { kind: 'number', text, range, value: v };
}

/** Comma list whose items must be in `allowed` (upper-cased keys when `fold`). */
export function enumListValue(text: string, range: Range, allowed: ReadonlySet<string>, fold: boolean, what: string): Parsed {
  const items: string[] = [];
  let start = 0;
  for (let i = 0; i <= text.length; i++) {
    if (i < text.length && text.charCodeAt(i) !== 44) continue;
    const part = text.slice(start, i);
    start = i + 1;
    if (!allowed.has(fold ? part.toUpperCase() : part)) return `"${part}" is not a valid ${what} (expected ${[...allowed].join(', ')})`;
    items.push(part);
  }
  return { kind: 'list', text, range, items };
}

export function enumValue(text: string, range: Range, allowed: ReadonlySet<string>, fold: boolean, what: string): Parsed {
  if (!allowed.has(fold ? text.toUpperCase() : text)) return `"${text}" is not a valid ${what} (expected ${[...allowed].join(', ')})`;
  return { kind: 'word', text, range };
}

export function stringValue(text: string, range: Range, value: string, maxLen: number, what: string): Parsed {
  if (maxLen > 0 && utf8Length(value) > maxLen) return `${what} is ${utf8Length(value)} bytes; at most ${maxLen} are allowed`;
  return { kind: 'string', text, range, value };
}

export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c <= 0xdbff ? (i++, 4) : 3;
  }
  return n;
}

// ---------------------------------------------------------------- dispatch by option type

import type { ValueType } from '../knowledge/iptables-extensions';
import {
  DSCP_CLASSES, ICMP_TYPES, ICMPV6_TYPES, IPV6_HEADERS, LOG_LEVELS, REJECT_WITH_V4, REJECT_WITH_V6, SCTP_CHUNKS,
  TCP_FLAGS, TCP_OPTION_NAMES, TOS_NAMES, WEEKDAYS, type IcmpType,
} from '../knowledge/iptables-names';

const REJECT4 = new Set(REJECT_WITH_V4);
const REJECT6 = new Set(REJECT_WITH_V6);
const DSCP_CLASS_FOLDED = new Map([...DSCP_CLASSES].map(([k, v]) => [k.toUpperCase(), v]));
const TOS_FOLDED = new Map([...TOS_NAMES].map(([k, v]) => [k.toLowerCase(), v]));
const CHUNK_MODES = new Set(['all', 'any', 'only']);
const SET_DIRS = new Set(['src', 'dst']);
const LIMIT_UNITS = ['second', 'minute', 'hour', 'day'];
const HL_BYTES = /^([0-9]+)(b|kb|mb)\/s$/;
const BURST_BYTES = /^([0-9]+)(b|kb|mb)$/;
const RATEVAL = /^[0-9]+(\.[0-9]+)?([kmgt]?(bit|bps))?$/i;
const INTERVAL = /^[0-9]+(\.[0-9]+)?(s|ms|us)?$/;
const TIME = /^([0-9]{1,2}):([0-9]{1,2})(?::([0-9]{1,2}))?$/;
const DATE = /^([0-9]{4})(?:-([0-9]{1,2})(?:-([0-9]{1,2})(?:T([0-9]{1,2})(?::([0-9]{1,2})(?::([0-9]{1,2}))?)?)?)?)?$/;
const NAME_WORD = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const CLASS = /^([0-9a-fA-F]{1,4}):([0-9a-fA-F]{1,4})$/;
const LABEL_NAME = /^[A-Za-z0-9_.-]+$/;

function listParts(text: string): string[] {
  return text.split(',');
}

function icmpValue(text: string, range: Range, names: ReadonlyMap<string, IcmpType>, what: string): Parsed {
  if (names.has(text)) return { kind: 'word', text, range };
  const slash = text.indexOf('/');
  const t = checkUint(slash < 0 ? text : text.slice(0, slash), 0, 255);
  if (typeof t === 'string') return names === ICMP_TYPES || names === ICMPV6_TYPES ? `"${text}" is not a known ${what} name or number` : t;
  if (slash >= 0) {
    const c = numberRangeValue(text.slice(slash + 1), range, 0, 255);
    if (typeof c === 'string') return `${what} code: ${c}`;
  }
  return { kind: 'word', text, range };
}

/** Parses one argument of an option of type `t`. `arg` is the argument's index (0 or 1) for two-word options. */
export function parseTyped(t: ValueType, text: string, value: string, range: Range, family: 'ip' | 'ip6', arg: number): Parsed {
  switch (t.k) {
    case 'uint': return numberValue(text, range, t.min, t.max);
    case 'urange': return numberRangeValue(text, range, t.min, t.max);
    case 'masked': return maskedValue(text, range, t.max);
    case 'enum': return t.list ? enumListValue(text, range, t.set!, t.fold, t.what) : enumValue(text, range, t.set!, t.fold, t.what);
    case 'string': return stringValue(text, range, value, t.max, 'the text');
    case 'str': case 'helper': return { kind: 'string', text, range, value };
    case 'word': return { kind: 'word', text, range };
    case 'addr': return addressValue(text, range, family);
    case 'addrs': return addressListValue(text, range, family);
    case 'addr1': return addressValue(text, range, family, false);
    case 'arange': return addressRangeValue(text, range, family);
    case 'natto': return natToValue(text, range, family);
    case 'natports': return natPortsValue(text, range);
    case 'port': return portRangeValue(text, range);
    case 'port1': return portValue(text, range);
    case 'portlist': return portListValue(text, range);
    case 'iface': return interfaceValue(text, range);
    case 'mark': return markValue(text, range);
    case 'proto': return protocolValue(text, range);
    case 'mac': return macValue(text, range);
    case 'prob': return probabilityValue(text, range);
    case 'icmp': return icmpValue(text, range, ICMP_TYPES, 'ICMP type');
    case 'icmp6': return icmpValue(text, range, ICMPV6_TYPES, 'ICMPv6 type');
    case 'tcpflags': {
      for (const f of listParts(text)) if (!TCP_FLAGS.has(f.toUpperCase())) return `"${f}" is not a TCP flag (FIN, SYN, RST, PSH, ACK, URG, ECE, CWR, ALL, NONE)`;
      return { kind: 'list', text, range, items: listParts(text) };
    }
    case 'chunks': {
      if (arg === 0) return CHUNK_MODES.has(text) ? { kind: 'word', text, range } : `"${text}" is not all, any or only`;
      for (const f of listParts(text)) {
        const c = f.indexOf(':');
        if (!SCTP_CHUNKS.has((c < 0 ? f : f.slice(0, c)).toUpperCase())) return `"${f}" is not an SCTP chunk type`;
      }
      return { kind: 'list', text, range, items: listParts(text) };
    }
    case 'setflags': {
      if (arg === 0) return text.length > 31 ? `set name "${text}" is longer than 31 characters` : { kind: 'word', text, range };
      const parts = listParts(text);
      if (parts.length > 6) return `at most 6 src/dst flags, got ${parts.length}`;
      for (const f of parts) if (!SET_DIRS.has(f)) return `"${f}" is not src or dst`;
      return { kind: 'list', text, range, items: parts };
    }
    case 'rate': return rateValue(text, range, 10_000);
    case 'hlrate': {
      if (HL_BYTES.test(text)) return { kind: 'word', text, range };
      return rateValue(text, range, 1_000_000);
    }
    case 'burst': {
      if (BURST_BYTES.test(text)) return { kind: 'word', text, range };
      return numberValue(text, range, 1, U32);
    }
    case 'tos': {
      const named = TOS_FOLDED.get(text.toLowerCase());
      if (named !== undefined) return { kind: 'mark', text, range, value: named, mask: 0x3f, hasMask: false };
      const v = maskedValue(text, range, U8);
      return typeof v === 'string' ? `"${text}" is not a TOS value[/mask] (0..255) or TOS name` : v;
    }
    case 'loglevel': {
      if (LOG_LEVELS.has(text.toLowerCase())) return { kind: 'word', text, range };
      const v = checkUint(text, 0, 7);
      return typeof v === 'string' ? `"${text}" is not a log level (0..7 or emerg, alert, crit, err, warning, notice, info, debug)` : { kind: 'number', text, range, value: v };
    }
    case 'time': {
      const m = TIME.exec(text);
      if (!m || Number(m[1]) > 23 || Number(m[2]) > 59 || (m[3] !== undefined && Number(m[3]) > 59)) return `"${text}" is not a time of day hh:mm[:ss]`;
      return { kind: 'word', text, range };
    }
    case 'date': {
      const m = DATE.exec(text);
      if (!m || Number(m[1]) < 1970 || Number(m[1]) > 2038 || (m[2] && (Number(m[2]) < 1 || Number(m[2]) > 12)) || (m[3] && (Number(m[3]) < 1 || Number(m[3]) > 31))) return `"${text}" is not a date YYYY[-MM[-DD[Thh[:mm[:ss]]]]] between 1970 and 2038`;
      return { kind: 'word', text, range };
    }
    case 'monthdays': {
      for (const d of listParts(text)) { const v = checkUint(d, 1, 31); if (typeof v === 'string') return `day of month ${v}`; }
      return { kind: 'list', text, range, items: listParts(text) };
    }
    case 'weekdays': {
      for (const d of listParts(text)) if (!WEEKDAYS.has(d.slice(0, 3).toUpperCase()) && !WEEKDAYS.has(d)) return `"${d}" is not a weekday (Mon..Sun or 1..7)`;
      return { kind: 'list', text, range, items: listParts(text) };
    }
    case 'pfx6': {
      if (text.indexOf('/') < 0) return `"${text}" needs a prefix length (address/len)`;
      return addressValue(text, range, 'ip6');
    }
    case 'prefixlen': return numberValue(text, range, 0, family === 'ip' ? 32 : 128);
    case 'class': {
      const m = CLASS.exec(text);
      return m ? { kind: 'word', text, range } : `"${text}" is not a class MAJOR:MINOR (hex, 16 bits each)`;
    }
    case 'ownerid': {
      if (NAME_WORD.test(text) && !DEC.test(text)) return { kind: 'word', text, range };
      return numberRangeValue(text, range, 0, U32 - 1, '-');
    }
    case 'tcpopts': {
      for (const o of listParts(text)) {
        if (TCP_OPTION_NAMES.has(o)) continue;
        const v = checkUint(o, 2, 255);
        if (typeof v === 'string') return o === '0' || o === '1' ? `TCP option ${o} (end of list / no-op) cannot be stripped` : `"${o}" is not a TCP option name or number 2..255`;
      }
      return { kind: 'list', text, range, items: listParts(text) };
    }
    case 'dscpclass': return DSCP_CLASS_FOLDED.has(text.toUpperCase()) ? { kind: 'word', text, range } : `"${text}" is not a DiffServ class (BE, EF, AF11..AF43, CS0..CS7)`;
    case 'rejectv4': return REJECT4.has(text) ? { kind: 'word', text, range } : `"${text}" is not an IPv4 reject type (${REJECT_WITH_V4.filter((x) => x.includes('-') && x.length > 9).join(', ')})`;
    case 'rejectv6': return REJECT6.has(text) ? { kind: 'word', text, range } : `"${text}" is not an IPv6 reject type (${REJECT_WITH_V6.filter((x) => x.startsWith('icmp6') || x === 'tcp-reset').join(', ')})`;
    case 'hexstr': {
      const n = hexStringLength(value);
      if (typeof n === 'string') return n;
      return n > 128 ? `pattern is ${n} bytes; at most 128 are allowed` : { kind: 'string', text, range, value };
    }
    case 'ip6hdrs': {
      for (const h of listParts(text)) {
        if (IPV6_HEADERS.has(h)) continue;
        const v = checkUint(h, 0, 255);
        if (typeof v === 'string') return `"${h}" is not an IPv6 extension header name or number`;
      }
      return { kind: 'list', text, range, items: listParts(text) };
    }
    case 'optslist': {
      for (const o of listParts(text)) {
        const c = o.indexOf(':');
        const a = checkUint(c < 0 ? o : o.slice(0, c), 0, 255);
        if (typeof a === 'string') return `option type ${a}`;
        if (c >= 0) { const b = checkUint(o.slice(c + 1), 0, 255); if (typeof b === 'string') return `option length ${b}`; }
      }
      return { kind: 'list', text, range, items: listParts(text) };
    }
    case 'rateval': return RATEVAL.test(text) ? { kind: 'word', text, range } : `"${text}" is not a rate (N, Nbit, Nkbit, Nbps...)`;
    case 'interval': return INTERVAL.test(text) ? { kind: 'word', text, range } : `"${text}" is not a time interval (e.g. 250ms, 1s)`;
    case 'label': {
      if (DEC.test(text)) return numberValue(text, range, 0, 127);
      return LABEL_NAME.test(text) ? { kind: 'word', text, range } : `"${text}" is not a label number (0..127) or name`;
    }
    case 'ledDelay': return text === 'inf' ? { kind: 'word', text, range } : numberValue(text, range, 0, U32);
    case 'u32expr': return value.length ? { kind: 'string', text, range, value } : 'empty u32 expression';
    case 'zone': {
      if (text === 'mark') return { kind: 'word', text, range };
      return numberValue(text, range, 0, U16);
    }
    case 'qbalance': {
      const c = text.indexOf(':');
      if (c < 0) return `"${text}" is not a queue range FROM:TO`;
      const a = c === 0 ? 0 : checkUint(text.slice(0, c), 0, U16);
      if (typeof a === 'string') return a;
      const b = c === text.length - 1 ? U16 - 1 : checkUint(text.slice(c + 1), 0, U16 - 1);
      if (typeof b === 'string') return `${b} (a balance spans at most 65535 queues)`;
      if (a >= b) return `queue range ${text}: FROM must be below TO`;
      return { kind: 'number-range', text, range, from: a, to: b };
    }
  }
  return { kind: 'word', text, range };
}

const UNIT_SECONDS = [1, 60, 3600, 86400];

/** `N[/second|minute|hour|day]` (any prefix of the unit); iptables keeps the interval in units of
 *  1/scale seconds, so more than `scale` per second is "too fast". */
function rateValue(text: string, range: Range, scale: number): Parsed {
  const slash = text.indexOf('/');
  const n = checkUint(slash < 0 ? text : text.slice(0, slash), 1, U32);
  if (typeof n === 'string') return `rate ${n}`;
  let unit = 0;
  if (slash >= 0) {
    const u = text.slice(slash + 1).toLowerCase();
    unit = u ? LIMIT_UNITS.findIndex((w) => w.startsWith(u)) : -1;
    if (unit < 0) return `"${text}": the unit is /second, /minute, /hour or /day`;
  }
  if (n > scale * UNIT_SECONDS[unit]) return `rate ${text} is too fast: at most ${scale * UNIT_SECONDS[unit]}/${LIMIT_UNITS[unit]}`;
  return { kind: 'word', text, range };
}

/** Byte length of a --hex-string pattern ("abc|0d 0a|def"), or why it is malformed. */
export function hexStringLength(s: string): number | string {
  let n = 0, inHex = false, digits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '|') {
      if (inHex && digits % 2) return 'odd number of hex digits between | |';
      inHex = !inHex;
      digits = 0;
      continue;
    }
    if (inHex) {
      if (c === ' ') continue;
      if (!/[0-9a-fA-F]/.test(c)) return `"${c}" is not a hex digit`;
      if (++digits % 2 === 0) n++;
    } else {
      if (c === '\\' && i + 1 < s.length) i++;
      n++;
    }
  }
  return inHex ? 'unterminated | in hex string' : n;
}
