// Unreachable / shadowed / redundant claims checked by the kernel. Random filter rulesets are
// generated; for every rule the analysis flags, a packet built to satisfy that rule's own matches is
// sent from namespace A to namespace B (where the ruleset is really loaded) and the rule's packet
// counter is read back (`iptables-save -c`): it must stay 0, while the earlier rule named as
// responsible must have counted the packet (so the packet did reach the chain).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkText } from '../../server/src/check';
import { parseRuleset } from '../../server/src/parse';
import { nftRuleSpace, ruleSpace, spaceHas, type ConcretePacket } from '../../server/src/analysis/match-space';
import type { Diagnostic } from '../../server/src/model/ruleset';
import { kernelAvailable, vethPair } from '../support/netns';
import { prng } from './mutations';

const SRCS = ['10.9.0.1', '10.9.0.3', '10.9.0.130', '10.9.0.200'];
const MARKED_SRC = '10.9.0.200'; // mangle PREROUTING gives its packets mark 0x1
const PORTS = [22, 53, 80, 443, 5000, 5050, 6000];

const pick = <T>(rnd: () => number, xs: T[]): T => xs[Math.floor(rnd() * xs.length)];

function genRule(rnd: () => number, chain: string, user: boolean): string {
  const parts: string[] = [`-A ${chain}`];
  if (rnd() < 0.6) parts.push(pick(rnd, ['-s 10.9.0.1/32', '-s 10.9.0.0/24', '-s 10.9.0.0/25', '-s 10.9.0.128/25', '! -s 10.9.0.3/32', '-s 10.9.0.200/32', '-s 10.9.0.0/30']));
  if (rnd() < 0.7) parts.push(pick(rnd, ['-p tcp', '-p udp', '-p tcp -m tcp --dport 80', '-p udp -m udp --dport 5000:5100', '-p tcp -m multiport --dports 22,80,443', '-p udp -m udp ! --dport 53', '-p tcp -m tcp --dport 1:1024', '! -p udp']));
  if (rnd() < 0.3) parts.push(pick(rnd, ['-i vb', '-i v+', '! -i lo', '-i eth0']));
  if (rnd() < 0.2) parts.push(pick(rnd, ['-m conntrack --ctstate NEW', '-m state --state NEW,ESTABLISHED', '-m conntrack --ctstate ESTABLISHED']));
  if (rnd() < 0.2) parts.push(pick(rnd, ['-m mark --mark 0x0/0x1', '-m mark --mark 0x1/0x1', '-m mark ! --mark 0x1/0x1']));
  if (rnd() < 0.1) parts.push('-m comment --comment "generated"');
  const targets = user ? ['-j ACCEPT', '-j DROP', '-j RETURN', '-j MARK --set-xmark 0x2/0x2', '-j ACCEPT'] : ['-j ACCEPT', '-j DROP', '-j SUB', '-j MARK --set-xmark 0x1/0x1', '-j ACCEPT', '-j DROP'];
  parts.push(pick(rnd, targets));
  return parts.join(' ');
}

