// Kernel side of the full node walk: a node profile recreated in a "node" namespace whose interfaces
// are veths to peer namespaces (pod, ztunnel, uplink ...), the profile's ipsets and iptables rules
// loaded (nf_tables backend), `nft monitor trace` on the node, and a capture on every peer end.
//
// How the routing outcome is seen: the node has a permanent neighbour entry for every next hop the
// profile's routes name, with a made-up MAC that spells the next hop's IPv4 address (02:00:a.b.c.d).
// A netdev ingress chain on each peer end records (destination MAC, IP ID) of every IPv4 frame and
// drops it (so peers never answer). A forwarded packet is thus seen on exactly one peer end, and its
// destination MAC says which next hop the kernel's route chose. Trace chains at priority 2000 of
// prerouting and output give the mark the routing decision (and the re-route after OUTPUT) read;
// postrouting's packet line gives the output interface.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Netns } from '../support/netns';
import type { NodeProfile } from '../../server/src/routing/index';
import { formatInetAddr } from '../../server/src/model/routing';
import { conntrackInsertArgs, parseHandles, parseTrace, SENDER, type PacketTrace } from '../sim/kernel-harness';
import type { CtEntry } from '../sim/kernel-compare';
import { loadNodeRouting } from './node-ns';

// nftrace from the first hook on; conntrack kept on (`ct state`); ICMP errors and RSTs the node would
// send are dropped before they are traced. The priority-2000 chains only report the packet's state.
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
  chain preend { type filter hook prerouting priority 2000; policy accept; }
  chain outend { type filter hook output priority 2000; policy accept; }
  chain inend { type filter hook input priority 2000; policy accept; }
  chain fwdend { type filter hook forward priority 2000; policy accept; }
  chain postend { type filter hook postrouting priority 2000; policy accept; }
}
`;

export interface PeerSpec {
  /** Namespace role, e.g. "pod" (the namespace is `<prefix>-<role>-PID-N`, prefix nl6p by default). */
  role: string;
  /** Node interface -> addresses the peer end holds (CIDR). */
  links: Record<string, string[]>;
}

export interface NodeSend {
  /** Node interface the packet arrives on (sent from its peer); undefined: sent by the node itself. */
  iif?: string;
  src: string;
  dst: string;
  proto: 'tcp' | 'udp';
  sport: number;
  dport: number;
  flags?: string[];
  ipid: number;
}

/** What the kernel did with one packet beyond the rule trace. */
export interface KernelRoute {
  /** Mark at the end of PREROUTING (arrivals) or OUTPUT (sent by the node): what routing read. */
  routeMark?: number;
  /** End chains reached: preend, outend, inend, fwdend, postend. */
  ends: Set<string>;
  /** oif of the postrouting packet line. */
  oif?: string;
  /** Where a peer saw the packet: node interface and the next hop its destination MAC spells. */
  seen: { dev: string; nexthop: string }[];
}

/** The MAC that stands for a next hop: 02:00 and the four bytes of its IPv4 address. */
export function nexthopMac(ip: string): string {
  return ['02', '00', ...ip.split('.').map((x) => Number(x).toString(16).padStart(2, '0'))].join(':');
}

export function macNexthop(mac: string): string | undefined {
  const b = mac.toLowerCase().split(':');
  if (b.length !== 6 || b[0] !== '02' || b[1] !== '00') return undefined;
  return b.slice(2).map((x) => parseInt(x, 16)).join('.');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class NodeRig {
  readonly node: Netns;
  readonly peers = new Map<string, Netns>();
  /** node interface -> [peer namespace, peer end name] */
  private peerOf = new Map<string, { ns: Netns; name: string }>();
  private macs = new Map<string, string>();
  private dir: string;
  private traceFile: string;
  private traceFd?: number;
  private offset = 0;
  private text = '';
  private monitor?: ChildProcess;
  private senders = new Map<Netns, ChildProcess>();
  handles = new Map<string, Map<string, number[]>>();

  /** Only makes the namespaces (so a failure later still finds them for close()). */
  constructor(readonly peerSpecs: PeerSpec[], prefix = 'nl6p') {
    this.dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
    this.traceFile = join(this.dir, 'trace.txt');
    this.node = new Netns(`${prefix}-node`);
    for (const p of peerSpecs) this.peers.set(p.role, new Netns(`${prefix}-${p.role}`));
    // The namespaces go on exit (netns.ts); the monitor and the senders would outlive them.
    process.once('exit', () => this.killChildren());
  }

  private killChildren(): void {
    for (const k of this.senders.values()) { k.stdin?.end(); if (k.exitCode === null) k.kill(); }
    if (this.monitor && this.monitor.exitCode === null) this.monitor.kill();
  }

  /** Builds the node from the profile and loads ipsets, the iptables rules, the trace table and the captures. */
  setup(p: NodeProfile, iptablesText: string, ipsetText?: string): void {
    const n = this.node;
    // Before the interfaces exist, so that they inherit rp_filter 0.
    n.must(['sh', '-c', [
      'sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0',
      'modprobe nf_conntrack 2>/dev/null; sysctl -qw net.netfilter.nf_conntrack_tcp_be_liberal=1 || true',
    ].join('; ')]);
    const byIf: Record<string, Netns> = {};
    for (const s of this.peerSpecs) for (const i of Object.keys(s.links)) byIf[i] = this.peers.get(s.role)!;
    const peerNames = loadNodeRouting(n, p, byIf);
    for (const s of this.peerSpecs) {
      const ns = this.peers.get(s.role)!;
      const chains: string[] = [];
      for (const [i, addrs] of Object.entries(s.links)) {
        const name = peerNames[i];
        if (!name) throw new Error(`the profile has no interface ${i}`);
        this.peerOf.set(i, { ns, name });
        for (const a of addrs) ns.must(['ip', 'addr', 'add', a, 'dev', name]);
        chains.push(`  set seen_${name} { typeof ether daddr . ip id; flags dynamic; size 65535; }`,
          `  chain in_${name} { type filter hook ingress device "${name}" priority 0; policy accept; ether type ip update @seen_${name} { ether daddr . ip id } drop; }`);
      }
      ns.must(['nft', '-f', '-'], `table netdev cap {\n${chains.join('\n')}\n}\n`);
    }
    for (const i of this.peerOf.keys()) this.macs.set(i, JSON.parse(n.must(['ip', '-j', 'link', 'show', i]))[0].address);
    // Every next hop the routes name, and the directly reached hosts (/32 routes without a gateway).
    const neigh = new Map<string, string>();
    for (const r of p.routing.routes) {
      if (r.family !== 'ip' || r.type !== 'unicast') continue;
      for (const h of r.nexthops) {
        if (h.gateway && h.dev) neigh.set(`${formatInetAddr(h.gateway)} ${h.dev}`, '');
        else if (!h.gateway && h.dev && r.dst.len === 32) neigh.set(`${formatInetAddr({ family: 'ip', n: r.dst.n })} ${h.dev}`, '');
      }
    }
    for (const k of neigh.keys()) {
      const [ip, dev] = k.split(' ');
      n.must(['ip', 'neigh', 'replace', ip, 'lladdr', nexthopMac(ip), 'dev', dev, 'nud', 'permanent']);
    }
    if (ipsetText) n.must(['ipset', 'restore'], ipsetText);
    n.must(['iptables-nft-restore'], iptablesText);
    n.must(['nft', '-f', '-'], TRACE_TABLE);
    this.handles = parseHandles(n.must(['nft', '-a', 'list', 'ruleset']));
    const fd = openSync(this.traceFile, 'w');
    this.monitor = spawn('ip', ['netns', 'exec', n.name, 'stdbuf', '-oL', 'nft', '-a', 'monitor', 'trace'], { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    this.traceFd = openSync(this.traceFile, 'r');
  }

  /** Neighbour entries the node holds (ip -> dev), for the report. */
  neighbours(): string[] {
    return this.node.must(['ip', 'neigh', 'show', 'nud', 'permanent']).trim().split('\n');
  }

  /** Conntrack entries with a mark (original tuple, ESTABLISHED, seen reply). */
  insertConntrack(entries: { proto: string; src: string; dst: string; sport: number; dport: number; mark: number }[]): void {
    for (const e of entries) this.node.must(conntrackInsertArgs(e, e.mark));
  }

  /** Sends the packets, each from the peer of its iif (an Ethernet frame) or from the node (raw socket),
   *  through one long-running sender per namespace (in order within a namespace). */
  send(packets: NodeSend[]): void {
    for (const p of packets) {
      let ns: Netns, line: string;
      if (p.iif) {
        const peer = this.peerOf.get(p.iif);
        if (!peer) throw new Error(`no peer for ${p.iif}`);
        ns = peer.ns;
        line = JSON.stringify({ mode: 'eth', ifname: peer.name, dmac: this.macs.get(p.iif), src: p.src, dst: p.dst, proto: p.proto, sport: p.sport, dport: p.dport, flags: p.flags, ipid: p.ipid });
      } else {
        ns = this.node;
        line = JSON.stringify({ mode: 'raw', src: p.src, dst: p.dst, proto: p.proto, sport: p.sport, dport: p.dport, flags: p.flags, ipid: p.ipid });
      }
      let sender = this.senders.get(ns);
      if (!sender) {
        sender = spawn('ip', ['netns', 'exec', ns.name, 'python3', '-u', SENDER], { stdio: ['pipe', 'ignore', 'inherit'] });
        this.senders.set(ns, sender);
      }
      sender.stdin!.write(line + '\n');
    }
  }

  private read(): void {
    const chunk = Buffer.alloc(1 << 20);
    for (;;) {
      const n = readSync(this.traceFd!, chunk, 0, chunk.length, this.offset);
      if (n <= 0) break;
      this.offset += n;
      this.text += chunk.subarray(0, n).toString('utf8');
    }
  }

  /** Waits until the monitor traces: sends a probe from the node until it shows (the monitor starts asynchronously). */
  async ready(probeIpid: number, maxMs = 5000): Promise<void> {
    const t0 = Date.now();
    while (Date.now() - t0 < maxMs) {
      this.send([{ src: '127.0.0.1', dst: '127.0.0.1', proto: 'udp', sport: 9, dport: 9, ipid: probeIpid }]);
      await sleep(200);
      this.read();
      if (this.text.includes(`ip id ${probeIpid} `)) return;
    }
    throw new Error('nft monitor trace showed nothing');
  }

  /** Waits until every IP ID has been traced and the trace has been quiet for a while, then parses it. */
  async collect(ipids: number[], maxMs = 8000): Promise<{ traces: Map<number, PacketTrace>; routes: Map<number, KernelRoute>; raw: string }> {
    const t0 = Date.now();
    let len = -1, quietSince = Date.now();
    for (;;) {
      this.read();
      if (this.text.length !== len) { len = this.text.length; quietSince = Date.now(); }
      const all = ipids.every((i) => this.text.includes(`ip id ${i} `));
      if (all && Date.now() - quietSince > 300) break;
      if (Date.now() - t0 > maxMs) break;
      await sleep(20);
    }
    const text = this.text.replace(/\0/g, '');
    return { traces: parseTrace(text), routes: this.routesOf(text, ipids), raw: text };
  }

  private routesOf(text: string, ipids: number[]): Map<number, KernelRoute> {
    const out = new Map<number, KernelRoute>();
    for (const i of ipids) out.set(i, { ends: new Set(), seen: [] });
    const owner = new Map<string, number>();
    for (const line of text.split('\n')) {
      const m = /^trace id (\w+) ip nfltrace (\w+) (.*)$/.exec(line);
      const any = /^trace id (\w+) \S+ \S+ \S+ packet: .*\bip id (\d+) /.exec(line);
      if (any) owner.set(any[1], Number(any[2]));
      if (!m) continue;
      const k = out.get(owner.get(m[1]) ?? -1);
      if (!k) continue;
      const [, , chain, rest] = m;
      if (rest.startsWith('packet:')) {
        const oif = /\boif "([^"]+)"/.exec(rest);
        if (chain === 'postend' && oif) k.oif = oif[1];
        continue;
      }
      if (!rest.startsWith('policy')) continue;
      k.ends.add(chain);
      const mark = /meta mark (0x[0-9a-f]+)/.exec(rest);
      if (chain === 'preend' || chain === 'outend') k.routeMark = mark ? parseInt(mark[1], 16) : 0;
    }
    for (const [dev, { ns, name }] of this.peerOf) {
      const j = JSON.parse(ns.must(['nft', '-j', 'list', 'set', 'netdev', 'cap', `seen_${name}`]));
      const set = j.nftables.find((x: { set?: unknown }) => x.set)?.set;
      for (const e of set?.elem ?? []) {
        const [mac, id] = e.concat ?? e.elem?.val?.concat ?? [];
        const k = out.get(Number(id));
        if (k) k.seen.push({ dev, nexthop: macNexthop(String(mac)) ?? String(mac) });
      }
    }
    return out;
  }

  /** `conntrack -L` in the node: original tuples with their mark and zone. */
  conntrack(): CtEntry[] {
    const out: CtEntry[] = [];
    for (const line of this.node.run(['conntrack', '-L']).stdout.split('\n')) {
      const m = /^(tcp|udp)\s+\d+\s+\d+\s+(?:\S+\s+)?src=(\S+) dst=(\S+) sport=(\d+) dport=(\d+)/.exec(line);
      if (!m) continue;
      const mark = /\bmark=(\d+)/.exec(line), zone = /\bzone=(\d+)/.exec(line);
      out.push({ proto: m[1], src: m[2], dst: m[3], sport: Number(m[4]), dport: Number(m[5]), mark: mark ? Number(mark[1]) : 0, zone: zone ? Number(zone[1]) : 0 });
    }
    return out;
  }

  /** `ip route get` in the node (raw output), e.g. to ask which table a mark selects. */
  routeGet(args: string[]): string {
    const r = this.node.run(['ip', 'route', 'get', ...args]);
    return (r.stdout ?? '') + (r.stderr ?? '');
  }

  close(): void {
    this.killChildren();
    if (this.traceFd !== undefined) closeSync(this.traceFd);
    this.node.delete();
    for (const ns of this.peers.values()) ns.delete();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Is `spawnSync` able to find the tools the rig needs? */
export function rigTools(): string | undefined {
  for (const tool of ['conntrack', 'python3', 'stdbuf', 'ipset', 'iptables-nft-restore']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} not installed`;
  }
  return undefined;
}
