// collectGarbage() turns on a full collection at run time (the server process is started without flags).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectGarbage } from '../../server/src/lsp/memory';

test('collectGarbage runs a full collection without --expose-gc on the command line', () => {
  assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined', 'this test must run without --expose-gc');
  assert.equal(collectGarbage(), true);
  const before = process.memoryUsage().heapUsed;
  // ~80 MB of old-generation garbage: kept across a few turns of allocation, then let go.
  let keep: { a: number; b: string }[][] | undefined = [];
  for (let i = 0; i < 40; i++) keep.push(Array.from({ length: 50_000 }, (_, k) => ({ a: k, b: 'x' + k })));
  const full = process.memoryUsage().heapUsed;
  assert.ok(full - before > 40e6, `allocated ${((full - before) / 1e6).toFixed(0)} MB`);
  keep = undefined;
  assert.equal(collectGarbage(), true);
  const after = process.memoryUsage().heapUsed;
  console.log(`heap: ${(before / 1e6).toFixed(0)} MB, with garbage ${(full / 1e6).toFixed(0)} MB, after collectGarbage ${(after / 1e6).toFixed(0)} MB`);
  assert.ok(after < before + 20e6, 'the garbage is gone');
});
