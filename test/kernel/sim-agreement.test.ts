// The packet walk against the kernel: rulesets loaded into a scratch namespace, packets sent into it,
// `nft monitor trace` and `conntrack -L` compared with the simulator's trace, step by step.
// NFLENS_SIM_RULESETS / NFLENS_SIM_NFT_RULESETS set the number of generated iptables / nft rulesets
// (defaults 700 + 300: the issue asks for 1000); NFLENS_SIM_SEED the first seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { kernelAvailable } from '../support/netns';
import { parseRuleset } from '../../server/src/parse';
import { parsePacket } from '../../server/src/sim/packet';
import { walk } from '../../server/src/sim/walk';
import { BY_SPORT, KernelRig, type SendSpec } from '../sim/kernel-harness';
import { compare, type Comparison } from '../sim/kernel-compare';
import { generate, type GenPacket } from '../sim/ruleset-gen';
import { generateNft } from '../sim/nft-gen';

const avail = ((): { ok: boolean; reason?: string } => {
  const k = kernelAvailable();
  if (!k.ok) return k;
  for (const tool of ['conntrack', 'python3', 'stdbuf']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return { ok: false, reason: `${tool} not installed` };
  }
  return k;
})();
const root = join(import.meta.dirname, '../..');

let ipid = 1000;
let port = 20000;
const nextIpId = () => (ipid = ipid >= 65000 ? 1000 : ipid + 1);
// 20000-49999: 50000-59999 are the socket-sent packets' ports (their trace is found by port).
const nextPort = () => (port = port >= 49999 ? 20000 : port + 1);

interface Tally { rulesets: number; refused: number; packets: number; agree: number; disagree: number; unknownSteps: number; steps: number }

/** Loads one ruleset, sends its packets, compares. Returns the disagreements, printed in full. */
async function runCase(rig: KernelRig, name: string, text: string, packets: GenPacket[], tally: Tally, failures: string[], kind: 'iptables' | 'nft' = 'iptables', kernelText = text): Promise<void> {
  const loaded = rig.load(kernelText, packets.flatMap((p) => (p.ct ? [p.ct] : [])), kind);
  if (!loaded.ok) {
    tally.refused++;
    failures.push(`${name}: the kernel refused the ruleset (${loaded.error.trim()})\n${text}`);
    return;
  }
  tally.rulesets++;
  const rs = parseRuleset(text);
  const handles = loaded.handles;
  const markers = rig.send(packets.map((p) => p.send));
  const traces = await rig.collect(markers);
  const ct = rig.conntrack();
  for (const p of packets) {
    const pp = parsePacket(p.line);
    assert.deepEqual(pp.errors, [], p.line);
    const r = walk(rs, pp.packet!);
    tally.packets++;
    tally.steps += r.steps.length;
    tally.unknownSteps += r.unknowns.length;
    const s: SendSpec = p.send;
    const c: Comparison = compare(rs, r, traces.get(s.owner ? BY_SPORT + s.sport : s.ipid), handles, ct, { proto: s.proto, src: s.src, dst: s.dst, sport: s.sport, dport: s.dport }, p.ct);
    if (c.ok) { tally.agree++; continue; }
    tally.disagree++;
    failures.push([
      `${name}: packet "${p.line}" (ip id ${s.ipid})`,
      ...c.problems.map((x) => `  ! ${x}`),
      '  simulator:', ...c.sim.map((x) => `    ${x}`), `    => ${r.verdict} mark 0x${r.packet.mark.toString(16)} ctmark 0x${r.packet.ctmark.toString(16)}`,
      '  kernel:', ...c.kernel.map((x) => `    ${x}`),
      `    => end ${traces.get(s.ipid)?.endHook ?? '(not reached)'} mark ${traces.get(s.ipid)?.endMark ?? '-'}`,
      '  kernel trace lines:', ...(traces.get(s.ipid)?.lines ?? []).map((l) => `    ${l.raw.slice(0, 200)}`),
      '  ruleset:', ...text.trimEnd().split('\n').map((x) => `    ${x}`),
    ].join('\n'));
  }
}

/** The seed's ztunnel rules with this rig's names: the pod veth is vb, istioin is wb, the pod 10.9.0.1. */
function ztunnelForRig(): string {
  return readFileSync(join(root, 'examples/ztunnel-ambient.rules'), 'utf8')
    .replaceAll('vethfe50c7fb', 'vb').replaceAll('istioin', 'wb').replaceAll('istioout', 'wo')
    .replaceAll('10.244.0.3/32', '10.9.0.1/32').replaceAll('10.244.0.1/32', '10.9.0.2/32')
    // No ipset here: the set match becomes the address it would hold.
    .replace('-m set --match-set ztunnel-pods-ips src', '-s 10.9.0.7/32');
}

