// `ip route get` output → the fields the agreement tests compare, and the comparison itself.
import type { RouteDecision } from '../../server/src/routing/index';

export interface KernelGet {
  error?: string;
  type?: string;
  dev?: string;
  via?: string;
  table?: string;
  src?: string;
  raw: string;
}

const ERRNO_TEXT: Record<string, string> = {
  'Network is unreachable': 'ENETUNREACH',
  'No route to host': 'EHOSTUNREACH',
  'Permission denied': 'EACCES',
  'Invalid argument': 'EINVAL',
  'No such device': 'ENODEV',
};

export function parseRouteGet(text: string): KernelGet {
  const raw = text.trim();
  const m = /RTNETLINK answers: (.*)/.exec(raw) ?? /^Error: (.*)/m.exec(raw);
  if (m) return { error: ERRNO_TEXT[m[1].trim()] ?? m[1].trim(), raw };
  const w = raw.split('\n')[0].trim().split(/\s+/);
  const g: KernelGet = { raw };
  let i = 0;
  if (['local', 'broadcast', 'multicast', 'unicast', 'anycast'].includes(w[0])) g.type = w[i++];
  i++; // destination
  for (; i < w.length; i++) {
    const k = w[i];
    if (k === 'via' || k === 'dev' || k === 'table' || k === 'src') (g as unknown as Record<string, string>)[k] = w[++i];
    else if (['from', 'mark', 'uid', 'iif', 'oif', 'tos'].includes(k)) i++;
  }
  return g;
}

/** null when the kernel and the decision agree; otherwise why not. */
export function compare(k: KernelGet, d: RouteDecision, q: { src?: string; iif?: string }, compareSrc = true): string | null {
  if (d.outcome === 'unknown') return `ours unknown: ${d.reason}`;
  if (k.error) return d.outcome === 'error' && d.errno === k.error ? null : `kernel ${k.error}, ours ${d.outcome === 'error' ? d.errno : 'route'}`;
  if (d.outcome === 'error') return `kernel route, ours ${d.errno}`;
  const kType = k.type ?? 'unicast';
  if (kType !== d.type) return `type: kernel ${kType}, ours ${d.type}`;
  const kTable = k.table ?? 'main';
  const ourTable = d.table === undefined ? 'main' : d.tableName;
  if (kTable !== ourTable) return `table: kernel ${kTable}, ours ${ourTable}`;
  const hop = d.nexthops.find((h) => (h.dev ?? 'lo') === k.dev && h.gateway === k.via);
  if (!hop) return `next hop: kernel ${k.via ? `via ${k.via} ` : ''}dev ${k.dev}, ours ${d.nexthops.map((h) => `${h.gateway ? `via ${h.gateway} ` : ''}dev ${h.dev}`).join(' | ')}`;
  if (!q.iif && compareSrc) {
    const ourSrc = hop.src ?? d.src;
    // The kernel prints src only when it chose one (not when `from` fixed it).
    const kSrc = k.src ?? q.src;
    if (kSrc !== ourSrc) return `src: kernel ${kSrc}, ours ${ourSrc}`;
  }
  return null;
}

