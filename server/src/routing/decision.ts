// The kernel's IPv4 routing decision as a pure function: policy rules in priority order, then the
// chosen table's longest-prefix match, then the output device and source address. Written after
// net/core/fib_rules.c, net/ipv4/fib_rules.c, fib_trie.c (fib_table_lookup), fib_semantics.c
// (fib_select_path, nexthop source), devinet.c (inet_select_addr) and route.c (ip_route_input_slow,
// ip_route_output_key_hash_rcu), and checked against `ip route get` in test/kernel/routing-*.test.ts.
//
// Assumptions (the kernel defaults of a fresh namespace): rp_filter 0, accept_local 0,
// src_valid_mark 0, route_localnet 0, ignore_routes_with_linkdown 0. Not modelled (answered
// "unknown" when they matter): l3mdev/VRF rules, tun_id, suppress_ifgroup, nat rules, multicast
// destinations, IPv6 source address selection (RFC 6724). Multipath is "one of" (the kernel hashes
// the flow with a per-boot seed). Among several default routes in one table the lowest metric wins
// (the kernel's dead-gateway rotation, fib_select_default, depends on ARP state).
import {
  formatInetAddr,
  formatInetPrefix,
  parseInetAddr,
  prefixContains,
  prefixMask,
  tableLabel,
  type InetAddr,
  type InetFamily,
  type Interface,
  type IpRule,
  type Nexthop,
  type Route,
  type RouteType,
  type RoutingConfig,
} from '../model/routing';
import { prepare, type Prepared } from './prepare';
import { ipprotoNumber } from '../syntax/iproute-parser';

/** The packet fields the decision reads. Absent numbers are 0, as for `ip route get`. */
export interface RouteQuery {
  dst: string;
  /** Source address; for a locally generated packet it must be one of the host's (`ip route get ... from`). */
  src?: string;
  /** Input interface: present = a packet that arrives (input path); absent = sent by this host. */
  iif?: string;
  /** Output interface fixed by the sender (SO_BINDTODEVICE, `ip route get ... oif`). */
  oif?: string;
  mark?: number;
  tos?: number;
  ipproto?: number | string;
  sport?: number;
  dport?: number;
  /** Socket owner. Input lookups use uid 0 (the kernel's sock_net_uid without a socket). For output,
   *  absent means unknown: a `uidrange` rule reached then makes the decision unknown. */
  uid?: number;
}

export type StepOutcome =
  | 'no-match' // selector does not match
  | 'goto' // jumped to the first rule with the target priority
  | 'goto-missing' // no rule with that priority: the goto is skipped
  | 'nop'
  | 'miss' // table has no route for the destination (or the table does not exist)
  | 'throw' // a `throw` route: continue with the next rule
  | 'suppressed' // route found but suppress_prefixlength dropped it
  | 'hit' // route found: decision made
  | 'error' // blackhole/unreachable/prohibit rule or route
  | 'unknown';

export interface RuleStep {
  rule: IpRule;
  outcome: StepOutcome;
  table?: number;
  route?: Route;
  detail: string;
}

export interface NexthopChoice {
  gateway?: string;
  dev?: string;
  /** Source address a locally generated packet gets on this next hop (output path). */
  src?: string;
  weight: number;
}

export type RouteErrorKind =
  | 'blackhole' // EINVAL
  | 'unreachable' // rule `unreachable` or no route: ENETUNREACH
  | 'host-unreachable' // route type `unreachable`, or forwarding disabled: EHOSTUNREACH
  | 'prohibit' // EACCES
  | 'martian-source' // EINVAL
  | 'martian-destination' // EINVAL
  | 'no-device'; // ENODEV

export interface RouteDecision {
  outcome: 'route' | 'error' | 'unknown';
  /** `input` when `iif` was given (arriving packet), else `output`. */
  path: 'input' | 'output';
  /** For outcome 'route': unicast (forward/send), local (deliver to this host), broadcast. */
  type?: RouteType;
  error?: RouteErrorKind;
  errno?: 'EINVAL' | 'ENETUNREACH' | 'EHOSTUNREACH' | 'EACCES' | 'ENODEV';
  /** The ip rule that made the decision, its table and the route (absent for synthesized answers). */
  rule?: IpRule;
  table?: number;
  tableName?: string;
  route?: Route;
  /** Single-path answer (undefined when `nexthops` has several: multipath, "one of"). */
  dev?: string;
  gateway?: string;
  /** Output path: the source address the packet leaves with. Input path: undefined (unchanged). */
  src?: string;
  nexthops: NexthopChoice[];
  /** Output with `oif` and no usable route: the kernel assumes the destination is on that link. */
  onlinkAssumed?: boolean;
  steps: RuleStep[];
  /** Why the answer is 'unknown', or extra notes. */
  reason?: string;
  /** One line: "rule 101 fwmark 0x100/0x100 → table 101 → default via 192.168.127.2 dev istioout". */
  summary: string;
}

