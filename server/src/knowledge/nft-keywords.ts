// What nftables (1.1.x) defines, for the parser's keyword decisions, the model's checks and hovers.
// The `doc` lines are ours: short, exact, one sentence each.
import type { Family, Hook } from '../model/ruleset';

export const FAMILIES: readonly Family[] = ['ip', 'ip6', 'inet', 'arp', 'bridge', 'netdev'];

export function isFamily(w: string): w is Family {
  return (FAMILIES as readonly string[]).includes(w);
}

/** Payload protocols: header fields selectable as `PROTO FIELD`. */
export const PAYLOAD_FIELDS: Record<string, readonly string[]> = {
  ether: ['daddr', 'saddr', 'type'],
  vlan: ['id', 'dei', 'cfi', 'pcp', 'type'],
  arp: ['htype', 'ptype', 'hlen', 'plen', 'operation', 'saddr', 'daddr'],
  ip: ['version', 'hdrlength', 'dscp', 'ecn', 'length', 'id', 'frag-off', 'ttl', 'protocol', 'checksum', 'saddr', 'daddr'],
  icmp: ['type', 'code', 'checksum', 'id', 'sequence', 'gateway', 'mtu'],
  igmp: ['type', 'mrt', 'checksum', 'group'],
  ip6: ['version', 'dscp', 'ecn', 'flowlabel', 'length', 'nexthdr', 'hoplimit', 'saddr', 'daddr'],
  icmpv6: ['type', 'code', 'checksum', 'parameter-problem', 'packet-too-big', 'mtu', 'id', 'sequence', 'max-delay', 'taddr', 'daddr'],
  tcp: ['sport', 'dport', 'sequence', 'ackseq', 'doff', 'reserved', 'flags', 'window', 'checksum', 'urgptr'],
  udp: ['sport', 'dport', 'length', 'checksum'],
  udplite: ['sport', 'dport', 'csumcov', 'checksum'],
  sctp: ['sport', 'dport', 'vtag', 'checksum'],
  dccp: ['sport', 'dport', 'type'],
  ah: ['nexthdr', 'hdrlength', 'reserved', 'spi', 'sequence'],
  esp: ['spi', 'sequence'],
  comp: ['nexthdr', 'flags', 'cpi'],
  th: ['sport', 'dport'],
  gre: ['version', 'flags', 'protocol'],
  vxlan: ['vni', 'flags'],
  geneve: ['vni', 'flags'],
  gretap: [],
  // IPv6 extension headers
  hbh: ['nexthdr', 'hdrlength'],
  frag: ['nexthdr', 'reserved', 'frag-off', 'reserved2', 'more-fragments', 'id'],
  rt: ['nexthdr', 'hdrlength', 'type', 'seg-left'],
  dst: ['nexthdr', 'hdrlength'],
  mh: ['nexthdr', 'hdrlength', 'type', 'reserved', 'checksum'],
  srh: ['last-entry', 'flags', 'tag', 'sid'],
  rt0: ['addr'],
  rt2: ['addr'],
};

/** Tunnel headers that can carry an inner packet: `vxlan ip saddr`, `gre tcp dport`. */
export const INNER_CARRIERS = new Set(['vxlan', 'geneve', 'gre', 'gretap']);

/** Protocols whose header fields are meant to follow an arp header (`arp saddr ip`). */
export const ARP_ADDR_SUB = new Set(['ip', 'ether']);

export const META_KEYS = new Set([
  'length', 'nfproto', 'l4proto', 'protocol', 'priority', 'mark', 'iif', 'iifname', 'iiftype', 'oif', 'oifname',
  'oiftype', 'skuid', 'skgid', 'nftrace', 'rtclassid', 'ibrname', 'obrname', 'ibriport', 'obriport', 'ibrpvid',
  'ibrvproto', 'ibrhwaddr', 'pkttype', 'cpu', 'iifgroup', 'oifgroup', 'cgroup', 'random', 'secpath', 'ipsec', 'time',
  'day', 'hour', 'secmark', 'sdif', 'sdifname', 'broute', 'iifkind', 'oifkind',
]);

