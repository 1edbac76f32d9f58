// Load-time errors: the kernel (a real load into a scratch namespace: `iptables-restore FILE`,
// `nft -f FILE`, never --test / -c) against our "has an error" (checkText, error severity).
// Rulesets: single-token mutations of real corpus files (test/kernel/mutations.ts), generated
// placement rulesets (targets and matches in every table and built-in chain, directly, through user
// chains reached from one or two hooks, and in chains nothing reaches), generated chain-graph
// rulesets (undefined chains, loops, jumps to built-ins) and generated nft rulesets.
// Judged by the nf_tables backend; the legacy backend is loaded for the placement set and only reported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkText } from '../../server/src/check';
import type { Diagnostic } from '../../server/src/model/ruleset';
import { IptablesLoader, Netns, kernelAvailable, type LoadResult } from '../support/netns';
import { generateMutations, prng, shuffle, type SaveFile } from './mutations';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const corpus = resolve(repoRoot, '../shared/corpora/real-iptables');

/** Mutation kinds the analyses decide (chain graph, placement). The others (values, options, modules,
 *  policies, declarations, table names) are the parser's and rule builder's: reported, not asserted here. */
const ANALYSIS_KINDS = new Set(['undeclared-jump', 'jump-loop', 'self-loop', 'jump-to-builtin', 'target-swap', 'rule-move']);

/** Errors that say a rule can never match, not that the kernel refuses it: left out of "has a load-time error". */
const NEVER_MATCHES_ERRORS = new Set(['mark-mask-never-matches']);

interface Case {
  id: string;
  group: 'mutation' | 'mutation-parser' | 'placement' | 'graph' | 'nft';
  kind: string;
  what: string;
  text: string;
  family: 'ip' | 'ip6';
  nft?: boolean;
}

const BUILTIN: Record<string, string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
  security: ['INPUT', 'FORWARD', 'OUTPUT'],
};

// Rule bodies for the placement set. Left out: SECMARK (needs SELinux), SYNPROXY, CLUSTERIP, HMARK,
// LED, SET / -m set (need objects this namespace lacks): the kernel refuses them everywhere here.
const BODIES = [
  '-p tcp -j DNAT --to-destination 10.1.1.1', '-p tcp -j SNAT --to-source 10.1.1.1', '-j MASQUERADE', '-p tcp -j REDIRECT --to-ports 8080',
  '-j REJECT', '-p tcp -j REJECT --reject-with tcp-reset', '-j CT --notrack', '-j CT --zone 1', '-j NOTRACK', '-j MARK --set-xmark 0x1/0xff',
  '-j CONNMARK --save-mark', '-j LOG', '-j TRACE', '-p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu', '-j DSCP --set-dscp 10',
  '-j CLASSIFY --set-class 1:1', '-p tcp -j TPROXY --on-port 3128 --tproxy-mark 0x1/0x1', '-j NETMAP --to 10.0.0.0/24', '-j TOS --set-tos 0x10',
  '-j TTL --ttl-set 64', '-j NFQUEUE --queue-num 1', '-j NFLOG', '-j CHECKSUM --checksum-fill', '-j CONNSECMARK --save', '-j AUDIT --type accept',
  '-j QUEUE', '-m owner --uid-owner 0 -j ACCEPT', '-i lo -j ACCEPT', '-o lo -j ACCEPT', '-m addrtype --src-type LOCAL --limit-iface-in -j ACCEPT',
  '-m addrtype --src-type LOCAL --limit-iface-out -j ACCEPT', '-m rpfilter -j ACCEPT', '-m socket -j ACCEPT', '-m physdev --physdev-out eth0 -j ACCEPT',
  '-m policy --dir in --pol none -j ACCEPT', '-m policy --dir out --pol none -j ACCEPT', '-m cgroup --path / -j ACCEPT', '-m realm --realm 1 -j ACCEPT',
  '-m devgroup --src-group 1 -j ACCEPT', '-m conntrack --ctstate NEW -j ACCEPT', '-m mark --mark 0x3/0x1 -j ACCEPT', '-j MARK --set-xmark 0x6/0x2',
];

function saveText(table: string, chains: string[], rules: string[]): string {
  return [`*${table}`, ...BUILTIN[table].map((c) => `:${c} ACCEPT [0:0]`), ...chains.map((c) => `:${c} - [0:0]`), ...rules, 'COMMIT', ''].join('\n');
}

