// Named objects and commands of nftables: which properties each object body takes, which objects each
// command verb applies to.

/** Properties allowed in an object's `{ ... }` body (or inline after `add OBJECT t name`). */
export const OBJECT_PROPS: Record<string, Set<string>> = {
  counter: new Set(['packets', 'bytes', 'comment']),
  // a quota body starts with its number (`quota q { 25 mbytes }`): the model lets numbers through
  quota: new Set(['over', 'until', 'used', 'comment']),
  limit: new Set(['rate', 'burst', 'comment']),
  secmark: new Set(['comment']),
  synproxy: new Set(['mss', 'wscale', 'timestamp', 'sack-perm', 'comment']),
  'ct helper': new Set(['type', 'l3proto', 'protocol', 'comment']),
  'ct timeout': new Set(['protocol', 'l3proto', 'policy', 'comment']),
  'ct expectation': new Set(['protocol', 'dport', 'timeout', 'size', 'l3proto', 'comment']),
  flowtable: new Set(['hook', 'devices', 'counter', 'flags', 'comment']),
  tunnel: new Set(['id', 'ip', 'ip6', 'sport', 'dport', 'ttl', 'tos', 'flags', 'vxlan', 'geneve', 'erspan', 'comment']),
};

/** Connection states a `ct timeout` policy may name (nf_conntrack per-protocol timeouts). */
export const CT_TIMEOUT_STATES = new Set([
  'syn_sent', 'syn_recv', 'established', 'fin_wait', 'close_wait', 'last_ack', 'time_wait', 'close', 'syn_sent2',
  'retrans', 'unacknowledged', 'unreplied', 'replied', 'open', 'closing', 'cookie_wait', 'cookie_echoed',
  'shutdown_sent', 'shutdown_recd', 'shutdown_ack_sent', 'heartbeat_sent', 'heartbeat_acked', 'request', 'respond',
  'partopen', 'closereq', 'timewait',
]);

const OBJECTS = ['table', 'chain', 'set', 'map', 'element', 'flowtable', 'counter', 'quota', 'limit', 'secmark', 'synproxy', 'ct helper', 'ct timeout', 'ct expectation', 'tunnel'];
const PLURALS = ['tables', 'chains', 'sets', 'maps', 'flowtables', 'counters', 'quotas', 'limits', 'secmarks', 'synproxys', 'ct helpers', 'ct timeouts', 'ct expectations', 'meters', 'hooks', 'tunnels'];

/** Objects each command verb applies to (a missing verb means `add`). */
export const NFT_COMMANDS: Record<string, Set<string>> = {
  add: new Set([...OBJECTS, 'rule']),
  create: new Set([...OBJECTS, 'rule']),
  insert: new Set(['rule']),
  replace: new Set(['rule']),
  delete: new Set([...OBJECTS, 'rule']),
  destroy: new Set([...OBJECTS, 'rule']),
  flush: new Set(['ruleset', 'table', 'chain', 'set', 'map', 'meter']),
  list: new Set(['ruleset', 'table', 'chain', 'set', 'map', 'flowtable', 'counter', 'quota', 'limit', 'secmark', 'synproxy', 'ct helper', 'ct timeout', 'ct expectation', 'meter', ...PLURALS]),
  reset: new Set(['counter', 'counters', 'quota', 'quotas', 'rules', 'rule', 'set', 'map', 'element', 'ruleset']),
  rename: new Set(['chain']),
  describe: new Set(['describe']),
  get: new Set(['element']),
  export: new Set(['ruleset']),
  import: new Set(['ruleset']),
  monitor: new Set(['monitor']),
};
