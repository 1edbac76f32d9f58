// The editor side of issue 6 on the seed 000 node: finding the profile of a ruleset, hover on a mark
// (where it sends the packet), MARK ↔ ip rule navigation, routing diagnostics per file, and a broken
// profile that yields diagnostics instead of exceptions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync, mkdirSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { findProfileForDocument, overlayFs, ProfileCache, standaloneContext, type ProfileFs } from '../../server/src/ide/routing-profile';
import { detectRoutingFileKind, routingDocumentSymbols, routingParseDiagnostics } from '../../server/src/ide/routing-symbols';
import { routingDefinition, routingDiagnostics, routingHover } from '../../server/src/ide/routing-ide';

const repo = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const rulesPath = join(repo, 'examples/ztunnel-ambient.rules');
const nodeDir = join(repo, 'examples/seed000-node');
const read = (p: string) => readFileSync(p, 'utf8');
const uri = (p: string) => pathToFileURL(p).href;

function col(text: string, line: number, needle: string): number {
  const c = text.split('\n')[line].indexOf(needle);
  assert.ok(c >= 0, `"${needle}" on line ${line}`);
  return c;
}
function lineOf(text: string, re: RegExp): number {
  const l = text.split('\n').findIndex((x) => re.test(x));
  assert.ok(l >= 0, String(re));
  return l;
}

test('the ruleset finds its profile in a subfolder (it names the ruleset), cached until a file changes', () => {
  const cache = new ProfileCache();
  const text = read(rulesPath);
  const a = findProfileForDocument(uri(rulesPath), text, read, cache);
  assert.deepEqual(a.diagnostics, []);
  assert.ok(a.context);
  assert.equal(a.context.via, 'folder');
  assert.equal(a.context.role, 'ruleset');
  assert.equal(a.context.profilePath, join(nodeDir, 'node.nflens-node'));
  assert.equal(cache.loads, 1);
  const b = findProfileForDocument(rulesPath, text, read, cache);
  assert.equal(b.context?.profile, a.context.profile, 'second lookup served from the cache');
  assert.equal(cache.loads, 1);
  // The ip rule file is recognised as part of the same profile.
  const ipr = join(nodeDir, 'ip-rule.txt');
  const c = findProfileForDocument(uri(ipr), read(ipr), read, cache);
  assert.equal(c.context?.role, 'ip-rule');
  assert.equal(c.context?.source?.path, ipr);
});

test('hover on --set-xmark 0x100/0x100 says ip rule 101, table 101 and istioout', () => {
  const text = read(rulesPath);
  const ctx = findProfileForDocument(uri(rulesPath), text, read, new ProfileCache()).context!;
  const line = lineOf(text, /--set-xmark 0x100\/0x100/);
  const h = routingHover(ctx, { uri: uri(rulesPath), text }, line, col(text, line, '0x100/0x100') + 2);
  assert.ok(h);
  assert.match(h.markdown, /bit 0x100 → ip rule 101 → table 101 → default via 192\.168\.127\.2 dev istioout/);
  assert.match(h.markdown, /ip rule 100 may match first/);
  assert.match(h.markdown, new RegExp(`\\[ip rule 101\\]\\(${uri(join(nodeDir, 'ip-rule.txt')).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}#L3\\)`));
  assert.equal(h.range.start.line, line);
  // 0x40 goes to table 102, 0x200 skips to main, and a mark test reads the same way.
  const l40 = lineOf(text, /--set-xmark 0x40\/0x40/);
  assert.match(routingHover(ctx, { uri: uri(rulesPath), text }, l40, col(text, l40, '0x40/0x40'))!.markdown, /bit 0x40 → ip rule 102 → table 102 → default via 10\.244\.0\.3 dev vethfe50c7fb onlink/);
  const l200 = lineOf(text, /-i istioin -j MARK --set-xmark 0x200\/0x200/);
  assert.match(routingHover(ctx, { uri: uri(rulesPath), text }, l200, col(text, l200, 'MARK') + 1)!.markdown, /bit 0x200 → ip rule 100 goto 32766 → ip rule 32766 → table main/);
  const lt = lineOf(text, /^-A ztunnel-POSTROUTING -m mark --mark 0x100\/0x100/);
  assert.match(routingHover(ctx, { uri: uri(rulesPath), text }, lt, col(text, lt, '0x100'))!.markdown, /passes .*carries mark bits 0x100\/0x100[\s\S]*table 101/);
  // Not on a mark: nothing from routing.
  assert.equal(routingHover(ctx, { uri: uri(rulesPath), text }, line, 1), undefined);
});

