// The packet walk: the hooks of the packet's path in order, at each hook every base chain (iptables
// built-in chains and nft base chains) by priority, the routing decision, conntrack and NAT, jumps,
// gotos and returns, and a trace of every step.
//
// Unknown steps: a rule whose matches cannot be decided is an "unknown" step. The walk follows the
// branch `decide(key)` picks (default: `assume`, itself "nomatch" by default) and records which one it
// assumed; `walkBranches` explores both branches of every unknown step (bounded).
//
// API for the CLI and the editor: parsePacket (packet.ts) -> walk(rs, packet, { from, routing, ipsets,
// assume | decide }) -> WalkResult (steps with 1-based lines and source ranges, verdict, decidedAt,
// the packet as it leaves); startPointAt(rs, line) for "simulate from here"; witnessFor (witness.ts)
// for a packet the rule matches; traceJson / traceText (trace-format.ts) for output.
import type { Action, Chain, Hook, Match, Range, Rule, Ruleset, Table } from '../model/ruleset';
import { hex } from '../knowledge/marks';
import { formatAddr, inCidr, parseAddr, parseCidr } from './addr';
import { dst4, evalRule, evalWith, firstAddr4, isLocalAddr, matcherOf, src4, type RuleEval, type RuleMatcher } from './match';
import type { Packet } from './packet';
import type { RoutingConfig } from '../model/routing';
import type { Ipset } from '../model/ipset';
import { routeDecision, type RouteDecision, type RouteQuery } from '../routing/decision';
import { isLocalAddress } from '../routing/index';
import { initialState, toPacket, type WalkPacket } from './state';
import { applyTarget, knownTarget } from './targets';
import { applyNftStatement, type NftEffect } from './nft-eval';

export type Verdict = 'ACCEPT' | 'DROP' | 'REJECT' | 'QUEUE' | 'NO-ROUTE' | 'UNKNOWN' | 'LOOP' | 'STEP-LIMIT' | 'ERROR';

export interface Step {
  kind: 'rule' | 'policy' | 'event';
  hook: Hook;
  table: string;
  family: string;
  chain: string;
  /** 1-based source line of the rule (or the chain's policy); 0 for events. */
  line: number;
  ruleIndex?: number;
  range?: Range;
  result: 'match' | 'nomatch' | 'unknown' | 'policy' | 'event';
  /** Unknown steps: the branch the walk followed. */
  assumed?: 'match' | 'nomatch';
  reason?: string;
  /** No match: the option that failed, as written. */
  failed?: string;
  action: string;
  note?: string;
  mark: string;
  ctmark: string;
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
}

export interface WalkResult {
  verdict: Verdict;
  /** Index in `steps` of the step that decided the verdict (undefined: every hook accepted). */
  decidedAt?: number;
  steps: Step[];
  packet: Packet;
  /** Hooks visited in order. */
  path: Hook[];
  /** Keys of the unknown steps met, in order, with the branch taken. */
  unknowns: { key: string; assumed: 'match' | 'nomatch'; reason: string }[];
  /** The connection was committed to the conntrack table (after POSTROUTING or INPUT): it outlives a later drop. */
  confirmed: boolean;
  error?: string;
}

export interface StartPoint {
  table: string;
  family?: string;
  chain: string;
  /** 0-based rule index; 0 (or the chain's length) for the whole chain. */
  ruleIndex: number;
}

export interface WalkOptions {
  /** The node's routing (ip rule / ip route / ip addr): routing decisions, oif and local addresses
   *  come from it instead of the packet line's `host` list. */
  routing?: RoutingConfig;
  /** ipset contents for `-m set` (a `set NAME=...` in the packet line still wins). */
  ipsets?: ReadonlyMap<string, Ipset>;
  assume?: 'match' | 'nomatch';
  /** Per unknown step (key = `table/chain#index@hook`): true follows the match branch. */
  decide?: (key: string) => boolean | undefined;
  from?: StartPoint;
  maxSteps?: number;
}

interface BaseChain {
  table: Table;
  chain: Chain;
  priority: number;
  nat: boolean;
  order: number;
}

/** The packet fields a step shows (and the hook it is at); shared by consecutive steps while neither
 *  changes. `m`/`c` are the numeric marks the hex texts were made from (a cheaper comparison). */
interface Snap { hook: Hook; mark: string; ctmark: string; src: string; dst: string; sport?: number; dport?: number; m: number; c: number }

/** What every step at one rule shares whatever the packet: made once per chain position (a kube
 *  dump's KUBE-SERVICES makes 10 000 steps per walk, so a step keeps only what changes). */
interface RuleSite {
  rule: Rule;
  table: string;
  family: string;
  chain: string;
  line: number;
  ruleIndex: number;
  range: Range;
  /** nft statements before the rule's last match (undefined: none). */
  early: Action[] | undefined;
  /** The compiled matcher, made when a packet gets past the inline test (undefined: not yet). */
  matcher: RuleMatcher | undefined;
  /** The last no-match result seen here (compiled rules return one object per failing option). */
  nm: NoMatchInfo | undefined;
}

/** A chain's sites, index by index, made as walks reach them, kept per Chain object. When a rule's
 *  first test is one IPv4 prefix (`-d VIP/32`), the prefix sits in dense typed arrays, so the walk
 *  passes most rules of a 10 000-rule kube chain without touching their Rule or site objects
 *  (those are scattered over a large heap; reading each one costs a cache miss). */
