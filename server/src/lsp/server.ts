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
  ProposedFeatures,
  ResponseError,
  SemanticTokensBuilder,
  StreamMessageWriter,
  SymbolKind,
  TextDocuments,
  TextDocumentSyncKind,
  type CompletionItem,
  type Diagnostic as LspDiagnostic,
  type DocumentSymbol,
  type InitializeResult,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import type { Diagnostic } from '../model/ruleset';
import { AnalysisHost } from '../ide/host';
import { definition, documentHighlights, prepareRename, references, rename } from '../ide/navigation';
import { documentSymbols, foldingRanges, workspaceSymbols } from '../ide/symbols';
import { hover } from '../ide/hover';
import { completions } from '../ide/completion';
import { semanticTokens } from '../ide/semantic-tokens';
import { findProfileForDocument, overlayFs, ProfileCache, standaloneContext, uriToPath, type ProfileLookup, type RoutingContext } from '../ide/routing-profile';
import { detectRoutingFileKind, routingDocumentSymbols, routingParseDiagnostics, ROUTING_LANGUAGE_IDS, type RoutingFileKind } from '../ide/routing-symbols';
import { routingDiagnostics } from '../ide/routing-ide';
import { routingDefinition, routingHover } from '../ide/routing-ide';
import type { HoverResult, Location } from '../ide/types';
import { simulate, simulateLenses, type SimulateParams } from '../ide/simulate-lens';
import { codeActions } from '../ide/code-actions';
import { markMap, markMapText } from '../analysis/mark-analysis';
import { ResyncMessageReader } from './resync-reader';
import type { DocumentAnalysis } from '../ide/document';
import { SEMANTIC_TOKEN_MODIFIERS, SEMANTIC_TOKEN_TYPES, type CompletionKind, type SymbolItem, type SymbolKind as IdeSymbolKind } from '../ide/types';

// Over stdio, a reader that survives a bad frame (the stock one stays deaf after one); IPC as usual.
const connection = process.argv.includes('--stdio')
  ? createConnection(ProposedFeatures.all, new ResyncMessageReader(process.stdin), new StreamMessageWriter(process.stdout))
  : createConnection(ProposedFeatures.all);
const documents = new TextDocuments(TextDocument);
const host = new AnalysisHost();
/** Milliseconds of quiet typing before diagnostics are computed and published. */
let diagnosticsDelay = 250;
const timers = new Map<string, NodeJS.Timeout>();