interface Flow {
  family: InetFamily;
  dst: InetAddr;
  src: InetAddr;
  iif?: string;
  oif?: string;
  mark: number;
  tos: number;
  proto: number;
  sport: number;
  dport: number;
  uid?: number;
}

type Lookup =
  | { kind: 'hit'; rule: IpRule; table: number; route: Route; hops: Nexthop[] }
  | { kind: 'error'; rule: IpRule; table?: number; route?: Route; error: RouteErrorKind; errno: RouteDecision['errno'] }
  | { kind: 'none' }
  | { kind: 'unknown'; reason: string };

const ERRNO: Record<RouteErrorKind, RouteDecision['errno']> = {
  blackhole: 'EINVAL', unreachable: 'ENETUNREACH', 'host-unreachable': 'EHOSTUNREACH', prohibit: 'EACCES',
  'martian-source': 'EINVAL', 'martian-destination': 'EINVAL', 'no-device': 'ENODEV',
};

function ruleLabel(r: IpRule): string {
  return r.text.replace(/\s+/g, ' ').trim();
}

/** One route as `ip route` prints it (type, destination, next hops, src). */
export function describeRoute(r: Route, tables?: RoutingConfig['tables']): string {
  const parts: string[] = [];
  if (r.type !== 'unicast') parts.push(r.type);
  parts.push(formatInetPrefix(r.dst));
  if (r.nexthops.length === 1) {
    const h = r.nexthops[0];
    if (h.gateway) parts.push('via', formatInetAddr(h.gateway));
    if (h.dev) parts.push('dev', h.dev);
  } else if (r.nexthops.length > 1) {
    parts.push(r.nexthops.map((h) => `nexthop${h.gateway ? ` via ${formatInetAddr(h.gateway)}` : ''}${h.dev ? ` dev ${h.dev}` : ''} weight ${h.weight}`).join(' '));
  }
  if (r.src) parts.push('src', formatInetAddr(r.src));
  void tables;
  return parts.join(' ');
}

const ACTION_WORDS = new Set(['suppress_ifgroup', 'sup_group', 'nat', 'map-to']);

/** Does the rule's selector match? `undefined` = cannot tell. */
function ruleMatches(r: IpRule, f: Flow, path: 'input' | 'output'): boolean | undefined {
  const m = (): boolean | undefined => {
    if (r.iif !== undefined && (r.iifDetached || f.iif !== r.iif)) return false;
    if (r.oif !== undefined && (r.oifDetached || f.oif !== r.oif)) return false;
    if (r.fwmark && ((r.fwmark.value ^ f.mark) & r.fwmark.mask) >>> 0 !== 0) return false;
    if (r.uidrange) {
      const uid = f.uid ?? (path === 'input' ? 0 : undefined);
      if (uid === undefined) return undefined;
      if (uid < r.uidrange.from || uid > r.uidrange.to) return false;
    }
    if (r.ipproto !== undefined && r.ipproto !== f.proto) return false;
    if (r.sport && (f.sport < r.sport.from || f.sport > r.sport.to)) return false;
    if (r.dport && (f.dport < r.dport.from || f.dport > r.dport.to)) return false;
    if (r.from && !prefixContains(r.from, f.src)) return false;
    if (r.to && !prefixContains(r.to, f.dst)) return false;
    if (r.tos && (f.tos & 0x1c) !== r.tos) return false;
    // Action-side words (suppress_ifgroup, nat) are judged when the lookup happens; any other
    // unmodelled word may select packets, so the rule's match cannot be told.
    if (r.unmodeled.some((u) => !ACTION_WORDS.has(u.keyword))) return undefined;
    return true;
  };
  const v = m();
  return v === undefined ? undefined : r.not ? !v : v;
}

function hopAlive(h: Nexthop, p: Prepared): boolean {
  if (!h.dev) return true;
  const i = p.ifaces.get(h.dev);
  return !i || i.up;
}

