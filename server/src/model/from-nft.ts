// Builds the ruleset model from an nftables script or listing, and checks what nft and the kernel
// would refuse when the file is loaded on its own (`nft -f FILE` into an empty ruleset).
import {
  parseNftDocument, tokRange, unquote, VarRef,
  type Block, type Elem, type Expr, type NftStmt, type RuleStmt, type StmtNode,
} from '../syntax/nft-parser';
import {
  CHAIN_POLICIES, CHAIN_TYPE_HOOKS, CT_DIRECTIONAL, HOOKS, isFamily, KEY_MAX, KEY_SYMBOLS, LOG_LEVELS, PAYLOAD_FIELDS, MAX_NAME, META_SETTABLE, namedPriority, SET_FLAGS, SET_TYPES,
} from '../knowledge/nft-keywords';
import { OBJECT_PROPS, CT_TIMEOUT_STATES, NFT_COMMANDS } from '../knowledge/nft-objects';
import type {
  Action, Chain, Diagnostic, Family, Hook, Match, NamedSet, Range, Rule, Ruleset, Table, Value, Variable,
} from './ruleset';

type Sev = Diagnostic['severity'];

interface SetInfo {
  set: NamedSet;
  keyParts?: number;
  dataParts?: number;
  interval: boolean;
  typeText?: string;
  flagsText?: string;
  declared: boolean;
}

class Builder {
  rs: Ruleset;
  diags: Diagnostic[];
  vars = new Map<string, Variable>();
  tables = new Map<string, Table>();
  sets = new Map<Table, Map<string, SetInfo>>();
  /** Tables this file declares or creates (commands on others can only work against a live ruleset). */
  hasIncludes = false;
  /** `list`/`reset` commands run after the whole file was evaluated: what they name must still exist. */
  pendingLists: { family?: string; name?: string; range: Range }[] = [];

  constructor(private text: string) {
    this.diags = [];
    this.rs = { kind: 'nft', family: 'inet', tables: [], variables: [], includes: [], diagnostics: this.diags };
  }

  err(range: Range, code: string, message: string, severity: Sev = 'error') {
    this.diags.push({ range, severity, code, message });
  }

  // ---- variables -----------------------------------------------------------------------------

  /** Records `$name` references of a statement, in order; unknown ones are errors. */
  refs(node: StmtNode, skipFirstDefine = false) {
    for (const t of node.vars) {
      const name = t.image.slice(1);
      const r = tokRange(t);
      if (skipFirstDefine && node.stmt?.k === 'define' && rangeEq(r, node.stmt.nameRange)) continue;
      const v = this.vars.get(name);
      if (v) v.references.push(r);
      else this.err(r, 'undefined-variable', `variable "$${name}" is not defined (define it before use)`);
    }
  }

  /** The text a word or `$var` stands for. */
  resolve(e: Expr | undefined, seen = 0): string | undefined {
    if (!e) return undefined;
    if (e.k === 'var') {
      const v = this.vars.get(e.name);
      if (!v || seen > 10) return undefined;
      return v.value;
    }
    if (e.k === 'val') return e.str ? unquote(e.text) : e.text;
    return e.text;
  }

  // ---- tables, chains ------------------------------------------------------------------------

  table(familyText: string | undefined, familyRange: Range | undefined, name: string, nameRange: Range, range: Range, create: boolean): Table | undefined {
    let family: Family = 'ip';
    if (familyText !== undefined) {
      if (!isFamily(familyText)) {
        this.err(familyRange!, 'unknown-family', `unknown family "${familyText}": expected ip, ip6, inet, arp, bridge or netdev`);
        return undefined;
      }
      family = familyText;
    }
    this.checkName(name, nameRange, 'table');
    const key = `${family} ${name}`;
    let t = this.tables.get(key);
    if (!t && create) {
      t = { name, family, nameRange, range, chains: [], sets: [], objects: [] };
      this.tables.set(key, t);
      this.declaredTables.add(key);
      this.rs.tables.push(t);
      this.sets.set(t, new Map());
    }
    return t;
  }

  checkName(name: string, range: Range, what: string) {
    if (name.length > MAX_NAME) this.err(range, 'name-too-long', `${what} name is ${name.length} characters long; the kernel allows at most ${MAX_NAME}`);
    if (name === '' || name === '""') this.err(range, 'empty-name', `empty ${what} name`);
  }

  chainIndex = new Map<Table, Map<string, Chain>>();

  chain(t: Table, name: string, nameRange: Range, range: Range, create: boolean): Chain | undefined {
    let idx = this.chainIndex.get(t);
    if (!idx) this.chainIndex.set(t, (idx = new Map()));
    let c = idx.get(name);
    if (!c && create) {
      this.checkName(name, nameRange, 'chain');
      c = { name, nameRange, declarations: [], range, builtin: false, rules: [] };
      t.chains.push(c);
      idx.set(name, c);
    }
    if (c && create) c.declarations.push(nameRange);
    return c;
  }

  missingTable(cmdRange: Range, what: string) {
    const sev: Sev = this.hasIncludes ? 'warning' : 'error';
    this.err(cmdRange, 'undefined-table', `${what} is not declared in this file: loading it alone fails`, sev);
  }

  // ---- walking -------------------------------------------------------------------------------

  /** After the last statement: checks that need the whole file. */
  finish() {
    for (const l of this.pendingLists) {
      if (!l.name) continue;
      const key = `${l.family ?? 'ip'} ${l.name}`;
      if (this.declaredTables.has(key) && !this.tables.has(key)) {
        this.err(l.range, 'undefined-table', `table "${l.name}" is deleted later in this file: nft runs list and reset commands after evaluating the whole file`);
      }
    }
  }

  declaredTables = new Set<string>();