test('definition: MARK → line 101: of ip-rule.txt, and rule 101 fwmark → the MARK rule', () => {
  const text = read(rulesPath);
  const ctx = findProfileForDocument(uri(rulesPath), text, read, new ProfileCache()).context!;
  const line = lineOf(text, /--set-xmark 0x100\/0x100/);
  const defs = routingDefinition(ctx, { uri: uri(rulesPath), text }, line, col(text, line, '--set-xmark'));
  const iprPath = join(nodeDir, 'ip-rule.txt');
  const ipr = read(iprPath);
  assert.deepEqual(defs.map((d) => [d.uri, ipr.split('\n')[d.range.start.line].split('\t')[0]]), [[uri(iprPath), '101:']]);

  // And back, from the ip rule file's point of view.
  const ctx2 = findProfileForDocument(uri(iprPath), ipr, read, new ProfileCache()).context!;
  const l101 = lineOf(ipr, /^101:/);
  const back = routingDefinition(ctx2, { uri: uri(iprPath), text: ipr }, l101, col(ipr, l101, '0x100/0x100'));
  assert.deepEqual(back.map((d) => [d.uri, d.range.start.line]), [[uri(rulesPath), line]]);
  // Rule 100 (fwmark 0x200/0x200) is set by the seven writes that set bit 0x200.
  const l100 = lineOf(ipr, /^100:/);
  const b100 = routingDefinition(ctx2, { uri: uri(iprPath), text: ipr }, l100, 5);
  assert.equal(b100.length, 7);
  for (const d of b100) {
    const m = /--set-xmark (0x[0-9a-f]+)\//.exec(text.split('\n')[d.range.start.line]);
    assert.ok(m && (parseInt(m[1], 16) & 0x200), `line ${d.range.start.line} sets bit 0x200`);
  }
  // lookup 101 → the routes of table 101; goto 32766 → rule 32766.
  const t101 = routingDefinition(ctx2, { uri: uri(iprPath), text: ipr }, l101, ipr.split('\n')[l101].length - 1);
  assert.deepEqual(t101.map((d) => d.uri), [uri(join(nodeDir, 'ip-route-101.txt')), uri(join(nodeDir, 'ip-route-101.txt'))]);
  const g = routingDefinition(ctx2, { uri: uri(iprPath), text: ipr }, l100, ipr.split('\n')[l100].length - 2);
  assert.deepEqual(g.map((d) => [d.uri, d.range.start.line]), [[uri(iprPath), lineOf(ipr, /^32766:/)]]);
});

test('hover in ip-rule.txt and a route file', () => {
  const iprPath = join(nodeDir, 'ip-rule.txt');
  const ipr = read(iprPath);
  const ctx = findProfileForDocument(uri(iprPath), ipr, read, new ProfileCache()).context!;
  const h = routingHover(ctx, { uri: uri(iprPath), text: ipr }, lineOf(ipr, /^101:/), 3)!;
  assert.match(h.markdown, /ip rule 101: packets with mark bits 0x100 set/);
  assert.match(h.markdown, /default via 192\.168\.127\.2 dev istioout/);
  assert.match(h.markdown, /set by 1 rule of the ruleset[\s\S]*--set-xmark 0x100\/0x100/);
  const rp = join(nodeDir, 'ip-route-101.txt');
  const rt = read(rp);
  const ctxR = findProfileForDocument(uri(rp), rt, read, new ProfileCache()).context!;
  const hr = routingHover(ctxR, { uri: uri(rp), text: rt }, lineOf(rt, /^default/), 2)!;
  assert.match(hr.markdown, /table 101/);
  assert.match(hr.markdown, /ip rule 101\]\([^)]*ip-rule\.txt#L3\)/);
  assert.match(hr.markdown, /needs `0x100\/0x100`: set at \[line 37\]/);
});