interface ChainPlan {
  /** The chain's rules array and length the plan was made for. */
  rules: Rule[];
  n: number;
  /** The rule each site was made for (a rule replaced in place gets a new site). */
  rule: (Rule | undefined)[];
  site: (RuleSite | undefined)[];
  /** Per index: 0 no site yet, 1 no inline test, 2/3 source/destination prefix, 4/5 the same negated. */
  test: Uint8Array;
  net: Uint32Array;
  mask: Uint32Array;
  /** The no-match step's shared part when the inline test fails (evalWith's result and the site). */
  fail: (NoMatchInfo | undefined)[];
}
const planCache = new WeakMap<Chain, ChainPlan>();

function planOf(c: Chain): ChainPlan {
  let p = planCache.get(c);
  const n = c.rules.length;
  if (p === undefined || p.rules !== c.rules || p.n !== n) {
    p = { rules: c.rules, n, rule: new Array(n), site: new Array(n), test: new Uint8Array(n), net: new Uint32Array(n), mask: new Uint32Array(n), fail: new Array(n) };
    planCache.set(c, p);
  }
  return p;
}

/** Makes the site at `idx`; returns its test code. */
function makeSite(plan: ChainPlan, rule: Rule, t: Table, c: Chain, idx: number, nft: boolean): number {
  const early = nft ? leadingStatements(rule) : undefined;
  const a4 = early === undefined ? firstAddr4(rule) : undefined;
  const site: RuleSite = { rule, table: t.name, family: t.family, chain: c.name, line: rule.range.start.line + 1, ruleIndex: idx, range: rule.range, early, matcher: undefined, nm: undefined };
  plan.site[idx] = site;
  plan.rule[idx] = rule;
  plan.fail[idx] = a4 ? { site, ev: a4.fail } : undefined;
  plan.net[idx] = a4?.net ?? 0;
  plan.mask[idx] = a4?.mask ?? 0;
  return (plan.test[idx] = a4 ? (a4.src ? 2 : 3) + (a4.neg ? 2 : 0) : 1);
}

/** Rule steps read their Step fields through getters: the rule's site, the evaluation's result object
 *  (shared per failing option for compiled rules) and the packet snapshot. */
abstract class RuleStepBase {
  abstract readonly site: RuleSite;
  abstract readonly ev: RuleEval;
  abstract at: Snap;
  abstract hook: Hook;
  abstract assumed: 'match' | 'nomatch' | undefined;
  abstract reason: string | undefined;
  abstract action: string;
  abstract note: string | undefined;
  get kind(): 'rule' { return 'rule'; }
  get table(): string { return this.site.table; }
  get family(): string { return this.site.family; }
  get chain(): string { return this.site.chain; }
  get line(): number { return this.site.line; }
  get ruleIndex(): number { return this.site.ruleIndex; }
  get range(): Range { return this.site.range; }
  get result(): Step['result'] { return this.ev.result; }
  get failed(): string | undefined { return this.ev.failed; }
  get mark(): string { return this.at.mark; }
  get ctmark(): string { return this.at.ctmark; }
  get src(): string { return this.at.src; }
  get dst(): string { return this.at.dst; }
  get sport(): number | undefined { return this.at.sport; }
  get dport(): number | undefined { return this.at.dport; }
  /** The keys in the order the plain step objects had (JSON of a step is unchanged). */
  toJSON(): Record<string, unknown> {
    return {
      hook: this.hook, table: this.table, family: this.family, chain: this.chain, line: this.line, ruleIndex: this.ruleIndex, range: this.range,
      result: this.result, assumed: this.assumed, reason: this.reason, failed: this.failed, kind: 'rule', action: this.action, note: this.note,
      mark: this.mark, ctmark: this.ctmark, src: this.src, dst: this.dst, sport: this.sport, dport: this.dport,
    };
  }
}

/** A rule that did not match and its result: made once per rule and failing option. */
interface NoMatchInfo { site: RuleSite; ev: RuleEval }

/** A rule that did not match: two fields (the walk makes one per rule it passes). */
class NoMatchStep extends RuleStepBase implements Step {
  constructor(readonly info: NoMatchInfo, readonly at: Snap) { super(); }
  get site(): RuleSite { return this.info.site; }
  get ev(): RuleEval { return this.info.ev; }
  get hook(): Hook { return this.at.hook; }
  get assumed(): undefined { return undefined; }
  get reason(): string | undefined { return this.info.ev.reason; }
  get action(): string { return ''; }
  get note(): undefined { return undefined; }
}

/** A rule that matched (or could not be decided): its actions, notes and snapshot are filled in later. */
class RuleStep extends RuleStepBase implements Step {
  action = '';
  note: string | undefined = undefined;
  /** A reason set after the evaluation (a missing chain, an unknown target effect). */
  private why: string | undefined = undefined;
  constructor(readonly site: RuleSite, public hook: Hook, readonly ev: RuleEval, public at: Snap, public assumed: 'match' | 'nomatch' | undefined) { super(); }
  get reason(): string | undefined { return this.why ?? this.ev.reason; }
  set reason(r: string | undefined) { this.why = r; }
}

const MAX_STACK = 64;

