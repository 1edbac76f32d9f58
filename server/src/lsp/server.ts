// The language server: vscode-languageserver glue around the protocol-free IDE layer (server/src/ide).
// Runs as `node dist/server.js --stdio` or over IPC (`--node-ipc`, how the VS Code client starts it).
import {
  CodeActionKind,
  CompletionItemKind,
  createConnection,
  DiagnosticSeverity,
  DocumentHighlightKind,
  ErrorCodes,
  FoldingRangeKind,
  LSPErrorCodes,
  ProposedFeatures,
  ResponseError,
  StreamMessageWriter,
  SymbolKind,
  TextDocuments,
  TextDocumentSyncKind,
  type CancellationToken,
  type CompletionItem,
  type Diagnostic as LspDiagnostic,
  type DocumentSymbol,
  type InitializeResult,
  type ResponseMessage,
  type WorkDoneProgressServerReporter,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import type { Diagnostic } from '../model/ruleset';
import { AnalysisCancelled, AnalysisHost } from '../ide/host';
import { definition, documentHighlights, prepareRename, references, rename } from '../ide/navigation';
import { documentSymbols, foldingRanges, workspaceSymbols } from '../ide/symbols';
import { hover } from '../ide/hover';
import { completions } from '../ide/completion';
import { fullTokensAllowed, semanticTokenDataSteps } from '../ide/semantic-tokens';
import { findProfileForDocument, overlayFs, ProfileCache, standaloneContext, uriToPath, type ProfileLookup, type RoutingContext } from '../ide/routing-profile';
import { detectRoutingFileKind, routingDocumentSymbols, routingParseDiagnostics, ROUTING_LANGUAGE_IDS, type RoutingFileKind } from '../ide/routing-symbols';
import { routingDiagnostics } from '../ide/routing-ide';
import { routingDefinition, routingHover } from '../ide/routing-ide';
import type { HoverResult, Location } from '../ide/types';
import { simulate, simulateLenses, type SimulateParams } from '../ide/simulate-lens';
import { codeActions } from '../ide/code-actions';
import { markMap, markMapText } from '../analysis/mark-analysis';
import { ResyncMessageReader } from './resync-reader';
import { collectGarbage } from './memory';
import type { DocumentAnalysis, DocumentProgress } from '../ide/document';
import { SEMANTIC_TOKEN_MODIFIERS, SEMANTIC_TOKEN_TYPES, type CompletionKind, type SymbolItem, type SymbolKind as IdeSymbolKind } from '../ide/types';

// Over stdio, a reader that survives a bad frame (the stock one stays deaf after one) and answers what
// cannot be a request as JSON-RPC says: -32700 for a body that is not JSON, -32600 for JSON that is not a
// message (both with id null). IPC as usual.
function stdioConnection() {
  const writer = new StreamMessageWriter(process.stdout);
  const reply = (code: number, message: string, id: string | number | null = null) => {
    const r: ResponseMessage = { jsonrpc: '2.0', id, error: { code, message } };
    writer.write(r).catch(() => undefined);
  };
  const reader = new ResyncMessageReader(process.stdin, {
    onParseError: (m) => reply(ErrorCodes.ParseError, `Parse error: ${m}`),
    onInvalidMessage: (m) => reply(ErrorCodes.InvalidRequest, `Invalid Request: ${m}`),
    onInvalidParams: (id, method) => reply(ErrorCodes.InvalidParams, `${method}: params must be an object or an array`, id),
  });
  return createConnection(ProposedFeatures.all, reader, writer);
}
const connection = process.argv.includes('--stdio') ? stdioConnection() : createConnection(ProposedFeatures.all);
const documents = new TextDocuments(TextDocument);
const host = new AnalysisHost({
  onStart: (uri, version) => progressStart(uri, version),
  onProgress: (uri, version, p) => {
    progressReport(uri, version, p);
    // Between the passes of a big document's analysis: what the last pass made and dropped is collected
    // before the next one adds its own (V8 would let it pile up to twice the live size or more).
    if (lastPhase.get(uri) !== p.message) {
      lastPhase.set(uri, p.message);
      if ((documents.get(uri)?.getText().length ?? 0) >= BIG_TEXT) collectSoon();
    }
  },
  onEnd: (uri, version, a) => {
    progressEnd(uri, version);
    // Diagnostics go out when a version's analysis completes (whoever started it), if it is still current.
    if (a && host.version(uri) === version && documents.get(uri)) publishDiagnostics(a);
  },
  onError: (uri, version, e) => connection.console.error(`analysis of ${uri} (version ${version}) failed: ${(e as Error)?.stack ?? e}`),
  onDropped: (_uri, textLength) => {
    if (textLength >= BIG_TEXT) collectSoon();
  },
});
const lastPhase = new Map<string, string>();
/** A dropped analysis of a text this long (about 70 000 kube lines) is collected at once (lsp/memory.ts). */
const BIG_TEXT = 8 << 20;
let collectTimer: NodeJS.Timeout | undefined;
/** One collection shortly after (several drops in a row share it): the run that let go has returned by then. */
function collectSoon(): void {
  collectTimer ??= setTimeout(() => {
    collectTimer = undefined;
    collectGarbage();
  }, 20);
}
/** Milliseconds of quiet typing before diagnostics are computed and published. */
let diagnosticsDelay = 250;
const timers = new Map<string, NodeJS.Timeout>();

// ---- work-done progress while a document is analysed (server-initiated, when the client supports it).
// Shown only for analyses that last: a small file's analysis ends before anyone could see a bar.
let progressSupported = false;
const PROGRESS_AFTER_MS = 200;
interface Progress {
  version: number;
  started: number;
  reporter?: Promise<WorkDoneProgressServerReporter | undefined>;
  last: number;
}
const progress = new Map<string, Progress>();

function progressStart(uri: string, version: number) {
  progressEnd(uri, progress.get(uri)?.version ?? version);
  progress.set(uri, { version, started: Date.now(), last: -1 });
}

function progressReport(uri: string, version: number, p: DocumentProgress) {
  const s = progress.get(uri);
  if (!s || s.version !== version || !progressSupported) return;
  if (!s.reporter) {
    if (Date.now() - s.started < PROGRESS_AFTER_MS) return;
    const name = decodeURIComponent(uri.slice(uri.lastIndexOf('/') + 1).replace(/^untitled:/, ''));
    const pct = p.percentage;
    s.last = pct;
    s.reporter = connection.window.createWorkDoneProgress().then(
      (r) => { r.begin(`Netfilter Lens: analysing ${name}`, pct, p.message, false); return r; },
      () => undefined, // the client refused the token: no bar
    );
    return;
  }
  // Percentages only rise, and one report per percent is plenty.
  if (p.percentage <= s.last) return;
  s.last = p.percentage;
  const pct = p.percentage;
  void s.reporter.then((r) => r?.report(pct, p.message));
}

function progressEnd(uri: string, version: number) {
  const s = progress.get(uri);
  if (!s || s.version !== version) return;
  progress.delete(uri);
  void s.reporter?.then((r) => r?.done());
}

// ---- request plumbing: params checked before use (-32602), cancellation honoured (-32800).
function invalid(message: string): ResponseError<void> {
  return new ResponseError(ErrorCodes.InvalidParams, message);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isPosition(v: unknown): boolean {
  return isObject(v) && typeof v.line === 'number' && typeof v.character === 'number';
}

/** Throws InvalidParams unless `p` has `textDocument.uri` (and a position / range when asked). */
function checkDocParams(p: unknown, method: string, needs: { position?: boolean; range?: boolean } = {}): void {
  if (!isObject(p)) throw invalid(`${method}: params must be an object`);
  if (!isObject(p.textDocument) || typeof p.textDocument.uri !== 'string') throw invalid(`${method}: params.textDocument.uri must be a string`);
  if (needs.position && !isPosition(p.position)) throw invalid(`${method}: params.position must be {line, character}`);
  if (needs.range && !(isObject(p.range) && isPosition(p.range.start) && isPosition(p.range.end))) throw invalid(`${method}: params.range must be {start, end}`);
}

function cancelled(): ResponseError<void> {
  return new ResponseError(LSPErrorCodes.RequestCancelled, 'request cancelled');
}

/** The current version's analysis of a ruleset document, waiting while it runs (cancellable). */
async function analysed(uri: string, token: CancellationToken): Promise<DocumentAnalysis | undefined> {
  try {
    const a = await host.analysis(uri, token);
    if (token.isCancellationRequested) throw cancelled();
    return a;
  } catch (e) {
    if (e instanceof AnalysisCancelled) throw cancelled();
    throw e;
  }
}

/** Runs a generator a slice at a time with a turn of the event loop between slices; RequestCancelled as
 *  soon as the request is cancelled. */
async function cooperatively<T>(token: CancellationToken, steps: Generator<void, T, void>): Promise<T> {
  for (;;) {
    if (token.isCancellationRequested) {
      steps.return(undefined as never);
      throw cancelled();
    }
    const r = steps.next();
    if (r.done) return r.value;
    await new Promise<void>((res) => setImmediate(res));
  }
}

/** After a long computation: a request cancelled meanwhile gets RequestCancelled, not a stale result. */
function unlessCancelled<T>(token: CancellationToken, v: T): T {
  if (token.isCancellationRequested) throw cancelled();
  return v;
}

connection.onInitialize((params): InitializeResult => {
  progressSupported = params.capabilities?.window?.workDoneProgress === true;
  const opts = (params.initializationOptions ?? {}) as { diagnosticsDelay?: number };
  if (typeof opts.diagnosticsDelay === 'number' && opts.diagnosticsDelay >= 0) diagnosticsDelay = opts.diagnosticsDelay;
  return {
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
      hoverProvider: true,
      definitionProvider: true,
      referencesProvider: true,
      renameProvider: { prepareProvider: true },
      documentHighlightProvider: true,
      documentSymbolProvider: { label: 'Netfilter Lens' },
      workspaceSymbolProvider: true,
      foldingRangeProvider: true,
      codeLensProvider: { resolveProvider: false },
      codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
      completionProvider: { triggerCharacters: [' ', ',', '@', '$', '-'] },
      semanticTokensProvider: {
        legend: { tokenTypes: [...SEMANTIC_TOKEN_TYPES], tokenModifiers: [...SEMANTIC_TOKEN_MODIFIERS] },
        full: true,
        range: true,
      },
    },
    serverInfo: { name: 'netfilter-lens', version: '0.1.0' },
  };
});

// Policy routing (issue 6): a ruleset that belongs to a node profile also gets where its marks send
// packets. Open documents overlay the disk so unsaved edits count.
const profiles = new ProfileCache();
const profileFs = overlayFs((path) => {
  for (const d of documents.all()) if (uriToPath(d.uri) === path) return { text: d.getText(), version: d.version };
  return undefined;
});

// The lookup reads the whole text (for a `# nflens-node:` comment) and stats the profile's files: on a
// 150 000-line dump that costs more than the hover itself, so it is kept per document version for a
// short while (files on disk may change under us) and dropped whenever any open document changes.
const PROFILE_TTL_MS = 2000;
const profileLookups = new Map<string, { version: number; at: number; lookup: ProfileLookup }>();

function profileOf(a: DocumentAnalysis): ProfileLookup {
  const hit = profileLookups.get(a.uri);
  const now = Date.now();
  if (hit && hit.version === a.version && now - hit.at < PROFILE_TTL_MS) return hit.lookup;
  let lookup: ProfileLookup;
  try {
    lookup = findProfileForDocument(a.uri, a.text, profileFs, profiles);
  } catch (e) {
    connection.console.error(`node profile lookup failed for ${a.uri}: ${(e as Error)?.stack ?? e}`);
    lookup = { diagnostics: [] };
  }
  profileLookups.set(a.uri, { version: a.version, at: now, lookup });
  return lookup;
}

function routingHoverFor(a: DocumentAnalysis, line: number, character: number): HoverResult | undefined {
  const ctx = profileOf(a).context;
  if (!ctx) return undefined;
  try {
    return routingHover(ctx, { uri: a.uri, text: a.text, analysis: a }, line, character);
  } catch (e) {
    connection.console.error(`routing hover failed: ${(e as Error)?.stack ?? e}`);
    return undefined;
  }
}

function routingDefinitionFor(a: DocumentAnalysis, line: number, character: number): Location[] {
  const ctx = profileOf(a).context;
  if (!ctx) return [];
  try {
    return routingDefinition(ctx, { uri: a.uri, text: a.text, analysis: a }, line, character);
  } catch (e) {
    connection.console.error(`routing definition failed: ${(e as Error)?.stack ?? e}`);
    return [];
  }
}

// ---- routing documents (ip rule / ip route / ip addr / rt_tables / ipset / .nflens-node): not rulesets.
const ROUTING_LANGUAGES = new Set<string>(ROUTING_LANGUAGE_IDS);

function isRoutingDoc(doc: TextDocument): boolean {
  return ROUTING_LANGUAGES.has(doc.languageId) || doc.uri.endsWith('.nflens-node');
}

function routingKind(doc: TextDocument): RoutingFileKind {
  return detectRoutingFileKind(doc.getText(), uriToPath(doc.uri), doc.languageId);
}

/** The profile this routing document belongs to, or a context of its own when it stands alone. */
function routingContextOf(doc: TextDocument): { ctx?: RoutingContext; lookup: ProfileLookup } {
  let lookup: ProfileLookup = { diagnostics: [] };
  try {
    lookup = findProfileForDocument(doc.uri, doc.getText(), profileFs, profiles);
    if (lookup.context) return { ctx: lookup.context, lookup };
    const kind = routingKind(doc);
    return { ctx: kind === 'profile' ? undefined : standaloneContext(doc.uri, doc.getText(), kind), lookup };
  } catch (e) {
    connection.console.error(`routing context failed for ${doc.uri}: ${(e as Error)?.stack ?? e}`);
    return { lookup };
  }
}

function publishRoutingDiagnostics(doc: TextDocument) {
  let own: Diagnostic[] = [];
  try {
    const { lookup } = routingContextOf(doc);
    if (lookup.context) {
      own = routingDiagnostics(lookup.context).find((e) => e.uri === doc.uri)?.diagnostics ?? [];
    } else {
      own = routingParseDiagnostics(routingKind(doc), doc.getText(), { path: uriToPath(doc.uri), readFile: profileFs.readFile });
    }
    own = [...own, ...lookup.diagnostics];
  } catch (e) {
    connection.console.error(`routing diagnostics failed for ${doc.uri}: ${(e as Error)?.stack ?? e}`);
  }
  void connection.sendDiagnostics({ uri: doc.uri, version: doc.version, diagnostics: own.map(toLspDiagnostic(doc.uri)) });
}

function sync(doc: TextDocument) {
  if (isRoutingDoc(doc)) return;
  host.set(doc.uri, doc.getText(), doc.version, doc.languageId);
}

function scheduleDiagnostics(uri: string) {
  clearTimeout(timers.get(uri));
  timers.set(uri, setTimeout(() => {
    timers.delete(uri);
    const doc = documents.get(uri);
    if (doc && isRoutingDoc(doc)) publishRoutingDiagnostics(doc);
    // Starts the analysis if no request has; its end publishes the diagnostics (host onEnd).
    else void host.analysis(uri).catch((e) => connection.console.error(`analysis of ${uri} failed: ${(e as Error)?.stack ?? e}`));
  }, diagnosticsDelay));
}

function toLspDiagnostic(uri: string) {
  return (d: Diagnostic): LspDiagnostic => ({
    range: d.range,
    severity: SEVERITY[d.severity],
    code: d.code,
    source: 'nflens',
    message: d.message,
    relatedInformation: d.related?.map((r) => ({ location: { uri, range: r.range }, message: r.message })),
  });
}

const SEVERITY: Record<Diagnostic['severity'], DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  information: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};

