// Bundles the language server, the VS Code client and the CLI into dist/ (CommonJS, Node 20).
import { build } from 'esbuild';

const watch = process.argv.includes('--watch');
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  minify: process.argv.includes('--minify'),
  logLevel: 'warning',
};

const entries = [
  { entryPoints: ['server/src/lsp/server.ts'], outfile: 'dist/server.js' },
  { entryPoints: ['server/src/cli/nflens.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
  { entryPoints: ['client/src/extension.ts'], outfile: 'dist/client.js', external: ['vscode'] },
];

for (const e of entries) {
  try {
    await build({ ...common, ...e });
  } catch (err) {
    process.exitCode = 1;
  }
}
if (watch) console.log('watch mode is not supported; rerun npm run build');
// The package is ESM for its sources; the bundles are CommonJS (VS Code loads extensions with require).
import { writeFileSync, mkdirSync } from 'node:fs';
mkdirSync('dist', { recursive: true });
writeFileSync('dist/package.json', '{ "type": "commonjs" }\n');
