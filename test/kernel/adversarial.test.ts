// Adversarial rulesets (issue 7) judged by the kernel where it has a say: nested jump depth (nf_tables
// refuses 16), a goto into itself; and the walk ends on 10 000-deep chains and self-loops with a verdict.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkText } from '../../server/src/check';
import { parseRuleset } from '../../server/src/parse';
import { walk } from '../../server/src/sim/walk';
import { parsePacket } from '../../server/src/sim/packet';
import { kernelAvailable, Netns } from '../support/netns';
import { deepChain } from '../support/rulesets';

const k = kernelAvailable();

test('nested jump/goto depth: our error agrees with a real load (nf_tables backend)', { skip: k.ok ? false : k.reason }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'nfl-adv-'));
  const cases: [string, string][] = [];
  for (const depth of [14, 15, 16, 17, 40]) for (const verb of ['-j', '-g']) cases.push([`${verb} depth ${depth}`, deepChain(depth, verb)]);
  cases.push(['goto into itself', '*filter\n:INPUT ACCEPT [0:0]\n:X - [0:0]\n-A INPUT -j X\n-A X -g X\nCOMMIT\n']);
  cases.push(['jump into itself, unreferenced', '*filter\n:INPUT ACCEPT [0:0]\n:X - [0:0]\n-A X -j X\nCOMMIT\n']);
  let agree = 0;
  const rows: string[] = [];
  for (const [name, text] of cases) {
    const ns = new Netns('nfladv');
    try {
      const f = join(dir, 'r.rules');
      writeFileSync(f, text);
      const kernelOk = ns.run(['iptables-restore', f]).status === 0;
      const ours = checkText(text).diagnostics.filter((d) => d.severity === 'error');
      const same = kernelOk === (ours.length === 0);
      if (same) agree++;
      rows.push(`${same ? 'agree   ' : 'DISAGREE'} ${name}: kernel ${kernelOk ? 'loads' : 'refuses'}; ours ${ours.map((d) => d.code).join(',') || 'no error'}`);
    } finally {
      ns.delete();
    }
  }
  console.log(rows.join('\n'));
  console.log(`adversarial depth/loop cases: ${agree}/${cases.length} agree`);
  assert.equal(agree, cases.length);
});

test('the walk ends on a 10 000-deep goto chain, a 100 000-rule chain and a goto into itself', () => {
  const packet = parsePacket('tcp 10.0.0.1:1000 -> 10.0.0.2:80 iif eth0 host 10.0.0.2').packet!;
  const deep = walk(parseRuleset(deepChain(10_000, '-g')), packet);
  assert.equal(deep.verdict, 'ACCEPT');
  const long = ['*filter', ':INPUT DROP [0:0]'];
  for (let i = 0; i < 100_000; i++) long.push(`-A INPUT -s 192.0.2.${i % 250}/32 -p udp -j ACCEPT`);
  long.push('COMMIT', '');
  const t0 = performance.now();
  const r = walk(parseRuleset(long.join('\n')), packet, { maxSteps: 1_000_000 });
  console.log(`100 000-rule chain: verdict ${r.verdict}, ${r.steps.length} steps in ${(performance.now() - t0).toFixed(0)} ms`);
  assert.equal(r.verdict, 'DROP');
  const self = walk(parseRuleset('*filter\n:INPUT ACCEPT [0:0]\n:X - [0:0]\n-A INPUT -j X\n-A X -g X\nCOMMIT\n'), packet);
  assert.ok(['LOOP', 'STEP-LIMIT'].includes(self.verdict), self.verdict);
});
