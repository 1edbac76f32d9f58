// The one place the IDE layer asks what netfilter defines: doc lines and name lists for hover and
// completion, from the knowledge base (knowledge/iptables-extensions.ts, knowledge/nft-keywords.ts).
// A name the knowledge base lacks gets no doc: hover says so instead of guessing.
import {
  ALL_MATCHES,
  ALL_TARGETS,
  BASE_OPTIONS,
  baseOptionDoc,
  extensionDoc,
  extensionOptionDoc,
  extensionOptionFlags,
  VERDICTS,
} from '../knowledge/iptables-extensions';
import { PROTOCOLS as PROTOCOL_NUMBERS } from '../knowledge/iptables-names';
import { EXPR_DOCS, HOOK_DOCS, STATEMENT_DOCS } from '../knowledge/nft-keywords';

type Fam = 'ip' | 'ip6';

/** Doc line for a match module, or undefined when the knowledge base does not have it. */
export function matchDoc(module: string, family: Fam = 'ip'): string | undefined {
  return extensionDoc(module, false, family);
}

/** Doc line for a target or verdict. */
export function targetDoc(name: string, family: Fam = 'ip'): string | undefined {
  return extensionDoc(name, true, family);
}

/** Doc line for an option; `moduleOrTarget` "" is the iptables core (-s, -p, -i...), looked up by flag. */
export function optionDoc(moduleOrTarget: string, option: string, flag: string, isTarget: boolean, family: Fam = 'ip'): string | undefined {
  if (!moduleOrTarget && !isTarget) return baseOptionDoc(flag) ?? baseOptionDoc('--' + option);
  return extensionOptionDoc(moduleOrTarget, option, isTarget, family);
}

/** Option flags of a match module or target, for completion. */
export function optionsOf(moduleOrTarget: string, isTarget: boolean, family: Fam = 'ip'): string[] {
  return extensionOptionFlags(moduleOrTarget, isTarget, family);
}

/** nft: doc of a statement (by its keyword) or an expression (by its first word). */
export function nftStatementDoc(keyword: string): string | undefined {
  return STATEMENT_DOCS[keyword];
}

export function nftExpressionDoc(firstWord: string): string | undefined {
  return EXPR_DOCS[firstWord];
}

export function hookDoc(hook: string): string | undefined {
  return HOOK_DOCS[hook];
}

export const MATCH_MODULES: string[] = [...new Set(ALL_MATCHES.map((m) => m.name))].sort();

export const TARGETS: string[] = [...VERDICTS, ...[...new Set(ALL_TARGETS.map((t) => t.name))].sort()];

export const CT_STATES = ['NEW', 'ESTABLISHED', 'RELATED', 'INVALID', 'UNTRACKED', 'SNAT', 'DNAT'];

export const PROTOCOLS: string[] = [...PROTOCOL_NUMBERS.keys()];

/** Options of the iptables core (not of an extension). */
export const CORE_OPTIONS: string[] = [...BASE_OPTIONS.keys()];

export const NFT_KEYWORDS = [
  'table', 'chain', 'set', 'map', 'type', 'hook', 'priority', 'policy', 'device', 'flags', 'elements', 'define', 'include',
  'accept', 'drop', 'reject', 'return', 'jump', 'goto', 'continue', 'queue', 'counter', 'log', 'limit', 'comment',
  'meta', 'ct', 'ip', 'ip6', 'inet', 'tcp', 'udp', 'icmp', 'icmpv6', 'iif', 'iifname', 'oif', 'oifname', 'mark', 'state',
  'saddr', 'daddr', 'sport', 'dport', 'snat', 'dnat', 'masquerade', 'redirect', 'vmap', 'established', 'related', 'new',
  'invalid', 'prerouting', 'input', 'forward', 'output', 'postrouting', 'ingress', 'filter', 'nat', 'route',
];
