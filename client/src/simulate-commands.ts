// "Simulate packet from here" (code lens) and "Simulate packet..." (whole file): propose the witness
// packet, let the user edit it, ask the server (`nflens/simulate`, pure computation on the open
// document: no program is run) and show the trace in a webview plus decorations on the rules visited.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { decorationLines, renderTraceHtml, type TraceView } from './trace-html';

export interface SimulateArgs {
  uri?: string;
  /** 0-based line of a rule or chain. */
  line?: number;
  /** Skip the input box (tests, re-runs). */
  packet?: string;
  fromStart?: boolean;
}

/** What a command run returns (for tests and scripts). */
export interface SimulateSummary {
  verdict: string;
  packet: string;
  steps: number;
  decorated: { matched: number[]; nomatch: number[]; verdict?: number };
  panel: boolean;
}

interface Shown {
  uri: string;
  trace: TraceView;
  args: SimulateArgs;
  lines: { matched: number[]; nomatch: number[]; verdict?: number };
}

export class SimulateController implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private shown: Shown | undefined;
  private readonly matched = vscode.window.createTextEditorDecorationType({
    isWholeLine: true,
    backgroundColor: new vscode.ThemeColor('diffEditor.insertedLineBackground'),
    overviewRulerColor: new vscode.ThemeColor('testing.iconPassed'),
    overviewRulerLane: vscode.OverviewRulerLane.Left,
  });
  private readonly nomatch = vscode.window.createTextEditorDecorationType({ isWholeLine: true, opacity: '0.55' });
  private readonly verdict = vscode.window.createTextEditorDecorationType({
    isWholeLine: true,
    borderWidth: '0 0 0 3px',
    borderStyle: 'solid',
    borderColor: new vscode.ThemeColor('focusBorder'),
    after: { margin: '0 0 0 2em', color: new vscode.ThemeColor('editorCodeLens.foreground'), fontStyle: 'italic' },
  });
  private readonly subs: vscode.Disposable[] = [];

  constructor(private readonly context: vscode.ExtensionContext, private readonly client: () => LanguageClient | undefined) {
    this.subs.push(
      vscode.commands.registerCommand('nflens.simulateFromHere', (a?: SimulateArgs) => this.run(a ?? this.atCursor(true))),
      vscode.commands.registerCommand('nflens.simulatePacket', (a?: SimulateArgs) => this.run({ ...this.atCursor(false), ...(a ?? {}) })),
      // Decorations describe one text: an edit makes them wrong, so they go.
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (this.shown && e.document.uri.toString() === this.shown.uri && e.contentChanges.length) this.clearDecorations();
      }),
      vscode.window.onDidChangeVisibleTextEditors(() => this.decorate()),
      // Not in the palette: what the decorations show now (the editor API cannot read them back).
      vscode.commands.registerCommand('nflens.traceDecorations', () => this.shown && { uri: this.shown.uri, ...this.shown.lines }),
    );
  }

  private atCursor(withLine: boolean): SimulateArgs {
    const ed = vscode.window.activeTextEditor;
    if (!ed) return {};
    return withLine ? { uri: ed.document.uri.toString(), line: ed.selection.active.line } : { uri: ed.document.uri.toString() };
  }

  async run(args: SimulateArgs): Promise<SimulateSummary | undefined> {
    const client = this.client();
    if (!client) { void vscode.window.showErrorMessage('Netfilter Lens: the language server is not running.'); return undefined; }
    if (!args.uri) { void vscode.window.showErrorMessage('Netfilter Lens: open a ruleset to simulate a packet.'); return undefined; }
    const base = { uri: args.uri, line: args.line, fromStart: args.fromStart };
    let trace: TraceView;
    try {
      let packet = args.packet;
      if (packet === undefined) {
        // Ask for the proposal (the rule's witness, or a default for the whole file) first.
        const proposal = await client.sendRequest<TraceView>('nflens/simulate', base);
        packet = await vscode.window.showInputBox({
          title: args.line !== undefined ? `Simulate packet from line ${args.line + 1}` : 'Simulate packet',
          prompt: 'Packet: [ip|ip6] PROTO SRC[:PORT] -> DST[:PORT] [iif IF] [oif IF] [mark V] [ctmark V] [ct STATE] [uid N] ...',
          value: proposal.packetIn,
          ignoreFocusOut: true,
        });
        if (packet === undefined) return undefined;
        trace = packet === proposal.packetIn ? proposal : await client.sendRequest<TraceView>('nflens/simulate', { ...base, packet });
      } else {
        trace = await client.sendRequest<TraceView>('nflens/simulate', { ...base, packet });
      }
    } catch (e) {
      void vscode.window.showErrorMessage(`Netfilter Lens: ${(e as Error)?.message ?? e}`);
      return undefined;
    }
    const lines = decorationLines(trace);
    this.shown = { uri: args.uri, trace, args: { ...args, packet: trace.packetIn }, lines };
    this.showPanel();
    this.decorate();
    return { verdict: trace.verdict, packet: trace.packetIn, steps: trace.steps.length, decorated: lines, panel: !!this.panel };
  }

  private showPanel(): void {
    const s = this.shown!;
    if (!this.panel) {
      this.panel = vscode.window.createWebviewPanel('nflens.trace', 'Packet trace', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {
        enableScripts: true,
        localResourceRoots: [this.context.extensionUri],
      });
      this.panel.onDidDispose(() => (this.panel = undefined), null, this.subs);
      this.panel.webview.onDidReceiveMessage((m: { type?: string; line?: unknown }) => this.onMessage(m), null, this.subs);
    }
    const fileName = vscode.Uri.parse(s.uri).path.split('/').pop();
    this.panel.title = `Packet trace: ${s.trace.verdict}`;
    this.panel.webview.html = renderTraceHtml(s.trace, { cspSource: this.panel.webview.cspSource, nonce: randomBytes(24).toString('base64'), fileName });
    this.panel.reveal(vscode.ViewColumn.Beside, true);
  }

  private async onMessage(m: { type?: string; line?: unknown }): Promise<void> {
    const s = this.shown;
    if (!s) return;
    if (m.type === 'reveal' && typeof m.line === 'number' && Number.isInteger(m.line) && m.line > 0) {
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(s.uri));
      const line = Math.min(m.line - 1, doc.lineCount - 1);
      const ed = await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One, selection: new vscode.Range(line, 0, line, 0) });
      ed.revealRange(doc.lineAt(line).range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    } else if (m.type === 'fromStart') {
      await this.run({ ...s.args, fromStart: true });
    }
  }

  private decorate(): void {
    const s = this.shown;
    if (!s) return;
    for (const ed of vscode.window.visibleTextEditors) {
      if (ed.document.uri.toString() !== s.uri) continue;
      const at = (l: number) => ed.document.lineAt(Math.min(l - 1, ed.document.lineCount - 1)).range;
      ed.setDecorations(this.matched, s.lines.matched.map(at));
      ed.setDecorations(this.nomatch, s.lines.nomatch.map(at));
      const v = s.lines.verdict;
      ed.setDecorations(this.verdict, v ? [{ range: at(v), renderOptions: { after: { contentText: `⟵ ${s.trace.verdict}` } } }] : []);
    }
  }

  private clearDecorations(): void {
    for (const ed of vscode.window.visibleTextEditors) {
      if (ed.document.uri.toString() !== this.shown?.uri) continue;
      for (const t of [this.matched, this.nomatch, this.verdict]) ed.setDecorations(t, []);
    }
    this.shown = this.shown && { ...this.shown, lines: { matched: [], nomatch: [] } };
  }

  dispose(): void {
    this.panel?.dispose();
    for (const d of [...this.subs, this.matched, this.nomatch, this.verdict]) d.dispose();
  }
}
