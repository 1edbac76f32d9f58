import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkOne, fuzz } from './mutate';

const COUNT = Number(process.env.NFLENS_FUZZ_COUNT ?? 5000);

test(`mutation fuzzing of the corpora: ${COUNT} inputs parse and analyse without throwing`, () => {
  const t0 = performance.now();
  const r = fuzz(COUNT, 1);
  console.log(`fuzz: ${r.runs} inputs in ${((performance.now() - t0) / 1000).toFixed(1)} s, ${r.failures.length} failures; mutators used: ${JSON.stringify(r.byMutator)}`);
  for (const f of r.failures.slice(0, 5)) console.log(`seed ${f.seed} (${f.mutator}): ${f.problem}\n${f.input.slice(0, 400)}`);
  assert.equal(r.failures.length, 0);
});

test('property: arbitrary strings and line soups never break the parser', () => {
  const line = fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.constantFrom('*filter', '*nat', 'COMMIT', ':INPUT ACCEPT [0:0]', ':X - [0:0]', '-A X -j Y', 'table ip t {', '}', 'chain c {', 'type filter hook input priority 0;', 'define x = 1', '-P INPUT DROP', '! -s', '"', '{', '[1:2]'),
  );
  fc.assert(
    fc.property(fc.array(line, { maxLength: 40 }), fc.constantFrom('\n', '\r\n'), (lines, nl) => {
      const problem = checkOne(lines.join(nl));
      assert.equal(problem, undefined);
    }),
    { numRuns: 1000, seed: 42 },
  );
});