  topNode(n: StmtNode) {
    const s = n.stmt;
    this.refs(n, true);
    if (!s) return;
    if (s.k === 'define') return this.define(s, n);
    if (s.k === 'undefine') {
      if (!this.vars.delete(s.name)) this.err(s.nameRange, 'undefined-variable', `variable "${s.name}" is not defined`);
      return;
    }
    if (s.k === 'include') {
      this.rs.includes.push({ path: s.path, range: s.pathRange });
      if (/^\/dev\//.test(s.path)) this.err(s.pathRange, 'include-not-regular', `"${s.path}" is a device, not a regular file: nft refuses to include it`);
      return;
    }
    if (s.k !== 'cmd') return;
    this.command(s, n);
  }

  define(s: Extract<NftStmt, { k: 'define' }>, n: StmtNode) {
    if (!s.value) return;
    const existing = this.vars.get(s.name);
    if (existing && !s.redefine) {
      this.err(s.nameRange, 'duplicate-variable', `variable "${s.name}" is already defined`, 'warning');
    }
    // a define's value is stored with `$refs` expanded one level
    let value = s.value.text;
    if (s.value.k === 'var') value = this.vars.get(s.value.name)?.value ?? value;
    const v: Variable = existing && s.redefine ? existing : { name: s.name, nameRange: s.nameRange, value, range: s.range, references: [] };
    v.value = value;
    if (!existing || !s.redefine) {
      this.vars.set(s.name, v);
      this.rs.variables.push(v);
    }
    void n;
  }

  command(s: Extract<NftStmt, { k: 'cmd' }>, n: StmtNode) {
    const verb = s.verb ?? 'add';
    const obj = s.object;
    if (['describe', 'monitor', 'export', 'import'].includes(verb) || obj === 'describe' || obj === 'monitor') return;
    const allowed = NFT_COMMANDS[verb];
    if (!allowed) return this.err(s.verbRange ?? s.objectRange, 'unknown-keyword', `unknown command "${verb}"`);
    if (!allowed.has(obj)) {
      return this.err(s.objectRange, 'unknown-keyword', s.verb ? `"${verb}" does not apply to "${obj}"` : `unknown command "${obj}"`);
    }
    const names = s.names.map((x) => ({ ...x, text: this.nameText(x.text) }));
    const create = verb === 'add' || verb === 'create';
    if (obj === 'ruleset' || obj.endsWith('s') && !['flowtables'].includes(obj) && obj !== 'counters' ? false : false) return;
    if (obj === 'ruleset') {
      if (verb === 'flush') { this.rs.tables.length = 0; this.tables.clear(); }
      return;
    }
    if (verb === 'list' || verb === 'reset') this.pendingLists.push({ family: s.family, name: names[0]?.text, range: s.range });
    if (!['table', 'chain', 'rule', 'set', 'map', 'element', 'flowtable', 'counter', 'quota', 'limit', 'secmark', 'synproxy', 'ct helper', 'ct timeout', 'ct expectation', 'tunnel', 'meter'].includes(obj)) {
      return; // listings, monitor, describe...
    }
    const need = obj === 'table' ? 1 : 2;
    if (names.length < need && !(s.handle && names.length >= need - 1)) {
      return this.err(s.range, 'syntax', `"${verb} ${obj}" needs ${need === 1 ? 'a table name' : `a table and a ${obj} name`}`);
    }
    const t = this.table(s.family, s.familyRange, names[0]?.text ?? '', names[0]?.range ?? s.range, s.range, create && obj === 'table');
    if (!t) {
      if (s.family !== undefined && !isFamily(s.family)) return;
      if (obj === 'table' && (verb === 'delete' || verb === 'destroy')) {
        if (verb === 'delete') this.err(names[0]?.range ?? s.range, 'undefined-table', `table "${names[0]?.text}" is not declared in this file: "delete table" fails unless it exists already ("destroy table" does not)`, 'warning');
        return;
      }
      this.missingTable(names[0]?.range ?? s.range, `table "${names[0]?.text}"${s.family ? ` (family ${s.family})` : ''}`);
      return;
    }
    if (obj === 'table') {
      if (verb === 'delete' || verb === 'destroy') {
        this.tables.delete(`${t.family} ${t.name}`);
        this.rs.tables.splice(this.rs.tables.indexOf(t), 1);
        return;
      }
      if (n.block) this.tableBlock(t, n.block);
      return;
    }
    const nm = names[1];
    if (obj === 'chain') {
      const c = nm ? this.chain(t, nm.text, nm.range, s.range, create) : undefined;
      if (!c) {
        if (nm && verb !== 'destroy') this.err(nm.range, 'undefined-chain', `chain "${nm.text}" is not declared in table "${t.name}"`);
        return;
      }
      if (verb === 'delete' || verb === 'destroy') { t.chains.splice(t.chains.indexOf(c), 1); this.chainIndex.get(t)?.delete(c.name); return; }
      if (n.block) this.chainBlock(t, c, n.block);
      return;
    }
    if (obj === 'rule') {
      const c = nm ? this.chain(t, nm.text, nm.range, s.range, false) : undefined;
      if (!c) {
        if (nm) this.err(nm.range, 'undefined-chain', `chain "${nm.text}" is not declared in table "${t.name}"`);
        return;
      }
      if (verb === 'delete' || verb === 'destroy') {
        if (!s.handle) return this.err(s.range, 'syntax', 'delete rule needs "handle N"');
        const i = c.rules.findIndex((r) => r.handle === Number(s.handle!.value));
        if (i >= 0) { c.rules.splice(i, 1); c.rules.forEach((x, k) => { x.index = k; }); }
        else this.err(s.handle.range, 'undefined-rule', `no rule with handle ${s.handle.value} in chain "${c.name}" in this file`, this.hasIncludes ? 'warning' : 'error');
        return;
      }
      if (verb === 'replace' && !s.handle) return this.err(s.range, 'syntax', 'replace rule needs "handle N"');
      const stmts = s.rule ?? [];
      const ruleRange = stmts.length ? { start: stmts[0].range.start, end: stmts[stmts.length - 1].range.end } : s.range;
      const r = this.rule(t, c, stmts, ruleRange, n.handle);
      if (!stmts.length) this.err(s.range, 'syntax', 'a rule needs at least one statement');
      r.op = verb === 'insert' ? 'insert' : verb === 'replace' ? 'replace' : 'append';
      if (verb === 'replace') {
        const i = c.rules.findIndex((x) => x.handle === Number(s.handle!.value));
        if (i >= 0) { r.index = i; c.rules[i] = r; }
        else this.err(s.handle!.range, 'undefined-rule', `no rule with handle ${s.handle!.value} in chain "${c.name}" in this file`, this.hasIncludes ? 'warning' : 'error');
      } else if (s.handle) {
        // insert: before the rule (handle/position) or at the index; add: after it
        const n = Number(s.handle.value);
        let i = s.handle.kw === 'index' ? n : c.rules.findIndex((x) => x.handle === n);
        if (s.handle.kw !== 'index' && i < 0) {
          this.err(s.handle.range, 'undefined-rule', `no rule with handle ${n} in chain "${c.name}" in this file`, this.hasIncludes ? 'warning' : 'error');
          i = verb === 'insert' ? 0 : c.rules.length - 1;
        }
        const at = Math.max(0, Math.min(c.rules.length, verb === 'insert' ? i : i + 1));
        c.rules.splice(at, 0, r);
        c.rules.forEach((x, k) => { x.index = k; });
      } else if (verb === 'insert') { c.rules.unshift(r); c.rules.forEach((x, i) => { x.index = i; }); }
      else { r.index = c.rules.length; c.rules.push(r); }
      return;
    }
    if (obj === 'set' || obj === 'map' || obj === 'meter') {
      if (!nm) {
        const h = s.handle;
        if (h && !create) this.err(h.range, 'undefined-set', `no ${obj} with handle ${h.value} in table "${t.name}" in this file`, this.hasIncludes ? 'warning' : 'error');
        return;
      }
      const info = this.sets.get(t)!.get(nm.text);
      if (create) this.setDecl(t, obj === 'map' ? 'map' : 'set', nm.text, nm.range, s.range, n.block, n);
      else if (!info && !s.handle) this.err(nm.range, 'undefined-set', `set "${nm.text}" is not declared in table "${t.name}"`, this.hasIncludes ? 'warning' : 'error');
      else if (!info && s.handle) this.err(s.handle.range, 'undefined-set', `no set with handle ${s.handle.value} in table "${t.name}" in this file`, this.hasIncludes ? 'warning' : 'error');
      return;
    }
    if (obj === 'element') {
      if (!nm) return;
      const info = this.sets.get(t)!.get(nm.text);
      if (!info) return this.err(nm.range, 'undefined-set', `set "${nm.text}" is not declared in table "${t.name}"`, this.hasIncludes ? 'warning' : 'error');
      if (s.elements?.k === 'set') this.elements(info, s.elements.elems, verb === 'add' || verb === 'create');
      else this.err(s.range, 'syntax', 'elements go in braces: { a, b }');
      return;
    }
    // stateful objects and flowtables
    if (!nm) return;
    const existing = t.objects.find((o) => o.kind === obj && o.name === nm.text);
    if (create) {
      if (!existing) t.objects.push({ kind: obj, name: nm.text, nameRange: nm.range, range: s.range });
      this.objectBody(obj, n, s.tail);
    } else if (!existing) {
      this.err(nm.range, 'undefined-object', `${obj} "${nm.text}" is not declared in table "${t.name}"`, this.hasIncludes ? 'warning' : 'error');
    }
  }

  nameText(t: string): string {
    if (t.startsWith('$')) return this.vars.get(t.slice(1))?.value ?? t;
    return unquote(t);
  }

  tableBlock(t: Table, b: Block) {
    for (const n of b.children) {
      const s = n.stmt;
      this.refs(n, true);
      if (!s) continue;
      if (s.k === 'define') { this.define(s, n); continue; }
      if (s.k === 'prop') {
        if (s.name === 'flags' || s.name === 'comment') continue;
        this.err(s.nameRange, 'unknown-keyword', `unexpected "${s.name}" in a table`);
        continue;
      }
      if (s.k !== 'cmd') continue;
      const name = s.names[0];
      if (s.object === 'chain' && name) {
        if (!n.block) { this.err(s.range, 'syntax', 'a chain needs a body: chain NAME { ... }'); continue; }
        const c = this.chain(t, this.nameText(name.text), name.range, s.range, true)!;
        c.range = { start: s.range.start, end: n.block.close ? tokRange(n.block.close).end : s.range.end };
        this.chainBlock(t, c, n.block);
      } else if ((s.object === 'set' || s.object === 'map') && name) {
        this.setDecl(t, s.object, this.nameText(name.text), name.range, s.range, n.block, n);
      } else if (['flowtable', 'counter', 'quota', 'limit', 'secmark', 'synproxy', 'ct helper', 'ct timeout', 'ct expectation', 'tunnel'].includes(s.object) && name) {
        t.objects.push({ kind: s.object, name: this.nameText(name.text), nameRange: name.range, range: s.range });
        this.objectBody(s.object, n, s.tail);
      } else {
        this.err(s.objectRange, 'unknown-keyword', `unexpected "${s.object}" in a table: expected chain, set, map, flowtable or a named object`);
      }
    }
  }

  chainBlock(t: Table, c: Chain, b: Block) {
    let hookspec: Extract<NftStmt, { k: 'hookspec' }> | undefined;
    let policy: Extract<NftStmt, { k: 'policy' }> | undefined;
    let devices: Range | undefined;
    for (const n of b.children) {
      const s = n.stmt;
      this.refs(n, true);
      if (!s) continue;
      if (s.k === 'define') { this.define(s, n); continue; }
      if (s.k === 'hookspec') { hookspec = s; continue; }
      if (s.k === 'policy') { policy = s; continue; }
      if (s.k === 'prop') { if (s.name === 'devices') devices = s.range; continue; }
      if (s.k === 'rule') {
        const r = this.rule(t, c, s.stmts, s.range, n.handle, n);
        c.rules.push(r);
        r.index = c.rules.length - 1;
        if (n.block?.kind === 'anonchain') this.anonChain(t, c, r, n.block);
      }
    }
    if (hookspec) this.baseChain(t, c, hookspec);
    else if (devices) this.err(devices, 'not-base-chain', `devices only apply to a base chain (with "type ... hook ... priority ...")`);
    if (policy) {
      const v = this.resolve(policy.value);
      c.policy = v;
      c.policyRange = policy.value.range;
      if (v === undefined) { /* undefined variable: reported */ }
      else if (!CHAIN_POLICIES.has(v)) this.err(policy.value.range, 'bad-policy', `policy must be accept or drop, not "${v}"`);
      else if (c.hook === undefined) this.err(policy.range, 'not-base-chain', `chain "${c.name}" has a policy but no hook: only base chains have a policy`);
    }
  }

  /** `jump { ... }`: the kernel binds an anonymous chain to the rule; the model names it after its
   *  parent and line so the jump and its rules stay visible. */
  anonChain(t: Table, parent: Chain, r: Rule, b: Block) {
    const a = r.actions[r.actions.length - 1];
    if (!a || (a.kind !== 'jump' && a.kind !== 'goto')) return;
    const name = `${parent.name}/anon@${a.nameRange.start.line + 1}`;
    const ch: Chain = { name, nameRange: a.nameRange, declarations: [a.nameRange], range: { start: a.range.start, end: b.close ? tokRange(b.close).end : a.range.end }, builtin: false, rules: [] };
    t.chains.push(ch);
    a.chain = name;
    a.chainRange = a.nameRange;
    this.chainBlock(t, ch, b);
  }

  baseChain(t: Table, c: Chain, h: Extract<NftStmt, { k: 'hookspec' }>) {
    const type = h.type?.text;
    const hook = h.hook?.text;
    if (!h.type || !h.hook) {
      this.err(h.range, 'syntax', 'a base chain needs "type TYPE hook HOOK priority PRIORITY"');
      return;
    }
    const types = CHAIN_TYPE_HOOKS[type!];
    if (!types) return this.err(h.type.range, 'bad-chain-type', `unknown chain type "${type}": expected filter, nat or route`);
    const hooks = types[t.family];
    if (!hooks) return this.err(h.type.range, 'bad-chain-type', `chain type "${type}" does not exist in family ${t.family}`);
    if (!(HOOKS as readonly string[]).includes(hook!)) return this.err(h.hook.range, 'bad-hook', `unknown hook "${hook}"`);
    if (!hooks.includes(hook!)) return this.err(h.hook.range, 'bad-hook', `hook "${hook}" is not available to ${type} chains in family ${t.family} (expected ${hooks.join(', ')})`);
    c.type = type as Chain['type'];
    c.hook = hook as Hook;
    if (h.devices) {
      const d = this.resolve(h.devices);
      if (h.devices.k === 'val' && (d === '' || d === undefined)) this.err(h.devices.range, 'empty-name', 'empty device name');
      else if (d !== undefined && h.devices.k !== 'set') c.device = d;
    }
    if ((hook === 'ingress' || hook === 'egress') && t.family === 'netdev' && !h.devices) {
      this.err(h.hook.range, 'missing-device', `a netdev ${hook} chain needs "device NAME"`, 'warning');
    }
    if (!h.priority) return this.err(h.range, 'bad-priority', 'a base chain needs a priority');
    const p = this.priority(t.family, h.priority, hook!);
    if (p !== undefined) c.priority = p;
  }

  priority(family: Family, p: NonNullable<Extract<NftStmt, { k: 'hookspec' }>['priority']>, hook: string): number | undefined {
    if (!p.base) return undefined;
    let baseText = p.base.text;
    if (p.base.isVar) {
      const v = this.vars.get(baseText.slice(1));
      if (!v) return undefined;
      baseText = v.value;
    }
    let base: number | undefined;
    let off = 0;
    let m = /^(-?)(\d+)$/.exec(baseText);
    if (m) base = Number(m[2]) * (m[1] || p.base.negative ? -1 : 1);
    else {
      // `filter-10` lexes as one word
      m = /^([a-z]+)(?:([+-])(\d+))?$/.exec(baseText);
      const named = m ? namedPriority(family, m[1], hook) : undefined;
      if (!m || named === undefined) {
        this.err(p.base.range, 'bad-priority', `unknown priority "${baseText.length > 40 ? baseText.slice(0, 40) + '…' : baseText}" for family ${family}`);
        return undefined;
      }
      base = named;
      if (m[2]) off = Number(m[3]) * (m[2] === '-' ? -1 : 1);
      if (p.base.negative) { this.err(p.base.range, 'bad-priority', 'a named priority cannot be negated'); return undefined; }
    }
    if (p.op && p.offset) {
      if (!/^\d+$/.test(p.offset.text)) { this.err(p.offset.range, 'bad-priority', `priority offset must be a number, not "${p.offset.text}"`); return undefined; }
      off += Number(p.offset.text) * (p.op === '-' ? -1 : 1);
    }
    const v = base + off;
    if (v < -2147483648 || v > 2147483647) { this.err(p.range, 'bad-priority', 'priority out of range'); return undefined; }
    return v;
  }

  // ---- sets ----------------------------------------------------------------------------------

  setDecl(t: Table, kind: 'set' | 'map', name: string, nameRange: Range, range: Range, b: Block | undefined, n: StmtNode) {
    this.checkName(name, nameRange, kind);
    const tableSets = this.sets.get(t)!;
    let typeText: string | undefined;
    let keyParts: number | undefined;
    let dataParts: number | undefined;
    let keyType: string | undefined;
    let dataType: string | undefined;
    const flags: string[] = [];
    let elems: { elems: Elem[]; range: Range }[] = [];
    for (const c of b?.children ?? []) {
      const s = c.stmt;
      this.refs(c, true);
      if (!s || s.k !== 'prop') continue;
      switch (s.name) {
        case 'type': {
          typeText = s.text;
          const words = s.tokens.map((x) => x.image);
          const colon = words.indexOf(':');
          const key = colon < 0 ? words : words.slice(0, colon);
          const data = colon < 0 ? [] : words.slice(colon + 1).filter((w) => w !== 'interval');
          keyParts = key.filter((w) => w !== '.').length;
          keyType = key.join(' ');
          if (colon >= 0) { dataParts = data.filter((w) => w !== '.').length; dataType = data.join(' '); }
          for (const tk of s.tokens) {
            if (tk.image === '.' || tk.image === ':' || tk.image === 'interval') continue;
            if (!SET_TYPES.has(tk.image)) this.err(tokRange(tk), 'unknown-type', `unknown data type "${tk.image}"`);
          }
          const parts = colon < 0 ? [] : data;
          if (parts.includes('verdict') && parts.length > 1) this.err(s.range, 'bad-type', 'verdict cannot be part of a concatenation');
          if (key.includes('verdict')) this.err(s.range, 'bad-type', 'verdict cannot be a set key');
          break;
        }
        case 'typeof': {
          typeText = s.text;
          // values: expressions before and after ':'; constants are not allowed
          const colonAt = s.tokens.findIndex((x) => x.image === ':');
          const all = s.values;
          let seenColon = false;
          let k = 0, d = 0;
          for (const v of all) {
            if (v.k === 'val' && v.text === ':') { seenColon = true; continue; }
            const parts = this.concatParts(v);
            for (const p of parts) {
              if (p.k === 'val' && p.text === 'interval') continue;
              if (p.k === 'sel' && p.proto === 'ct' && /^(?:ip6? )?(?:saddr|daddr|proto-src|proto-dst)$/.test(p.key) && !p.words.some((w) => w === 'original' || w === 'reply')) {
                this.err(p.range, 'ct-needs-direction', `"${p.text}" needs a direction: ct original ${p.key} or ct reply ${p.key}`);
              }
              if (p.k !== 'sel' && p.k !== 'hash' && !(p.k === 'val' && ['verdict', 'counter', 'quota', 'limit', 'mark', 'expectation', 'helper', 'ct', 'queue'].includes(p.text))) {
                this.err(p.range, 'bad-type', `typeof needs an expression such as "ip saddr", not "${p.text}"`);
              }
            }
            const n = parts.filter((p) => !(p.k === 'val' && p.text === 'interval')).length;
            if (seenColon) d += n; else k += n;
          }
          void colonAt;
          keyParts = k;
          keyType = s.text.replace(/^typeof\s+/, '').split(':')[0].trim();
          if (seenColon) { dataParts = d; dataType = s.text.split(':').slice(1).join(':').trim(); }
          break;
        }
        case 'flags':
          for (const tk of s.tokens) {
            if (tk.image === ',') continue;
            if (!SET_FLAGS.has(tk.image)) this.err(tokRange(tk), 'unknown-keyword', `unknown set flag "${tk.image}"`);
            else flags.push(tk.image);
          }
          break;
        case 'elements': {
          const v = s.values.find((x) => x.k === 'set' || x.k === 'var');
          if (v?.k === 'set') elems.push({ elems: v.elems, range: v.range });
          else if (!v) this.err(s.range, 'syntax', 'expected "elements = { ... }"');
          break;
        }
        case 'timeout': case 'gc-interval': case 'size': case 'policy': case 'comment':
          if (!s.tokens.length) this.err(s.nameRange, 'syntax', `"${s.name}" needs a value`);
          break;
        case 'auto-merge':
          break;
        case 'counter': case 'quota': case 'last': case 'limit': case 'ct': {
          // stateful statements every element gets; objects are referenced by maps, not named here
          const nameTok = s.tokens.find((x) => x.image === 'name');
          if (nameTok) this.err(tokRange(nameTok), 'syntax', `"${s.name} name" cannot be used in a ${kind} declaration`);
          break;
        }
        default:
          this.err(s.nameRange, 'unknown-keyword', `unexpected "${s.name}" in a ${kind}`);
      }
    }
    const set: NamedSet = { name, nameRange, range, kind, keyType, dataType, flags, elements: [] };
    if (kind === 'map' && dataType?.trim() === 'verdict') set.kind = 'vmap';
    const info: SetInfo = { set, keyParts, dataParts, interval: flags.includes('interval'), typeText, flagsText: flags.join(','), declared: !!typeText };
    if (!typeText && b) this.err(nameRange, 'set-without-type', `${kind} "${name}" needs "type" or "typeof"`);
    if (kind === 'map' && typeText && dataParts === undefined) this.err(nameRange, 'bad-type', `map "${name}" needs a data type ("type KEY : DATA")`);
    if (kind === 'set' && dataParts !== undefined) this.err(nameRange, 'bad-type', `set "${name}" has a data type: declare it as a map`);
    const prev = tableSets.get(name);
    if (prev) {
      if (prev.set.kind !== set.kind && !(prev.set.kind === 'vmap' && set.kind === 'vmap')) this.err(nameRange, 'set-redefined', `"${name}" is already declared as a ${prev.set.kind}`);
      else if (typeText && prev.typeText && norm(prev.typeText) !== norm(typeText)) this.err(nameRange, 'set-redefined', `${kind} "${name}" is already declared with "${prev.typeText}"`);
      else if (typeText && prev.flagsText !== info.flagsText) this.err(nameRange, 'set-redefined', `${kind} "${name}" is already declared with other flags`);
      if (prev.typeText && !typeText) { info.keyParts = prev.keyParts; info.dataParts = prev.dataParts; info.interval = prev.interval; }
      const old = t.sets.indexOf(prev.set);
      set.elements = prev.set.elements;
      t.sets[old] = set;
    } else {
      t.sets.push(set);
    }
    tableSets.set(name, info);
    for (const e of elems) this.elements(info, e.elems, true);
    void n;
  }

  concatParts(e: Expr): Expr[] {
    if (e.k === 'bin' && e.op === '.') return [...this.concatParts(e.l), ...this.concatParts(e.r)];
    return [e];
  }

  elements(info: SetInfo, elems: Elem[], adding: boolean) {
    const isMap = info.set.kind !== 'set';
    for (const el of elems) {
      info.set.elements.push({ text: el.key.text, range: el.range, value: el.data?.text });
      if (!adding) continue;
      if (el.data && !isMap) this.err(el.data.range, 'bad-element', `"${info.set.name}" is a set: its elements take no ": value"`);
      if (!el.data && isMap && el.key.k !== 'var') this.err(el.range, 'bad-element', `"${info.set.name}" is a map: element "${el.key.text}" needs ": value"`);
      this.checkElemShape(info, el);
    }
  }

  checkElemShape(info: SetInfo, el: Elem) {
    if (el.key.k === 'var' || el.key.k === 'set') return;
    const parts = this.concatParts(el.key);
    if (el.key.text === '*') return;
    if (info.keyParts !== undefined && parts.length !== info.keyParts && !parts.some((p) => p.k === 'var')) {
      this.err(el.key.range, 'bad-element', `element "${el.key.text}" has ${parts.length} part(s); the key of "${info.set.name}" has ${info.keyParts}`);
    }
    for (const p of parts) {
      if (p.k === 'bin' && p.op !== '-' && p.op !== '/' && !(p.op === '|' && isConst(p))) this.err(p.range, 'bad-element', `"${p.text}" is not a constant value`);
      const isInterval = (p.k === 'bin' && (p.op === '-' || p.op === '/')) || (p.k === 'val' && !p.str && /^[^"]*[0-9a-f](?:-|\/)\w/i.test(p.text) && !/^[a-z]/i.test(p.text));
      if (isInterval && !info.interval && info.set.kind !== 'vmap' && info.declared && parts.length === 1) {
        this.err(p.range, 'needs-interval', `"${p.text}" is a range or prefix: add "flags interval" to "${info.set.name}"`);
      }
    }
    if (el.data && info.dataParts !== undefined && info.set.kind !== 'vmap') {
      const dp = this.concatParts(el.data);
      if (dp.length > info.dataParts && !dp.some((p) => p.k === 'var')) {
        this.err(el.data.range, 'bad-element', `value "${el.data.text}" has ${dp.length} part(s); "${info.set.name}" maps to ${info.dataParts}`);
      }
    }
    if (info.set.dataType === 'classid' && el.data && !/^(?:[0-9a-f]{1,4}:[0-9a-f]{1,4}|root|none)$/i.test(el.data.text)) {
      this.err(el.data.range, 'bad-element', `"${el.data.text}" is not a classid (MAJOR:MINOR)`);
    }
  }

  // ---- objects -------------------------------------------------------------------------------

  objectBody(kind: string, n: StmtNode, tail: unknown[]) {
    const props = OBJECT_PROPS[kind];
    const seen = new Set<string>();
    for (const c of n.block?.children ?? []) {
      this.refs(c, true);
      const s = c.stmt;
      if (!s) continue;
      if (s.k === 'hookspec') {
        if (kind !== 'flowtable') { this.err(s.range, 'unknown-keyword', `unexpected "hook" in a ${kind}`); continue; }
        seen.add('hook');
        if (s.hook && s.hook.text !== 'ingress') this.err(s.hook.range, 'bad-hook', `a flowtable hooks only at ingress, not "${s.hook.text}"`);
        if (!s.priority) this.err(s.range, 'bad-priority', 'a flowtable needs a priority');
        else seen.add('priority');
        continue;
      }
      if (s.k !== 'prop') continue;
      if (props && !props.has(s.name) && !(kind === 'quota' && /^\d/.test(s.name)) && !(kind === 'secmark' && s.name.startsWith('"'))) { this.err(s.nameRange, 'unknown-keyword', `unexpected "${s.name}" in a ${kind}`); continue; }
      seen.add(s.name);
      if (kind === 'ct timeout' && s.name === 'policy') {
        const v = s.values.find((x) => x.k === 'set');
        if (v?.k === 'set') {
          for (const el of v.elems) {
            if (!CT_TIMEOUT_STATES.has(el.key.text)) this.err(el.key.range, 'unknown-keyword', `unknown conntrack state "${el.key.text}" in a ct timeout policy`);
          }
        }
      }
      if (kind === 'tunnel' && (s.name === 'ip' || s.name === 'ip6')) {
        const v = s.tokens[1];
        const val = v && (v.tokenType === VarRef ? this.vars.get(v.image.slice(1))?.value : v.image);
        const ok = val !== undefined && (s.name === 'ip' ? /^\d{1,3}(\.\d{1,3}){3}$/.test(val) : /^[0-9a-f:.]+$/i.test(val) && val.includes(':'));
        if (!ok || s.tokens.length !== 2) this.err(s.range, 'bad-value', `tunnel "${s.name} saddr|daddr" takes one ${s.name === 'ip' ? 'IPv4' : 'IPv6'} address`);
      }
      if (kind === 'ct helper' && s.name === 'type' && !s.tokens.some((x) => x.image === 'protocol')) {
        this.err(s.range, 'syntax', 'expected: type "NAME" protocol tcp|udp');
      }
    }
    if (kind === 'flowtable' && n.block && !seen.has('hook')) this.err(n.range, 'syntax', 'a flowtable needs "hook ingress priority P"');
    if (kind === 'tunnel' && n.block && n.block.children.length === 0) this.err(n.range, 'syntax', 'an empty tunnel has nothing to match');
    void tail;
  }

  // ---- rules ---------------------------------------------------------------------------------

  rule(t: Table, c: Chain, stmts: RuleStmt[], range: Range, handle?: number, n?: StmtNode): Rule {
    const r: Rule = { index: 0, range, matches: [], actions: [], handle };
    let l4: { proto: string; range: Range } | undefined;
    for (const s of stmts) {
      this.ruleStmt(t, c, r, s);
      // protocol dependencies: `ip6 nexthdr comp udp dport 1` can never match (nft refuses it)
      if (s.k === 'match' && s.left.k === 'sel' && (s.op === 'implicit' || s.op === '==') && s.right.k === 'val' && !s.right.str) {
        const key = `${s.left.proto} ${s.left.key}`;
        if (key === 'ip protocol' || key === 'ip6 nexthdr' || key === 'meta l4proto') l4 = { proto: s.right.text === 'ipv6-icmp' ? 'icmpv6' : s.right.text, range: s.right.range };
      }
      const sels = stmtSelectors(s);
      for (const x of sels) {
        if (l4 && L4_PROTOS.has(x.proto) && L4_PROTOS.has(l4.proto) && x.proto !== l4.proto && !(x.proto === 'th')) {
          this.err(x.range, 'conflicting-protocols', `conflicting protocols: this rule already requires ${l4.proto}, so ${x.proto} can never match`);
        }
        if (x.proto === 'ct' && /^(?:ip6? )?(?:saddr|daddr|proto-src|proto-dst)$/.test(x.key) && !x.words.some((w) => w === 'original' || w === 'reply')) {
          this.err(x.range, 'ct-needs-direction', `"${x.text}" needs a direction: ct original ${x.key} or ct reply ${x.key}`);
        }
        if (x.proto === 'ct' && (t.family === 'arp' || t.family === 'netdev' && false)) {
          this.err(x.range, 'bad-family', `conntrack expressions are not available in the ${t.family} family`);
        }
      }
    }
    void n;
    return r;
  }

  ruleStmt(t: Table, c: Chain, r: Rule, s: RuleStmt) {
    switch (s.k) {
      case 'match': {
        const left = s.left;
        const sel = leftSelector(left);
        const m: Match = {
          module: sel?.proto ?? 'expr',
          moduleRange: sel?.range,
          known: !!sel,
          options: [{
            name: sel?.key || sel?.proto || left.text,
            flag: left.text,
            negated: s.op === '!=',
            values: this.values(s.right),
            range: s.range,
            nameRange: left.range,
          }],
          range: s.range,
          nft: { left: left.text, op: (s.op as NonNullable<Match['nft']>['op']), right: s.right.text },
        };
        if (s.right.k === 'ref') { m.nft!.setRef = s.right.name; m.nft!.setRefRange = s.right.range; this.setRef(t, s.right.name, s.right.range, true); }
        if (left.k === 'bin' && ['&', 'and', '|', 'or', '^', 'xor'].includes(left.op) && s.op === 'implicit') m.nft!.op = '&';
        r.matches.push(m);
        this.exprChecks(t, left);
        this.exprChecks(t, s.right);
        this.lhsChecks(left);
        if (s.right.k === 'set') this.anonArity(left, s.right);
        if (left.k === 'sel') this.valueChecks(left, s.right);
        break;
      }
      case 'verdict': {
        const a: Action = {
          kind: s.verb === 'jump' ? 'jump' : s.verb === 'goto' ? 'goto' : 'verdict',
          name: s.verb, known: true, options: [], range: s.range, nameRange: s.verbRange, text: s.text,
        };
        if (s.target !== undefined) {
          a.chain = s.target.startsWith('$') ? this.vars.get(s.target.slice(1))?.value ?? s.target : s.target;
          a.chainRange = s.targetRange;
          this.checkName(a.chain, s.targetRange!, 'chain');
        }
        r.actions.push(a);
        break;
      }
      case 'stmt': {
        if (s.name === 'comment') {
          const v = s.args[0]?.value;
          if (v) r.comment = unquote(v.text);
          else this.err(s.nameRange, 'syntax', 'comment needs a "quoted string"');
          break;
        }
        const a: Action = {
          kind: 'extension', name: s.name, known: true, range: s.range, nameRange: s.nameRange, text: s.text,
          options: s.args.map((x) => ({ name: x.key, flag: x.key, negated: false, values: x.value ? this.values(x.value) : [], range: x.value ? { start: x.keyRange.start, end: x.value.range.end } : x.keyRange, nameRange: x.keyRange })),
        };
        if (s.name === 'counter') {
          const p = s.args.find((x) => x.key === 'packets')?.value?.text;
          const b = s.args.find((x) => x.key === 'bytes')?.value?.text;
          if (p !== undefined && b !== undefined && /^\d+$/.test(p) && /^\d+$/.test(b)) r.counters = { packets: Number(p), bytes: Number(b) };
        }
        this.stmtChecks(t, c, s);
        r.actions.push(a);
        for (const x of s.args) if (x.value) this.exprChecks(t, x.value);
        break;
      }
      case 'mangle': {
        const sel = leftSelector(s.left);
        const key = sel ? `${sel.proto === 'meta' || sel.proto === 'ct' ? (sel.proto === 'ct' ? 'ct-' : '') : sel.proto + '-'}${sel.key.replace(/ /g, '-')}-set` : 'set';
        if (sel?.proto === 'meta' && !META_SETTABLE.has(sel.key)) this.err(s.left.range, 'not-settable', `meta ${sel.key} cannot be set`);
        if (s.value.k === 'val' && !s.value.str && /^0x[0-9a-f]+-|^\d+-\d/i.test(s.value.text)) this.err(s.value.range, 'bad-value', `a range "${s.value.text}" cannot be assigned`);
        if (s.value.k === 'bin' && s.value.op === '-') this.err(s.value.range, 'bad-value', `a range "${s.value.text}" cannot be assigned`);
        if (sel?.proto === 'ip' && sel.key.startsWith('option')) this.err(s.left.range, 'not-settable', 'IP options cannot be set');
        if (sel?.proto === 'ct' && ['helper', 'timeout', 'expectation'].includes(sel.key) && s.value.k === 'bin' && s.value.op === 'map' && s.value.r.k === 'set') {
          this.objrefMap(t, `ct ${sel.key}`, s.value.r);
        }
        if (sel?.proto === 'ct' && ['helper', 'timeout', 'expectation'].includes(sel.key) && s.value.k === 'val') {
          const nm = unquote(s.value.text);
          if (!t.objects.some((o) => o.kind === `ct ${sel.key}` && o.name === nm)) this.err(s.value.range, 'undefined-object', `ct ${sel.key} "${nm}" is not declared in table "${t.name}"`, this.hasIncludes ? 'warning' : 'error');
        }
        this.exprChecks(t, s.value);
        if (s.value.k === 'set') this.err(s.value.range, 'bad-value', 'a set cannot be assigned: give one value');
        else if (s.left.k === 'sel') this.valueChecks(s.left, s.value);
        r.actions.push({
          kind: 'extension', name: key, known: !!sel, range: s.range, nameRange: s.left.range, text: s.text,
          options: [{ name: 'value', flag: 'set', negated: false, values: this.values(s.value), range: s.value.range, nameRange: s.left.range }],
        });
        break;
      }
      case 'vmap': {
        const entries: NonNullable<Action['vmap']>['entries'] = [];
        if (s.map.k === 'set') {
          for (const el of s.map.elems) {
            const d = el.data;
            if (!d) { this.err(el.range, 'bad-element', `verdict map element "${el.key.text}" needs ": VERDICT"`); continue; }
            if (d.k !== 'verdict') { this.err(d.range, 'bad-element', `"${d.text}" is not a verdict`); continue; }
            entries.push({ key: el.key.text, verdict: d.verb, chain: d.target, range: d.targetRange ?? d.range });
            if (d.target) this.checkName(d.target, d.targetRange!, 'chain');
          }
        } else if (s.map.k === 'ref') {
          this.setRef(t, s.map.name, s.map.range, false);
          const info = this.sets.get(t)?.get(s.map.name);
          for (const el of info?.set.elements ?? []) {
            const m = el.value && /^(jump|goto)\s+(\S+)/.exec(el.value);
            if (m) entries.push({ key: el.text, verdict: m[1], chain: unquote(m[2]), range: el.range });
          }
        }
        this.exprChecks(t, s.key);
        this.exprChecks(t, s.map);
        this.lhsChecks(s.key);
        if (s.map.k === 'set') this.anonArity(s.key, s.map);
        r.actions.push({
          kind: 'extension', name: 'vmap', known: true, range: s.range, nameRange: s.key.range, text: s.text, options: [],
          vmap: { key: s.key.text, entries },
        });
        break;
      }
      case 'setop': {
        this.setRef(t, s.set, s.setRange, false);
        const info = this.sets.get(t)?.get(s.set);
        if (info && s.elem.k === 'set') {
          for (const el of s.elem.elems) {
            if (el.data && info.set.kind === 'set') this.err(el.data.range, 'bad-element', `"${s.set}" is a set: its elements take no ": value"`);
          }
        }
        r.actions.push({ kind: 'extension', name: `set-${s.op}`, known: true, range: s.range, nameRange: s.opRange, text: s.text, options: [] });
        break;
      }
      case 'unknown':
        r.actions.push({ kind: 'extension', name: s.word, known: false, range: s.range, nameRange: s.range, text: s.text, options: [] });
        break;
    }
  }

  /** Known keys: complete selectors, symbolic constants, integer ranges. */
  valueChecks(sel: Extract<Expr, { k: 'sel' }>, right: Expr) {
    const w = sel.words;
    const last = w[w.length - 1];
    if (w.length === 1 && (w[0] === 'ct' || w[0] === 'meta' || (PAYLOAD_FIELDS[w[0]]?.length ?? 0) > 0)) {
      this.err(sel.range, 'unknown-keyword', `"${w[0]}" needs a field or key here, such as ${w[0] === 'ct' ? '"ct state"' : w[0] === 'meta' ? '"meta mark"' : `"${w[0]} ${PAYLOAD_FIELDS[w[0]][0]}"`}`);
      return;
    }
    if (last === 'option' || last === 'chunk') {
      this.err(sel.range, 'unknown-keyword', `"${sel.text}" needs an option name`);
      return;
    }
    if (sel.proto === 'ct' && w.some((x) => x === 'original' || x === 'reply') && !CT_DIRECTIONAL.has(sel.key)) {
      this.err(sel.range, 'bad-value', `ct ${sel.key} has no direction`);
    }
    const key = `${sel.proto} ${sel.key}`;
    const symbols = KEY_SYMBOLS[key];
    const max = KEY_MAX[key];
    const leaves: Expr[] = [];
    const collect = (e: Expr) => {
      if (e.k === 'list') e.items.forEach(collect);
      else if (e.k === 'set') e.elems.forEach((el) => collect(el.key));
      else if (e.k === 'bin' && (e.op === '|' || e.op === '-')) { collect(e.l); collect(e.r); }
      else leaves.push(e);
    };
    collect(right);
    for (const v of leaves) {
      if (v.k !== 'val') continue;
      if (symbols && !v.str && !/^(?:0x[0-9a-f]+|\d+)$/i.test(v.text)) {
        const parts = v.text.split('-');
        const bad = symbols.has(v.text) ? [] : parts.filter((p) => !symbols.has(p) && !/^(?:0x[0-9a-f]+|\d+)$/i.test(p));
        if (bad.length && !(key === 'meta day' && v.str)) this.err(v.range, 'bad-value', `"${v.text}" is not a ${key} value (expected ${[...symbols].slice(0, 8).join(', ')})`);
      }
      if (max !== undefined) {
        for (const p of v.text.split('-')) {
          if (!/^(?:0x[0-9a-f]+|\d+)$/i.test(p)) {
            if (!v.str && /^[a-z]/i.test(p) && key !== 'ip dscp' && key !== 'ip6 dscp' && key !== 'ct label') this.err(v.range, 'bad-value', `${key} takes a number, not "${v.text}"`);
            break;
          }
          const n = Number(p);
          if (n > max) { this.err(v.range, 'bad-value', `${key} is at most ${max}, not ${p}`); break; }
        }
      }
    }
  }

  /** The left side of a match or map: concatenations of expressions, no bit operations on strings. */
  lhsChecks(left: Expr) {
    const parts = this.concatParts(left);
    if (parts.length > 1) {
      for (const p of parts) {
        if (p.k === 'val' && /\*"?$/.test(p.text)) this.err(p.range, 'bad-value', `"${p.text}": a wildcard is only valid as a set element, not on the left of a match`);
      }
    }
    // nft 1.0.6 loads one bit operation on an interface name but refuses a chain of them
    // ("Empty string is not allowed"): a chain is an error, a single one a warning.
    let ops = 0;
    let sel: Extract<Expr, { k: 'sel' }> | undefined;
    for (let e: Expr = left; e.k === 'bin' && ['&', '|', '^', 'and', 'or', 'xor', '<<', '>>'].includes(e.op); e = e.l) {
      ops++;
      sel = leftSelector(e.l);
    }
    if (ops && sel && STRING_KEYS.has(sel.key)) {
      this.err(left.range, 'bad-value', `bit operations do not apply to the string "${sel.text}"`, ops > 1 ? 'error' : 'warning');
    }
  }

  /** Elements of an anonymous set or map must have as many parts as the key expression. */
  anonArity(key: Expr, set: Extract<Expr, { k: 'set' }>) {
    const n = this.concatParts(key).length;
    for (const el of set.elems) {
      if (el.key.k === 'var' || el.key.text === '*') continue;
      const parts = this.concatParts(el.key);
      if (parts.some((p) => p.k === 'var')) continue;
      if (parts.length !== n) this.err(el.key.range, 'bad-element', `element "${el.key.text}" has ${parts.length} part(s); the key "${key.text}" has ${n}`);
    }
  }

  setRef(t: Table, name: string, range: Range, _match: boolean) {
    if (!this.sets.get(t)?.has(name)) {
      this.err(range, 'undefined-set', `set "@${name}" is not declared in table "${t.name}"`, this.hasIncludes ? 'warning' : 'error');
    }
  }

  stmtChecks(t: Table, c: Chain, s: Extract<RuleStmt, { k: 'stmt' }>) {
    const get = (k: string) => s.args.find((x) => x.key === k);
    if (s.name === 'log') {
      const lvl = get('level')?.value;
      if (lvl && !LOG_LEVELS.has(lvl.text)) this.err(lvl.range, 'bad-value', `unknown log level "${lvl.text}"`);
      if (lvl?.text === 'audit' && s.args.length > 1) this.err(s.range, 'bad-value', 'log level audit takes no other log options');
    }
    if (s.name === 'queue') {
      const num = get('num')?.value;
      if (num && num.k === 'val' && num.text.split('-').some((p) => /^\d+$/.test(p) && Number(p) > 65535)) this.err(num.range, 'bad-value', 'queue numbers are 0-65535');
      if (num && num.k === 'sel') this.err(num.range, 'bad-value', 'queue num takes a number or a range; use "queue to EXPR" for an expression');
    }
    if (s.name === 'reject') {
      const w = get('with')?.value;
      if (w?.k === 'list') {
        const items = w.items.map((x) => x.text);
        const code = items[items.length - 1];
        if (/^\d+$/.test(code) && Number(code) > 255) this.err(w.range, 'bad-value', `ICMP code ${code} is out of range (0-255)`);
      }
    }
    if (s.name === 'counter' || s.name === 'quota' || s.name === 'limit' || s.name === 'synproxy') {
      const name = get('name')?.value;
      if (name) {
        const parts = this.concatParts(name);
        if (name.k === 'sel' || (name.k === 'bin' && name.op !== 'map') || parts.length > 1) {
          this.err(name.range, 'bad-value', `"${s.name} name" takes an object name or a map lookup, not "${name.text}"`);
        } else if (name.k === 'val') {
          const nm = unquote(name.text);
          if (!t.objects.some((o) => o.kind === s.name && o.name === nm)) {
            this.err(name.range, 'undefined-object', `${s.name} "${nm}" is not declared in table "${t.name}"`, this.hasIncludes ? 'warning' : 'error');
          }
        } else if (name.k === 'bin' && name.op === 'map' && name.r.k === 'set') {
          this.objrefMap(t, s.name, name.r);
        }
      }
    }
    if (['snat', 'dnat', 'masquerade', 'redirect', 'tproxy'].includes(s.name)) {
      const to = get('to')?.value ?? s.args.find((x) => x.key === '')?.value;
      if (to && to.k === 'bin' && to.op === 'map' && to.r.k === 'ref') {
        const info = this.sets.get(t)?.get(to.r.name);
        if (info && info.set.kind === 'set') this.err(to.r.range, 'bad-type', `"@${to.r.name}" is a set, not a map`);
      }
      if (to && to.k === 'bin' && to.op === 'map' && to.r.k === 'set') {
        for (const el of to.r.elems) if (!el.data) this.err(el.range, 'bad-element', `map element "${el.key.text}" needs ": value"`);
      }
      if (to && to.k === 'bin' && to.op === ':' && to.l.k === 'bin' && to.l.op === 'map' && to.l.r.k === 'set' && to.l.r.elems.some((el) => el.data && this.concatParts(el.data).length > 1)) {
        this.err(to.r.range, 'bad-value', 'the map already gives address and port: a ":port" after it is not allowed');
      }
      if (s.name === 'tproxy' && to) {
        const addr = to.k === 'bin' && to.op === ':' ? to.l : to;
        const port = to.k === 'bin' && to.op === ':' ? to.r : undefined;
        if (addr.k === 'val' && /\/|-/.test(addr.text)) this.err(addr.range, 'bad-value', 'tproxy takes one address, not a range or prefix');
        if (port && port.k === 'var') {
          const v = this.vars.get(port.name)?.value;
          if (v && /-/.test(v)) this.err(port.range, 'bad-value', 'tproxy takes one port, not a range');
        }
        if (port && port.k === 'val' && /-/.test(port.text)) this.err(port.range, 'bad-value', 'tproxy takes one port, not a range');
      }
    }
    if (s.name === 'dup' || s.name === 'fwd') {
      for (const k of ['to', 'device']) {
        const v = get(k)?.value;
        if (!v) continue;
        const text = v.k === 'var' ? this.vars.get(v.name)?.value ?? '' : v.text;
        if (v.k === 'bin' && v.op === '-' || /^"?[^"]*"?-"/.test(text) || (v.k === 'val' && !v.str && /^[\d.:a-f]+-[\d.:a-f]+$/i.test(v.text) && /\d/.test(v.text))) {
          this.err(v.range, 'bad-value', `${s.name} ${k} takes a single value, not a range`);
        }
      }
    }
    void c;
  }

  /** Objects named as data of an anonymous object map must exist in the table. */
  objrefMap(t: Table, kind: string, m: Extract<Expr, { k: 'set' }>) {
    for (const el of m.elems) {
      if (!el.data || el.data.k !== 'val') continue;
      const nm = unquote(el.data.text);
      if (!t.objects.some((o) => o.kind === kind && o.name === nm)) {
        this.err(el.data.range, 'undefined-object', `${kind} "${nm}" is not declared in table "${t.name}"`, this.hasIncludes ? 'warning' : 'error');
      }
    }
  }

  /** Checks on any expression: raw payload sizes, nested binops on sets... */
  exprChecks(t: Table, e: Expr) {
    const walk = (x: Expr) => {
      if (x.k === 'sel' && x.proto === 'payload') {
        const m = /^@(\w+),(\d+),(\d+)$/.exec(x.text);
        if (m) {
          if (!['ll', 'nh', 'th', 'ih'].includes(m[1])) this.err(x.range, 'unknown-keyword', `unknown payload base "${m[1]}": expected ll, nh, th or ih`);
          const len = Number(m[3]);
          if (len === 0) this.err(x.range, 'bad-value', 'a raw payload needs a length above 0');
          if (len > 128) this.err(x.range, 'bad-value', `raw payload length ${len} exceeds 128 bits`);
        }
      }
      if (x.k === 'bin') {
        walk(x.l); walk(x.r);
        if ((x.op === '<<' || x.op === '>>') && x.r.k === 'val' && /^\d+$/.test(x.r.text) && Number(x.r.text) > 32) {
          this.err(x.r.range, 'bad-value', `shift by ${x.r.text} is out of range`);
        }
        if (x.op === '/' && x.l.k === 'val' && /^[a-z][a-z-]*$/i.test(x.l.text) && x.r.k === 'val' && /^\d+$/.test(x.r.text)) {
          this.err(x.range, 'bad-value', `"${x.text}": a prefix needs an address`);
        }
      }
      if (x.k === 'list') x.items.forEach(walk);
      if (x.k === 'set') {
        for (const el of x.elems) {
          walk(el.key);
          if (el.data) walk(el.data);
          if (el.data && el.data.k === 'val' && /^(?:0x[0-9a-f]+|\d+)\/\d+$/i.test(el.data.text)) this.err(el.data.range, 'bad-value', `"${el.data.text}": a prefix needs an address`);
        }
      }
    };
    walk(e);
    void t;
  }

  /** Typed values of a right-hand side. */
  values(e: Expr): Value[] {
    const out: Value[] = [];
    const one = (x: Expr) => {
      if (x.k === 'list') { x.items.forEach(one); return; }
      if (x.k === 'set') { for (const el of x.elems) one(el.key); return; }
      out.push(typedValue(x));
    };
    one(e);
    return out;
  }
}

/** A `|` combination of symbolic or numeric constants (tcp flags). */
function isConst(e: Expr): boolean {
  if (e.k === 'bin') return e.op === '|' && isConst(e.l) && isConst(e.r);
  return e.k === 'val' && /^(?:[a-z][a-z0-9-]*|0x[0-9a-f]+|\d+)$/i.test(e.text);
}

function looksLikeJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const L4_PROTOS = new Set(['tcp', 'udp', 'udplite', 'sctp', 'dccp', 'icmp', 'icmpv6', 'igmp', 'ah', 'esp', 'comp', 'gre']);
const STRING_KEYS = new Set(['iifname', 'oifname', 'ibrname', 'obrname', 'sdifname', 'iifkind', 'oifkind']);

/** Every selector an expression uses. */
function selectorsOf(e: Expr | undefined, out: Extract<Expr, { k: 'sel' }>[] = []): Extract<Expr, { k: 'sel' }>[] {
  if (!e) return out;
  if (e.k === 'sel') out.push(e);
  else if (e.k === 'bin') { selectorsOf(e.l, out); selectorsOf(e.r, out); }
  else if (e.k === 'list') e.items.forEach((x) => selectorsOf(x, out));
  else if (e.k === 'set') for (const el of e.elems) { selectorsOf(el.key, out); selectorsOf(el.data, out); }
  return out;
}

function stmtSelectors(s: RuleStmt): Extract<Expr, { k: 'sel' }>[] {
  switch (s.k) {
    case 'match': return selectorsOf(s.left);
    case 'mangle': return [...selectorsOf(s.left), ...selectorsOf(s.value)];
    case 'vmap': return selectorsOf(s.key);
    case 'stmt': return s.args.flatMap((a) => selectorsOf(a.value));
    case 'setop': return selectorsOf(s.elem);
    default: return [];
  }
}

function norm(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

function rangeEq(a: Range, b: Range): boolean {
  return a.start.line === b.start.line && a.start.character === b.start.character;
}

function leftSelector(e: Expr): Extract<Expr, { k: 'sel' }> | undefined {
  if (e.k === 'sel') return e;
  if (e.k === 'bin') return leftSelector(e.l);
  return undefined;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function typedValue(x: Expr): Value {
  const text = x.text;
  const range = x.range;
  if (x.k === 'val' && x.str) return { kind: 'string', text, range, value: unquote(text) };
  if (x.k === 'ref' || x.k === 'var' || x.k !== 'val') return { kind: 'word', text, range };
  let m = /^([^/]+)\/(\d+)$/.exec(text);
  const addr = m ? m[1] : text;
  if (IPV4.test(addr) && addr.split('.').every((p) => Number(p) <= 255)) {
    return { kind: 'address', text, range, family: 'ip', addr, prefix: m ? Number(m[2]) : 32 };
  }
  if (/^[0-9a-f:]+$/i.test(addr) && addr.includes('::') || /^[0-9a-f]{1,4}(:[0-9a-f]{1,4}){7}$/i.test(addr)) {
    return { kind: 'address', text, range, family: 'ip6', addr, prefix: m ? Number(m[2]) : 128 };
  }
  m = /^((?:\d{1,3}\.){3}\d{1,3})-((?:\d{1,3}\.){3}\d{1,3})$/.exec(text);
  if (m) return { kind: 'address-range', text, range, from: m[1], to: m[2] };
  if (/^\d+$/.test(text)) return { kind: 'number', text, range, value: Number(text) };
  if (/^0x[0-9a-f]+$/i.test(text)) return { kind: 'mark', text, range, value: parseInt(text, 16) >>> 0, mask: 0xffffffff, hasMask: false };
  m = /^(\d+)-(\d+)$/.exec(text);
  if (m) return { kind: 'number-range', text, range, from: Number(m[1]), to: Number(m[2]) };
  return { kind: 'word', text, range };
}

export function buildNftRuleset(text: string): Ruleset {
  if (/^\s*[[{]/.test(text) && looksLikeJson(text)) {
    return {
      kind: 'nft', family: 'inet', tables: [], variables: [], includes: [],
      diagnostics: [{
        range: { start: { line: 0, character: 0 }, end: { line: 0, character: 1 } }, severity: 'error', code: 'json-ruleset',
        message: 'this is an nftables JSON ruleset (nft -j); Netfilter Lens reads the nft text syntax (nft list ruleset)',
      }],
    };
  }
  const b = new Builder(text);
  // whether something outside this file may declare what it uses (then missing objects only warn)
  b.hasIncludes = /^[ \t]*include[ \t]/m.test(text);
  // statements reach the model as they are parsed: the syntax tree of a huge script is never whole
  const doc = parseNftDocument(text, (n) => b.topNode(n));
  b.finish();
  // a loop, not push(...): a file of 200 000 bad statements overflowed the stack with the spread
  for (const d of doc.diagnostics) b.diags.push(d);
  b.diags.sort((x, y) => x.range.start.line - y.range.start.line || x.range.start.character - y.range.start.character);
  const fams = new Set(b.rs.tables.map((t) => t.family));
  b.rs.family = fams.size === 1 ? [...fams][0] : 'inet';
  return b.rs;
}
