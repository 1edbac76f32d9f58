// PLACEHOLDER until the nftables grammar lands: yields an empty model.
import type { Ruleset } from './ruleset';

export function buildNftRuleset(_text: string): Ruleset {
  return { kind: 'nft', family: 'inet', tables: [], variables: [], includes: [], diagnostics: [] };
}
