import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { ResyncMessageReader } from '../../server/src/lsp/resync-reader';

function frame(obj: unknown, lengthDelta = 0): string {
  const body = JSON.stringify(obj);
  return `Content-Length: ${Buffer.byteLength(body) + lengthDelta}\r\n\r\n${body}`;
}

function run(chunks: string[]): { ids: unknown[]; errors: number } {
  const input = new PassThrough();
  const r = new ResyncMessageReader(input);
  const ids: unknown[] = [];
  let errors = 0;
  r.onError(() => errors++);
  r.listen((m) => ids.push((m as { id?: unknown }).id));
  for (const c of chunks) input.write(c);
  return { ids, errors };
}

const req = (id: number) => ({ jsonrpc: '2.0', id, method: 'workspace/symbol', params: { query: '' } });

test('well-formed frames, split anywhere, all arrive', () => {
  const all = [1, 2, 3].map((i) => frame(req(i))).join('');
  const chunks = [];
  for (let i = 0; i < all.length; i += 7) chunks.push(all.slice(i, i + 7));
  assert.deepEqual(run(chunks).ids, [1, 2, 3]);
});

test('a header with no body, then valid messages: the reader resynchronises', () => {
  const r = run(['Content-Length: 20\r\n\r\n', frame(req(1)), frame(req(2))]);
  assert.deepEqual(r.ids, [1, 2]);
  assert.ok(r.errors >= 1);
});

test('Content-Length too short, too long, missing or not a number', () => {
  assert.deepEqual(run([frame(req(9), -70), frame(req(1))]).ids, [1]);
  assert.deepEqual(run([frame(req(7), +400), frame(req(1)), frame(req(2))]).ids, [7, 1, 2]);
  assert.deepEqual(run(['Foo: bar\r\n\r\n{}', frame(req(1))]).ids, [1]);
  assert.deepEqual(run(['Content-Length: abc\r\n\r\n{}', frame(req(1))]).ids, [1]);
  assert.deepEqual(run(['Content-Length: 8\r\n\r\n{not js}', frame(req(1))]).ids, [1]);
});
