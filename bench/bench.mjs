// `npm run bench`: parse + model of a 150 000-line kube-proxy-shaped dump (gen-kube.js 10000), side by
// side with iptables-legacy-restore --test (the peer), iptables-restore --test (nf_tables) and nft -c on
// the nft translation, each inside a scratch network namespace this script makes and deletes.
// A measurement, not a test: prints medians and the ratio, exits 0 even when we are slower.
//
// Hook for later issues: a file bench/NAME.bench.mjs whose default export is
// `async (ctx) => [{ name, group, run }]` (run() is timed in-process) or `{ name, group, argv }` (timed
// as a process; set `netns: true` to run it inside the scratch namespace) adds rows, e.g. "hover p95".
// A measurement may also return `{ name, group, value, unit }` to report a number it computed itself.
// Environment: BENCH_RUNS (default 5, at least 5), BENCH_SERVICES (gen-kube.js N, default 10000),
// BENCH_ONLY (a regular expression: only measurements whose name matches, plus the peer for the ratio).
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// Collect garbage between runs so one run's garbage is not billed to the next.
if (!globalThis.gc && !process.env.NFLC_BENCH_CHILD) {
  const r = spawnSync(process.execPath, ['--expose-gc', ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, NFLC_BENCH_CHILD: '1' } });
  process.exit(r.status ?? 1);
}

const repo = fileURLToPath(new URL('..', import.meta.url));
const shared = resolve(repo, '../shared');
const RUNS = Math.max(5, Number(process.env.BENCH_RUNS ?? 5));
const SERVICES = Number(process.env.BENCH_SERVICES ?? 10000);

