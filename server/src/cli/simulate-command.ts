// nflens simulate FILE --packet "..." [--from LINE] [--format text|json] [--assume match|nomatch] [--both]
// Exit codes: 0 walked (whatever the verdict), 2 usage or I/O.
import { existsSync, readFileSync } from 'node:fs';
import { loadNodeProfile, type NodeProfile } from '../routing/index';
import { parseRuleset } from '../parse';
import type { FileKind } from '../model/ruleset';
import { DEFAULTS_TEXT, parsePacket } from '../sim/packet';
import { traceJson, traceText } from '../sim/trace-format';
import { startPointAt, walk, walkBranches, type WalkOptions } from '../sim/walk';

export const SIMULATE_USAGE = `usage: nflens simulate [FILE] --packet "PACKET" [--node PROFILE] [--from LINE] [--format text|json]
                       [--assume match|nomatch] [--both] [--all] [--kind iptables-save|iptables-S|nft]

  Walks one packet through the ruleset as the kernel would and prints every step.
  PACKET: [ip|ip6] [tcp|udp|icmp|...] SRC[:PORT] -> DST[:PORT] [iif NAME] [oif NAME] [mark V]
          [ctmark V] [ct new|established|related|invalid|untracked] [reply] [zone N] [uid N] [gid N]
          [flags SYN,ACK] [type ICMPTYPE] [len N] [local] [host ADDR,...] [set NAME=ADDR,...]
  defaults: ${DEFAULTS_TEXT.join('; ')}
  --node PROFILE  a node profile (ip rule / ip route / ip addr / ipset files): routing decisions,
                local addresses and set contents come from it; its ruleset is used when FILE is omitted
  --from LINE   start at the rule (or chain) on LINE (1-based)
  --assume      branch followed at a step that cannot be decided (default: nomatch)
  --both        walk both branches of every undecidable step (at most 16 walks)
  --all         text format: list the rules that did not match too`;

class UsageError extends Error {}

export function simulateCommand(argv: string[]): number {
  try {
    return run(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      if (e.message) process.stderr.write(`nflens simulate: ${e.message}\n`);
      process.stderr.write(SIMULATE_USAGE + '\n');
      return 2;
    }
    process.stderr.write(`nflens simulate: internal error: ${(e as Error)?.stack ?? e}\n`);
    return 2;
  }
}

function run(argv: string[]): number {
  let file: string | undefined, packetText: string | undefined, from: number | undefined;
  let format = 'text', assume: 'match' | 'nomatch' = 'nomatch', both = false, all = false;
  let kind: FileKind | undefined;
  let node: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = (name: string) => {
      const eq = a.indexOf('=');
      if (a.startsWith('--') && eq > 0) return a.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${name} needs a value`);
      return v;
    };
    if (a === '--packet' || a.startsWith('--packet=') || a === '-p') packetText = val('--packet');
    else if (a === '--from' || a.startsWith('--from=')) {
      const v = val('--from');
      if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`--from needs a line number, not "${v}"`);
      from = Number(v);
    } else if (a === '--format' || a.startsWith('--format=')) format = val('--format');
    else if (a === '--assume' || a.startsWith('--assume=')) {
      const v = val('--assume');
      if (v !== 'match' && v !== 'nomatch') throw new UsageError('--assume is match or nomatch');
      assume = v;
    } else if (a === '--kind' || a.startsWith('--kind=')) kind = val('--kind') as FileKind;
    else if (a === '--node' || a.startsWith('--node=')) node = val('--node');
    else if (a === '--both') both = true;
    else if (a === '--all') all = true;
    else if (a === '-h' || a === '--help') { process.stdout.write(SIMULATE_USAGE + '\n'); return 0; }
    else if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown option ${a}`);
    else if (file === undefined) file = a;
    else throw new UsageError(`one FILE only ("${a}")`);
  }
  if (!file && !node) throw new UsageError('simulate needs a FILE (or --node PROFILE with a ruleset)');
  if (packetText === undefined) throw new UsageError('simulate needs --packet "..."');
  if (!['text', 'json'].includes(format)) throw new UsageError(`unknown format "${format}": text or json`);
  if (kind && !['iptables-save', 'iptables-S', 'nft'].includes(kind)) throw new UsageError(`unknown kind "${kind}"`);
  let profile: NodeProfile | undefined;
  if (node) {
    if (!existsSync(node)) { process.stderr.write(`nflens: ${node}: no such file\n`); return 2; }
    profile = loadNodeProfile(node, (p) => { try { return readFileSync(p, 'utf8'); } catch { return undefined; } });
    for (const d of [...profile.diagnostics, ...profile.sources.flatMap((x) => x.diagnostics)]) {
      process.stderr.write(`nflens: ${node}:${d.range.start.line + 1}: ${d.severity}: ${d.message}\n`);
    }
  }
  let text: string;
  if (!file) {
    if (!profile?.ruleset) { process.stderr.write(`nflens: ${node}: the profile names no ruleset; give FILE\n`); return 2; }
    text = profile.ruleset.text;
  } else {
    try {
      text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
    } catch (e) {
      process.stderr.write(`nflens: ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}\n`);
      return 2;
    }
  }
  const pp = parsePacket(packetText);
  if (!pp.packet) throw new UsageError(`bad packet: ${pp.errors.join('; ')}`);
  const rs = parseRuleset(text, { kind });
  let start;
  if (from !== undefined) {
    start = startPointAt(rs, from);
    if (!start) throw new UsageError(`line ${from} holds no rule or chain`);
  }
  const opts: WalkOptions = { assume, from: start };
  if (profile) { opts.routing = profile.routing; opts.ipsets = profile.ipsetsByName; }
  if (both) {
    const walks = walkBranches(rs, pp.packet, opts);
    if (format === 'json') {
      const main = traceJson(walks[0].result);
      process.stdout.write(JSON.stringify({ ...main, branches: walks.map((w) => ({ choices: w.choices, ...traceJson(w.result) })) }, null, 2) + '\n');
    } else {
      walks.forEach((w, i) => {
        const ch = Object.entries(w.choices).map(([k, v]) => `${k}=${v ? 'match' : 'nomatch'}`).join(', ');
        process.stdout.write(`── branch ${i + 1}/${walks.length}${ch ? ` (${ch})` : ''}\n${traceText(w.result, { all })}\n`);
      });
    }
    return 0;
  }
  const r = walk(rs, pp.packet, opts);
  if (format === 'json') process.stdout.write(JSON.stringify(traceJson(r), null, 2) + '\n');
  else process.stdout.write(traceText(r, { all }) + '\n');
  return 0;
}
