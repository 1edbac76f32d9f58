// Entry of the extension integration suite (Mocha, real `vscode` API). Loaded by the extension host:
// under @vscode/test-electron (runTest.ts) where VS Code can be downloaded, and inside code-server here
// (test/editor/code-server.test.ts). Bundled to out/test/index.js; `run()` is what the host calls.
import Mocha from 'mocha';

export async function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', timeout: 60000, color: false });
  mocha.suite.emit('pre-require', globalThis, 'features.suite', mocha);
  await import('./features.suite');
  // Last: it kills the language server (twice), which the other tests do not expect.
  await import('./crash-recovery.suite');
  await new Promise<void>((resolve, reject) => {
    mocha.run((failures) => (failures ? reject(new Error(`${failures} integration test(s) failed`)) : resolve()));
  });
}