function genRuleset(rnd: () => number): string {
  const input = Array.from({ length: 5 + Math.floor(rnd() * 6) }, () => genRule(rnd, 'INPUT', false));
  if (rnd() < 0.3) input.splice(Math.floor(rnd() * input.length), 0, pick(rnd, ['-A INPUT -j ACCEPT', '-A INPUT -p udp -j DROP', '-A INPUT -j SUB']));
  if (rnd() < 0.4) {
    // Two rules that split a space, then one inside their union (covered only by both together).
    const proto = pick(rnd, ['tcp', 'udp']);
    const split = pick(rnd, [
      [`-s 10.9.0.0/25 -p ${proto}`, `-s 10.9.0.128/25 -p ${proto}`, `-s 10.9.0.0/24 -p ${proto} -m ${proto} --dport 80:6000`],
      [`-p ${proto} -m ${proto} --dport 1:1000`, `-p ${proto} -m ${proto} --dport 1001:65535`, `-s 10.9.0.0/24 -p ${proto} -m ${proto} --dport 22:5050`],
    ]);
    const at = Math.floor(rnd() * input.length);
    input.splice(at, 0, `-A INPUT ${split[0]} -j ${pick(rnd, ['ACCEPT', 'DROP'])}`, `-A INPUT ${split[1]} -j ${pick(rnd, ['ACCEPT', 'DROP'])}`);
    input.splice(at + 2 + Math.floor(rnd() * (input.length - at - 1)), 0, `-A INPUT ${split[2]} -j ${pick(rnd, ['ACCEPT', 'DROP', 'SUB'])}`);
  }
  const sub = Array.from({ length: 2 + Math.floor(rnd() * 3) }, () => genRule(rnd, 'SUB', true));
  if (rnd() < 0.3) sub.push('-A SUB -j DROP');
  return ['*mangle', ':PREROUTING ACCEPT [0:0]', `-A PREROUTING -s ${MARKED_SRC}/32 -j MARK --set-xmark 0x1/0x1`, 'COMMIT',
    '*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':SUB - [0:0]', ...input, ...sub, 'COMMIT', ''].join('\n');
}

function packetsFor(): ConcretePacket[] {
  const out: ConcretePacket[] = [];
  const n = (a: string) => a.split('.').reduce((x, o) => (x << 8n) | BigInt(Number(o)), 0n);
  for (const src of SRCS) for (const proto of [6, 17]) for (const dport of PORTS) {
    out.push({ src: n(src), dst: n('10.9.0.2'), proto, dport, iif: 'vb', mark: src === MARKED_SRC ? 1 : 0, ctmark: 0, ctstate: 'NEW' });
  }
  return out;
}

const addrText = (x: bigint) => [24n, 16n, 8n, 0n].map((s) => String((x >> s) & 255n)).join('.');

/** Packet counters by chain and rule position, from `iptables-save -c -t filter`. */
function counters(save: string): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const line of save.split('\n')) {
    const x = /^\[(\d+):\d+\] -A (\S+)/.exec(line);
    if (!x) continue;
    (m.get(x[2]) ?? m.set(x[2], []).get(x[2])!).push(Number(x[1]));
  }
  return m;
}

const SENDER = `
import socket, sys, time, json
pk = json.loads(sys.argv[1]); socks = []
for i, p in enumerate(pk):
    sport = 20000 + i
    if p['proto'] == 6:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM); s.setblocking(False)
        s.bind((p['src'], sport)); s.connect_ex(('10.9.0.2', p['dport'])); socks.append(s)
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((p['src'], sport)); s.sendto(b'x', ('10.9.0.2', p['dport'])); socks.append(s)
time.sleep(0.4)
for s in socks: s.close()
`;

const skip = kernelAvailable().ok ? (process.env.PYTHON_OK === '0' ? 'no python3' : undefined) : `kernel tests need root: ${kernelAvailable().reason}`;
if (skip) console.log(`# counter check skipped: ${skip}`);

