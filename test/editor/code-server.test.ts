// The extension inside the real VS Code workbench (code-server, from npm) driven by headless Chromium:
// 1. the Mocha integration suite (test/editor/vscode-suite) through the smoke-test driver's payload;
// 2. a UI test: the packaged .vsix installed with --install-extension, a seed opened, a --set-xmark
//    hovered, the hover checked and a screenshot saved to out/screenshots/; then the "Simulate packet
//    from here" lens clicked, the witness accepted and the trace panel read and shot.
// Needs what test/editor/code-server/install.sh installs; skips with the reason otherwise.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, repoRoot } from '../lsp/lsp-client';

const editorDir = process.env.NFLENS_EDITOR_DIR ?? join(homedir(), '.cache/nflens-editor');
const node24 = join(editorDir, 'node24/node_modules/node/bin/node');
const codeServerBin = join(editorDir, 'code-server/node_modules/.bin/code-server');
const chromiumPath = process.env.NFLENS_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'];

function skipReason(): string | false {
  if (!existsSync(node24)) return `Node 24 not found at ${node24} (run test/editor/code-server/install.sh)`;
  if (!existsSync(codeServerBin)) return `code-server not found at ${codeServerBin} (run test/editor/code-server/install.sh)`;
  if (!existsSync(chromiumPath)) return `chromium not found at ${chromiumPath} (apt-get install -y chromium)`;
  return false;
}
const skip = skipReason();
if (skip) console.log(`# skipping the code-server tests: ${skip}`);

function newestMtime(dir: string): number {
  let t = 0;
  for (const f of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, f.name);
    t = Math.max(t, f.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** ensureBuilt() looks at the server's sources only: rebuild when the client's are newer than its bundle. */
function ensureClientBuilt(): void {
  const bundle = join(repoRoot, 'dist/client.js');
  if (existsSync(bundle) && statSync(bundle).mtimeMs >= newestMtime(join(repoRoot, 'client/src'))) return;
  const r = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(r.status, 0, `build failed:\n${r.stdout}\n${r.stderr}`);
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
    s.on('error', rej);
  });
}

interface Running {
  proc: ChildProcess;
  port: number;
  dir: string;
  log: string;
}

async function startCodeServer(folder: string, extensionsDir: string, extra: string[] = []): Promise<Running> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'nflens-cs-'));
  const proc = spawn(node24, [realpathSync(codeServerBin), '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry',
    '--disable-update-check', '--disable-workspace-trust', '--user-data-dir', join(dir, 'user'), '--extensions-dir', extensionsDir, ...extra, folder], {
    env: { ...process.env, XDG_CONFIG_HOME: join(dir, 'config'), XDG_DATA_HOME: join(dir, 'data'), XDG_CACHE_HOME: join(dir, 'cache') },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: the extension host and language server go with it
  });
  const r: Running = { proc, port, dir, log: '' };
  proc.stdout!.on('data', (d) => (r.log += d));
  proc.stderr!.on('data', (d) => (r.log += d));
  const end = Date.now() + 60000;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (proc.exitCode !== null || Date.now() > end) throw new Error(`code-server did not start:\n${r.log}`);
    await new Promise((res) => setTimeout(res, 200));
  }
  return r;
}

async function stopCodeServer(r: Running | undefined) {
  if (!r) return;
  const group = (sig: NodeJS.Signals) => {
    try {
      if (r.proc.pid) process.kill(-r.proc.pid, sig);
    } catch {
      // already gone
    }
  };
  if (r.proc.exitCode === null) {
    const exited = new Promise((res) => r.proc.once('exit', res));
    group('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    if (!(await Promise.race([exited.then(() => true), new Promise((res) => (timer = setTimeout(() => res(false), 5000)))]))) group('SIGKILL');
    clearTimeout(timer);
  }
  // The extension host and language server are in the same group: make sure none is left.
  group('SIGKILL');
  r.proc.stdout?.destroy();
  r.proc.stderr?.destroy();
  rmSync(r.dir, { recursive: true, force: true });
}

async function launchBrowser(profile: string) {
  const { chromium } = await import('playwright-core');
  return chromium.launchPersistentContext(profile, { executablePath: chromiumPath, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1400, height: 1000 } });
}

