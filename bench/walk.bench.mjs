// One packet walk over the bench dump once it is loaded (issue 5's bar: under 5 ms). A service packet
// enters PREROUTING, goes through KUBE-SERVICES (10 000 rules), its KUBE-SVC and KUBE-SEP chains and DNAT.
// BENCH_WALKS walks (default 200) in each of BENCH_RUNS runs; min, p50 and p95 over all of them. Every
// walk makes the full trace (one step per rule passed). No forced gc() between runs: a full collection
// of the ~500 MB model leaves the next ten or so walks 5-18 ms slower while it is swept, which measures
// the forced collection, not the walk (the walks' own young-generation collections are counted).
const WALKS = Number(process.env.BENCH_WALKS ?? 200);

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export default async function walkBench(ctx) {
  const rs = ctx.core.parseRuleset(ctx.text);
  // A late service (so the walk crosses most of KUBE-SERVICES): its cluster IP from the dump itself.
  const m = [...ctx.text.matchAll(/-A KUBE-SERVICES -d (10\.96\.\d+\.\d+)\/32 -p tcp/g)].at(-1);
  const line = `tcp 10.244.200.7:40000 -> ${m ? m[1] : '10.96.0.10'}:80 iif eth0`;
  const { packet, errors } = ctx.core.parsePacket(line);
  if (!packet) throw new Error(`packet: ${errors.join('; ')}`);
  for (let i = 0; i < 20; i++) ctx.core.walk(rs, packet); // JIT warm-up, not timed
  const times = [];
  let last;
  for (let run = 0; run < ctx.runs; run++) {
    for (let i = 0; i < WALKS; i++) {
      const t = performance.now();
      last = ctx.core.walk(rs, packet);
      times.push(performance.now() - t);
    }
  }
  times.sort((a, b) => a - b);
  const r = (x) => Math.round(x * 100) / 100;
  const n = `${times.length} walks (${ctx.runs} x ${WALKS})`;
  return [
    { name: `one walk min (${n}, ${last.steps.length} steps, verdict ${last.verdict})`, group: 'sim', value: r(times[0]), unit: 'ms' },
    { name: `one walk p50 (${line})`, group: 'sim', value: r(pct(times, 50)), unit: 'ms' },
    { name: `one walk p95`, group: 'sim', value: r(pct(times, 95)), unit: 'ms' },
  ];
}
