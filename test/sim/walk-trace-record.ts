// Guard for walk optimisations (run by hand, not a test): records the walk's full output (every step
// field, ranges as numbers, traceJson as the CLI prints it, traceText) for the seeds, generated
// rulesets, a kube dump and the real corpora, then compares a later run with the record.
//   npx tsx test/sim/walk-trace-record.ts record DIR     # before a change
//   npx tsx test/sim/walk-trace-record.ts compare DIR    # after: exit 1 and the differing cases if any
//   npx tsx test/sim/walk-trace-record.ts dump NAME      # one case's full record (diff it against an old tree's)
// Each case is kept as verdict, step count and a hash of its full record (the full text is hundreds of MB).
// NFLENS_TRACE_QUICK=1 skips the real corpora and most generated seeds.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { parseRuleset } from '../../server/src/parse';
import { loadNodeProfile } from '../../server/src/routing/index';
import { parsePacket, formatPacket, type Packet } from '../../server/src/sim/packet';
import { walk, walkBranches, startPointAt, type WalkOptions, type WalkResult } from '../../server/src/sim/walk';
import { witnessFor } from '../../server/src/sim/witness';
import { traceJson, traceText } from '../../server/src/sim/trace-format';
import type { Ruleset } from '../../server/src/model/ruleset';
import { generate, randomPacket, rng } from './ruleset-gen';
import { generateNft } from './nft-gen';

const root = resolve(import.meta.dirname, '../..');
const shared = resolve(root, '../shared');
const quick = !!process.env.NFLENS_TRACE_QUICK;

/** Every field of a step, in a fixed order, ranges as numbers (the model's Range objects may change shape). */
function stepRecord(s: WalkResult['steps'][number]): unknown[] {
  const r = s.range;
  return [s.kind, s.hook, s.table, s.family, s.chain, s.line, s.ruleIndex, r ? [r.start.line, r.start.character, r.end.line, r.end.character] : null,
    s.result, s.assumed, s.reason, s.failed, s.action, s.note, s.mark, s.ctmark, s.src, s.dst, s.sport, s.dport];
}

function resultRecord(r: WalkResult): string {
  return JSON.stringify({
    verdict: r.verdict, decidedAt: r.decidedAt, path: r.path, unknowns: r.unknowns, confirmed: r.confirmed, error: r.error,
    packet: formatPacket(r.packet), steps: r.steps.map(stepRecord), json: JSON.stringify(traceJson(r)), text: traceText(r, { all: true }),
    // The steps as JSON.stringify writes them (toJSON), in case a consumer serialises them directly.
    raw: JSON.stringify(r.steps),
  });
}

const lines: string[] = [];
let walks = 0;
const dumpName = process.argv[2] === 'dump' ? process.argv[3] : undefined;
function put(name: string, full: string, summary: string) {
  if (dumpName !== undefined && name === dumpName) console.log(full);
  lines.push(`${name}\t${summary}\t${createHash('sha256').update(full).digest('hex').slice(0, 20)}`);
}
function rec(name: string, r: WalkResult) {
  walks++;
  put(name, resultRecord(r), `${r.verdict} ${r.steps.length}`);
}

function pkt(line: string): Packet | undefined {
  return parsePacket(line).packet;
}

/** Default walk, assume-match walk, branches, and a witness walk from every rule (up to `maxRules`). */
function cover(name: string, rs: Ruleset, packets: string[], opts: WalkOptions = {}, maxRules = 200) {
  for (const [i, line] of packets.entries()) {
    const p = pkt(line);
    if (!p) continue;
    rec(`${name} p${i}`, walk(rs, p, opts));
    rec(`${name} p${i} assume-match`, walk(rs, p, { ...opts, assume: 'match' }));
    for (const [j, b] of walkBranches(rs, p, opts, 4).entries()) rec(`${name} p${i} branch${j} ${JSON.stringify(b.choices)}`, b.result);
  }
  let n = 0;
  for (const t of rs.tables) {
    for (const c of t.chains) {
      for (const rule of c.rules) {
        if (n++ >= maxRules) return;
        const start = startPointAt(rs, rule.range.start.line + 1);
        if (!start) continue;
        const w = witnessFor(rs, start);
        put(`${name} witness@${rule.range.start.line}`, JSON.stringify([w.text, w.exact, w.notes]), w.text);
        rec(`${name} from@${rule.range.start.line}`, walk(rs, w.packet, { ...opts, from: start }));
        rec(`${name} whole@${rule.range.start.line}`, walk(rs, w.packet, opts));
      }
    }
  }
}