describe('code-server: the real workbench and extension host', { skip, timeout: 600000 }, () => {
  before(() => {
    ensureBuilt();
    ensureClientBuilt();
    const b = spawnSync(process.execPath, [join(repoRoot, 'test/editor/build-suite.mjs')], { encoding: 'utf8' });
    assert.equal(b.status, 0, b.stderr);
  });

  describe('integration suite (Mocha, vscode API) through the smoke-test driver', () => {
    let cs: Running | undefined;
    let profile: string | undefined;
    after(async () => {
      await stopCodeServer(cs);
      if (profile) rmSync(profile, { recursive: true, force: true });
    });

    it('the suite passes inside code-server', { timeout: 300000 }, async () => {
      const ext = mkdtempSync(join(tmpdir(), 'nflens-cs-ext-'));
      try {
        const folder = join(repoRoot, 'examples');
        cs = await startCodeServer(folder, ext, ['--vscode-option', 'enable-smoke-test-driver']);
        const remote = (p: string) => `vscode-remote://127.0.0.1:${cs!.port}${p}`;
        const payload = [
          ['extensionDevelopmentPath', remote(repoRoot)],
          ['extensionTestsPath', remote(join(repoRoot, 'out/test/index.js'))],
          ['skipWelcome', 'true'],
        ];
        profile = mkdtempSync(join(tmpdir(), 'nflens-chromium-'));
        const ctx = await launchBrowser(profile);
        try {
          const page = ctx.pages()[0] ?? (await ctx.newPage());
          const logs: string[] = [];
          let exit: (code: number) => void = () => {};
          const exited = new Promise<number>((r) => (exit = r));
          await page.exposeFunction('codeAutomationExit', (code: number) => exit(code));
          await page.exposeFunction('codeAutomationLog', (type: string, args: unknown[]) => logs.push(`${type}: ${args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}`));
          const t = Date.now();
          await page.goto(`http://127.0.0.1:${cs.port}/?folder=${encodeURIComponent(folder)}&payload=${encodeURIComponent(JSON.stringify(payload))}`);
          let timer: NodeJS.Timeout | undefined;
          const code = await Promise.race([exited, new Promise<number>((r) => (timer = setTimeout(() => r(-1), 240000)))]);
          clearTimeout(timer);
          // The workbench logs a lot (chat, accounts); keep Mocha's lines.
          const mochaLines = logs.filter((l) => /✔|✖|passing|failing|pending|Error|assert|round \d: /i.test(l) && !/\[(AgentHost|ChatModelSelection)\]/.test(l));
          console.log(`# integration suite: exit ${code} after ${Date.now() - t} ms\n${mochaLines.map((l) => '#   ' + l.replace(/\n/g, '\n#   ')).join('\n')}`);
          assert.equal(code, 0, `suite failed (exit ${code}):\n${logs.join('\n')}\ncode-server log:\n${cs.log.slice(-3000)}`);
          assert.ok(logs.some((l) => /passing/.test(l)), 'mocha reported its results');
        } finally {
          await ctx.close();
        }
      } finally {
        rmSync(ext, { recursive: true, force: true });
      }
    });
  });

  describe('UI: the packaged .vsix, a hover over --set-xmark, a screenshot', () => {
    let cs: Running | undefined;
    let ext: string | undefined;
    let profile: string | undefined;
    after(async () => {
      await stopCodeServer(cs);
      for (const d of [ext, profile]) if (d) rmSync(d, { recursive: true, force: true });
    });

    it('installs with --install-extension and shows the mark arithmetic on hover', { timeout: 300000 }, async () => {
      const pkg = spawnSync('npm', ['run', '--silent', 'package'], { cwd: repoRoot, encoding: 'utf8' });
      assert.equal(pkg.status, 0, pkg.stdout + pkg.stderr);
      ext = mkdtempSync(join(tmpdir(), 'nflens-cs-ext-'));
      const inst = spawnSync(node24, [realpathSync(codeServerBin), '--extensions-dir', ext, '--install-extension', join(repoRoot, 'netfilter-lens.vsix')], { encoding: 'utf8', timeout: 120000 });
      assert.equal(inst.status, 0, inst.stdout + inst.stderr);
      assert.ok(readdirSync(ext).some((d) => d.startsWith('netfilter-lens.netfilter-lens-')), `installed: ${readdirSync(ext)}`);

      const folder = join(repoRoot, 'examples');
      cs = await startCodeServer(folder, ext);
      profile = mkdtempSync(join(tmpdir(), 'nflens-chromium-'));
      const ctx = await launchBrowser(profile);
      try {
        const page = ctx.pages()[0] ?? (await ctx.newPage());
        const t = Date.now();
        await page.goto(`http://127.0.0.1:${cs.port}/?folder=${encodeURIComponent(folder)}`);
        await page.locator('.monaco-workbench').waitFor({ timeout: 60000 });
        const workbenchMs = Date.now() - t;
        // Quick Open the seed.
        await page.keyboard.press('Control+P');
        await page.locator('.quick-input-widget input').waitFor({ timeout: 30000 });
        await page.keyboard.type('ztunnel-ambient.rules');
        await page.locator('.quick-input-list .monaco-list-row').first().waitFor({ timeout: 30000 });
        await page.keyboard.press('Enter');
        const line = page.locator('.view-line', { hasText: '-i istioin -j MARK --set-xmark 0x200/0x200' }).first();
        await line.waitFor({ timeout: 60000 });
        const token = line.locator('span > span', { hasText: /^--set-xmark$/ }).first();
        // The language server answers once it has started: hover until the hover shows our text.
        const hover = page.locator('.monaco-hover', { hasText: 'sets bit 0x200' });
        const end = Date.now() + 90000;
        while (!(await hover.isVisible())) {
          assert.ok(Date.now() < end, 'no hover with the mark arithmetic within 90 s');
          await page.mouse.move(0, 0);
          await token.hover();
          await hover.waitFor({ timeout: 3000 }).catch(() => {});
        }
        const hoverMs = Date.now() - t;
        const text = await hover.innerText();
        assert.match(text, /mark = \(mark AND NOT 0x200\) XOR 0x200/);
        assert.match(text, /0x10\s+0x210/);
        const shots = join(repoRoot, 'out/screenshots');
        mkdirSync(shots, { recursive: true });
        const shot = join(shots, 'hover-set-xmark.png');
        await page.screenshot({ path: shot });
        console.log(`# UI: workbench ${workbenchMs} ms, hover with the arithmetic ${hoverMs} ms; screenshot ${shot}`);

        // "Simulate packet from here": click the lens above rule 34, accept the proposed witness, read
        // the trace panel (a webview: two nested frames) and save a screenshot.
        await page.keyboard.press('Escape');
        await page.keyboard.press('Control+G');
        await page.locator('.quick-input-widget input').waitFor({ timeout: 30000 });
        await page.keyboard.type('34');
        await page.keyboard.press('Enter');
        const rule = page.locator('.view-line', { hasText: '-i vethfe50c7fb -j MARK --set-xmark 0x220/0x220' }).first();
        await rule.waitFor({ timeout: 30000 });
        // Lenses scrolled away stay in the DOM, hidden: only the visible ones count.
        const lensLinks = page.locator('.codelens-decoration a', { hasText: 'Simulate packet from here' }).filter({ visible: true });
        await lensLinks.first().waitFor({ timeout: 60000 });
        // The lens of line 34 is the last one drawn above its text. Lenses arrive after the jump and push
        // lines down, so measure until the layout settles (up to 10 s).
        let ruleBox = (await rule.boundingBox())!;
        let best: { i: number; y: number } | undefined;
        for (const stop = Date.now() + 10000; ; ) {
          ruleBox = (await rule.boundingBox())!;
          best = undefined;
          for (let i = 0; i < (await lensLinks.count()); i++) {
            const b = await lensLinks.nth(i).boundingBox();
            if (b && b.y < ruleBox.y && (!best || b.y > best.y)) best = { i, y: b.y };
          }
          if ((best && ruleBox.y - best.y < 40) || Date.now() > stop) break;
          await page.waitForTimeout(250);
        }
        assert.ok(best, 'a lens above rule 34');
        assert.ok(ruleBox.y - best.y < 40, 'the lens sits right above the rule');
        await lensLinks.nth(best.i).click();
        const box = page.locator('.quick-input-widget input');
        await box.waitFor({ timeout: 30000 });
        assert.match(await box.inputValue(), /iif vethfe50c7fb/);
        await page.keyboard.press('Enter');
        const trace = page.frameLocator('iframe.webview').frameLocator('iframe#active-frame');
        const verdict = trace.locator('#verdict');
        await verdict.waitFor({ timeout: 60000 });
        assert.match(await verdict.innerText(), /Verdict: ACCEPT/);
        const rows = await trace.locator('#steps tbody tr').count();
        assert.ok(rows >= 10, `${rows} steps shown`);
        assert.equal(await trace.locator('#steps a.rule', { hasText: /^34$/ }).count(), 1, 'rule 34 is a link');
        const traceShot = join(shots, 'simulate-trace.png');
        await page.screenshot({ path: traceShot });
        console.log(`# UI: trace panel with ${rows} steps; screenshot ${traceShot}`);
      } finally {
        await ctx.close();
      }
    });
  });
});
