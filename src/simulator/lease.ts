// Node heartbeats: each simulated node renews its Lease in kube-node-lease every
// heartbeat interval (upstream kubelet: 10s) and reports NodeStatus every 4
// intervals, or at once when the stored status is not healthy. Renewals are
// spread over the interval and run with bounded concurrency, so 5,000 nodes
// cost 500 small writes/s at the default interval.
import type { Logger } from 'pino';
import type { KubeObject } from '../api/kind.js';
import { type ApiClient, isAlreadyExists, isNotFound } from '../client/api.js';
import type { Informer } from '../client/informer.js';
import { Limiter } from '../client/limiter.js';
import { heartbeatStopped } from './faults.js';
import { type NodeTemplate, type SimNode, statusPatch } from './node.js';
import { isoMicro } from './util.js';

export const leaseNamespace = 'kube-node-lease';

function leasePath(name?: string): string {
  return `/apis/coordination.k8s.io/v1/namespaces/${leaseNamespace}/leases${name ? '/' + encodeURIComponent(name) : ''}`;
}

/** Renew (or create) a node's Lease. */
export async function renewLease(api: ApiClient, n: SimNode, durationSeconds: number, now = Date.now()): Promise<void> {
  const renewTime = isoMicro(now);
  try {
    await api.request('PATCH', leasePath(n.name), { spec: { holderIdentity: n.name, leaseDurationSeconds: durationSeconds, renewTime } }, 'application/merge-patch+json');
  } catch (e) {
    if (!isNotFound(e)) throw e;
    const lease: KubeObject = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: n.name,
        namespace: leaseNamespace,
        // like the kubelet: the Lease goes when its Node goes (garbage collector)
        ownerReferences: n.uid ? [{ apiVersion: 'v1', kind: 'Node', name: n.name, uid: n.uid }] : undefined,
      },
      spec: { holderIdentity: n.name, leaseDurationSeconds: durationSeconds, renewTime, acquireTime: renewTime },
    };
    await api.request('POST', leasePath(), lease).catch((err) => {
      if (!isAlreadyExists(err)) throw err;
    });
  }
}

export interface HeartbeatOptions {
  intervalMs: number;
  template: NodeTemplate;
  concurrency: number;
}

export class Heartbeater {
  private timer?: NodeJS.Timeout;
  private readonly limiter: Limiter;
  private stopped = false;

  constructor(
    private readonly api: ApiClient,
    private readonly log: Logger,
    private readonly nodes: SimNode[],
    private readonly nodeInformer: Informer,
    private readonly o: HeartbeatOptions,
  ) {
    this.limiter = new Limiter(o.concurrency);
    const now = Date.now();
    // spread the first renewals over one interval
    nodes.forEach((n, i) => (n.nextLeaseAt = now + Math.floor((i / Math.max(1, nodes.length)) * o.intervalMs)));
  }

  start(): void {
    const tick = Math.max(50, Math.min(1000, Math.floor(this.o.intervalMs / 4)));
    this.timer = setInterval(() => this.tick(), tick);
    this.timer.unref?.();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }

  /** Heartbeat this node at the next tick (e.g. its heartbeats were just resumed). */
  poke(n: SimNode): void {
    n.nextLeaseAt = 0;
    n.lastStatusAt = 0;
  }

  private tick(): void {
    const now = Date.now();
    for (const n of this.nodes) {
      if (this.stopped) return;
      if (n.busy || n.stopped) continue;
      const cached = this.nodeInformer.get(n.name);
      if (heartbeatStopped(cached)) continue;
      const leaseDue = now >= n.nextLeaseAt;
      const patch = cached ? statusPatch(n, this.o.template, cached, this.o.intervalMs * 4, now) : undefined;
      if (!leaseDue && !patch) continue;
      n.busy = true;
      void this.limiter
        .run(async () => {
          if (leaseDue) {
            await renewLease(this.api, n, Math.max(1, Math.round((this.o.intervalMs * 4) / 1000)));
            n.nextLeaseAt = Date.now() + this.o.intervalMs;
          }
          if (patch) {
            await this.api.request('PATCH', `/api/v1/nodes/${encodeURIComponent(n.name)}/status`, patch, 'application/merge-patch+json');
            n.lastStatusAt = Date.now();
          }
        })
        .catch((err) => {
          if (!this.stopped) this.log.debug({ node: n.name, err: (err as Error).message }, 'heartbeat failed; retrying');
          n.nextLeaseAt = Date.now() + Math.min(1000, this.o.intervalMs);
        })
        .finally(() => (n.busy = false));
    }
  }
}