function placementCases(n: number): Case[] {
  const rnd = prng(41);
  const all: Case[] = [];
  for (const body of BODIES) {
    for (const table of Object.keys(BUILTIN)) {
      const chains = BUILTIN[table];
      for (const c of chains) {
        all.push({ id: '', group: 'placement', kind: 'direct', what: `${table} ${c}: ${body}`, text: saveText(table, [], [`-A ${c} ${body}`]), family: 'ip' });
        all.push({ id: '', group: 'placement', kind: 'user-chain', what: `${table} ${c} -> X: ${body}`, text: saveText(table, ['X'], [`-A ${c} -j X`, `-A X ${body}`]), family: 'ip' });
        const other = chains.filter((x) => x !== c);
        const o = other[Math.floor(rnd() * other.length)];
        if (o) all.push({ id: '', group: 'placement', kind: 'two-hooks', what: `${table} ${c},${o} -> X -g Y: ${body}`, text: saveText(table, ['X', 'Y'], [`-A ${c} -j X`, `-A ${o} -j X`, '-A X -g Y', `-A Y ${body}`]), family: 'ip' });
      }
      all.push({ id: '', group: 'placement', kind: 'unreferenced', what: `${table} (no hook) X: ${body}`, text: saveText(table, ['X'], [`-A X ${body}`]), family: 'ip' });
    }
  }
  return shuffle(all, rnd).slice(0, n).map((c, i) => ({ ...c, id: `placement#${i + 1}` }));
}

function graphCases(): Case[] {
  const out: Case[] = [];
  const add = (kind: string, what: string, table: string, chains: string[], rules: string[]) =>
    out.push({ id: `graph#${out.length + 1}`, group: 'graph', kind, what, text: saveText(table, chains, rules), family: 'ip' });
  for (const table of ['filter', 'nat', 'mangle', 'raw']) {
    const b = BUILTIN[table][0];
    add('undefined', `${table}: jump to undeclared`, table, [], [`-A ${b} -j NFLF-MISSING`]);
    add('undefined', `${table}: goto to undeclared`, table, ['A'], [`-A ${b} -j A`, '-A A -g NFLF-MISSING']);
    add('undefined', `${table}: lowercase verdict`, table, [], [`-A ${b} -j accept`]);
    add('declared', `${table}: jump to declared empty chain`, table, ['A'], [`-A ${b} -j A`]);
    for (let len = 1; len <= 4; len++) {
      const names = Array.from({ length: len }, (_, i) => `L${i}`);
      const rules = names.map((n, i) => `-A ${n} -${i % 2 ? 'g' : 'j'} ${names[(i + 1) % len]}`);
      add('loop', `${table}: loop of ${len}`, table, names, [`-A ${b} -j L0`, ...rules]);
      add('loop-unreached', `${table}: loop of ${len} nothing jumps to`, table, names, rules);
      add('chain', `${table}: chain of ${len} (no loop)`, table, names, [`-A ${b} -j L0`, ...names.slice(0, -1).map((n, i) => `-A ${n} -j ${names[i + 1]}`)]);
    }
    for (const bi of BUILTIN[table].slice(0, 2)) add('jump-to-builtin', `${table}: jump to ${bi}`, table, ['A'], [`-A A -j ${bi}`]);
    add('diamond', `${table}: diamond`, table, ['A', 'B', 'C'], [`-A ${b} -j A`, `-A ${b} -j B`, '-A A -j C', '-A B -j C', '-A C -j RETURN']);
  }
  return out;
}

