// A LoadBalancer address pool (MetalLB style): parsed from `10.44.0.0/24`,
// `10.44.0.10-10.44.0.20`, single addresses or a comma list of those, and the
// bookkeeping of which Service holds which address. Allocation hands out the
// lowest free address; a cursor keeps that cheap for large pools.
import { formatIPv4, maskV4, parseIPv4 } from '../api/cidr.js';

interface Range {
  first: number;
  last: number;
}

/** Parse a pool spec into sorted, merged ranges; throws on a malformed entry. */
export function parsePool(spec: string): Range[] {
  const out: Range[] = [];
  for (const raw of spec.split(',')) {
    const part = raw.trim();
    if (!part) continue;
    let r: Range | undefined;
    const cidr = /^([\d.]+)\/(\d+)$/.exec(part);
    const dash = /^([\d.]+)\s*-\s*([\d.]+)$/.exec(part);
    if (cidr) {
      const ip = parseIPv4(cidr[1]);
      const bits = Number(cidr[2]);
      if (ip !== undefined && bits >= 0 && bits <= 32) {
        const base = (ip & maskV4(bits)) >>> 0;
        const last = base + 2 ** (32 - bits) - 1;
        // a real subnet's network and broadcast addresses are left out (from /30 down)
        r = bits <= 30 ? { first: base + 1, last: last - 1 } : { first: base, last };
      }
    } else if (dash) {
      const a = parseIPv4(dash[1]);
      const b = parseIPv4(dash[2]);
      if (a !== undefined && b !== undefined && a <= b) r = { first: a, last: b };
    } else {
      const a = parseIPv4(part);
      if (a !== undefined) r = { first: a, last: a };
    }
    if (!r) throw new Error(`invalid load balancer pool entry ${JSON.stringify(part)} (want a CIDR, a-b range or an IPv4 address)`);
    out.push(r);
  }
  if (!out.length) throw new Error('empty load balancer pool');
  out.sort((x, y) => x.first - y.first);
  const merged: Range[] = [];
  for (const r of out) {
    const prev = merged[merged.length - 1];
    if (prev && r.first <= prev.last + 1) prev.last = Math.max(prev.last, r.last);
    else merged.push({ ...r });
  }
  return merged;
}

export class AddressPool {
  private readonly ranges: Range[];
  /** offsets where each range starts in the pool's flat index space */
  private readonly starts: number[] = [];
  readonly size: number;
  private readonly owner = new Map<string, string>(); // ip → service key
  private readonly held = new Map<string, string>(); // service key → ip
  /** no free address below this index */
  private cursor = 0;

  constructor(spec: string) {
    this.ranges = parsePool(spec);
    let n = 0;
    for (const r of this.ranges) {
      this.starts.push(n);
      n += r.last - r.first + 1;
    }
    this.size = n;
  }

  contains(ip: string): boolean {
    return this.indexOf(ip) !== undefined;
  }

  private indexOf(ip: string): number | undefined {
    const n = parseIPv4(ip);
    if (n === undefined) return undefined;
    // ranges are few; a linear walk is fine
    for (let i = 0; i < this.ranges.length; i++) if (n >= this.ranges[i].first && n <= this.ranges[i].last) return this.starts[i] + n - this.ranges[i].first;
    return undefined;
  }

  private at(index: number): string {
    let i = this.ranges.length - 1;
    while (this.starts[i] > index) i--;
    return formatIPv4(this.ranges[i].first + index - this.starts[i]);
  }

  /** The address a service holds, if any. */
  addressOf(key: string): string | undefined {
    return this.held.get(key);
  }

  ownerOf(ip: string): string | undefined {
    return this.owner.get(ip);
  }

  get used(): number {
    return this.owner.size;
  }

  /** Take a specific address for key; false when it is outside the pool or held by another service. */
  claim(key: string, ip: string): boolean {
    if (!this.contains(ip)) return false;
    const o = this.owner.get(ip);
    if (o !== undefined) return o === key;
    this.release(key);
    this.owner.set(ip, key);
    this.held.set(key, ip);
    return true;
  }

  /** The address held by key, or the lowest free one; undefined when the pool is full. */
  allocate(key: string): string | undefined {
    const cur = this.held.get(key);
    if (cur) return cur;
    for (let i = this.cursor; i < this.size; i++) {
      const ip = this.at(i);
      if (this.owner.has(ip)) continue;
      this.cursor = i + 1;
      this.owner.set(ip, key);
      this.held.set(key, ip);
      return ip;
    }
    this.cursor = this.size;
    return undefined;
  }

  /** Give back whatever key holds. */
  release(key: string): void {
    const ip = this.held.get(key);
    if (ip === undefined) return;
    this.held.delete(key);
    this.owner.delete(ip);
    const i = this.indexOf(ip)!;
    if (i < this.cursor) this.cursor = i;
  }
}
