// Typed model of ipset sets (`ipset save` / `ipset list`): type, create options, members.
import type { Range } from './ruleset';
import type { InetFamily } from './routing';

/** The dimensions of a set type, in order: `hash:net,port` → ['net', 'port']. */
export type IpsetDim = 'ip' | 'net' | 'port' | 'iface' | 'mac' | 'mark' | 'set';

export interface IpsetMember {
  /** Source text of the element, e.g. "10.0.0.0/8,tcp:80". */
  text: string;
  /** Element split at top-level commas, one per dimension. */
  parts: string[];
  /** `nomatch`: an exception inside a wider net (hash:net* types). */
  nomatch: boolean;
  /** Per-element options kept as written (timeout, packets, bytes, comment, skbmark ...). */
  options: { key: string; value: string }[];
  range?: Range;
}

export interface Ipset {
  name: string;
  /** As written, e.g. "hash:ip,port". */
  type: string;
  /** 'bitmap' | 'hash' | 'list'. */
  method: string;
  dims: IpsetDim[];
  /** `known` false: a type we do not know; membership tests answer "unknown". */
  known: boolean;
  family: InetFamily;
  /** Create options as written (hashsize, maxelem, range, netmask, timeout, counters ...). */
  options: { key: string; value: string }[];
  members: IpsetMember[];
  range?: Range;
  nameRange?: Range;
}

const DIMS: Record<string, IpsetDim> = { ip: 'ip', net: 'net', port: 'port', iface: 'iface', mac: 'mac', mark: 'mark', set: 'set' };

/** The types the kernel defines (ipset 7.x): anything else is reported as unknown. */
export const KNOWN_IPSET_TYPES = new Set([
  'bitmap:ip', 'bitmap:ip,mac', 'bitmap:port',
  'hash:ip', 'hash:mac', 'hash:ip,mac', 'hash:net', 'hash:net,net', 'hash:ip,port', 'hash:net,port',
  'hash:ip,port,ip', 'hash:ip,port,net', 'hash:ip,mark', 'hash:net,port,net', 'hash:net,iface',
  'list:set',
]);

export function ipsetTypeDims(type: string): { method: string; dims: IpsetDim[]; known: boolean } {
  const [method, rest = ''] = type.split(':');
  const dims = rest.split(',').map((d) => DIMS[d]).filter((d): d is IpsetDim => !!d);
  return { method, dims, known: KNOWN_IPSET_TYPES.has(type) };
}