function nftCases(): Case[] {
  const out: Case[] = [];
  const add = (kind: string, what: string, text: string) => out.push({ id: `nft#${out.length + 1}`, group: 'nft', kind, what, text, family: 'ip', nft: true });
  const hooks = ['prerouting', 'input', 'forward', 'output', 'postrouting'];
  const stmts = ['tcp dport 80 dnat to 10.0.0.1', 'masquerade', 'tcp dport 80 redirect to :8080', 'snat to 10.0.0.1', 'accept', 'meta mark set 0x1', 'ct mark set mark and 0x3',
    'reject', 'fib saddr . iif oif missing drop', 'fib daddr . oif type local accept', 'fib daddr type local accept', 'socket transparent 1 accept', 'meta skuid 0 accept', 'oifname "lo" accept', 'tcp dport 80 tproxy to :3128'];
  for (const type of ['filter', 'nat']) {
    for (const hook of hooks) {
      if (type === 'nat' && hook === 'forward') continue;
      for (const s of stmts) {
        add('base', `${type} ${hook}: ${s}`, `table ip t {\n\tchain c {\n\t\ttype ${type} hook ${hook} priority 0; policy accept;\n\t\t${s}\n\t}\n}\n`);
        add('via-jump', `${type} ${hook} -> sub: ${s}`, `table ip t {\n\tchain c {\n\t\ttype ${type} hook ${hook} priority 0; policy accept;\n\t\tjump sub\n\t}\n\tchain sub {\n\t\t${s}\n\t}\n}\n`);
      }
    }
  }
  add('loop', 'jump loop', 'table ip t {\n\tchain c {\n\t\ttype filter hook input priority 0; policy accept;\n\t\tjump a\n\t}\n\tchain a {\n\t\tjump b\n\t}\n\tchain b {\n\t\tjump a\n\t}\n}\n');
  add('undefined', 'jump to undefined chain', 'table ip t {\n\tchain c {\n\t\ttype filter hook input priority 0; policy accept;\n\t\tjump nope\n\t}\n}\n');
  add('ok', 'jump to defined chain', 'table ip t {\n\tchain c {\n\t\ttype filter hook input priority 0; policy accept;\n\t\tjump a\n\t}\n\tchain a {\n\t\taccept\n\t}\n}\n');
  return out;
}

const NET_NETWORK = [
  'examples_ferm/dsl_router.ferm.iptables-save', 'examples_ferm/dmz_router.ferm.iptables-save', 'config_kornwall/iptables-save',
  'config_home_user/typical_home_user_iptables-save', 'config_memphis_testbed/iptables-save', 'configs_sqrl_shorewall/2015_aug_iptables-save',
  'configs_synology_diskstation_ds414/iptables-save_jul_2016', 'configs_corny_docker/iptables-save.topos4.1', 'majek_dump_vpn/vpn/iptables.up.rules',
];
const MOBY = [
  'hairpin=false,internal=false,icc=true,masq=true,snat=true,gwm=nat,bindlh=true,wsl2mirrored=true__iptables.golden',
  'hairpin=false,internal=false,icc=false,masq=false,snat=false,gwm=nat,bindlh=false__ip6tables.golden',
  'hairpin=true,internal=false,icc=true,masq=true,snat=false,gwm=nat-unprotected,bindlh=false__iptables.golden',
  'hairpin=false,internal=true,icc=true,masq=true,snat=true,gwm=routed,bindlh=false__iptables.golden',
];

function mutationCases(perKind: number): Case[] {
  const files: SaveFile[] = [];
  for (const f of NET_NETWORK) {
    try { files.push({ name: `net-network/${f}`, text: readFileSync(join(corpus, 'net-network', f), 'utf8'), family: 'ip' }); } catch { /* corpus absent */ }
  }
  for (const f of MOBY) {
    try { files.push({ name: `moby/${f}`, text: readFileSync(join(corpus, 'moby/iptabler-save', f), 'utf8'), family: f.includes('ip6tables') ? 'ip6' : 'ip' }); } catch { /* */ }
  }
  return generateMutations(files, { seed: 4404, perKind }).map((m) => ({
    id: m.id, group: ANALYSIS_KINDS.has(m.kind) ? 'mutation' : 'mutation-parser', kind: m.kind, what: `${m.file} ${m.what}`, text: m.text, family: m.family,
  }));
}

class NftLoader {
  private ns: Netns | undefined;
  private used = 0;
  constructor(readonly prefix: string) {}
  load(text: string): LoadResult {
    if (!this.ns || this.used++ >= 60) { this.ns?.delete(); this.ns = new Netns(this.prefix); this.used = 0; }
    const r = this.ns.run(['sh', '-c', 'nft -f -; rc=$?; nft flush ruleset >/dev/null 2>&1; exit $rc'], text);
    return { ok: r.status === 0, status: r.status, stderr: r.stderr ?? '' };
  }
  close() { this.ns?.delete(); }
}

function ours(c: Case): { error: boolean; diags: Diagnostic[]; crash?: string } {
  try {
    const { diagnostics } = checkText(c.text, c.nft ? { kind: 'nft' } : { family: c.family });
    return { error: diagnostics.some((d) => d.severity === 'error' && !NEVER_MATCHES_ERRORS.has(d.code)), diags: diagnostics };
  } catch (e) {
    return { error: true, diags: [], crash: String((e as Error)?.stack ?? e) };
  }
}

