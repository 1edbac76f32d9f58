// Bundles the integration suite (test/editor/vscode-suite) to out/test/index.js, CommonJS, with
// `vscode` and `mocha` left to the extension host and node_modules.
import { build } from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '../..');
await build({
  entryPoints: [resolve(repo, 'test/editor/vscode-suite/index.ts')],
  outfile: resolve(repo, 'out/test/index.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['vscode', 'mocha'],
  logLevel: 'warning',
});
writeFileSync(resolve(repo, 'out/package.json'), '{ "type": "commonjs" }\n');
