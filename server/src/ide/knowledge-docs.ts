// The one place the IDE layer asks what netfilter defines: doc lines and name lists for hover and
// completion. Until the extension knowledge base (knowledge/iptables-extensions.ts) lands, docs are
// absent (hover says so) and the name lists are the plain names from the iptables-extensions(8) man page.

/** Doc line for a match module, or undefined when the knowledge base does not have it. */
export function matchDoc(_module: string): string | undefined {
  return undefined;
}

export function targetDoc(name: string): string | undefined {
  return VERDICT_DOCS[name];
}

export function optionDoc(_moduleOrTarget: string, _option: string, _isTarget: boolean): string | undefined {
  return undefined;
}

/** Option flags of a match module or target, for completion (empty until the knowledge base lands). */
export function optionsOf(_moduleOrTarget: string, _isTarget: boolean): string[] {
  return [];
}

// The standard verdicts are the iptables core's, not extensions.
const VERDICT_DOCS: Record<string, string> = {
  ACCEPT: 'Stops the traversal of this table\'s chains for this hook; the packet goes on to the next table or hook.',
  DROP: 'Discards the packet at once; no later rule, chain or table sees it.',
  RETURN: 'Leaves this chain and continues after the rule that jumped here; in a built-in chain, applies the chain\'s policy.',
  QUEUE: 'Passes the packet to userspace through NFQUEUE queue 0.',
};

export const MATCH_MODULES = [
  'addrtype', 'ah', 'bpf', 'cgroup', 'cluster', 'comment', 'connbytes', 'connlabel', 'connlimit', 'connmark', 'conntrack',
  'cpu', 'dccp', 'devgroup', 'dscp', 'dst', 'ecn', 'esp', 'eui64', 'frag', 'hashlimit', 'hbh', 'helper', 'hl', 'icmp',
  'icmp6', 'iprange', 'ipv6header', 'ipvs', 'length', 'limit', 'mac', 'mark', 'mh', 'multiport', 'nfacct', 'osf', 'owner',
  'physdev', 'pkttype', 'policy', 'quota', 'rateest', 'realm', 'recent', 'rpfilter', 'rt', 'sctp', 'set', 'socket',
  'state', 'statistic', 'string', 'tcp', 'tcpmss', 'time', 'tos', 'ttl', 'u32', 'udp',
];

export const TARGETS = [
  'ACCEPT', 'DROP', 'RETURN', 'QUEUE',
  'AUDIT', 'CHECKSUM', 'CLASSIFY', 'CLUSTERIP', 'CONNMARK', 'CONNSECMARK', 'CT', 'DNAT', 'DNPT', 'DSCP', 'ECN', 'HL',
  'HMARK', 'IDLETIMER', 'LED', 'LOG', 'MARK', 'MASQUERADE', 'NETMAP', 'NFLOG', 'NFQUEUE', 'NOTRACK', 'RATEEST',
  'REDIRECT', 'REJECT', 'SECMARK', 'SET', 'SNAT', 'SNPT', 'SYNPROXY', 'TCPMSS', 'TCPOPTSTRIP', 'TEE', 'TOS', 'TPROXY',
  'TRACE', 'TTL', 'ULOG',
];

export const CT_STATES = ['NEW', 'ESTABLISHED', 'RELATED', 'INVALID', 'UNTRACKED', 'SNAT', 'DNAT'];

export const PROTOCOLS = ['tcp', 'udp', 'udplite', 'icmp', 'icmpv6', 'esp', 'ah', 'sctp', 'gre', 'mh', 'all'];

/** Options of the iptables core (not of an extension). */
export const CORE_OPTIONS = [
  '-s', '--source', '-d', '--destination', '-p', '--protocol', '-i', '--in-interface', '-o', '--out-interface',
  '-m', '--match', '-j', '--jump', '-g', '--goto', '-f', '--fragment',
];

export const NFT_KEYWORDS = [
  'table', 'chain', 'set', 'map', 'type', 'hook', 'priority', 'policy', 'device', 'flags', 'elements', 'define', 'include',
  'accept', 'drop', 'reject', 'return', 'jump', 'goto', 'continue', 'queue', 'counter', 'log', 'limit', 'comment',
  'meta', 'ct', 'ip', 'ip6', 'inet', 'tcp', 'udp', 'icmp', 'icmpv6', 'iif', 'iifname', 'oif', 'oifname', 'mark', 'state',
  'saddr', 'daddr', 'sport', 'dport', 'snat', 'dnat', 'masquerade', 'redirect', 'vmap', 'established', 'related', 'new',
  'invalid', 'prerouting', 'input', 'forward', 'output', 'postrouting', 'ingress', 'filter', 'nat', 'route',
];
