// Builds the ruleset model from an iptables-save / restore / `-S` document.
import { parseIptablesDocument, parseIptablesSteps, type IptLine, type RuleItem } from '../syntax/iptables-parser';
import { builtinHook, builtinPriority, isBuiltinChain, MAX_CHAIN_NAME, TABLE_BUILTINS } from '../knowledge/iptables-tables';
import { buildRule, type RuleContext } from './iptables-rule';
import { isKnownOptionFlag } from '../knowledge/iptables-extensions';
import { LineRange, spanRange, type Chain, type Diagnostic, type FileKind, type Range, type Rule, type Ruleset, type Table } from './ruleset';
import { runSteps } from '../steps';
import { IptablesLineRule, RuleSource } from './iptables-line-rule';

const COMMANDS: Record<string, string> = {
  '-A': 'append', '--append': 'append',
  '-I': 'insert', '--insert': 'insert',
  '-D': 'delete', '--delete': 'delete',
  '-R': 'replace', '--replace': 'replace',
  '-N': 'new-chain', '--new-chain': 'new-chain',
  '-X': 'delete-chain', '--delete-chain': 'delete-chain',
  '-F': 'flush', '--flush': 'flush',
  '-Z': 'zero', '--zero': 'zero',
  '-P': 'policy', '--policy': 'policy',
  '-E': 'rename-chain', '--rename-chain': 'rename-chain',
};

export interface IptablesOptions {
  kind: 'iptables-save' | 'iptables-S';
  family?: 'ip' | 'ip6';
  /** Keep every rule's matches and actions as built (plain objects) instead of rebuilding them from the
   *  line when read: for tests that compare the two. */
  eager?: boolean;
}

function err(diags: Diagnostic[], range: Range, code: string, message: string, severity: Diagnostic['severity'] = 'error') {
  diags.push({ range, severity, code, message });
}

const span = spanRange;

/** The table named by a shell-prompt comment such as `# iptables -S -t raw` or `$ iptables -t nat -S`. */
function tableHint(comment: string): string | undefined {
  if (!/ip6?tables/.test(comment)) return undefined;
  const m = /(?:-t|--table)[ =]?(\w+)/.exec(comment);
  return m ? m[1] : /\s-S\b|--list-rules/.test(comment) ? 'filter' : undefined;
}

/** Guess the table of a `-S` listing that names none, from the built-in chains its `-P` lines set. */
function guessTableFromPolicies(lines: IptLine[]): string {
  const seen = new Set<string>();
  for (const l of lines) {
    if (l.kind === 'comment' && tableHint(l.text)) return 'filter';
    if (l.kind === 'command' && (l.items[0]?.text === '-P' || l.items[0]?.text === '--policy') && l.items[1]) seen.add(l.items[1].value);
  }
  if (seen.has('PREROUTING') || seen.has('POSTROUTING')) {
    if (seen.has('FORWARD')) return 'mangle';
    if (seen.has('INPUT') || seen.has('POSTROUTING')) return 'nat';
    return 'raw';
  }
  return 'filter';
}

export function buildIptablesRuleset(text: string, opts: IptablesOptions): Ruleset {
  return runSteps(buildIptablesSteps(text, opts));
}