connection.onInitialize((params): InitializeResult => {
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
    else publishDiagnostics(uri);
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

function publishDiagnostics(uri: string) {
  const doc = documents.get(uri);
  const a = host.get(uri);
  if (!doc || !a) return;
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
  host.remove(e.document.uri);
  void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
});

connection.onHover((p) => {
  const doc = documents.get(p.textDocument.uri);
  if (doc && isRoutingDoc(doc)) {
    const { ctx } = routingContextOf(doc);
    const h = ctx && routingHover(ctx, { uri: doc.uri, text: doc.getText() }, p.position.line, p.position.character);
    return h ? { contents: { kind: 'markdown', value: h.markdown }, range: h.range } : null;
  }
  const a = host.get(p.textDocument.uri);
  if (!a) return null;
  const h = hover(a, p.position.line, p.position.character);
  const r = routingHoverFor(a, p.position.line, p.position.character);
  if (!h && !r) return null;
  const value = [h?.markdown, r?.markdown].filter(Boolean).join('\n\n---\n\n');
  return { contents: { kind: 'markdown', value }, range: (h ?? r)!.range };
});

connection.onDefinition((p) => {
  const doc = documents.get(p.textDocument.uri);
  if (doc && isRoutingDoc(doc)) {
    const { ctx } = routingContextOf(doc);
    return ctx ? routingDefinition(ctx, { uri: doc.uri, text: doc.getText() }, p.position.line, p.position.character) : [];
  }
  const a = host.get(p.textDocument.uri);
  return a ? [...definition(a, p.position.line, p.position.character), ...routingDefinitionFor(a, p.position.line, p.position.character)] : [];
});

// Quick fixes the analyses attach to their diagnostics (declare a chain, fix a mask, remove a dead rule),
// computed on the analysed text so edits and diagnostics agree on positions.
connection.onCodeAction((p) => {
  const doc = documents.get(p.textDocument.uri);
  const a = host.get(p.textDocument.uri);
  if (!doc || !a || isRoutingDoc(doc) || a.version !== doc.version) return [];
  const toLsp = toLspDiagnostic(doc.uri);
  return codeActions(a.text, a.diagnostics, p.range).map((c) => ({
    title: c.title,
    kind: CodeActionKind.QuickFix,
    diagnostics: [toLsp(c.diagnostic)],
    edit: { changes: { [doc.uri]: c.edits } },
  }));
});

connection.onReferences((p) => {
  const a = host.get(p.textDocument.uri);
  return a ? references(a, p.position.line, p.position.character, p.context.includeDeclaration) : [];
});

connection.onDocumentHighlight((p) => {
  const a = host.get(p.textDocument.uri);
  if (!a) return [];
  return documentHighlights(a, p.position.line, p.position.character).map((h) => ({
    range: h.range,
    kind: h.kind === 'write' ? DocumentHighlightKind.Write : h.kind === 'read' ? DocumentHighlightKind.Read : DocumentHighlightKind.Text,
  }));
});

connection.onPrepareRename((p) => {
  const a = host.get(p.textDocument.uri);
  const r = a && prepareRename(a, p.position.line, p.position.character);
  if (!r) return null;
  if ('error' in r) return new ResponseError(ErrorCodes.InvalidRequest, r.error);
  return r;
});

connection.onRenameRequest((p) => {
  const a = host.get(p.textDocument.uri);
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

connection.onDocumentSymbol((p) => {
  const doc = documents.get(p.textDocument.uri);
  if (doc && isRoutingDoc(doc)) return routingDocumentSymbols(routingKind(doc), doc.getText(), { path: uriToPath(doc.uri) }).map(toDocumentSymbol);
  const a = host.get(p.textDocument.uri);
  return a ? documentSymbols(a).map(toDocumentSymbol) : [];
});

connection.onWorkspaceSymbol((p) =>
  workspaceSymbols(host.all(), p.query).map((s) => ({
    name: s.name,
    kind: SYMBOL_KIND[s.kind],
    containerName: s.containerName,
    location: s.location,
  })),
);

connection.onFoldingRanges((p) => {
  const a = host.get(p.textDocument.uri);
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

connection.onCompletion((p): CompletionItem[] => {
  const a = host.get(p.textDocument.uri);
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

connection.languages.semanticTokens.on((p) => {
  const a = host.get(p.textDocument.uri);
  const b = new SemanticTokensBuilder();
  if (!a) return b.build();
  for (const t of semanticTokens(a)) {
    let mods = 0;
    for (const m of t.modifiers) mods |= 1 << SEMANTIC_TOKEN_MODIFIERS.indexOf(m);
    b.push(t.line, t.character, t.length, SEMANTIC_TOKEN_TYPES.indexOf(t.type), mods);
  }
  return b.build();
});

// "Simulate packet from here" (issue 5): lenses above rules and chains; the walk itself answers
// `nflens/simulate` from the open document (pure computation, nothing is run).
connection.onCodeLens((p) => {
  const doc = documents.get(p.textDocument.uri);
  if (!doc || isRoutingDoc(doc)) return [];
  const a = host.get(p.textDocument.uri);
  if (!a) return [];
  return simulateLenses(a.uri, a.ruleset).map((l) => ({ range: l.range, command: { title: l.title, command: l.command, arguments: l.arguments } }));
});

// The mark map (issue 4): for every packet-mark and ct-mark bit, the rules that set, clear, copy and test it.
connection.onRequest('nflens/markMap', (p: { uri: string }) => {
  const a = host.get(p?.uri);
  if (!a) throw new ResponseError(ErrorCodes.InvalidParams, `not an open ruleset: ${p?.uri}`);
  return { text: markMapText(markMap(a.ruleset)) || 'No rule of this file sets or tests a mark.' };
});

connection.onRequest('nflens/simulate', (p: SimulateParams) => {
  if (!p || typeof p.uri !== 'string') return new ResponseError(ErrorCodes.InvalidParams, 'nflens/simulate needs {uri}');
  if (p.line !== undefined && (!Number.isInteger(p.line) || p.line < 0)) return new ResponseError(ErrorCodes.InvalidParams, 'line is a 0-based line number');
  if (p.packet !== undefined && typeof p.packet !== 'string') return new ResponseError(ErrorCodes.InvalidParams, 'packet is a packet line');
  const doc = documents.get(p.uri);
  const a = doc && !isRoutingDoc(doc) ? host.get(p.uri) : undefined;
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