/** nft statements (not verdicts) written before the rule's last match; undefined when there are none. */
function leadingStatements(rule: Rule): Action[] | undefined {
  if (!rule.matches.length) return undefined;
  const last = rule.matches[rule.matches.length - 1].range.start;
  const before = (a: Action) => a.range.start.line < last.line || (a.range.start.line === last.line && a.range.start.character < last.character);
  const out = rule.actions.filter((a) => a.kind === 'extension' && a.name !== 'vmap' && before(a));
  return out.length ? out : undefined;
}

const byNameCache = new WeakMap<Table, { n: number; map: Map<string, Chain> }>();

/** The table's chains by name, built once per table (a kube-proxy nat table has tens of thousands). */
function chainsByName(t: Table): Map<string, Chain> {
  let c = byNameCache.get(t);
  if (!c || c.n !== t.chains.length) byNameCache.set(t, (c = { n: t.chains.length, map: new Map(t.chains.map((x) => [x.name, x])) }));
  return c.map;
}
const CONNTRACK_PRIORITY = -200;

function tableApplies(t: Table, rs: Ruleset, family: 'ip' | 'ip6'): boolean {
  const f = rs.kind === 'nft' ? t.family : rs.family;
  return f === family || f === 'inet';
}

const baseCache = new WeakMap<Ruleset, Map<string, BaseChain[]>>();

/** The base chains of `hook` by priority; cached per ruleset model (a kube dump has ~40 000 chains). */
export function baseChains(rs: Ruleset, hook: Hook, family: 'ip' | 'ip6'): BaseChain[] {
  let m = baseCache.get(rs);
  if (!m) baseCache.set(rs, (m = new Map()));
  const key = `${hook} ${family}`;
  let v = m.get(key);
  if (!v) m.set(key, (v = computeBaseChains(rs, hook, family)));
  return v;
}

function computeBaseChains(rs: Ruleset, hook: Hook, family: 'ip' | 'ip6'): BaseChain[] {
  const out: BaseChain[] = [];
  let order = 0;
  for (const t of rs.tables) {
    if (!tableApplies(t, rs, family)) continue;
    for (const c of t.chains) {
      if (c.hook !== hook || (rs.kind !== 'nft' && !c.builtin)) continue;
      out.push({ table: t, chain: c, priority: c.priority ?? 0, nat: c.type === 'nat' || (rs.kind !== 'nft' && t.name === 'nat'), order: order++ });
    }
  }
  // Equal priorities: the kernel puts a hook registered later before the earlier ones
  // (nf_hook_entries_grow), and chains register in file order.
  return out.sort((a, b) => a.priority - b.priority || b.order - a.order);
}

function actionText(a: Action): string {
  if (a.text) return a.text;
  if (a.kind === 'jump') return `-j ${a.chain ?? a.name}`;
  if (a.kind === 'goto') return `-g ${a.chain ?? a.name}`;
  const opts = a.options.map((o) => `${o.flag}${o.values.length ? ' ' + o.values.map((v) => v.text).join(' ') : ''}`);
  return [a.name, ...opts].join(' ');
}

export function ruleKey(table: string, chain: string, index: number, hook: Hook): string {
  return `${table}/${chain}#${index}@${hook}`;
}

/** Steps of the previous walk over each ruleset: the next walk's array is made that long at once
 *  (a 10 000-step trace grown by push leaves about three times its size in garbage). Below 256 or
 *  above 65 536 (where `new Array(n)` makes a slow dictionary array) push grows it. */
const stepHint = new WeakMap<Ruleset, number>();

class Walker {
  /** Steps so far: `n` of them (the array may be longer until finishSteps). */
  steps: Step[];
  n = 0;
  path: Hook[] = [];
  unknowns: WalkResult['unknowns'] = [];
  count = 0;
  confirmed = false;
  readonly max: number;
  constructor(readonly rs: Ruleset, readonly s: WalkPacket, readonly opts: WalkOptions) {
    this.max = opts.maxSteps ?? 100_000;
    const hint = stepHint.get(rs) ?? 0;
    this.steps = hint >= 256 && hint <= 65_536 ? new Array<Step>(hint) : [];
    if (opts.ipsets) s.ipsets = opts.ipsets;
    // The node's addresses (primary first) serve REDIRECT, MASQUERADE and addrtype like `host` does.
    for (const i of opts.routing?.interfaces ?? []) {
      for (const a of [...i.addrs].sort((x, y) => Number(x.secondary) - Number(y.secondary))) {
        if (a.family === s.family) s.hostAddrs.push({ addr: { family: a.family, n: a.local.n }, prefix: a.prefix.len, iface: i.name });
      }
    }
  }

  private hexMark = { n: -1, t: '' };
  private hexCt = { n: -1, t: '' };
  /** hex() of the current marks, cached: most steps change neither. */
  markHex(): string {
    if (this.hexMark.n !== this.s.mark) this.hexMark = { n: this.s.mark, t: hex(this.s.mark) };
    return this.hexMark.t;
  }
  ctHex(): string {
    if (this.hexCt.n !== this.s.ctmark) this.hexCt = { n: this.s.ctmark, t: hex(this.s.ctmark) };
    return this.hexCt.t;
  }