const HOST = 'host 10.9.0.2/24@vb,10.9.2.2/24@wb,10.9.1.1/24@d0';

function ztPackets(): GenPacket[] {
  const mk = (send: Omit<SendSpec, 'ipid' | 'sport'> & { sport?: number }, line: (sp: number) => string, ct?: (sp: number) => GenPacket['ct']): GenPacket => {
    const sport = send.sport ?? nextPort();
    return { send: { ...send, sport, ipid: nextIpId() } as SendSpec, line: line(sport), ct: ct?.(sport) };
  };
  return [
    // From the pod's veth (the pod's own address), forwarded: 0x220, saved to the ct mark.
    mk({ from: 'A', iif: 'vb', src: '10.9.0.1', dst: '10.9.1.5', proto: 'tcp', dport: 80, flags: ['SYN'] }, (sp) => `tcp 10.9.0.1:${sp} -> 10.9.1.5:80 iif vb ${HOST}`),
    // From another address on the pod's veth: 0x210.
    mk({ from: 'A', iif: 'vb', src: '10.9.0.9', dst: '10.9.1.5', proto: 'tcp', dport: 80, flags: ['SYN'] }, (sp) => `tcp 10.9.0.9:${sp} -> 10.9.1.5:80 iif vb ${HOST}`),
    // From istioin: 0x200 and RETURN.
    mk({ from: 'A', iif: 'wb', src: '10.9.2.1', dst: '10.9.1.5', proto: 'tcp', dport: 8080, flags: ['SYN'] }, (sp) => `tcp 10.9.2.1:${sp} -> 10.9.1.5:8080 iif wb ${HOST}`),
    // UDP to 6081 (geneve), for this host.
    mk({ from: 'A', iif: 'wb', src: '10.9.2.1', dst: '10.9.2.2', proto: 'udp', dport: 6081 }, (sp) => `udp 10.9.2.1:${sp} -> 10.9.2.2:6081 iif wb ${HOST}`),
    // Other UDP for this host: 0x220, saved in INPUT.
    mk({ from: 'A', iif: 'wb', src: '10.9.2.1', dst: '10.9.2.2', proto: 'udp', dport: 5000 }, (sp) => `udp 10.9.2.1:${sp} -> 10.9.2.2:5000 iif wb ${HOST}`),
    // The "pod set" member: 0x100, accepted in nat.
    mk({ from: 'A', iif: 'vb', src: '10.9.0.7', dst: '10.9.1.5', proto: 'tcp', dport: 443, flags: ['SYN'] }, (sp) => `tcp 10.9.0.7:${sp} -> 10.9.1.5:443 iif vb ${HOST}`),
    // A reply on a connection marked 0x220: 0x200.
    mk({ from: 'A', iif: 'vb', src: '10.9.0.1', dst: '10.9.1.5', proto: 'tcp', dport: 5555, flags: ['ACK'] },
      (sp) => `tcp 10.9.0.1:${sp} -> 10.9.1.5:5555 iif vb ct established reply ctmark 0x220 ${HOST}`,
      (sp) => ({ proto: 'tcp', src: '10.9.1.5', dst: '10.9.0.1', sport: 5555, dport: sp, mark: 0x220 })),
    // A connection marked 0x210 seen from outside the pod veth: 0x40.
    mk({ from: 'A', iif: 'wb', src: '10.9.2.1', dst: '10.9.1.5', proto: 'udp', dport: 7000 },
      (sp) => `udp 10.9.2.1:${sp} -> 10.9.1.5:7000 iif wb ct established ctmark 0x210 ${HOST}`,
      (sp) => ({ proto: 'udp', src: '10.9.2.1', dst: '10.9.1.5', sport: sp, dport: 7000, mark: 0x210 })),
    // Sent by this host (ztunnel-OUTPUT sets 0x220 for the node address).
    mk({ from: 'B', src: '10.9.0.2', dst: '10.9.0.1', proto: 'udp', dport: 53 }, (sp) => `udp 10.9.0.2:${sp} -> 10.9.0.1:53 local ${HOST}`),
  ];
}

/** `iptables -S` listings (one per `# iptables -S -t TABLE` comment) as iptables-restore input. */
function sToRestore(text: string): string {
  const out: string[] = [];
  let open = false;
  for (const line of text.split('\n')) {
    const t = /^# iptables -S -t (\w+)/.exec(line);
    if (t) { if (open) out.push('COMMIT'); out.push(`*${t[1]}`); open = true; continue; }
    if (line.startsWith('-P ')) { const [, c, pol] = line.split(' '); out.push(`:${c} ${pol} [0:0]`); }
    else if (line.startsWith('-N ')) out.push(`:${line.slice(3)} - [0:0]`);
    else if (line.startsWith('-A ')) out.push(line);
  }
  if (open) out.push('COMMIT');
  return out.join('\n') + '\n';
}