function seeds() {
  const ex = (f: string) => readFileSync(join(root, 'examples', f), 'utf8');
  const zt = [
    'tcp 10.244.0.3:40000 -> 10.96.0.10:80 iif vethfe50c7fb', 'tcp 10.244.0.7:40000 -> 10.244.0.3:80 iif vethfe50c7fb',
    'tcp 10.244.0.7:40000 -> 10.244.0.3:8080 iif istioin', 'udp 10.244.1.5:50000 -> 10.244.0.1:6081 iif eth0 host 10.244.0.1',
    'udp 10.244.1.5:50000 -> 10.244.0.1:5000 iif eth0 host 10.244.0.1', 'tcp 10.96.0.10:80 -> 10.244.0.3:40000 iif eth0 ct established reply ctmark 0x220',
    'tcp 10.96.0.10:80 -> 10.244.0.3:40000 iif eth0 ct established reply ctmark 0x210',
    'tcp 10.244.0.5:40000 -> 10.244.0.9:80 iif eth0 set ztunnel-pods-ips=10.244.0.0/24', 'tcp 10.244.0.5:40000 -> 10.244.0.9:80 local uid 1337',
  ];
  cover('ztunnel', parseRuleset(ex('ztunnel-ambient.rules')), zt);
  cover('sidecar', parseRuleset(ex('istio-sidecar.iptables')), [
    'tcp 10.244.0.9:40000 -> 10.96.0.10:80 local uid 1337 gid 1337', 'tcp 10.244.0.9:40000 -> 10.96.0.10:80 local uid 1000 gid 1000',
    'tcp 10.244.0.9:40000 -> 10.96.0.10:80 local uid 1000', 'tcp 10.0.0.5:40000 -> 10.244.0.9:8080 iif eth0 host 10.244.0.9',
    'tcp 10.0.0.5:40000 -> 10.244.0.9:22 iif eth0 host 10.244.0.9', 'udp 10.244.0.9:40000 -> 10.96.0.10:53 local uid 1000 gid 1000',
    'udp 10.244.0.9:40000 -> 10.96.0.10:53 local uid 1337 gid 1337', 'tcp 127.0.0.1:40000 -> 127.0.0.1:15001 local uid 1000',
  ]);
  cover('multiwan', parseRuleset(ex('multi-wan.nft')), [
    'tcp 192.168.1.10:40000 -> 8.8.8.8:443 iif lan0', 'tcp 192.168.1.10:40000 -> 8.8.8.8:443 iif lan0 ct established ctmark 0x2',
    'udp 192.168.1.10:40000 -> 1.1.1.1:53 iif lan0', 'tcp 8.8.8.8:443 -> 192.168.1.10:40000 iif wan1 ct established reply ctmark 0x1',
    'tcp 10.0.0.1:22 -> 192.168.1.1:22 iif wan0 host 192.168.1.1', 'icmp 192.168.1.10 -> 8.8.8.8 iif lan0',
  ]);
  const profile = loadNodeProfile(join(root, 'examples/seed000-node/node.nflens-node'), (p) => readFileSync(p, 'utf8'));
  const nrs = parseRuleset(profile.ruleset!.text);
  cover('node', nrs, [...zt, 'tcp 10.244.0.3:40000 -> 10.244.1.5:80 iif eth0', 'tcp 10.244.2.9:40000 -> 10.244.1.5:80 iif eth0'],
    { routing: profile.routing, ipsets: profile.ipsetsByName });
}

