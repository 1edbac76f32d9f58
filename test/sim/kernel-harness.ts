// Kernel side of the walk's agreement tests: two scratch namespaces (A sends, B holds the ruleset),
// `nft monitor trace` in B, hand-built packets with a unique IP ID each, and `conntrack -L`.
// Topology: A va 10.9.0.1/24 <-> B vb 10.9.0.2/24; A wa 10.9.2.1/24 <-> B wb 10.9.2.2/24;
// B d0 10.9.1.1/24 (a veth with its peer in B), forwarding on. Packets to 10.9.1.x are forwarded out of d0.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vethPair, type Netns } from '../support/netns';

export const SENDER = join(import.meta.dirname, 'kernel-send.py');

/** The addresses and interface of B, in the packet line's `host` syntax (the iif's address first). */
export const B_ADDRS: Record<string, string> = { vb: '10.9.0.2/24@vb', wb: '10.9.2.2/24@wb', d0: '10.9.1.1/24@d0' };

export function hostFor(iif: string | undefined): string {
  const first = iif && B_ADDRS[iif] ? [B_ADDRS[iif]] : [];
  return [...first, ...Object.values(B_ADDRS).filter((x) => !first.includes(x))].join(',');
}

// The \`ct state\` rule keeps conntrack on in B whatever the ruleset under test uses (the kernel only
// tracks connections in a namespace once something asks for conntrack; the walk assumes it is on).
const TRACE_TABLE = `table ip nfltrace {
  chain pre {
    type filter hook prerouting priority -350; policy accept;
    ct state invalid counter
    meta nftrace set 1
  }
  chain out {
    type filter hook output priority -350; policy accept;
    icmp type destination-unreachable drop
    tcp flags & rst == rst drop
    meta nftrace set 1
  }
  chain inend {
    type filter hook input priority 2000; policy accept;
  }
  chain fwdend {
    type filter hook forward priority 2000; policy accept;
  }
  chain postend {
    type filter hook postrouting priority 2000; policy accept;
  }
}
`;

// A answers nothing: its ICMP errors and RSTs would come back into B's rules and touch ct marks.
const QUIET_TABLE = `table ip quiet {
  chain out {
    type filter hook output priority 0; policy accept;
    icmp type destination-unreachable drop
    tcp flags & rst == rst drop
  }
}
`;

export interface SendSpec {
  from: 'A' | 'B';
  /** From B through an ordinary socket of this uid/gid (the trace is then found by source port). */
  owner?: { uid: number; gid: number };
  /** B's interface the packet arrives on (from A). */
  iif?: 'vb' | 'wb';
  src: string;
  dst: string;
  proto: 'tcp' | 'udp';
  sport: number;
  dport: number;
  flags?: string[];
  ipid: number;
}

export interface TraceLine {
  table: string;
  chain: string;
  kind: 'rule' | 'policy';
  handle?: number;
  verdict: string;
  mark?: number;
  raw: string;
}

export interface PacketTrace {
  lines: TraceLine[];
  /** Last `packet:` line seen (addresses after NAT). */
  lastPacket?: string;
  /** Mark at the end of the path (from the priority-2000 end chains), if reached. */
  endMark?: number;
  endHook?: string;
}

export class KernelRig {
  readonly a: Netns;
  readonly b: Netns;
  private pair: { delete(): void };
  private dir: string;
  private traceFile: string;
  private monitor: ChildProcess;
  private offset = 0;
  private traceFd: number;
  /** Collections that ended without seeing their marker (lost trace events). */
  timeouts = 0;
  private markerId = 65100;
  private senderA: ChildProcess;
  private senderB: ChildProcess;
  readonly macs: Record<string, string> = {};

