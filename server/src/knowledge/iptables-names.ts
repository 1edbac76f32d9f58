// Symbolic names iptables resolves while parsing a rule: protocols (/etc/protocols), services
// (/etc/services, the common ones), ICMP and ICMPv6 types, REJECT replies, DSCP classes, TOS names.
// Names from the system databases vary between machines; unknown names are reported, numbers always work.

/** Protocol name (lower case, plus the aliases iptables itself knows) -> number. */
export const PROTOCOLS: ReadonlyMap<string, number> = new Map([
  ['all', 0], ['ip', 0], ['hopopt', 0], ['icmp', 1], ['igmp', 2], ['ggp', 3], ['ipencap', 4], ['ipip', 4], ['st', 5],
  ['tcp', 6], ['egp', 8], ['igp', 9], ['pup', 12], ['udp', 17], ['hmp', 20], ['xns-idp', 22], ['rdp', 27],
  ['iso-tp4', 29], ['dccp', 33], ['xtp', 36], ['ddp', 37], ['idpr-cmtp', 38], ['ipv6', 41], ['ipv6-route', 43],
  ['ipv6-frag', 44], ['idrp', 45], ['rsvp', 46], ['gre', 47], ['esp', 50], ['ah', 51], ['skip', 57],
  ['ipv6-icmp', 58], ['icmpv6', 58], ['icmp6', 58], ['ipv6-nonxt', 59], ['ipv6-opts', 60], ['rspf', 73],
  ['vmtp', 81], ['eigrp', 88], ['ospf', 89], ['ospfigp', 89], ['ax.25', 93], ['ipip', 94], ['etherip', 97],
  ['encap', 98], ['pim', 103], ['ipcomp', 108], ['comp', 108], ['vrrp', 112], ['l2tp', 115], ['isis', 124],
  ['sctp', 132], ['fc', 133], ['mobility-header', 135], ['ipv6-mh', 135], ['mh', 135], ['udplite', 136],
  ['mpls-in-ip', 137], ['manet', 138], ['hip', 139], ['shim6', 140], ['wesp', 141], ['rohc', 142], ['ethernet', 143],
]);

/** Protocol number -> the match module iptables loads implicitly for `-p NAME --option`. */
export const PROTO_MODULE: ReadonlyMap<number, string> = new Map([
  [6, 'tcp'], [17, 'udp'], [132, 'sctp'], [33, 'dccp'], [1, 'icmp'], [58, 'icmp6'], [50, 'esp'], [51, 'ah'],
  [135, 'mh'], [108, 'ipcomp'],
]);

export const PROTO_NAME: ReadonlyMap<number, string> = new Map([
  [0, 'all'], [1, 'icmp'], [6, 'tcp'], [17, 'udp'], [33, 'dccp'], [50, 'esp'], [51, 'ah'], [58, 'ipv6-icmp'],
  [108, 'ipcomp'], [132, 'sctp'], [135, 'mobility-header'], [136, 'udplite'],
]);