function publishDiagnostics(a: DocumentAnalysis) {
  const uri = a.uri;
  // The document's own profile problems (a `# nflens-node:` comment that points nowhere...) join its diagnostics.
  const own = [...a.diagnostics, ...profileOf(a).diagnostics];
  const diagnostics: LspDiagnostic[] = own.map(toLspDiagnostic(uri));
  void connection.sendDiagnostics({ uri, version: a.version, diagnostics });
}

documents.onDidOpen(() => profileLookups.clear());
documents.onDidChangeContent(() => profileLookups.clear());
documents.onDidClose(() => profileLookups.clear());
documents.onDidOpen((e) => {
  sync(e.document);
  scheduleDiagnostics(e.document.uri);
});
documents.onDidChangeContent((e) => {
  sync(e.document);
  scheduleDiagnostics(e.document.uri);
});
documents.onDidClose((e) => {
  clearTimeout(timers.get(e.document.uri));
  timers.delete(e.document.uri);
  lastPhase.delete(e.document.uri);
  host.remove(e.document.uri);
  void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
});

connection.onHover(async (p, token) => {
  checkDocParams(p, 'textDocument/hover', { position: true });
  const doc = documents.get(p.textDocument.uri);
  if (doc && isRoutingDoc(doc)) {
    const { ctx } = routingContextOf(doc);
    const h = ctx && routingHover(ctx, { uri: doc.uri, text: doc.getText() }, p.position.line, p.position.character);
    return h ? { contents: { kind: 'markdown', value: h.markdown }, range: h.range } : null;
  }
  const a = await analysed(p.textDocument.uri, token);
  if (!a) return null;
  const h = hover(a, p.position.line, p.position.character);
  const r = routingHoverFor(a, p.position.line, p.position.character);
  if (!h && !r) return null;
  const value = [h?.markdown, r?.markdown].filter(Boolean).join('\n\n---\n\n');
  return { contents: { kind: 'markdown', value }, range: (h ?? r)!.range };
});