/** Meta keys usable without the `meta` prefix. */
export const META_UNQUALIFIED = new Set([
  'mark', 'iif', 'iifname', 'iiftype', 'oif', 'oifname', 'oiftype', 'skuid', 'skgid', 'nftrace', 'rtclassid',
  'ibriport', 'obriport', 'ibrname', 'obrname', 'pkttype', 'cpu', 'iifgroup', 'oifgroup', 'cgroup', 'random', 'time',
  'day', 'hour',
]);

/** Meta keys the kernel lets a rule set (NFT_META_* handled by nft_meta_set_init). */
export const META_SETTABLE = new Set(['mark', 'priority', 'pkttype', 'nftrace', 'secmark', 'broute']);

export const CT_KEYS = new Set([
  'state', 'direction', 'status', 'mark', 'expiration', 'helper', 'l3proto', 'saddr', 'daddr', 'protocol',
  'proto-src', 'proto-dst', 'label', 'bytes', 'packets', 'avgpkt', 'zone', 'event', 'id', 'secmark', 'count',
  'timeout', 'expectation',
]);
export const CT_DIR = new Set(['original', 'reply']);
/** ct keys that need a direction or are direction-free; used only to word messages. */
export const CT_SETTABLE = new Set(['mark', 'label', 'zone', 'event', 'helper', 'timeout', 'expectation', 'secmark']);

export const FIB_FLAGS = new Set(['saddr', 'daddr', 'mark', 'iif', 'oif']);
export const FIB_RESULTS = new Set(['oif', 'oifname', 'type', 'check']);
export const RT_KEYS = new Set(['classid', 'nexthop', 'mtu', 'ipsec']);
export const SOCKET_KEYS = new Set(['transparent', 'mark', 'wildcard', 'cgroupv2']);
export const IPSEC_KEYS = new Set(['reqid', 'spi', 'saddr', 'daddr']);
export const OSF_KEYS = new Set(['name', 'version']);

export const TCP_OPTIONS: Record<string, readonly string[]> = {
  eol: ['kind'], nop: ['kind'], maxseg: ['kind', 'length', 'size'], mss: ['kind', 'length', 'size'],
  window: ['kind', 'length', 'count'], 'sack-perm': ['kind', 'length'], 'sack-permitted': ['kind', 'length'],
  sack: ['kind', 'length', 'left', 'right'], sack0: ['kind', 'length', 'left', 'right'],
  sack1: ['kind', 'length', 'left', 'right'], sack2: ['kind', 'length', 'left', 'right'],
  sack3: ['kind', 'length', 'left', 'right'], timestamp: ['kind', 'length', 'tsval', 'tsecr'],
  fastopen: ['kind', 'length'], md5sig: ['kind', 'length'],
  mptcp: ['kind', 'length', 'subtype'],
};
export const IP_OPTIONS: Record<string, readonly string[]> = {
  lsrr: ['type', 'length', 'value', 'ptr', 'addr'], rr: ['type', 'length', 'value', 'ptr', 'addr'],
  ssrr: ['type', 'length', 'value', 'ptr', 'addr'], ra: ['type', 'length', 'value', 'ptr', 'addr'],
};
export const SCTP_CHUNKS = new Set([
  'data', 'init', 'init-ack', 'sack', 'heartbeat', 'heartbeat-ack', 'abort', 'shutdown', 'shutdown-ack', 'error',
  'cookie-echo', 'cookie-ack', 'ecne', 'cwr', 'shutdown-complete', 'asconf-ack', 'forward-tsn', 'asconf',
]);
export const SCTP_CHUNK_FIELDS = new Set([
  'type', 'flags', 'length', 'tsn', 'stream', 'ssn', 'ppid', 'init-tag', 'a-rwnd', 'num-outbound-streams',
  'num-inbound-streams', 'initial-tsn', 'cum-tsn-ack', 'num-gap-ack-blocks', 'num-dup-tsns', 'lowest-tsn', 'seqno',
  'new-cum-tsn',
]);

