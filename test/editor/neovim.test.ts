// Neovim headless as an independent LSP client (its own JSON-RPC framing, its own position handling):
// the same scenario as the protocol tests, driven by test/editor/neovim/scenario.lua.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, repoRoot, serverPath } from '../lsp/lsp-client';

const nvim = spawnSync('nvim', ['--version'], { encoding: 'utf8' });
const version = /NVIM v(\d+)\.(\d+)/.exec(nvim.stdout ?? '');
const skip = !version ? 'nvim not installed (apt-get install -y neovim)' : Number(version[1]) === 0 && Number(version[2]) < 7 ? `nvim ${version[0]} is older than 0.7` : false;
if (skip) console.log(`# skipping the Neovim client test: ${skip}`);

describe('Neovim headless as LSP client', { skip }, () => {
  let r: any;
  let ms = 0;
  before(() => {
    ensureBuilt();
    const dir = mkdtempSync(join(tmpdir(), 'nflens-nvim-'));
    try {
      const out = join(dir, 'result.json');
      const t = Date.now();
      const p = spawnSync('nvim', ['--headless', '-u', 'NONE', '-i', 'NONE', '-n', '-c', `luafile ${join(repoRoot, 'test/editor/neovim/scenario.lua')}`], {
        cwd: repoRoot,
        encoding: 'utf8',
        timeout: 60000,
        env: { ...process.env, NFLENS_SERVER: serverPath, NFLENS_FILE: join(repoRoot, 'examples/ztunnel-ambient.rules'), NFLENS_OUT: out, XDG_STATE_HOME: dir, XDG_DATA_HOME: dir, XDG_CACHE_HOME: dir },
      });
      ms = Date.now() - t;
      assert.equal(p.status, 0, `nvim exited ${p.status}: ${p.stderr}${p.stdout}`);
      r = JSON.parse(readFileSync(out, 'utf8'));
      console.log(`# nvim scenario: ${ms} ms in all; hover ${r.hover_ms.toFixed(1)} ms, definition ${r.definition_ms.toFixed(1)} ms`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('receives the diagnostics', () => {
    assert.ok(Array.isArray(r.diagnostics));
    assert.ok(r.diagnostics.every((d: any) => typeof d.code === 'string' && d.source === 'nflens'));
  });

  it('hover shows the mark arithmetic with the numbers', () => {
    const md = r.hover_xmark.contents.value;
    assert.match(md, /mark = \(mark AND NOT 0x200\) XOR 0x200/);
    assert.match(md, /sets bit 0x200, leaves all other bits/);
    assert.match(md, /\| 0x10 \| 0x210 \|/);
    assert.match(r.hover_overwrite.contents.value, /overwrites the whole mark with 0x220/);
  });

  it('definition, references and rename of a chain', () => {
    assert.deepEqual(r.definition.map((l: any) => [l.range.start.line, l.range.start.character]), [[7, 1]]);
    assert.deepEqual(r.references.map((l: any) => l.range.start.line), [7, 14, 17, 18]);
    const edits = Object.values<any[]>(r.rename.changes)[0];
    assert.equal(edits.length, 4);
    assert.ok(edits.every((e) => e.newText === 'zt-FWD'));
  });

  it('document symbols: the two tables', () => {
    assert.deepEqual(r.symbols.map((s: any) => s.name), ['mangle', 'nat']);
  });
});
