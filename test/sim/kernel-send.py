#!/usr/bin/env python3
# Sends hand-built IPv4 TCP/UDP packets for the kernel-agreement tests. One JSON object per stdin line:
#   {"mode": "eth", "ifname": "va", "dmac": "aa:..", "src": .., "dst": .., "proto": "tcp"|"udp",
#    "sport": N, "dport": N, "flags": ["SYN"], "ipid": N}   -> an Ethernet frame on ifname (arrives at the peer)
#   {"mode": "raw", ...same without ifname/dmac}             -> a locally generated packet (OUTPUT path)
#   {"mode": "sock", "uid": N, "gid": N, src, dst, proto, sport, dport} -> an ordinary socket owned by
#       uid/gid (owner matches); the kernel picks the IP ID, so the trace is matched by source port
# The IP ID identifies the packet in `nft monitor trace`.
import json, os, socket, struct, sys, time

def csum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff

FLAGS = {'FIN': 1, 'SYN': 2, 'RST': 4, 'PSH': 8, 'ACK': 16, 'URG': 32, 'ECE': 64, 'CWR': 128}

def build(p):
    src, dst = socket.inet_aton(p['src']), socket.inet_aton(p['dst'])
    if p['proto'] == 'tcp':
        fl = sum(FLAGS[f] for f in p.get('flags', ['SYN']))
        seq = p.get('seq', 1000)
        ack = p.get('ack', 1 if fl & 16 else 0)
        l4 = struct.pack('!HHIIBBHHH', p['sport'], p['dport'], seq, ack, 5 << 4, fl, 64240, 0, 0)
        num = 6
    else:
        payload = b'nflens'
        l4 = struct.pack('!HHHH', p['sport'], p['dport'], 8 + len(payload), 0) + payload
        num = 17
    pseudo = src + dst + struct.pack('!BBH', 0, num, len(l4))
    c = csum(pseudo + l4)
    if num == 17 and c == 0:
        c = 0xffff
    l4 = l4[:16] + struct.pack('!H', c) + l4[18:] if num == 6 else l4[:6] + struct.pack('!H', c) + l4[8:]
    ihl = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(l4), p['ipid'], 0x4000, 64, num, 0, src, dst)
    ip = ihl[:10] + struct.pack('!H', csum(ihl)) + ihl[12:]
    return ip + l4

def mac(s):
    return bytes(int(x, 16) for x in s.split(':'))

socks = {}
raw = None
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    p = json.loads(line)
    if p['mode'] == 'sock':
        pid = os.fork()
        if pid == 0:
            try:
                os.setgroups([])
                os.setgid(p['gid'])
                os.setuid(p['uid'])
                kind = socket.SOCK_STREAM if p['proto'] == 'tcp' else socket.SOCK_DGRAM
                s = socket.socket(socket.AF_INET, kind)
                s.bind((p['src'], p['sport']))
                if p['proto'] == 'tcp':
                    s.setblocking(False)
                    try:
                        s.connect((p['dst'], p['dport']))
                    except (BlockingIOError, OSError):
                        pass
                    time.sleep(0.01)
                else:
                    try:
                        s.sendto(b'nflens', (p['dst'], p['dport']))
                    except OSError:
                        pass
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
    elif p['mode'] == 'eth':
        pkt = build(p)
        s = socks.get(p['ifname'])
        if s is None:
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
            s.bind((p['ifname'], 0))
            socks[p['ifname']] = s
        smac = s.getsockname()[4]
        s.send(mac(p['dmac']) + smac + b'\x08\x00' + pkt)
    else:
        pkt = build(p)
        if raw is None:
            raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        try:
            raw.sendto(pkt, (p['dst'], 0))
        except PermissionError:
            pass  # netfilter dropped it in OUTPUT: the trace says where
    time.sleep(p.get('gap', 0.002))