  constructor() {
    const pair = vethPair('nfle');
    this.pair = pair;
    this.a = pair.a;
    this.b = pair.b;
    const tag = `nw${process.pid % 100000}`;
    execFileSync('ip', ['link', 'add', `${tag}a`, 'netns', this.a.name, 'type', 'veth', 'peer', 'name', `${tag}b`, 'netns', this.b.name]);
    this.a.must(['ip', 'link', 'set', `${tag}a`, 'name', 'wa']);
    this.b.must(['ip', 'link', 'set', `${tag}b`, 'name', 'wb']);
    this.a.must(['ip', 'addr', 'add', '10.9.2.1/24', 'dev', 'wa']);
    this.b.must(['ip', 'addr', 'add', '10.9.2.2/24', 'dev', 'wb']);
    this.a.must(['ip', 'link', 'set', 'wa', 'up']);
    this.b.must(['ip', 'link', 'set', 'wb', 'up']);
    // d0: a veth whose peer stays unaddressed in B; fixed neighbours, so forwarded packets leave at once
    // (and the peer drops them: not its MAC).
    this.b.must(['ip', 'link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd0p']);
    this.b.must(['ip', 'addr', 'add', '10.9.1.1/24', 'dev', 'd0']);
    this.b.must(['ip', 'link', 'set', 'd0', 'up']);
    this.b.must(['ip', 'link', 'set', 'd0p', 'up']);
    for (let h = 2; h < 10; h++) this.b.must(['ip', 'neigh', 'add', `10.9.1.${h}`, 'lladdr', '02:00:00:00:01:01', 'dev', 'd0', 'nud', 'permanent']);
    this.b.must(['sh', '-c', [
      'sysctl -qw net.ipv4.ip_forward=1',
      'for i in all default vb wb d0; do sysctl -qw net.ipv4.conf.$i.rp_filter=0; sysctl -qw net.ipv4.conf.$i.accept_local=1; done',
      'modprobe nf_conntrack 2>/dev/null; sysctl -qw net.netfilter.nf_conntrack_tcp_be_liberal=1 || true',
    ].join('; ')]);
    this.a.must(['nft', '-f', '-'], QUIET_TABLE);
    for (const i of ['vb', 'wb']) {
      const j = JSON.parse(this.b.must(['ip', '-j', 'link', 'show', i]));
      this.macs[i] = j[0].address;
    }
    this.dir = mkdtempSync(join(tmpdir(), 'nfle-'));
    this.traceFile = join(this.dir, 'trace.txt');
    const fd = openSync(this.traceFile, 'w');
    this.monitor = spawn('ip', ['netns', 'exec', this.b.name, 'stdbuf', '-oL', 'nft', '-a', 'monitor', 'trace'], { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    this.traceFd = openSync(this.traceFile, 'r');
    this.senderA = spawn('ip', ['netns', 'exec', this.a.name, 'python3', '-u', SENDER], { stdio: ['pipe', 'ignore', 'inherit'] });
    this.senderB = spawn('ip', ['netns', 'exec', this.b.name, 'python3', '-u', SENDER], { stdio: ['pipe', 'ignore', 'inherit'] });
    // Killed with the test process too (the namespaces go on exit; these would outlive them).
    const kids = [this.monitor, this.senderA, this.senderB];
    process.once('exit', () => { for (const k of kids) k.kill(); });
  }

  /** Replaces B's whole ruleset: `text` through iptables-restore, then the trace table, then the
   *  conntrack entries given; one shell round trip. Returns the rule handles (table -> chain -> handles). */
  load(text: string, entries: { proto: string; src: string; dst: string; sport: number; dport: number; mark: number }[] = [], kind: 'iptables' | 'nft' = 'iptables'):
    { ok: true; handles: Map<string, Map<string, number[]>> } | { ok: false; error: string } {
    const rules = join(this.dir, 'rules'), trace = join(this.dir, 'trace.nft');
    writeFileSync(rules, text);
    writeFileSync(trace, TRACE_TABLE);
    const ct = entries.map((e) => conntrackInsertArgs(e, e.mark).join(' ')).join(' >/dev/null 2>&1 && ');
    const script = [
      'nft flush ruleset; conntrack -F >/dev/null 2>&1',
      kind === 'nft' ? `nft -f ${rules} || exit 3` : `iptables-restore < ${rules} || exit 3`,
      `nft -f ${trace} || exit 4`,
      ct ? `{ ${ct} >/dev/null 2>&1; } || exit 5` : ':',
      'nft -a list ruleset',
    ].join('\n');
    const r = this.b.run(['sh', '-c', script]);
    if (r.status !== 0) return { ok: false, error: `${r.status === 3 ? (kind === 'nft' ? 'nft -f' : 'iptables-restore') : r.status === 5 ? 'conntrack -I' : 'load'}: ${r.stderr}` };
    return { ok: true, handles: parseHandles(r.stdout) };
  }

  /** Sends the packets, then a marker packet from each side, through the long-running senders. */
  send(packets: SendSpec[]): number[] {
    const markers: number[] = [];
    const fromA = packets.filter((p) => p.from === 'A');
    const fromB = packets.filter((p) => p.from === 'B');
    const line = (p: SendSpec) => JSON.stringify(p.owner
      ? { mode: 'sock', uid: p.owner.uid, gid: p.owner.gid, src: p.src, dst: p.dst, proto: p.proto, sport: p.sport, dport: p.dport }
      : p.from === 'A'
      ? { mode: 'eth', ifname: p.iif === 'wb' ? 'wa' : 'va', dmac: this.macs[p.iif ?? 'vb'], src: p.src, dst: p.dst, proto: p.proto, sport: p.sport, dport: p.dport, flags: p.flags, ipid: p.ipid }
      : { mode: 'raw', src: p.src, dst: p.dst, proto: p.proto, sport: p.sport, dport: p.dport, flags: p.flags, ipid: p.ipid });
    const marker = (from: 'A' | 'B'): SendSpec => {
      const ipid = this.markerId = this.markerId >= 65500 ? 65100 : this.markerId + 1;
      markers.push(ipid);
      return from === 'A' ? { from, iif: 'vb', src: '10.9.0.1', dst: '10.9.0.2', proto: 'udp', sport: 9, dport: 9, ipid } : { from, src: '10.9.0.2', dst: '10.9.0.1', proto: 'udp', sport: 9, dport: 9, ipid };
    };
    if (fromA.length) this.senderA.stdin!.write([...fromA, marker('A')].map(line).join('\n') + '\n');
    if (fromB.length) this.senderB.stdin!.write([...fromB, marker('B')].map(line).join('\n') + '\n');
    // A socket packet's trace is keyed by its port: the marker still closes the batch.
    return markers;
  }

  /** Waits until every marker shows in the trace (all packets sent before it are done), then returns
   *  the new lines by IP ID. */
  async collect(markers: number[], maxMs = 5000): Promise<Map<number, PacketTrace>> {
    const t0 = Date.now();
    let text = '';
    const chunk = Buffer.alloc(1 << 20);
    for (;;) {
      // Read only what was appended since the last call (the file grows for the whole run).
      for (;;) {
        const n = readSync(this.traceFd, chunk, 0, chunk.length, this.offset);
        if (n <= 0) break;
        this.offset += n;
        text += chunk.subarray(0, n).toString('utf8');
      }
      if (markers.every((m) => text.includes(`ip id ${m} `))) break;
      if (Date.now() - t0 > maxMs) { this.timeouts++; break; }
      await sleep(5);
    }
    // A line cut at the end belongs to the marker (the packets before it are complete).
    return parseTrace(text.replace(/\0/g, ''));
  }

  /** ct mark and zone of the connection whose original tuple is given; undefined when there is none. */
  conntrack(): { proto: string; src: string; dst: string; sport: number; dport: number; mark: number; zone: number }[] {
    const r = this.b.run(['conntrack', '-L']);
    const out = [];
    for (const line of r.stdout.split('\n')) {
      const m = /^(tcp|udp)\s+\d+\s+\d+\s+(?:\S+\s+)?src=(\S+) dst=(\S+) sport=(\d+) dport=(\d+)/.exec(line);
      if (!m) continue;
      const mark = /\bmark=(\d+)/.exec(line);
      const zone = /\bzone=(\d+)/.exec(line);
      out.push({ proto: m[1], src: m[2], dst: m[3], sport: Number(m[4]), dport: Number(m[5]), mark: mark ? Number(mark[1]) : 0, zone: zone ? Number(zone[1]) : 0 });
    }
    return out;
  }

  close(): void {
    this.senderA.stdin!.end();
    this.senderB.stdin!.end();
    this.monitor.kill();
    closeSync(this.traceFd);
    this.pair.delete();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function conntrackInsertArgs(orig: { proto: string; src: string; dst: string; sport: number; dport: number }, mark: number): string[] {
  const args = ['conntrack', '-I', '-p', orig.proto, '-s', orig.src, '-d', orig.dst, '--sport', String(orig.sport), '--dport', String(orig.dport),
    '--reply-src', orig.dst, '--reply-dst', orig.src, '--reply-port-src', String(orig.dport), '--reply-port-dst', String(orig.sport), '-t', '120'];
  if (orig.proto === 'tcp') args.push('--state', 'ESTABLISHED', '-u', 'SEEN_REPLY,ASSURED');
  else args.push('-u', 'SEEN_REPLY');
  // Last: conntrack-tools 1.4.7 lets a later -u overwrite the mark given by an earlier -m.
  args.push('-m', String(mark));
  return args;
}

export function parseHandles(text: string): Map<string, Map<string, number[]>> {
  const out = new Map<string, Map<string, number[]>>();
  let table: Map<string, number[]> | undefined, chain: number[] | undefined;
  for (const line of text.split('\n')) {
    const t = /^table (?:ip|ip6|inet) (\S+) \{/.exec(line);
    if (t) { table = new Map(); out.set(t[1], table); continue; }
    const c = /^\tchain (\S+) \{/.exec(line);
    if (c && table) { chain = []; table.set(c[1], chain); continue; }
    const h = /# handle (\d+)$/.exec(line);
    if (h && chain && /^\t\t/.test(line)) chain.push(Number(h[1]));
  }
  return out;
}

/** Key under which a packet sent through an ordinary socket (kernel-chosen IP ID) is found. */
export const BY_SPORT = 1_000_000;

export function parseTrace(text: string): Map<number, PacketTrace> {
  const owner = new Map<string, number>();
  const out = new Map<number, PacketTrace>();
  for (const line of text.split('\n')) {
    const m = /^trace id (\w+) (?:ip|ip6|inet) (\S+) (\S+) (.*)$/.exec(line);
    if (!m) continue;
    const [, id, table, chain, rest] = m;
    if (rest.startsWith('packet:')) {
      const ipid = /\bip id (\d+)\b/.exec(rest);
      // Socket-sent packets (source ports 50000-59999 here) are keyed by their source port.
      const sp = /\b(?:tcp|udp) sport (\d+)\b/.exec(rest);
      if (sp && Number(sp[1]) >= 50000 && Number(sp[1]) < 60000) owner.set(id, BY_SPORT + Number(sp[1]));
      else if (ipid) owner.set(id, Number(ipid[1])); else owner.delete(id);
      const o = owner.get(id);
      if (o !== undefined) {
        const t = out.get(o) ?? { lines: [] };
        t.lastPacket = rest;
        out.set(o, t);
      }
      continue;
    }
    const o = owner.get(id);
    if (o === undefined) continue;
    const t = out.get(o) ?? { lines: [] };
    out.set(o, t);
    const markM = /meta mark (0x[0-9a-f]+)/.exec(rest);
    if (table === 'nfltrace') {
      if (chain === 'inend' || chain === 'fwdend' || chain === 'postend') {
        if (rest.startsWith('policy')) { t.endMark = markM ? parseInt(markM[1], 16) : 0; t.endHook = chain; }
      }
      continue;
    }
    // Any chain after an end chain: the packet went on (forward -> postrouting, postrouting -> lo).
    delete t.endMark;
    delete t.endHook;
    const pol = /^policy (\w+)/.exec(rest);
    if (pol) { t.lines.push({ table, chain, kind: 'policy', verdict: pol[1], mark: markM ? parseInt(markM[1], 16) : 0, raw: line }); continue; }
    const rule = /# handle (\d+) \(verdict ([^)]*)\)/.exec(rest) ?? /^unknown rule handle (\d+) \(verdict ([^)]*)\)/.exec(rest);
    if (rule) t.lines.push({ table, chain, kind: 'rule', handle: Number(rule[1]), verdict: rule[2], raw: line });
    else t.lines.push({ table, chain, kind: 'rule', verdict: `? ${rest}`, raw: line });
  }
  return out;
}
