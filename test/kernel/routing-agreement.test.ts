// The kernel as judge for the routing decision (issue 6). Random scenarios (interfaces, addresses,
// `ip rule` sets, routes in several tables) are loaded into scratch namespaces; the kernel's own
// `ip rule show`, `ip route show table all` and `ip addr` are parsed back with our parsers (round
// trip) and become the decision's input; then `ip route get DST [from SRC] [iif DEV] [oif DEV] mark V
// [uid N] [ipproto P dport N]` is compared with routeDecision for every query. Without `ipproto`,
// `ip route get` asks about a UDP packet (inet_rtm_getroute's default), so the query says udp too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Netns, kernelAvailable } from '../support/netns';
import { parseAddrs, parseIpRoutes, parseIpRules, routeDecision } from '../../server/src/routing/index';
import { defaultRtTables, type RoutingConfig } from '../../server/src/model/routing';
import { makeScenario, queryArgs, type Query, type Scenario } from '../routing/scenario-gen';
import { compare, parseRouteGet } from '../routing/route-get';

const SCENARIOS = Number(process.env.NFLG_SCENARIOS ?? 24);
const QUERIES = 50;

function script(s: Scenario): string {
  const lines: string[] = [
    'set +e',
    `sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 net.ipv4.ip_forward=${s.forwarding ? 1 : 0}`,
  ];
  for (const f of s.ifaces) {
    lines.push(`ip link add ${f.name} type veth peer name ${f.peer}`, `ip link set ${f.name} up`, `ip link set ${f.peer} up`);
    for (const a of f.addrs) lines.push(`ip addr add ${a} dev ${f.name}`);
  }
  for (const c of s.setup) lines.push(`ip ${c.join(' ')} >/dev/null 2>&1; echo "@@S $?"`);
  lines.push("echo '@@BRIEF'", 'ip -br addr', "echo '@@RULES'", 'ip rule show', "echo '@@ROUTES'", 'ip route show table all', "echo '@@ADDR'", 'ip addr');
  s.queries.forEach((q, i) => lines.push(`echo '@@Q ${i}'`, `ip ${queryArgs(q).join(' ')} 2>&1`));
  lines.push('true');
  return lines.join('\n') + '\n';
}

function section(out: string, name: string, next: string): string {
  const a = out.indexOf(`@@${name}\n`);
  const b = out.indexOf(`@@${next}`, a);
  return out.slice(a + name.length + 3, b < 0 ? undefined : b);
}

const avail = kernelAvailable();