/** Common service names (tcp/udp) -> port, from the usual /etc/services. */
export const SERVICES: ReadonlyMap<string, number> = new Map([
  ['tcpmux', 1], ['echo', 7], ['discard', 9], ['systat', 11], ['daytime', 13], ['netstat', 15], ['qotd', 17],
  ['chargen', 19], ['ftp-data', 20], ['ftp', 21], ['ssh', 22], ['telnet', 23], ['smtp', 25], ['time', 37],
  ['whois', 43], ['tacacs', 49], ['domain', 53], ['bootps', 67], ['bootpc', 68], ['tftp', 69], ['gopher', 70],
  ['finger', 79], ['http', 80], ['www', 80], ['kerberos', 88], ['iso-tsap', 102], ['acr-nema', 104],
  ['pop3', 110], ['sunrpc', 111], ['auth', 113], ['nntp', 119], ['ntp', 123], ['epmap', 135], ['netbios-ns', 137],
  ['netbios-dgm', 138], ['netbios-ssn', 139], ['imap2', 143], ['imap', 143], ['snmp', 161], ['snmp-trap', 162],
  ['cmip-man', 163], ['cmip-agent', 164], ['mailq', 174], ['xdmcp', 177], ['bgp', 179], ['smux', 199],
  ['qmtp', 209], ['z3950', 210], ['ipx', 213], ['ptp-event', 319], ['ptp-general', 320], ['pawserv', 345],
  ['zserv', 346], ['rpc2portmap', 369], ['codaauth2', 370], ['clearcase', 371], ['ldap', 389], ['svrloc', 427],
  ['https', 443], ['snpp', 444], ['microsoft-ds', 445], ['kpasswd', 464], ['submissions', 465], ['saft', 487],
  ['gss-http', 488], ['isakmp', 500], ['rtsp', 554], ['nqs', 607], ['asf-rmcp', 623], ['qmqp', 628], ['ipp', 631],
  ['ldp', 646], ['exec', 512], ['biff', 512], ['login', 513], ['who', 513], ['shell', 514], ['syslog', 514],
  ['printer', 515], ['talk', 517], ['ntalk', 518], ['route', 520], ['gdomap', 538], ['uucp', 540],
  ['klogin', 543], ['kshell', 544], ['dhcpv6-client', 546], ['dhcpv6-server', 547], ['afpovertcp', 548],
  ['nntps', 563], ['submission', 587], ['ldaps', 636], ['tinc', 655], ['silc', 706], ['kerberos-adm', 749],
  ['domain-s', 853], ['rsync', 873], ['ftps-data', 989], ['ftps', 990], ['telnets', 992], ['imaps', 993],
  ['pop3s', 995], ['socks', 1080], ['proofd', 1093], ['rootd', 1094], ['openvpn', 1194], ['rmiregistry', 1099],
  ['lotusnote', 1352], ['ms-sql-s', 1433], ['ms-sql-m', 1434], ['ingreslock', 1524], ['datametrics', 1645],
  ['sa-msg-port', 1646], ['kermit', 1649], ['groupwise', 1677], ['l2f', 1701], ['l2tp', 1701], ['radius', 1812],
  ['radius-acct', 1813], ['cisco-sccp', 2000], ['nfs', 2049], ['gnunet', 2086], ['rtcm-sc104', 2101],
  ['gsigatekeeper', 2119], ['gris', 2135], ['cvspserver', 2401], ['venus', 2430], ['venus-se', 2431],
  ['codasrv', 2432], ['codasrv-se', 2433], ['mon', 2583], ['dict', 2628], ['f5-globalsite', 2792],
  ['gsiftp', 2811], ['gpsd', 2947], ['gds-db', 3050], ['icpv2', 3130], ['isns', 3205], ['iscsi-target', 3260],
  ['mysql', 3306], ['ms-wbt-server', 3389], ['nut', 3493], ['distcc', 3632], ['daap', 3689], ['svn', 3690],
  ['suucp', 4031], ['sysrqd', 4094], ['sieve', 4190], ['epmd', 4369], ['remctl', 4373], ['f5-iquery', 4353],
  ['ntske', 4460], ['ipsec-nat-t', 4500], ['iax', 4569], ['mtn', 4691], ['radmin-port', 4899], ['sip', 5060],
  ['sip-tls', 5061], ['xmpp-client', 5222], ['xmpp-server', 5269], ['cfengine', 5308], ['mdns', 5353],
  ['postgresql', 5432], ['freeciv', 5556], ['amqps', 5671], ['amqp', 5672], ['x11', 6000], ['x11-1', 6001],
  ['x11-2', 6002], ['x11-3', 6003], ['x11-4', 6004], ['x11-5', 6005], ['x11-6', 6006], ['x11-7', 6007],
  ['gnutella-svc', 6346], ['gnutella-rtr', 6347], ['redis', 6379], ['sge-qmaster', 6444], ['sge-execd', 6445],
  ['mysql-proxy', 6446], ['babel', 6696], ['ircs-u', 6697], ['bbs', 7000], ['afs3-fileserver', 7000],
  ['afs3-callback', 7001], ['afs3-prserver', 7002], ['afs3-vlserver', 7003], ['afs3-kaserver', 7004],
  ['afs3-volser', 7005], ['afs3-bos', 7007], ['afs3-update', 7008], ['afs3-rmtsys', 7009], ['font-service', 7100],
  ['http-alt', 8080], ['webcache', 8080], ['puppet', 8140], ['bacula-dir', 9101], ['bacula-fd', 9102],
  ['bacula-sd', 9103], ['xmms2', 9667], ['nbd', 10809], ['zabbix-agent', 10050], ['zabbix-trapper', 10051],
  ['amanda', 10080], ['dicom', 11112], ['hkp', 11371], ['db-lsp', 17500], ['dcap', 22125], ['gsidcap', 22128],
  ['wnn6', 22273], ['irc', 194], ['ircd', 6667], ['kpop', 1109], ['rfe', 5002], ['git', 9418], ['spamd', 783],
  ['nameserver', 42], ['tftps', 3713], ['ntp-s', 4460], ['domain-s-udp', 853], ['pop2', 109], ['snmp-tcp', 1993],
  ['postgres', 5432], ['zope-ftp', 8021], ['tproxy', 8081], ['omniorb', 8088], ['clc-build-daemon', 8990],
  ['xinetd', 9098], ['sane-port', 6566], ['ircs', 994], ['mandelspawn', 9359], ['kamanda', 10081],
  ['amandaidx', 10082], ['amidxtape', 10083], ['isdnlog', 20011], ['vboxd', 20012], ['binkp', 24554],
  ['asp', 27374], ['csync2', 30865], ['dircproxy', 57000], ['tfido', 60177], ['fido', 60179],
]);