test('rules flagged unreachable/shadowed/redundant count no packet in the kernel; the rule responsible does', { skip, timeout: 600_000 }, () => {
  const pair = vethPair('nflf');
  const rnd = prng(97);
  let checked = 0, rulesets = 0, noPacket = 0, vacuous = 0;
  const byCode = new Map<string, number>();
  const failures: string[] = [];
  const t0 = Date.now();
  try {
    for (const a of ['10.9.0.3/24', '10.9.0.130/24', '10.9.0.200/24']) pair.a.must(['ip', 'addr', 'add', a, 'dev', 'va']);
    // Let ARP settle once so the first packet of each test is not lost.
    pair.a.run(['ping', '-c', '1', '-W', '1', '10.9.0.2']);
    for (let iter = 0; iter < 400 && checked < 150 && Date.now() - t0 < 150_000; iter++) {
      const text = genRuleset(rnd);
      const diags = checkText(text).diagnostics.filter((d) => ['unreachable-rule', 'shadowed-rule', 'redundant-rule'].includes(d.code));
      if (!diags.length) continue;
      const rs = parseRuleset(text);
      const filter = rs.tables.find((t) => t.name === 'filter')!;
      const ruleAt = (line: number) => {
        for (const c of filter.chains) for (const r of c.rules) if (r.range.start.line === line) return { c, r };
        return undefined;
      };
      // One packet per flagged rule: satisfies that rule's own matches.
      const plan: { d: Diagnostic; chain: string; idx: number; byChain: string; byIdx: number; p: ConcretePacket }[] = [];
      const cands = packetsFor();
      for (const d of diags) {
        const me = ruleAt(d.range.start.line)!;
        const by = ruleAt(d.related![0].range.start.line)!;
        const space = ruleSpace(me.r, 'ip');
        const byspace = ruleSpace(by.r, 'ip');
        const p = cands.find((x) => spaceHas(space, x) === true && spaceHas(byspace, x) === true);
        if (!p) { noPacket++; continue; }
        plan.push({ d, chain: me.c.name, idx: me.r.index, byChain: by.c.name, byIdx: by.r.index, p });
      }
      if (!plan.length) continue;
      rulesets++;
      pair.b.must(['iptables-restore'], text);
      const pk = plan.map((x) => ({ src: addrText(x.p.src), proto: x.p.proto, dport: x.p.dport }));
      pair.a.must(['python3', '-c', SENDER, JSON.stringify(pk)]);
      const cnt = counters(pair.b.must(['iptables-save', '-c', '-t', 'filter']));
      for (const x of plan) {
        const mine = cnt.get(x.chain)?.[x.idx];
        const theirs = cnt.get(x.byChain)?.[x.byIdx];
        if (mine === undefined || theirs === undefined) { failures.push(`counter missing for ${x.chain}#${x.idx}`); continue; }
        if (theirs === 0) { vacuous++; continue; } // the packet never got to the responsible rule
        checked++;
        const code = x.d.related!.length > 1 ? `${x.d.code} (by ${x.d.related!.length} rules together)` : x.d.code;
        byCode.set(code, (byCode.get(code) ?? 0) + 1);
        if (mine !== 0) failures.push(`${x.d.code} at line ${x.d.range.start.line + 1} counted ${mine} packets (sent ${JSON.stringify(pk[plan.indexOf(x)])}):\n${text}`);
      }
      pair.b.must(['sh', '-c', 'nft flush ruleset; conntrack -F 2>/dev/null || true']);
    }
  } finally {
    pair.delete();
  }
  console.log(`# ${rulesets} generated rulesets loaded, ${checked} flagged rules checked with a packet built for them (${[...byCode].map(([c, n]) => `${c} ${n}`).join(', ')}) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`# flagged rules with no buildable packet (interface/state/mark we cannot send): ${noPacket}; packets taken before the responsible rule: ${vacuous}`);
  assert.deepEqual(failures, [], 'a flagged rule counted packets');
  assert.ok(checked >= 50, `only ${checked} flagged rules checked`);
});

function genNftRule(rnd: () => number, user: boolean): string {
  const parts: string[] = [];
  if (rnd() < 0.6) parts.push(pick(rnd, ['ip saddr 10.9.0.1', 'ip saddr 10.9.0.0/24', 'ip saddr 10.9.0.0/25', 'ip saddr 10.9.0.128/25', 'ip saddr != 10.9.0.3', 'ip saddr { 10.9.0.1, 10.9.0.200 }', 'ip saddr 10.9.0.0-10.9.0.3']));
  if (rnd() < 0.7) parts.push(pick(rnd, ['meta l4proto tcp', 'meta l4proto udp', 'tcp dport 80', 'udp dport 5000-5100', 'tcp dport { 22, 80, 443 }', 'udp dport != 53', 'tcp dport 1-1024', 'meta l4proto != udp']));
  if (rnd() < 0.3) parts.push(pick(rnd, ['iifname "vb"', 'iifname "v*"', 'iifname != "lo"', 'iifname "eth0"']));
  if (rnd() < 0.2) parts.push(pick(rnd, ['ct state new', 'ct state { new, established }', 'ct state established']));
  if (rnd() < 0.2) parts.push(pick(rnd, ['meta mark and 0x1 == 0x0', 'meta mark and 0x1 == 0x1', 'meta mark and 0x1 != 0x1']));
  parts.push('counter');
  parts.push(pick(rnd, user ? ['accept', 'drop', 'return', 'meta mark set mark or 0x2', 'accept'] : ['accept', 'drop', 'jump sub', 'meta mark set mark or 0x1', 'accept', 'drop']));
  return '\t\t' + parts.join(' ');
}

function genNftRuleset(rnd: () => number): string {
  const input = Array.from({ length: 5 + Math.floor(rnd() * 6) }, () => genNftRule(rnd, false));
  if (rnd() < 0.3) input.splice(Math.floor(rnd() * input.length), 0, pick(rnd, ['\t\tcounter accept', '\t\tmeta l4proto udp counter drop', '\t\tcounter jump sub']));
  const sub = Array.from({ length: 2 + Math.floor(rnd() * 3) }, () => genNftRule(rnd, true));
  if (rnd() < 0.3) sub.push('\t\tcounter drop');
  return ['table ip nflf {', '\tchain pre {', '\t\ttype filter hook prerouting priority mangle; policy accept;', `\t\tip saddr ${MARKED_SRC} meta mark set mark or 0x1`, '\t}',
    '\tchain input {', '\t\ttype filter hook input priority filter; policy accept;', ...input, '\t}', '\tchain sub {', ...sub, '\t}', '}', ''].join('\n');
}

/** Packet counters by chain and rule position from `nft -j list table ip nflf`. */
function nftCounters(json: string): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const item of JSON.parse(json).nftables as Record<string, { chain: string; expr: Record<string, { packets?: number }>[] }>[]) {
    const r = item.rule;
    if (!r) continue;
    const c = r.expr.find((e) => e.counter)?.counter?.packets ?? -1;
    (m.get(r.chain) ?? m.set(r.chain, []).get(r.chain)!).push(c);
  }
  return m;
}

