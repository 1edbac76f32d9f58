// `npm run fuzz [COUNT] [SEED]`: a long mutation-fuzzing run (default 100 000 inputs).
import { fuzz } from './mutate';

const count = Number(process.argv[2] ?? 100_000);
const seed = Number(process.argv[3] ?? Date.now() % 1_000_000);
const t0 = performance.now();
let shown = 0;
const r = fuzz(count, seed, (f) => {
  if (shown++ < 20) console.log(`FAIL seed ${f.seed} (${f.mutator}): ${f.problem}`);
});
console.log(`fuzz: ${r.runs} inputs from seed ${seed} in ${((performance.now() - t0) / 1000).toFixed(1)} s, ${r.failures.length} failures`);
process.exitCode = r.failures.length ? 1 : 0;
