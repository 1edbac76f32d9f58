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
  const va = `va${counter}`, vb = `vb${counter}`;
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
