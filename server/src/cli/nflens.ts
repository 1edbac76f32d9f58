// nflens: the command-line face of the core. Exit codes: 0 clean, 1 errors found, 2 usage or I/O.
import { readFileSync } from 'node:fs';
import { checkText } from '../check';
import { chainCount, ruleCount, type Diagnostic, type FileKind } from '../model/ruleset';
import { simulateCommand } from './simulate-command';

export const JSON_FORMAT_VERSION = 1;

const USAGE = `usage: nflens check [--format text|json|sarif] [--kind iptables-save|iptables-S|nft] FILE...
       nflens simulate FILE --packet "PACKET" [--from LINE] [--node PROFILE] [--format text|json]

  check     parse and analyse rulesets; exit 0 when no file has an error, 1 when one does,
            2 for usage or I/O problems
  simulate  walk one packet through the ruleset as the kernel would (nflens simulate --help)`;

interface FileReport {
  path: string;
  kind: FileKind;
  tables: number;
  chains: number;
  rules: number;
  diagnostics: {
    line: number;
    column: number;
    endLine: number;
    endColumn: number;
    severity: Diagnostic['severity'];
    code: string;
    message: string;
  }[];
}

class UsageError extends Error {}

function parseArgs(argv: string[]) {
  const files: string[] = [];
  let format = 'text';
  let kind: FileKind | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = (name: string) => {
      const eq = a.indexOf('=');
      if (eq > 0) return a.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${name} needs a value`);
      return v;
    };
    if (a === '--format' || a.startsWith('--format=')) format = val('--format');
    else if (a === '--kind' || a.startsWith('--kind=')) kind = val('--kind') as FileKind;
    else if (a === '-h' || a === '--help') throw new UsageError('');
    else if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown option ${a}`);
    else files.push(a);
  }
  if (!['text', 'json', 'sarif'].includes(format)) throw new UsageError(`unknown format "${format}": text, json or sarif`);
  if (kind && !['iptables-save', 'iptables-S', 'nft'].includes(kind)) throw new UsageError(`unknown kind "${kind}"`);
  return { files, format, kind };
}

function check(argv: string[]): number {
  const { files, format, kind } = parseArgs(argv);
  if (!files.length) throw new UsageError('check needs at least one FILE');
  const reports: FileReport[] = [];
  let io = false;
  for (const path of files) {
    let text: string;
    try {
      text = path === '-' ? readFileSync(0, 'utf8') : readFileSync(path, 'utf8');
    } catch (e) {
      process.stderr.write(`nflens: ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}\n`);
      io = true;
      continue;
    }
    const r = checkText(text, { kind });
    reports.push({
      path,
      kind: r.ruleset.kind,
      tables: r.ruleset.tables.length,
      chains: chainCount(r.ruleset),
      rules: ruleCount(r.ruleset),
      diagnostics: r.diagnostics.map((d) => ({
        line: d.range.start.line + 1,
        column: d.range.start.character + 1,
        endLine: d.range.end.line + 1,
        endColumn: d.range.end.character + 1,
        severity: d.severity,
        code: d.code,
        message: d.message,
      })),
    });
  }
  if (format === 'json') process.stdout.write(JSON.stringify({ version: JSON_FORMAT_VERSION, files: reports }, null, 2) + '\n');
  else if (format === 'sarif') process.stdout.write(JSON.stringify(toSarif(reports), null, 2) + '\n');
  else {
    for (const f of reports) {
      for (const d of f.diagnostics) process.stdout.write(`${f.path}:${d.line}:${d.column}: ${d.severity}: ${d.message} [${d.code}]\n`);
      const counts = (['error', 'warning'] as const).map((s) => `${f.diagnostics.filter((d) => d.severity === s).length} ${s}s`).join(', ');
      process.stderr.write(`${f.path}: ${f.kind}, ${f.tables} tables, ${f.chains} chains, ${f.rules} rules; ${counts}\n`);
    }
  }
  if (io) return 2;
  return reports.some((f) => f.diagnostics.some((d) => d.severity === 'error')) ? 1 : 0;
}

function toSarif(reports: FileReport[]) {
  const level = (s: string) => (s === 'error' ? 'error' : s === 'warning' ? 'warning' : 'note');
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [{
      tool: { driver: { name: 'nflens', informationUri: 'https://example.invalid/netfilter-lens', rules: [] } },
      results: reports.flatMap((f) => f.diagnostics.map((d) => ({
        ruleId: d.code,
        level: level(d.severity),
        message: { text: d.message },
        locations: [{
          physicalLocation: {
            artifactLocation: { uri: f.path },
            region: { startLine: d.line, startColumn: d.column, endLine: d.endLine, endColumn: d.endColumn },
          },
        }],
      }))),
    }],
  };
}

export function main(argv: string[]): number {
  try {
    const [cmd, ...rest] = argv;
    if (cmd === 'check') return check(rest);
    if (cmd === 'simulate') return simulateCommand(rest);
    if (cmd === undefined || cmd === '-h' || cmd === '--help') {
      process.stdout.write(USAGE + '\n');
      return cmd === undefined ? 2 : 0;
    }
    throw new UsageError(`unknown command "${cmd}"`);
  } catch (e) {
    if (e instanceof UsageError) {
      if (e.message) process.stderr.write(`nflens: ${e.message}\n`);
      process.stderr.write(USAGE + '\n');
      return 2;
    }
    process.stderr.write(`nflens: internal error: ${(e as Error)?.stack ?? e}\n`);
    return 2;
  }
}

if (typeof require !== 'undefined' && require.main === module) process.exitCode = main(process.argv.slice(2));