  private last?: Snap;
  /** The packet fields now, reusing the previous snapshot when nothing changed. */
  current(): Snap {
    const s = this.s, l = this.last;
    if (l !== undefined && l.m === s.mark && l.c === s.ctmark && l.src === s.src && l.dst === s.dst && l.sport === s.sport && l.dport === s.dport && l.hook === s.hook) return l;
    return (this.last = { hook: s.hook, mark: this.markHex(), ctmark: this.ctHex(), src: s.src, dst: s.dst, sport: s.sport, dport: s.dport, m: s.mark, c: s.ctmark });
  }

  snap(): Pick<Step, 'mark' | 'ctmark' | 'src' | 'dst' | 'sport' | 'dport'> {
    const s = this.s;
    const o: Pick<Step, 'mark' | 'ctmark' | 'src' | 'dst' | 'sport' | 'dport'> = { mark: this.markHex(), ctmark: this.ctHex(), src: s.src, dst: s.dst };
    if (s.sport !== undefined) o.sport = s.sport;
    if (s.dport !== undefined) o.dport = s.dport;
    return o;
  }

  push(step: Step): void {
    this.steps[this.n++] = step;
  }

  /** The steps array at its length, and the hint for the next walk. */
  finishSteps(): Step[] {
    if (this.steps.length !== this.n) this.steps.length = this.n;
    stepHint.set(this.rs, this.n);
    return this.steps;
  }

  event(table: string, chain: string, text: string) {
    this.push({ kind: 'event', hook: this.s.hook, table, family: '', chain, line: 0, result: 'event', action: text, ...this.snap() });
  }

  /** Conntrack at priority -200: the entry becomes known (or the packet stays untracked). */
  conntrack() {
    const s = this.s;
    if (s.ctLooked) return;
    s.ctLooked = true;
    if (s.ct === 'untracked' || s.ctState === 'untracked') {
      s.ct = 'untracked';
      s.ctmark = 0;
      s.natDoneDst = s.natDoneSrc = true;
      this.event('', '', 'conntrack: untracked (no connection entry, no NAT)');
      return;
    }
    if (s.ctState === 'invalid') {
      s.ct = 'none';
      s.natDoneDst = s.natDoneSrc = true;
      this.event('', '', 'conntrack: invalid (no connection entry)');
      return;
    }
    if (s.zoneRequested !== undefined && s.zoneRequested !== s.ctZone && s.ctState !== 'new') {
      // The connection lives in the packet's zone; a lookup in another zone finds nothing.
      s.ctState = 'new';
      s.ctmark = 0;
      s.natDoneDst = s.natDoneSrc = false;
      s.ctZone = s.zoneRequested;
      s.ct = 'tracked';
      this.event('', '', `conntrack: no connection in zone ${s.ctZone}: a new one (ct mark 0x0)`);
      return;
    }
    if (s.zoneRequested !== undefined) s.ctZone = s.zoneRequested;
    s.ct = 'tracked';
    this.event('', '', `conntrack: ${s.ctState}, ${s.ctDir} direction, zone ${s.ctZone}, ct mark ${hex(s.ctmark)}`);
  }

  isLocal(addr: string): boolean {
    const a = parseAddr(addr);
    if (this.opts.routing && isLocalAddress(this.opts.routing, addr)) return true;
    return !!a && isLocalAddr(a, this.s.hostAddrs);
  }

  /** The routing decision from the node's tables, or undefined without them (or when it is unknown). */
  decide(kind: 'input' | 'output'): RouteDecision | undefined {
    const s = this.s;
    const cfg = this.opts.routing;
    if (!cfg) return undefined;
    const q: RouteQuery = { dst: s.dst, src: s.src, mark: s.mark, ipproto: s.proto, sport: s.sport, dport: s.dport };
    if (kind === 'input') q.iif = s.iif ?? 'lo';
    else { if (s.oif !== undefined && !s.oifDefaulted) q.oif = s.oif; if (s.uid !== undefined) q.uid = s.uid; }
    const d = routeDecision(cfg, q);
    if (d.outcome === 'unknown') {
      this.event('', '', `routing: unknown (${d.reason ?? d.summary}); falling back to the host addresses`);
      return undefined;
    }
    return d;
  }

