// The walk decides a rule whose first test is one IPv4 prefix (`-d VIP/32`, `! -s NET/LEN`) inline,
// from per-chain arrays, before the rule's matcher runs. Checked here against an oracle written from
// scratch (prefix arithmetic on the rule's own parts): every step's result and failing option, over
// random chains (every prefix length, negation, later options) and random packets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRuleset } from '../../server/src/parse';
import { parsePacket } from '../../server/src/sim/packet';
import { walk } from '../../server/src/sim/walk';
import { rng } from './ruleset-gen';

interface Opt { text: string; holds: (p: Pkt) => boolean }
interface Pkt { src: number; dst: number; proto: string; dport: number; iif: string }

const ip = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
const inPrefix = (a: number, net: number, len: number) => len === 0 || (a >>> (32 - len)) === (net >>> (32 - len));

test('inline IPv4 first tests give the same steps as the oracle (2 000 walks over random chains)', () => {
  const r = rng(4242);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  // Addresses from a few /24s, so prefixes of every length both hold and fail.
  const bases = [0x0a600000, 0x0a600100, 0x0af40000, 0xc0a80100];
  const addr = () => (pick(bases) + Math.floor(r() * 4)) >>> 0;
  let fastFails = 0, matches = 0, laterFails = 0, walks = 0;
  for (let round = 0; round < 40; round++) {
    const rules: Opt[][] = [];
    const lines: string[] = [];
    for (let i = 0; i < 60; i++) {
      const len = pick([0, 8, 16, 23, 24, 30, 31, 32]);
      const a = addr();
      const net = len === 0 ? 0 : ((a >>> (32 - len)) << (32 - len)) >>> 0;
      const side = pick(['-s', '-d'] as const);
      const neg = r() < 0.3;
      const first: Opt = {
        text: `${neg ? '! ' : ''}${side} ${ip(net)}/${len}`,
        holds: (p) => inPrefix(side === '-s' ? p.src : p.dst, net, len) !== neg,
      };
      const opts: Opt[] = [first];
      const more: string[] = [];
      if (r() < 0.5) {
        const port = pick([53, 80, 443]);
        opts.push({ text: '-p tcp', holds: (p) => p.proto === 'tcp' }, { text: `--dport ${port}`, holds: (p) => p.dport === port });
        more.push('-p tcp', `-m tcp --dport ${port}`);
      } else if (r() < 0.5) {
        const dev = pick(['eth0', 'eth1']);
        opts.push({ text: `-i ${dev}`, holds: (p) => p.iif === dev });
        more.push(`-i ${dev}`);
      }
      rules.push(opts);
      lines.push(`-A INPUT ${first.text} ${more.join(' ')} -j LOG`.replace(/\s+/g, ' '));
    }
    const rs = parseRuleset(['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ...lines, 'COMMIT', ''].join('\n'));
    assert.equal(rs.tables[0].chains.find((c) => c.name === 'INPUT')!.rules.length, 60);
    for (let k = 0; k < 50; k++) {
      const p: Pkt = { src: addr(), dst: addr(), proto: pick(['tcp', 'udp']), dport: pick([53, 80, 443]), iif: pick(['eth0', 'eth1']) };
      const pp = parsePacket(`${p.proto} ${ip(p.src)}:40000 -> ${ip(p.dst)}:${p.dport} iif ${p.iif} host ${ip(p.dst)}`);
      assert.deepEqual(pp.errors, []);
      const res = walk(rs, pp.packet!);
      walks++;
      const steps = res.steps.filter((s) => s.kind === 'rule' && s.chain === 'INPUT');
      assert.equal(steps.length, 60, 'LOG continues: every rule of INPUT is visited');
      steps.forEach((s, i) => {
        const failed = rules[i].find((o) => !o.holds(p));
        const where = `round ${round} packet ${k} rule ${i} (${lines[i]})`;
        assert.equal(s.ruleIndex, i, where);
        assert.equal(s.result, failed ? 'nomatch' : 'match', where);
        assert.equal(s.failed, failed?.text, where);
        assert.equal(s.action, failed ? '' : 'LOG', where);
        assert.equal(s.src, ip(p.src));
        if (!failed) matches++;
        else if (failed === rules[i][0]) fastFails++;
        else laterFails++;
      });
      // A step's JSON is the fields it reads (getters), nothing else.
      const j = JSON.parse(JSON.stringify(steps[0]));
      assert.deepEqual(Object.keys(j).sort(), Object.keys(j).filter((x) => j[x] !== undefined).sort());
      assert.equal(j.failed, steps[0].failed);
      assert.equal(j.line, steps[0].line);
    }
  }
  console.log(`fast path: ${walks} walks, ${fastFails} rule steps failed at the inline test, ${laterFails} later, ${matches} matched`);
  assert.ok(fastFails > 1000 && laterFails > 100 && matches > 100, 'the random chains exercise every branch');
});
