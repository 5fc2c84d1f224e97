// Pod IPs for simulated pods: each node hands out addresses from its podCIDR
// (assigned by the node IPAM controller), skipping the network address, the
// gateway (.1) and broadcast. An address stays taken until its pod terminates
// or goes away, so IPs are unique among live pods.

import { cidrContainsV4, formatIPv4, parseCidrV4, parseIPv4 } from '../api/cidr.js';

class Pool {
  readonly used = new Set<number>();
  private next: number;
  readonly first: number;
  readonly last: number;
  constructor(cidr: string) {
    const c = parseCidrV4(cidr);
    if (!c || c.bits > 30) throw new Error(`pod CIDR ${cidr} is too small`);
    this.first = c.base + 2;
    this.last = c.base + 2 ** (32 - c.bits) - 2;
    this.next = this.first;
  }
  allocate(): number | undefined {
    // next-fit, so a freed address is not reused at once
    const size = this.last - this.first + 1;
    for (let i = 0; i < size; i++) {
      const ip = this.first + ((this.next - this.first + i) % size);
      if (!this.used.has(ip)) {
        this.used.add(ip);
        this.next = ip + 1 > this.last ? this.first : ip + 1;
        return ip;
      }
    }
    return undefined;
  }
}

export class PodIpam {
  private readonly pools = new Map<string, Pool>();
  private readonly byUid = new Map<string, { cidr: string; ip: number }>();

  private pool(cidr: string): Pool {
    let p = this.pools.get(cidr);
    if (!p) this.pools.set(cidr, (p = new Pool(cidr)));
    return p;
  }

  /** The pod's address (allocating one from `cidr` if it has none). Undefined when the range is full. */
  allocate(uid: string, cidr: string): string | undefined {
    const have = this.byUid.get(uid);
    if (have) return formatIPv4(have.ip);
    const ip = this.pool(cidr).allocate();
    if (ip === undefined) return undefined;
    this.byUid.set(uid, { cidr, ip });
    return formatIPv4(ip);
  }

  /** Mark an address already in a pod's status as taken (after a restart). */
  reserve(uid: string, cidr: string, ip: string): void {
    if (this.byUid.has(uid) || !cidrContainsV4(cidr, ip)) return;
    const n = parseIPv4(ip)!;
    this.pool(cidr).used.add(n);
    this.byUid.set(uid, { cidr, ip: n });
  }

  release(uid: string): void {
    const have = this.byUid.get(uid);
    if (!have) return;
    this.byUid.delete(uid);
    this.pools.get(have.cidr)?.used.delete(have.ip);
  }

  get size(): number {
    return this.byUid.size;
  }
}