connection.onDefinition(async (p, token) => {
  checkDocParams(p, 'textDocument/definition', { position: true });
  const doc = documents.get(p.textDocument.uri);
  if (doc && isRoutingDoc(doc)) {
    const { ctx } = routingContextOf(doc);
    return ctx ? routingDefinition(ctx, { uri: doc.uri, text: doc.getText() }, p.position.line, p.position.character) : [];
  }
  const a = await analysed(p.textDocument.uri, token);
  return a ? [...definition(a, p.position.line, p.position.character), ...routingDefinitionFor(a, p.position.line, p.position.character)] : [];
});

// Quick fixes the analyses attach to their diagnostics (declare a chain, fix a mask, remove a dead rule),
// computed on the analysed text so edits and diagnostics agree on positions.
connection.onCodeAction(async (p, token) => {
  checkDocParams(p, 'textDocument/codeAction', { range: true });
  const doc = documents.get(p.textDocument.uri);
  if (!doc || isRoutingDoc(doc)) return [];
  const a = await analysed(p.textDocument.uri, token);
  if (!a || a.version !== documents.get(doc.uri)?.version) return [];
  const toLsp = toLspDiagnostic(doc.uri);
  return codeActions(a.text, a.diagnostics, p.range).map((c) => ({
    title: c.title,
    kind: CodeActionKind.QuickFix,
    diagnostics: [toLsp(c.diagnostic)],
    edit: { changes: { [doc.uri]: c.edits } },
  }));
});

