// Language-server latency on the bench dump: `node dist/server.js --stdio` over JSON-RPC, the dump
// opened once, then hover and definition requests at jump targets and mark options spread over the
// file. Reports p50 and p95 of the request round trip (the bar: p95 under 20 ms), and the time
// from didOpen to the first published diagnostics (the full analysis).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';

const REQUESTS = Number(process.env.BENCH_LSP_REQUESTS ?? 400);

function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

export default async function lspBench(ctx) {
  const proc = spawn(process.execPath, [join(ctx.repo, 'dist/server.js'), '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const conn = createMessageConnection(new StreamMessageReader(proc.stdout), new StreamMessageWriter(proc.stdin));
  const uri = pathToFileURL(ctx.file).href;
  let published;
  const diagnosed = new Promise((r) => (published = r));
  conn.onNotification('textDocument/publishDiagnostics', (p) => { if (p.uri === uri) published(p); });
  conn.listen();
  try {
    await conn.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities: {}, initializationOptions: { diagnosticsDelay: 0 } });
    await conn.sendNotification('initialized', {});
    const t0 = performance.now();
    await conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'iptables', version: 1, text: ctx.text } });
    await diagnosed;
    const openMs = performance.now() - t0;

    // Positions: `-j CHAIN` targets and `--set-xmark` values, evenly spread over the file.
    const lines = ctx.text.split('\n');
    const jumps = [], marks = [];
    lines.forEach((l, i) => {
      const j = l.indexOf(' -j KUBE-');
      if (j >= 0) jumps.push({ line: i, character: j + 6 });
      const m = l.indexOf('--set-xmark ');
      if (m >= 0) marks.push({ line: i, character: m + 14 });
    });
    const pick = (xs, n) => Array.from({ length: Math.min(n, xs.length) }, (_, k) => xs[Math.floor((k * xs.length) / Math.min(n, xs.length))]);
    const time = async (method, positions) => {
      const out = [];
      for (const position of positions) {
        const t = performance.now();
        const r = await conn.sendRequest(method, { textDocument: { uri }, position });
        out.push(performance.now() - t);
        if (!r || (Array.isArray(r) && !r.length)) throw new Error(`${method} at ${position.line}:${position.character} answered nothing`);
      }
      return out;
    };
    // Warm-up (JIT), as in an editor session that has been answering for a while; not timed.
    await time('textDocument/hover', pick(jumps, 20));
    await time('textDocument/definition', pick(jumps, 20));
    const hover = [...(await time('textDocument/hover', pick(jumps, REQUESTS / 2))), ...(await time('textDocument/hover', pick(marks, REQUESTS / 2)))];
    const def = await time('textDocument/definition', pick(jumps, REQUESTS));
    const r = (x) => Math.round(x * 100) / 100;
    return [
      { name: 'LSP didOpen → diagnostics published (full analysis)', group: 'lsp', value: r(openMs), unit: 'ms' },
      { name: `LSP hover p50 (${hover.length} requests)`, group: 'lsp', value: r(pct(hover, 50)), unit: 'ms' },
      { name: `LSP hover p95 (${hover.length} requests)`, group: 'lsp', value: r(pct(hover, 95)), unit: 'ms' },
      { name: `LSP definition p50 (${def.length} requests)`, group: 'lsp', value: r(pct(def, 50)), unit: 'ms' },
      { name: `LSP definition p95 (${def.length} requests)`, group: 'lsp', value: r(pct(def, 95)), unit: 'ms' },
    ];
  } finally {
    conn.dispose();
    proc.kill();
  }
}