let sockPort = 50000;

function sidecarPackets(): GenPacket[] {
  const out: GenPacket[] = [];
  const local = (proto: 'tcp' | 'udp', dst: string, dport: number, uid: number) => {
    const sport = ++sockPort;
    out.push({
      send: { from: 'B', owner: { uid, gid: uid }, src: '10.9.0.2', dst, proto, sport, dport, ipid: 0 },
      line: `${proto} 10.9.0.2:${sport} -> ${dst}:${dport} local uid ${uid} gid ${uid} ${HOST}`,
    });
  };
  local('tcp', '10.9.0.1', 80, 1337); // envoy itself: RETURN
  local('tcp', '10.9.0.1', 80, 1000); // the app: REDIRECT to 15001, back in through lo
  local('udp', '10.9.0.1', 53, 1337); // envoy's DNS: CT zone 1
  local('udp', '10.9.0.1', 53, 1000); // the app's DNS: CT zone 2, REDIRECT 15053
  local('tcp', '127.0.0.1', 8080, 1000); // loopback, not uid 1337: RETURN
  for (const dport of [8080, 22]) {
    const sport = nextPort();
    out.push({ send: { from: 'A', iif: 'vb', src: '10.9.0.1', dst: '10.9.0.2', proto: 'tcp', sport, dport, flags: ['SYN'], ipid: nextIpId() }, line: `tcp 10.9.0.1:${sport} -> 10.9.0.2:${dport} iif vb ${HOST}` });
  }
  out.push({ send: { from: 'A', iif: 'vb', src: '10.9.0.1', dst: '10.9.0.2', proto: 'udp', sport: 53, dport: 40000 + (nextPort() % 1000), ipid: nextIpId() }, line: '' });
  const last = out[out.length - 1];
  last.line = `udp 10.9.0.1:53 -> 10.9.0.2:${last.send.dport} iif vb ${HOST}`;
  return out;
}

test('kernel agreement: the sidecar seed (iptables -S, owner uid/gid, CT zones, REDIRECT)', { skip: avail.ok ? false : `kernel tests skipped: ${avail.reason}` }, async () => {
  const rig = new KernelRig();
  const tally: Tally = { rulesets: 0, refused: 0, packets: 0, agree: 0, disagree: 0, unknownSteps: 0, steps: 0 };
  const failures: string[] = [];
  const sFile = readFileSync(join(root, 'examples/istio-sidecar.iptables'), 'utf8');
  try {
    // The kernel loads the restore form; the simulator walks the -S file itself (runCase parses `text`).
    await runCase(rig, 'sidecar seed', sFile, sidecarPackets(), tally, failures, 'iptables', sToRestore(sFile));
    console.log(`sim kernel agreement (sidecar): ${tally.agree}/${tally.packets} packets agree, ${tally.unknownSteps} unknown steps`);
  } finally {
    rig.close();
  }
  if (failures.length) console.log(failures.join('\n\n'));
  assert.equal(failures.length, 0);
  assert.equal(tally.unknownSteps, 0);
  assert.equal(tally.packets, 8);
});

test('kernel agreement: the ztunnel seed rules and generated rulesets', { skip: avail.ok ? false : `kernel tests skipped: ${avail.reason}` }, async () => {
  const rig = new KernelRig();
  const tally: Tally = { rulesets: 0, refused: 0, packets: 0, agree: 0, disagree: 0, unknownSteps: 0, steps: 0 };
  const failures: string[] = [];
  const t0 = Date.now();
  try {
    await runCase(rig, 'ztunnel seed', ztunnelForRig(), ztPackets(), tally, failures);
    const zt = { ...tally };
    const n = Number(process.env.NFLENS_SIM_RULESETS ?? 700);
    const base = Number(process.env.NFLENS_SIM_SEED ?? 1);
    for (let i = 0; i < n; i++) {
      const g = generate(base + i, nextIpId, nextPort);
      await runCase(rig, `generated seed ${g.seed}`, g.text, g.packets, tally, failures);
      if (failures.length > 20) break;
    }
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    console.log(`sim kernel agreement: ztunnel ${zt.agree}/${zt.packets} packets; all: ${tally.rulesets} rulesets loaded (${tally.refused} refused), ` +
      `${tally.packets} packets, ${tally.agree} agree, ${tally.disagree} disagree, ${tally.steps} simulator steps, ${tally.unknownSteps} unknown steps, ` +
      `${rig.timeouts} trace waits timed out, ${secs} s`);
  } finally {
    rig.close();
  }
  if (failures.length) console.log(failures.slice(0, 10).join('\n\n'));
  assert.equal(failures.length, 0, `${failures.length} disagreement(s) or refused rulesets; first ones printed above`);
  assert.equal(tally.unknownSteps, 0, 'generated rulesets hold only decidable matches');
  assert.ok(tally.packets >= 9, 'packets were compared');
});

