// Node IPAM controller: gives every node a pod range (spec.podCIDR/podCIDRs), a
// /nodeCidrMaskSize slice of the cluster CIDR, never one another node holds.
// Ranges are released when their node goes. IPv4 only; the first IPv4 entry of
// a comma-separated (dual-stack) cluster CIDR is used.
import { formatIPv4, parseCidrV4 } from '../api/cidr.js';
import type { KubeObject } from '../api/kind.js';
import { isNotFound } from '../client/api.js';
import type { Reconciler } from '../client/controller.js';
import type { EventRecorder } from '../client/events.js';
import type { InformerFactory } from '../client/factory.js';
import type { Informer } from '../client/informer.js';
import { Limiter } from '../client/limiter.js';
import { WorkQueue } from '../client/workqueue.js';
import type { ControllerOptions } from './manager.js';

/** Hands out the subnets of a cluster CIDR by index. */
export class CidrSet {
  readonly base: number;
  readonly size: number;
  private readonly used = new Set<number>();
  private next = 0;

  constructor(clusterCidr: string, readonly maskSize: number) {
    const c = parseCidrV4(clusterCidr.split(',').find((x) => x.includes('.')) ?? '');
    if (!c) throw new Error(`node IPAM: no IPv4 cluster CIDR in ${JSON.stringify(clusterCidr)}`);
    if (maskSize < c.bits || maskSize > 30) throw new Error(`node IPAM: node mask /${maskSize} does not fit cluster CIDR /${c.bits}`);
    this.base = c.base;
    this.size = 2 ** (maskSize - c.bits);
  }

  /** index of a subnet of this set, or -1 */
  indexOf(cidr: string): number {
    const c = parseCidrV4(cidr);
    if (!c || c.bits !== this.maskSize) return -1;
    const i = (c.base - this.base) / 2 ** (32 - this.maskSize);
    return Number.isInteger(i) && i >= 0 && i < this.size ? i : -1;
  }

  cidr(i: number): string {
    return `${formatIPv4(this.base + i * 2 ** (32 - this.maskSize))}/${this.maskSize}`;
  }

  occupy(cidr: string): boolean {
    const i = this.indexOf(cidr);
    if (i < 0) return false;
    this.used.add(i);
    return true;
  }

  release(cidr: string): void {
    const i = this.indexOf(cidr);
    if (i >= 0) this.used.delete(i);
  }

  allocate(): string | undefined {
    for (let k = 0; k < this.size; k++) {
      const i = (this.next + k) % this.size;
      if (!this.used.has(i)) {
        this.used.add(i);
        this.next = (i + 1) % this.size;
        return this.cidr(i);
      }
    }
    return undefined;
  }

  get inUse(): number {
    return this.used.size;
  }
}

export class NodeIpamController implements Reconciler {
  readonly name = 'node-ipam';
  readonly queue = new WorkQueue();
  readonly nodes: Informer;
  private readonly set: CidrSet;
  /** node name → range it holds (from the cache or allocated by us) */
  private readonly held = new Map<string, string>();
  /** nodes waiting for a range to free up */
  private readonly waiting = new Set<string>();
  private readonly inflight = new Set<string>();
  private readonly limiter = new Limiter(32);

  constructor(
    private readonly factory: InformerFactory,
    opts: ControllerOptions,
    private readonly recorder?: EventRecorder,
  ) {
    this.set = new CidrSet(opts.clusterCidr, opts.nodeCidrMaskSize);
    this.nodes = factory.informer('', 'nodes');
    // handlers run for the whole initial list before any worker starts, so
    // every range in use is known before the first allocation
    const seen = (n: KubeObject) => {
      const name = n.metadata!.name!;
      const cidr: string | undefined = n.spec?.podCIDR;
      if (cidr && this.held.get(name) !== cidr) {
        const prev = this.held.get(name);
        if (prev) this.set.release(prev);
        this.held.set(name, cidr);
        this.set.occupy(cidr);
      }
      if (!cidr) this.queue.add(name);
    };
    this.nodes.addEventHandler({
      onAdd: seen,
      onUpdate: (_o, n) => seen(n),
      onDelete: (n) => {
        const name = n.metadata!.name!;
        const cidr = this.held.get(name);
        if (cidr) this.set.release(cidr);
        this.held.delete(name);
        this.waiting.delete(name);
        if (cidr) for (const w of [...this.waiting].slice(0, 1)) this.queue.add(w);
      },
    });
  }

  async reconcile(name: string): Promise<void | number> {
    const node = this.nodes.get(name);
    if (!node || node.spec?.podCIDR || node.metadata?.deletionTimestamp) return;
    let cidr = this.held.get(name);
    if (!cidr) {
      cidr = this.set.allocate();
      if (!cidr) {
        // the cluster CIDR is full: say so once per node, look again when a range frees up
        if (!this.waiting.has(name)) this.recorder?.event(node, 'Normal', 'CIDRNotAvailable', `Node ${name} status is now: CIDRNotAvailable`);
        this.waiting.add(name);
        return 60_000;
      }
      this.waiting.delete(name);
      this.held.set(name, cidr);
    }
    // writes go out in parallel (bounded): two serial workers would assign only
    // ~100 ranges/s while the datastore batches commits
    if (this.inflight.has(name)) return;
    this.inflight.add(name);
    const c = cidr;
    void this.limiter
      .run(() => this.factory.api.request('PATCH', `/api/v1/nodes/${encodeURIComponent(name)}`, { spec: { podCIDR: c, podCIDRs: [c] } }, 'application/merge-patch+json'))
      .catch((e) => {
        if (isNotFound(e)) {
          this.set.release(c);
          this.held.delete(name);
        } else this.queue.addRateLimited(name);
      })
      .finally(() => this.inflight.delete(name));
  }
}