/** buildIptablesRuleset one parser chunk per step; yields the share of the text read (0..1). */
export function* buildIptablesSteps(text: string, opts: IptablesOptions): Generator<number, Ruleset, void> {
  const diagnostics: Diagnostic[] = [];
  const family = opts.family ?? guessFamily(text);
  const savedBy = SAVED_BY.exec(text.slice(0, 2000));
  const saverVersion = savedBy ? Number(savedBy[1]) * 10000 + Number(savedBy[2]) * 100 + Number(savedBy[3]) : undefined;
  /** Chains declared since the current `*table` line: a table block may re-declare its chains. */
  const declaredInBlock = new Set<string>();
  const tables: Table[] = [];
  const rs: Ruleset = { kind: opts.kind as FileKind, family, tables, variables: [], includes: [], diagnostics };
  const isSave = opts.kind === 'iptables-save';
  const source = new RuleSource(text);

  let table: Table | undefined;
  let committed = true;
  let tableHeaderRange: Range | undefined;
  const chainIndex = new Map<Table, Map<string, Chain>>();
  const ctxCache = new Map<Chain, RuleContext>();

  const openTable = (name: string, nameRange: Range, range: Range): Table => {
    let t = tables.find((x) => x.name === name);
    if (!t) {
      t = { name, family, nameRange, range, chains: [], sets: [], objects: [] };
      tables.push(t);
      chainIndex.set(t, new Map());
      if (!isSave) for (const b of TABLE_BUILTINS[name] ?? []) addChain(t, b, nameRange, true);
    }
    return t;
  };

  const addChain = (t: Table, name: string, at: Range, declared: boolean): Chain => {
    const idx = chainIndex.get(t)!;
    let c = idx.get(name);
    if (!c) {
      const builtin = isBuiltinChain(t.name, name);
      c = {
        name,
        nameRange: at,
        declarations: declared ? [at] : [],
        range: at,
        builtin,
        rules: [],
      };
      if (builtin) {
        c.hook = builtinHook(name);
        c.priority = builtinPriority(t.name, name);
        c.type = t.name === 'nat' ? 'nat' : t.name === 'mangle' && name === 'OUTPUT' ? 'route' : 'filter';
      }
      idx.set(name, c);
      t.chains.push(c);
    } else if (declared) {
      c.declarations.push(at);
    }
    return c;
  };

  const currentTable = (at: Range): Table | undefined => {
    if (table) return table;
    if (isSave) {
      err(diagnostics, at, 'no-table', 'rule outside a table: expected a "*filter" (or *nat, *mangle, *raw, *security) line first');
      return undefined;
    }
    table = openTable('filter', at, at);
    return table;
  };

  const handleLine = (line: IptLine): void => {
    switch (line.kind) {
      case 'comment': {
        if (!isSave) {
          const hint = tableHint(line.text);
          if (hint) {
            if (!TABLE_BUILTINS[hint]) err(diagnostics, line.range, 'unknown-table', `unknown table "${hint}"`);
            else table = openTable(hint, line.range, line.range);
          }
        }
        break;
      }
      case 'table': {
        if (!committed && table && tableHeaderRange) {
          err(diagnostics, tableHeaderRange, 'missing-commit', `table "${table.name}" is not closed by COMMIT before "*${line.name}"`);
        }
        if (!TABLE_BUILTINS[line.name]) {
          err(diagnostics, line.nameRange, 'unknown-table', `unknown table "${line.name}": expected filter, nat, mangle, raw or security`);
        }
        if (tables.some((t) => t.name === line.name)) {
          err(diagnostics, line.range, 'duplicate-table', `table "${line.name}" appears twice; iptables-restore replaces the first with the second`, 'warning');
        }
        table = openTable(line.name, line.nameRange, line.range);
        committed = false;
        tableHeaderRange = line.range;
        declaredInBlock.clear();
        break;
      }
      case 'chain': {
        const t = currentTable(line.range);
        if (!t) break;
        if (committed && isSave) err(diagnostics, line.range, 'no-table', 'chain declaration after COMMIT: expected a "*table" line first');
        checkChainName(line.name, line.nameRange, diagnostics);
        const existing = chainIndex.get(t)!.get(line.name);
        if (existing && existing.declarations.length && (!isSave || declaredInBlock.has(line.name))) {
          // Seen with real loads: the nf_tables backend takes the second declaration, legacy refuses it.
          err(diagnostics, line.nameRange, 'duplicate-chain', `chain "${line.name}" is declared twice in table "${t.name}"; iptables-legacy-restore refuses this ("File exists"), the nf_tables backend ignores it`, 'warning');
        }
        declaredInBlock.add(line.name);
        const c = addChain(t, line.name, line.nameRange, true);
        c.nameRange = c.declarations[0];
        c.range = span(line.range, line.range);
        c.counters = line.counters;
        if (c.builtin) {
          if (line.policy === undefined) {
            err(diagnostics, line.range, 'bad-policy', `built-in chain ${line.name} needs a policy (ACCEPT or DROP)`);
          } else if (line.policy === '-') {
            // Both backends load it and leave the chain's current policy as it is (seen with real loads).
            err(diagnostics, line.policyRange!, 'keep-policy', `policy "-" keeps ${line.name}'s current policy (ACCEPT on a fresh host)`, 'information');
          } else if (line.policy !== 'ACCEPT' && line.policy !== 'DROP') {
            err(diagnostics, line.policyRange!, 'bad-policy', `bad policy "${line.policy}": a built-in chain's policy is ACCEPT or DROP`);
          } else {
            c.policy = line.policy;
            c.policyRange = line.policyRange;
          }
        } else if (line.policy !== undefined && line.policy !== '-') {
          // Seen with real loads: the nf_tables backend ignores it, legacy refuses the file.
          err(diagnostics, line.policyRange!, 'bad-policy', `user chain "${line.name}" cannot have a policy (iptables-save writes "-"); iptables-legacy-restore refuses this, the nf_tables backend ignores it`, 'warning');
        }
        if (isSave && !line.counters && line.policy !== undefined) {
          // iptables-restore accepts a missing counter block; nothing to report.
        }
        break;
      }
      case 'commit': {
        if (committed) err(diagnostics, line.range, 'stray-commit', 'COMMIT without an open table', isSave ? 'error' : 'warning');
        committed = true;
        break;
      }
      case 'command': {
        handleCommand(line.items, line.range, line.counters, line.at, line.end);
        break;
      }
    }
  };

  // A save file is built line by line as the parser reads it, so its tokens die young; a `-S` listing
  // (small) is read whole first, since its table may have to be guessed from all its `-P` lines.
  if (isSave) {
    for (const d of (yield* parseIptablesSteps(text, handleLine)).diagnostics) diagnostics.push(d);
  } else {
    const doc = parseIptablesDocument(text);
    const guess = guessTableFromPolicies(doc.lines);
    const first = doc.lines.find((l) => l.kind === 'command');
    if (first && !doc.lines.some((l) => l.kind === 'comment' && tableHint(l.text))) {
      table = openTable(guess, first.range, first.range);
    }
    doc.lines.forEach(handleLine);
    for (const d of doc.diagnostics) diagnostics.push(d);
  }
  if (isSave && !committed && table && tableHeaderRange) {
    err(diagnostics, tableHeaderRange, 'missing-commit', `table "${table.name}" is never committed: iptables-restore ignores it without a COMMIT line`);
  }
  // An array grown by push keeps spare slots (17 for one rule); a kube dump has 40 000 chains of 2-4 rules.
  for (const t of tables) for (const c of t.chains) if (c.rules.length) c.rules = c.rules.slice();
  return rs;

  function handleCommand(items: RuleItem[], range: Range, counters: { packets: number; bytes: number } | undefined, at?: number, end?: number) {
    const ci = items[0].kind === 'flag' && COMMANDS[items[0].text] !== undefined ? 0 : items.findIndex((x) => x.kind === 'flag' && COMMANDS[x.text] !== undefined);
    if (ci < 0) {
      if (looksLikeProse(items)) {
        // Prose or a shell prompt pasted into a dump (`root@host:~# iptables-save`): iptables-restore would
        // stop here, but the rules around it are what the user wants to see.
        err(diagnostics, range, 'not-iptables', `not an iptables line (text or a shell prompt?): ignored; iptables-restore would refuse the file here`, 'warning');
        return;
      }
      err(diagnostics, range, 'no-command', 'line has no command: expected -A, -I, -N, -P, -D, -R, -F, -X, -Z or -E first');
      return;
    }
    const read = items;
    if (items.length > 3) items = joinTerminalWraps(items, diagnostics);
    const cmd = COMMANDS[items[ci].text];
    const before = ci === 0 ? undefined : items.slice(0, ci);
    const cmdItem = items[ci];
    const chainItem = items[ci + 1];
    const t = currentTable(range);
    if (!t) return;
    if (isSave && committed) {
      err(diagnostics, range, 'no-table', 'command after COMMIT: expected a "*table" line first');
    }
    if (!chainItem || chainItem.kind === 'flag' || chainItem.kind === 'bang') {
      err(diagnostics, cmdItem.range, 'missing-chain', `${cmdItem.text} needs a chain name`);
      return;
    }
    const chainName = chainItem.value;
    // -A without a prefix (the common case) hands the items to buildRule with an offset: no copy.
    const fastAppend = cmd === 'append' && ci === 0;
    let rest = fastAppend ? NO_ITEMS : items.slice(ci + 2);
    const idx = chainIndex.get(t)!;
    switch (cmd) {
      case 'new-chain': {
        checkChainName(chainName, chainItem.range, diagnostics);
        if (isBuiltinChain(t.name, chainName) || idx.get(chainName)?.declarations.length) {
          err(diagnostics, chainItem.range, 'duplicate-chain', `chain "${chainName}" already exists in table "${t.name}"`);
        }
        const c = addChain(t, chainName, chainItem.range, true);
        c.range = range;
        extraArgs(rest);
        return;
      }
      case 'policy': {
        const p = rest[0];
        const c = idx.get(chainName) ?? (isBuiltinChain(t.name, chainName) ? addChain(t, chainName, chainItem.range, true) : undefined);
        if (!c || !c.builtin) {
          err(diagnostics, chainItem.range, 'bad-policy', `-P needs a built-in chain of table "${t.name}"; "${chainName}" is not one`);
          return;
        }
        if (!p || (p.value !== 'ACCEPT' && p.value !== 'DROP')) {
          err(diagnostics, p?.range ?? chainItem.range, 'bad-policy', `bad policy ${p ? `"${p.value}"` : '(missing)'}: ACCEPT or DROP`);
          return;
        }
        c.policy = p.value;
        c.policyRange = p.range;
        if (!c.declarations.length) c.declarations.push(chainItem.range);
        extraArgs(rest.slice(1));
        return;
      }
      case 'delete-chain':
      case 'flush':
      case 'zero':
      case 'rename-chain':
        // Listed for completeness; a dump rarely holds them. They do not change the model we show.
        return;
    }
    // append / insert / delete / replace
    let c = idx.get(chainName);
    if (!c) {
      if (isBuiltinChain(t.name, chainName)) c = addChain(t, chainName, chainItem.range, false);
      else {
        err(diagnostics, chainItem.range, 'undefined-chain', `chain "${chainName}" is not declared in table "${t.name}"${isSave ? ` (add ":${chainName} - [0:0]")` : ` (add "-N ${chainName}")`}`);
        c = addChain(t, chainName, chainItem.range, false);
      }
    }
    let position: number | undefined;
    if ((cmd === 'insert' || cmd === 'replace' || cmd === 'delete') && rest[0] && rest[0].kind === 'word' && /^\d+$/.test(rest[0].value)) {
      position = Number(rest[0].value);
      rest = rest.slice(1);
    } else if (cmd === 'replace') {
      err(diagnostics, chainItem.range, 'missing-rulenum', '-R needs a rule number');
    }
    const ctx = ruleCtx(t.name, c);
    const asLine = fastAppend && !opts.eager && at !== undefined && end !== undefined && items === read && range instanceof LineRange;
    const built = fastAppend ? buildRule(items, ctx, ci + 2, !asLine) : buildRule(before ? [...before, ...rest] : rest, ctx);
    for (const d of built.diagnostics) diagnostics.push(d);
    if (asLine) {
      // The usual `-A CHAIN ...` line: kept as its line, rebuilt when read (the model's size on big dumps).
      // The token starts with the line's first word (or counters), where the rule's range starts.
      c.rules.push(new IptablesLineRule(c.rules.length, counters ?? built.counters, source, ctx, at!, end!, range.line, range.startCh, range.endCh));
      return;
    }
    const rule: Rule = {
      index: 0,
      range,
      matches: built.matches,
      actions: built.actions,
      comment: built.comment,
      counters: counters ?? built.counters,
      op: cmd as Rule['op'],
    };
    if (cmd === 'append') {
      rule.index = c.rules.length;
      c.rules.push(rule);
      return;
    }
    if (cmd === 'insert') c.rules.splice(Math.max(0, Math.min(c.rules.length, (position ?? 1) - 1)), 0, rule);
    else if (cmd === 'replace' && position !== undefined) c.rules.splice(position - 1, 1, rule);
    else if (cmd === 'delete') {
      // Deletion by position removes that rule; by specification we keep the model as listed.
      if (position !== undefined) c.rules.splice(position - 1, 1);
      return;
    }
    c.rules.forEach((r, i) => (r.index = i));
  }

  function ruleCtx(tableName: string, chain: Chain): RuleContext {
    let ctx = ctxCache.get(chain);
    if (!ctx) ctxCache.set(chain, (ctx = { table: tableName, family, chain: chain.name, builtin: chain.builtin, saverVersion }));
    return ctx;
  }

  function extraArgs(rest: RuleItem[]) {
    if (rest.length) {
      err(diagnostics, span(rest[0].range, rest[rest.length - 1].range), 'extra-argument', `unexpected ${rest.length > 1 ? 'arguments' : 'argument'} "${rest.map((r) => r.text).join(' ')}"`);
    }
  }
}

