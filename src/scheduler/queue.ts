// The scheduling queue: activeQ (highest priority first, then oldest),
// backoffQ (pods waiting out 1s, 2s, 4s … 10s after failed attempts) and the
// unschedulable pool, whose pods return only when a cluster event could help
// them (node added or changed, a placed pod deleted, …) or after 5 minutes.
import { Heap } from './heap.js';
import type { PodInfo } from './podInfo.js';

export interface QueuedPodInfo {
  info: PodInfo;
  /** scheduling attempts so far */
  attempts: number;
  /** when the last attempt failed (ms) */
  lastFailure: number;
  /** when it entered the unschedulable pool */
  unschedulableSince: number;
  seq: number;
}

type Where = 'active' | 'backoff' | 'unschedulable';

export interface QueueOptions {
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** pods stay in the unschedulable pool at most this long */
  maxUnschedulableMs?: number;
  now?: () => number;
  /** flush timers run only when true (tests drive flush() by hand) */
  timers?: boolean;
}

export class SchedulingQueue {
  private readonly active = new Heap<QueuedPodInfo>((a, b) => a.info.priority > b.info.priority || (a.info.priority === b.info.priority && (a.info.createdMs < b.info.createdMs || (a.info.createdMs === b.info.createdMs && a.seq < b.seq))));
  private readonly backoff = new Heap<QueuedPodInfo>((a, b) => this.backoffExpiry(a) < this.backoffExpiry(b));
  private readonly unschedulable = new Map<string, QueuedPodInfo>();
  private readonly where = new Map<string, { q: Where; qpi: QueuedPodInfo }>();
  /** popped and being scheduled */
  private readonly inFlight = new Map<string, QueuedPodInfo>();
  private schedulingCycle = 0;
  /** the cycle in which the last "move" event happened */
  private moveRequestCycle = -1;
  private activeCount = 0;
  private seq = 0;
  private lastLeftoverScan = 0;
  private waiter?: (q: QueuedPodInfo | undefined) => void;
  private closed = false;
  private timer?: NodeJS.Timeout;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxUnschedulableMs: number;
  private readonly now: () => number;

  constructor(opts: QueueOptions = {}) {
    this.initialBackoffMs = opts.initialBackoffMs ?? 1000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 10_000;
    this.maxUnschedulableMs = opts.maxUnschedulableMs ?? 5 * 60_000;
    this.now = opts.now ?? Date.now;
    if (opts.timers !== false) {
      this.timer = setInterval(() => this.flush(), 200);
      this.timer.unref?.();
    }
  }

  backoffDuration(qpi: QueuedPodInfo): number {
    let d = this.initialBackoffMs;
    for (let i = 1; i < qpi.attempts && d < this.maxBackoffMs; i++) d *= 2;
    return Math.min(d, this.maxBackoffMs);
  }

  backoffExpiry(qpi: QueuedPodInfo): number {
    return qpi.lastFailure + this.backoffDuration(qpi);
  }

  private isBackingOff(qpi: QueuedPodInfo): boolean {
    return qpi.attempts > 0 && this.backoffExpiry(qpi) > this.now();
  }

  get cycle(): number {
    return this.schedulingCycle;
  }

  /** Sizes, for metrics and tests. */
  stats(): { active: number; backoff: number; unschedulable: number; inFlight: number } {
    let backoff = 0;
    for (const w of this.where.values()) if (w.q === 'backoff') backoff++;
    return { active: this.activeCount, backoff, unschedulable: this.unschedulable.size, inFlight: this.inFlight.size };
  }

  has(key: string): boolean {
    return this.where.has(key) || this.inFlight.has(key);
  }

  private put(qpi: QueuedPodInfo, q: Where): void {
    const key = qpi.info.key;
    const prev = this.where.get(key);
    if (prev?.q === 'active') this.activeCount--;
    if (prev?.q === 'unschedulable') this.unschedulable.delete(key);
    this.where.set(key, { q, qpi });
    if (q === 'active') {
      this.activeCount++;
      this.active.push(qpi);
      this.wake();
    } else if (q === 'backoff') this.backoff.push(qpi);
    else {
      qpi.unschedulableSince = this.now();
      this.unschedulable.set(key, qpi);
    }
  }

  private wake(): void {
    if (!this.waiter) return;
    const q = this.tryPop();
    if (!q) return;
    const w = this.waiter;
    this.waiter = undefined;
    w(q);
  }

