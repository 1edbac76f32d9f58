// Random iptables-save rulesets (and packets for them) for the kernel-agreement test. Seeded, so a
// failure names the seed that reproduces it. Only what loads on the nf_tables backend is generated:
// -i only where there is an input interface, -o only where there is an output one, nat targets only
// in the nat hooks that allow them, no jump loops (user chains jump only to later chains of their hook).
import type { SendSpec } from './kernel-harness';

import { prng as rng } from '../support/prng';

export { rng };

type Hook = 'PREROUTING' | 'INPUT' | 'FORWARD' | 'OUTPUT' | 'POSTROUTING';

const TABLES: Record<string, Hook[]> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
};

const MARKS = [0x1, 0x2, 0x3, 0x10, 0x20, 0x100, 0x200, 0x210, 0x220];
const MASKS = [0x1, 0x3, 0xff, 0x200, 0x210, 0x220, 0xffffffff];
const hex = (n: number) => '0x' + (n >>> 0).toString(16);

export interface GenPacket {
  send: SendSpec;
  /** The simulator's packet line. */
  line: string;
  /** An existing connection to insert first (established packets). */
  ct?: { proto: string; src: string; dst: string; sport: number; dport: number; mark: number };
}

export interface GenCase {
  seed: number;
  text: string;
  packets: GenPacket[];
}