export interface IcmpType {
  type: number;
  /** Code range; 0..255 means any code. */
  codeMin: number;
  codeMax: number;
}

function icmp(type: number, code?: number): IcmpType {
  return code === undefined ? { type, codeMin: 0, codeMax: 255 } : { type, codeMin: code, codeMax: code };
}

export const ICMP_TYPES: ReadonlyMap<string, IcmpType> = new Map([
  ['any', { type: 255, codeMin: 0, codeMax: 255 }],
  ['echo-reply', icmp(0)], ['pong', icmp(0)],
  ['destination-unreachable', icmp(3)], ['network-unreachable', icmp(3, 0)], ['host-unreachable', icmp(3, 1)],
  ['protocol-unreachable', icmp(3, 2)], ['port-unreachable', icmp(3, 3)], ['fragmentation-needed', icmp(3, 4)],
  ['source-route-failed', icmp(3, 5)], ['network-unknown', icmp(3, 6)], ['host-unknown', icmp(3, 7)],
  ['network-prohibited', icmp(3, 9)], ['host-prohibited', icmp(3, 10)], ['TOS-network-unreachable', icmp(3, 11)],
  ['TOS-host-unreachable', icmp(3, 12)], ['communication-prohibited', icmp(3, 13)],
  ['host-precedence-violation', icmp(3, 14)], ['precedence-cutoff', icmp(3, 15)],
  ['source-quench', icmp(4)], ['redirect', icmp(5)], ['network-redirect', icmp(5, 0)], ['host-redirect', icmp(5, 1)],
  ['TOS-network-redirect', icmp(5, 2)], ['TOS-host-redirect', icmp(5, 3)],
  ['echo-request', icmp(8)], ['ping', icmp(8)], ['router-advertisement', icmp(9)], ['router-solicitation', icmp(10)],
  ['time-exceeded', icmp(11)], ['ttl-exceeded', icmp(11)], ['ttl-zero-during-transit', icmp(11, 0)],
  ['ttl-zero-during-reassembly', icmp(11, 1)], ['parameter-problem', icmp(12)], ['ip-header-bad', icmp(12, 0)],
  ['required-option-missing', icmp(12, 1)], ['timestamp-request', icmp(13)], ['timestamp-reply', icmp(14)],
  ['address-mask-request', icmp(17)], ['address-mask-reply', icmp(18)],
]);

export const ICMPV6_TYPES: ReadonlyMap<string, IcmpType> = new Map([
  ['destination-unreachable', icmp(1)], ['no-route', icmp(1, 0)], ['communication-prohibited', icmp(1, 1)],
  ['beyond-scope', icmp(1, 2)], ['address-unreachable', icmp(1, 3)], ['port-unreachable', icmp(1, 4)],
  ['failed-policy', icmp(1, 5)], ['reject-route', icmp(1, 6)], ['packet-too-big', icmp(2)],
  ['time-exceeded', icmp(3)], ['ttl-exceeded', icmp(3)], ['ttl-zero-during-transit', icmp(3, 0)],
  ['ttl-zero-during-reassembly', icmp(3, 1)], ['parameter-problem', icmp(4)], ['bad-header', icmp(4, 0)],
  ['unknown-header-type', icmp(4, 1)], ['unknown-option', icmp(4, 2)], ['echo-request', icmp(128)],
  ['ping', icmp(128)], ['echo-reply', icmp(129)], ['pong', icmp(129)], ['mld-listener-query', icmp(130)],
  ['mld-listener-report', icmp(131)], ['mld-listener-done', icmp(132)], ['mld-listener-reduction', icmp(132)],
  ['router-solicitation', icmp(133)], ['router-advertisement', icmp(134)], ['neighbour-solicitation', icmp(135)],
  ['neighbor-solicitation', icmp(135)], ['neighbour-advertisement', icmp(136)], ['neighbor-advertisement', icmp(136)],
  ['redirect', icmp(137)],
]);