function checkChainName(name: string, at: Range, diagnostics: Diagnostic[]) {
  if (name.length > MAX_CHAIN_NAME) {
    err(diagnostics, at, 'chain-name-too-long', `chain name "${name}" is ${name.length} characters; iptables allows at most ${MAX_CHAIN_NAME}`);
  } else if (name.length === 0) {
    err(diagnostics, at, 'missing-chain', 'empty chain name');
  } else if (name.startsWith('-') || name.startsWith('!')) {
    err(diagnostics, at, 'bad-chain-name', `chain name "${name}" cannot start with "${name[0]}"`);
  }
}

/** A line of words pasted into a dump (a sentence, a shell prompt, `ip addr` output), as opposed to a
 *  broken iptables line: at least two words, no long option, no unterminated quote, not one keyword typo. */
function looksLikeProse(items: RuleItem[]): boolean {
  if (items.length < 2 || items[0].kind !== 'word') return false;
  for (const x of items) {
    if (x.kind === 'flag' && x.text.charCodeAt(1) === 45) return false;
    if (x.kind === 'string' && (x.text.length < 2 || !x.text.endsWith('"'))) return false;
  }
  return true;
}

const NO_ITEMS: RuleItem[] = [];

const SAVED_BY = /^# Generated by ip6?tables-save v(\d+)\.(\d+)\.(\d+)/m;
const V6_ADDRESS_OPTION = / (?:-s|-d|--source|--destination|--to-destination|--to-source) \[?[0-9a-fA-F]*:[0-9a-fA-F:]*[/\] ]| -p (?:ipv6-icmp|icmpv6)\b| --reject-with icmp6-/;

