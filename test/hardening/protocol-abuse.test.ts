// Protocol abuse (issue 7): the bundled server over stdio gets malformed JSON-RPC, unknown methods, positions
// outside the document, edits and closes racing requests on a large document, and cancellations. After each
// abuse it must still be alive and answer a real hover and definition correctly. What each case got is printed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { ensureBuilt, fileUri, find, LspClient, repoRoot, type Published } from '../lsp/lsp-client';

const ZT = 'examples/ztunnel-ambient.rules';

interface Wire {
  id?: string | number | null;
  method?: string;
  params?: any;
  result?: any;
  error?: { code: number; message: string };
}

/** Reads every frame the server writes, next to the client's own reader, so raw requests can be observed. */
class Tap {
  private buf = Buffer.alloc(0);
  readonly messages: Wire[] = [];
  private waiters: { pred: (m: Wire) => boolean; res: (m: Wire) => void }[] = [];

  constructor(c: LspClient) {
    c.proc.stdout!.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      for (;;) {
        const sep = this.buf.indexOf('\r\n\r\n');
        if (sep < 0) return;
        const len = Number(/Content-Length: *(\d+)/i.exec(this.buf.subarray(0, sep).toString('ascii'))?.[1]);
        if (this.buf.length < sep + 4 + len) return;
        const m = JSON.parse(this.buf.subarray(sep + 4, sep + 4 + len).toString('utf8')) as Wire;
        this.buf = this.buf.subarray(sep + 4 + len);
        this.messages.push(m);
        this.waiters = this.waiters.filter((w) => (w.pred(m) ? (w.res(m), false) : true));
      }
    });
  }

  /** The next message (from now on) that satisfies `pred`, or undefined after `ms`. */
  next(pred: (m: Wire) => boolean, ms = 10000): Promise<Wire | undefined> {
    return new Promise((res) => {
      const t = setTimeout(() => res(undefined), ms);
      this.waiters.push({ pred, res: (m) => { clearTimeout(t); res(m); } });
    });
  }

  reply(id: string, ms = 20000): Promise<Wire | undefined> {
    return this.next((m) => m.id === id && !m.method, ms);
  }
}

function frame(body: unknown): string {
  const b = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8');
  return `Content-Length: ${b.length}\r\n\r\n${b.toString('utf8')}`;
}

function show(label: string, v: unknown): void {
  const s = JSON.stringify(v) ?? String(v);
  console.log(`  [${label}] ${s.length > 300 ? s.slice(0, 300) + '…' : s}`);
}

