// Target extensions (`-j NAME`): options, value types, and where the kernel allows them.
// Docs are ours, one line each, shown on hover.
import type { CheckApi, ExtensionSource } from './iptables-extensions';

const TCP = 6, UDP = 17, SCTP = 132, DCCP = 33, ICMP = 1;
const PORT_PROTOS = [TCP, UDP, SCTP, DCCP, ICMP];

function natPortsNeedProto(api: CheckApi, opt: string) {
  const o = api.opt(opt);
  if (!o) return;
  const hasPorts = opt === 'to-ports' || (o.values[0] && natHasPorts(o.values[0].text, api.family));
  const p = api.protoAtParse;
  if (hasPorts && (p === undefined || !PORT_PROTOS.includes(p))) {
    api.error(o.values[0]?.range ?? o.nameRange, 'missing-protocol', `a port in a NAT target needs -p tcp, udp, sctp or dccp${api.proto !== undefined && PORT_PROTOS.includes(api.proto) ? ' given before the target' : ''}`);
  }
}

function natHasPorts(text: string, family: 'ip' | 'ip6'): boolean {
  if (text.charCodeAt(0) === 91) return text.indexOf(']:') >= 0;
  const c = text.indexOf(':');
  return c >= 0 && (family === 'ip' || text.indexOf(':', c + 1) < 0);
}

const MARK_OPS = ['set-xmark', 'set-mark', 'and-mark', 'or-mark', 'xor-mark'];