/** fib_table_lookup: longest prefix, then tos, then metric; error types answer at once. */
function tableLookup(p: Prepared, table: number, f: Flow): { kind: 'hit'; route: Route; hops: Nexthop[] } | { kind: 'error'; route: Route } | { kind: 'throw'; route: Route } | { kind: 'miss' } {
  const idx = p.index.get(`${f.family}/${table}`);
  if (!idx) return { kind: 'miss' };
  // Longest prefix first; when no alias of a prefix is usable the kernel backtracks to shorter ones.
  for (const len of idx.lens) {
    const routes = idx.byLen.get(len)!.get(f.dst.n & prefixMask(f.family, len));
    if (!routes) continue;
    for (const r of routes) {
      if (r.tos && (f.tos & 0x1c) !== r.tos) continue;
      if (r.type === 'throw') return { kind: 'throw', route: r };
      if (r.type === 'blackhole' || r.type === 'unreachable' || r.type === 'prohibit' || r.type === 'nat') return { kind: 'error', route: r };
      const hops = r.nexthops.filter((h) => hopAlive(h, p) && (!f.oif || h.dev === f.oif));
      if (!hops.length) continue;
      return { kind: 'hit', route: r, hops: f.oif ? [hops[0]] : hops };
    }
  }
  return { kind: 'miss' };
}

/** fib_rules_lookup over the rule list. */
function fibLookup(p: Prepared, f: Flow, path: 'input' | 'output', steps: RuleStep[] | undefined): Lookup {
  const rules = p.rules.get(f.family) ?? [];
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i];
    const m = ruleMatches(r, f, path);
    if (m === undefined) {
      const why = r.uidrange && f.uid === undefined ? 'the socket uid is not known' : `"${r.unmodeled.map((u) => u.keyword).join(', ')}" is not modelled`;
      steps?.push({ rule: r, outcome: 'unknown', detail: why });
      return { kind: 'unknown', reason: `rule ${r.priority}: ${why}` };
    }
    if (!m) { steps?.push({ rule: r, outcome: 'no-match', detail: 'selector does not match' }); continue; }
    switch (r.action) {
      case 'goto': {
        const t = rules.findIndex((x) => x.priority === r.gotoTarget);
        if (t < 0 || t <= i) { steps?.push({ rule: r, outcome: 'goto-missing', detail: `no rule with priority ${r.gotoTarget}: goto skipped` }); continue; }
        steps?.push({ rule: r, outcome: 'goto', detail: `goto ${r.gotoTarget}` });
        i = t - 1;
        continue;
      }
      case 'nop':
        steps?.push({ rule: r, outcome: 'nop', detail: 'nop' });
        continue;
      case 'blackhole': case 'unreachable': case 'prohibit': {
        const error: RouteErrorKind = r.action;
        steps?.push({ rule: r, outcome: 'error', detail: r.action });
        return { kind: 'error', rule: r, error, errno: ERRNO[error] };
      }
      case 'lookup': {
        if (r.table === undefined) {
          steps?.push({ rule: r, outcome: 'unknown', detail: `table "${r.tableText}" is not known` });
          return { kind: 'unknown', reason: `rule ${r.priority}: table "${r.tableText}" is not in rt_tables` };
        }
        if (r.unmodeled.some((u) => ACTION_WORDS.has(u.keyword))) {
          steps?.push({ rule: r, outcome: 'unknown', detail: `"${r.unmodeled.map((u) => u.keyword).join(', ')}" is not modelled` });
          return { kind: 'unknown', reason: `rule ${r.priority}: ${r.unmodeled.map((u) => u.keyword).join(', ')} is not modelled` };
        }
        const t = tableLookup(p, r.table, f);
        const tl = tableLabel(r.table, p.cfg.tables);
        if (t.kind === 'miss') { steps?.push({ rule: r, outcome: 'miss', table: r.table, detail: `table ${tl}: no route` }); continue; }
        if (t.kind === 'throw') { steps?.push({ rule: r, outcome: 'throw', table: r.table, route: t.route, detail: `table ${tl}: throw ${formatInetPrefix(t.route.dst)}` }); continue; }
        if (t.kind === 'error') {
          // An `unreachable` route is EHOSTUNREACH (IPv4 fib_props, IPv6 ip6_rt_type_to_error alike).
          const error: RouteErrorKind = t.route.type === 'blackhole' || t.route.type === 'nat' ? 'blackhole' : t.route.type === 'prohibit' ? 'prohibit' : 'host-unreachable';
          steps?.push({ rule: r, outcome: 'error', table: r.table, route: t.route, detail: `table ${tl}: ${describeRoute(t.route, p.cfg.tables)}` });
          return { kind: 'error', rule: r, table: r.table, route: t.route, error, errno: ERRNO[error] };
        }
        if (r.suppressPrefixlength !== undefined && t.route.dst.len <= r.suppressPrefixlength) {
          steps?.push({ rule: r, outcome: 'suppressed', table: r.table, route: t.route, detail: `table ${tl}: ${describeRoute(t.route, p.cfg.tables)} suppressed (prefix length ${t.route.dst.len} <= ${r.suppressPrefixlength})` });
          continue;
        }
        if (t.route.unmodeled?.length) {
          steps?.push({ rule: r, outcome: 'unknown', table: r.table, route: t.route, detail: `table ${tl}: route with "${t.route.unmodeled.join(', ')}" is not modelled` });
          return { kind: 'unknown', reason: `table ${tl}: the route "${t.route.text}" has "${t.route.unmodeled.join(', ')}", which is not modelled` };
        }
        steps?.push({ rule: r, outcome: 'hit', table: r.table, route: t.route, detail: `table ${tl}: ${describeRoute(t.route, p.cfg.tables)}` });
        return { kind: 'hit', rule: r, table: r.table, route: t.route, hops: t.hops };
      }
    }
  }
  return { kind: 'none' };
}

