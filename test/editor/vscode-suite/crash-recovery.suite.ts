/// <reference types="mocha" />
// Crash recovery (issue 7): the language server is killed with SIGKILL while the user edits; the client
// restarts it, no edit is lost, and the new server's view of the document is the editor's.
// The server is found as the extension host's child process whose argv holds our dist/server.js (Linux /proc).
import * as assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';

const EXT_ID = 'netfilter-lens.netfilter-lens';
// vscode-languageclient's public State.
const RUNNING = 2;
const STATE_NAMES: Record<number, string> = { 1: 'stopped', 2: 'running', 3: 'starting', 4: 'start failed' };

interface ClientLike {
  readonly state: number;
  onDidChangeState(f: (e: { oldState: number; newState: number }) => void): vscode.Disposable;
  sendRequest<R>(method: string, params: unknown): Promise<R>;
}

async function until<T>(what: string, f: () => T | undefined | false | Promise<T | undefined | false>, ms = 60000, detail?: () => string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}${detail ? `: ${detail()}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Live children of this extension host whose argv runs `serverJs`. */
function serverPids(serverJs: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      // "pid (comm) state ppid ...": comm may hold spaces, so read after the last ')'.
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) !== process.pid || state === 'Z') continue;
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').includes(serverJs)) out.push(Number(d));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

describe('crash recovery: the server is killed while the user types', () => {
  it('the client restarts the server, no edit is lost, and the new server sees the editor text', async function () {
    this.timeout(240000);
    // The server's pid is read from /proc (Linux); elsewhere the suite has no way to find it.
    if (!existsSync(`/proc/${process.pid}/stat`)) this.skip();
    const ext = vscode.extensions.getExtension<{ languageClient?: ClientLike }>(EXT_ID);
    assert.ok(ext, `${EXT_ID} is installed`);
    const api = await ext.activate();
    const client = api?.languageClient;
    assert.ok(client, 'activate() returns the language client');
    const serverJs = join(ext.extensionPath, 'dist/server.js');

    // The text the editor must end with, kept beside the document and edited the same way.
    const lines = ['*filter', ':INPUT ACCEPT [0:0]', '-A INPUT -j MISSING', 'COMMIT', ''];
    const doc = await vscode.workspace.openTextDocument({ language: 'iptables', content: lines.join('\n') });
    const ed = await vscode.window.showTextDocument(doc);
    const undefinedChains = () => vscode.languages.getDiagnostics(doc.uri).filter((x) => x.code === 'undefined-chain');
    const diagDump = () => JSON.stringify(vscode.languages.getDiagnostics(doc.uri).map((x) => [x.code, x.range.start.line, x.message]));
    await until('undefined-chain for MISSING', () => undefinedChains().some((x) => x.range.start.line === 2 && /MISSING/.test(x.message)), 60000, diagDump);

    const states: string[] = [];
    let runningAgainAt = Infinity;
    const sub = client.onDidChangeState((e) => {
      states.push(`${STATE_NAMES[e.oldState]}→${STATE_NAMES[e.newState]}`);
      if (e.newState === RUNNING) runningAgainAt = Math.min(runningAgainAt, Date.now());
    });
    /** Inserts `text` as a new line before line `at`, in the editor and in `lines`. */
    const insertLine = async (at: number, text: string) => {
      assert.ok(await ed.edit((e) => e.insert(new vscode.Position(at, 0), text + '\n')), `edit "${text}" applied`);
      lines.splice(at, 0, text);
    };
    const commitLine = () => lines.indexOf('COMMIT');
    let n = 0;
    const addRule = () => insertLine(commitLine(), `-A INPUT -s 10.${n >> 8}.${n++ & 255}.1/32 -j ACCEPT`);

    try {
      // Two crashes in a row: the default budget is 4 restarts in 3 minutes.
      for (let round = 1; round <= 2; round++) {
        for (let i = 0; i < 3; i++) await addRule();
        const before = await until('one running server process', () => {
          const p = serverPids(serverJs);
          return client.state === RUNNING && p.length === 1 ? p[0] : undefined;
        }, 60000, () => `state ${STATE_NAMES[client.state]}, pids ${serverPids(serverJs)}`);
        states.length = 0;
        runningAgainAt = Infinity;

        // Frozen first (SIGSTOP), so that some edits surely reach only this server and die with it: the first
        // declares MISSING (round 1) or takes back the last round's NOWHERE rule, so an old diagnostic must go.
        process.kill(before, 'SIGSTOP');
        // Per edit after the freeze: the client's state once it was applied, and when.
        const editStates: number[] = [];
        const editTimes: number[] = [];
        if (round === 1) await insertLine(2, ':MISSING - [0:0]');
        else {
          const i = lines.indexOf('-A INPUT -j NOWHERE');
          assert.ok(await ed.edit((e) => e.delete(new vscode.Range(i, 0, i + 1, 0))));
          lines.splice(i, 1);
        }
        for (let i = 0; i < 3; i++) await addRule();
        const frozen = 4;
        process.kill(before, 'SIGKILL');
        // Keep typing through the restart.
        // Edits back to back until the client has noticed the crash and runs the new server, then five more.
        const end = Date.now() + 120000;
        while (!(client.state === RUNNING && states.some((s) => s.endsWith('→running')))) {
          assert.ok(Date.now() < end, `no restart within 120 s; states ${states.join(', ')}`);
          await addRule();
          editStates.push(client.state);
          editTimes.push(Date.now());
        }
        for (let i = 0; i < 5; i++) {
          await new Promise((r) => setTimeout(r, 20));
          await addRule();
          editStates.push(client.state);
          editTimes.push(Date.now());
        }
        // The last edit adds a jump to an undefined chain: its diagnostic can only come from the new server.
        const nowhere = commitLine();
        await insertLine(nowhere, '-A INPUT -j NOWHERE');

        const fresh = await until('a new server process', () => {
          const p = serverPids(serverJs);
          return p.length === 1 && p[0] !== before ? p[0] : undefined;
        }, 60000, () => `pids ${serverPids(serverJs)}`);
        const down = editStates.filter((s) => s !== RUNNING).length;
        const beforeRestart = editTimes.filter((t) => t < runningAgainAt).length;
        console.log(`round ${round}: froze and killed server ${before}, restarted as ${fresh}; states ${states.join(', ')}; ${frozen} edits to the frozen server, ${editStates.length + 1} after the kill, ${beforeRestart} of these before the new server ran, ${down} seen while the client was not running`);
        assert.ok(states.includes('running→starting') || states.includes('running→stopped'), `the client saw the crash: ${states.join(', ')}`);

        // No edit lost in the editor.
        assert.equal(doc.getText(), lines.join('\n'));
        // The new server has the same text: its diagnostics follow the last edits...
        await until('the new server\'s diagnostics', () => {
          const u = undefinedChains();
          return u.length === 1 && u[0].range.start.line === nowhere && /NOWHERE/.test(u[0].message);
        }, 60000, diagDump);
        // ...its outline lists every rule on its line...
        const expectRules = lines.flatMap((l, i) => (l.startsWith('-A ') ? [[i, l]] : [])) as [number, string][];
        const rules = await until('the outline of every rule', async () => {
          const syms = await vscode.commands.executeCommand<vscode.DocumentSymbol[]>('vscode.executeDocumentSymbolProvider', doc.uri);
          const input = syms?.[0]?.children.find((c) => c.name === 'INPUT');
          return input && input.children.length === expectRules.length ? input.children : undefined;
        });
        assert.deepEqual(rules.map((r) => r.range.start.line), expectRules.map(([i]) => i));
        rules.forEach((r, k) => assert.ok(expectRules[k][1].includes(r.name.replace(/…$/, '')), `${r.name} / ${expectRules[k][1]}`));
        // ...and hover answers (MISSING is declared since round 1).
        const at = lines.indexOf('-A INPUT -j MISSING');
        const hs = await until('hover', async () => {
          const r = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, new vscode.Position(at, 14));
          return r?.length ? r : undefined;
        });
        const md = hs.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
        assert.match(md, /MISSING/);
        assert.match(md, /user-defined chain/);
        // ...and our own requests reach it: "Simulate packet from here" on the last rule typed.
        const last = lines.reduce((k, l, i) => (l.includes('-j ACCEPT') ? i : k), -1);
        const src = /-s (\S+)\/32/.exec(lines[last])![1];
        const sim: { verdict: string; witness?: { packet: string } } = await client.sendRequest('nflens/simulate', { uri: doc.uri.toString(), line: last });
        assert.equal(sim.verdict, 'ACCEPT');
        assert.ok(sim.witness?.packet.includes(`${src}:`), `${sim.witness?.packet} comes from ${src}`);
      }
    } finally {
      sub.dispose();
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    }
  });
});