  /** Runs every base chain of `hook`; returns a final verdict or undefined (accepted: go on). */
  hook(hook: Hook, startAt?: { base: BaseChain; stack: Frame[]; chain: Chain; index: number }): { verdict: Verdict; at?: number } | undefined {
    const s = this.s;
    s.hook = hook;
    this.path.push(hook);
    const chains = baseChains(this.rs, hook, s.family);
    const ctHook = hook === 'prerouting' || hook === 'output';
    let started = !startAt;
    for (const b of chains) {
      if (!started) {
        if (b !== startAt!.base && !(b.table === startAt!.base.table && b.chain === startAt!.base.chain)) continue;
        started = true;
        if (ctHook && b.priority > CONNTRACK_PRIORITY) this.conntrack();
        const r = this.runChain(b, startAt!.stack, startAt!.chain, startAt!.index);
        if (r) return r;
        continue;
      }
      if (ctHook && b.priority > CONNTRACK_PRIORITY) this.conntrack();
      if (b.nat) {
        const dstManip = hook === 'prerouting' || hook === 'output';
        const done = dstManip ? s.natDoneDst : s.natDoneSrc;
        if (done || s.ct !== 'tracked' || s.ctState !== 'new') {
          this.event(b.table.name, b.chain.name, `nat ${b.chain.name} skipped: ${s.ct !== 'tracked' ? 'no conntrack entry' : s.ctState !== 'new' ? `ct state ${s.ctState}` : 'NAT already decided for this connection'}`);
          continue;
        }
        const changedBefore = dstManip ? s.natDstChanged : s.natSrcChanged;
        const r = this.runChain(b, [], b.chain, 0);
        if (r) return r;
        // A nat chain that translated ends the nat lookup for this manip type; otherwise the next nat chain is asked.
        if ((dstManip ? s.natDstChanged : s.natSrcChanged) !== changedBefore) {
          if (dstManip) s.natDoneDst = true; else s.natDoneSrc = true;
        }
        continue;
      }
      const r = this.runChain(b, [], b.chain, 0);
      if (r) return r;
    }
    if (ctHook) this.conntrack();
    if ((hook === 'postrouting' || hook === 'input') && s.ct === 'tracked' && !this.confirmed) {
      this.confirmed = true;
      if (s.ctState === 'new') this.event('', '', 'conntrack: the new connection is confirmed (it stays even if the packet is dropped later)');
    }
    // After all nat chains of a hook: a null binding if none translated.
    if (s.ct === 'tracked' && s.ctState === 'new') {
      if (hook === 'prerouting' || hook === 'output') s.natDoneDst = true;
      if (hook === 'postrouting' || hook === 'input') s.natDoneSrc = true;
    }
    return undefined;
  }

  runChain(b: BaseChain, initStack: Frame[], startChain: Chain, startIndex: number): { verdict: Verdict; at?: number } | undefined {
    const s = this.s;
    const t = b.table;
    const stack: Frame[] = [...initStack];
    let cur = startChain;
    let idx = startIndex;
    const seen = new Set<string>();
    const byName = chainsByName(t);
    const enter = (c: Chain): { verdict: Verdict; at?: number } | undefined => {
      const key = `${c.name}|${stack.map((f) => f.chain.name + ':' + f.index).join(',')}|${s.mark}|${s.ctmark}|${s.src}|${s.dst}|${s.sport}|${s.dport}`;
      if (seen.has(key) || stack.length > MAX_STACK) {
        this.event(t.name, c.name, `loop: chain ${c.name} entered again in the same state`);
        return { verdict: 'LOOP', at: this.n - 1 };
      }
      seen.add(key);
      cur = c;
      idx = 0;
      return undefined;
    };
    const policy = (): { verdict: Verdict; at?: number } | undefined => {
      const base = b.chain;
      const p = (base.policy ?? 'ACCEPT').toUpperCase();
      this.push({
        kind: 'policy', hook: s.hook, table: t.name, family: t.family, chain: base.name,
        line: (base.policyRange ?? base.nameRange).start.line + 1, range: base.policyRange ?? base.nameRange,
        result: 'policy', action: `policy ${p}`, ...this.snap(),
      });
      if (p === 'ACCEPT') return undefined;
      return { verdict: p === 'DROP' ? 'DROP' : 'UNKNOWN', at: this.n - 1 };
    };
    const ret = (): boolean => {
      const f = stack.pop();
      if (!f) return false;
      cur = f.chain;
      idx = f.index;
      return true;
    };
    const first = enter(startChain);
    if (first) return first;
    idx = startIndex;
    const nft = this.rs.kind === 'nft';
    const steps = this.steps;
    let planChain: Chain | undefined;
    let plan: ChainPlan | undefined;
    for (;;) {
      if (++this.count > this.max) {
        this.event(t.name, cur.name, `step limit ${this.max} reached`);
        return { verdict: 'STEP-LIMIT', at: this.n - 1 };
      }
      const rules = cur.rules;
      if (idx >= rules.length) {
        if (cur !== b.chain && ret()) continue;
        return policy();
      }
      if (cur !== planChain) { planChain = cur; plan = planOf(cur); }
      const rule = rules[idx];
      const p = plan!;
      let test = p.test[idx];
      if (test === 0 || p.rule[idx] !== rule) test = makeSite(p, rule, t, cur, idx, nft);
      if (test !== 1) {
        // The rule's first test, inline: when it fails the rule fails there (what evalWith would say).
        const a = test & 1 ? dst4(s) : src4(s);
        if (a !== undefined && ((a & p.mask[idx]) >>> 0 === p.net[idx]) === test >= 4) {
          steps[this.n++] = new NoMatchStep(p.fail[idx]!, this.current());
          idx++;
          continue;
        }
      }
      const site = p.site[idx]!;
      // nft rules can put statements before matches (`meta mark set 1 ip saddr x accept`): those run
      // even when a later match fails. They are applied here, in source order, before the remaining matches.
      const early = site.early;
      let earlyNotes: string[] | undefined;
      let ev: RuleEval;
      if (early === undefined) {
        ev = evalWith((site.matcher ??= matcherOf(rule)), rule, s, t);
        // The common case: no match, nothing applied (one small object per step).
        if (ev.result === 'nomatch') {
          let nm = site.nm;
          if (nm === undefined || nm.ev !== ev) site.nm = nm = { site, ev };
          steps[this.n++] = new NoMatchStep(nm, this.current());
          idx++;
          continue;
        }
      } else ev = this.evalInterleaved(rule, t, early, (earlyNotes = []));
      let matched = ev.result === 'match';
      let assumed: 'match' | 'nomatch' | undefined;
      if (ev.result === 'unknown') {
        const key = ruleKey(t.name, cur.name, idx, s.hook);
        const d = this.opts.decide?.(key);
        matched = d ?? (this.opts.assume ?? 'nomatch') === 'match';
        assumed = matched ? 'match' : 'nomatch';
        this.unknowns.push({ key, assumed, reason: ev.reason ?? '' });
      }
      const step = new RuleStep(site, s.hook, ev, this.current(), assumed);
      steps[this.n++] = step;
      if (earlyNotes?.length) { step.note = earlyNotes.join('; '); step.action = early!.map((a) => a.text ?? a.name).join('; '); }
      if (!matched) { idx++; continue; }
      const out = this.actions(t, rule, step, byName, stack, () => ({ cur, idx }), enter, ret, policy, early);
      if (out === 'next') { idx++; continue; }
      if (out === 'moved') continue;
      return out;
    }
  }