const tmp = mkdtempSync(join(tmpdir(), 'nflc-bench-'));
let nsName;
function cleanup() {
  if (nsName) spawnSync('ip', ['netns', 'del', nsName]);
  nsName = undefined;
  rmSync(tmp, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { cleanup(); process.exit(130); });

const ms = (ns) => Number(ns) / 1e6;
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const has = (tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

// ---- input ---------------------------------------------------------------------------------------
const file = join(tmp, 'kube.rules');
const gen = spawnSync(process.execPath, [join(shared, 'tools/gen-kube.js'), String(SERVICES)], { encoding: 'utf8', maxBuffer: 1 << 30 });
if (gen.status !== 0) {
  console.error(`bench: gen-kube.js failed: ${gen.stderr}`);
  process.exit(1);
}
writeFileSync(file, gen.stdout);
const text = gen.stdout;
const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
const appendLines = (text.match(/^(\[\d+:\d+\] )?-A /gm) ?? []).length;
console.log(`input: gen-kube.js ${SERVICES}: ${lines} lines, ${(Buffer.byteLength(text) / 1e6).toFixed(1)} MB, ${appendLines} -A lines; ${RUNS} runs each, median`);

// ---- our core, bundled the way dist/cli.js is ---------------------------------------------------------
const coreFile = join(tmp, 'core.cjs');
await build({ entryPoints: [join(repo, 'bench/core-entry.ts')], bundle: true, platform: 'node', target: 'node20', format: 'cjs', outfile: coreFile, logLevel: 'warning' });
const core = createRequire(import.meta.url)(coreFile);

// ---- scratch namespace for the peers -----------------------------------------------------------------
let nsReason;
if (process.getuid?.() !== 0) nsReason = 'not root';
else if (!has('ip')) nsReason = 'iproute2 not installed';
else {
  const name = `nflc-bench-${process.pid}`;
  const r = spawnSync('ip', ['netns', 'add', name], { encoding: 'utf8' });
  if (r.status === 0) nsName = name;
  else nsReason = `ip netns add failed: ${r.stderr.trim()}`;
}
const inNs = (argv) => ['ip', 'netns', 'exec', nsName, ...argv];

// ---- measurements -------------------------------------------------------------------------------------
/** @type {{name:string, group:string, run?:()=>unknown, argv?:string[], netns?:boolean, value?:number, unit?:string, note?:string, okStatus?:number[]}[]} */
const measurements = [
  { name: 'parseRuleset (parse + model), in-process', group: 'ours', id: 'ours-parse', run: () => core.parseRuleset(text) },
  // The model keeps a plain `-A` rule as its line and builds its matches and target when read: this row
  // is the parse plus building every rule's details once, what a consumer touching every rule pays.
  { name: 'parseRuleset, then every rule\'s matches and target read once', group: 'ours', run: () => {
    const rs = core.parseRuleset(text);
    let n = 0;
    for (const t of rs.tables) for (const c of t.chains) for (const r of c.rules) n += r.matches.length + r.actions.length;
    return n;
  } },
  { name: 'checkText (parse + model + analyses), in-process', group: 'ours', run: () => core.checkText(text) },
  { name: 'node dist/cli.js check FILE, whole process', group: 'ours', id: 'ours-cli', argv: [process.execPath, join(repo, 'dist/cli.js'), 'check', file], okStatus: [0, 1] },
  { name: 'node -e 0 (process start, for reference)', group: 'baseline', argv: [process.execPath, '-e', '0'] },
];
if (nsName) {
  measurements.push({ name: 'ip netns exec NS true (namespace entry, for reference)', group: 'baseline', argv: ['true'], netns: true });
  if (has('iptables-legacy-restore')) measurements.push({ name: 'iptables-legacy-restore --test FILE', group: 'peer', id: 'peer', argv: ['iptables-legacy-restore', '--test', file], netns: true });
  if (has('iptables-restore')) measurements.push({ name: 'iptables-restore --test FILE (nf_tables)', group: 'peer', argv: ['iptables-restore', '--test', file], netns: true });
  if (has('iptables-restore-translate') && has('nft')) {
    const nftFile = join(tmp, 'kube.nft');
    const tr = spawnSync('sh', ['-c', `iptables-restore-translate -f "$1" > "$2"`, 'sh', file, nftFile], { encoding: 'utf8' });
    if (tr.status === 0 && existsSync(nftFile)) {
      // iptables 1.8.9's translator drops `-p tcp` before `dnat to ADDR:PORT`, which nft then refuses
      // ("transport protocol mapping is only valid after transport protocol match"): put it back.
      const fixed = readFileSync(nftFile, 'utf8').replace(/^(add rule .*?)( counter dnat to \S+:\d+)/gm, (all, head, tail) => (/\b(tcp|udp|l4proto)\b/.test(head) ? all : `${head} meta l4proto tcp${tail}`));
      writeFileSync(nftFile, fixed);
      measurements.push({ name: 'nft -c -f (iptables-restore-translate output)', group: 'peer', argv: ['nft', '-c', '-f', nftFile], netns: true });
    }
    else console.log(`note: iptables-restore-translate failed (${tr.status}): ${tr.stderr.trim().split('\n')[0]}`);
  }
} else {
  console.log(`note: peers not measured: ${nsReason}`);
}

// Later issues add rows here without touching this file.
const ctx = { file, text, core, tmp, runs: RUNS, repo, shared, netns: nsName };
for (const f of readdirSync(join(repo, 'bench')).filter((f) => f.endsWith('.bench.mjs')).sort()) {
  const mod = await import(pathToFileURL(join(repo, 'bench', f)).href);
  measurements.push(...(await mod.default(ctx)));
}

if (process.env.BENCH_ONLY) {
  const re = new RegExp(process.env.BENCH_ONLY, 'i');
  measurements.splice(0, measurements.length, ...measurements.filter((m) => re.test(m.name) || m.id === 'peer'));
}

// ---- run ----------------------------------------------------------------------------------------------
// Round-robin: run i of every measurement before run i+1 of any, so the load other processes put on
// the machine falls on ours and the peers alike.
const timed = measurements.filter((m) => m.value === undefined);
const times = new Map(timed.map((m) => [m, []]));
const notes = new Map(measurements.map((m) => [m, m.note ?? '']));
for (let i = 0; i < RUNS; i++) {
  for (const m of timed) {
    globalThis.gc?.();
    if (m.run) {
      const t = process.hrtime.bigint();
      const out = m.run();
      times.get(m).push(ms(process.hrtime.bigint() - t));
      if (i === RUNS - 1) m.last = out;
    } else {
      const argv = m.netns ? inNs(m.argv) : m.argv;
      const t = process.hrtime.bigint();
      const r = spawnSync(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 28 });
      times.get(m).push(ms(process.hrtime.bigint() - t));
      if (!(m.okStatus ?? [0]).includes(r.status)) notes.set(m, `exit ${r.status}: ${String(r.stderr).trim().split('\n')[0].slice(0, 100)}`);
    }
  }
}
const results = measurements.map((m) => {
  if (m.value !== undefined) return { ...m, median: m.value, min: m.value, max: m.value, runs: 1, note: notes.get(m) };
  const ts = times.get(m);
  return { ...m, median: median(ts), min: Math.min(...ts), max: Math.max(...ts), first: ts[0], runs: ts.length, note: notes.get(m) };
});

// ---- report -------------------------------------------------------------------------------------------
// The model of the last timed run (no extra full analysis just for this line).
const checked = measurements.find((m) => m.run && m.last?.diagnostics && m.last?.ruleset)?.last;
const rs = checked?.ruleset ?? core.parseRuleset(text);
const diags = checked?.diagnostics ?? rs.diagnostics;
const errors = diags.filter((d) => d.severity === 'error').length;
console.log(`our model: ${rs.tables.length} tables, ${core.chainCount(rs)} chains, ${core.ruleCount(rs)} rules (file has ${appendLines} -A lines), ${errors} error diagnostics${checked ? '' : ' from the parser alone'}`);
console.log('');
const w = Math.max(...results.map((r) => r.name.length));
const fmt = (x, unit = 'ms') => (unit === 'ms' ? `${x >= 100 ? x.toFixed(0) : x.toFixed(1)} ms` : `${x} ${unit}`).padStart(10);
console.log(`${'measurement'.padEnd(w)}  group     ${'median'.padStart(10)} ${'min'.padStart(10)} ${'max'.padStart(10)}  first run`);
for (const r of results) {
  console.log(`${r.name.padEnd(w)}  ${r.group.padEnd(8)}  ${fmt(r.median, r.unit)} ${fmt(r.min, r.unit)} ${fmt(r.max, r.unit)}  ${r.first !== undefined ? fmt(r.first) : ''}${r.note ? '  ' + r.note : ''}`);
}
console.log('');
const byId = (id) => results.find((r) => r.id === id);
const peer = byId('peer');
if (peer && !peer.note) {
  for (const [id, label] of [['ours-parse', 'parse + model in-process'], ['ours-cli', 'nflens check whole process']]) {
    const r = byId(id);
    if (!r || r.note) continue;
    const ratio = r.median / peer.median;
    console.log(`RATIO ${label} / iptables-legacy-restore --test = ${ratio.toFixed(2)} (target <= 1.0): ${ratio <= 1 ? 'OK, not slower than the peer' : `SLOWER than the peer by ${ratio.toFixed(1)}x`}`);
  }
} else {
  console.log(`RATIO not computed: ${peer ? `peer failed (${peer.note})` : nsReason ?? 'iptables-legacy-restore not installed'}`);
}
cleanup();