/** The multi-wan seed with this rig's names: wan1 is vb (in), wan2 is d0 (the forwarding uplink). */
function multiWanForRig(): string {
  return readFileSync(join(root, 'examples/multi-wan.nft'), 'utf8').replaceAll('"wan1"', '"vb"').replaceAll('"wan2"', '"d0"')
    // nft 1.0.6 here wants the counters without values and a newline before "}".
    .replace(/counter packets \d+ bytes \d+/g, 'counter');
}

function multiWanPackets(): GenPacket[] {
  const out: GenPacket[] = [];
  const add = (send: Omit<SendSpec, 'ipid' | 'sport'>, line: (sp: number) => string, ct?: (sp: number) => GenPacket['ct']) => {
    const sport = nextPort();
    out.push({ send: { ...send, sport, ipid: nextIpId() } as SendSpec, line: line(sport), ct: ct?.(sport) });
  };
  // A new connection forwarded out of wan2 (d0): ct mark 3 in postrouting.
  add({ from: 'A', iif: 'vb', src: '10.9.0.1', dst: '10.9.1.5', proto: 'tcp', dport: 443, flags: ['SYN'] }, (sp) => `tcp 10.9.0.1:${sp} -> 10.9.1.5:443 iif vb ${HOST}`);
  // Then an established packet on a connection marked 3: prerouting restores mark 3.
  add({ from: 'A', iif: 'vb', src: '10.9.0.1', dst: '10.9.1.5', proto: 'tcp', dport: 443, flags: ['ACK'] },
    (sp) => `tcp 10.9.0.1:${sp} -> 10.9.1.5:443 iif vb ct established reply ctmark 0x3 ${HOST}`,
    (sp) => ({ proto: 'tcp', src: '10.9.1.5', dst: '10.9.0.1', sport: 443, dport: sp, mark: 3 }));
  // A new connection to this host from wan1 (vb): ct mark 2 in input.
  add({ from: 'A', iif: 'vb', src: '10.9.0.1', dst: '10.9.0.2', proto: 'udp', dport: 53 }, (sp) => `udp 10.9.0.1:${sp} -> 10.9.0.2:53 iif vb ${HOST}`);
  // Sent by this host on an established connection: output restores the mark.
  add({ from: 'B', src: '10.9.0.2', dst: '10.9.0.1', proto: 'udp', dport: 5000 },
    (sp) => `udp 10.9.0.2:${sp} -> 10.9.0.1:5000 local ct established ctmark 0x2 ${HOST}`,
    (sp) => ({ proto: 'udp', src: '10.9.0.2', dst: '10.9.0.1', sport: sp, dport: 5000, mark: 2 }));
  return out;
}

test('kernel agreement: the multi-wan seed and generated nftables rulesets', { skip: avail.ok ? false : `kernel tests skipped: ${avail.reason}` }, async () => {
  const rig = new KernelRig();
  const tally: Tally = { rulesets: 0, refused: 0, packets: 0, agree: 0, disagree: 0, unknownSteps: 0, steps: 0 };
  const failures: string[] = [];
  const t0 = Date.now();
  try {
    await runCase(rig, 'multi-wan seed', multiWanForRig(), multiWanPackets(), tally, failures, 'nft');
    const mw = { ...tally };
    const n = Number(process.env.NFLENS_SIM_NFT_RULESETS ?? 300);
    const base = Number(process.env.NFLENS_SIM_SEED ?? 1);
    for (let i = 0; i < n; i++) {
      const g = generateNft(base + i, nextIpId, nextPort);
      await runCase(rig, `generated nft seed ${g.seed}`, g.text, g.packets, tally, failures, 'nft');
      if (failures.length > 20) break;
    }
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    console.log(`sim kernel agreement (nft): multi-wan ${mw.agree}/${mw.packets} packets; all: ${tally.rulesets} rulesets loaded (${tally.refused} refused), ` +
      `${tally.packets} packets, ${tally.agree} agree, ${tally.disagree} disagree, ${tally.steps} simulator steps, ${tally.unknownSteps} unknown steps, ` +
      `${rig.timeouts} trace waits timed out, ${secs} s`);
  } finally {
    rig.close();
  }
  if (failures.length) console.log(failures.slice(0, 10).join('\n\n'));
  assert.equal(failures.length, 0, `${failures.length} disagreement(s) or refused rulesets; first ones printed above`);
  assert.equal(tally.unknownSteps, 0, 'generated rulesets hold only decidable matches');
  assert.ok(tally.packets >= 4, 'packets were compared');
});
