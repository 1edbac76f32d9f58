// The iptables tables, their built-in chains, and the hook and priority each built-in chain runs at.
import type { Hook } from '../model/ruleset';

export const TABLE_BUILTINS: Record<string, string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
  security: ['INPUT', 'FORWARD', 'OUTPUT'],
};

/** Netfilter priorities of the iptables tables (include/uapi/linux/netfilter_ipv4.h). */
export const TABLE_PRIORITY: Record<string, number> = {
  raw: -300,
  mangle: -150,
  filter: 0,
  security: 50,
};

/** nat runs at dstnat (-100) before routing and at srcnat (100) after it. */
export function builtinPriority(table: string, chain: string): number {
  if (table === 'nat') return chain === 'PREROUTING' || chain === 'OUTPUT' ? -100 : 100;
  return TABLE_PRIORITY[table] ?? 0;
}

export function builtinHook(chain: string): Hook | undefined {
  switch (chain) {
    case 'PREROUTING': return 'prerouting';
    case 'INPUT': return 'input';
    case 'FORWARD': return 'forward';
    case 'OUTPUT': return 'output';
    case 'POSTROUTING': return 'postrouting';
  }
  return undefined;
}

export function isBuiltinChain(table: string, chain: string): boolean {
  return TABLE_BUILTINS[table]?.includes(chain) ?? false;
}

export const STANDARD_VERDICTS = ['ACCEPT', 'DROP', 'RETURN', 'QUEUE'];

/** iptables refuses chain names of 29 characters or more (XT_EXTENSION_MAXNAMELEN - 1). */
export const MAX_CHAIN_NAME = 28;
