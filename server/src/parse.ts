// The core's front door: text in, ruleset model (with diagnostics) out. Never throws.
import type { FileKind, Ruleset } from './model/ruleset';
import { detectKind } from './syntax/detect';
import { buildIptablesSteps } from './model/from-iptables';
import { buildNftRuleset } from './model/from-nft';
import { runSteps } from './steps';

export interface ParseOptions {
  /** Forces the kind; otherwise it is detected from the content. */
  kind?: FileKind;
  /** A weaker preference, used only when the content does not decide. */
  hint?: FileKind;
  family?: 'ip' | 'ip6';
}

export function parseRuleset(text: string, opts: ParseOptions = {}): Ruleset {
  return runSteps(parseRulesetSteps(text, opts));
}

/** parseRuleset in steps (one parser chunk each for iptables files); yields the share read (0..1).
 *  Abandoning the generator (`return()`) abandons the parse. Never throws. */
export function* parseRulesetSteps(text: string, opts: ParseOptions = {}): Generator<number, Ruleset, void> {
  if (text.charCodeAt(0) === 0xfeff) text = ' ' + text.slice(1); // keep columns: a BOM is one UTF-16 unit
  const det = opts.kind ? { kind: opts.kind, family: undefined } : detectKind(text, opts.hint);
  const family = opts.family ?? det.family;
  try {
    if (det.kind === 'nft') return buildNftRuleset(text);
    return yield* buildIptablesSteps(text, { kind: det.kind, family });
  } catch (e) {
    // A parser bug must not take the editor down: report it on line 1 and keep going.
    return {
      kind: det.kind,
      family: family ?? 'ip',
      tables: [],
      variables: [],
      includes: [],
      diagnostics: [{
        range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
        severity: 'error',
        code: 'internal-error',
        message: `internal error while parsing: ${(e as Error)?.message ?? String(e)}`,
      }],
    };
  }
}
