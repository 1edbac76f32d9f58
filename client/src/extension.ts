// The VS Code client: starts the bundled language server (dist/server.js) over IPC for iptables and
// nftables documents, and moves plain-text and untitled documents that look like rulesets to the
// right language. In restricted mode it does the same: the server only parses and walks packets through
// the open ruleset (pure computation); nothing runs a program.
import * as vscode from 'vscode';
import { LanguageClient, RevealOutputChannelOn, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';
import { detectLanguage } from './language-detect';
import { SimulateController } from './simulate-commands';

let client: LanguageClient | undefined;

const LANGUAGES = ['iptables', 'nftables', 'iproute', 'ipset', 'nflens-node'];

/** What activate() returns: the integration suite watches the client's state across a server crash. */
export interface NetfilterLensApi {
  readonly languageClient: LanguageClient | undefined;
}

export async function activate(context: vscode.ExtensionContext): Promise<NetfilterLensApi> {
  const module = context.asAbsolutePath('dist/server.js');
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc },
    debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6009'] } },
  };
  const config = vscode.workspace.getConfiguration('netfilterLens');
  const clientOptions: LanguageClientOptions = {
    // Rulesets, and the routing files of a node profile (ip rule / route / addr, rt_tables, ipset, .nflens-node).
    documentSelector: LANGUAGES.flatMap((language) => ['file', 'untitled', 'vscode-remote'].map((scheme) => ({ scheme, language }))),
    initializationOptions: { diagnosticsDelay: config.get<number>('diagnostics.delay', 250) },
    // A crashed server is restarted (up to 4 times in 3 minutes, then the user is told); on restart the
    // client opens every document again with its current text, so edits made while it was down are kept.
    // A restart is logged, not popped up: the output channel opens only on errors.
    connectionOptions: { maxRestartCount: 4 },
    revealOutputChannelOn: RevealOutputChannelOn.Error,
  };
  client = new LanguageClient('netfilterLens', 'Netfilter Lens', serverOptions, clientOptions);
  await client.start();
  context.subscriptions.push({ dispose: () => void client?.stop() });
  // The packet walk runs in the server on the open document: available in restricted mode too.
  context.subscriptions.push(new SimulateController(context, () => client));
  // The mark map of the active ruleset, as a read-only markdown document (computed by the server).
  context.subscriptions.push(
    vscode.commands.registerCommand('nflens.showMarkMap', async () => {
      const ed = vscode.window.activeTextEditor;
      if (!ed || !client) return undefined;
      const { text } = await client.sendRequest<{ text: string }>('nflens/markMap', { uri: ed.document.uri.toString() });
      const doc = await vscode.workspace.openTextDocument({ language: 'markdown', content: `# Mark map of ${ed.document.fileName}\n\n\`\`\`\n${text}\n\`\`\`\n` });
      await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Beside });
      return text;
    }),
  );

  const maybeSwitch = (doc: vscode.TextDocument) => {
    if (doc.languageId !== 'plaintext' || !vscode.workspace.getConfiguration('netfilterLens').get<boolean>('detectContent', true)) return;
    const lang = detectLanguage(doc.getText());
    if (lang) void vscode.languages.setTextDocumentLanguage(doc, lang);
  };
  vscode.workspace.textDocuments.forEach(maybeSwitch);
  context.subscriptions.push(
    vscode.workspace.onDidOpenTextDocument(maybeSwitch),
    // A ruleset pasted into an untitled editor.
    vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.document.isUntitled) maybeSwitch(e.document);
    }),
  );
  return {
    get languageClient() {
      return client;
    },
  };
}

export async function deactivate(): Promise<void> {
  await client?.stop();
  client = undefined;
}