  /** An nft rule with statements before matches: matches and those statements in source order. */
  evalInterleaved(rule: Rule, table: Table, early: Action[], notes: string[]): RuleEval {
    const items: ({ m: Match } | { a: Action })[] = [...rule.matches.map((m) => ({ m })), ...early.map((a) => ({ a }))];
    const start = (x: { m: Match } | { a: Action }) => ('m' in x ? x.m.range.start : x.a.range.start);
    items.sort((x, y) => start(x).line - start(y).line || start(x).character - start(y).character);
    let unknown: string | undefined;
    for (const it of items) {
      if ('m' in it) {
        const one = evalRule({ ...rule, matches: [it.m], actions: [] }, this.s, table);
        if (one.result === 'nomatch') return one;
        if (one.result === 'unknown') unknown ??= one.reason;
        continue;
      }
      // A statement reading ct without an entry stops the rule here (as evalRule says for any rule).
      const pre = evalRule({ ...rule, matches: [], actions: [it.a] }, this.s, table);
      if (pre.result === 'nomatch') return pre;
      if (unknown) continue; // the walk decides the unknown branch before applying more
      const r = applyNftStatement(it.a, this.s, table);
      if (r.note) notes.push(r.note);
      if (r.effect === 'unknown') unknown ??= r.reason;
    }
    return unknown ? { result: 'unknown', reason: unknown } : { result: 'match' };
  }

  /** Applies a matched rule's actions in order. */
  actions(
    table: Table, rule: Rule, step: Step, byName: Map<string, Chain>, stack: Frame[],
    here: () => { cur: Chain; idx: number },
    enter: (c: Chain) => { verdict: Verdict; at?: number } | undefined, ret: () => boolean,
    policy: () => { verdict: Verdict; at?: number } | undefined,
    done?: Action[],
  ): 'next' | 'moved' | { verdict: Verdict; at?: number } | undefined {
    const s = this.s;
    const at = this.n - 1;
    const texts: string[] = done ? done.map((a) => actionText(a)) : [];
    const notes: string[] = step.note ? [step.note] : [];
    const finish = () => {
      step.action = texts.join('; ');
      if (notes.length) step.note = notes.join('; ');
      if (step instanceof RuleStep) step.at = this.current();
      else Object.assign(step, this.snap());
    };
    for (const a of rule.actions) {
      if (done?.includes(a)) continue;
      texts.push(actionText(a));
      const target = a.kind === 'jump' || a.kind === 'goto' || a.kind === 'extension' ? byName.get(a.chain ?? a.name) : undefined;
      if (target || ((a.kind === 'jump' || a.kind === 'goto') && !knownTarget(a.name))) {
        if (!target) {
          finish();
          step.reason = `chain "${a.chain ?? a.name}" does not exist`;
          return { verdict: 'ERROR', at };
        }
        const { cur, idx } = here();
        if (a.kind !== 'goto') stack.push({ chain: cur, index: idx + 1 });
        finish();
        const r = enter(target);
        if (r) return r;
        return 'moved';
      }
      const name = a.name.toUpperCase();
      if (a.kind === 'verdict' || name === 'RETURN' || name === 'CONTINUE') {
        if (name === 'RETURN') {
          finish();
          if (ret()) return 'moved';
          return policy();
        }
        if (name === 'CONTINUE') continue;
      }
      const r: NftEffect = this.rs.kind === 'nft' && a.kind === 'extension' ? applyNftStatement(a, s, table) : applyTarget(a, s);
      if (r.note) notes.push(r.note);
      if (r.effect === 'continue') continue;
      if (r.effect === 'verdict-continue') { finish(); return 'next'; }
      if (r.effect === 'jump' || r.effect === 'goto') {
        const target = byName.get(r.chain);
        finish();
        if (!target) { step.reason = `chain "${r.chain}" does not exist`; return { verdict: 'ERROR', at }; }
        const { cur, idx } = here();
        if (r.effect === 'jump') stack.push({ chain: cur, index: idx + 1 });
        return enter(target) ?? 'moved';
      }
      if (r.effect === 'return') { finish(); if (ret()) return 'moved'; return policy(); }
      finish();
      if (r.effect === 'accept') return undefined;
      if (r.effect === 'unknown') step.reason = r.reason;
      return { verdict: r.effect === 'drop' ? 'DROP' : r.effect === 'reject' ? 'REJECT' : r.effect === 'queue' ? 'QUEUE' : 'UNKNOWN', at };
    }
    finish();
    return 'next';
  }