function scratchNode(): string {
  const dir = mkdtempSync(join(tmpdir(), 'nflh-routing-ide-'));
  cpSync(nodeDir, join(dir, 'node'), { recursive: true });
  cpSync(rulesPath, join(dir, 'ztunnel-ambient.rules'));
  return dir;
}

test('diagnostics: lookup of an empty table and a fwmark no rule sets, in ip-rule.txt', () => {
  const dir = scratchNode();
  try {
    const iprPath = join(dir, 'node/ip-rule.txt');
    writeFileSync(iprPath, read(iprPath).replace('103:', '104:\tfrom all fwmark 0x1000/0x1000 lookup 104\n105:\tfrom all lookup 105\n103:'));
    const ctx = findProfileForDocument(join(dir, 'ztunnel-ambient.rules'), read(join(dir, 'ztunnel-ambient.rules')), read, new ProfileCache()).context!;
    const all = routingDiagnostics(ctx);
    const ipr = all.find((f) => f.path === iprPath)!;
    assert.ok(ipr, 'an entry for ip-rule.txt');
    const text = read(iprPath);
    assert.deepEqual(ipr.diagnostics.map((d) => [d.code, d.range.start.line, text.split('\n')[d.range.start.line].slice(d.range.start.character, d.range.end.character)]).sort(), [
      ['fwmark-never-set', lineOf(text, /^104:/), '0x1000/0x1000'],
      ['lookup-empty-table', lineOf(text, /^104:/), '104'],
      ['lookup-empty-table', lineOf(text, /^105:/), '105'],
    ]);
    // Every file of the profile gets an entry (clean ones empty), the ruleset none.
    assert.deepEqual(all.map((f) => f.path!.slice(dir.length + 1)).sort(), ['node/ip-addr.txt', 'node/ip-route-100.txt', 'node/ip-route-101.txt', 'node/ip-route-102.txt', 'node/ip-route-main.txt', 'node/ip-rule.txt', 'node/ipset.save', 'node/node.nflens-node']);
    assert.ok(all.filter((f) => f.path !== iprPath).every((f) => f.diagnostics.length === 0));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the stock seed 000 node has no routing findings', () => {
  const text = read(rulesPath);
  const ctx = findProfileForDocument(uri(rulesPath), text, read, new ProfileCache()).context!;
  assert.deepEqual(routingDiagnostics(ctx).flatMap((f) => f.diagnostics), []);
});

test('an edited ip-rule.txt is reloaded (stamp changes); unchanged files are not', () => {
  const dir = scratchNode();
  try {
    const cache = new ProfileCache();
    const rs = join(dir, 'ztunnel-ambient.rules');
    const first = findProfileForDocument(rs, read(rs), read, cache).context!;
    assert.equal(findProfileForDocument(rs, read(rs), read, cache).context!.profile, first.profile);
    const iprPath = join(dir, 'node/ip-rule.txt');
    writeFileSync(iprPath, read(iprPath).replace('lookup 101', 'lookup 102'));
    utimesSync(iprPath, new Date(), new Date(Date.now() + 5000));
    const second = findProfileForDocument(rs, read(rs), read, cache).context!;
    assert.notEqual(second.profile, first.profile);
    assert.equal(cache.loads, 2);
    const text = read(rs);
    const line = lineOf(text, /--set-xmark 0x100\/0x100/);
    assert.match(routingHover(second, { uri: uri(rs), text }, line, col(text, line, '0x100'))!.markdown, /bit 0x100 → ip rule 101 → table 102/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a broken or missing profile gives a diagnostic on the comment, not an exception', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nflh-routing-ide-'));
  try {
    const body = read(rulesPath);
    // Missing profile.
    const missing = `# nflens-node: nowhere/node.nflens-node\n${body}`;
    const m = findProfileForDocument(join(dir, 'a.rules'), missing, read, new ProfileCache());
    assert.equal(m.context, undefined);
    assert.deepEqual(m.diagnostics.map((d) => [d.code, d.range.start.line, d.range.start.character, d.range.end.character]), [['node-profile-not-found', 0, 15, 15 + 'nowhere/node.nflens-node'.length]]);
    // A profile with an unknown directive, a missing file and garbage.
    writeFileSync(join(dir, 'bad.nflens-node'), 'node x\nfrobnicate 1\nip-rule does-not-exist.txt\nip-route table nosuch r.txt\nip-rule <<EOF\n1: from all lookup\n\u0000\x7f junk "unterminated\n');
    writeFileSync(join(dir, 'r.txt'), 'default via 1.2.3.4 dev eth0\n');
    const text = `# nflens-node: bad.nflens-node\n${body}`;
    const b = findProfileForDocument(join(dir, 'a.rules'), text, read, new ProfileCache());
    assert.equal(b.diagnostics.length, 1);
    assert.equal(b.diagnostics[0].code, 'node-profile-problems');
    assert.equal(b.diagnostics[0].range.start.line, 0);
    assert.ok(b.context, 'what could be read is still usable');
    const line = lineOf(text, /--set-xmark 0x100\/0x100/);
    const h = routingHover(b.context, { uri: uri(join(dir, 'a.rules')), text }, line, col(text, line, '0x100'));
    assert.match(h!.markdown, /bit 0x100 → no ip rule decides on these bits alone|bit 0x100 → ip rule/);
    const codes = routingDiagnostics(b.context).find((f) => f.path === join(dir, 'bad.nflens-node'))!.diagnostics.map((d) => d.code);
    for (const c of ['unknown-directive', 'file-not-found', 'unknown-table', 'unterminated-inline']) assert.ok(codes.includes(c), `${c} in ${codes}`);
    // The profile document itself, opened in the editor with unsaved garbage.
    const self = findProfileForDocument(join(dir, 'bad.nflens-node'), '\u0000<<<\nip-rule <<A\n', read, new ProfileCache());
    assert.equal(self.context?.role, 'profile');
    assert.ok(routingDiagnostics(self.context!)[0].diagnostics.length > 0);
    // A file system that throws.
    const throwing: ProfileFs = { readFile: () => { throw new Error('EIO'); }, stamp: () => { throw new Error('EIO'); }, listDir: () => { throw new Error('EIO'); } };
    const t = findProfileForDocument(join(dir, 'a.rules'), text, throwing, new ProfileCache());
    assert.equal(t.diagnostics[0]?.code, 'node-profile-not-found');
    assert.deepEqual(findProfileForDocument(join(dir, 'a.rules'), body, throwing, new ProfileCache()), { diagnostics: [] });
    // Untitled documents: only an absolute comment path can work.
    assert.equal(findProfileForDocument('untitled:Untitled-1', text, read, new ProfileCache()).diagnostics[0]?.code, 'node-profile-not-found');
    void mkdirSync;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an open document overlays the disk: an unsaved ip-rule edit changes the hover', () => {
  const cache = new ProfileCache();
  const iprPath = join(nodeDir, 'ip-rule.txt');
  let version = 1;
  let edited = read(iprPath);
  const fs = overlayFs((p) => (p === iprPath ? { text: edited, version } : undefined));
  const text = read(rulesPath);
  const line = lineOf(text, /--set-xmark 0x100\/0x100/);
  const hov = () => routingHover(findProfileForDocument(rulesPath, text, fs, cache).context!, { uri: uri(rulesPath), text }, line, col(text, line, '0x100'))!.markdown;
  assert.match(hov(), /ip rule 101 → table 101/);
  edited = edited.replace('101:\tfrom all fwmark 0x100/0x100 lookup 101', '101:\tfrom all fwmark 0x100/0x100 lookup 102');
  version = 2;
  assert.match(hov(), /ip rule 101 → table 102/);
  assert.equal(cache.loads, 2);
});

test('routing files: kind detection, outlines and standalone parser diagnostics', () => {
  const f = (n: string) => join(nodeDir, n);
  assert.equal(detectRoutingFileKind(read(f('ip-rule.txt'))), 'ip-rule');
  assert.equal(detectRoutingFileKind(read(f('ip-route-101.txt'))), 'ip-route');
  assert.equal(detectRoutingFileKind(read(f('ip-addr.txt'))), 'ip-addr');
  assert.equal(detectRoutingFileKind('eth0             UP             10.0.0.1/24\n'), 'ip-addr');
  assert.equal(detectRoutingFileKind(read(f('ipset.save'))), 'ipset');
  assert.equal(detectRoutingFileKind('#\n255\tlocal\n254\tmain\n'), 'rt-tables');
  assert.equal(detectRoutingFileKind('', f('node.nflens-node')), 'profile');
  assert.equal(detectRoutingFileKind('default via 1.2.3.4 dev eth0', '/etc/iproute2/rt_tables'), 'rt-tables');

  const rules = routingDocumentSymbols('ip-rule', read(f('ip-rule.txt')));
  assert.deepEqual(rules.map((s) => `${s.name} ${s.detail}`), ['0 from all lookup local', '100 from all fwmark 0x200/0x200 goto 32766', '101 from all fwmark 0x100/0x100 lookup 101', '102 from all fwmark 0x40/0x40 lookup 102', '103 from all lookup 100', '32766 from all lookup main', '32767 from all lookup default']);
  assert.deepEqual(rules.map((s) => s.range.start.line), [0, 1, 2, 3, 4, 5, 6]);
  const routes = routingDocumentSymbols('ip-route', read(f('ip-route-100.txt')), { table: 100 });
  assert.deepEqual(routes.map((s) => [s.name, s.children.length]), [['table 100', 3]]);
  assert.equal(routes[0].children[1].name, '10.244.0.7 via 192.168.126.2 dev istioin src 10.244.0.1');
  const addrs = routingDocumentSymbols('ip-addr', read(f('ip-addr.txt')));
  assert.deepEqual(addrs.map((s) => `${s.name}:${s.children.map((c) => c.name).join(',')}`), ['lo:inet 127.0.0.1/8', 'eth0:inet 172.18.0.2/16', 'vethfe50c7fb:inet 10.244.0.1/32', 'istioin:inet 192.168.126.1/30', 'istioout:inet 192.168.127.1/30', 'veth7c2e91ab:inet 10.244.0.1/32', 'veth3d8a05e2:inet 10.244.0.1/32']);
  assert.deepEqual(routingDocumentSymbols('ipset', read(f('ipset.save'))).map((s) => [s.name, s.detail]), [['ztunnel-pods-ips', 'hash:ip, 2 members']]);
  const prof = routingDocumentSymbols('profile', read(f('node.nflens-node')), { path: f('node.nflens-node') });
  assert.deepEqual(prof.map((s) => s.name), ['ruleset ztunnel-ambient.rules', 'ip-rule ip-rule.txt', 'ip-route ip-route-main.txt', 'ip-route ip-route-100.txt', 'ip-route ip-route-101.txt', 'ip-route ip-route-102.txt', 'ip-addr ip-addr.txt', 'ipset ipset.save']);
  // Inline text in a profile: its rules are children of the directive, at their lines in the profile.
  const inline = 'node lab\nip-rule <<END\n0:\tfrom all lookup local\n100:\tfrom all fwmark 0x2 lookup main\nEND\n';
  const ps = routingDocumentSymbols('profile', inline, { path: '/nowhere/lab.nflens-node' });
  assert.deepEqual(ps.map((s) => [s.name, s.children.map((c) => `${c.name}@${c.range.start.line}`)]), [['ip-rule inline', ['0@2', '100@3']]]);
  assert.equal(ps[0].range.end.line, 4); // up to the END line

  // Diagnostics of a file on its own, at the bad word.
  const bad = routingParseDiagnostics('ip-rule', '100:\tfrom all fwmark zzz lookup 101\n');
  assert.ok(bad.length >= 1);
  assert.equal(bad[0].range.start.line, 0);
  assert.deepEqual(routingParseDiagnostics('ip-rule', read(f('ip-rule.txt'))), []);
  assert.deepEqual(routingParseDiagnostics('ipset', read(f('ipset.save'))), []);
  assert.ok(routingParseDiagnostics('ipset', 'add nosuch 1.2.3.4\n').some((d) => d.code === 'undefined-set'));
  assert.ok(routingParseDiagnostics('profile', 'ip-rule missing.txt\n', { path: '/nowhere/x.nflens-node', readFile: () => undefined }).some((d) => d.code === 'file-not-found'));
  // Garbage never throws.
  for (const k of ['ip-rule', 'ip-route', 'ip-addr', 'rt-tables', 'ipset', 'profile'] as const) {
    routingDocumentSymbols(k, '\u0000 "x\n<<\n0x:: / @@\n');
    routingParseDiagnostics(k, '\u0000 "x\n<<\n0x:: / @@\n');
  }
});

test('nft ruleset with a `# nflens-node:` comment and a profile of inline text', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nflh-routing-ide-'));
  try {
    const prof = join(dir, 'lab.nflens-node');
    const profText = [
      'node lab-router', 'ruleset fw.nft', 'rt-tables <<END', '250 wan2', 'END',
      'ip-rule <<END', '0:\tfrom all lookup local', '100:\tfrom all fwmark 0x2 lookup wan2', '32766:\tfrom all lookup main', '32767:\tfrom all lookup default', 'END',
      'ip-route table wan2 <<END', 'default via 192.168.2.1 dev wan2', 'END',
      'ip-route table main <<END', 'default via 192.168.1.1 dev wan1', '192.168.1.0/24 dev wan1 proto kernel scope link src 192.168.1.10', '192.168.2.0/24 dev wan2 proto kernel scope link src 192.168.2.10', 'END',
      'ip-addr <<END', 'wan1 UP 192.168.1.10/24', 'wan2 UP 192.168.2.10/24', 'END', '',
    ].join('\n');
    writeFileSync(prof, profText);
    const nft = join(dir, 'fw.nft');
    const text = [`# nflens-node: ${prof}`, 'table inet mangle {', '  chain pre {', '    type filter hook prerouting priority mangle; policy accept;', '    iifname "lan0" ct mark 0x2 meta mark set 0x2', '  }', '}', ''].join('\n');
    writeFileSync(nft, text);
    const look = findProfileForDocument(uri(nft), text, read, new ProfileCache());
    assert.deepEqual(look.diagnostics, []);
    const ctx = look.context!;
    assert.equal(ctx.via, 'comment');
    assert.equal(ctx.role, 'ruleset');
    const line = 4;
    const h = routingHover(ctx, { uri: uri(nft), text }, line, col(text, line, 'set 0x2') + 5);
    assert.ok(h, 'hover on meta mark set');
    assert.match(h.markdown, /mark 0x2 → ip rule 100 → table wan2 → default via 192\.168\.2\.1 dev wan2/);
    // Definition goes to the inline rule, in the profile; from there back to the nft statement.
    const defs = routingDefinition(ctx, { uri: uri(nft), text }, line, col(text, line, 'meta mark set') + 2);
    assert.deepEqual(defs.map((d) => [d.uri, d.range.start.line]), [[uri(prof), 7]]);
    const pctx = findProfileForDocument(uri(prof), profText, read, new ProfileCache()).context!;
    assert.equal(pctx.role, 'profile');
    const back = routingDefinition(pctx, { uri: uri(prof), text: profText }, 7, 20);
    assert.deepEqual(back.map((d) => [d.uri, d.range.start.line]), [[uri(nft), line]]);
    // Hover on the inline route says which rule looks up its table.
    assert.match(routingHover(pctx, { uri: uri(prof), text: profText }, 12, 3)!.markdown, /Looked up by:\n- \[ip rule 100\]/);
    // The profile's diagnostics are clean; a lookup of a table without routes shows in the profile itself.
    assert.deepEqual(routingDiagnostics(pctx).flatMap((f) => f.diagnostics), []);
    const broken = profText.replace('lookup wan2', 'lookup 77');
    const bctx = findProfileForDocument(uri(prof), broken, read, new ProfileCache()).context!;
    assert.deepEqual(routingDiagnostics(bctx).map((f) => [f.uri, f.diagnostics.map((d) => `${d.code}@${d.range.start.line}`)]), [[uri(prof), ['lookup-empty-table@7']]]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a routing file with no profile stands alone; profile directives hover with what they loaded', () => {
  const text = '0:\tfrom all lookup local\n100:\tfrom all fwmark 0x2 goto 300\n200:\tfrom all fwmark 0x4 goto 32766\n32766:\tfrom all lookup main\n';
  const ctx = standaloneContext('untitled:rules-1', text, 'ip-rule');
  const d = routingDiagnostics(ctx);
  assert.deepEqual(d.map((f) => [f.uri, f.diagnostics.map((x) => `${x.code}@${x.range.start.line}:${x.range.start.character}`)]), [['untitled:rules-1', [`goto-missing-priority@1:${col(text, 1, '300')}`]]]);
  const g = routingDefinition(ctx, { uri: 'untitled:rules-1', text }, 2, 30);
  assert.deepEqual(g.map((l) => [l.uri, l.range.start.line]), [['untitled:rules-1', 3]]);
  assert.match(routingHover(ctx, { uri: 'untitled:rules-1', text }, 1, 2)!.markdown, /goto 300: no rule has that priority/);
  // Parser problems of a standalone file are reported too (untitled: through its own uri).
  const bad = standaloneContext('untitled:rules-2', '100:\tfrom all frobnicate 1 lookup main\n', 'ip-rule');
  assert.ok(routingDiagnostics(bad).flatMap((f) => f.diagnostics).some((x) => x.range.start.line === 0 && x.code === 'unknown-keyword'));
  const onDisk = standaloneContext('/nowhere/ip-rule.txt', '100:\tfrom all frobnicate 1 lookup main\n', 'ip-rule');
  assert.deepEqual(routingDiagnostics(onDisk).filter((f) => f.diagnostics.length).map((f) => f.uri), ['file:///nowhere/ip-rule.txt']);
  // Directive hover in the seed profile.
  const pp = join(nodeDir, 'node.nflens-node');
  const pt = read(pp);
  const pctx = findProfileForDocument(uri(pp), pt, read, new ProfileCache()).context!;
  assert.match(routingHover(pctx, { uri: uri(pp), text: pt }, lineOf(pt, /^ip-rule /), 2)!.markdown, /\*\*ip-rule\*\* \[ip-rule\.txt\]\([^)]*\): 7 ip rules\./);
  assert.match(routingHover(pctx, { uri: uri(pp), text: pt }, lineOf(pt, /^ip-route table 101/), 2)!.markdown, /2 routes of table 101/);
  assert.match(routingHover(pctx, { uri: uri(pp), text: pt }, lineOf(pt, /^ruleset/), 2)!.markdown, /9 mark writes/);
  const def = routingDefinition(pctx, { uri: uri(pp), text: pt }, lineOf(pt, /^ipset /), 8);
  assert.deepEqual(def.map((l) => l.uri), [uri(join(nodeDir, 'ipset.save'))]);
});

test('the profile document itself is cached by its text and the files it reads', () => {
  const cache = new ProfileCache();
  const pp = join(nodeDir, 'node.nflens-node');
  const pt = read(pp);
  const a = findProfileForDocument(uri(pp), pt, read, cache).context!;
  assert.equal(findProfileForDocument(uri(pp), pt, read, cache).context!.profile, a.profile);
  assert.equal(cache.loads, 1);
  const edited = findProfileForDocument(uri(pp), pt.replace('forwarding on', 'forwarding off'), read, cache).context!;
  assert.equal(cache.loads, 2);
  assert.equal(edited.profile.routing.forwarding, false);
});
