// The istio sidecar seed's dead rule, checked by the kernel: ISTIO_OUTPUT rule 7
// (`-o lo -p tcp ! --dport 53 -m owner ! --gid-owner 1337 -j RETURN`) is covered by rules 4 and 5
// together (the owner match as xt_owner evaluates it). The nat rules are loaded into a scratch
// namespace, local TCP connections are made as several uid/gid pairs (setpriv), and the counters read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { checkText } from '../../server/src/check';
import { parseRuleset } from '../../server/src/parse';
import { Netns, kernelAvailable } from '../support/netns';

const text = readFileSync(fileURLToPath(new URL('../../examples/istio-sidecar.iptables', import.meta.url)), 'utf8');

const skip = !kernelAvailable().ok ? `kernel tests need root: ${kernelAvailable().reason}` : spawnSync('sh', ['-c', 'command -v setpriv']).status !== 0 ? 'setpriv not installed' : undefined;

test('istio sidecar: the rule flagged redundant counts no packet while the rules covering it do', { skip, timeout: 120_000 }, () => {
  const d = checkText(text).diagnostics.find((x) => x.code === 'redundant-rule' && x.related && x.related.length > 1);
  assert.ok(d, 'the analysis flags the rule');
  const rs = parseRuleset(text);
  const nat = rs.tables.find((t) => t.name === 'nat')!;
  const chain = nat.chains.find((c) => c.rules.some((r) => r.range.start.line === d.range.start.line))!;
  const idx = chain.rules.findIndex((r) => r.range.start.line === d.range.start.line);
  const coverIdx = d.related!.map((r) => chain.rules.findIndex((x) => x.range.start.line === r.range.start.line));
  const ns = new Netns('nflf');
  try {
    ns.must(['ip', 'addr', 'add', '10.77.0.1/32', 'dev', 'lo']);
    const all = text.split('\n');
    const from = all.findIndex((l) => l.includes('iptables -S -t nat')) + 1;
    const to = all.findIndex((l, i) => i >= from && l.startsWith('#'));
    const natLines = all.slice(from, to < 0 ? undefined : to).filter((l) => /^-[NAP] /.test(l));
    for (const l of natLines) ns.must(['sh', '-c', `iptables -t nat ${l}`]);
    // Local connections through lo as different owners, to several ports and destinations.
    const owners = [['1337', '1337'], ['1337', '0'], ['0', '1337'], ['1000', '1000'], ['0', '0']];
    const targets = ['127.0.0.1/80', '127.0.0.1/53', '10.77.0.1/8080', '10.77.0.1/53', '10.77.0.1/15020', '127.0.0.6/443'];
    for (const [u, g] of owners) {
      for (const t of targets) {
        ns.run(['setpriv', `--reuid=${u}`, `--regid=${g}`, '--clear-groups', 'timeout', '1', 'bash', '-c', `exec 3<>/dev/tcp/${t.replace('/', '/')}`]);
      }
    }
    const counts = ns.must(['iptables-save', '-c', '-t', 'nat']).split('\n').filter((l) => l.includes(`-A ${chain.name} `)).map((l) => Number(/^\[(\d+)/.exec(l)![1]));
    console.log(`# ${chain.name} counters after ${owners.length * targets.length} local connections: ${counts.join(' ')}; flagged rule ${idx + 1}, covered by rules ${coverIdx.map((i) => i + 1).join(', ')}`);
    assert.equal(counts[idx], 0, `rule ${idx + 1} counted packets`);
    assert.ok(coverIdx.filter((i) => counts[i] > 0).length >= 2, 'the covering rules counted the packets');
  } finally {
    ns.delete();
  }
});
