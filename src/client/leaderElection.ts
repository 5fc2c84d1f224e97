// Leader election on a coordination.k8s.io Lease, like client-go's: the holder
// renews every retryPeriod; others take over once leaseDuration has passed
// without a renewal. Compare-and-swap on resourceVersion settles races.
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { KubeObject } from '../api/kind.js';
import { ApiClient, isAlreadyExists, isConflict, isNotFound } from './api.js';

export interface LeaderElectionOptions {
  namespace?: string;
  name: string;
  identity?: string;
  leaseDurationSeconds?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading(): void | Promise<void>;
  onStoppedLeading(): void;
}

const microTime = () => new Date().toISOString().replace('Z', '000Z');

export class LeaderElector {
  readonly identity: string;
  private leading = false;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private lastRenew = 0;

  constructor(private readonly api: ApiClient, private readonly o: LeaderElectionOptions) {
    this.identity = o.identity ?? `${hostname()}_${randomUUID()}`;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    void this.tick();
  }

  /** Stops; a leader also releases its Lease (client-go's ReleaseOnCancel), so a restarted or other server takes over at once instead of after leaseDuration. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    this.o.onStoppedLeading();
    try {
      const lease: KubeObject = await this.api.request('GET', this.path(this.o.name));
      if (lease.spec?.holderIdentity !== this.identity) return;
      await this.api.request('PUT', this.path(this.o.name), { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime() } });
    } catch {
      // unreachable API or a conflict: the Lease simply expires
    }
  }

  private path(name?: string): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.o.namespace ?? 'kube-system'}/leases${name ? '/' + name : ''}`;
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const duration = this.o.leaseDurationSeconds ?? 15;
    try {
      const ok = await this.tryAcquireOrRenew(duration);
      if (ok) this.lastRenew = Date.now();
      if (ok && !this.leading) {
        this.leading = true;
        await this.o.onStartedLeading();
      } else if (!ok && this.leading && Date.now() - this.lastRenew > (this.o.renewDeadlineMs ?? 10_000)) {
        this.leading = false;
        this.o.onStoppedLeading();
      }
    } catch {
      if (this.leading && Date.now() - this.lastRenew > (this.o.renewDeadlineMs ?? 10_000)) {
        this.leading = false;
        this.o.onStoppedLeading();
      }
    }
    if (!this.stopped) {
      this.timer = setTimeout(() => void this.tick(), this.o.retryPeriodMs ?? 2000);
      this.timer.unref?.();
    }
  }

  private async tryAcquireOrRenew(duration: number): Promise<boolean> {
    let lease: KubeObject | undefined;
    try {
      lease = await this.api.request('GET', this.path(this.o.name));
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    const spec = { holderIdentity: this.identity, leaseDurationSeconds: duration, acquireTime: microTime(), renewTime: microTime(), leaseTransitions: 0 };
    if (!lease) {
      try {
        await this.api.request('POST', this.path(), { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.o.name }, spec });
        return true;
      } catch (e) {
        if (isAlreadyExists(e)) return false;
        throw e;
      }
    }
    const cur = lease.spec ?? {};
    const renewed = cur.renewTime ? Date.parse(cur.renewTime) : 0;
    const expired = renewed + (cur.leaseDurationSeconds ?? duration) * 1000 < Date.now();
    if (cur.holderIdentity && cur.holderIdentity !== this.identity && !expired) return false;
    const next = {
      ...lease,
      spec: {
        ...cur,
        holderIdentity: this.identity,
        leaseDurationSeconds: duration,
        renewTime: microTime(),
        ...(cur.holderIdentity !== this.identity ? { acquireTime: microTime(), leaseTransitions: (cur.leaseTransitions ?? 0) + 1 } : {}),
      },
    };
    try {
      await this.api.request('PUT', this.path(this.o.name), next);
      return true;
    } catch (e) {
      if (isConflict(e)) return false;
      throw e;
    }
  }
}
