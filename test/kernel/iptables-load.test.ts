// The kernel as judge for the iptables parser (issue 2): real corpus files and single-token
// mutations of them are loaded for real (`iptables-restore FILE`, not `--test`) into scratch
// namespaces, and the kernel's accept/reject is compared with our "has an error".
//
// Judged by the nf_tables backend (`iptables-restore`, the default here and what users run). The
// legacy backend is loaded too and only reported. Seen here: legacy refuses a policy on a user chain,
// a chain declared twice, TCPMSS without a SYN match and `! -p tcp -m tcp --dport N`, which nf_tables
// takes; nf_tables refuses a jump loop placed after an unconditional verdict, which legacy's loop
// walk never reaches. Those rows are listed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { checkText } from '../../server/src/check';
import type { Diagnostic } from '../../server/src/model/ruleset';
import { IptablesLoader, kernelAvailable, type LoadResult } from '../support/netns';
import { generateMutations, prng, shuffle, MUTATION_KINDS, type SaveFile, type Mutation } from './mutations';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const corpus = resolve(repoRoot, '../shared/corpora/real-iptables');

/** Agreement share the test insists on: 459/459 measured once the three open decisions were settled by
 *  the kernel (near-miss module names are errors; duplicate `:X` and user-chain policies are warnings). */
const MIN_AGREEMENT = 0.98;
const PER_KIND = 20;

// net-network files that a kernel takes as they are. Left out: anonymized MACs and addresses
// (`<private_ip>`), an ipset set that does not exist here, CRLF line ends (config_vsrv), and
// configs_ipv6_server/webserver (line 46 refused).
const NET_NETWORK = [
  'examples_ferm/dsl_router.ferm.iptables-save',
  'examples_ferm/dmz_router.ferm.iptables-save',
  'examples_ferm/webserver.ferm.iptables-save',
  'config_kornwall/iptables-save',
  'config_home_user/typical_home_user_iptables-save',
  'config_memphis_testbed/iptables-save',
  'config_eduroam_laptop/iptables-save',
  'configs_sqrl_shorewall/2015_aug_iptables-save',
  'configs_synology_diskstation_ds414/iptables-save_jul_2016',
  'configs_synology_diskstation_ds414/ip6tables-save_jul_2016',
  'configs_ipv6_server/mailserver',
  'configs_ipv6_server/nat64-router-userspace',
  'configs_corny_docker/iptables-save.topos4.1',
  'configs_psa/2016/iptables-save.2016-07-07',
  'configs_tails_os/feature_various-firewall-hardening_ferm.conf.iptables-save',
  'majek_dump_vpn/vpn/iptables.up.rules',
];

function sampleFiles(): SaveFile[] {
  const dir = join(corpus, 'moby/iptabler-save');
  const all = readdirSync(dir).sort();
  const rnd = prng(2);
  const v4 = shuffle(all.filter((f) => f.endsWith('__iptables.golden')), rnd).slice(0, 12);
  const v6 = shuffle(all.filter((f) => f.endsWith('__ip6tables.golden')), rnd).slice(0, 6);
  const files: SaveFile[] = [...v4, ...v6].map((f) => ({
    name: `moby/iptabler-save/${f}`,
    text: readFileSync(join(dir, f), 'utf8'),
    family: f.endsWith('__ip6tables.golden') ? 'ip6' : 'ip',
  }));
  for (const f of NET_NETWORK) {
    files.push({ name: `net-network/${f}`, text: readFileSync(join(corpus, 'net-network', f), 'utf8'), family: /ip6|ipv6/.test(f) ? 'ip6' : 'ip' });
  }
  return files;
}

function ours(text: string, family: 'ip' | 'ip6'): { error: boolean; diags: Diagnostic[]; crash?: string } {
  try {
    const { diagnostics } = checkText(text, { family });
    return { error: diagnostics.some((d) => d.severity === 'error'), diags: diagnostics };
  } catch (e) {
    return { error: true, diags: [], crash: String((e as Error)?.stack ?? e) };
  }
}

function kernelSays(r: LoadResult): string {
  if (r.ok) return 'accepted';
  const lines = r.stderr.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('Try `'));
  return `refused: ${lines.slice(0, 3).join(' | ') || `exit ${r.status}`}`;
}