/** inet_select_addr: the source a device offers for `gw` at `scope`. */
function selectAddr(p: Prepared, dev: string | undefined, gw: InetAddr | undefined, scope: number, family: InetFamily): InetAddr | undefined {
  const i = dev ? p.ifaces.get(dev) : undefined;
  if (i) {
    let first: InetAddr | undefined;
    for (const a of i.addrs) {
      if (a.family !== family || a.secondary || a.scope > scope) continue;
      if (!gw || prefixContains(a.prefix, gw)) return a.local;
      first ??= a.local;
    }
    if (first) return first;
  }
  for (const j of p.cfg.interfaces) {
    for (const a of j.addrs) {
      if (a.family === family && !a.secondary && a.scope !== 253 && a.scope <= scope) return a.local;
    }
  }
  return undefined;
}

function isLocalAddr(p: Prepared, a: InetAddr): boolean {
  return p.localAddrs.has(`${a.family}/${a.n}`);
}

/** fib_validate_source with rp_filter 0: is the source of an arriving packet acceptable? */
function validateSource(p: Prepared, f: Flow, oifDev: string | undefined): 'ok' | 'martian' | { unknown: string } {
  if (f.src.n === 0n) return 'ok';
  if (!p.customRules) return isLocalAddr(p, f.src) ? 'martian' : 'ok';
  const rev: Flow = { ...f, dst: f.src, src: f.dst, iif: oifDev ?? 'lo', oif: undefined, mark: 0, sport: f.dport, dport: f.sport, uid: 0 };
  const l = fibLookup(p, rev, 'input', undefined);
  if (l.kind === 'unknown') return { unknown: `source check: ${l.reason}` };
  if (l.kind !== 'hit') return 'ok';
  return l.route.type === 'unicast' ? 'ok' : 'martian';
}

function isV4(a: InetAddr, top: bigint, bits: number): boolean {
  return a.family === 'ip' && (a.n >> BigInt(32 - bits)) === top;
}

/** The routing decision for one packet. Pure; never throws. */
export function routeDecision(cfg: RoutingConfig, q: RouteQuery): RouteDecision {
  const path: 'input' | 'output' = q.iif ? 'input' : 'output';
  const steps: RuleStep[] = [];
  const unknown = (reason: string): RouteDecision => ({ outcome: 'unknown', path, nexthops: [], steps, reason, summary: `unknown: ${reason}` });
  try {
    return decide(prepare(cfg), q, path, steps, unknown);
  } catch (e) {
    return unknown(`internal error: ${(e as Error)?.message ?? e}`);
  }
}