  route(stage: string): 'input' | 'forward' | 'error' {
    const s = this.s;
    const d = s.redirected ? undefined : this.decide('input');
    if (d) {
      const rule = d.rule ? `ip rule ${d.rule.priority}` : 'routing';
      if (d.outcome === 'error') {
        this.event('', '', `routing (${stage}): ${d.summary ?? d.error} (${rule})`);
        return 'error';
      }
      if (d.type === 'local' || d.type === 'broadcast') {
        this.event('', '', `routing (${stage}): ${s.dst} is ${d.type}: INPUT (${rule}${d.tableName ? `, table ${d.tableName}` : ''})`);
        return 'input';
      }
      const dev = d.dev ?? (d.nexthops.length ? d.nexthops[0].dev : undefined);
      // Fixed from here on (pickOif keeps it).
      if (dev && (s.oif === undefined || s.oifDefaulted)) { s.oif = dev; s.oifDefaulted = false; }
      this.event('', '', `routing (${stage}): FORWARD via ${d.gateway ?? 'the link'} dev ${dev ?? '?'}${d.nexthops.length > 1 ? ' (multipath: one of several)' : ''} (${rule}${d.tableName ? `, table ${d.tableName}` : ''})`);
      return 'forward';
    }
    const local = s.redirected || this.isLocal(s.dst);
    this.event('', '', `routing (${stage}): ${s.dst} is ${local ? 'a local address: INPUT' : 'not a host address: FORWARD'}`);
    return local ? 'input' : 'forward';
  }

  /** The interface of a connected subnet (`host ADDR/LEN@IFACE`) holding `addr`. */
  connected(addr: string): string | undefined {
    const a = parseAddr(addr);
    if (!a) return undefined;
    let best: { iface: string; prefix: number } | undefined;
    for (const h of this.s.hostAddrs) {
      if (!h.iface || h.prefix === undefined) continue;
      const net = parseCidr(`${formatAddr(h.addr)}/${h.prefix}`);
      if (net && inCidr(a, net) && (!best || h.prefix > best.prefix)) best = { iface: h.iface, prefix: h.prefix };
    }
    return best?.iface;
  }

  /** Picks oif when the packet line does not fix it: lo for local, a connected subnet's interface, else eth0. */
  pickOif(): void {
    const s = this.s;
    if (s.local && this.opts.routing && (s.oif === undefined || s.oifDefaulted)) {
      const d = this.decide('output');
      const dev = d?.outcome === 'route' ? d.dev ?? d.nexthops[0]?.dev : undefined;
      if (dev) { s.oif = d?.type === 'local' ? 'lo' : dev; s.oifDefaulted = true; return; }
    }
    if (s.oif === undefined || s.oifDefaulted) {
      s.oif = this.isLocal(s.dst) ? 'lo' : this.connected(s.dst) ?? 'eth0';
      s.oifDefaulted = true;
    }
  }
}

interface Frame {
  chain: Chain;
  index: number;
}


/** Where `line` (1-based) points: a rule or a chain declaration. */
export function startPointAt(rs: Ruleset, line: number): StartPoint | undefined {
  const l = line - 1;
  for (const t of rs.tables) {
    for (const c of t.chains) {
      const i = c.rules.findIndex((r) => r.range.start.line <= l && r.range.end.line >= l);
      if (i >= 0) return { table: t.name, family: t.family, chain: c.name, ruleIndex: i };
    }
  }
  for (const t of rs.tables) {
    for (const c of t.chains) {
      if (c.declarations.some((d) => d.start.line === l) || c.nameRange.start.line === l) return { table: t.name, family: t.family, chain: c.name, ruleIndex: 0 };
    }
  }
  return undefined;
}

const HOOK_ORDER: Hook[] = ['prerouting', 'input', 'forward', 'output', 'postrouting'];

/** A base chain that reaches `chain` and the jump/goto path to it (for starting mid-ruleset). */
export function pathTo(rs: Ruleset, table: Table, chain: Chain, family: 'ip' | 'ip6', prefer?: Hook[]): { base: BaseChain; stack: Frame[] } | undefined {
  const byName = chainsByName(table);
  const hooks = [...(prefer ?? []), ...HOOK_ORDER.filter((h) => !prefer?.includes(h))];
  for (const hook of hooks) {
    for (const b of baseChains(rs, hook, family)) {
      if (b.table !== table) continue;
      // Breadth-first over jump/goto edges, remembering the frames a walk would push.
      const queue: { c: Chain; stack: Frame[] }[] = [{ c: b.chain, stack: [] }];
      const seen = new Set<string>([b.chain.name]);
      // An index, not shift(): a kube nat table queues tens of thousands of chains.
      for (let qi = 0; qi < queue.length; qi++) {
        const { c, stack } = queue[qi];
        if (c === chain) return { base: b, stack };
        c.rules.forEach((r, i) => {
          for (const a of r.actions) {
            const n = a.kind === 'jump' || a.kind === 'goto' ? a.chain : undefined;
            const to = n ? byName.get(n) : undefined;
            if (!to || seen.has(to.name)) continue;
            seen.add(to.name);
            queue.push({ c: to, stack: a.kind === 'jump' ? [...stack, { chain: c, index: i + 1 }] : stack });
          }
        });
      }
    }
  }
  return undefined;
}