/** Why the kernel (or iptables-restore before it) refused, in a few words, to group disagreements. */
function refusalClass(stderr: string): string {
  const classes: [RegExp, string][] = [
    [/Too many links/, 'jump loop (kernel, ELOOP)'],
    [/RULE_APPEND failed \(Invalid argument\)|line \d+ failed$/m, 'kernel check refused the rule (hook/table/protocol, EINVAL)'],
    [/RULE_APPEND failed \(No such file/, 'jump to a chain that cannot be a target (ENOENT)'],
    [/Chain '.*' does not exist|Couldn't load target/, 'jump to an undeclared chain or unknown target'],
    [/Couldn't load match/, 'unknown match module'],
    [/unknown option|Unknown arg|Bad argument/, 'unknown option or stray argument'],
    [/multiple .* flags|only be used once|Only one/, 'option given twice'],
    [/cannot be inverted|unexpected ! flag|Invert/, 'negation not allowed here'],
    [/requires an argument|Bad value for .*""|["`]-[a-zA-Z]["']/, 'option value missing (next flag taken as value)'],
    [/IFNAMSIZ/, 'interface name too long'],
    [/host\/network|Bad IP address|Invalid address/, 'bad address'],
    [/invalid mask|out of range|not valid|invalid port|bad value|Bad value|Bad integer|bad integer/, 'number out of range or malformed'],
    [/requires '-p|needs `-p|only works with|requires a protocol/, 'option needs a protocol'],
    [/Can't use -[io] with/, '-i/-o in a built-in chain without that direction'],
    [/policy/i, 'bad policy'],
    [/COMMIT expected|table name|unable to initialize table|no command specified/, 'document structure (table/COMMIT)'],
  ];
  for (const [re, label] of classes) if (re.test(stderr)) return label;
  return stderr.split('\n').find((l) => l.trim() && !l.startsWith('Try `'))?.trim().slice(0, 80) ?? 'no message';
}

function oursSays(o: ReturnType<typeof ours>): string {
  if (o.crash) return `CRASH ${o.crash.split('\n')[0]}`;
  const errs = o.diags.filter((d) => d.severity === 'error');
  const shown = (errs.length ? errs : o.diags).slice(0, 4);
  const fmt = (d: Diagnostic) => `${d.range.start.line + 1}:${d.range.start.character + 1} ${d.severity} ${d.code}: ${d.message}`;
  if (!shown.length) return 'no diagnostics';
  return `${errs.length ? 'errors' : 'no error; other'}: ${shown.map(fmt).join(' | ')}${(errs.length || o.diags.length) > shown.length ? ' | ...' : ''}`;
}

const tools = ['iptables-restore', 'ip6tables-restore', 'iptables-legacy-restore', 'ip6tables-legacy-restore'];
function skipReason(): string | undefined {
  const k = kernelAvailable();
  if (!k.ok) return `kernel tests need root and a namespace: ${k.reason}`;
  for (const t of tools) if (spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0) return `${t} not installed`;
  return undefined;
}

const skip = skipReason();
if (skip) console.log(`# iptables kernel cross-check skipped: ${skip}`);

test('the sampled real iptables files load for real into a scratch namespace', { skip }, () => {
  const nft = new IptablesLoader('nflc', 'nft', 50);
  try {
    const files = sampleFiles();
    const refused: string[] = [];
    const flagged: string[] = [];
    for (const f of files) {
      const k = nft.load(f.text, f.family);
      const o = ours(f.text, f.family);
      if (!k.ok) refused.push(`${f.name}: ${kernelSays(k)}`);
      if (o.error) flagged.push(`${f.name}: ${oursSays(o)}`);
    }
    console.log(`# ${files.length} real files loaded for real (nf_tables backend): ${files.length - refused.length} accepted, we flag ${flagged.length} with an error`);
    for (const f of flagged) console.log(`#   we flag ${f}`);
    // Our errors on these count against the agreement share below (the corpus tests own "no error
    // on real files"); here the kernel's side is checked: the sample must really load.
    assert.deepEqual(refused, [], 'the kernel refused a sampled real file');
  } finally {
    nft.close();
  }
});

interface Row {
  m: Mutation | { id: string; kind: 'unmutated'; file: string; what: string };
  nft: LoadResult;
  legacy: LoadResult;
  o: ReturnType<typeof ours>;
}

test('single-token mutations: the kernel (real load) and our "has an error" agree', { skip, timeout: 600_000 }, () => {
  const files = sampleFiles();
  const muts = generateMutations(files, { seed: 20261128, perKind: PER_KIND });
  const nft = new IptablesLoader('nflc', 'nft', 50);
  const legacy = new IptablesLoader('nflc', 'legacy', 50);
  const rows: Row[] = [];
  const t0 = Date.now();
  try {
    // The unmodified files are controls: the kernel takes them, so we should report no error.
    for (const [i, f] of files.entries()) {
      rows.push({ m: { id: `unmutated#${i + 1}`, kind: 'unmutated', file: f.name, what: '(file as it is)' }, nft: nft.load(f.text, f.family), legacy: legacy.load(f.text, f.family), o: ours(f.text, f.family) });
    }
    for (const m of muts) rows.push({ m, nft: nft.load(m.text, m.family), legacy: legacy.load(m.text, m.family), o: ours(m.text, m.family) });
  } finally {
    nft.close();
    legacy.close();
  }
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  const agree = rows.filter((r) => !r.nft.ok === r.o.error);
  const share = agree.length / rows.length;

  console.log(`# ${files.length} real files and ${muts.length} mutations of them, each loaded for real with both backends (${secs} s)`);
  console.log('# kind                      n  kernel-refuses  we-error  agree');
  for (const kind of ['unmutated', ...MUTATION_KINDS]) {
    const rs = rows.filter((r) => r.m.kind === kind);
    if (!rs.length) continue;
    const c = (f: (r: Row) => boolean) => String(rs.filter(f).length);
    console.log(`# ${kind.padEnd(22)} ${String(rs.length).padStart(4)} ${c((r) => !r.nft.ok).padStart(15)} ${c((r) => r.o.error).padStart(9)} ${c((r) => !r.nft.ok === r.o.error).padStart(6)}`);
  }
  const tally = (kRef: boolean, weErr: boolean) => rows.filter((r) => !r.nft.ok === kRef && r.o.error === weErr).length;
  console.log(`# kernel refuses & we error ${tally(true, true)}, kernel accepts & no error ${tally(false, false)}, kernel refuses & we say nothing ${tally(true, false)}, kernel accepts & we error ${tally(false, true)}`);
  console.log(`# AGREEMENT (nf_tables backend): ${agree.length}/${rows.length} = ${(share * 100).toFixed(1)}%`);

  const dis = rows.filter((r) => !r.nft.ok !== r.o.error);
  if (dis.length) console.log(`# ${dis.length} disagreements:`);
  for (const r of dis) {
    console.log(`# [${r.m.id}] ${r.m.file}`);
    console.log(`#     ${r.m.what}`);
    console.log(`#     kernel: ${kernelSays(r.nft)}`);
    console.log(`#     ours:   ${oursSays(r.o)}`);
  }
  // Grouped: what the others should fix first.
  const groups = new Map<string, Row[]>();
  for (const r of dis) {
    const key = r.o.error
      ? `kernel accepts, we error: ${[...new Set(r.o.diags.filter((d) => d.severity === 'error').map((d) => d.code))].sort().join(',')}`
      : `kernel refuses, we say nothing: ${refusalClass(r.nft.stderr)}`;
    (groups.get(key) ?? groups.set(key, []).get(key)!).push(r);
  }
  console.log('# disagreements by cause:');
  for (const [key, rs] of [...groups].sort((a, b) => b[1].length - a[1].length)) {
    console.log(`#   ${String(rs.length).padStart(3)}  ${key}  (kinds: ${[...new Set(rs.map((r) => r.m.kind))].join(', ')}; e.g. ${rs[0].m.id})`);
  }
  const split = rows.filter((r) => r.nft.ok !== r.legacy.ok);
  console.log(`# backends differ on ${split.length} mutations (judged by nf_tables; legacy shown for issue 4):`);
  for (const r of split) {
    console.log(`#   [${r.m.id}] ${r.m.what}`);
    console.log(`#       nf_tables ${kernelSays(r.nft)}; legacy ${kernelSays(r.legacy)}; ours ${r.o.error ? 'error' : 'no error'}`);
  }

  assert.ok(muts.length >= 50, `only ${muts.length} mutations generated`);
  const crashes = rows.filter((r) => r.o.crash);
  assert.deepEqual(crashes.map((r) => `${r.m.id}: ${r.o.crash}`), [], 'checkText threw');
  assert.ok(share >= MIN_AGREEMENT, `agreement ${(share * 100).toFixed(1)}% is below ${MIN_AGREEMENT * 100}%; disagreements are listed above`);
});