connection.onReferences(async (p, token) => {
  checkDocParams(p, 'textDocument/references', { position: true });
  const a = await analysed(p.textDocument.uri, token);
  return a ? unlessCancelled(token, references(a, p.position.line, p.position.character, p.context?.includeDeclaration === true)) : [];
});

connection.onDocumentHighlight(async (p, token) => {
  checkDocParams(p, 'textDocument/documentHighlight', { position: true });
  const a = await analysed(p.textDocument.uri, token);
  if (!a) return [];
  return documentHighlights(a, p.position.line, p.position.character).map((h) => ({
    range: h.range,
    kind: h.kind === 'write' ? DocumentHighlightKind.Write : h.kind === 'read' ? DocumentHighlightKind.Read : DocumentHighlightKind.Text,
  }));
});

connection.onPrepareRename(async (p, token) => {
  checkDocParams(p, 'textDocument/prepareRename', { position: true });
  const a = await analysed(p.textDocument.uri, token);
  const r = a && prepareRename(a, p.position.line, p.position.character);
  if (!r) return null;
  if ('error' in r) return new ResponseError(ErrorCodes.InvalidRequest, r.error);
  return r;
});

connection.onRenameRequest(async (p, token) => {
  checkDocParams(p, 'textDocument/rename', { position: true });
  if (typeof p.newName !== 'string') throw invalid('textDocument/rename: params.newName must be a string');
  const a = await analysed(p.textDocument.uri, token);
  if (!a) return null;
  const r = rename(a, p.position.line, p.position.character, p.newName);
  if ('error' in r) return new ResponseError(ErrorCodes.InvalidRequest, r.error);
  return { changes: { [p.textDocument.uri]: r.edits } };
});