function generated() {
  let ipid = 1000, port = 20000;
  const nextIpId = () => (ipid = ipid >= 65000 ? 1000 : ipid + 1);
  const nextPort = () => (port = port >= 49999 ? 20000 : port + 1);
  const nIpt = quick ? 150 : 1000, nNft = quick ? 50 : 300;
  for (let seed = 1; seed <= nIpt; seed++) {
    const g = generate(seed, nextIpId, nextPort);
    const r = rng(seed * 7 + 1);
    const extra = Array.from({ length: 4 }, () => randomPacket(r, nextIpId, nextPort).line);
    cover(`gen${seed}`, parseRuleset(g.text), [...g.packets.map((p) => p.line), ...extra], {}, 40);
  }
  for (let seed = 1; seed <= nNft; seed++) {
    const g = generateNft(seed, nextIpId, nextPort);
    cover(`nft${seed}`, parseRuleset(g.text), g.packets.map((p) => p.line), {}, 40);
  }
}

function kube() {
  for (const n of [300, 10000]) {
    const text = spawnSync(process.execPath, [join(shared, 'tools/gen-kube.js'), String(n)], { encoding: 'utf8', maxBuffer: 1 << 30 }).stdout;
    const rs = parseRuleset(text);
    const vips = [...text.matchAll(/-A KUBE-SERVICES -d (10\.96\.\d+\.\d+)\/32 -p tcp/g)].map((m) => m[1]);
    const pick = [vips[0], vips[Math.floor(vips.length / 2)], vips.at(-1)];
    const ps = pick.flatMap((v) => [`tcp 10.244.200.7:40000 -> ${v}:80 iif eth0`, `tcp 10.244.0.1:40000 -> ${v}:80 local`, `udp 10.244.200.7:40000 -> ${v}:80 iif eth0`]);
    ps.push('tcp 10.1.2.3:40000 -> 10.0.0.1:30080 iif eth0 host 10.0.0.1', 'tcp 10.244.200.7:40000 -> 10.96.0.0:81 iif eth0');
    cover(`kube${n}`, rs, ps, {}, n === 300 ? 150 : 8);
  }
}

function corpora() {
  const dirs = [join(shared, 'corpora/real-iptables'), join(shared, 'corpora/real-nft')];
  const files: string[] = [];
  const walkDir = (d: string) => {
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walkDir(p);
      else if (!/LICENSE|NOTICE|README|info|\.md$|\.json$/i.test(f)) files.push(p);
    }
  };
  for (const d of dirs) if (existsSync(d)) walkDir(d);
  const r = rng(99);
  for (const f of files) {
    const rs = parseRuleset(readFileSync(f, 'utf8'));
    const ps = Array.from({ length: 3 }, () => randomPacket(r, () => 1, () => 30000).line);
    ps.push('tcp 192.168.1.10:40000 -> 8.8.8.8:443 iif eth0', 'udp 10.0.0.5:5353 -> 224.0.0.251:5353 iif eth1', 'tcp 10.0.0.5:40000 -> 10.0.0.1:22 local');
    cover(`corpus ${f.slice(shared.length + 1)}`, rs, ps, {}, 25);
  }
}

const [mode, dir] = process.argv.slice(2);
if ((mode !== 'record' && mode !== 'compare' && mode !== 'dump') || !dir) {
  console.error('usage: walk-trace-record.ts record|compare DIR | dump NAME');
  process.exit(2);
}
const t0 = performance.now();
for (const part of [seeds, generated, kube, ...(quick ? [] : [corpora])]) {
  const t = performance.now();
  part();
  console.log(`${part.name}: ${((performance.now() - t) / 1000).toFixed(1)} s`);
}
if (mode === 'dump') process.exit(0);
const file = join(dir, quick ? 'traces-quick.tsv' : 'traces.tsv');
const digest = createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 16);
console.log(`${lines.length} records (${walks} walks) in ${((performance.now() - t0) / 1000).toFixed(1)} s, sha256 ${digest}`);
if (mode === 'record') {
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, lines.join('\n'));
  console.log(`recorded ${file}`);
} else {
  const old = readFileSync(file, 'utf8').split('\n');
  let bad = 0;
  for (let i = 0; i < Math.max(old.length, lines.length); i++) {
    if (old[i] === lines[i]) continue;
    if (bad++ < 10) console.log(`DIFF record ${i}\n  was: ${old[i] ?? '(missing)'}\n  now: ${lines[i] ?? '(missing)'}`);
  }
  console.log(bad ? `${bad} records differ` : 'identical');
  process.exit(bad ? 1 : 0);
}
