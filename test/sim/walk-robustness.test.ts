// The walk always ends with a verdict, whatever the ruleset: generated rulesets with their jump
// targets scrambled (loops, missing chains, gotos back), random packets, both unknown branches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRuleset } from '../../server/src/parse';
import { parsePacket } from '../../server/src/sim/packet';
import { walk, walkBranches } from '../../server/src/sim/walk';
import { generate, rng } from './ruleset-gen';
import { generateNft } from './nft-gen';

const VERDICTS = new Set(['ACCEPT', 'DROP', 'REJECT', 'QUEUE', 'NO-ROUTE', 'UNKNOWN', 'LOOP', 'STEP-LIMIT', 'ERROR']);

test('walks over 400 scrambled rulesets end, with a verdict the trace explains', () => {
  let ipid = 1, port = 20000, loops = 0, errors = 0, walks = 0;
  for (let seed = 1; seed <= 400; seed++) {
    const r = rng(seed * 7919);
    const g = seed % 2 ? generate(seed, () => ++ipid, () => ++port) : generateNft(seed, () => ++ipid, () => ++port);
    // Scramble: some jumps and gotos point back to their own chain or to a chain that does not exist.
    const text = g.text.replace(/(-[jg]|jump|goto) (U\d|u\d)/g, (m, verb, name) => {
      const x = r();
      return x < 0.15 ? `${verb} ${name === name.toUpperCase() ? 'U0' : 'u0'}` : x < 0.2 ? `${verb} NOPE` : m;
    });
    const rs = parseRuleset(text);
    for (const p of g.packets) {
      const pk = parsePacket(p.line).packet!;
      for (const res of [walk(rs, pk, { maxSteps: 5000 }), ...walkBranches(rs, pk, { maxSteps: 5000 }, 4).map((b) => b.result)]) {
        walks++;
        assert.ok(VERDICTS.has(res.verdict), res.verdict);
        if (res.verdict === 'LOOP' || res.verdict === 'STEP-LIMIT') loops++;
        if (res.verdict === 'ERROR') errors++;
        if (res.verdict !== 'ACCEPT') assert.ok(res.decidedAt !== undefined && res.decidedAt < res.steps.length, `seed ${seed}: ${res.verdict} without the deciding step`);
        assert.ok(res.steps.length <= 5000 + 200);
      }
    }
  }
  console.log(`robustness: ${walks} walks, ${loops} stopped as loops or at the step limit, ${errors} at a missing chain`);
  assert.ok(loops > 0 && errors > 0, 'the scrambling made loops and missing chains');
});
