// Random policy-routing scenarios for the kernel agreement test: interfaces with addresses, `ip rule`
// sets, routes in several tables, and `ip route get` queries. Deterministic for a seed.

import { prng as mulberry32 } from '../support/prng';

export { mulberry32 };

export class Rand {
  constructor(readonly next: () => number) {}
  int(lo: number, hi: number): number { return lo + Math.floor(this.next() * (hi - lo + 1)); }
  pick<T>(xs: readonly T[]): T { return xs[Math.floor(this.next() * xs.length)]; }
  chance(p: number): boolean { return this.next() < p; }
}

export interface ScenarioIface {
  name: string;
  peer: string;
  /** ADDR/LEN, in the order they are added. */
  addrs: string[];
  /** Gateways that sit in the interface's subnets. */
  gateways: string[];
}

export interface Query {
  dst: string;
  src?: string;
  iif?: string;
  oif?: string;
  mark: number;
  uid?: number;
  tos?: number;
  ipproto?: 'tcp' | 'udp';
  sport?: number;
  dport?: number;
}

export interface Scenario {
  seed: number;
  forwarding: boolean;
  ifaces: ScenarioIface[];
  /** `ip ...` argument lists, run in order inside the namespace (a failure is recorded, not fatal). */
  setup: string[][];
  queries: Query[];
}

const TABLES = ['100', '101', '102', '200', 'main'];
const MARKS = [0, 0x100, 0x40, 0x200, 0x140, 0x300, 0x10, 0xff, 0x1, 0x220, 0x210];
const MASKS = [0x100, 0x40, 0x200, 0xff, 0xffffffff, 0x300, 0xf0];

export function queryArgs(q: Query): string[] {
  const a = ['route', 'get', q.dst];
  if (q.src) a.push('from', q.src);
  if (q.iif) a.push('iif', q.iif);
  if (q.oif) a.push('oif', q.oif);
  a.push('mark', '0x' + q.mark.toString(16));
  if (q.tos) a.push('tos', '0x' + q.tos.toString(16));
  if (q.uid !== undefined && !q.iif) a.push('uid', String(q.uid));
  if (q.ipproto) {
    a.push('ipproto', q.ipproto);
    if (q.sport !== undefined) a.push('sport', String(q.sport));
    if (q.dport !== undefined) a.push('dport', String(q.dport));
  }
  return a;
}