/** Words that begin a selector expression (the left side of a match or the target of `set`). */
export const SELECTOR_STARTS = new Set([
  ...Object.keys(PAYLOAD_FIELDS), 'meta', 'ct', 'fib', 'rt', 'socket', 'osf', 'ipsec', 'numgen', 'jhash', 'symhash',
  'exthdr', 'tcp', 'ip', 'dccp', 'sctp', ...META_UNQUALIFIED, 'tunnel',
]);

export const VERDICTS = new Set(['accept', 'drop', 'continue', 'return', 'jump', 'goto']);

/** Rule statements that start with a keyword of their own, with a one-line doc each. */
export const STATEMENT_DOCS: Record<string, string> = {
  accept: 'Verdict: accept the packet; ends evaluation of this base chain.',
  drop: 'Verdict: drop the packet; evaluation ends immediately.',
  continue: 'Verdict: go on with the next rule.',
  return: 'Verdict: return to the rule after the last jump; in a base chain, apply its policy.',
  jump: 'Verdict: evaluate the named chain, then come back after this rule.',
  goto: 'Verdict: evaluate the named chain and do not come back here.',
  queue: 'Pass the packet to user space through an nfqueue.',
  counter: 'Count packets and bytes that reach this statement.',
  log: 'Log the packet through the kernel log or nflog.',
  limit: 'Match while the packet or byte rate is under the given limit (or over it with `over`).',
  quota: 'Match until (or once, with `over`) the byte quota is used.',
  reject: 'Drop the packet and send an ICMP error or a TCP reset.',
  snat: 'Source NAT: rewrite the source address (nat chains at postrouting or input).',
  dnat: 'Destination NAT: rewrite the destination address (nat chains at prerouting or output).',
  masquerade: 'Source NAT to the address of the outgoing interface.',
  redirect: 'Destination NAT to the local host (optionally to another port).',
  notrack: 'Do not track this packet in conntrack.',
  dup: 'Send a copy of the packet to another address or device.',
  fwd: 'Forward the packet out of the given device (netdev family).',
  tproxy: 'Hand the packet to a local socket without changing its header (transparent proxy).',
  synproxy: 'Answer TCP SYNs on behalf of the server (SYN cookies).',
  flow: 'Offload the flow to a flowtable.',
  add: 'Add an element built from the packet to a set.',
  update: 'Add or refresh an element built from the packet in a set.',
  delete: 'Delete the element built from the packet from a set.',
  set: 'Legacy set statement: `set add|update EXPR @set`.',
  meter: 'A named set updated from the packet with a stateful statement per element.',
  xt: 'An iptables extension kept by iptables-nft; nft cannot show its parameters.',
  last: 'Remember when this rule last matched.',
  comment: 'A comment stored with the rule.',
  reset: 'Reset a TCP option or an object.',
  secmark: 'Reference a named secmark object.',
};

/** Chain types per family and the hooks each accepts (nft's chain type table). */
export const CHAIN_TYPE_HOOKS: Record<string, Partial<Record<Family, readonly string[]>>> = {
  filter: {
    ip: ['prerouting', 'input', 'forward', 'output', 'postrouting'],
    ip6: ['prerouting', 'input', 'forward', 'output', 'postrouting'],
    inet: ['prerouting', 'input', 'forward', 'output', 'postrouting', 'ingress'],
    arp: ['input', 'output'],
    bridge: ['prerouting', 'input', 'forward', 'output', 'postrouting'],
    netdev: ['ingress', 'egress'],
  },
  nat: {
    ip: ['prerouting', 'input', 'output', 'postrouting'],
    ip6: ['prerouting', 'input', 'output', 'postrouting'],
    inet: ['prerouting', 'input', 'output', 'postrouting'],
  },
  route: { ip: ['output'], ip6: ['output'], inet: ['output'] },
};

export const HOOKS: readonly Hook[] = ['prerouting', 'input', 'forward', 'output', 'postrouting', 'ingress', 'egress'];