const SYMBOL_KIND: Record<IdeSymbolKind, SymbolKind> = {
  table: SymbolKind.Namespace,
  chain: SymbolKind.Function,
  rule: SymbolKind.Event,
  set: SymbolKind.Array,
  variable: SymbolKind.Variable,
};

function toDocumentSymbol(s: SymbolItem): DocumentSymbol {
  return {
    name: s.name,
    detail: s.detail,
    kind: SYMBOL_KIND[s.kind],
    range: s.range,
    selectionRange: s.selectionRange,
    children: s.children.map(toDocumentSymbol),
  };
}

connection.onDocumentSymbol(async (p, token) => {
  checkDocParams(p, 'textDocument/documentSymbol');
  const doc = documents.get(p.textDocument.uri);
  if (doc && isRoutingDoc(doc)) return routingDocumentSymbols(routingKind(doc), doc.getText(), { path: uriToPath(doc.uri) }).map(toDocumentSymbol);
  const a = await analysed(p.textDocument.uri, token);
  return a ? unlessCancelled(token, documentSymbols(a).map(toDocumentSymbol)) : [];
});

connection.onWorkspaceSymbol(async (p, token) => {
  if (!isObject(p) || typeof p.query !== 'string') throw invalid('workspace/symbol: params.query must be a string');
  // Every open ruleset, each at its current version (waiting for those still being analysed).
  const all: DocumentAnalysis[] = [];
  for (const uri of host.uris()) {
    const a = await analysed(uri, token);
    if (a) all.push(a);
  }
  return unlessCancelled(token, workspaceSymbols(all, p.query).map((s) => ({
    name: s.name,
    kind: SYMBOL_KIND[s.kind],
    containerName: s.containerName,
    location: s.location,
  })));
});

