// A minimal LSP client for the protocol tests: starts `node dist/server.js --stdio` and speaks
// JSON-RPC to it through vscode-jsonrpc (no vscode-languageclient: the tests see the wire format).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type CancellationToken, type MessageConnection } from 'vscode-jsonrpc/node';

export const repoRoot = resolve(import.meta.dirname, '../..');
/** NFLENS_SERVER_JS runs another build of the server (to measure a change before it lands). */
export const serverPath = process.env.NFLENS_SERVER_JS ?? join(repoRoot, 'dist/server.js');

function newestMtime(dir: string): number {
  let t = 0;
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    const st = statSync(p);
    t = Math.max(t, st.isDirectory() ? newestMtime(p) : st.mtimeMs);
  }
  return t;
}

/** Rebuilds dist/ when a server source is newer than the bundle (npm test has built already). */
export function ensureBuilt(): void {
  if (process.env.NFLENS_SERVER_JS) return;
  let built = 0;
  try {
    built = statSync(serverPath).mtimeMs;
  } catch {
    built = 0;
  }
  if (built >= newestMtime(join(repoRoot, 'server/src'))) return;
  const r = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: repoRoot, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`build failed:\n${r.stdout}\n${r.stderr}`);
}

export interface Published {
  uri: string;
  version?: number;
  diagnostics: { range: Range; severity: number; code: string; source: string; message: string }[];
}

export interface Position {
  line: number;
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

export function fileUri(rel: string): string {
  return pathToFileURL(join(repoRoot, rel)).href;
}

/** A `$/progress` notification, with when it arrived (performance.now()). */
export interface ProgressEvent {
  token: string | number;
  value: { kind: 'begin' | 'report' | 'end'; title?: string; message?: string; percentage?: number; cancellable?: boolean };
  at: number;
}

export class LspClient {
  readonly proc: ChildProcess;
  readonly conn: MessageConnection;
  private waiters: { uri: string; pred: (p: Published) => boolean; resolve: (p: Published) => void }[] = [];
  readonly published: Published[] = [];
  /** Tokens the server asked to create (window/workDoneProgress/create), in order. */
  readonly progressTokens: (string | number)[] = [];
  readonly progress: ProgressEvent[] = [];
  stderr = '';

  constructor(args: string[] = ['--stdio']) {
    this.proc = spawn(process.execPath, [serverPath, ...args], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stderr!.on('data', (d) => (this.stderr += d));
    this.conn = createMessageConnection(new StreamMessageReader(this.proc.stdout!), new StreamMessageWriter(this.proc.stdin!));
    this.conn.onNotification('textDocument/publishDiagnostics', (p: Published) => {
      this.published.push(p);
      this.waiters = this.waiters.filter((w) => {
        if (w.uri === p.uri && w.pred(p)) {
          w.resolve(p);
          return false;
        }
        return true;
      });
    });
    this.conn.onRequest('window/workDoneProgress/create', (p: { token: string | number }) => {
      this.progressTokens.push(p.token);
      return null;
    });
    this.conn.onNotification('$/progress', (p: { token: string | number; value: ProgressEvent['value'] }) => {
      this.progress.push({ ...p, at: performance.now() });
    });
    this.conn.listen();
  }

  /** `workDoneProgress: true` announces that the client takes server-initiated progress. */
  async initialize(initializationOptions: unknown = { diagnosticsDelay: 50 }, opts: { workDoneProgress?: boolean } = {}): Promise<any> {
    const r = await this.conn.sendRequest('initialize', {
      processId: process.pid,
      rootUri: pathToFileURL(repoRoot).href,
      capabilities: {
        ...(opts.workDoneProgress ? { window: { workDoneProgress: true } } : {}),
        textDocument: {
          hover: { contentFormat: ['markdown', 'plaintext'] },
          rename: { prepareSupport: true },
          documentSymbol: { hierarchicalDocumentSymbolSupport: true },
          semanticTokens: { requests: { full: true }, tokenTypes: [], tokenModifiers: [], formats: ['relative'] },
        },
      },
      initializationOptions,
    });
    await this.conn.sendNotification('initialized', {});
    return r;
  }

  open(uri: string, text: string, languageId = 'iptables', version = 1): Promise<void> {
    return this.conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId, version, text } });
  }

  openFile(rel: string, languageId = 'iptables'): { uri: string; text: string; lines: string[] } {
    const abs = join(repoRoot, rel);
    const text = readFileSync(abs, 'utf8');
    const uri = pathToFileURL(abs).href;
    void this.open(uri, text, languageId);
    return { uri, text, lines: text.split('\n') };
  }

  change(uri: string, version: number, text: string): Promise<void> {
    return this.conn.sendNotification('textDocument/didChange', { textDocument: { uri, version }, contentChanges: [{ text }] });
  }

  /** Resolves with the first diagnostics published for `uri` (after now) that satisfy `pred`. */
  waitDiagnostics(uri: string, pred: (p: Published) => boolean = () => true, timeoutMs = 10000): Promise<Published> {
    return new Promise((res, rej) => {
      const t = setTimeout(() => rej(new Error(`no matching diagnostics for ${uri} within ${timeoutMs} ms; stderr: ${this.stderr}`)), timeoutMs);
      this.waiters.push({ uri, pred, resolve: (p) => { clearTimeout(t); res(p); } });
    });
  }

  /** A cancelled `token` sends $/cancelRequest; the promise settles with the server's reply. */
  request<T = any>(method: string, params: unknown, token?: CancellationToken): Promise<T> {
    return (token ? this.conn.sendRequest(method, params, token) : this.conn.sendRequest(method, params)) as Promise<T>;
  }

  async shutdown(): Promise<void> {
    try {
      await Promise.race([this.conn.sendRequest('shutdown'), new Promise((r) => setTimeout(r, 2000))]);
      await this.conn.sendNotification('exit');
    } catch {
      // The server may already be gone; the kill below covers it.
    }
    this.conn.dispose();
    await new Promise<void>((r) => {
      if (this.proc.exitCode !== null) return r();
      const t = setTimeout(() => { this.proc.kill('SIGKILL'); r(); }, 2000);
      this.proc.once('exit', () => { clearTimeout(t); r(); });
    });
  }
}

/** Position of the `nth` occurrence of `needle` in `lines` (0-based), plus `offset` characters. */
export function find(lines: string[], needle: string, offset = 0, nth = 0): Position {
  let seen = 0;
  for (let l = 0; l < lines.length; l++) {
    let i = lines[l].indexOf(needle);
    while (i >= 0) {
      if (seen++ === nth) return { line: l, character: i + offset };
      i = lines[l].indexOf(needle, i + 1);
    }
  }
  throw new Error(`"${needle}" (#${nth}) not found`);
}

/** Applies non-overlapping single-line edits to a text. */
export function applyEdits(text: string, edits: { range: Range; newText: string }[]): string {
  const lines = text.split('\n');
  const sorted = [...edits].sort((a, b) => b.range.start.line - a.range.start.line || b.range.start.character - a.range.start.character);
  for (const e of sorted) {
    const l = e.range.start.line;
    if (e.range.end.line !== l) throw new Error('multi-line edit');
    lines[l] = lines[l].slice(0, e.range.start.character) + e.newText + lines[l].slice(e.range.end.character);
  }
  return lines.join('\n');
}