test('routing decision agrees with `ip route get` on random policy-routing scenarios', { skip: avail.ok ? false : `kernel tests need root: ${avail.reason}` }, () => {
  const t0 = Date.now();
  let total = 0, agree = 0;
  const disagreements: string[] = [];
  const roundTrip: string[] = [];
  const byOutcome = new Map<string, number>();
  const features = new Map<string, number>();
  for (let seed = 1; seed <= SCENARIOS; seed++) {
    const s = makeScenario(seed, QUERIES);
    const ns = new Netns('nflg');
    try {
      const r = ns.run(['sh', '-s'], script(s), 120_000);
      assert.equal(r.status, 0, `scenario ${seed} script failed: ${r.stderr}`);
      const out = r.stdout;
      const statuses = [...out.matchAll(/^@@S (\d+)$/gm)].map((m) => Number(m[1]));
      const okRules = s.setup.filter((c, i) => c[0] === 'rule' && statuses[i] === 0).length;
      const okCustomRoutes = s.setup.filter((c, i) => c[0] === 'route' && statuses[i] === 0 && !c.includes('main')).length;

      // Round trip: the kernel's listings through our parsers.
      const rulesText = section(out, 'RULES', 'ROUTES');
      const routesText = section(out, 'ROUTES', 'ADDR');
      const addrText = section(out, 'ADDR', 'Q ');
      const rules = parseIpRules(rulesText);
      const routes = parseIpRoutes(routesText);
      const addrs = parseAddrs(addrText);
      for (const [what, p] of [['ip rule', rules], ['ip route', routes], ['ip addr', addrs]] as const) {
        for (const d of p.diagnostics) roundTrip.push(`seed ${seed} ${what}: ${d.code} ${d.message} at line ${d.range.start.line + 1}`);
      }
      if (rules.value.length !== 3 + okRules) roundTrip.push(`seed ${seed}: ${rules.value.length} rules parsed, kernel took ${3 + okRules}\n${rulesText}`);
      const custom = routes.value.filter((x) => x.family === 'ip' && x.table !== 254 && x.table !== 255).length;
      if (custom !== okCustomRoutes) roundTrip.push(`seed ${seed}: ${custom} routes parsed in tables 100-200, kernel took ${okCustomRoutes}\n${routesText}`);
      if (addrs.value.length !== 1 + 2 * s.ifaces.length) roundTrip.push(`seed ${seed}: ${addrs.value.length} interfaces parsed`);
      // `ip -br addr` has no scope or secondary column: what the parser infers must match `ip addr`.
      const brief = parseAddrs(section(out, 'BRIEF', 'RULES'));
      const view = (ifs: typeof addrs.value) => ifs.map((i) => `${i.name}@${i.link} ${i.up} ${i.addrs.map((a) => `${a.text}${a.secondary ? 's' : ''}/${a.scope}`).join(' ')}`);
      for (const d of brief.diagnostics) roundTrip.push(`seed ${seed} ip -br addr: ${d.code} ${d.message}`);
      if (JSON.stringify(view(brief.value)) !== JSON.stringify(view(addrs.value))) roundTrip.push(`seed ${seed}: ip -br addr ${JSON.stringify(view(brief.value))} vs ip addr ${JSON.stringify(view(addrs.value))}`);

      const cfg: RoutingConfig = { rules: rules.value, routes: routes.value, interfaces: addrs.value, tables: defaultRtTables(), forwarding: s.forwarding };
      s.queries.forEach((q: Query, i) => {
        const kText = section(out, `Q ${i}`, `Q ${i + 1}`);
        const k = parseRouteGet(kText);
        const d = routeDecision(cfg, { dst: q.dst, src: q.src, iif: q.iif, oif: q.oif, mark: q.mark, tos: q.tos, uid: q.iif ? undefined : q.uid ?? 0, ipproto: q.ipproto ?? 'udp', sport: q.sport, dport: q.dport });
        total++;
        const feats = new Set<string>([d.path]);
        for (const st of d.steps) if (st.outcome !== 'no-match' && st.outcome !== 'hit' && st.outcome !== 'miss') feats.add(st.outcome);
        if (d.nexthops.length > 1) feats.add('multipath');
        if (d.onlinkAssumed) feats.add('oif-onlink');
        if (d.steps.some((st) => st.rule.not && st.outcome !== 'no-match')) feats.add('not-matched');
        for (const f of feats) features.set(f, (features.get(f) ?? 0) + 1);
        const key = k.error ?? (k.type ?? 'unicast');
        byOutcome.set(key, (byOutcome.get(key) ?? 0) + 1);
        const why = compare(k, d, q);
        if (why === null) agree++;
        else {
          disagreements.push([
            `seed ${seed} query ${i}: ip ${queryArgs(q).join(' ')}`,
            `  ${why}`,
            `  kernel: ${k.raw.split('\n')[0]}`,
            `  ours:   ${d.summary}`,
            ...d.steps.map((st) => `    ${st.rule.priority}: ${st.outcome} ${st.detail}`),
          ].join('\n'));
        }
      });
    } finally {
      ns.delete();
    }
  }
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  console.log(`routing agreement: ${agree}/${total} (${((100 * agree) / total).toFixed(2)}%) in ${secs}s over ${SCENARIOS} scenarios; kernel outcomes ${JSON.stringify(Object.fromEntries(byOutcome))}; cases through ${JSON.stringify(Object.fromEntries(features))}`);
  if (roundTrip.length) console.log('round trip problems:\n' + roundTrip.slice(0, 20).join('\n'));
  if (disagreements.length) console.log(`disagreements (${disagreements.length}):\n` + disagreements.slice(0, 40).join('\n'));
  assert.ok(total >= 1000, `only ${total} cases`);
  assert.deepEqual(roundTrip, []);
  assert.equal(disagreements.length, 0);
});
