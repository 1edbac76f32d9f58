// The trace panel's HTML (issue 7): data from the file is escaped, the page has a strict CSP with a
// nonce, and every script carries it. The trace is a real walk of a ruleset whose chain names and
// comments hold markup.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { escapeHtml, makeNonce, renderTraceHtml } from '../../client/src/trace-html';
import { parseRuleset } from '../../server/src/parse';
import { simulate } from '../../server/src/ide/simulate-lens';

const IMG = '<img src=x onerror=alert(1)>';
const SCRIPT = '</script><script>alert(2)</script>';
// Chain names cannot hold spaces; a name with markup characters still must not become markup.
const EVIL_CHAIN = '</script><script>x';
const RULES = [
  '*filter',
  ':INPUT ACCEPT [0:0]',
  `:${EVIL_CHAIN} - [0:0]`,
  `-A INPUT -p tcp -m comment --comment "${IMG} ${SCRIPT}" -j ${EVIL_CHAIN}`,
  `-A ${EVIL_CHAIN} -j LOG --log-prefix "${IMG}"`,
  `-A ${EVIL_CHAIN} -m comment --comment "${SCRIPT}" -j DROP`,
  'COMMIT',
  '',
].join('\n');

function scriptTags(html: string): string[] {
  return html.match(/<script\b[^>]*>/gi) ?? [];
}

describe('trace panel HTML', () => {
  const rs = parseRuleset(RULES);
  const out = simulate(rs, { uri: 'file:///evil.rules', line: 3, packet: `tcp 192.0.2.1:1 -> 192.0.2.2:80 iif eth0 host 192.0.2.2` });
  assert.ok('result' in out, JSON.stringify(out));
  const trace = out.result;
  const nonce = makeNonce();
  const html = renderTraceHtml(trace, { cspSource: 'vscode-webview://abc', nonce, fileName: `${IMG}.rules` });

  it('walks the evil ruleset: the markup really reaches the renderer', () => {
    assert.equal(trace.verdict, 'DROP');
    assert.ok(trace.steps.some((s) => s.chain === EVIL_CHAIN), 'a step in the chain named with markup');
    assert.ok(trace.steps.some((s) => s.action.includes('<img')), 'the LOG prefix with markup is in an action');
  });

  it('escapes everything from the file: no <img and no script but its own', () => {
    assert.ok(!/<img/i.test(html), 'no unescaped <img');
    assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;'), 'the comment/prefix is shown escaped');
    assert.ok(html.includes('&lt;/script&gt;&lt;script&gt;x'), 'the chain name is shown escaped');
    assert.equal(scriptTags(html).length, 1, 'exactly the page\'s own script tag');
    assert.equal((html.match(/<\/script>/gi) ?? []).length, 1, 'one closing script tag');
    for (const tag of html.match(/<[a-z][^>]*>/gi) ?? []) assert.ok(!/\son[a-z]+\s*=/i.test(tag), `no inline event handler: ${tag}`);
  });

  it('has a strict CSP with the nonce, and every script and style tag carries it', () => {
    const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html);
    assert.ok(meta, 'CSP meta present');
    assert.equal(meta[1], `default-src 'none'; style-src vscode-webview://abc 'nonce-${nonce}'; script-src 'nonce-${nonce}';`);
    assert.match(nonce, /^[A-Za-z0-9]{32}$/);
    for (const t of scriptTags(html)) assert.ok(t.includes(`nonce="${nonce}"`), t);
    for (const t of html.match(/<style\b[^>]*>/gi) ?? []) assert.ok(t.includes(`nonce="${nonce}"`), t);
    assert.ok(!/(src|href)="https?:/i.test(html), 'no remote content');
  });

  it('links every rule step to its line and names the verdict', () => {
    const links = [...html.matchAll(/class="rule" data-line="(\d+)"/g)].map((m) => Number(m[1]));
    const ruleLines = trace.steps.filter((s) => s.line > 0).map((s) => s.line);
    for (const l of ruleLines) assert.ok(links.includes(l), `link to line ${l}`);
    assert.match(html, /Verdict: DROP at <a href="#" class="rule" data-line="6">line 6<\/a>/);
  });

  it('warns, escaped, when the proposed witness does not match its rule', () => {
    const t = { ...trace, witness: { packet: trace.packetIn, exact: false, notes: [`cannot satisfy ${IMG}`] } };
    const h = renderTraceHtml(t, { cspSource: 'x', nonce });
    assert.match(h, /may not match the rule: cannot satisfy &lt;img src=x onerror=alert\(1\)&gt;/);
    assert.ok(!/<img/i.test(h));
    assert.ok(!html.includes('may not match the rule'), 'no warning for an exact witness or a typed packet');
  });

  it('escapes the five HTML metacharacters and refuses a bad nonce', () => {
    assert.equal(escapeHtml(`<a href="x" title='y'>&</a>`), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
    assert.throws(() => renderTraceHtml(trace, { cspSource: 'x', nonce: `"><script>` }), /nonce/);
  });
});
