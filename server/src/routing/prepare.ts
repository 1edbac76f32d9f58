// Indexes a RoutingConfig for the decision (cached per config object): rules per family in priority
// order, each table's routes in lookup order, interfaces by name, the host's addresses. When the
// config has no `local` table (or no `main` table) for a family, the routes the kernel itself makes
// from the interface addresses are added (fib_add_ifaddr): local ADDR, broadcast, the prefix route.
import {
  defaultIpRules,
  formatInetAddr,
  prefixContains,
  prefixMask,
  type IfAddress,
  type InetFamily,
  type Interface,
  type IpRule,
  type Route,
  type RoutingConfig,
} from '../model/routing';

/** One table as the kernel's trie sees it: prefix lengths, longest first, and per length the routes
 *  of each network in alias order (TOS descending, metric ascending, listing order). */
export interface TableIndex {
  lens: number[];
  byLen: Map<number, Map<bigint, Route[]>>;
}

export interface Prepared {
  cfg: RoutingConfig;
  rules: Map<InetFamily, IpRule[]>;
  /** `${family}/${table}` → routes in lookup order. */
  tables: Map<string, Route[]>;
  /** `${family}/${table}` → the same routes indexed by prefix. */
  index: Map<string, TableIndex>;
  ifaces: Map<string, Interface>;
  localAddrs: Set<string>;
  /** Rules other than the three a kernel starts with: the source check then does a full lookup. */
  customRules: boolean;
  /** Routes made from the addresses (shown by `nflens` so the user sees what was assumed). */
  synthesized: Route[];
}

const cache = new WeakMap<RoutingConfig, Prepared>();

export function prepare(cfg: RoutingConfig): Prepared {
  const hit = cache.get(cfg);
  if (hit) return hit;
  const rules = new Map<InetFamily, IpRule[]>();
  for (const fam of ['ip', 'ip6'] as const) {
    const given = cfg.rules.filter((r) => r.family === fam);
    const list = given.length ? given : defaultIpRules(fam);
    rules.set(fam, list.map((r, i) => [r, i] as const).sort((a, b) => a[0].priority - b[0].priority || a[1] - b[1]).map((x) => x[0]));
  }
  const v4 = cfg.rules.filter((r) => r.family === 'ip');
  const defaults = defaultIpRules('ip');
  const customRules = v4.length > 0 && !(v4.length === 3 && v4.every((r, i) => r.action === 'lookup' && r.priority === defaults[i].priority && r.table === defaults[i].table && !r.not && !r.from && !r.to && !r.fwmark && !r.iif && !r.oif));

  const ifaces = new Map<string, Interface>();
  const localAddrs = new Set<string>();
  for (const i of cfg.interfaces) {
    ifaces.set(i.name, i);
    for (const a of i.addrs) localAddrs.add(`${a.family}/${a.local.n}`);
  }

  const routes = [...cfg.routes];
  const synthesized: Route[] = [];
  for (const fam of ['ip'] as const) {
    const hasLocal = cfg.routes.some((r) => r.family === fam && r.table === 255);
    const hasMain = cfg.routes.some((r) => r.family === fam && r.table === 254);
    for (const i of cfg.interfaces) {
      for (const a of i.addrs) {
        if (a.family !== fam) continue;
        for (const r of fromAddress(i, a)) {
          if ((r.table === 255 && hasLocal) || (r.table === 254 && hasMain)) continue;
          synthesized.push(r);
        }
      }
    }
  }
  routes.push(...synthesized);

  const tables = new Map<string, Route[]>();
  routes.forEach((r) => {
    const k = `${r.family}/${r.table}`;
    let l = tables.get(k);
    if (!l) tables.set(k, (l = []));
    l.push(r);
  });
  for (const [k, l] of tables) {
    // Stable: the listing order is the kernel's order among equals.
    const idx = new Map(l.map((r, i) => [r, i]));
    tables.set(k, [...l].sort((a, b) => b.dst.len - a.dst.len || (b.tos ?? 0) - (a.tos ?? 0) || a.metric - b.metric || idx.get(a)! - idx.get(b)!));
  }
  const index = new Map<string, TableIndex>();
  for (const [k, l] of tables) {
    const byLen = new Map<number, Map<bigint, Route[]>>();
    for (const r of l) {
      let m = byLen.get(r.dst.len);
      if (!m) byLen.set(r.dst.len, (m = new Map()));
      const net = r.dst.n & prefixMask(r.dst.family, r.dst.len);
      const list = m.get(net);
      if (list) list.push(r);
      else m.set(net, [r]);
    }
    index.set(k, { lens: [...byLen.keys()].sort((a, b) => b - a), byLen });
  }
  const p: Prepared = { cfg, rules, tables, index, ifaces, localAddrs, customRules, synthesized };
  cache.set(cfg, p);
  return p;
}

function fromAddress(i: Interface, a: IfAddress): Route[] {
  const out: Route[] = [];
  // A secondary address uses its primary as the preferred source.
  const prim = a.secondary ? i.addrs.find((o) => o.family === a.family && !o.secondary && o.prefix.len === a.prefix.len && prefixContains(o.prefix, a.local)) ?? a : a;
  const mk = (type: Route['type'], n: bigint, len: number, table: number, scope: number): Route => {
    const dst = { family: a.family, n: n & prefixMask(a.family, len), len, text: '' };
    const r: Route = {
      family: a.family, type, dst, table, nexthops: [{ dev: i.name, weight: 1, onlink: false }], multipath: false,
      src: prim.local, scope, proto: 'kernel', metric: 0, attrs: [], origin: 'from-addresses', text: '',
    };
    r.text = `${type} ${formatInetAddr({ family: a.family, n: dst.n })}/${len} dev ${i.name} table ${table === 255 ? 'local' : 'main'} proto kernel src ${formatInetAddr(prim.local)} (from the addresses of ${i.name})`;
    return r;
  };
  out.push(mk('local', a.local.n, 32, 255, 254));
  const net = a.prefix;
  if (!a.secondary && net.n !== 0n && (net.len < 32 || !a.peer)) {
    const isLo = i.flags.includes('LOOPBACK') || i.name === 'lo';
    if (!a.noprefixroute) out.push(mk(isLo ? 'local' : 'unicast', net.n, net.len, isLo ? 255 : 254, isLo ? 254 : 253));
    if (net.len < 31) out.push(mk('broadcast', net.n | (0xffffffffn ^ prefixMask('ip', net.len)), 32, 255, 253));
  }
  if (a.broadcast && a.broadcast.n !== 0xffffffffn && !out.some((r) => r.type === 'broadcast' && r.dst.n === a.broadcast!.n)) {
    out.push(mk('broadcast', a.broadcast.n, 32, 255, 253));
  }
  return out;
}
