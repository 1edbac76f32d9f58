// `ipset save` and `ipset list` output → ipset model. Both forms may be mixed in one file. A bad line
// gets a diagnostic with its range and is left out; the rest is kept. Never throws.
//
//   save:  create NAME TYPE [family inet|inet6] [OPTION VALUE|FLAG]...      add NAME ELEMENT [OPTION VALUE]...
//   list:  Name: NAME / Type: TYPE / Revision: N / Header: OPTIONS / Size in memory: N / References: N /
//          Number of entries: N / Members: / one ELEMENT [OPTIONS] per line
import type { Diagnostic, Range } from '../model/ruleset';
import type { Parsed } from '../model/routing';
import { ipsetTypeDims, type Ipset, type IpsetMember } from '../model/ipset';
import { readWordLines, span, type Word, type WordLine } from './iproute-lexer';

/** Characters lexed at a time (whole lines). */
const CHUNK = 1 << 18;

/** Create options that take no value. */
const CREATE_FLAGS = new Set(['counters', 'comment', 'skbinfo', 'forceadd', 'bucketsize_', '-exist']);
/** Element options with a value; `nomatch` is a flag. */
const MEMBER_VALUE_OPTS = new Set(['timeout', 'packets', 'bytes', 'comment', 'skbmark', 'skbprio', 'skbqueue']);

function d(diags: Diagnostic[], range: Range, code: string, message: string, severity: Diagnostic['severity'] = 'error'): void {
  diags.push({ range, severity, code, message });
}

function newSet(name: Word, type: Word | undefined, range: Range, diags: Diagnostic[]): Ipset {
  const t = type?.value ?? '';
  const { method, dims, known } = ipsetTypeDims(t);
  if (!type) d(diags, name.range, 'ipset-type', `set "${name.value}" without a type`);
  else if (!known) d(diags, type.range, 'unknown-ipset-type', `unknown set type "${t}"`, 'warning');
  return { name: name.value, type: t, method, dims, known, family: 'ip', options: [], members: [], range, nameRange: name.range };
}

function readOptions(set: Ipset, words: Word[], diags: Diagnostic[]): void {
  for (let i = 0; i < words.length; i++) {
    const k = words[i].value;
    if (CREATE_FLAGS.has(k)) { set.options.push({ key: k, value: '' }); continue; }
    const v = words[i + 1];
    if (!v) { d(diags, words[i].range, 'missing-value', `"${k}" needs a value`); continue; }
    i++;
    if (k === 'family') {
      if (v.value === 'inet' || v.value === 'inet6') set.family = v.value === 'inet6' ? 'ip6' : 'ip';
      else d(diags, v.range, 'bad-family', `unknown family "${v.value}"`);
    }
    set.options.push({ key: k, value: v.value });
  }
}

function readMember(words: Word[], diags: Diagnostic[]): IpsetMember {
  const el = words[0];
  const m: IpsetMember = { text: el.value, parts: el.value.split(','), nomatch: false, options: [], range: el.range };
  for (let i = 1; i < words.length; i++) {
    const k = words[i].value;
    if (k === 'nomatch') { m.nomatch = true; continue; }
    if (MEMBER_VALUE_OPTS.has(k) && words[i + 1]) { m.options.push({ key: k, value: words[++i].value }); continue; }
    d(diags, words[i].range, 'unknown-keyword', `unknown element option "${k}"`, 'warning');
  }
  return m;
}

export function parseIpsets(text: string, opts: { lineOffset?: number } = {}): Parsed<Ipset[]> {
  const diagnostics: Diagnostic[] = [];
  const sets: Ipset[] = [];
  const byName = new Map<string, Ipset>();
  // `ipset list` state: the set being listed, and whether we are past "Members:".
  let listed: Ipset | undefined;
  let inMembers = false;
  const readLine = (l: WordLine): void => {
    if (l.comment || !l.words.length) return;
    const w = l.words;
    const k = w[0].value;
    if (k === 'create' || k === 'add' || k === '-N' || k === '-A') {
      listed = undefined;
      inMembers = false;
      const name = w[1];
      if (!name) { d(diagnostics, l.range, 'missing-value', `"${k}" needs a set name`); return; }
      if (k === 'create' || k === '-N') {
        if (byName.has(name.value)) { d(diagnostics, name.range, 'duplicate-set', `set "${name.value}" is created twice`); return; }
        const s = newSet(name, w[2], l.range, diagnostics);
        readOptions(s, w.slice(3), diagnostics);
        sets.push(s);
        byName.set(s.name, s);
      } else {
        const s = byName.get(name.value);
        if (!s) { d(diagnostics, name.range, 'undefined-set', `"add" to set "${name.value}" that was not created`); return; }
        if (!w[2]) { d(diagnostics, l.range, 'missing-value', '"add" needs an element'); return; }
        s.members.push(readMember(w.slice(2), diagnostics));
      }
      return;
    }
    if (k === 'Name:') {
      inMembers = false;
      const name = w[1];
      if (!name) { d(diagnostics, l.range, 'missing-value', '"Name:" without a name'); listed = undefined; return; }
      listed = { name: name.value, type: '', method: '', dims: [], known: false, family: 'ip', options: [], members: [], range: l.range, nameRange: name.range };
      sets.push(listed);
      byName.set(listed.name, listed);
      return;
    }
    if (!listed) { d(diagnostics, l.range, 'syntax', `unexpected line: expected "create", "add" or "Name:"`); return; }
    if (inMembers) {
      listed.members.push(readMember(w, diagnostics));
      listed.range = { start: listed.range!.start, end: l.range.end };
      return;
    }
    listed.range = { start: listed.range!.start, end: l.range.end };
    switch (k) {
      case 'Type:': {
        const t = newSet({ ...w[0], value: listed.name, range: listed.nameRange! }, w[1], l.range, diagnostics);
        Object.assign(listed, { type: t.type, method: t.method, dims: t.dims, known: t.known });
        break;
      }
      case 'Header:': readOptions(listed, w.slice(1), diagnostics); break;
      case 'Members:': inMembers = true; break;
      case 'Revision:': case 'References:': break;
      default:
        if (k === 'Size' || k === 'Number' || k === 'Initval:') break; // "Size in memory:", "Number of entries:"
        d(diagnostics, span(w[0], w[w.length - 1]), 'unknown-keyword', `unknown ipset list line "${k}"`, 'warning');
    }
  };
  // In chunks of whole lines: the words of a 1 000 000-line save, lexed at once, took a 2.5 GB heap.
  let lineOffset = opts.lineOffset ?? 0;
  for (let at = 0; ; ) {
    let end = Math.min(text.length, at + CHUNK);
    if (end < text.length) {
      const nl = text.indexOf('\n', end);
      end = nl < 0 ? text.length : nl + 1;
    }
    const chunk = text.slice(at, end);
    const read = readWordLines(chunk, lineOffset);
    for (const x of read.diagnostics) diagnostics.push(x);
    for (const l of read.lines) readLine(l);
    if (end >= text.length) break;
    for (let i = chunk.indexOf('\n'); i >= 0; i = chunk.indexOf('\n', i + 1)) lineOffset++;
    at = end;
  }
  return { value: sets, diagnostics };
}