function decide(p: Prepared, q: RouteQuery, path: 'input' | 'output', steps: RuleStep[], unknown: (r: string) => RouteDecision): RouteDecision {
  const dst = parseInetAddr(q.dst);
  if (!dst) return unknown(`bad destination "${q.dst}"`);
  const family = dst.family;
  const src = q.src !== undefined ? parseInetAddr(q.src) : { family, n: 0n };
  if (!src || src.family !== family) return unknown(`bad source "${q.src}"`);
  const proto = q.ipproto === undefined ? 0 : typeof q.ipproto === 'number' ? q.ipproto : ipprotoNumber(q.ipproto);
  if (proto === undefined) return unknown(`unknown protocol "${q.ipproto}"`);
  const f: Flow = {
    family, dst, src, iif: path === 'output' ? 'lo' : q.iif, oif: path === 'output' ? q.oif : undefined,
    mark: (q.mark ?? 0) >>> 0, tos: q.tos ?? 0, proto, sport: q.sport ?? 0, dport: q.dport ?? 0, uid: q.uid,
  };
  const err = (error: RouteErrorKind, extra: Partial<RouteDecision> = {}): RouteDecision => {
    const head = extra.rule ? `rule ${extra.rule.priority} ${ruleBody(extra.rule)}${extra.table !== undefined ? ` → table ${tableLabel(extra.table, p.cfg.tables)}` : ''}${extra.route ? ` → ${describeRoute(extra.route, p.cfg.tables)}` : ''} → ` : '';
    return { outcome: 'error', path, error, errno: ERRNO[error], nexthops: [], steps, ...extra, summary: `${head}${error} (${ERRNO[error]})` };
  };
  if (family === 'ip6' && path === 'input') return unknown('IPv6 input routing is not modelled');
  const isMc = family === 'ip' ? isV4(dst, 0xen, 4) : (dst.n >> 120n) === 0xffn;
  if (isMc) return unknown('multicast destinations are not modelled');
  if (family === 'ip' && dst.n === 0xffffffffn) return unknown('limited broadcast is not modelled');

  if (path === 'input') {
    const inDev = p.ifaces.get(q.iif!);
    if (!inDev) return unknown(`interface "${q.iif}" is not among the host's interfaces`);
    if (isV4(src, 0xen, 4) || src.n === 0xffffffffn || isV4(src, 0n, 8)) return err('martian-source');
    if (isV4(dst, 0n, 8)) return err('martian-destination');
    if (isV4(dst, 127n, 8)) return err('martian-destination');
    if (isV4(src, 127n, 8)) return err('martian-source');
    const l = fibLookup(p, f, path, steps);
    if (l.kind === 'unknown') return unknown(l.reason);
    if (l.kind === 'none') return err(p.cfg.forwarding ? 'unreachable' : 'host-unreachable');
    if (l.kind === 'error') return err(p.cfg.forwarding ? l.error : 'host-unreachable', { rule: l.rule, table: l.table, tableName: l.table !== undefined ? tableLabel(l.table, p.cfg.tables) : undefined, route: l.route });
    const base = { rule: l.rule, table: l.table, tableName: tableLabel(l.table, p.cfg.tables), route: l.route };
    if (l.route.type === 'local' || l.route.type === 'broadcast') {
      const v = validateSource(p, f, undefined);
      if (typeof v === 'object') return unknown(v.unknown);
      if (v === 'martian') return err('martian-source', base);
      return done(p, { outcome: 'route', path, type: l.route.type, ...base, dev: 'lo', nexthops: [{ dev: 'lo', weight: 1 }], steps, summary: '' });
    }
    if (!p.cfg.forwarding) return err('host-unreachable', base);
    if (l.route.type !== 'unicast') return err('martian-destination', base);
    const choices: NexthopChoice[] = [];
    let martians = 0;
    for (const h of l.hops) {
      // The source is checked against the chosen next hop's device (fib_validate_source after
      // fib_select_multipath), so each "one of" is checked on its own.
      const v = validateSource(p, f, h.dev);
      if (typeof v === 'object') return unknown(v.unknown);
      if (v === 'martian') martians++;
      choices.push({ gateway: gatewayOf(p, h), dev: h.dev, weight: h.weight });
    }
    if (martians === l.hops.length) return err('martian-source', base);
    if (martians) return unknown('multipath: the source check passes on some next hops and fails on others');
    return done(p, { outcome: 'route', path, type: 'unicast', ...base, nexthops: choices, steps, summary: '' });
  }

  // Output: a packet this host sends.
  if (q.src !== undefined) {
    if (family === 'ip' && (isV4(src, 0xen, 4) || src.n === 0xffffffffn || isV4(src, 0n, 8))) return err('martian-source');
    if (!isLocalAddr(p, src)) return err('unreachable');
  }
  let oifDev: Interface | undefined;
  if (q.oif) {
    oifDev = p.ifaces.get(q.oif);
    if (!oifDev) return unknown(`interface "${q.oif}" is not among the host's interfaces`);
    if (!oifDev.up) return err('unreachable');
  }
  const l = fibLookup(p, f, path, steps);
  if (l.kind === 'unknown') return unknown(l.reason);
  if (l.kind !== 'hit') {
    if (oifDev) {
      // "Apparently, routing tables are wrong. Assume, that the destination is on link." (route.c)
      const s = q.src ?? fmt(selectAddr(p, oifDev.name, undefined, 253, family));
      return done(p, { outcome: 'route', path, type: 'unicast', dev: oifDev.name, src: s, nexthops: [{ dev: oifDev.name, src: s, weight: 1 }], onlinkAssumed: true, steps, summary: '' });
    }
    if (l.kind === 'none') return err('unreachable');
    return err(l.error, { rule: l.rule, table: l.table, tableName: l.table !== undefined ? tableLabel(l.table, p.cfg.tables) : undefined, route: l.route });
  }
  const base = { rule: l.rule, table: l.table, tableName: tableLabel(l.table, p.cfg.tables), route: l.route };
  const r = l.route;
  if (r.type === 'local') {
    const s = q.src ?? fmt(r.src ?? dst);
    return done(p, { outcome: 'route', path, type: 'local', ...base, dev: 'lo', src: s, nexthops: [{ dev: 'lo', src: s, weight: 1 }], steps, summary: '' });
  }
  if (r.type !== 'unicast' && r.type !== 'broadcast') return unknown(`route type ${r.type} is not modelled for output`);
  const hops = l.hops;
  const choices = hops.map((h): NexthopChoice => ({
    gateway: gatewayOf(p, h),
    dev: h.dev,
    src: q.src ?? fmt(r.src ?? (family === 'ip' ? selectAddr(p, h.dev, h.gateway, r.scope, family) : undefined)),
    weight: h.weight,
  }));
  const d: RouteDecision = { outcome: 'route', path, type: r.type, ...base, nexthops: choices, steps, summary: '' };
  if (family === 'ip6' && !q.src && !r.src) d.reason = 'IPv6 source address selection is not modelled';
  return done(p, d);
}