export function makeScenario(seed: number, nQueries: number): Scenario {
  const R = new Rand(mulberry32(seed * 7919 + 17));
  const nIf = R.int(2, 4);
  const ifaces: ScenarioIface[] = [];
  const setup: string[][] = [];
  for (let i = 0; i < nIf; i++) {
    const f: ScenarioIface = { name: `d${i}`, peer: `p${i}`, addrs: [], gateways: [] };
    const wide = R.chance(0.3);
    f.addrs.push(wide ? `10.${i + 1}.0.1/16` : `10.${i + 1}.0.1/24`);
    f.gateways.push(`10.${i + 1}.0.254`, `10.${i + 1}.0.${R.int(2, 250)}`);
    if (R.chance(0.35)) f.addrs.push(`10.${i + 1}.0.${R.int(2, 99)}/${wide ? 16 : 24}`); // secondary
    if (R.chance(0.35)) { f.addrs.push(`172.16.${i}.1/24`); f.gateways.push(`172.16.${i}.254`); }
    ifaces.push(f);
  }
  // Sometimes an address sits on a device whose subnet is not its own (source from another device).
  const allAddrs = ifaces.flatMap((f) => f.addrs.map((a) => a.split('/')[0]));
  const dstPrefixes = ['default', '8.8.0.0/16', '8.8.8.0/24', '8.8.8.8/32', '1.0.0.0/8', '10.50.0.0/16', '10.50.1.0/24', '192.168.7.0/24', '0.0.0.0/1', '10.0.0.0/8', ...ifaces.map((f, i) => `10.${i + 1}.0.0/${R.pick([16, 24, 25])}`)];

  for (const t of TABLES) {
    const n = t === 'main' ? R.int(0, 4) : R.int(0, 6);
    let haveDefault = t === 'main' ? false : false;
    for (let k = 0; k < n; k++) {
      let dst = R.pick(dstPrefixes);
      if (dst === 'default' || dst.endsWith('/0')) { if (haveDefault) continue; haveDefault = true; }
      const metric = R.pick(['0', '10', '100']);
      const base = ['route', 'add'];
      const roll = R.next();
      const tail = ['table', t, 'metric', metric];
      if (roll < 0.18) {
        setup.push([...base, R.pick(['blackhole', 'unreachable', 'prohibit', 'throw']), dst, ...tail]);
        continue;
      }
      if (roll < 0.28) {
        const hops = [...ifaces].sort(() => R.next() - 0.5).slice(0, R.int(2, Math.min(3, ifaces.length)));
        const args = [...base, dst, ...tail];
        for (const h of hops) args.push('nexthop', 'via', R.pick(h.gateways), 'dev', h.name, 'weight', String(R.int(1, 5)));
        setup.push(args);
        continue;
      }
      const f = R.pick(ifaces);
      const args = [...base, dst];
      const kind = R.next();
      if (kind < 0.55) args.push('via', R.pick(f.gateways), 'dev', f.name);
      else if (kind < 0.7) args.push('via', `10.99.${R.int(0, 9)}.1`, 'dev', f.name, 'onlink');
      else args.push('dev', f.name);
      if (R.chance(0.25)) args.push('src', R.pick(allAddrs));
      // Attributes the decision ignores but the parser must read back from the kernel's listing.
      if (R.chance(0.25)) args.push(...R.pick([['mtu', '1400'], ['mtu', 'lock', '1300'], ['advmss', '1360'], ['initcwnd', '10'], ['realm', '5'], ['proto', 'static'], ['proto', 'boot'], ['proto', '77'], ['rtt', '20ms'], ['hoplimit', '9'], ['window', '1000'], ['quickack', '1'], ['congctl', 'reno']]));
      setup.push([...args, ...tail]);
      if (dst === 'default') dst = '0.0.0.0/0';
    }
  }

  const nRules = R.int(2, 8);
  const used = new Set<number>();
  for (let k = 0; k < nRules; k++) {
    let pref = R.int(1, 60) * 10;
    while (used.has(pref)) pref += 1;
    used.add(pref);
    const a = ['rule', 'add', 'pref', String(pref)];
    if (R.chance(0.1)) a.push('not');
    if (R.chance(0.2)) a.push('from', R.pick(['10.1.0.0/16', '10.2.0.0/24', '172.16.0.0/12', '203.0.113.0/24', allAddrs[0] + '/32', '10.0.0.0/8']));
    if (R.chance(0.2)) a.push('to', R.pick(['8.8.0.0/16', '10.50.0.0/16', '10.1.0.0/24', '1.0.0.0/8', '10.0.0.0/8']));
    if (R.chance(0.55)) {
      const mask = R.pick(MASKS);
      const value = R.chance(0.8) ? (R.pick(MARKS) & mask) >>> 0 : R.pick(MARKS);
      a.push('fwmark', `0x${value.toString(16)}/0x${mask.toString(16)}`);
    }
    if (R.chance(0.15)) a.push('iif', R.pick([...ifaces.map((f) => f.name), 'lo']));
    if (R.chance(0.06)) a.push('oif', R.pick(ifaces).name);
    if (R.chance(0.1)) {
      a.push('ipproto', R.pick(['tcp', 'udp']));
      if (R.chance(0.6)) a.push('dport', R.pick(['80', '53', '1000-2000']));
    }
    if (R.chance(0.06)) a.push('tos', R.pick(['0x10', '0x08', '0x04']));
    if (R.chance(0.1)) a.push('uidrange', R.pick(['5-10', '0-0', '1000-2000']));
    if (R.chance(0.08)) a.push(...R.pick([['realms', '3'], ['protocol', 'static'], ['protocol', '99']]));
    const act = R.next();
    if (act < 0.68) {
      const t = R.pick(TABLES);
      a.push('lookup', t);
      if (R.chance(0.15)) a.push('suppress_prefixlength', R.pick(['0', '8', '16']));
    } else if (act < 0.8) {
      a.push('goto', String(R.chance(0.3) ? 32766 : pref + R.int(1, 30) * 10));
    } else if (act < 0.92) a.push(R.pick(['blackhole', 'unreachable', 'prohibit']));
    else a.push('nop');
    setup.push(a);
  }

  const gws = ifaces.flatMap((f) => f.gateways);
  const dstPool = () => {
    const x = R.next();
    if (x < 0.2) return R.pick(['8.8.8.8', '8.8.4.4', '8.9.1.1', '1.2.3.4', '9.9.9.9', '192.168.7.7', '10.50.1.7', '10.50.9.9', '10.200.0.1', '172.16.9.9']);
    if (x < 0.45) { const i = R.int(1, nIf); return `10.${i}.${R.pick([0, 0, 1, 7])}.${R.int(2, 250)}`; }
    if (x < 0.6) return R.pick(allAddrs);
    if (x < 0.7) return R.pick(gws);
    if (x < 0.73) return R.pick(ifaces.flatMap((f) => f.addrs.filter((a) => a.endsWith('/24')).map((a) => a.replace(/\.\d+\/24$/, '.255'))).concat(['10.1.0.255']));
    if (x < 0.75) return `127.0.0.${R.int(1, 9)}`;
    return `${R.int(1, 223)}.${R.int(0, 255)}.${R.int(0, 255)}.${R.int(1, 254)}`;
  };
  const queries: Query[] = [];
  for (let k = 0; k < nQueries; k++) {
    const q: Query = { dst: dstPool(), mark: R.chance(0.25) ? 0 : R.chance(0.85) ? R.pick(MARKS) : (R.int(0, 0xffff) * 0x10001) >>> 0 };
    if (q.dst.startsWith('127.') && R.chance(0.5)) q.dst = '8.8.8.8';
    if (R.chance(0.45)) {
      q.iif = R.pick(ifaces).name;
      const sx = R.next();
      q.src = sx < 0.1 ? R.pick(allAddrs) : sx < 0.5 ? `10.${R.int(1, nIf)}.0.${R.int(100, 250)}` : R.pick(['203.0.113.5', '8.8.8.8', '10.50.1.9', '192.168.7.3', '172.16.0.77']);
      if (q.dst.startsWith('127.')) q.dst = '9.9.9.9';
    } else {
      if (R.chance(0.25)) q.src = R.chance(0.85) ? R.pick(allAddrs) : '10.77.0.1';
      if (R.chance(0.1)) q.oif = R.pick(ifaces).name;
      q.uid = R.chance(0.25) ? R.pick([0, 7, 1500, 3000]) : 0;
    }
    if (R.chance(0.1)) q.tos = R.pick([0x10, 0x08, 0x04, 0x14, 0x18, 0x1c]);
    if (R.chance(0.2)) {
      q.ipproto = R.pick(['tcp', 'udp']);
      q.dport = R.pick([80, 53, 1500, 443]);
      q.sport = R.int(1024, 65535);
    }
    queries.push(q);
  }
  return { seed, forwarding: R.chance(0.85), ifaces, setup, queries };
}