export const TARGETS: ExtensionSource[] = [
  {
    name: 'AUDIT',
    doc: 'Write an audit record for the packet, then continue.',
    opts: [['type', 'e:ACCEPT,DROP,REJECT|audit type', '', 'Record type: accept, drop or reject.']],
    need: [['type']],
  },
  {
    name: 'CHECKSUM',
    doc: 'Fill in a missing checksum (for guests that skip it); mangle table only.',
    opts: [['checksum-fill', '', '', 'Compute the checksum now.']],
    need: [['checksum-fill']],
    tables: ['mangle'],
  },
  {
    name: 'CLASSIFY',
    doc: 'Set the tc class (priority) of the packet, then continue.',
    opts: [['set-class', 'class', '', 'Class as MAJOR:MINOR in hex.']],
    need: [['set-class']],
    // Any table: the kernel checks only the hooks (seen with real loads, nf_tables backend).
    hooks: ['FORWARD', 'OUTPUT', 'POSTROUTING'],
  },
  {
    name: 'CONNMARK',
    doc: 'Set the connection mark, or copy it from/to the packet mark, then continue.',
    opts: [
      ['set-xmark', 'mark', '', 'ctmark = (ctmark AND NOT mask) XOR value.'],
      ['set-mark', 'mark', '', 'Clear the mask bits, then set value (ctmark = (ctmark AND NOT mask) OR value).'],
      ['and-mark', 'u:0:4294967295', '', 'ctmark = ctmark AND bits.'],
      ['or-mark', 'u:0:4294967295', '', 'ctmark = ctmark OR bits.'],
      ['xor-mark', 'u:0:4294967295', '', 'ctmark = ctmark XOR bits.'],
      ['save-mark', '', '', 'Copy the packet mark into the connection mark (through the masks).'],
      ['restore-mark', '', '', 'Copy the connection mark into the packet mark (through the masks).'],
      ['nfmask', 'u:0:4294967295', '', 'Mask on the packet mark for save/restore.'],
      ['ctmask', 'u:0:4294967295', '', 'Mask on the connection mark for save/restore.'],
      ['mask', 'u:0:4294967295', '', 'Sets both --nfmask and --ctmask.'],
      ['left-shift-mark', 'u:0:31', '', 'Shift the copied mark left by N bits.'],
      ['right-shift-mark', 'u:0:31', '', 'Shift the copied mark right by N bits.'],
    ],
    need: [[...MARK_OPS, 'save-mark', 'restore-mark']],
    excl: [[...MARK_OPS, 'save-mark', 'restore-mark'], ['mask', 'nfmask'], ['mask', 'ctmask']],
    check(api) {
      const copy = api.has('save-mark') || api.has('restore-mark');
      for (const n of ['nfmask', 'ctmask', 'mask']) {
        const o = api.opt(n);
        if (o && !copy && !(n === 'mask' && api.has('set-mark'))) api.error(o.nameRange, 'requires-option', `--${n} works only with --save-mark or --restore-mark`);
      }
    },
  },
  {
    name: 'CONNSECMARK',
    doc: 'Copy the SELinux security mark between packet and connection.',
    opts: [
      ['save', '', '', 'Packet security mark -> connection.'],
      ['restore', '', '', 'Connection security mark -> packet.'],
    ],
    need: [['save', 'restore']],
    excl: [['save', 'restore']],
    tables: ['mangle', 'security'],
  },
  {
    name: 'CT',
    doc: 'Set conntrack parameters for the connection this packet starts (raw table).',
    opts: [
      ['notrack', '', '', 'Do not track this packet at all.'],
      ['helper', 's:15', '', 'Attach this conntrack helper (ftp, sip...).'],
      ['ctevents', 'el:NEW,RELATED,DESTROY,REPLY,ASSURED,PROTOINFO,HELPER,MARK,NATSEQINFO,SECMARK|conntrack event', '', 'Only generate these conntrack events.'],
      ['expevents', 'el:NEW|expectation event', '', 'Only generate these expectation events.'],
      ['zone', 'zone', '', 'Conntrack zone id (0..65535), or mark for the packet mark.'],
      ['zone-orig', 'zone', '', 'Zone for the original direction only.'],
      ['zone-reply', 'zone', '', 'Zone for the reply direction only.'],
      ['timeout', 's:31', '', 'Timeout policy made with "nfct timeout add".'],
    ],
    tables: ['raw'],
  },
  {
    name: 'DNAT',
    terminal: true,
    doc: 'Rewrite the destination address (and port) of the connection; nat PREROUTING and OUTPUT.',
    opts: [
      ['to-destination', 'natto', '', 'addr[-addr][:port[-port[/base]]]; IPv6 in brackets when a port follows.'],
      ['random', '', '', 'Randomize the port mapping.'],
      ['persistent', '', '', 'Give a client the same address for every connection.'],
    ],
    need: [['to-destination']],
    tables: ['nat'],
    hooks: ['PREROUTING', 'OUTPUT'],
    check(api) { natPortsNeedProto(api, 'to-destination'); },
  },
  {
    name: 'DNPT',
    family: 'ip6',
    doc: 'Stateless IPv6 destination prefix translation (RFC 6296).',
    opts: [
      ['src-pfx', 'pfx6', '', 'Prefix to translate from, address/length.'],
      ['dst-pfx', 'pfx6', '', 'Prefix to translate to, address/length.'],
    ],
    need: [['src-pfx'], ['dst-pfx']],
    tables: ['mangle'],
    hooks: ['PREROUTING', 'OUTPUT'],
  },
  {
    name: 'DSCP',
    doc: 'Rewrite the DSCP field, then continue; mangle table only.',
    opts: [
      ['set-dscp', 'u:0:63', '', 'New DSCP value 0..63.'],
      ['set-dscp-class', 'dscpclass', '', 'New DSCP as a class name (EF, AF11...).'],
    ],
    need: [['set-dscp', 'set-dscp-class']],
    excl: [['set-dscp', 'set-dscp-class']],
    tables: ['mangle'],
  },
  {
    name: 'ECN',
    family: 'ip',
    doc: 'Clear or set ECN bits (work around ECN-broken paths); mangle table only.',
    opts: [
      ['ecn-tcp-remove', '', '', 'Clear the TCP ECE and CWR flags.'],
      ['ecn-tcp-cwr', 'u:0:1', '', 'Set the TCP CWR flag to 0 or 1.'],
      ['ecn-tcp-ece', 'u:0:1', '', 'Set the TCP ECE flag to 0 or 1.'],
      ['ecn-ip-ect', 'u:0:3', '', 'Set the IP ECN field.'],
    ],
    need: [['ecn-tcp-remove', 'ecn-tcp-cwr', 'ecn-tcp-ece', 'ecn-ip-ect']],
    tables: ['mangle'],
    check(api) {
      for (const n of ['ecn-tcp-remove', 'ecn-tcp-cwr', 'ecn-tcp-ece']) {
        const o = api.opt(n);
        if (o && (api.proto !== TCP || api.protoNegated)) api.error(o.nameRange, 'missing-protocol', `--${n} changes TCP flags: the rule needs -p tcp`);
      }
    },
  },
  {
    name: 'HL',
    family: 'ip6',
    doc: 'Set, increment or decrement the IPv6 Hop Limit; mangle table only.',
    opts: [
      ['hl-set', 'u:0:255', '', 'Set the hop limit to N.'],
      ['hl-dec', 'u:1:255', '', 'Decrease the hop limit by N.'],
      ['hl-inc', 'u:1:255', '', 'Increase the hop limit by N.'],
    ],
    need: [['hl-set', 'hl-dec', 'hl-inc']],
    excl: [['hl-set', 'hl-dec', 'hl-inc']],
    tables: ['mangle'],
  },
  {
    name: 'HMARK',
    doc: 'Set the packet mark from a hash of address/port/protocol fields (for load spreading).',
    opts: [
      ['hmark-tuple', 'el:SRC,DST,SPORT,DPORT,SPI,PROTO,CT|hmark tuple field', '', 'Fields to hash: src,dst,sport,dport,spi,proto,ct.'],
      ['hmark-src-prefix', 'prefixlen', '', 'Source prefix length used in the hash.'],
      ['hmark-dst-prefix', 'prefixlen', '', 'Destination prefix length used in the hash.'],
      ['hmark-sport-mask', 'u:0:65535', '', 'Mask on the source port.'],
      ['hmark-dport-mask', 'u:0:65535', '', 'Mask on the destination port.'],
      ['hmark-spi-mask', 'u:0:4294967295', '', 'Mask on the IPsec SPI.'],
      ['hmark-proto-mask', 'u:0:65535', '', 'Mask on the protocol number.'],
      ['hmark-rnd', 'u:0:4294967295', '', 'Random seed of the hash.'],
      ['hmark-mod', 'u:1:4294967295', '', 'Modulus: the mark is hash % mod + offset.'],
      ['hmark-offset', 'u:0:4294967295', '', 'Offset added to the result.'],
      ['hmark-src-mask', 'addr1', '', 'Source address mask (instead of a prefix).'],
      ['hmark-dst-mask', 'addr1', '', 'Destination address mask (instead of a prefix).'],
    ],
    need: [['hmark-mod']],
    excl: [['hmark-spi-mask', 'hmark-sport-mask'], ['hmark-spi-mask', 'hmark-dport-mask']],
  },
  {
    name: 'IDLETIMER',
    doc: 'Restart a sysfs timer on each packet; userspace is told when it expires.',
    opts: [
      ['timeout', 'u:1:4294967295', '', 'Seconds of inactivity before the timer fires.'],
      ['label', 's:0', '', 'Timer name (sysfs file name; the legacy backend takes 27 bytes).'],
      ['alarm', '', '', 'Use an alarm timer that wakes the system.'],
    ],
    need: [['timeout'], ['label']],
  },
  {
    name: 'LED',
    doc: 'Blink an LED trigger on each packet.',
    opts: [
      ['led-trigger-id', 's:27', '', 'Trigger name; the LED class trigger becomes "netfilter-NAME".'],
      ['led-delay', 'ledDelay', '', 'Milliseconds the LED stays on, or "inf".'],
      ['led-always-blink', '', '', 'Blink off and on even when already lit.'],
    ],
    need: [['led-trigger-id']],
  },
  {
    name: 'LOG',
    doc: 'Write a kernel log line about the packet, then continue.',
    opts: [
      ['log-level', 'loglevel', '', 'Syslog level name or 0..7 (default warning).'],
      ['log-prefix', 's:0', '', 'Text put before the message (the legacy backend takes at most 29 bytes).'],
      ['log-tcp-sequence', '', '', 'Log TCP sequence numbers.'],
      ['log-tcp-options', '', '', 'Log TCP options.'],
      ['log-ip-options', '', '', 'Log IP/IPv6 options.'],
      ['log-uid', '', '', 'Log the user id of the sending socket.'],
      ['log-macdecode', '', '', 'Decode the MAC header.'],
    ],
    check(api) {
      const p = api.val('log-prefix');
      if (p && p.kind === 'string' && p.value.length > 29) api.warn(p.range, 'truncated-value', `prefix is ${p.value.length} bytes: the legacy backend refuses more than 29`);
    },
  },
  {
    name: 'MARK',
    doc: 'Set the packet mark (used by routing rules, tc, later matches), then continue.',
    opts: [
      ['set-xmark', 'mark', '', 'mark = (mark AND NOT mask) XOR value.'],
      ['set-mark', 'mark', '', 'Clear the mask bits, then set value; no mask overwrites the mark.'],
      ['and-mark', 'u:0:4294967295', '', 'mark = mark AND bits.'],
      ['or-mark', 'u:0:4294967295', '', 'mark = mark OR bits.'],
      ['xor-mark', 'u:0:4294967295', '', 'mark = mark XOR bits.'],
    ],
    need: [MARK_OPS],
    excl: [MARK_OPS],
  },
  {
    name: 'MASQUERADE',
    terminal: true,
    doc: 'SNAT to the address of the outgoing interface; nat POSTROUTING only.',
    opts: [
      ['to-ports', 'natports', '', 'Source port or range p-q (needs a port protocol).'],
      ['random', '', '', 'Randomize the source port.'],
      ['random-fully', '', '', 'Fully randomize the source port mapping.'],
    ],
    tables: ['nat'],
    hooks: ['POSTROUTING'],
    check(api) { natPortsNeedProto(api, 'to-ports'); },
  },
  {
    name: 'NETMAP',
    terminal: true,
    doc: 'Map a whole network 1:1 onto another, keeping the host part.',
    opts: [['to', 'addr', '', 'Target network address/prefix.']],
    need: [['to']],
    tables: ['nat'],
  },
  {
    name: 'NFLOG',
    doc: 'Send the packet to userspace loggers over nfnetlink_log, then continue.',
    opts: [
      ['nflog-group', 'u:0:65535', '', 'Netlink group (0..65535).'],
      ['nflog-prefix', 's:0', '', 'Prefix string (kept to 63 bytes).'],
      ['nflog-range', 'u:0:4294967295', '', 'Old, ignored by the kernel: use --nflog-size.'],
      ['nflog-size', 'u:0:4294967295', '', 'Bytes of the packet to copy.'],
      ['nflog-threshold', 'u:0:65535', '', 'Packets to queue before sending to userspace.'],
    ],
    excl: [['nflog-range', 'nflog-size']],
    check(api) {
      const p = api.val('nflog-prefix');
      if (p?.kind === 'string' && p.value.length > 63) api.warn(p.range, 'truncated-value', `prefix is ${p.value.length} bytes; only the first 63 are kept`);
      const r = api.opt('nflog-range');
      if (r) api.warn(r.nameRange, 'deprecated-option', '--nflog-range has no effect (only the legacy backend takes it); use --nflog-size');
    },
  },
  {
    name: 'NFQUEUE',
    terminal: true,
    doc: 'Hand the packet to a userspace program on a netfilter queue for the verdict.',
    opts: [
      ['queue-num', 'u:0:65535', '', 'Queue number (default 0).'],
      ['queue-balance', 'qbalance', '', 'Spread over queues FROM:TO (by flow).'],
      ['queue-bypass', '', '', 'Accept the packet when no program listens.'],
      ['fail-open', '', '', 'Accept packets when the queue is full.'],
      ['queue-cpu-fanout', '', '', 'Choose the queue by CPU within --queue-balance.'],
    ],
    excl: [['queue-num', 'queue-balance']],
  },
  {
    name: 'NOTRACK',
    doc: 'Do not track this packet (same as CT --notrack); raw table.',
    opts: [],
    tables: ['raw'],
  },
  {
    name: 'RATEEST',
    doc: 'Measure the rate of the packets reaching it into a named estimator.',
    opts: [
      ['rateest-name', 's:15', '', 'Estimator name (used by -m rateest).'],
      ['rateest-interval', 'interval', '', 'Sampling interval (e.g. 250ms).'],
      ['rateest-ewmalog', 'interval', '', 'Averaging time constant (e.g. 500ms).'],
    ],
    need: [['rateest-name'], ['rateest-interval'], ['rateest-ewmalog']],
  },
  {
    name: 'REDIRECT',
    terminal: true,
    doc: 'DNAT to this host (the address of the incoming interface); nat PREROUTING and OUTPUT.',
    opts: [
      ['to-ports', 'natports', '', 'Local port or range p-q (needs a port protocol).'],
      ['random', '', '', 'Randomize the port mapping.'],
    ],
    tables: ['nat'],
    hooks: ['PREROUTING', 'OUTPUT'],
    check(api) { natPortsNeedProto(api, 'to-ports'); },
  },
  {
    name: 'REJECT',
    family: 'ip',
    terminal: true,
    doc: 'Drop the packet and send an error reply (ICMP or TCP reset); filter table.',
    opts: [['reject-with', 'rejectv4', '', 'Reply type (default icmp-port-unreachable).']],
    tables: ['filter'],
    hooks: ['INPUT', 'FORWARD', 'OUTPUT'],
    check: rejectCheck,
  },
  {
    name: 'REJECT',
    family: 'ip6',
    terminal: true,
    doc: 'Drop the packet and send an error reply (ICMPv6 or TCP reset); filter table.',
    opts: [['reject-with', 'rejectv6', '', 'Reply type (default icmp6-port-unreachable).']],
    tables: ['filter'],
    hooks: ['INPUT', 'FORWARD', 'OUTPUT'],
    check: rejectCheck,
  },
  {
    name: 'SECMARK',
    doc: 'Set the SELinux security context of the packet; mangle or security table.',
    opts: [['selctx', 's:255', '', 'Security context, e.g. system_u:object_r:http_packet_t:s0.']],
    need: [['selctx']],
    tables: ['mangle', 'security'],
  },
  {
    name: 'SET',
    doc: 'Add the packet\'s address (port...) to an ipset, or delete it, then continue.',
    opts: [
      ['add-set', 'setflags', '2', 'Set name and src/dst flags: add the entry.'],
      ['del-set', 'setflags', '2', 'Set name and src/dst flags: delete the entry.'],
      ['map-set', 'setflags', '2', 'Set name and flags: take mark/priority/queue from the entry.'],
      ['exist', '', '', 'Refresh the timeout of an existing entry.'],
      ['timeout', 'u:0:4294967295', '', 'Timeout of added entries, in seconds.'],
      ['map-mark', '', '', 'Map the entry\'s skbmark to the packet mark.'],
      ['map-prio', '', '', 'Map the entry\'s skbprio to the priority.'],
      ['map-queue', '', '', 'Map the entry\'s skbqueue to the tx queue.'],
    ],
    need: [['add-set', 'del-set', 'map-set']],
  },
  {
    name: 'SNAT',
    terminal: true,
    doc: 'Rewrite the source address (and port) of the connection; nat POSTROUTING and INPUT.',
    opts: [
      ['to-source', 'natto', '', 'addr[-addr][:port[-port]]; IPv6 in brackets when a port follows.'],
      ['random', '', '', 'Randomize the source port.'],
      ['random-fully', '', '', 'Fully randomize the source port mapping.'],
      ['persistent', '', '', 'Give a client the same address for every connection.'],
    ],
    need: [['to-source']],
    tables: ['nat'],
    hooks: ['POSTROUTING', 'INPUT'],
    check(api) { natPortsNeedProto(api, 'to-source'); },
  },
  {
    name: 'SNPT',
    family: 'ip6',
    doc: 'Stateless IPv6 source prefix translation (RFC 6296).',
    opts: [
      ['src-pfx', 'pfx6', '', 'Prefix to translate from, address/length.'],
      ['dst-pfx', 'pfx6', '', 'Prefix to translate to, address/length.'],
    ],
    need: [['src-pfx'], ['dst-pfx']],
    tables: ['mangle'],
    hooks: ['INPUT', 'POSTROUTING'],
  },
  {
    name: 'SYNPROXY',
    terminal: true,
    doc: 'Answer TCP SYNs with SYN cookies and open the real connection only after the handshake.',
    opts: [
      ['sack-perm', '', '', 'Offer selective acknowledgement.'],
      ['timestamp', '', '', 'Offer TCP timestamps.'],
      ['wscale', 'u:0:14', '', 'Window scale to announce.'],
      ['mss', 'u:0:65535', '', 'MSS to announce.'],
      ['ecn', '', '', 'Offer ECN.'],
    ],
    proto: [TCP],
    hooks: ['INPUT', 'FORWARD'],
  },
  {
    name: 'TCPMSS',
    doc: 'Rewrite the MSS option of TCP SYN packets (needs -p tcp).',
    opts: [
      ['set-mss', 'u:0:65535', '', 'Set the MSS to this value.'],
      ['clamp-mss-to-pmtu', '', '', 'Clamp the MSS to the path MTU minus headers.'],
    ],
    need: [['set-mss', 'clamp-mss-to-pmtu']],
    excl: [['set-mss', 'clamp-mss-to-pmtu']],
    proto: [TCP],
    check(api) {
      const c = api.opt('clamp-mss-to-pmtu');
      if (c && api.builtin && api.chain && !['FORWARD', 'OUTPUT', 'POSTROUTING'].includes(api.chain)) {
        api.error(c.nameRange, 'hook-mismatch', `--clamp-mss-to-pmtu needs the route: FORWARD, OUTPUT or POSTROUTING, not ${api.chain}`);
      }
    },
  },
  {
    name: 'TCPOPTSTRIP',
    doc: 'Remove TCP options from the header (needs -p tcp); mangle table.',
    opts: [['strip-options', 'tcpopts', '', 'Option names or numbers 2..255, comma separated.']],
    proto: [TCP],
    tables: ['mangle'],
  },
  {
    name: 'TEE',
    doc: 'Send a copy of the packet to another gateway; the original continues.',
    opts: [
      ['gateway', 'addr1', '', 'Address of the host that receives the copy.'],
      ['oif', 'iface', '', 'Send the copy through this interface.'],
    ],
    need: [['gateway']],
  },
  {
    name: 'TOS',
    doc: 'Rewrite the IPv4 TOS / IPv6 traffic class byte, then continue; mangle table.',
    opts: [
      ['set-tos', 'tos', '', 'value[/mask] or a TOS name: tos = (tos AND NOT mask) XOR value.'],
      ['and-tos', 'u:0:255', '', 'tos = tos AND bits.'],
      ['or-tos', 'u:0:255', '', 'tos = tos OR bits.'],
      ['xor-tos', 'u:0:255', '', 'tos = tos XOR bits.'],
    ],
    need: [['set-tos', 'and-tos', 'or-tos', 'xor-tos']],
    excl: [['set-tos', 'and-tos', 'or-tos', 'xor-tos']],
    tables: ['mangle'],
  },
  {
    name: 'TPROXY',
    terminal: true,
    doc: 'Deliver the packet to a local transparent proxy socket without rewriting it; mangle PREROUTING.',
    opts: [
      ['on-port', 'port1', '', 'Port of the proxy (0: keep the destination port).'],
      ['on-ip', 'addr1', '', 'Address of the proxy (default: the incoming interface address).'],
      ['tproxy-mark', 'mark', '', 'value[/mask] set on the packet mark for policy routing.'],
    ],
    need: [['on-port']],
    proto: [TCP, UDP],
    tables: ['mangle'],
    hooks: ['PREROUTING'],
  },
  {
    name: 'TRACE',
    doc: 'Log every rule the packet traverses from here on (nft monitor trace / kernel log).',
    opts: [],
    check(api) {
      if (api.table !== 'raw') api.warn(api.at, 'table-mismatch', 'TRACE belongs in the raw table: the legacy backend refuses it elsewhere (nf_tables accepts it)');
    },
  },
  {
    name: 'TTL',
    family: 'ip',
    doc: 'Set, increment or decrement the IPv4 TTL; mangle table only.',
    opts: [
      ['ttl-set', 'u:0:255', '', 'Set the TTL to N.'],
      ['ttl-dec', 'u:1:255', '', 'Decrease the TTL by N.'],
      ['ttl-inc', 'u:1:255', '', 'Increase the TTL by N.'],
    ],
    need: [['ttl-set', 'ttl-dec', 'ttl-inc']],
    excl: [['ttl-set', 'ttl-dec', 'ttl-inc']],
    tables: ['mangle'],
  },
];

function rejectCheck(api: CheckApi) {
  const w = api.val('reject-with');
  if (w && (w.text === 'tcp-reset' || w.text === 'tcp-rst') && (api.proto !== TCP || api.protoNegated)) {
    api.error(w.range, 'missing-protocol', 'a TCP reset needs -p tcp');
  }
}