export function generate(seed: number, nextIpId: () => number, nextPort: () => number, packetsPer = 6): GenCase {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const chance = (p: number) => r() < p;
  const out: string[] = ['# generated, seed ' + seed];
  const tables = ['mangle', ...(chance(0.35) ? ['raw'] : []), ...(chance(0.45) ? ['nat'] : []), ...(chance(0.75) ? ['filter'] : [])];
  for (const table of ['raw', 'mangle', 'nat', 'filter'].filter((t) => tables.includes(t))) {
    const hooks = TABLES[table];
    // User chains, each owned by one hook; chain k may jump to later chains of its hook.
    const users: { name: string; hook: Hook }[] = [];
    const nUsers = Math.floor(r() * 5);
    for (let i = 0; i < nUsers; i++) users.push({ name: `U${i}`, hook: pick(hooks) });
    out.push(`*${table}`);
    for (const h of hooks) {
      const pol = table === 'filter' && chance(0.2) ? 'DROP' : 'ACCEPT';
      out.push(`:${h} ${pol} [0:0]`);
    }
    for (const u of users) out.push(`:${u.name} - [0:0]`);
    const rulesFor = (chain: string, hook: Hook, builtin: boolean, idx: number) => {
      const n = Math.floor(r() * (builtin ? 5 : 4));
      const later = users.filter((u, j) => u.hook === hook && (builtin || j > idx));
      for (let k = 0; k < n; k++) out.push(`-A ${chain} ${rule(table, hook, builtin, later.map((u) => u.name))}`.trimEnd());
    };
    for (const h of hooks) rulesFor(h, h, true, -1);
    users.forEach((u, j) => rulesFor(u.name, u.hook, false, j));
    out.push('COMMIT');
  }
  const packets: GenPacket[] = [];
  for (let i = 0; i < packetsPer; i++) packets.push(randomPacket(r, nextIpId, nextPort));
  return { seed, text: out.join('\n') + '\n', packets };

  function matches(hook: Hook): string {
    const parts: string[] = [];
    const n = Math.floor(r() * 3.2);
    let proto: string | undefined;
    // iptables takes each of -s -d -i -o once.
    const used = new Set<string>();
    const once = (flag: string, text: string) => { if (!used.has(flag)) { used.add(flag); parts.push(text); } };
    // ...and each match module once (iptables gives a repeated option to the last module loaded).
    const mod = (name: string, text: string) => once(`-m ${name}`, text);
    for (let i = 0; i < n; i++) {
      const k = Math.floor(r() * 12);
      switch (k) {
        case 0:
          if (!proto) { proto = pick(['tcp', 'udp']); parts.unshift(`${chance(0.15) ? '! ' : ''}-p ${proto}`); if (parts[0].startsWith('!')) proto = 'neg'; }
          break;
        case 1:
          if (!proto) { proto = pick(['tcp', 'udp']); parts.unshift(`-p ${proto}`); }
          if (proto === 'tcp' || proto === 'udp') {
            if (chance(0.25)) mod('multiport', `-m multiport --dports ${pick(['80,443', '22,53', '5000:5010', '53'])}`);
            else mod(proto, `-m ${proto} ${chance(0.2) ? '! ' : ''}--${pick(['dport', 'dport', 'sport'])} ${pick(['80', '53', '22', '443', '5000', '6081', '20000:30000'])}`);
          }
          break;
        case 2: once('-s', `${chance(0.2) ? '! ' : ''}-s ${pick(['10.9.0.1/32', '10.9.0.0/24', '10.9.2.0/24', '10.9.0.7/32', '10.9.1.0/24'])}`); break;
        case 3: once('-d', `${chance(0.2) ? '! ' : ''}-d ${pick(['10.9.0.2/32', '10.9.1.0/24', '10.9.2.2/32', '10.9.0.0/24'])}`); break;
        case 4:
          if (hook === 'PREROUTING' || hook === 'INPUT' || hook === 'FORWARD') once('-i', `${chance(0.2) ? '! ' : ''}-i ${pick(['vb', 'wb', 'v+', 'lo'])}`);
          else once('-o', `${chance(0.2) ? '! ' : ''}-o ${pick(['vb', 'd0', 'wb'])}`);
          break;
        case 5: mod('mark', `-m mark ${chance(0.2) ? '! ' : ''}--mark ${markMask()}`); break;
        case 6: mod('connmark', `-m connmark ${chance(0.2) ? '! ' : ''}--mark ${markMask()}`); break;
        case 7: mod('conntrack', `-m conntrack ${chance(0.2) ? '! ' : ''}--ctstate ${pick(['NEW', 'ESTABLISHED', 'NEW,ESTABLISHED', 'RELATED,ESTABLISHED'])}`); break;
        case 8: if (hook === 'FORWARD' || hook === 'POSTROUTING') once('-o', `${chance(0.2) ? '! ' : ''}-o ${pick(['d0', 'vb'])}`); else mod('comment', '-m comment --comment "c"'); break;
        case 9: mod('addrtype', `-m addrtype ${chance(0.2) ? '! ' : ''}--${pick(['dst', 'src'])}-type ${pick(['LOCAL', 'UNICAST', 'LOCAL,UNICAST'])}`); break;
        case 10: mod('iprange', `-m iprange ${chance(0.2) ? '! ' : ''}--${pick(['src', 'dst'])}-range ${pick(['10.9.0.1-10.9.0.5', '10.9.1.0-10.9.1.6', '10.9.2.1-10.9.2.2'])}`); break;
        case 11:
          if (!proto) { proto = 'tcp'; parts.unshift('-p tcp'); }
          if (proto === 'tcp') mod('tcp', pick(['-m tcp --syn', '-m tcp ! --syn', '-m tcp --tcp-flags SYN,RST,ACK SYN', '-m tcp --tcp-flags ACK ACK']));
          else mod('state', `-m state --state ${pick(['NEW', 'ESTABLISHED', 'NEW,RELATED'])}`);
          break;
      }
    }
    return parts.join(' ');
  }

  function markMask(): string {
    const m = pick(MASKS);
    const v = pick(MARKS) & m;
    return `${hex(v)}/${hex(m)}`;
  }

  function rule(table: string, hook: Hook, builtin: boolean, jumpable: string[]): string {
    const m = matches(hook);
    const roll = r();
    const jumpOrGoto = () => `${chance(0.3) ? '-g' : '-j'} ${pick(jumpable)}`;
    let t: string;
    if (jumpable.length && roll < 0.3) t = jumpOrGoto();
    else if (table === 'nat') {
      const x = r();
      if (x < 0.25) t = '-j RETURN';
      else if (x < 0.4) t = '-j ACCEPT';
      else if (hook === 'PREROUTING' || hook === 'OUTPUT') t = x < 0.7 ? `-j DNAT --to-destination ${pick(['10.9.1.7', '10.9.0.2:8080', '10.9.1.8:5353'])}` : `-j REDIRECT --to-ports ${pick(['8080', '15001'])}`;
      else if (hook === 'POSTROUTING') t = x < 0.7 ? '-j MASQUERADE' : '-j SNAT --to-source 10.9.1.1';
      else t = '-j SNAT --to-source 10.9.0.2';
      // Without -p, --to-ports is refused: REDIRECT/DNAT with ports need tcp or udp.
      if ((/--to-ports|:\d+$/.test(t)) && !/-p (tcp|udp)/.test(m)) return `-p ${pick(['tcp', 'udp'])} ${m} ${t}`.replace(/\s+/g, ' ');
    } else if (table === 'raw') {
      const x = r();
      t = x < 0.15 ? '-j CT --notrack' : x < 0.35 ? `-j CT --zone ${pick(['1', '2'])}` : x < 0.7 ? `-j MARK --set-xmark ${markMask()}` : x < 0.85 ? '-j RETURN' : '-j ACCEPT';
    } else {
      const x = r();
      if (x < 0.3) {
        // Every MARK form iptables-restore takes (iptables-save prints them all as --set-xmark).
        const v = hex(pick(MARKS));
        t = pick([`-j MARK --set-xmark ${v}/${hex(pick(MASKS))}`, `-j MARK --set-mark ${v}`, `-j MARK --set-mark ${v}/${hex(pick(MASKS))}`,
          `-j MARK --or-mark ${v}`, `-j MARK --and-mark ${hex(pick(MASKS))}`, `-j MARK --xor-mark ${v}`]);
      }
      else if (x < 0.45 && table === 'mangle') t = chance(0.3) ? `-j CONNMARK --save-mark --mask ${hex(pick(MASKS))}` : `-j CONNMARK --save-mark --nfmask ${hex(pick(MASKS))} --ctmask ${hex(pick(MASKS))}`;
      else if (x < 0.58 && table === 'mangle') t = `-j CONNMARK --restore-mark --nfmask ${hex(pick(MASKS))} --ctmask ${hex(pick(MASKS))}`;
      else if (x < 0.65 && table === 'mangle') t = `-j CONNMARK --set-xmark ${markMask()}`;
      else if (x < 0.78) t = '-j RETURN';
      else if (x < 0.9) t = '-j ACCEPT';
      else t = table === 'filter' && chance(0.5) ? '-j REJECT --reject-with icmp-port-unreachable' : '-j DROP';
    }
    void builtin;
    return `${m} ${t}`.trim().replace(/\s+/g, ' ');
  }
}