/** ip6 when the header says ip6tables-save, or (without a header) when IPv6 addresses appear in rules. */
function guessFamily(text: string): 'ip' | 'ip6' {
  const head = text.slice(0, 2000);
  if (/^# Generated by ip6tables/m.test(head)) return 'ip6';
  if (/^# Generated by iptables/m.test(head)) return 'ip';
  return V6_ADDRESS_OPTION.test(text.length > 65_536 ? text.slice(0, 65_536) : text) ? 'ip6' : 'ip';
}

/** Columns of blank padding that mark a line broken by a terminal (the rest of the line was pasted
 *  after the padding, as in a copy from a screen session). */
const WRAP_GAP = 16;

/** Joins a token split by a terminal wrap (`--to-destination 192.16<many spaces>8.1.1:22`) back into one
 *  item spanning the gap, with a warning. A wrap is a wide gap right after a usual terminal width. */
function joinTerminalWraps(items: RuleItem[], diagnostics: Diagnostic[]): RuleItem[] {
  let out: RuleItem[] | undefined;
  for (let i = 1; i < items.length; i++) {
    const a = out ? out[out.length - 1] : items[i - 1];
    const b = items[i];
    // Read a LineRange's numbers directly: its positions are objects made on each read.
    const ar = a.range, br = b.range;
    const width = ar instanceof LineRange ? ar.endCh : ar.end.character;
    const bStart = br instanceof LineRange ? br.startCh : br.start.character;
    if (bStart - width < WRAP_GAP) {
      if (out) out.push(b);
      continue;
    }
    const wrap = b.range.start.line === a.range.end.line && bStart - width >= WRAP_GAP && (width % 10 === 0 || width === 132) &&
      // "--ctstate<wrap>DNAT": a complete option name followed by its value is not a cut token.
      !(a.kind === 'flag' && b.kind !== 'flag' && isKnownOptionFlag(a.text));
    if (!wrap) {
      if (out) out.push(b);
      continue;
    }
    out ??= items.slice(0, i);
    const merged: RuleItem = {
      kind: a.kind === 'flag' ? 'flag' : a.kind === 'string' || b.kind === 'string' ? 'string' : 'word',
      text: a.text + b.text,
      value: a.value + b.value,
      range: spanRange(a.range, b.range),
    };
    out[out.length - 1] = merged;
    err(diagnostics, { start: a.range.end, end: b.range.start }, 'terminal-wrap', `"${a.text}" and "${b.text}" look like one token cut by a terminal wrap at column ${width}; read as "${merged.text}"`, 'warning');
  }
  return out ?? items;
}