export function walk(rs: Ruleset, packet: Packet, opts: WalkOptions = {}): WalkResult {
  const s = initialState(packet);
  const w = new Walker(rs, s, opts);
  const done = (verdict: Verdict, at?: number, error?: string): WalkResult => {
    const r: WalkResult = { verdict, steps: w.finishSteps(), packet: toPacket(s, packet.host), path: w.path, unknowns: w.unknowns, confirmed: w.confirmed || (s.ct === 'tracked' && s.ctState !== 'new') };
    if (at !== undefined) r.decidedAt = at;
    if (error) r.error = error;
    return r;
  };

  let start: { hook: Hook; base: BaseChain; stack: Frame[]; chain: Chain; index: number } | undefined;
  if (opts.from) {
    const f = opts.from;
    const table = rs.tables.find((t) => t.name === f.table && (f.family === undefined || t.family === f.family));
    const chain = table?.chains.find((c) => c.name === f.chain);
    if (!table || !chain) return done('ERROR', undefined, `no chain ${f.chain} in table ${f.table}`);
    const p = pathTo(rs, table, chain, s.family, packet.local ? ['output', 'postrouting'] : undefined);
    if (!p) return done('ERROR', undefined, `chain ${chain.name} is not reached from any hook`);
    start = { hook: p.base.chain.hook!, base: p.base, stack: p.stack, chain, index: f.ruleIndex };
  }

  const run = (hook: Hook) => {
    const r = start && start.hook === hook ? w.hook(hook, start) : w.hook(hook);
    if (start && start.hook === hook) start = undefined;
    return r;
  };
  const startHook = start?.hook;
  // Starting after the conntrack hook: the connection is already looked up.
  if (startHook === 'input' || startHook === 'forward' || startHook === 'postrouting') {
    w.event('', '', `walk starts at ${startHook}`);
    s.hook = startHook;
    w.conntrack();
  }
  const local = packet.local || startHook === 'output';
  if (local) {
    s.local = true;
    s.iif = undefined;
    w.pickOif();
    if (startHook !== 'postrouting') {
      w.event('', '', `routing: sent by this host to ${s.dst}: oif ${s.oif}`);
      const before = { mark: s.mark, dst: s.dst };
      const r = run('output');
      if (r) return done(r.verdict, r.at);
      if (s.mark !== before.mark || s.dst !== before.dst) {
        if (s.dst !== before.dst || w.opts.routing) w.pickOif();
        w.event('', '', `re-route after OUTPUT (${s.mark !== before.mark ? 'mark' : 'destination'} changed): oif ${s.oif}${s.oifDefaulted ? '' : ' (as given)'}`);
      }
    }
    const r = run('postrouting');
    if (r) return done(r.verdict, r.at);
    if (s.oif === 'lo' && startHook !== 'postrouting') {
      // Loopback: the packet comes back in through lo, its connection already NATed.
      s.iif = 'lo';
      w.event('', '', 'loopback: the packet re-enters through lo');
      const r2 = run('prerouting');
      if (r2) return done(r2.verdict, r2.at);
      s.oif = undefined;
      const r3 = run('input');
      if (r3) return done(r3.verdict, r3.at);
    }
    return done('ACCEPT');
  }
  let dir: 'input' | 'forward';
  if (startHook === 'input' || startHook === 'forward') dir = startHook;
  else if (startHook === 'postrouting') dir = 'forward';
  else {
    const r = run('prerouting');
    if (r) return done(r.verdict, r.at);
    const d = w.route('after PREROUTING');
    if (d === 'error') return done('NO-ROUTE', w.n - 1);
    dir = d;
  }
  if (dir === 'input') {
    s.oif = undefined;
    const r = run('input');
    return r ? done(r.verdict, r.at) : done('ACCEPT');
  }
  w.pickOif();
  if (startHook !== 'postrouting') {
    const r = run('forward');
    if (r) return done(r.verdict, r.at);
  }
  const r = run('postrouting');
  return r ? done(r.verdict, r.at) : done('ACCEPT');
}

/** Walks every combination of branches at unknown steps (depth-first, at most `limit` walks). */
export function walkBranches(rs: Ruleset, packet: Packet, opts: WalkOptions = {}, limit = 16): { choices: Record<string, boolean>; result: WalkResult }[] {
  const out: { choices: Record<string, boolean>; result: WalkResult }[] = [];
  const todo: Record<string, boolean>[] = [{}];
  while (todo.length && out.length < limit) {
    const choices = todo.shift()!;
    const result = walk(rs, packet, { ...opts, decide: (k) => choices[k] });
    out.push({ choices, result });
    // Every unknown not decided yet opens the other branch, with the earlier ones fixed as taken.
    const fixed = { ...choices };
    for (const u of result.unknowns) {
      if (u.key in fixed) continue;
      todo.push({ ...fixed, [u.key]: u.assumed !== 'match' });
      fixed[u.key] = u.assumed === 'match';
    }
  }
  return out;
}