  /** A new pending pod. */
  add(info: PodInfo): void {
    if (this.closed) return;
    const cur = this.where.get(info.key) ?? (this.inFlight.has(info.key) ? { q: 'inflight', qpi: this.inFlight.get(info.key)! } : undefined);
    if (cur) {
      cur.qpi.info = info;
      return;
    }
    this.put({ info, attempts: 0, lastFailure: 0, unschedulableSince: 0, seq: this.seq++ }, 'active');
  }

  /**
   * The pending pod changed. A change to what it asks for (specChanged) may make it
   * schedulable: unschedulable pods move on.
   */
  update(info: PodInfo, specChanged: boolean): void {
    const cur = this.where.get(info.key);
    const flying = this.inFlight.get(info.key);
    if (flying) flying.info = info;
    if (!cur) {
      if (!flying) this.add(info);
      return;
    }
    cur.qpi.info = info;
    if (cur.q === 'unschedulable' && specChanged) this.put(cur.qpi, this.isBackingOff(cur.qpi) ? 'backoff' : 'active');
  }

  delete(key: string): void {
    const cur = this.where.get(key);
    if (cur) {
      if (cur.q === 'active') this.activeCount--;
      if (cur.q === 'unschedulable') this.unschedulable.delete(key);
      this.where.delete(key);
    }
    this.inFlight.delete(key);
  }

  /** The next pod to schedule, without waiting. */
  tryPop(): QueuedPodInfo | undefined {
    for (;;) {
      const qpi = this.active.pop();
      if (!qpi) return undefined;
      const w = this.where.get(qpi.info.key);
      if (!w || w.qpi !== qpi || w.q !== 'active') continue; // stale heap entry
      this.where.delete(qpi.info.key);
      this.activeCount--;
      qpi.attempts++;
      this.schedulingCycle++;
      this.inFlight.set(qpi.info.key, qpi);
      return qpi;
    }
  }

  /** The next pod to schedule; waits for one. Resolves undefined once closed. */
  pop(): Promise<QueuedPodInfo | undefined> {
    const q = this.tryPop();
    if (q || this.closed) return Promise.resolve(q);
    return new Promise((resolve) => (this.waiter = resolve));
  }

  /** Scheduling (and binding) of a popped pod is over. */
  done(key: string): void {
    this.inFlight.delete(key);
  }

  /**
   * A popped pod did not get a node. `unschedulable`: no node fits (wait for an
   * event); otherwise an error (retry after back-off). If something moved while it
   * was being scheduled, it goes to back-off instead of waiting for another event.
   */
  requeue(qpi: QueuedPodInfo, cycle: number, unschedulable: boolean): void {
    const key = qpi.info.key;
    if (this.inFlight.get(key) !== qpi) return; // deleted meanwhile
    this.inFlight.delete(key);
    if (this.closed) return;
    qpi.lastFailure = this.now();
    if (!unschedulable || this.moveRequestCycle >= cycle) this.put(qpi, 'backoff');
    else this.put(qpi, 'unschedulable');
  }

  /** A cluster event that may help unschedulable pods: move those (that `filter` accepts) back. */
  moveAllToActiveOrBackoff(_event: string, filter?: (qpi: QueuedPodInfo) => boolean): void {
    for (const qpi of [...this.unschedulable.values()]) {
      if (filter && !filter(qpi)) continue;
      this.put(qpi, this.isBackingOff(qpi) ? 'backoff' : 'active');
    }
    this.moveRequestCycle = this.schedulingCycle;
  }

  /** Back-off completed → active; pods unschedulable for too long → active/back-off. */
  flush(): void {
    const now = this.now();
    for (;;) {
      const top = this.backoff.peek();
      if (!top) break;
      const w = this.where.get(top.info.key);
      if (!w || w.qpi !== top || w.q !== 'backoff') {
        this.backoff.pop();
        continue;
      }
      if (this.backoffExpiry(top) > now) break;
      this.backoff.pop();
      this.put(top, 'active');
    }
    if (now - this.lastLeftoverScan < 5000 && this.timer) return;
    this.lastLeftoverScan = now;
    for (const qpi of [...this.unschedulable.values()]) {
      if (now - qpi.unschedulableSince >= this.maxUnschedulableMs) this.put(qpi, this.isBackingOff(qpi) ? 'backoff' : 'active');
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    const w = this.waiter;
    this.waiter = undefined;
    w?.(undefined);
  }
}
