// Pod garbage collector: force-deletes pods bound to nodes that no longer exist
// and terminating pods that were never scheduled, and keeps the number of
// terminated (Succeeded/Failed) pods under a threshold by deleting the oldest
// (upstream --terminated-pod-gc-threshold, default 12500).
import type { KubeObject } from '../api/kind.js';
import { isConflict, isNotFound } from '../client/api.js';
import type { Reconciler } from '../client/controller.js';
import type { InformerFactory } from '../client/factory.js';
import { keyOf, type Informer } from '../client/informer.js';
import { WorkQueue } from '../client/workqueue.js';
import type { ControllerOptions } from './manager.js';

export const defaultTerminatedPodThreshold = 12_500;
/** queue key of the periodic terminated-pod sweep (pod keys always contain '/') */
const sweepKey = '#terminated';
const sweepEveryMs = 20_000;

const isTerminated = (p: KubeObject) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';

export class PodGcController implements Reconciler {
  readonly name = 'pod-gc';
  readonly queue = new WorkQueue();
  readonly pods: Informer;
  readonly nodes: Informer;
  private terminated = 0;

  constructor(
    private readonly factory: InformerFactory,
    _opts?: ControllerOptions,
    _recorder?: unknown,
    private readonly threshold = defaultTerminatedPodThreshold,
  ) {
    this.pods = factory.informer('', 'pods');
    this.nodes = factory.informer('', 'nodes');
    this.pods.addIndexer('spec.nodeName', (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []));
    const count = (p: KubeObject, d: number) => {
      if (isTerminated(p)) this.terminated += d;
    };
    this.pods.addEventHandler({
      onAdd: (p) => {
        count(p, 1);
        this.check(p);
      },
      onUpdate: (o, p) => {
        count(o, -1);
        count(p, 1);
        this.check(p);
      },
      onDelete: (p) => count(p, -1),
    });
    this.nodes.addEventHandler({
      // every pod of a deleted node is an orphan now
      onDelete: (n) => {
        for (const p of this.pods.byIndex('spec.nodeName', n.metadata!.name!)) this.queue.add(keyOf(p));
      },
    });
    this.queue.add(sweepKey);
  }

  private check(p: KubeObject): void {
    const node = p.spec?.nodeName;
    if ((node && !this.nodes.get(node)) || (!node && p.metadata?.deletionTimestamp)) this.queue.add(keyOf(p));
    if (this.terminated > this.threshold) this.queue.add(sweepKey);
  }

  async reconcile(key: string): Promise<void | number> {
    if (key === sweepKey) {
      await this.sweepTerminated();
      return sweepEveryMs;
    }
    const pod = this.pods.get(key);
    if (!pod) return;
    const node: string | undefined = pod.spec?.nodeName;
    if (node) {
      if (this.nodes.get(node)) return;
      // the cache may lag behind a node that was just created: ask the API
      try {
        await this.factory.api.request('GET', `/api/v1/nodes/${encodeURIComponent(node)}`);
        return;
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    } else if (!pod.metadata?.deletionTimestamp) return;
    await this.forceDelete(pod);
  }

  private async forceDelete(pod: KubeObject): Promise<void> {
    await this.factory.api
      .request('DELETE', `/api/v1/namespaces/${encodeURIComponent(pod.metadata!.namespace!)}/pods/${encodeURIComponent(pod.metadata!.name!)}`, {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        gracePeriodSeconds: 0,
        preconditions: { uid: pod.metadata!.uid },
      })
      .catch((e) => {
        if (!isNotFound(e) && !isConflict(e)) throw e;
      });
  }

  private async sweepTerminated(): Promise<void> {
    if (this.terminated <= this.threshold) return;
    const done = this.pods.list().filter((p) => isTerminated(p) && !p.metadata?.deletionTimestamp);
    const excess = done.length - this.threshold;
    if (excess <= 0) return;
    done.sort((a, b) => (a.metadata?.creationTimestamp ?? '').localeCompare(b.metadata?.creationTimestamp ?? '') || keyOf(a).localeCompare(keyOf(b)));
    const victims = done.slice(0, excess);
    for (let i = 0; i < victims.length; i += 16) await Promise.all(victims.slice(i, i + 16).map((p) => this.forceDelete(p)));
  }
}
