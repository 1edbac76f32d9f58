// A node profile's routing recreated in a scratch namespace: its interfaces (veth pairs), addresses,
// routes and ip rules, built from the parsed model. Shared by routing-seed000.test.ts (routing only)
// and node-walk-seed000.test.ts (the full walk with peers in their own namespaces).
import type { Netns } from '../support/netns';
import type { NodeProfile, Route, IpRule } from '../../server/src/routing/index';
import { formatInetAddr, formatInetPrefix, scopeName } from '../../server/src/model/routing';

/** `ip route add ...` arguments (without the leading `ip`) for one route of the model. */
export function routeArgs(r: Route): string[] {
  const a = ['route', 'add'];
  if (r.type !== 'unicast') a.push(r.type);
  a.push(formatInetPrefix(r.dst), 'table', String(r.table));
  if (r.multipath) {
    for (const h of r.nexthops) a.push('nexthop', ...(h.gateway ? ['via', formatInetAddr(h.gateway)] : []), ...(h.dev ? ['dev', h.dev] : []), 'weight', String(h.weight), ...(h.onlink ? ['onlink'] : []));
  } else if (r.nexthops[0]) {
    const h = r.nexthops[0];
    if (h.gateway) a.push('via', formatInetAddr(h.gateway));
    if (h.dev) a.push('dev', h.dev);
    if (h.onlink) a.push('onlink');
  }
  if (r.src) a.push('src', formatInetAddr(r.src));
  if (r.scope !== 0) a.push('scope', scopeName(r.scope));
  if (r.metric) a.push('metric', String(r.metric));
  return a;
}

/** `ip rule add ...` arguments (without the leading `ip`) for one ip rule of the model. */
export function ruleArgs(r: IpRule): string[] {
  const a = ['rule', 'add', 'pref', String(r.priority)];
  if (r.not) a.push('not');
  if (r.from) a.push('from', r.from.text);
  if (r.to) a.push('to', r.to.text);
  if (r.fwmark) a.push('fwmark', r.fwmark.text);
  if (r.iif) a.push('iif', r.iif);
  if (r.oif) a.push('oif', r.oif);
  if (r.action === 'lookup') a.push('lookup', String(r.table));
  else if (r.action === 'goto') a.push('goto', String(r.gotoTarget));
  else a.push(r.action);
  return a;
}

/** A route as a comparable line (table first). */
export const routeKey = (r: Route): string => `${r.table} ${routeArgs(r).slice(2).filter((x) => x !== 'table').join(' ')}`;

/** The rules a fresh namespace already has (local, main, default). */
const KERNEL_RULES = new Set([0, 32766, 32767]);

/**
 * Recreates the profile's IPv4 routing in `ns`: every interface but lo becomes a veth whose peer is
 * `p<name>` (cut to 15 characters), moved into `peers[name]` when given, else left in `ns`; then the
 * addresses, the routes the profile gives (not the kernel's own) and the ip rules. Returns the peer
 * names by node interface. rp_filter and forwarding are the caller's.
 */
export function loadNodeRouting(ns: Netns, p: NodeProfile, peers: Record<string, Netns> = {}): Record<string, string> {
  const peerNames: Record<string, string> = {};
  for (const i of p.routing.interfaces) {
    if (i.name === 'lo') continue;
    const peer = `p${i.name}`.slice(0, 15);
    peerNames[i.name] = peer;
    ns.must(['ip', 'link', 'add', i.name, 'type', 'veth', 'peer', 'name', peer]);
    const there = peers[i.name];
    if (there) {
      ns.must(['ip', 'link', 'set', peer, 'netns', there.name]);
      there.must(['ip', 'link', 'set', peer, 'up']);
    } else ns.must(['ip', 'link', 'set', peer, 'up']);
    ns.must(['ip', 'link', 'set', i.name, 'up']);
    for (const a of i.addrs) if (a.family === 'ip') ns.must(['ip', 'addr', 'add', a.text, 'dev', i.name]);
  }
  for (const r of p.routing.routes) if (r.proto !== 'kernel' && r.family === 'ip') ns.must(['ip', ...routeArgs(r)]);
  for (const r of p.routing.rules) if (!KERNEL_RULES.has(r.priority) && r.family === 'ip') ns.must(['ip', ...ruleArgs(r)]);
  return peerNames;
}