/** One packet of the kinds the rig can send: to this host, forwarded, established (either direction), local. */
export function randomPacket(r: () => number, nextIpId: () => number, nextPort: () => number): GenPacket {
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const chance = (p: number) => r() < p;
  const proto = pick(['tcp', 'udp'] as const);
  const sport = nextPort();
  const dport = pick([80, 53, 22, 443, 5000, 6081, 8080]);
  const ipid = nextIpId();
  const kind = Math.floor(r() * 7);
  const flags = proto === 'tcp' ? ['SYN'] : undefined;
  const ackFlags = proto === 'tcp' ? ['ACK'] : undefined;
  const host = 'host 10.9.0.2/24@vb,10.9.2.2/24@wb,10.9.1.1/24@d0';
  const hostW = 'host 10.9.2.2/24@wb,10.9.0.2/24@vb,10.9.1.1/24@d0';
  const mark = pick([0, ...MARKS]);
  switch (kind) {
    case 0: { // to this host via vb (sometimes a foreign source)
      const src = chance(0.3) ? '10.9.0.7' : '10.9.0.1';
      return { send: { from: 'A', iif: 'vb', src, dst: '10.9.0.2', proto, sport, dport, flags, ipid }, line: `${proto} ${src}:${sport} -> 10.9.0.2:${dport} iif vb ${host}` };
    }
    case 1: // to this host via wb
      return { send: { from: 'A', iif: 'wb', src: '10.9.2.1', dst: '10.9.2.2', proto, sport, dport, flags, ipid }, line: `${proto} 10.9.2.1:${sport} -> 10.9.2.2:${dport} iif wb ${hostW}` };
    case 2: { // forwarded, new
      const iif = chance(0.5) ? 'vb' : 'wb';
      const src = iif === 'vb' ? '10.9.0.1' : '10.9.2.1';
      return { send: { from: 'A', iif, src, dst: '10.9.1.5', proto, sport, dport, flags, ipid }, line: `${proto} ${src}:${sport} -> 10.9.1.5:${dport} iif ${iif} ${iif === 'vb' ? host : hostW}` };
    }
    case 3: // forwarded, established, original direction, ct mark set
      return {
        send: { from: 'A', iif: 'vb', src: '10.9.0.1', dst: '10.9.1.5', proto, sport, dport, flags: ackFlags, ipid },
        line: `${proto} 10.9.0.1:${sport} -> 10.9.1.5:${dport} iif vb ct established ctmark ${hex(mark)} ${host}`,
        ct: { proto, src: '10.9.0.1', dst: '10.9.1.5', sport, dport, mark },
      };
    case 4: // forwarded, established, reply direction
      return {
        send: { from: 'A', iif: 'vb', src: '10.9.0.1', dst: '10.9.1.5', proto, sport, dport, flags: ackFlags, ipid },
        line: `${proto} 10.9.0.1:${sport} -> 10.9.1.5:${dport} iif vb ct established reply ctmark ${hex(mark)} ${host}`,
        ct: { proto, src: '10.9.1.5', dst: '10.9.0.1', sport: dport, dport: sport, mark },
      };
    case 5: // to this host, established
      return {
        send: { from: 'A', iif: 'vb', src: '10.9.0.1', dst: '10.9.0.2', proto, sport, dport, flags: ackFlags, ipid },
        line: `${proto} 10.9.0.1:${sport} -> 10.9.0.2:${dport} iif vb ct established ctmark ${hex(mark)} ${host}`,
        ct: { proto, src: '10.9.0.1', dst: '10.9.0.2', sport, dport, mark },
      };
    default: { // sent by this host
      const dst = chance(0.6) ? '10.9.0.1' : '10.9.1.5';
      return { send: { from: 'B', src: '10.9.0.2', dst, proto, sport, dport, flags, ipid }, line: `${proto} 10.9.0.2:${sport} -> ${dst}:${dport} local ${host}` };
    }
  }
}