/** The gateway packets are handed to. A gateway that is one of the host's own addresses resolves
 *  with host scope, and the kernel then sends straight to the destination on the device. */
function gatewayOf(p: Prepared, h: Nexthop): string | undefined {
  if (!h.gateway) return undefined;
  if (!h.onlink && isLocalAddr(p, h.gateway)) return undefined;
  return formatInetAddr(h.gateway);
}

function fmt(a: InetAddr | undefined): string | undefined {
  return a ? formatInetAddr(a) : undefined;
}

function ruleBody(r: IpRule): string {
  return ruleLabel(r).replace(/^\d+:\s*/, '').replace(/^from all /, '');
}

/** Fills the single-path fields and the one-line summary. */
function done(p: Prepared, d: RouteDecision): RouteDecision {
  if (d.nexthops.length === 1) {
    d.dev ??= d.nexthops[0].dev;
    d.gateway ??= d.nexthops[0].gateway;
    if (d.path === 'output') d.src ??= d.nexthops[0].src;
  }
  const parts: string[] = [];
  if (d.rule) parts.push(`rule ${d.rule.priority} ${ruleBody(d.rule)}`);
  if (d.table !== undefined) parts.push(`table ${tableLabel(d.table, p.cfg.tables)}`);
  if (d.route) parts.push(describeRoute(d.route, p.cfg.tables));
  const hop = (h: NexthopChoice) => [d.type && d.type !== 'unicast' ? d.type : '', h.gateway ? `via ${h.gateway}` : '', h.dev ? `dev ${h.dev}` : '', h.src ? `src ${h.src}` : ''].filter(Boolean).join(' ');
  if (d.onlinkAssumed) parts.push(`no route: on-link via oif ${d.dev}`);
  parts.push(d.nexthops.length > 1 ? `one of: ${d.nexthops.map(hop).join(' | ')}` : hop(d.nexthops[0] ?? { weight: 1 }));
  d.summary = parts.filter(Boolean).join(' → ');
  return d;
}

