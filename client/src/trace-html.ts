// The trace panel's HTML, kept free of `vscode` so it can be tested as a pure function. Everything
// that comes from the file or the packet (chain names, comments, log prefixes, actions) is escaped;
// the page allows only its own nonce'd style and script (no remote content, no inline handlers).

export interface TraceStepView {
  kind?: string;
  hook: string;
  table: string;
  chain: string;
  line: number;
  result: string;
  action: string;
  mark: string;
  ctmark: string;
  assumed?: string;
  reason?: string;
  failed?: string;
  note?: string;
}

export interface TraceView {
  verdict: string;
  decided?: { hook: string; table: string; chain: string; line: number; step: number };
  steps: TraceStepView[];
  packet: { text?: unknown } & Record<string, unknown>;
  packetIn: string;
  start?: { table: string; chain: string; line: number };
  witness?: { packet: string; exact: boolean; notes: string[] };
  unknowns?: { key: string; assumed: string; reason: string }[];
  error?: string;
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(v: unknown): string {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

/** 32 random characters from [A-Za-z0-9] (the caller passes its own random source in tests). */
export function makeNonce(random: () => number = Math.random): string {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  for (let i = 0; i < 32; i++) s += abc[Math.floor(random() * abc.length)];
  return s;
}

export interface RenderOptions {
  /** The webview's `cspSource` (its own resource origin). */
  cspSource: string;
  nonce: string;
  /** The document the trace belongs to (shown as the title). */
  fileName?: string;
}

function stepRow(s: TraceStepView, i: number, decidedIndex: number | undefined): string {
  const cls = [`r-${s.result}`, i === decidedIndex ? 'decided' : ''].filter(Boolean).join(' ');
  const where = s.kind === 'event' ? '' : `${escapeHtml(s.table)} ${escapeHtml(s.chain)}`;
  const ln = Math.max(0, Math.trunc(Number(s.line)) || 0);
  const line = ln > 0 ? `<a href="#" class="rule" data-line="${ln}">${ln}</a>` : '';
  let what = s.action;
  if (s.result === 'nomatch') what = s.failed ? `fails at ${s.failed}` : 'no match';
  else if (s.result === 'unknown') what = `${s.action} (unknown, assumed ${s.assumed ?? '?'}: ${s.reason ?? ''})`;
  const note = s.note ? ` <span class="note">[${escapeHtml(s.note)}]</span>` : '';
  return `<tr class="${escapeHtml(cls)}"><td>${i + 1}</td><td>${escapeHtml(s.hook)}</td><td>${where}</td><td>${line}</td>` +
    `<td>${escapeHtml(s.result)}</td><td>${escapeHtml(what)}${note}</td><td>${escapeHtml(s.mark)}</td><td>${escapeHtml(s.ctmark)}</td></tr>`;
}

export function renderTraceHtml(t: TraceView, o: RenderOptions): string {
  if (!/^[A-Za-z0-9+/=]{16,}$/.test(o.nonce)) throw new Error('nonce must be 16+ base64 characters');
  const nonce = o.nonce;
  const csp = `default-src 'none'; style-src ${escapeHtml(o.cspSource)} 'nonce-${nonce}'; script-src 'nonce-${nonce}';`;
  const d = t.decided;
  const dl = d ? Math.max(0, Math.trunc(Number(d.line)) || 0) : 0;
  const decidedText = d ? ` at <a href="#" class="rule" data-line="${dl}">line ${dl}</a> (${escapeHtml(d.hook)} ${escapeHtml(d.table)} ${escapeHtml(d.chain)})` : '';
  const from = t.start ? `from line ${t.start.line} (${escapeHtml(t.start.table)} ${escapeHtml(t.start.chain)})` : 'from the first hook';
  const w = t.witness;
  const witnessNote = w && !w.exact && w.packet === t.packetIn
    ? `<p class="warn">The proposed packet may not match the rule: ${w.notes.map(escapeHtml).join('; ') || 'the walk from it does not match'}.</p>` : '';
  const unknowns = t.unknowns?.length ? `<p class="warn">${t.unknowns.length} step(s) could not be decided from the packet; the walk assumed the branch shown.</p>` : '';
  const rows = t.steps.map((s, i) => stepRow(s, i, d?.step)).join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Packet trace</title>
<style nonce="${nonce}">
body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); }
table { border-collapse: collapse; font-family: var(--vscode-editor-font-family); font-size: var(--vscode-editor-font-size); }
td, th { padding: 1px 8px; text-align: left; white-space: nowrap; }
tr.r-match td { color: var(--vscode-testing-iconPassed, green); }
tr.r-nomatch td { opacity: 0.6; }
tr.r-unknown td { color: var(--vscode-editorWarning-foreground, orange); }
tr.r-event td { font-style: italic; opacity: 0.8; }
tr.decided td { font-weight: bold; outline: 1px solid var(--vscode-focusBorder); }
.verdict { font-size: 1.2em; font-weight: bold; }
.note { opacity: 0.8; }
.warn { color: var(--vscode-editorWarning-foreground, orange); }
a.rule { color: var(--vscode-textLink-foreground); }
</style>
</head>
<body>
<h2>Packet trace${o.fileName ? ` — ${escapeHtml(o.fileName)}` : ''}</h2>
<p class="verdict" id="verdict">Verdict: ${escapeHtml(t.verdict)}${decidedText}</p>
${t.error ? `<p class="warn">${escapeHtml(t.error)}</p>` : ''}
<p>Packet in: <code>${escapeHtml(t.packetIn)}</code>, walked ${from}. <button id="from-start">Walk from the first hook</button></p>
<p>Packet out: <code>${escapeHtml(t.packet.text)}</code></p>
${witnessNote}
${unknowns}
<table id="steps">
<thead><tr><th>#</th><th>hook</th><th>table chain</th><th>line</th><th>result</th><th>action</th><th>mark</th><th>ct mark</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
<script nonce="${nonce}">
const vscode = acquireVsCodeApi();
document.addEventListener('click', (e) => {
  const a = e.target.closest ? e.target.closest('a.rule') : null;
  if (a) { e.preventDefault(); vscode.postMessage({ type: 'reveal', line: Number(a.dataset.line) }); }
});
document.getElementById('from-start').addEventListener('click', () => vscode.postMessage({ type: 'fromStart' }));
</script>
</body>
</html>
`;
}

/** 1-based lines: rules that matched (or were assumed to), that did not, and where the verdict fell. */
export function decorationLines(t: TraceView): { matched: number[]; nomatch: number[]; verdict?: number } {
  const matched = new Set<number>(), nomatch = new Set<number>();
  for (const s of t.steps) {
    if (!(s.line > 0) || s.kind === 'event') continue;
    const hit = s.result === 'match' || s.result === 'policy' || (s.result === 'unknown' && s.assumed === 'match');
    if (hit) matched.add(s.line);
    else nomatch.add(s.line);
  }
  // A rule visited twice (two hooks) and matched once counts as matched.
  for (const l of matched) nomatch.delete(l);
  const lastRule = [...t.steps].reverse().find((s) => s.line > 0 && s.kind !== 'event');
  const verdict = t.decided?.line || lastRule?.line || undefined;
  return { matched: [...matched], nomatch: [...nomatch], verdict };
}
