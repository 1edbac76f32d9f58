// Random nftables rulesets for the kernel-agreement test: several base chains per hook at various
// priorities (accept ends only its own base chain), user chains reached by jump/goto (no loops),
// payload/meta/ct matches with sets, mark and ct mark arithmetic, verdict maps, dnat/masquerade.
// Written for nft 1.0.6's grammar (a newline before every closing brace).
import { randomPacket, rng, type GenCase } from './ruleset-gen';

type Hook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';
const HOOKS: Hook[] = ['prerouting', 'input', 'forward', 'output', 'postrouting'];
const PRIOS = [-300, -160, -150, -10, 0, 10, 50, 200];
const MARKS = ['0x1', '0x2', '0x10', '0x20', '0x200', '0x210', '0x220'];

export function generateNft(seed: number, nextIpId: () => number, nextPort: () => number, packetsPer = 6): GenCase {
  const r = rng(seed ^ 0x5bd1e995);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const chance = (p: number) => r() < p;
  const out: string[] = [`# generated nft, seed ${seed}`];
  const tables = chance(0.5) ? [['inet', 'g1'], ['ip', 'g2']] : [['inet', 'g1']];
  for (const [family, name] of tables) {
    out.push(`table ${family} ${name} {`);
    const bases: { name: string; hook: Hook }[] = [];
    const nBase = 1 + Math.floor(r() * 4);
    for (let i = 0; i < nBase; i++) bases.push({ name: `b${i}`, hook: pick(HOOKS) });
    const users: { name: string; hook: Hook }[] = [];
    const nUser = Math.floor(r() * 4);
    for (let i = 0; i < nUser; i++) users.push({ name: `u${i}`, hook: pick(HOOKS) });
    for (const b of bases) {
      out.push(`  chain ${b.name} {`);
      out.push(`    type filter hook ${b.hook} priority ${pick(PRIOS)}; policy ${chance(0.12) ? 'drop' : 'accept'};`);
      rules(b.hook, users.filter((u) => u.hook === b.hook).map((u) => u.name));
      out.push('  }');
    }
    users.forEach((u, j) => {
      out.push(`  chain ${u.name} {`);
      rules(u.hook, users.filter((v, k) => k > j && v.hook === u.hook).map((v) => v.name));
      out.push('  }');
    });
    if (family === 'ip' && chance(0.5)) {
      out.push('  chain natpre {', '    type nat hook prerouting priority -100; policy accept;');
      if (chance(0.7)) out.push(`    ${pick(['tcp dport 80', 'udp dport 53', 'ip daddr 10.9.1.5 tcp dport 443'])} dnat to ${pick(['10.9.1.7', '10.9.0.2:8080', '10.9.1.8'])}`);
      out.push('  }', '  chain natpost {', '    type nat hook postrouting priority 100; policy accept;');
      if (chance(0.7)) out.push(`    ${pick(['oifname "d0"', 'ip saddr 10.9.0.0/24 oifname "d0"'])} masquerade`);
      out.push('  }');
    }
    out.push('}');
  }
  const packets = [];
  for (let i = 0; i < packetsPer; i++) packets.push(randomPacket(r, nextIpId, nextPort));
  return { seed, text: out.join('\n') + '\n', packets };

  function rules(hook: Hook, targets: string[]) {
    const n = Math.floor(r() * 5);
    for (let i = 0; i < n; i++) {
      const m = matches(hook);
      const stmts: string[] = [];
      if (chance(0.5)) stmts.push(statement());
      const x = r();
      let verdict = '';
      if (targets.length && x < 0.25) verdict = `${chance(0.3) ? 'goto' : 'jump'} ${pick(targets)}`;
      else if (x < 0.4) verdict = 'accept';
      else if (x < 0.47) verdict = 'drop';
      else if (x < 0.6) verdict = 'return';
      else if (x < 0.68 && targets.length) verdict = `${pick(['tcp dport', 'udp dport'])} vmap { 53 : jump ${pick(targets)}, 80 : accept, 22 : drop }`;
      if (verdict.includes('vmap')) {
        // No statement before a vmap: it would run even when the lookup then fails (the walk's model
        // keeps matches and statements apart).
        out.push(`    ${[/sport|dport|l4proto/.test(m) ? '' : m, verdict].filter(Boolean).join(' ')}`);
        continue;
      }
      // Sometimes the statement comes first: it then runs even when the match after it fails.
      const line = (m && stmts.length && chance(0.3) ? [...stmts, m, verdict] : [m, ...stmts, verdict]).filter(Boolean).join(' ');
      out.push(`    ${line || 'counter'}`);
    }
  }

  function matches(hook: Hook): string {
    const parts: string[] = [];
    const used = new Set<number>();
    const n = Math.floor(r() * 3);
    for (let i = 0; i < n; i++) {
      const k = Math.floor(r() * 8);
      if (used.has(k)) continue;
      used.add(k);
      switch (k) {
        case 0:
          if (hook === 'prerouting' || hook === 'input' || hook === 'forward') parts.push(pick(['iifname "vb"', 'iifname != "wb"', 'iifname { "vb", "lo" }', 'iifname "v*"']));
          else parts.push(pick(['oifname "d0"', 'oifname != "vb"', 'oifname { "vb", "wb" }']));
          break;
        case 1: parts.push(pick(['ip saddr 10.9.0.0/24', 'ip saddr != 10.9.0.7', 'ip saddr { 10.9.2.1, 10.9.0.7 }', 'ip saddr 10.9.0.1-10.9.0.5'])); break;
        case 2: parts.push(pick(['ip daddr 10.9.0.2', 'ip daddr { 10.9.1.0/24, 10.9.2.2 }', 'ip daddr != 10.9.1.5'])); break;
        case 3: parts.push(pick(['tcp dport 80', 'udp dport { 53, 5000-5010 }', 'tcp dport != 22', 'meta l4proto udp', 'udp sport >= 30000', 'tcp dport { 22, 80, 443 }'])); break;
        case 4: parts.push(pick([`meta mark & 0x210 == 0x200`, `meta mark ${pick(MARKS)}`, `meta mark != 0x0`, `meta mark & 0x3 == 0x1`])); break;
        case 5: parts.push(pick([`ct mark & 0x220 == 0x220`, `ct mark ${pick(MARKS)}`, 'ct mark != 0x0'])); break;
        case 6: parts.push(pick(['ct state new', 'ct state { established, related }', 'ct state established', 'ct state invalid', 'ct state != new'])); break;
        case 7: parts.push(pick(['ct direction reply', 'ct direction original'])); break;
      }
    }
    return parts.join(' ');
  }

  function statement(): string {
    return pick([
      `meta mark set mark or ${pick(MARKS)}`,
      'meta mark set mark and 0xff',
      `meta mark set ${pick(MARKS)}`,
      'meta mark set ct mark',
      'meta mark set mark xor 0x1',
      'ct mark set mark',
      `ct mark set ct mark or ${pick(MARKS)}`,
      'ct mark set mark and 0x3',
      'counter',
    ]);
  }
}