/** Named priorities for ip/ip6/inet/arp/netdev (netdev/arp only `filter`). */
const STD_PRIO: Record<string, number> = { raw: -300, mangle: -150, dstnat: -100, filter: 0, security: 50, srcnat: 100 };
const BRIDGE_PRIO: Record<string, number> = { dstnat: -300, filter: -200, out: 100, srcnat: 300 };

export function namedPriority(family: Family | undefined, name: string, hook?: string): number | undefined {
  if (family === 'bridge') return BRIDGE_PRIO[name];
  if (family === 'arp' || family === 'netdev') return name === 'filter' ? 0 : undefined;
  const v = STD_PRIO[name];
  if (v === undefined) return undefined;
  // nft only offers dstnat on prerouting/output? No: it accepts every standard name on every hook.
  void hook;
  return v;
}

export const PRIORITY_DOCS: Record<string, string> = {
  raw: 'Priority -300: before conntrack, where the raw table runs.',
  mangle: 'Priority -150: where the mangle table runs.',
  dstnat: 'Priority -100 (bridge: -300): destination NAT.',
  filter: 'Priority 0 (bridge: -200): where the filter table runs.',
  security: 'Priority 50: where the security table runs.',
  srcnat: 'Priority 100 (bridge: 300): source NAT.',
  out: 'Bridge priority 100: output.',
};

export const CHAIN_POLICIES = new Set(['accept', 'drop']);

/** Flags each set kind may carry. */
export const SET_FLAGS = new Set(['constant', 'interval', 'timeout', 'dynamic', 'eval']);
export const TABLE_FLAGS = new Set(['dormant', 'owner', 'persist']);

/** Data types nft knows for `type` declarations in sets and maps. */
export const SET_TYPES = new Set([
  'ipv4_addr', 'ipv6_addr', 'ether_addr', 'inet_proto', 'inet_service', 'mark', 'ifname', 'iface_index', 'verdict',
  'ct_state', 'ct_status', 'ct_dir', 'ct_event', 'ct_label', 'time', 'day', 'hour', 'cgroupsv2', 'realm', 'classid',
  'uid', 'gid', 'ether_type', 'arp_op', 'icmp_type', 'icmp_code', 'icmpv6_type', 'icmpv6_code', 'icmpx_code',
  'dccp_pkttype', 'pkttype', 'nf_proto', 'tcp_flag', 'dscp', 'ecn', 'ipsec_spi', 'ip_proto', 'integer', 'string',
  'boolean', 'devgroup', 'iface_type', 'mh_type', 'fib_addrtype', 'counter', 'quota', 'limit', 'ct_helper',
  'secmark', 'synproxy', 'ct_timeout', 'ct_expectation', 'igmp_type', 'osf', 'fwd', 'tunnel',
]);

/** Object kinds a table may hold (named stateful objects and flowtables). */
export const OBJECT_KINDS = new Set(['counter', 'quota', 'limit', 'secmark', 'synproxy', 'flowtable', 'tunnel']);
export const CT_OBJECT_KINDS = new Set(['helper', 'timeout', 'expectation']);

export const COMMAND_VERBS = new Set([
  'add', 'create', 'insert', 'replace', 'delete', 'destroy', 'flush', 'list', 'reset', 'rename', 'describe', 'get',
  'export', 'import', 'monitor',
]);

/** Maximum name length (kernel NFT_*_MAXNAMELEN is 256 with the terminating NUL). */
export const MAX_NAME = 255;

/** Symbolic constants some keys accept (nft's datatype symbol tables). Numbers are accepted too. */
export const KEY_SYMBOLS: Record<string, ReadonlySet<string>> = {
  'ct state': new Set(['invalid', 'established', 'related', 'new', 'untracked']),
  'ct direction': new Set(['original', 'reply']),
  'ct status': new Set(['expected', 'seen-reply', 'assured', 'confirmed', 'snat', 'dnat', 'dying']),
  'meta pkttype': new Set(['host', 'unicast', 'broadcast', 'multicast', 'other']),
  'meta day': new Set(['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']),
};