export const REJECT_WITH_V4 = [
  'icmp-net-unreachable', 'net-unreach', 'icmp-host-unreachable', 'host-unreach', 'icmp-proto-unreachable',
  'proto-unreach', 'icmp-port-unreachable', 'port-unreach', 'icmp-net-prohibited', 'net-prohib',
  'icmp-host-prohibited', 'host-prohib', 'tcp-reset', 'tcp-rst', 'icmp-admin-prohibited', 'admin-prohib',
];

export const REJECT_WITH_V6 = [
  'icmp6-no-route', 'no-route', 'icmp6-adm-prohibited', 'adm-prohibited', 'icmp6-addr-unreachable', 'addr-unreach',
  'icmp6-port-unreachable', 'port-unreach', 'icmp6-policy-fail', 'policy-fail', 'icmp6-reject-route',
  'reject-route', 'tcp-reset', 'tcp-rst',
];

/** DiffServ class names -> DSCP value. */
export const DSCP_CLASSES: ReadonlyMap<string, number> = new Map([
  ['CS0', 0x00], ['CS1', 0x08], ['CS2', 0x10], ['CS3', 0x18], ['CS4', 0x20], ['CS5', 0x28], ['CS6', 0x30], ['CS7', 0x38],
  ['BE', 0x00], ['AF11', 0x0a], ['AF12', 0x0c], ['AF13', 0x0e], ['AF21', 0x12], ['AF22', 0x14], ['AF23', 0x16],
  ['AF31', 0x1a], ['AF32', 0x1c], ['AF33', 0x1e], ['AF41', 0x22], ['AF42', 0x24], ['AF43', 0x26], ['EF', 0x2e],
]);

/** Old TOS names (RFC 1349) accepted by -m tos / -j TOS. */
export const TOS_NAMES: ReadonlyMap<string, number> = new Map([
  ['Minimize-Delay', 0x10], ['Maximize-Throughput', 0x08], ['Maximize-Reliability', 0x04], ['Minimize-Cost', 0x02],
  ['Normal-Service', 0x00],
]);

export const LOG_LEVELS: ReadonlyMap<string, number> = new Map([
  ['emerg', 0], ['panic', 0], ['alert', 1], ['crit', 2], ['err', 3], ['error', 3], ['warning', 4], ['warn', 4],
  ['notice', 5], ['info', 6], ['debug', 7],
]);

export const TCP_FLAGS = new Set(['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ALL', 'NONE', 'ECE', 'CWR']);

export const TCP_OPTION_NAMES: ReadonlyMap<string, number> = new Map([
  ['wscale', 3], ['mss', 2], ['sack-permitted', 4], ['sack', 5], ['timestamp', 8], ['md5', 19],
]);

export const SCTP_CHUNKS = new Set([
  'DATA', 'INIT', 'INIT_ACK', 'SACK', 'HEARTBEAT', 'HEARTBEAT_ACK', 'ABORT', 'SHUTDOWN', 'SHUTDOWN_ACK', 'ERROR',
  'COOKIE_ECHO', 'COOKIE_ACK', 'ECN_ECNE', 'ECN_CWR', 'SHUTDOWN_COMPLETE', 'I_DATA', 'RE_CONFIG', 'PAD', 'ASCONF',
  'ASCONF_ACK', 'FORWARD_TSN', 'I_FORWARD_TSN', 'ALL', 'NONE',
]);

export const IPV6_HEADERS: ReadonlyMap<string, number> = new Map([
  ['hop', 0], ['hop-by-hop', 0], ['dst', 60], ['ipv6-opts', 60], ['route', 43], ['ipv6-route', 43], ['frag', 44],
  ['ipv6-frag', 44], ['auth', 51], ['ah', 51], ['esp', 50], ['none', 59], ['ipv6-nonxt', 59], ['prot', 255],
  ['protocol', 255],
]);

export const WEEKDAYS = new Set(['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN', '1', '2', '3', '4', '5', '6', '7']);