const skip = kernelAvailable().ok ? undefined : `kernel tests need root and a namespace: ${kernelAvailable().reason}`;
if (skip) console.log(`# analysis load agreement skipped: ${skip}`);

test('load-time errors: the kernel (real loads) and our "has an error" agree', { skip, timeout: 600_000 }, () => {
  const cases = [...placementCases(320), ...graphCases(), ...nftCases(), ...mutationCases(14)];
  const ipt = new IptablesLoader('nflf', 'nft', 60);
  const legacy = new IptablesLoader('nflf', 'legacy', 60);
  const nft = new NftLoader('nflf');
  const rows: { c: Case; k: LoadResult; legacy?: LoadResult; o: ReturnType<typeof ours> }[] = [];
  const t0 = Date.now();
  try {
    for (const c of cases) {
      const k = c.nft ? nft.load(c.text) : ipt.load(c.text, c.family);
      const lg = c.group === 'placement' ? legacy.load(c.text, c.family) : undefined;
      rows.push({ c, k, legacy: lg, o: ours(c) });
    }
  } finally {
    ipt.close();
    legacy.close();
    nft.close();
  }
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  const agree = (r: (typeof rows)[number]) => !r.k.ok === r.o.error;
  console.log(`# ${rows.length} rulesets, each really loaded into a scratch namespace (${secs} s)`);
  console.log('# group            n  kernel-refuses  we-error  agree   share');
  const groups = ['placement', 'graph', 'nft', 'mutation', 'mutation-parser'] as const;
  for (const g of groups) {
    const rs = rows.filter((r) => r.c.group === g);
    if (!rs.length) continue;
    const a = rs.filter(agree).length;
    console.log(`# ${g.padEnd(15)} ${String(rs.length).padStart(4)} ${String(rs.filter((r) => !r.k.ok).length).padStart(15)} ${String(rs.filter((r) => r.o.error).length).padStart(9)} ${String(a).padStart(6)}  ${((a / rs.length) * 100).toFixed(1)}%`);
  }
  const total = rows.filter(agree).length;
  const structural = rows.filter((r) => r.c.group !== 'mutation-parser');
  const sAgree = structural.filter(agree).length;
  console.log(`# AGREEMENT (nf_tables backend), all: ${total}/${rows.length} = ${((total / rows.length) * 100).toFixed(1)}%`);
  console.log(`# AGREEMENT on what the analyses decide (placement, chain graph, nft, chain/target mutations): ${sAgree}/${structural.length} = ${((sAgree / structural.length) * 100).toFixed(1)}%`);
  console.log(`# (errors left out of "has a load-time error" because they mean "never matches": ${[...NEVER_MATCHES_ERRORS].join(', ')})`);
  const dis = rows.filter((r) => !agree(r));
  console.log(`# ${dis.length} disagreements:`);
  for (const r of dis) {
    const errs = r.o.diags.filter((d) => d.severity === 'error').slice(0, 2).map((d) => `${d.range.start.line + 1}: ${d.code}: ${d.message}`);
    console.log(`#   [${r.c.id} ${r.c.kind}] ${r.c.what.slice(0, 200)}`);
    console.log(`#       kernel: ${r.k.ok ? 'accepted' : `refused: ${r.k.stderr.split('\n').filter(Boolean).slice(0, 2).join(' | ').slice(0, 200)}`}; ours: ${r.o.crash ? 'CRASH' : errs.length ? errs.join(' | ').slice(0, 300) : 'no error'}`);
  }
  const split = rows.filter((r) => r.legacy && r.legacy.ok !== r.k.ok);
  console.log(`# legacy backend differs from nf_tables on ${split.length} placement rulesets (reported, not judged):`);
  for (const r of split.slice(0, 40)) console.log(`#   ${r.c.what} — nf_tables ${r.k.ok ? 'accepts' : 'refuses'}, legacy ${r.legacy!.ok ? 'accepts' : 'refuses'}`);

  assert.ok(rows.length >= 500, `only ${rows.length} rulesets`);
  assert.deepEqual(rows.filter((r) => r.o.crash).map((r) => r.c.id), [], 'checkText threw');
  assert.ok(structural.length >= 500, `only ${structural.length} rulesets judged by the analyses`);
  assert.ok(sAgree / structural.length >= 0.98, `agreement ${((sAgree / structural.length) * 100).toFixed(1)}% below 98% on what the analyses decide; disagreements listed above`);
});
