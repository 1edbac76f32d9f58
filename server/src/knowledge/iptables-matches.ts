// Match modules (`-m NAME`): options, value types, and the rules userspace and kernel enforce.
// Docs are ours, one line each, shown on hover.
import type { ExtensionSource } from './iptables-extensions';
import { compareAddresses } from '../model/values';
import type { Range } from '../model/ruleset';

const ELEMENT_OPTS = new Set(['reqid', 'spi', 'proto', 'mode', 'tunnel-src', 'tunnel-dst']);

function utf8Bytes(s: string): number {
  return new TextEncoder().encode(s).length;
}

const TCP = 6, UDP = 17, SCTP = 132, DCCP = 33, ICMP = 1, ICMP6 = 58, ESP = 50, AH = 51, MH = 135, COMP = 108, UDPLITE = 136;

const CT_STATES = 'el:INVALID,NEW,ESTABLISHED,RELATED,UNTRACKED,SNAT,DNAT|connection state';
const ADDR_TYPES = 'el:UNSPEC,UNICAST,LOCAL,BROADCAST,ANYCAST,MULTICAST,BLACKHOLE,UNREACHABLE,PROHIBIT,THROW,NAT,XRESOLVE|address type';

function portOpts(): [string, string, string, string][] {
  return [
    ['sport|source-port', 'port', '!', 'Source port or range (p, p:q, :q, p:).'],
    ['dport|destination-port', 'port', '!', 'Destination port or range (p, p:q, :q, p:).'],
  ];
}

