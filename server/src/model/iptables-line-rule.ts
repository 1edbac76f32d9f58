// An iptables rule kept as its source line. A 750 000-line dump would hold ~1 600 bytes of matches,
// options, values and ranges per line; this keeps ~100 and rebuilds the rest from the text when read
// (the same words and the same build as at parse time, so the same result). The last few rules read are
// cached: a pass reads `matches`, then `actions`, then `comment` of the same rule.
import { LineRange, type Action, type Match, type Range, type Rule } from './ruleset';
import { buildRule, type BuiltRule, type RuleContext } from './iptables-rule';
import { splitCommandLine } from '../syntax/iptables-parser';

// Small on purpose: what sits in the ring survives the young-generation collections and is promoted, so
// a big ring turns a pass's short-lived garbage into old-generation garbage (peak memory on big dumps).
const RING = 64;

/** What the rules of one document share: its text, and the rules read last with what they were built
 *  into (per document, so a closed document's text is not kept alive by another's reads). */
export class RuleSource {
  readonly ringRule: (IptablesLineRule | undefined)[] = new Array(RING).fill(undefined);
  readonly ringBuilt: (BuiltRule | undefined)[] = new Array(RING).fill(undefined);
  next = 0;
  constructor(readonly text: string) {}
}

export class IptablesLineRule implements Rule {
  /** Slot in the cache ring, if it may still be there. */
  private slot = -1;
  constructor(
    public index: number,
    readonly counters: Rule['counters'],
    private readonly source: RuleSource,
    private readonly ctx: RuleContext,
    /** The command line in the text: [at, end), on `line` from column `startCh` (where the line's
     *  first word or counters start, as the rule's range does). */
    private readonly at: number,
    private readonly end: number,
    private readonly line: number,
    private readonly startCh: number,
    /** Where the rule's last word ends. */
    private readonly endCh: number,
  ) {}

  /** Only plain `-A` lines are kept this way. */
  get op(): Rule['op'] {
    return 'append';
  }
  get range(): Range {
    return new LineRange(this.line, this.startCh, this.endCh);
  }
  get matches(): Match[] {
    return this.built().matches;
  }
  get actions(): Action[] {
    return this.built().actions;
  }
  get comment(): string | undefined {
    return this.built().comment;
  }
  get lineText(): string {
    return this.source.text.slice(this.at, this.end);
  }

  private built(): BuiltRule {
    const src = this.source;
    const s = this.slot;
    if (s >= 0 && src.ringRule[s] === this) return src.ringBuilt[s]!;
    const items = splitCommandLine(src.text, this.at, this.end, this.line, this.startCh);
    // The words after `-A CHAIN`, built in the rule's own context: what the parser built.
    const b = buildRule(items, this.ctx, 2, false);
    const slot = src.next;
    src.next = (slot + 1) % RING;
    src.ringRule[slot] = this;
    src.ringBuilt[slot] = b;
    this.slot = slot;
    return b;
  }

  toJSON(): Rule {
    const b = this.built();
    const r: Rule = { index: this.index, range: this.range, matches: b.matches, actions: b.actions };
    if (b.comment !== undefined) r.comment = b.comment;
    if (this.counters) r.counters = this.counters;
    r.op = this.op;
    return r;
  }
}
