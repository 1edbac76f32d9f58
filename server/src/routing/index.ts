// Policy routing and ipsets: the API the packet walk and the language server use.
//
//   parseIpRules(text, opts?)    `ip rule show` output (or `ip rule add ...` lines) → IpRule[] + diagnostics
//   parseIpRoutes(text, opts?)   `ip route show [table N|all]` output (or `ip route add ...`) → Route[];
//                                opts.table says which table a `show table N` listing holds (default main)
//   parseRtTables(text)          /etc/iproute2/rt_tables → RtTables (names ↔ ids, built-ins included)
//   parseAddrs(text)             `ip addr` or `ip -br addr` output → Interface[] with their addresses
//   parseIpsets(text)            `ipset save` / `ipset list` output → Ipset[]
//   loadNodeProfile(pathOrText, readFile, opts?)
//                                a `*.nflens-node` profile (docs/node-profile.md) → NodeProfile:
//                                { routing: RoutingConfig, ipsets, ipsetsByName, ruleset?, sources, diagnostics }
//   findNodeProfileRef(text)     a ruleset's `# nflens-node: PATH` comment → { path, range }
//   routeDecision(cfg, query)    the kernel's routing decision for one packet → RouteDecision:
//                                { outcome: route|error|unknown, type, rule, table, route, dev, gateway, src,
//                                  nexthops (several = multipath, "one of"), steps (each ip rule tried), summary }
//                                query: { dst, src?, iif?, oif?, mark?, tos?, ipproto?, sport?, dport?, uid? };
//                                with `iif` it is an arriving packet (PREROUTING → input/forward decision),
//                                without it a locally generated one (OUTPUT). Absent numbers are 0 (ipproto 0:
//                                pass the packet's protocol; `ip route get` itself assumes udp). For the re-route
//                                after OUTPUT (mark, daddr or tos changed) call it again with the packet's
//                                source, which the first decision chose, as `src`.
//   ipsetContains(set, packet, dirs, sets?)
//                                `-m set --match-set NAME src,dst` membership → true | false | undefined (unknown);
//                                nomatch, netmask, hash:net,iface's stop-at-first-net; checked against `ipset test`
//   isLocalAddress(cfg, addr)    does the host own the address (`addrtype LOCAL`, INPUT vs FORWARD)?
//   markRoute(cfg, write)        where the bits a MARK writes send packets, for hover: readers (each ip rule
//                                with fwmark and its verdict), path, target table and route, caveats, and
//                                summary "bit 0x100 → ip rule 101 → table 101 → default via 192.168.127.2 dev istioout"
//   markWritesFromRuleset(rs)    the MARK / CONNMARK --restore-mark / nft `meta mark set` writes of a ruleset
//   writesForRule(rule, writes)  the writes that can satisfy an ip rule's fwmark (definition ip rule → MARK)
//   describeIpRule(cfg, rule)    hover text for an ip rule line: who it selects, where it sends them
//   routingFindings(cfg, writes?) diagnostics on the ip rules: fwmark-never-set, lookup-empty-table,
//                                goto-missing-priority (ranges in the ip-rule source)
//
// Every parser is fault tolerant (a bad line gets a diagnostic with its range, the rest is kept) and
// never throws; routeDecision never throws either (internal errors come back as outcome 'unknown').
// Layering: syntax/iproute-*.ts, syntax/ipset-parser.ts → model/routing.ts, model/ipset.ts,
// model/node-profile.ts → routing/ (pure; no I/O).
export { parseIpRules, parseIpRoutes, parseRtTables, parseAddrs, type IprouteParseOptions } from '../syntax/iproute-parser';
export { parseIpsets } from '../syntax/ipset-parser';
export { loadNodeProfile, findNodeProfileRef, type NodeProfile, type ProfileSource, type ReadFile } from '../model/node-profile';
export { routeDecision, type RouteDecision, type RouteQuery, type RuleStep, type NexthopChoice, type RouteErrorKind, type StepOutcome } from './decision';
export { ipsetContains, type IpsetQuery, type SetDir } from './ipset-match';
export { markRoute, markWritesFromRuleset, writesForRule, routingFindings, ruleVerdict, describeIpRule, type MarkWrite, type MarkRoute, type MarkReader, type Verdict } from './mark-routing';
export type { RoutingConfig, IpRule, Route, Interface, IfAddress, RtTables, InetFamily } from '../model/routing';
export type { Ipset, IpsetMember } from '../model/ipset';

import { parseInetAddr, type RoutingConfig } from '../model/routing';

export function isLocalAddress(cfg: RoutingConfig, addr: string): boolean {
  const a = parseInetAddr(addr);
  if (!a) return false;
  if (a.family === 'ip' && (a.n >> 24n) === 127n) return true;
  return cfg.interfaces.some((i) => i.addrs.some((x) => x.family === a.family && x.local.n === a.n));
}