test('nftables: flagged rules count no packet in the kernel; the rule responsible does', { skip, timeout: 600_000 }, () => {
  const pair = vethPair('nflf');
  const rnd = prng(131);
  let checked = 0, rulesets = 0, noPacket = 0, vacuous = 0;
  const byCode = new Map<string, number>();
  const failures: string[] = [];
  const t0 = Date.now();
  try {
    for (const a of ['10.9.0.3/24', '10.9.0.130/24', '10.9.0.200/24']) pair.a.must(['ip', 'addr', 'add', a, 'dev', 'va']);
    pair.a.run(['ping', '-c', '1', '-W', '1', '10.9.0.2']);
    for (let iter = 0; iter < 400 && checked < 100 && Date.now() - t0 < 120_000; iter++) {
      const text = genNftRuleset(rnd);
      const diags = checkText(text, { kind: 'nft' }).diagnostics.filter((d) => ['unreachable-rule', 'shadowed-rule', 'redundant-rule'].includes(d.code));
      if (!diags.length) continue;
      const rs = parseRuleset(text, { kind: 'nft' });
      const table = rs.tables[0];
      const ruleAt = (line: number) => {
        for (const c of table.chains) for (const r of c.rules) if (r.range.start.line === line) return { c, r };
        return undefined;
      };
      const plan: { d: Diagnostic; chain: string; idx: number; byChain: string; byIdx: number; p: ConcretePacket }[] = [];
      const cands = packetsFor();
      for (const d of diags) {
        const me = ruleAt(d.range.start.line);
        const by = ruleAt(d.related![0].range.start.line);
        if (!me || !by) { failures.push(`no rule at line ${d.range.start.line + 1}`); continue; }
        const p = cands.find((x) => spaceHas(nftRuleSpace(me.r), x) === true && spaceHas(nftRuleSpace(by.r), x) === true);
        if (!p) { noPacket++; continue; }
        plan.push({ d, chain: me.c.name, idx: me.r.index, byChain: by.c.name, byIdx: by.r.index, p });
      }
      if (!plan.length) continue;
      rulesets++;
      pair.b.must(['nft', '-f', '-'], text);
      const pk = plan.map((x) => ({ src: addrText(x.p.src), proto: x.p.proto, dport: x.p.dport }));
      pair.a.must(['python3', '-c', SENDER, JSON.stringify(pk)]);
      const cnt = nftCounters(pair.b.must(['nft', '-j', 'list', 'table', 'ip', 'nflf']));
      for (const x of plan) {
        const mine = cnt.get(x.chain)?.[x.idx];
        const theirs = cnt.get(x.byChain)?.[x.byIdx];
        if (mine === undefined || theirs === undefined || mine < 0 || theirs < 0) { failures.push(`counter missing for ${x.chain}#${x.idx}`); continue; }
        if (theirs === 0) { vacuous++; continue; }
        checked++;
        const code = x.d.related!.length > 1 ? `${x.d.code} (by ${x.d.related!.length} rules together)` : x.d.code;
        byCode.set(code, (byCode.get(code) ?? 0) + 1);
        if (mine !== 0) failures.push(`${x.d.code} at line ${x.d.range.start.line + 1} counted ${mine} packets (sent ${JSON.stringify(pk[plan.indexOf(x)])}):\n${text}`);
      }
      pair.b.must(['sh', '-c', 'nft flush ruleset; conntrack -F 2>/dev/null || true']);
    }
  } finally {
    pair.delete();
  }
  console.log(`# nft: ${rulesets} generated rulesets loaded, ${checked} flagged rules checked with a packet built for them (${[...byCode].map(([c, n]) => `${c} ${n}`).join(', ')}) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`# nft: flagged rules with no buildable packet: ${noPacket}; packets taken before the responsible rule: ${vacuous}`);
  assert.deepEqual(failures, [], 'a flagged nft rule counted packets');
  assert.ok(checked >= 30, `only ${checked} flagged nft rules checked`);
});