export const MATCHES: ExtensionSource[] = [
  {
    name: 'addrtype',
    doc: 'Match the routing type of the source or destination address (LOCAL, BROADCAST, UNICAST...).',
    opts: [
      ['src-type', ADDR_TYPES, '!', 'Source address type(s), comma separated.'],
      ['dst-type', ADDR_TYPES, '!', 'Destination address type(s), comma separated.'],
      ['limit-iface-in', '', '', 'Look the type up only on the incoming interface.'],
      ['limit-iface-out', '', '', 'Look the type up only on the outgoing interface.'],
    ],
    need: [['src-type', 'dst-type']],
    excl: [['limit-iface-in', 'limit-iface-out']],
    check(api) {
      if (!api.builtin || !api.chain) return;
      const i = api.opt('limit-iface-in');
      if (i && (api.chain === 'OUTPUT' || api.chain === 'POSTROUTING')) api.error(i.nameRange, 'hook-mismatch', `--limit-iface-in cannot be used in ${api.chain}: there is no incoming interface there`);
      const o = api.opt('limit-iface-out');
      if (o && (api.chain === 'PREROUTING' || api.chain === 'INPUT')) api.error(o.nameRange, 'hook-mismatch', `--limit-iface-out cannot be used in ${api.chain}: the outgoing interface is not known yet`);
    },
  },
  {
    name: 'ah',
    family: 'ip',
    doc: 'Match the SPI of an IPsec Authentication Header.',
    opts: [['ahspi', 'r:0:4294967295', '!', 'SPI value or range (a:b).']],
    proto: [AH],
  },
  {
    name: 'ah',
    family: 'ip6',
    doc: 'Match fields of the IPv6 Authentication Header extension header.',
    opts: [
      ['ahspi', 'r:0:4294967295', '!', 'SPI value or range (a:b).'],
      ['ahlen', 'u:0:4294967295', '!', 'Header length field.'],
      ['ahres', '', '', 'Reserved field is zero.'],
    ],
  },
  {
    name: 'bpf',
    doc: 'Run a classic BPF program (or a pinned eBPF object) against the packet.',
    opts: [
      ['bytecode', 's:0', '', 'Program as "count,op jt jf k,..." (the output of nfbpf_compile).'],
      ['object-pinned', 's:0', '', 'Path of a pinned eBPF program in the bpf filesystem.'],
    ],
    need: [['bytecode', 'object-pinned']],
    excl: [['bytecode', 'object-pinned']],
  },
  {
    name: 'cgroup',
    doc: 'Match the control group of the local socket that sent or receives the packet.',
    opts: [
      ['path', 's:4095', '!', 'cgroup v2 path, relative to the cgroup root.'],
      ['cgroup', 'u:0:4294967295', '!', 'net_cls class id (cgroup v1).'],
    ],
    need: [['path', 'cgroup']],
    excl: [['path', 'cgroup']],
    hooks: ['INPUT', 'OUTPUT', 'POSTROUTING'],
  },
  {
    name: 'cluster',
    doc: 'Spread connections over cluster nodes by a hash of the source address.',
    opts: [
      ['cluster-total-nodes', 'u:1:32', '', 'Number of nodes in the cluster.'],
      ['cluster-local-node', 'u:1:32', '!', 'Number of this node (1-based).'],
      ['cluster-local-nodemask', 'u:1:4294967295', '!', 'Bit mask of the node ids this machine serves.'],
      ['cluster-hash-seed', 'u:0:4294967295', '', 'Seed of the hash; the same on every node.'],
    ],
    need: [['cluster-total-nodes'], ['cluster-local-node', 'cluster-local-nodemask'], ['cluster-hash-seed']],
    excl: [['cluster-local-node', 'cluster-local-nodemask']],
    check(api) {
      const t = api.val('cluster-total-nodes'), n = api.val('cluster-local-node');
      if (t?.kind === 'number' && n?.kind === 'number' && n.value > t.value) api.error(n.range, 'bad-value', `local node ${n.value} is above the total of ${t.value} nodes`);
    },
  },
  {
    name: 'comment',
    doc: 'No effect on packets: carries a note shown in listings.',
    opts: [['comment', 's:0', '', 'The note (iptables-save keeps 255 bytes).']],
    need: [['comment']],
    check(api) {
      const c = api.val('comment');
      // Up to 85 UTF-16 units cannot exceed 255 bytes: skip the count on the common path.
      if (c && c.kind === 'string' && c.value.length > 85 && utf8Bytes(c.value) > 255) api.warn(c.range, 'truncated-value', `comment is ${utf8Bytes(c.value)} bytes: the legacy backend refuses more than 255`);
    },
  },
  {
    name: 'connbytes',
    doc: 'Match on how many packets or bytes a connection has carried so far.',
    opts: [
      ['connbytes', 'r:0:18446744073709551615', '!', 'Amount FROM[:TO]; an open end means no limit.'],
      ['connbytes-dir', 'E:original,reply,both|direction', '', 'Count the original direction, the reply, or both.'],
      ['connbytes-mode', 'E:packets,bytes,avgpkt|mode', '', 'Count packets, bytes, or the average packet size.'],
    ],
    need: [['connbytes'], ['connbytes-dir'], ['connbytes-mode']],
  },
  {
    name: 'connlabel',
    doc: 'Test (and optionally set) a bit of the connection label bitmap.',
    opts: [
      ['label', 'label', '!', 'Label bit number (0..127) or a name from connlabel.conf.'],
      ['set', '', '', 'Set the label bit on the connection if it is not set yet.'],
    ],
    need: [['label']],
  },
  {
    name: 'connlimit',
    doc: 'Match on the number of open connections per source (or destination) network.',
    opts: [
      ['connlimit-upto', 'u:0:4294967295', '!', 'Match while the count is at most N.'],
      ['connlimit-above', 'u:0:4294967295', '!', 'Match when the count is above N.'],
      ['connlimit-mask', 'prefixlen', '', 'Group addresses by this prefix length.'],
      ['connlimit-saddr', '', '', 'Count per source address group (default).'],
      ['connlimit-daddr', '', '', 'Count per destination address group.'],
    ],
    need: [['connlimit-upto', 'connlimit-above']],
    excl: [['connlimit-upto', 'connlimit-above'], ['connlimit-saddr', 'connlimit-daddr']],
  },
  {
    name: 'connmark',
    doc: 'Match the connection mark: (ctmark AND mask) == value.',
    opts: [['mark', 'mark', '!', 'value[/mask], 32 bits each; mask defaults to 0xffffffff.']],
    need: [['mark']],
  },
  {
    name: 'conntrack',
    doc: 'Match connection tracking state and the original/reply tuples of the connection.',
    opts: [
      ['ctstate', CT_STATES, '!', 'Connection states, comma separated.'],
      ['ctproto', 'proto', '!', 'Layer-4 protocol of the connection.'],
      ['ctorigsrc', 'addr', '!', 'Original direction source address[/mask].'],
      ['ctorigdst', 'addr', '!', 'Original direction destination address[/mask].'],
      ['ctreplsrc', 'addr', '!', 'Reply direction source address[/mask].'],
      ['ctrepldst', 'addr', '!', 'Reply direction destination address[/mask].'],
      ['ctorigsrcport', 'port', '!', 'Original source port or range (p:q).'],
      ['ctorigdstport', 'port', '!', 'Original destination port or range (p:q).'],
      ['ctreplsrcport', 'port', '!', 'Reply source port or range (p:q).'],
      ['ctrepldstport', 'port', '!', 'Reply destination port or range (p:q).'],
      ['ctstatus', 'el:NONE,EXPECTED,SEEN_REPLY,ASSURED,CONFIRMED|connection status', '!', 'Status bits, comma separated.'],
      ['ctexpire', 'r:0:4294967295', '!', 'Remaining lifetime in seconds, N or N:M.'],
      ['ctdir', 'e:ORIGINAL,REPLY|direction', '', 'Only packets of this direction.'],
    ],
    need: [['ctstate', 'ctproto', 'ctorigsrc', 'ctorigdst', 'ctreplsrc', 'ctrepldst', 'ctorigsrcport', 'ctorigdstport', 'ctreplsrcport', 'ctrepldstport', 'ctstatus', 'ctexpire', 'ctdir']],
    check(api) {
      const p = api.val('ctproto');
      if (p?.kind === 'number' && p.value === 0) api.error(p.range, 'bad-value', '--ctproto 0 would match every protocol; leave it out instead');
    },
  },
  {
    name: 'cpu',
    doc: 'Match the CPU that handles the packet.',
    opts: [['cpu', 'u:0:4294967295', '!', 'CPU number.']],
    need: [['cpu']],
  },
  {
    name: 'dccp',
    doc: 'Match DCCP ports, packet types and options (needs -p dccp).',
    opts: [
      ...portOpts(),
      ['dccp-types', 'el:REQUEST,RESPONSE,DATA,ACK,DATAACK,CLOSEREQ,CLOSE,RESET,SYNC,SYNCACK,INVALID|DCCP packet type', '!', 'Packet types, comma separated.'],
      ['dccp-option', 'u:0:255', '!', 'A DCCP option number is present.'],
    ],
    proto: [DCCP],
  },
  {
    name: 'devgroup',
    doc: 'Match the device group of the incoming or outgoing interface.',
    opts: [
      ['src-group', 'm:0:4294967295', '!', 'Group of the incoming interface, value[/mask].'],
      ['dst-group', 'm:0:4294967295', '!', 'Group of the outgoing interface, value[/mask].'],
    ],
    need: [['src-group', 'dst-group']],
  },
  {
    name: 'dscp',
    doc: 'Match the 6-bit DSCP field of the IP header.',
    opts: [
      ['dscp', 'u:0:63', '!', 'DSCP value 0..63 (decimal or hex).'],
      ['dscp-class', 'dscpclass', '!', 'DiffServ class name (BE, EF, AF11..AF43, CS0..CS7).'],
    ],
    need: [['dscp', 'dscp-class']],
    excl: [['dscp', 'dscp-class']],
  },
  {
    name: 'dst',
    family: 'ip6',
    doc: 'Match the IPv6 Destination Options extension header.',
    opts: [
      ['dst-len', 'u:0:4294967295', '!', 'Header length.'],
      ['dst-opts', 'optslist', '', 'Options as type[:length], comma separated.'],
    ],
  },
  {
    name: 'ecn',
    doc: 'Match the ECN bits of the IP header and the TCP ECE/CWR flags.',
    opts: [
      ['ecn-tcp-cwr', '', '!', 'TCP CWR flag is set (needs -p tcp).'],
      ['ecn-tcp-ece', '', '!', 'TCP ECE flag is set (needs -p tcp).'],
      ['ecn-ip-ect', 'u:0:3', '!', 'IP ECN field value 0..3.'],
    ],
    need: [['ecn-tcp-cwr', 'ecn-tcp-ece', 'ecn-ip-ect']],
    check(api) {
      for (const n of ['ecn-tcp-cwr', 'ecn-tcp-ece']) {
        const o = api.opt(n);
        if (o && (api.proto !== TCP || api.protoNegated)) api.error(o.nameRange, 'missing-protocol', `--${n} tests a TCP flag: the rule needs -p tcp`);
      }
    },
  },
  {
    name: 'esp',
    doc: 'Match the SPI of an IPsec ESP packet.',
    opts: [['espspi', 'r:0:4294967295', '!', 'SPI value or range (a:b).']],
    proto: [ESP],
  },
  {
    name: 'eui64',
    family: 'ip6',
    doc: 'Match when the source address ends in the EUI-64 derived from the source MAC.',
    opts: [],
    hooks: ['PREROUTING', 'INPUT', 'FORWARD'],
  },
  {
    name: 'frag',
    family: 'ip6',
    doc: 'Match fields of the IPv6 Fragment extension header.',
    opts: [
      ['fragid', 'r:0:4294967295', '!', 'Fragment identification value or range.'],
      ['fraglen', 'u:0:4294967295', '!', 'Header length field.'],
      ['fragres', '', '', 'Reserved fields are zero.'],
      ['fragfirst', '', '', 'First fragment.'],
      ['fragmore', '', '', 'More fragments follow.'],
      ['fraglast', '', '', 'Last fragment.'],
    ],
    excl: [['fragmore', 'fraglast']],
  },
  {
    name: 'hashlimit',
    doc: 'Rate limit per group of packets (per source, destination, port...) with a token bucket each.',
    opts: [
      ['hashlimit-upto', 'hlrate', '', 'Match while the rate is at most this (N/second|minute|hour|day or bytes/s).'],
      ['hashlimit-above', 'hlrate', '', 'Match when the rate is above this.'],
      ['hashlimit', 'hlrate', '', 'Old name of --hashlimit-upto.'],
      ['hashlimit-burst', 'burst', '', 'Bucket size: packets, or bytes with a unit (kb, mb).'],
      ['hashlimit-mode', 'el:SRCIP,SRCPORT,DSTIP,DSTPORT|hashlimit mode', '', 'What identifies a group: srcip, srcport, dstip, dstport.'],
      ['hashlimit-srcmask', 'prefixlen', '', 'Prefix length applied to source addresses before grouping.'],
      ['hashlimit-dstmask', 'prefixlen', '', 'Prefix length applied to destination addresses before grouping.'],
      ['hashlimit-name', 's:255', '', 'Name of the table (/proc/net/ipt_hashlimit/NAME).'],
      ['hashlimit-htable-size', 'u:0:4294967295', '', 'Number of hash buckets.'],
      ['hashlimit-htable-max', 'u:0:4294967295', '', 'Maximum number of entries.'],
      ['hashlimit-htable-gcinterval', 'u:0:4294967295', '', 'Garbage collection interval in milliseconds.'],
      ['hashlimit-htable-expire', 'u:0:4294967295', '', 'Idle entries expire after this many milliseconds.'],
      ['hashlimit-rate-match', '', '', 'Match on the measured rate instead of limiting.'],
      ['hashlimit-rate-interval', 'u:1:4294967295', '', 'Sampling interval of --hashlimit-rate-match, in seconds.'],
    ],
    need: [['hashlimit-upto', 'hashlimit-above', 'hashlimit'], ['hashlimit-name']],
    excl: [['hashlimit-upto', 'hashlimit-above', 'hashlimit']],
  },
  {
    name: 'hbh',
    family: 'ip6',
    doc: 'Match the IPv6 Hop-by-Hop Options extension header.',
    opts: [
      ['hbh-len', 'u:0:4294967295', '!', 'Header length.'],
      ['hbh-opts', 'optslist', '', 'Options as type[:length], comma separated.'],
    ],
  },
  {
    name: 'helper',
    doc: 'Match connections created by a conntrack helper (ftp, sip...), e.g. related data channels.',
    opts: [['helper', 'helper', '!', 'Helper name, optionally "-PORT" (ftp-2121).']],
    need: [['helper']],
  },
  {
    name: 'hl',
    family: 'ip6',
    doc: 'Match the IPv6 Hop Limit field.',
    opts: [
      ['hl-eq', 'u:0:255', '!', 'Hop limit equals N.'],
      ['hl-lt', 'u:0:255', '', 'Hop limit is below N.'],
      ['hl-gt', 'u:0:255', '', 'Hop limit is above N.'],
    ],
    need: [['hl-eq', 'hl-lt', 'hl-gt']],
    excl: [['hl-eq', 'hl-lt', 'hl-gt']],
  },
  {
    name: 'icmp',
    family: 'ip',
    doc: 'Match the ICMP type and code (needs -p icmp).',
    opts: [['icmp-type', 'icmp', '!', 'Type name, number, or type/code ("any" for all).']],
    need: [['icmp-type']],
    proto: [ICMP],
  },
  {
    name: 'icmp6',
    family: 'ip6',
    aliases: ['icmpv6'],
    doc: 'Match the ICMPv6 type and code (needs -p ipv6-icmp).',
    opts: [['icmpv6-type', 'icmp6', '!', 'Type name, number, or type/code.']],
    need: [['icmpv6-type']],
    proto: [ICMP6],
  },
  {
    name: 'ipcomp',
    doc: 'Match the CPI of an IPComp header (needs -p ipcomp).',
    opts: [
      ['ipcompspi', 'r:0:4294967295', '!', 'CPI value or range (a:b).'],
      ['compres', '', '', 'Reserved field is zero.'],
    ],
    proto: [COMP],
  },
  {
    name: 'iprange',
    doc: 'Match a source or destination address inside an arbitrary range FROM-TO.',
    opts: [
      ['src-range', 'arange', '!', 'Source address range FROM-TO.'],
      ['dst-range', 'arange', '!', 'Destination address range FROM-TO.'],
    ],
    need: [['src-range', 'dst-range']],
    check(api) {
      for (const o of api.options) {
        const v = o.values[0];
        if (v?.kind === 'address-range' && compareAddresses(v.from, v.to) > 0) api.warn(v.range, 'never-matches', `range ${v.text} is reversed: it never matches`);
      }
    },
  },
  {
    name: 'ipv6header',
    family: 'ip6',
    doc: 'Match the set of IPv6 extension headers present in the packet.',
    opts: [
      ['header', 'ip6hdrs', '!', 'Header names or numbers, comma separated.'],
      ['soft', '', '', 'Match if any of the headers is present (default: exactly these).'],
    ],
    need: [['header']],
  },
  {
    name: 'ipvs',
    doc: 'Match properties of IPVS (load balancer) connections.',
    opts: [
      ['ipvs', '', '!', 'Packet belongs to an IPVS connection.'],
      ['vproto', 'proto', '!', 'Virtual service protocol.'],
      ['vaddr', 'addr', '!', 'Virtual service address[/mask].'],
      ['vport', 'port1', '!', 'Virtual service port.'],
      ['vdir', 'e:ORIGINAL,REPLY|direction', '', 'Packet direction.'],
      ['vmethod', 'e:GATE,IPIP,MASQ|forwarding method', '!', 'IPVS forwarding method.'],
      ['vportctl', 'port1', '!', 'Port of the controlling connection (e.g. FTP).'],
    ],
  },
  {
    name: 'length',
    doc: 'Match the length of the layer-3 payload plus header (the IP packet length).',
    opts: [['length', 'r:0:65535', '!', 'Length N or range N:M.']],
    need: [['length']],
  },
  {
    name: 'limit',
    doc: 'Token-bucket rate limit shared by every packet reaching this rule.',
    opts: [
      ['limit', 'rate', '', 'Average rate N/second|minute|hour|day (default 3/hour).'],
      ['limit-burst', 'u:0:10000', '', 'Bucket size: packets allowed in a burst (default 5).'],
    ],
  },
  {
    name: 'mac',
    doc: 'Match the source MAC address of an Ethernet frame.',
    opts: [['mac-source', 'mac', '!', 'MAC address xx:xx:xx:xx:xx:xx.']],
    need: [['mac-source']],
    hooks: ['PREROUTING', 'INPUT', 'FORWARD'],
  },
  {
    name: 'mark',
    doc: 'Match the packet mark: (mark AND mask) == value.',
    opts: [['mark', 'mark', '!', 'value[/mask], 32 bits each; mask defaults to 0xffffffff.']],
    need: [['mark']],
  },
  {
    name: 'mh',
    family: 'ip6',
    doc: 'Match the Mobility Header type (needs -p mobility-header).',
    opts: [['mh-type', 'r:0:255', '!', 'Type number or range.']],
    proto: [MH],
  },
  {
    name: 'multiport',
    doc: 'Match up to 15 ports or ranges in one rule (needs -p tcp, udp, udplite, sctp or dccp).',
    opts: [
      ['source-ports|sports', 'portlist', '!', 'Source ports: comma list of p or p:q.'],
      ['destination-ports|dports', 'portlist', '!', 'Destination ports: comma list of p or p:q.'],
      ['ports', 'portlist', '!', 'Either source or destination port in the list.'],
    ],
    need: [['source-ports', 'destination-ports', 'ports']],
    excl: [['source-ports', 'destination-ports', 'ports']],
    proto: [TCP, UDP, UDPLITE, SCTP, DCCP],
    protoBefore: true,
  },
  {
    name: 'nfacct',
    doc: 'Count the packet in an nfacct accounting object (always matches).',
    opts: [['nfacct-name', 's:31', '', 'Name of an object made with "nfacct add".']],
    need: [['nfacct-name']],
  },
  {
    name: 'osf',
    family: 'ip',
    doc: 'Passive OS fingerprinting of TCP SYN packets (needs -p tcp).',
    opts: [
      ['genre', 's:31', '!', 'OS genre from the loaded fingerprints (Linux, Windows...).'],
      ['ttl', 'u:0:2', '', 'TTL check: 0 same host, 1 compare, 2 ignore.'],
      ['log', 'u:0:2', '', 'Logging: 0 all, 1 first, 2 matched.'],
    ],
    need: [['genre']],
    proto: [TCP],
  },
  {
    name: 'owner',
    doc: 'Match the user, group or existence of the local socket that sent the packet.',
    opts: [
      ['uid-owner', 'ownerid', '!', 'User name, id or id range a-b.'],
      ['gid-owner', 'ownerid', '!', 'Group name, id or id range a-b.'],
      ['suppl-groups', '', '', 'Also match supplementary groups of the socket owner (after --gid-owner).'],
      ['socket-exists', '', '!', 'Packet has a local socket.'],
    ],
    need: [['uid-owner', 'gid-owner', 'socket-exists']],
    hooks: ['OUTPUT', 'POSTROUTING'],
    check(api) {
      const s = api.opt('suppl-groups');
      if (!s) return;
      const g = api.opt('gid-owner');
      if (!g || api.options.indexOf(g) > api.options.indexOf(s)) api.error(s.nameRange, 'requires-option', '--suppl-groups needs an earlier --gid-owner');
    },
  },
  {
    name: 'physdev',
    doc: 'Match the bridge ports a bridged packet entered or leaves by.',
    opts: [
      ['physdev-in', 'iface', '!', 'Bridge port the packet came in on.'],
      ['physdev-out', 'iface', '!', 'Bridge port the packet will leave by.'],
      ['physdev-is-in', '', '!', 'Packet entered through a bridge port.'],
      ['physdev-is-out', '', '!', 'Packet will leave through a bridge port.'],
      ['physdev-is-bridged', '', '!', 'Packet is being bridged (not routed).'],
    ],
    need: [['physdev-in', 'physdev-out', 'physdev-is-in', 'physdev-is-out', 'physdev-is-bridged']],
    check(api) {
      if (!api.builtin) return;
      const out = api.opt('physdev-out') ?? api.opt('physdev-is-out');
      const br = api.opt('physdev-is-bridged');
      if (!out || (br && !br.negated)) return;
      if (api.chain === 'OUTPUT') api.error(out.nameRange, 'hook-mismatch', `--${out.name} in OUTPUT needs --physdev-is-bridged: the kernel refuses it for locally sent traffic`);
      else if (api.chain === 'FORWARD' || api.chain === 'POSTROUTING') api.warn(out.nameRange, 'never-matches', `--${out.name} in ${api.chain} without --physdev-is-bridged: routed traffic has no bridge port`);
    },
  },
  {
    name: 'pkttype',
    doc: 'Match the link-layer packet type.',
    opts: [['pkt-type', 'e:UNICAST,BROADCAST,MULTICAST,HOST,OTHERHOST,OUTGOING,LOOPBACK|packet type', '!', 'unicast, broadcast or multicast.']],
    need: [['pkt-type']],
  },
  {
    name: 'policy',
    doc: 'Match the IPsec policy used to decapsulate (in) or that will encapsulate (out) the packet.',
    opts: [
      ['dir', 'E:in,out|direction', '', 'Policy direction: in (decapsulation) or out (encapsulation).'],
      ['pol', 'E:none,ipsec|policy', '', 'ipsec: packet is subject to IPsec; none: it is not.'],
      ['strict', '', '', 'The listed elements must match the policy exactly, in order.'],
      ['reqid', 'u:0:4294967295', '!*', 'Request id of the SA (element option).'],
      ['spi', 'u:0:4294967295', '!*', 'SPI of the SA (element option).'],
      ['proto', 'E:ah,esp,ipcomp|IPsec protocol', '!*', 'IPsec protocol of the SA (element option).'],
      ['mode', 'E:transport,tunnel|mode', '!*', 'SA mode (element option).'],
      ['tunnel-src', 'addr', '!*', 'Tunnel source address[/mask] (tunnel mode only).'],
      ['tunnel-dst', 'addr', '!*', 'Tunnel destination address[/mask] (tunnel mode only).'],
      ['next', '', '*', 'Start the next policy element (with --strict).'],
    ],
    need: [['dir'], ['pol']],
    check(api) {
      // Elements are separated by --next; tunnel addresses need --mode tunnel in their own element.
      let elems = 0, cur = 0, mode: string | undefined;
      const tunnelAddrs: Range[] = [];
      const closeElement = () => {
        if (mode !== 'tunnel') for (const r of tunnelAddrs) api.error(r, 'requires-option', 'tunnel addresses need "--mode tunnel" in the same element');
        if (cur) elems++;
        cur = 0;
        mode = undefined;
        tunnelAddrs.length = 0;
      };
      for (const o of api.options) {
        if (o.name === 'next') { closeElement(); continue; }
        if (!ELEMENT_OPTS.has(o.name)) continue;
        cur++;
        if (o.name === 'mode') mode = o.values[0]?.text;
        if (o.name === 'tunnel-src' || o.name === 'tunnel-dst') tunnelAddrs.push(o.nameRange);
      }
      closeElement();
      const strict = api.opt('strict');
      if (strict && elems === 0) api.error(strict.nameRange, 'requires-option', '--strict needs at least one policy element (--reqid, --spi, --proto, --mode...)');
      const dir = api.val('dir')?.text;
      if (api.builtin && api.chain && dir) {
        if (dir === 'in' && (api.chain === 'OUTPUT' || api.chain === 'POSTROUTING')) api.error(api.opt('dir')!.range, 'hook-mismatch', `--dir in cannot be used in ${api.chain}`);
        if (dir === 'out' && (api.chain === 'PREROUTING' || api.chain === 'INPUT')) api.error(api.opt('dir')!.range, 'hook-mismatch', `--dir out cannot be used in ${api.chain}`);
      }
    },
  },
  {
    name: 'quota',
    doc: 'Match until a byte quota is used up (the counter lives in the rule).',
    opts: [['quota', 'u:0:18446744073709551615', '!', 'Quota in bytes.']],
    need: [['quota']],
  },
  {
    name: 'rateest',
    doc: 'Compare rates measured by RATEEST targets, absolutely or against each other.',
    opts: [
      ['rateest', 's:15', '', 'Name of the rate estimator to test.'],
      ['rateest1', 's:15', '', 'First estimator of a comparison.'],
      ['rateest2', 's:15', '', 'Second estimator of a comparison.'],
      ['rateest-delta', '', '', 'Compare the difference against the given rates.'],
      ['rateest-bps', 'rateval', '?', 'Compare bytes per second (optional value).'],
      ['rateest-pps', 'rateval', '?', 'Compare packets per second (optional value).'],
      ['rateest-bps1', 'rateval', '?', 'Bytes-per-second value for the first estimator.'],
      ['rateest-bps2', 'rateval', '?', 'Bytes-per-second value for the second estimator.'],
      ['rateest-pps1', 'rateval', '?', 'Packets-per-second value for the first estimator.'],
      ['rateest-pps2', 'rateval', '?', 'Packets-per-second value for the second estimator.'],
      ['rateest-lt', '', '!', 'Less than.'],
      ['rateest-gt', '', '!', 'Greater than.'],
      ['rateest-eq', '', '!', 'Equal.'],
    ],
    need: [['rateest', 'rateest1'], ['rateest-lt', 'rateest-gt', 'rateest-eq']],
  },
  {
    name: 'realm',
    family: 'ip',
    doc: 'Match the routing realm of the route the packet took.',
    opts: [['realm', 'm:0:4294967295', '!', 'Realm id[/mask] or a name from rt_realms.']],
    need: [['realm']],
    hooks: ['INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  },
  {
    name: 'recent',
    doc: 'Remember addresses in a named list and match on whether (and how often) they were seen.',
    opts: [
      ['set', '', '!', 'Add (or refresh) the address in the list; always matches.'],
      ['rcheck', '', '!', 'Match if the address is in the list.'],
      ['update', '', '!', 'Like --rcheck, and refresh the last-seen time.'],
      ['remove', '', '!', 'Remove the address from the list if present.'],
      ['seconds', 'u:1:4294967295', '', 'Only entries seen within this many seconds.'],
      ['reap', '', '', 'Purge entries older than --seconds.'],
      ['hitcount', 'u:1:65535', '', 'Only entries seen at least this many times.'],
      ['rttl', '', '', 'Also require the same TTL as recorded.'],
      ['name', 's:199', '', 'List name (default DEFAULT).'],
      ['mask', 'addr1', '', 'Netmask applied to addresses before lookup.'],
      ['rsource', '', '', 'Use the source address (default).'],
      ['rdest', '', '', 'Use the destination address.'],
    ],
    need: [['set', 'rcheck', 'update', 'remove']],
    excl: [['set', 'rcheck', 'update', 'remove'], ['rsource', 'rdest']],
    check(api) {
      const rttl = api.opt('rttl');
      if (rttl && !api.has('rcheck') && !api.has('update')) api.error(rttl.nameRange, 'requires-option', '--rttl works only with --rcheck or --update');
      const reap = api.opt('reap');
      if (reap && !api.has('seconds')) api.error(reap.nameRange, 'requires-option', '--reap needs --seconds');
      for (const n of ['seconds', 'hitcount']) {
        const o = api.opt(n);
        if (o && !api.has('rcheck') && !api.has('update')) api.error(o.nameRange, 'requires-option', `--${n} works only with --rcheck or --update`);
      }
    },
  },
  {
    name: 'rpfilter',
    doc: 'Reverse-path filter: match when a reply to the source would route back via the incoming interface.',
    opts: [
      ['loose', '', '', 'Accept any interface with a route back (not just the incoming one).'],
      ['validmark', '', '', 'Use the packet mark for the reverse lookup.'],
      ['accept-local', '', '', 'Accept packets with a local source address.'],
      ['invert', '', '', 'Match packets that fail the check.'],
    ],
    tables: ['raw', 'mangle'],
    hooks: ['PREROUTING'],
  },
  {
    name: 'rt',
    family: 'ip6',
    doc: 'Match the IPv6 Routing extension header.',
    opts: [
      ['rt-type', 'u:0:255', '!', 'Routing header type.'],
      ['rt-segsleft', 'r:0:4294967295', '!', 'Segments left value or range.'],
      ['rt-len', 'u:0:4294967295', '!', 'Header length.'],
      ['rt-0-res', '', '', 'Type-0 reserved field is zero.'],
      ['rt-0-addrs', 's:0', '', 'Type-0 address list, comma separated.'],
      ['rt-0-not-strict', '', '', 'Type-0 address list is not strict.'],
    ],
  },
  {
    name: 'sctp',
    doc: 'Match SCTP ports and chunk types (needs -p sctp).',
    opts: [
      ...portOpts(),
      ['chunk-types', 'chunks', '!', 'all|any|only, then chunk types (TYPE[:flags]), comma separated.'],
    ],
    proto: [SCTP],
  },
  {
    name: 'set',
    doc: 'Match when the address (port, interface...) of the packet is in the named ipset.',
    opts: [
      ['match-set', 'setflags', '!2', 'Set name, then src/dst per dimension (e.g. "myset src,dst").'],
      ['set', 'setflags', '!2', 'Old name of --match-set.'],
      ['return-nomatch', '', '', 'Let "nomatch" entries make the match fail instead of skipping them.'],
      ['update-counters', '', '!', 'Update the set entry counters (default on).'],
      ['update-subcounters', '', '!', 'Update counters of member sets of a list:set.'],
      ['packets-eq', 'u:0:18446744073709551615', '!', 'Entry packet counter equals N.'],
      ['packets-lt', 'u:0:18446744073709551615', '', 'Entry packet counter is below N.'],
      ['packets-gt', 'u:0:18446744073709551615', '', 'Entry packet counter is above N.'],
      ['bytes-eq', 'u:0:18446744073709551615', '!', 'Entry byte counter equals N.'],
      ['bytes-lt', 'u:0:18446744073709551615', '', 'Entry byte counter is below N.'],
      ['bytes-gt', 'u:0:18446744073709551615', '', 'Entry byte counter is above N.'],
    ],
    need: [['match-set', 'set']],
    excl: [['match-set', 'set']],
  },
  {
    name: 'socket',
    doc: 'Match packets that belong to an open local socket (for transparent proxying).',
    opts: [
      ['transparent', '', '', 'Only sockets with IP_TRANSPARENT set.'],
      ['nowildcard', '', '', 'Do not match sockets bound to the wildcard address.'],
      ['restore-skmark', '', '', 'Copy the socket mark to the packet mark.'],
    ],
    hooks: ['PREROUTING', 'INPUT'],
  },
  {
    name: 'state',
    doc: 'Match connection tracking state (older form of -m conntrack --ctstate).',
    opts: [['state', 'el:INVALID,NEW,ESTABLISHED,RELATED,UNTRACKED|connection state', '!', 'States, comma separated.']],
    need: [['state']],
  },
  {
    name: 'statistic',
    doc: 'Match a share of packets: at random, or every n-th.',
    opts: [
      ['mode', 'E:random,nth|mode', '', 'random (with --probability) or nth (with --every).'],
      ['probability', 'prob', '!', 'Chance of a match, 0.0 to 1.0 (random mode).'],
      ['every', 'u:1:4294967295', '!', 'Match one packet in every N (nth mode).'],
      ['packet', 'u:0:4294967295', '', 'Which packet of each N matches, 0..N-1 (nth mode).'],
    ],
    need: [['mode']],
    check(api) {
      const mode = api.val('mode')?.text;
      const p = api.opt('probability'), e = api.opt('every'), k = api.opt('packet');
      if (mode === 'random' && !p) api.error(api.opt('mode')!.range, 'missing-option', 'random mode needs --probability');
      if (mode === 'nth' && !e) api.error(api.opt('mode')!.range, 'missing-option', 'nth mode needs --every');
      if (mode === 'nth' && e && !k) api.error(e.nameRange, 'missing-option', 'nth mode needs --packet with --every');
      if (p && mode !== 'random') api.error(p.nameRange, 'requires-option', '--probability works only with --mode random');
      if (e && mode !== 'nth') api.error(e.nameRange, 'requires-option', '--every works only with --mode nth');
      if (k && mode !== 'nth') api.error(k.nameRange, 'requires-option', '--packet works only with --mode nth');
      const ev = e?.values[0], kv = k?.values[0];
      if (ev?.kind === 'number' && kv?.kind === 'number' && kv.value >= ev.value) api.error(kv.range, 'bad-value', `--packet must be below --every (0..${ev.value - 1})`);
    },
  },
  {
    name: 'string',
    doc: 'Match a byte string anywhere in the packet (Boyer-Moore or KMP search).',
    opts: [
      ['algo', 'E:bm,kmp|algorithm', '', 'Search algorithm: bm or kmp.'],
      ['from', 'u:0:65535', '', 'Start searching at this offset.'],
      ['to', 'u:0:65535', '', 'Stop searching at this offset.'],
      ['string', 's:128', '!', 'Text to find (at most 128 bytes).'],
      ['hex-string', 'hexstr', '!', 'Bytes to find, with |hex| parts (at most 128 bytes).'],
      ['icase', '', '', 'Ignore case.'],
    ],
    need: [['algo'], ['string', 'hex-string']],
    excl: [['string', 'hex-string']],
    check(api) {
      const from = api.val('from'), to = api.val('to');
      if (from?.kind === 'number' && to?.kind === 'number' && from.value > to.value) api.error(to.range, 'bad-value', `--to ${to.value} is before --from ${from.value}`);
    },
  },
  {
    name: 'tcp',
    doc: 'Match TCP ports, flags and options (needs -p tcp; loaded implicitly by it).',
    opts: [
      ...portOpts(),
      ['tcp-flags', 'tcpflags', '!', 'Two lists: the flags to examine, then those that must be set.'],
      ['syn', '', '!', 'SYN set, ACK/RST/FIN clear: the first packet of a connection.'],
      ['tcp-option', 'u:0:255', '!', 'A TCP option with this number is present.'],
    ],
    excl: [['tcp-flags', 'syn']],
    proto: [TCP],
  },
  {
    name: 'tcpmss',
    doc: 'Match the MSS option of TCP SYN packets (needs -p tcp).',
    opts: [['mss', 'r:0:65535', '!', 'MSS value or range N:M.']],
    need: [['mss']],
    proto: [TCP],
  },
  {
    name: 'time',
    doc: 'Match by arrival time: time of day, weekdays, days of month, dates.',
    opts: [
      ['datestart', 'date', '', 'Start date YYYY[-MM[-DD[Thh[:mm[:ss]]]]].'],
      ['datestop', 'date', '', 'End date, same format.'],
      ['timestart', 'time', '', 'Daily start time hh:mm[:ss].'],
      ['timestop', 'time', '', 'Daily stop time hh:mm[:ss].'],
      ['monthdays', 'monthdays', '!', 'Days of the month 1..31, comma separated.'],
      ['weekdays', 'weekdays', '!', 'Days of the week (Mon..Sun or 1..7), comma separated.'],
      ['contiguous', '', '', 'A stop time before the start time means the next day.'],
      ['kerneltz', '', '', 'Use the kernel time zone instead of UTC.'],
      ['localtz', '', '', 'Old option: local time (the kernel zone).'],
      ['utc', '', '', 'Interpret times as UTC (default).'],
    ],
    excl: [['kerneltz', 'utc'], ['localtz', 'utc']],
  },
  {
    name: 'tos',
    doc: 'Match the 8-bit IPv4 TOS / IPv6 traffic class field: (tos AND mask) == value.',
    opts: [['tos', 'tos', '!', 'value[/mask] or a name (Minimize-Delay, Maximize-Throughput...).']],
    need: [['tos']],
  },
  {
    name: 'ttl',
    family: 'ip',
    doc: 'Match the IPv4 Time To Live field.',
    opts: [
      ['ttl-eq', 'u:0:255', '!', 'TTL equals N.'],
      ['ttl-lt', 'u:0:255', '', 'TTL is below N.'],
      ['ttl-gt', 'u:0:255', '', 'TTL is above N.'],
    ],
    need: [['ttl-eq', 'ttl-lt', 'ttl-gt']],
    excl: [['ttl-eq', 'ttl-lt', 'ttl-gt']],
  },
  {
    name: 'u32',
    doc: 'Match arbitrary bit fields of the packet with small expressions (offsets, masks, ranges).',
    opts: [['u32', 'u32expr', '!', 'Tests such as "0>>22&0x3C@12>>16=1&&...".']],
    need: [['u32']],
  },
  {
    name: 'udp',
    doc: 'Match UDP ports (needs -p udp; loaded implicitly by it).',
    opts: portOpts(),
    proto: [UDP],
  },
  {
    name: 'srh',
    family: 'ip6',
    doc: 'Match fields of the IPv6 Segment Routing Header.',
    opts: [
      ['srh-next-hdr', 'u:0:255', '!', 'Next header field.'],
      ['srh-hdr-len-eq', 'u:0:255', '!', 'Header length equals N.'],
      ['srh-hdr-len-gt', 'u:0:255', '!', 'Header length is above N.'],
      ['srh-hdr-len-lt', 'u:0:255', '!', 'Header length is below N.'],
      ['srh-segs-left-eq', 'u:0:255', '!', 'Segments left equals N.'],
      ['srh-segs-left-gt', 'u:0:255', '!', 'Segments left is above N.'],
      ['srh-segs-left-lt', 'u:0:255', '!', 'Segments left is below N.'],
      ['srh-last-entry-eq', 'u:0:255', '!', 'Last entry equals N.'],
      ['srh-last-entry-gt', 'u:0:255', '!', 'Last entry is above N.'],
      ['srh-last-entry-lt', 'u:0:255', '!', 'Last entry is below N.'],
      ['srh-tag', 'u:0:65535', '!', 'Tag field equals N.'],
      ['srh-psid', 'pfx6', '!', 'Previous segment id, address/prefix.'],
      ['srh-nsid', 'pfx6', '!', 'Next segment id, address/prefix.'],
      ['srh-lsid', 'pfx6', '!', 'Last segment id, address/prefix.'],
    ],
  },
];