/** Integer keys and their largest value (only numbers, ranges, sets and variables fit them). */
export const KEY_MAX: Record<string, number> = {
  'ct mark': 0xffffffff, 'meta mark': 0xffffffff, 'ct zone': 0xffff, 'vlan id': 4095, 'vlan dei': 1, 'vlan cfi': 1,
  'vlan pcp': 7, 'ip ttl': 255, 'ip6 hoplimit': 255, 'ip dscp': 63, 'ip6 dscp': 63, 'ct label': 127,
};

export const LOG_LEVELS = new Set(['emerg', 'alert', 'crit', 'err', 'warn', 'notice', 'info', 'debug', 'audit']);

/** ct keys that take a direction (`ct original saddr`). */
export const CT_DIRECTIONAL = new Set(['saddr', 'daddr', 'proto-src', 'proto-dst', 'l3proto', 'protocol', 'bytes', 'packets', 'avgpkt', 'zone', 'ip saddr', 'ip daddr', 'ip6 saddr', 'ip6 daddr']);

/** Hover lines for the first word of an expression. */
export const EXPR_DOCS: Record<string, string> = {
  ether: 'Ethernet header: daddr, saddr, type.',
  vlan: '802.1Q VLAN header: id, dei, pcp, type.',
  arp: 'ARP header: htype, ptype, hlen, plen, operation, saddr/daddr ip|ether.',
  ip: 'IPv4 header fields (saddr, daddr, protocol, ttl, dscp...) or `ip option`.',
  ip6: 'IPv6 header fields (saddr, daddr, nexthdr, hoplimit, flowlabel...).',
  icmp: 'ICMP header: type, code, id, sequence, mtu, gateway.',
  icmpv6: 'ICMPv6 header: type, code, mtu, id, sequence, max-delay.',
  tcp: 'TCP header fields (sport, dport, flags, window...) or `tcp option`.',
  udp: 'UDP header: sport, dport, length, checksum.',
  sctp: 'SCTP header: sport, dport, vtag, or `sctp chunk`.',
  th: 'Transport header ports of any protocol: sport, dport.',
  meta: 'Packet metadata: mark, iifname, oifname, l4proto, nfproto, skuid, pkttype...',
  ct: 'Conntrack: state, status, mark, zone, helper, [original|reply] saddr/daddr...',
  fib: 'FIB (routing) lookup: fib saddr|daddr [. iif|oif|mark] oif|oifname|type.',
  rt: 'Routing information of the packet: classid, nexthop, mtu, ipsec.',
  socket: 'The local socket of the packet: transparent, mark, wildcard, cgroupv2.',
  numgen: 'A number generator: numgen inc|random mod N [offset N].',
  jhash: 'A Jenkins hash of the given expressions: jhash EXPR mod N [seed S] [offset N].',
  symhash: 'A symmetric hash of the flow: symhash mod N [offset N].',
  ...Object.fromEntries(['mark', 'iif', 'iifname', 'oif', 'oifname', 'skuid', 'skgid', 'pkttype', 'cgroup', 'cpu'].map((k) => [k, `meta ${k} (the meta prefix is optional).`])),
};

export const HOOK_DOCS: Record<string, string> = {
  prerouting: 'Every incoming packet, before the routing decision.',
  input: 'Packets for this host, after the routing decision.',
  forward: 'Packets routed through this host.',
  output: 'Packets this host sends.',
  postrouting: 'Every outgoing packet, after the routing decision.',
  ingress: 'Every packet as the device receives it (netdev, inet), before prerouting.',
  egress: 'Every packet as the device sends it (netdev).',
};

export const CHAIN_TYPE_DOCS: Record<string, string> = {
  filter: 'A chain that filters packets; every family and hook.',
  nat: 'A chain that NATs the first packet of each connection (ip, ip6, inet).',
  route: 'A filter chain at output that re-routes the packet when it changes a routing key (mark, addresses, TOS).',
};
