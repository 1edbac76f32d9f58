// Runs the integration suite in a downloaded VS Code through @vscode/test-electron (where VS Code can
// be downloaded; here it cannot, and code-server.test.ts runs the same suite). `npm run test:electron`.
import { runTests } from '@vscode/test-electron';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '../../..');
const built = spawnSync(process.execPath, [resolve(repo, 'test/editor/build-suite.mjs')], { stdio: 'inherit' });
if (built.status !== 0) process.exit(built.status ?? 1);
await runTests({
  extensionDevelopmentPath: repo,
  extensionTestsPath: resolve(repo, 'out/test/index.js'),
  launchArgs: [resolve(repo, 'examples'), '--disable-extensions', '--disable-workspace-trust'],
});
