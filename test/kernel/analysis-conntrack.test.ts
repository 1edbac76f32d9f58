// Conntrack tests before conntrack (raw table, nft chains below priority -200 at prerouting): what we
// say each test does there ("never matches" / "matches every packet") is checked with packet counters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkText } from '../../server/src/check';
import { kernelAvailable, vethPair } from '../support/netns';

const RAW = `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p udp -m conntrack --ctstate NEW
-A PREROUTING -p udp -m state --state INVALID
-A PREROUTING -p udp -m conntrack --ctstate UNTRACKED
-A PREROUTING -p udp -m conntrack ! --ctstate NEW
-A PREROUTING -p udp -m connmark --mark 0x0/0x0
-A PREROUTING -p udp -m connmark ! --mark 0x1/0x1
-A PREROUTING -p udp -m conntrack --ctstate ESTABLISHED,INVALID
COMMIT
`;

const NFT = `table ip nflf {
	chain early {
		type filter hook prerouting priority raw; policy accept;
		meta l4proto udp ct state new counter
		meta l4proto udp ct state invalid counter
		meta l4proto udp ct state != new counter
		meta l4proto udp ct mark 0 counter
	}
}
`;

const skip = kernelAvailable().ok ? undefined : `kernel tests need root: ${kernelAvailable().reason}`;

test('before conntrack: "never matches" rules count nothing, "matches every packet" rules count every packet', { skip }, () => {
  const pair = vethPair('nflf');
  try {
    pair.b.must(['iptables-restore'], RAW);
    pair.b.must(['nft', '-f', '-'], NFT);
    pair.a.must(['bash', '-c', 'for p in 5000 5001 5002; do echo x > /dev/udp/10.9.0.2/$p; done; sleep 0.3']);
    const ipt = pair.b.must(['iptables-save', '-c', '-t', 'raw']).split('\n').filter((l) => /^\[\d+:\d+\] -A PREROUTING/.test(l)).map((l) => Number(/^\[(\d+)/.exec(l)![1]));
    const nft = [...pair.b.must(['nft', 'list', 'table', 'ip', 'nflf']).matchAll(/counter packets (\d+)/g)].map((m) => Number(m[1]));
    let checked = 0;
    for (const [text, counts, first] of [[RAW, ipt, 3], [NFT, nft, 3]] as const) {
      const ds = checkText(text).diagnostics.filter((d) => d.code === 'before-conntrack');
      assert.equal(ds.length, counts.length, `one finding per rule: ${ds.map((d) => d.message).join('\n')}`);
      ds.forEach((d, i) => {
        assert.equal(d.range.start.line, first + i);
        const said = /matches every packet/.test(d.message) ? 'all' : 'none';
        assert.equal(counts[i] === 0 ? 'none' : 'all', said, `line ${first + i + 1}: ${d.message} but the counter shows ${counts[i]}`);
        if (said === 'all') assert.equal(counts[i], 3);
        checked++;
      });
    }
    console.log(`# ${checked} before-conntrack findings checked against packet counters`);
  } finally {
    pair.delete();
  }
});