connection.onFoldingRanges(async (p, token) => {
  checkDocParams(p, 'textDocument/foldingRange');
  const a = await analysed(p.textDocument.uri, token);
  if (!a) return [];
  return foldingRanges(a).map((f) => ({ startLine: f.startLine, endLine: f.endLine, kind: f.kind === 'comment' ? FoldingRangeKind.Comment : FoldingRangeKind.Region }));
});

const COMPLETION_KIND: Record<CompletionKind, CompletionItemKind> = {
  module: CompletionItemKind.Module,
  target: CompletionItemKind.Constant,
  chain: CompletionItemKind.Function,
  keyword: CompletionItemKind.Keyword,
  value: CompletionItemKind.Value,
  option: CompletionItemKind.Property,
  set: CompletionItemKind.Variable,
  variable: CompletionItemKind.Variable,
};

connection.onCompletion(async (p, token): Promise<CompletionItem[]> => {
  checkDocParams(p, 'textDocument/completion', { position: true });
  const a = await analysed(p.textDocument.uri, token);
  if (!a) return [];
  return completions(a, p.position.line, p.position.character).map((c, i) => ({
    label: c.label,
    kind: COMPLETION_KIND[c.kind],
    detail: c.detail,
    documentation: c.documentation ? { kind: 'markdown', value: c.documentation } : undefined,
    textEdit: { range: c.replaceRange, newText: c.label },
    sortText: c.sortText ?? String(i).padStart(4, '0'),
  }));
});