/** A kube-proxy-shaped dump of `services` services (15 lines each) from the shared generator. */
function kubeDump(services: number): string {
  const r = spawnSync(process.execPath, [resolve(repoRoot, '../shared/tools/gen-kube.js'), String(services)], { encoding: 'utf8', maxBuffer: 1 << 30 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

describe('protocol abuse over stdio', () => {
  let c: LspClient;
  let tap: Tap;
  let zt: { uri: string; text: string; lines: string[] };
  let raw = 0;

  /** Sends a request as raw bytes (its own id space, so the client's reader ignores the reply). */
  function rawRequest(method: string, params: unknown): Promise<Wire | undefined> {
    const id = `raw-${++raw}`;
    const p = tap.reply(id);
    c.proc.stdin!.write(frame({ jsonrpc: '2.0', id, method, params }));
    return p;
  }

  /** The server is alive and answers a real hover and definition on the seed. */
  async function assertServing(after: string): Promise<void> {
    assert.equal(c.proc.exitCode, null, `server exited after ${after}; stderr: ${c.stderr}`);
    assert.equal(c.proc.signalCode, null, `server killed after ${after}`);
    const pos = find(zt.lines, '-j ztunnel-PREROUTING', 6, 0);
    const h = await Promise.race([
      c.request('textDocument/hover', { textDocument: { uri: zt.uri }, position: pos }),
      new Promise((_, rej) => setTimeout(() => rej(new Error(`no hover answer after ${after}`)), 15000)),
    ]);
    assert.match((h as any)?.contents?.value ?? '', /\*\*chain ztunnel-PREROUTING\*\* — table mangle, user-defined chain/, `hover after ${after}`);
    const d = await c.request('textDocument/definition', { textDocument: { uri: zt.uri }, position: pos });
    assert.deepEqual(d.map((l: any) => `${l.range.start.line}:${l.range.start.character}-${l.range.end.line}:${l.range.end.character}`), ['11:1-11:19'], `definition after ${after}`);
  }

  before(async () => {
    ensureBuilt();
    c = new LspClient();
    tap = new Tap(c);
    await c.initialize({ diagnosticsDelay: 50 });
    const diag = c.waitDiagnostics(fileUri(ZT));
    zt = c.openFile(ZT);
    await diag;
    await assertServing('start');
  });

  after(async () => {
    await c?.shutdown();
  });

  describe('malformed JSON-RPC', () => {
    it('a body that is not JSON gets a Parse error (-32700, id null) and the next message is served', async () => {
      for (const body of ['{not json', '{"jsonrpc":"2.0","id":"half","method":"textDocument/hover","params":{', '\u0000\u0001', '']) {
        const reply = tap.next((m) => !m.method && m.id === null, 2000);
        const bytes = Buffer.from(body, 'utf8');
        c.proc.stdin!.write(Buffer.concat([Buffer.from(`Content-Length: ${bytes.length}\r\n\r\n`), bytes]));
        const r = await reply;
        show(`body ${JSON.stringify(body).slice(0, 40)} → reply`, r ?? 'nothing');
        assert.equal(r?.error?.code, -32700, `a Parse error for ${JSON.stringify(body)}`);
        assert.equal(r!.id, null);
        await assertServing('a bad JSON body');
      }
    });

    it('a bad frame (no body, Content-Length too short or too long, missing or not a number) is dropped and the server resynchronises', async () => {
      const body = JSON.stringify({ jsonrpc: '2.0', id: 'frame-long', method: 'workspace/symbol', params: { query: 'ztunnel-FORWARD' } });
      const cases: [string, string][] = [
        ['header without body', 'Content-Length: 20\r\n\r\n'],
        ['Content-Length too short', `Content-Length: 5\r\n\r\n${JSON.stringify({ jsonrpc: '2.0', id: 'frame-short', method: 'workspace/symbol', params: { query: '' } })}`],
        ['no Content-Length', 'Foo: bar\r\n\r\n{}'],
        ['Content-Length not a number', 'Content-Length: abc\r\n\r\n{}'],
      ];
      for (const [label, bytes] of cases) {
        c.proc.stdin!.write(bytes);
        await assertServing(label);
      }
      // Too long: the message before the next header is still served once that header arrives.
      const late = tap.reply('frame-long');
      c.proc.stdin!.write(`Content-Length: ${Buffer.byteLength(body) + 400}\r\n\r\n${body}`);
      await assertServing('Content-Length too long');
      const r = await late;
      show('too-long frame, answered after the next message', r);
      assert.ok(Array.isArray(r?.result) && r!.result.some((x: any) => x.name === 'ztunnel-FORWARD'));
    });

    it('JSON that is no JSON-RPC message (object without method or id, array, null, a number) gets Invalid Request (-32600, id null); not fatal', async () => {
      for (const body of [{ hello: 1 }, [1, 2], [], 'null', '42', '"text"']) {
        const got = tap.next((m) => !m.method && m.id === null, 2000);
        c.proc.stdin!.write(frame(typeof body === 'string' ? body : JSON.stringify(body)));
        const r = await got;
        show(`body ${JSON.stringify(body)}`, r ?? 'nothing');
        assert.equal(r?.error?.code, -32600, `Invalid Request for ${JSON.stringify(body)}`);
        await assertServing(`body ${JSON.stringify(body)}`);
      }
      // A response to nothing the server asked (an id without a method) is no request: no reply, logged.
      const any = tap.next((m) => !m.method, 1000);
      c.proc.stdin!.write(frame({ jsonrpc: '2.0', id: 'no-method', result: 1 }));
      const r = await any;
      show('a response nobody asked for', r ?? 'nothing');
      assert.equal(r, undefined, 'no reply to a response');
      await assertServing('a stray response');
    });

    it('a request with params null or of the wrong shape gets Invalid params (-32602)', async () => {
      const pos = { line: 0, character: 0 };
      const doc = { uri: zt.uri };
      const cases: [string, unknown][] = [
        ['textDocument/hover', null],
        ['textDocument/hover', 'x'],
        ['textDocument/hover', { textDocument: 5, position: 'here' }],
        ['textDocument/hover', { textDocument: doc }],
        ['textDocument/hover', { textDocument: doc, position: { line: '0', character: 0 } }],
        ['textDocument/definition', null],
        ['textDocument/references', null],
        ['textDocument/documentHighlight', { position: pos }],
        ['textDocument/completion', null],
        ['textDocument/prepareRename', null],
        ['textDocument/rename', { textDocument: doc, position: pos }],
        ['textDocument/rename', null],
        ['textDocument/documentSymbol', null],
        ['textDocument/foldingRange', { textDocument: {} }],
        ['textDocument/semanticTokens/full', null],
        ['textDocument/codeLens', null],
        ['textDocument/codeAction', { textDocument: doc }],
        ['workspace/symbol', null],
        ['workspace/symbol', { query: 5 }],
        ['nflens/markMap', null],
        ['nflens/simulate', null],
      ];
      for (const [method, params] of cases) {
        const r = await rawRequest(method, params);
        show(`${method} params ${JSON.stringify(params)}`, r?.error ?? r?.result);
        assert.equal(r?.error?.code, -32602, `${method} ${JSON.stringify(params)}: Invalid params, got ${JSON.stringify(r)}`);
      }
      // Notifications with params null (the library reads $/cancelRequest's params.id at once): dropped, no reply.
      const any = tap.next((m) => !m.method, 1000);
      for (const method of ['$/cancelRequest', 'textDocument/didOpen', 'textDocument/didChange', 'textDocument/didClose']) {
        c.proc.stdin!.write(frame({ jsonrpc: '2.0', method, params: null }));
      }
      assert.equal(await any, undefined, 'no reply to a notification');
      await assertServing('requests with bad params');
    });
  });

  describe('large messages', () => {
    it('a 64 MB message is read in linear time: the request after it is answered within seconds', async () => {
      // The stdio reader used to copy the whole pending frame on every 64 KiB chunk: 32 MB took 16 s, 82 MB 100 s.
      const big = JSON.stringify({ jsonrpc: '2.0', method: 'nflens/doesNotExist', params: { text: 'x'.repeat(64 * 1024 * 1024) } });
      const t0 = performance.now();
      c.proc.stdin!.write(`Content-Length: ${Buffer.byteLength(big)}\r\n\r\n`);
      c.proc.stdin!.write(big);
      const r = await rawRequest('workspace/symbol', { query: 'ztunnel-FORWARD' });
      const ms = performance.now() - t0;
      show('request after a 64 MB notification', { ms: Math.round(ms), symbols: r?.result?.length });
      assert.ok(Array.isArray(r?.result) && r!.result.some((x: any) => x.name === 'ztunnel-FORWARD'));
      assert.ok(ms < 8000, `answered within 8 s: ${ms.toFixed(0)} ms`);
      await assertServing('a 64 MB message');
    });
  });

  describe('unknown methods', () => {
    it('an unknown request gets MethodNotFound', async () => {
      const r = await rawRequest('nflens/doesNotExist', { x: 1 });
      show('unknown request', r);
      assert.equal(r?.error?.code, -32601);
      await assertServing('an unknown request');
    });

    it('an unknown notification (and an unknown $/ notification) is ignored: no reply', async () => {
      const any = tap.next((m) => !m.method || m.method === 'window/logMessage', 1000);
      c.proc.stdin!.write(frame({ jsonrpc: '2.0', method: 'nflens/doesNotExist', params: {} }));
      c.proc.stdin!.write(frame({ jsonrpc: '2.0', method: '$/nflensUnknown', params: {} }));
      const got = await any;
      show('unknown notifications → message back within 1 s', got ?? 'nothing');
      assert.equal(got?.id, undefined, 'no response to a notification');
      await assertServing('unknown notifications');
    });
  });

  describe('document sync out of order', () => {
    it('didChange/didClose of an unopened URI, a second didOpen, an edit range past the end: no crash, the text stays coherent', async () => {
      const uri = 'untitled:sync-abuse.rules';
      const text = '*filter\n:INPUT ACCEPT [0:0]\n:A - [0:0]\n-A INPUT -j A\nCOMMIT\n';
      await c.conn.sendNotification('textDocument/didChange', { textDocument: { uri: 'untitled:never.rules', version: 2 }, contentChanges: [{ text: 'x' }] });
      await c.conn.sendNotification('textDocument/didClose', { textDocument: { uri: 'untitled:never.rules' } });
      await assertServing('didChange/didClose of an unopened URI');
      await c.open(uri, '*nat\nCOMMIT\n', 'iptables', 1);
      const second = c.waitDiagnostics(uri, (p) => p.version === 5);
      await c.open(uri, text, 'iptables', 5);
      show('diagnostics after a second didOpen', await second);
      const h = await c.request('textDocument/hover', { textDocument: { uri }, position: { line: 3, character: 12 } });
      show('hover after a second didOpen', h?.contents?.value);
      assert.match(h?.contents?.value ?? '', /\*\*chain A\*\* — table filter, user-defined chain/);
      // An incremental edit whose range lies past the end: the document model clamps it to the end.
      const past = { line: 99, character: 99 };
      const appended = c.waitDiagnostics(uri, (p) => p.version === 6);
      await c.conn.sendNotification('textDocument/didChange', { textDocument: { uri, version: 6 }, contentChanges: [{ range: { start: past, end: past }, text: '-A INPUT -j B\n' }] });
      const v6 = await appended;
      show('diagnostics after an edit past the end', v6);
      // The rule landed after COMMIT, at the end (line 5): it is reported there.
      assert.ok(v6.diagnostics.some((d) => d.range.start.line === 5), 'the appended line is analysed');
      const h2 = await c.request('textDocument/hover', { textDocument: { uri }, position: { line: 3, character: 12 } });
      assert.match(h2?.contents?.value ?? '', /\*\*chain A\*\*/);
      await c.conn.sendNotification('textDocument/didClose', { textDocument: { uri } });
      await assertServing('out-of-order document sync');
    });
  });

  describe('positions outside the document', () => {
    const methods = ['textDocument/hover', 'textDocument/definition', 'textDocument/references', 'textDocument/documentHighlight', 'textDocument/completion', 'textDocument/prepareRename', 'textDocument/rename'];

    it('past the end, past the line end, negative, and on an unopened URI: empty results or errors', async () => {
      const last = zt.lines.length - 1;
      const cases: [string, string, { line: number; character: number }][] = [
        ['past the last line', zt.uri, { line: last + 1000, character: 0 }],
        ['far past everything', zt.uri, { line: 2 ** 31 - 1, character: 2 ** 31 - 1 }],
        ['past the end of line 0', zt.uri, { line: 0, character: 10000 }],
        ['negative line', zt.uri, { line: -1, character: 0 }],
        ['negative character', zt.uri, { line: 12, character: -5 }],
        ['fractional', zt.uri, { line: 12.5, character: 3.25 }],
        ['unopened URI', 'file:///nowhere/never-opened.rules', { line: 0, character: 0 }],
      ];
      for (const [label, uri, position] of cases) {
        for (const method of methods) {
          const params: any = { textDocument: { uri }, position, context: { includeDeclaration: true }, newName: 'X' };
          const r = await rawRequest(method, params);
          show(`${label} ${method}`, r?.error ?? r?.result);
          assert.ok(r, `${method} ${label}: a reply`);
          if (r.error) continue;
          const v = r.result;
          const empty = v === null || (Array.isArray(v) && v.length === 0) || (method === 'textDocument/rename' && v && Object.values(v.changes ?? {}).every((e: any) => e.length === 0));
          assert.ok(empty, `${method} ${label}: empty result or error, got ${JSON.stringify(v).slice(0, 200)}`);
        }
      }
      for (const method of ['textDocument/documentSymbol', 'textDocument/foldingRange', 'textDocument/semanticTokens/full']) {
        const r = await rawRequest(method, { textDocument: { uri: 'file:///nowhere/never-opened.rules' } });
        show(`unopened URI ${method}`, r?.error ?? r?.result);
        assert.ok(r && (r.error || r.result === null || (Array.isArray(r.result) && !r.result.length) || r.result?.data?.length === 0), `${method}: ${JSON.stringify(r)}`);
      }
      await assertServing('out-of-range positions');
    });
  });

  describe('races on a large document', () => {
    let big: string;
    before(() => {
      big = kubeDump(2000);
      console.log(`  large document: ${big.split('\n').length} lines, ${(big.length / 1e6).toFixed(1)} MB`);
    });

    it('didChange while a hover runs: the hover answers, and the next hover sees the new text', async () => {
      const uri = 'untitled:race-change.rules';
      const lines = big.split('\n');
      const pos = find(lines, '-j KUBE-SERVICES', 4, 0);
      await c.open(uri, big, 'iptables', 1);
      const t0 = Date.now();
      const h1 = c.request('textDocument/hover', { textDocument: { uri }, position: pos });
      const d1 = c.request('textDocument/definition', { textDocument: { uri }, position: pos });
      // The edit renames the chain's declaration while the requests on version 1 are in flight.
      const renamed = big.replace(':KUBE-SERVICES - [0:0]', ':KUBE-RENAMED - [0:0]');
      const published = c.published.length;
      await c.change(uri, 2, renamed);
      const [r1, r2] = await Promise.all([h1, d1]);
      show('hover sent before the edit', { ms: Date.now() - t0, value: r1?.contents?.value?.slice(0, 120) });
      show('definition sent before the edit', r2);
      assert.match(r1?.contents?.value ?? '', /\*\*chain KUBE-SERVICES\*\*/);
      const h2 = await c.request('textDocument/hover', { textDocument: { uri }, position: pos });
      show('hover after the edit', h2?.contents?.value?.slice(0, 160));
      // In version 2 the filter table no longer declares KUBE-SERVICES: no definition there.
      const d2 = await c.request('textDocument/definition', { textDocument: { uri }, position: pos });
      show('definition after the edit', d2);
      assert.equal(d2.length, 0, `no declaration left in the filter table: ${JSON.stringify(d2)}`);
      // Version 2's diagnostics may already be out (they run between the requests): look back first.
      const v2 = (p: Published) => p.uri === uri && p.version === 2;
      const diag = c.published.slice(published).find(v2) ?? (await c.waitDiagnostics(uri, v2, 60000));
      await new Promise((r) => setTimeout(r, 500));
      const mine = c.published.slice(published).filter((p) => p.uri === uri);
      show('diagnostics after the edit (version: count)', mine.map((p) => `${p.version}: ${p.diagnostics.length}`));
      assert.equal(mine[mine.length - 1].version, 2, 'the replaced version is never published after the new one');
      assert.ok(diag.diagnostics.some((d) => d.code === 'undefined-chain' && d.range.start.line === pos.line), 'the jump to the renamed chain is reported');
      await c.conn.sendNotification('textDocument/didClose', { textDocument: { uri } });
      await assertServing('didChange during a request');
    });

    it('didClose right after didOpen of the large document: no stale diagnostics, requests on it are empty', async () => {
      const uri = 'untitled:race-close.rules';
      const before = c.published.length;
      await c.open(uri, big, 'iptables', 1);
      await c.conn.sendNotification('textDocument/didClose', { textDocument: { uri } });
      const h = await c.request('textDocument/hover', { textDocument: { uri }, position: { line: 10, character: 5 } });
      show('hover on the closed document', h);
      assert.equal(h, null);
      // Wait past the diagnostics delay and a full analysis: whatever was published last for it must be empty.
      await new Promise((r) => setTimeout(r, 3000));
      const mine = c.published.slice(before).filter((p: Published) => p.uri === uri);
      show('diagnostics published for the closed document', mine.map((p) => ({ version: p.version, count: p.diagnostics.length })));
      assert.ok(mine.length >= 1 && mine[mine.length - 1].diagnostics.length === 0, 'the last publication clears it');
      await assertServing('didClose during analysis');
    });

    it('$/cancelRequest for a running request: a reply (result or RequestCancelled) and the server keeps serving', async () => {
      const uri = 'untitled:race-cancel.rules';
      const lines = big.split('\n');
      await c.open(uri, big, 'iptables', 1);
      const pos = find(lines, '-j KUBE-SERVICES', 4, 0);
      // Three raw requests that each need the fresh analysis, all cancelled at once.
      const ids = ['cancel-a', 'cancel-b', 'cancel-c'];
      const replies = ids.map((id) => tap.reply(id, 60000));
      const t0 = Date.now();
      for (const [i, id] of ids.entries()) {
        const method = ['textDocument/hover', 'textDocument/references', 'textDocument/documentSymbol'][i];
        c.proc.stdin!.write(frame({ jsonrpc: '2.0', id, method, params: { textDocument: { uri }, position: pos, context: { includeDeclaration: true } } }));
      }
      for (const id of ids) c.proc.stdin!.write(frame({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id } }));
      const got = await Promise.all(replies);
      for (const [i, r] of got.entries()) {
        show(`${ids[i]} after ${Date.now() - t0} ms`, r?.error ?? (Array.isArray(r?.result) ? `array of ${r.result.length}` : r?.result?.contents?.value?.slice(0, 80)));
        assert.ok(r, `${ids[i]}: a reply`);
        assert.ok(r.error ? r.error.code === -32800 : r.result !== undefined, `${ids[i]}: result or RequestCancelled, got ${JSON.stringify(r).slice(0, 200)}`);
      }
      // Cancelling a request that already finished, or one that never existed, is harmless.
      c.proc.stdin!.write(frame({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 'cancel-a' } }));
      c.proc.stdin!.write(frame({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 987654 } }));
      const h = await c.request('textDocument/hover', { textDocument: { uri }, position: pos });
      assert.match(h?.contents?.value ?? '', /\*\*chain KUBE-SERVICES\*\*/);
      await c.conn.sendNotification('textDocument/didClose', { textDocument: { uri } });
      await assertServing('cancellations');
      // This client announced no window.workDoneProgress: the server never asks it for a progress token.
      assert.ok(!tap.messages.some((m) => m.method === 'window/workDoneProgress/create' || m.method === '$/progress'), 'no progress to a client without the capability');
    });
  });
});
