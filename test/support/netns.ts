// Scratch network namespaces for kernel-backed tests. Every namespace is made here, linked only to
// other test namespaces, and deleted afterwards. Nothing touches the root namespace's rules or routes.
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';

export interface KernelAvailability {
  ok: boolean;
  reason?: string;
}

let cached: KernelAvailability | undefined;

/** Root, iproute2, iptables and nft present, and a namespace can actually be made. */
export function kernelAvailable(): KernelAvailability {
  if (cached) return cached;
  if (process.getuid?.() !== 0) return (cached = { ok: false, reason: 'not root' });
  for (const tool of ['ip', 'iptables-restore', 'nft']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return (cached = { ok: false, reason: `${tool} not installed` });
  }
  const probe = `nfl-probe-${process.pid}`;
  const r = spawnSync('ip', ['netns', 'add', probe]);
  if (r.status !== 0) return (cached = { ok: false, reason: `ip netns add failed: ${r.stderr}` });
  spawnSync('ip', ['netns', 'del', probe]);
  return (cached = { ok: true });
}

let counter = 0;

export class Netns {
  readonly name: string;
  private deleted = false;

  constructor(prefix = 'nfl') {
    this.name = `${prefix}-${process.pid}-${++counter}`;
    execFileSync('ip', ['netns', 'add', this.name]);
    live.add(this);
    this.run(['ip', 'link', 'set', 'lo', 'up']);
  }

  /** Runs argv inside the namespace; never throws, returns status and output. */
  run(argv: string[], input?: string, timeoutMs = 30_000): SpawnSyncReturns<string> {
    return spawnSync('ip', ['netns', 'exec', this.name, ...argv], { input, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024 });
  }

  /** Like run, but throws with stderr when the command fails. */
  must(argv: string[], input?: string): string {
    const r = this.run(argv, input);
    if (r.status !== 0) throw new Error(`${argv.join(' ')} in ${this.name} failed (${r.status}): ${r.stderr || r.error}`);
    return r.stdout;
  }

  delete(): void {
    if (this.deleted) return;
    this.deleted = true;
    live.delete(this);
    spawnSync('ip', ['netns', 'del', this.name]);
  }
}

/** Two namespaces joined by a veth pair: a (10.9.0.1/24 on `va`) and b (10.9.0.2/24 on `vb`). */
export function vethPair(prefix = 'nfl', a4 = '10.9.0.1/24', b4 = '10.9.0.2/24'): { a: Netns; b: Netns; delete(): void } {
  const a = new Netns(prefix + 'a');
  const b = new Netns(prefix + 'b');
  // Named in the root namespace for an instant before moving: the pid keeps parallel test processes apart.
  const va = `va${process.pid % 100000}x${counter}`, vb = `vb${process.pid % 100000}x${counter}`;
  execFileSync('ip', ['link', 'add', va, 'netns', a.name, 'type', 'veth', 'peer', 'name', vb, 'netns', b.name]);
  a.must(['ip', 'link', 'set', va, 'name', 'va']);
  b.must(['ip', 'link', 'set', vb, 'name', 'vb']);
  a.must(['ip', 'addr', 'add', a4, 'dev', 'va']);
  b.must(['ip', 'addr', 'add', b4, 'dev', 'vb']);
  a.must(['ip', 'link', 'set', 'va', 'up']);
  b.must(['ip', 'link', 'set', 'vb', 'up']);
  return { a, b, delete: () => { a.delete(); b.delete(); } };
}

const live = new Set<Netns>();
const cleanup = () => { for (const n of [...live]) n.delete(); };
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => { cleanup(); process.exit(130); });

export type IptablesBackend = 'nft' | 'legacy';

export interface LoadResult {
  /** The kernel (and iptables-restore before it) took the whole file. */
  ok: boolean;
  status: number | null;
  stderr: string;
}

const STD_TABLES: Record<string, string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
  security: ['INPUT', 'FORWARD', 'OUTPUT'],
};

/**
 * Real loads (`iptables-restore`, not `--test`) of one iptables-save text after another, each into an
 * empty ruleset: a fresh namespace every `perNamespace` loads, and everything reset after each load
 * (`nft flush ruleset` for the nf_tables backend; empty tables with ACCEPT policies for legacy, since
 * a legacy restore commits table by table and a failed file can leave earlier tables loaded).
 */
export class IptablesLoader {
  private ns: Netns | undefined;
  private used = 0;

  constructor(readonly prefix: string, readonly backend: IptablesBackend = 'nft', readonly perNamespace = 50) {}

  load(text: string, family: 'ip' | 'ip6' = 'ip'): LoadResult {
    if (!this.ns || this.used >= this.perNamespace) {
      this.ns?.delete();
      this.ns = new Netns(this.prefix);
      this.used = 0;
    }
    this.used++;
    const tool = `${family === 'ip6' ? 'ip6' : 'ip'}tables${this.backend === 'legacy' ? '-legacy' : ''}-restore`;
    let reset: string;
    if (this.backend === 'nft') reset = 'nft flush ruleset';
    else {
      // Only the tables the text names can have changed.
      const named = new Set([...text.matchAll(/^\s*\*(\S+)/gm)].map((m) => m[1]).filter((t) => t in STD_TABLES));
      const empty = [...named].map((t) => `*${t}\n${STD_TABLES[t].map((c) => `:${c} ACCEPT [0:0]`).join('\n')}\nCOMMIT\n`).join('');
      reset = named.size ? `printf '%s' '${empty}' | ${tool}` : 'true';
    }
    const r = this.ns.run(['sh', '-c', `${tool}; rc=$?; ${reset} >/dev/null 2>&1; exit $rc`], text, 60_000);
    return { ok: r.status === 0, status: r.status, stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
  }

  close(): void {
    this.ns?.delete();
    this.ns = undefined;
  }
}