connection.languages.semanticTokens.on(async (p, token) => {
  checkDocParams(p, 'textDocument/semanticTokens/full');
  const a = await analysed(p.textDocument.uri, token);
  if (!a || !fullTokensAllowed(a)) return { data: [] };
  // 1.5 million tokens on a 300 000-line dump: computed and encoded a slice at a time, other requests served between.
  const data = await cooperatively(token, semanticTokenDataSteps(a));
  return unlessCancelled(token, { data });
});

// The viewport's tokens (any document size; past FULL_TOKENS_MAX_LINES lines the only tokens given).
connection.languages.semanticTokens.onRange(async (p, token) => {
  checkDocParams(p, 'textDocument/semanticTokens/range', { range: true });
  const a = await analysed(p.textDocument.uri, token);
  if (!a) return { data: [] };
  const data = await cooperatively(token, semanticTokenDataSteps(a, { start: p.range.start.line, end: p.range.end.line }));
  return unlessCancelled(token, { data });
});

// "Simulate packet from here" (issue 5): lenses above rules and chains; the walk itself answers
// `nflens/simulate` from the open document (pure computation, nothing is run).
connection.onCodeLens(async (p, token) => {
  checkDocParams(p, 'textDocument/codeLens');
  const doc = documents.get(p.textDocument.uri);
  if (!doc || isRoutingDoc(doc)) return [];
  const a = await analysed(p.textDocument.uri, token);
  if (!a) return [];
  return simulateLenses(a.uri, a.ruleset).map((l) => ({ range: l.range, command: { title: l.title, command: l.command, arguments: l.arguments } }));
});

// The mark map (issue 4): for every packet-mark and ct-mark bit, the rules that set, clear, copy and test it.
connection.onRequest('nflens/markMap', async (p: { uri: string }, token: CancellationToken) => {
  if (!isObject(p) || typeof p.uri !== 'string') throw invalid('nflens/markMap needs {uri}');
  const a = await analysed(p.uri, token);
  if (!a) throw new ResponseError(ErrorCodes.InvalidParams, `not an open ruleset: ${p?.uri}`);
  return { text: markMapText(markMap(a.ruleset)) || 'No rule of this file sets or tests a mark.' };
});

connection.onRequest('nflens/simulate', async (p: SimulateParams, token: CancellationToken) => {
  if (!p || typeof p.uri !== 'string') return new ResponseError(ErrorCodes.InvalidParams, 'nflens/simulate needs {uri}');
  if (p.line !== undefined && (!Number.isInteger(p.line) || p.line < 0)) return new ResponseError(ErrorCodes.InvalidParams, 'line is a 0-based line number');
  if (p.packet !== undefined && typeof p.packet !== 'string') return new ResponseError(ErrorCodes.InvalidParams, 'packet is a packet line');
  const doc = documents.get(p.uri);
  const a = doc && !isRoutingDoc(doc) ? await analysed(p.uri, token) : undefined;
  if (!a) return new ResponseError(ErrorCodes.InvalidParams, `${p.uri} is not an open ruleset`);
  // A ruleset that belongs to a node profile walks with the profile's routing and ipsets.
  const profile = profileOf(a).context?.profile;
  const env = profile ? { routing: profile.routing, ipsets: profile.ipsetsByName } : {};
  try {
    const r = simulate(a.ruleset, p, env);
    return 'error' in r ? new ResponseError(ErrorCodes.InvalidParams, r.error) : r.result;
  } catch (e) {
    connection.console.error(`simulate failed: ${(e as Error)?.stack ?? e}`);
    return new ResponseError(ErrorCodes.InternalError, `simulate failed: ${(e as Error)?.message ?? e}`);
  }
});

documents.listen(connection);
connection.listen();
