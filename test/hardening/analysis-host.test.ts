// The async analysis host (issue 7, huge files) without the protocol: a version's analysis runs in steps,
// a newer version or a close abandons it at its next step, a cancelled wait rejects without stopping the
// analysis, and another document is answered while a large one is analysed.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { AnalysisCancelled, AnalysisHost, type CancelToken, type HostEvents } from '../../server/src/ide/host';
import { analyzeDocument } from '../../server/src/ide/document';
import { repoRoot } from '../lsp/lsp-client';

const SMALL = '*filter\n:INPUT ACCEPT [0:0]\n:A - [0:0]\n-A INPUT -j A\n-A INPUT -j B\nCOMMIT\n';

/** Records what the host reports. */
function recorder() {
  const log: string[] = [];
  const progress: { uri: string; version: number; percentage: number }[] = [];
  const events: HostEvents = {
    onStart: (uri, v) => log.push(`start ${uri} v${v}`),
    onProgress: (uri, v, p) => progress.push({ uri, version: v, percentage: p.percentage }),
    onEnd: (uri, v, a) => log.push(`end ${uri} v${v} ${a ? 'done' : 'abandoned'}`),
    onError: (uri, v, e) => log.push(`error ${uri} v${v} ${e}`),
  };
  return { log, progress, events };
}

function token(): CancelToken & { cancel(): void } {
  const listeners: (() => void)[] = [];
  let cancelled = false;
  return {
    get isCancellationRequested() { return cancelled; },
    onCancellationRequested(l: () => void) { listeners.push(l); return { dispose: () => listeners.splice(listeners.indexOf(l), 1) }; },
    cancel() { cancelled = true; for (const l of [...listeners]) l(); },
  };
}

/** Resolves once `pred` holds, polling each turn of the event loop. */
async function until(pred: () => boolean, ms = 60000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('analysis host: stepwise analysis, abandon, cancel', () => {
  let big: string;
  before(() => {
    const r = spawnSync(process.execPath, [resolve(repoRoot, '../shared/tools/gen-kube.js'), '2000'], { encoding: 'utf8', maxBuffer: 1 << 28 });
    assert.equal(r.status, 0, r.stderr);
    big = r.stdout;
  });

  it('analyses a version once, in steps, with rising progress; the result equals analyzeDocument', async () => {
    const { log, progress, events } = recorder();
    const host = new AnalysisHost(events);
    host.set('u:big', big, 1);
    const [a, b] = await Promise.all([host.analysis('u:big'), host.analysis('u:big')]);
    assert.ok(a && a === b, 'one analysis for both waiters');
    assert.equal(a.version, 1);
    assert.deepEqual(log, ['start u:big v1', 'end u:big v1 done']);
    const pcts = progress.map((p) => p.percentage);
    console.log(`  ${progress.length} steps, ${pcts[0]}% → ${pcts[pcts.length - 1]}%`);
    assert.ok(progress.length >= 10, `several steps: ${progress.length}`);
    for (let i = 1; i < pcts.length; i++) assert.ok(pcts[i] >= pcts[i - 1], `never falls: ${pcts.join(',')}`);
    assert.ok(pcts[pcts.length - 1] >= 90);
    const sync = analyzeDocument('u:big', big, 1);
    assert.deepEqual(a.diagnostics.map((d) => `${d.code}@${d.range.start.line}:${d.range.start.character}`), sync.diagnostics.map((d) => `${d.code}@${d.range.start.line}:${d.range.start.character}`));
    assert.deepEqual([...a.index.ruleLines], [...sync.index.ruleLines]);
    assert.deepEqual([...a.index.refs.line], [...sync.index.refs.line]);
    assert.equal(host.current('u:big'), a);
    assert.equal(await host.analysis('u:big'), a, 'answered from the stored analysis');
    assert.equal(log.length, 2, 'not analysed again');
    // A new version drops the old analysis at once: a huge document never holds two.
    host.set('u:big', SMALL, 2);
    assert.equal(host.current('u:big'), undefined);
    assert.equal((host as unknown as { docs: Map<string, { analysis?: unknown }> }).docs.get('u:big')?.analysis, undefined);
  });

  it('a new version abandons the running one at its next step; waiters get the new version', async () => {
    const { log, progress, events } = recorder();
    const host = new AnalysisHost(events);
    host.set('u:doc', big, 1);
    const waiting = host.analysis('u:doc');
    await until(() => progress.length >= 3);
    const stepsOfV1 = progress.length;
    host.set('u:doc', SMALL, 2);
    const a = await waiting;
    assert.equal(a?.version, 2);
    assert.ok(a.diagnostics.some((d) => d.code === 'undefined-chain'), 'the new text is what was analysed');
    assert.ok(progress.filter((p) => p.version === 1).length <= stepsOfV1 + 1, 'version 1 stopped within a step');
    assert.deepEqual(log, ['start u:doc v1', 'end u:doc v1 abandoned', 'start u:doc v2', 'end u:doc v2 done']);
    assert.equal(host.current('u:doc'), a);
  });

  it('a close abandons the analysis; waiters get undefined', async () => {
    const { log, progress, events } = recorder();
    const host = new AnalysisHost(events);
    host.set('u:closed', big, 1);
    const waiting = host.analysis('u:closed');
    await until(() => progress.length >= 2);
    host.remove('u:closed');
    assert.equal(await waiting, undefined);
    assert.deepEqual(log, ['start u:closed v1', 'end u:closed v1 abandoned']);
    assert.equal(await host.analysis('u:closed'), undefined);
  });

  it('a cancelled wait rejects with AnalysisCancelled; the analysis goes on and is kept', async () => {
    const { log, progress, events } = recorder();
    const host = new AnalysisHost(events);
    host.set('u:c', big, 1);
    const t = token();
    const waiting = host.analysis('u:c', t);
    await until(() => progress.length >= 2);
    const t0 = performance.now();
    t.cancel();
    await assert.rejects(waiting, AnalysisCancelled);
    console.log(`  rejected ${(performance.now() - t0).toFixed(1)} ms after the cancel`);
    await until(() => log.includes('end u:c v1 done'));
    assert.equal(host.current('u:c')?.version, 1);
    // A token cancelled before the call rejects at once.
    const t2 = token();
    t2.cancel();
    await assert.rejects(host.analysis('u:c', t2), AnalysisCancelled);
  });

  it('another document is answered while a large one is analysed', async () => {
    const { log, events } = recorder();
    const host = new AnalysisHost(events);
    host.set('u:big', big, 1);
    host.set('u:small', SMALL, 1);
    const bigDone = host.analysis('u:big');
    await new Promise((r) => setTimeout(r, 20));
    const t0 = performance.now();
    const small = await host.analysis('u:small');
    const ms = performance.now() - t0;
    console.log(`  small document analysed in ${ms.toFixed(0)} ms while the large one runs`);
    assert.equal(small?.version, 1);
    assert.ok(!log.includes('end u:big v1 done'), 'the large document was still being analysed');
    assert.ok(host.analysing('u:big'));
    assert.ok(ms < 2000, `answered within 2 s: ${ms.toFixed(0)} ms`);
    assert.equal((await bigDone)?.version, 1);
  });
});
