// What the bench times in-process: the core's front door, bundled by bench.mjs the way the CLI is.
export { parseRuleset } from '../server/src/parse';
export { checkText } from '../server/src/check';
export { ruleCount, chainCount } from '../server/src/model/ruleset';
export { walk } from '../server/src/sim/walk';
export { parsePacket } from '../server/src/sim/packet';
