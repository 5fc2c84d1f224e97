// TTL-after-finished controller: deletes a finished Job (Complete or Failed)
// `spec.ttlSecondsAfterFinished` seconds after it finished, with background
// propagation so that the garbage collector removes its pods. It wakes up
// exactly when a Job expires instead of polling.
import type { KubeObject } from '../api/kind.js';
import { isNotFound } from '../client/api.js';
import type { Reconciler } from '../client/controller.js';
import type { EventRecorder } from '../client/events.js';
import type { InformerFactory } from '../client/factory.js';
import { keyOf, splitKey, type Informer } from '../client/informer.js';
import type { ResourceClient } from '../client/resource.js';
import { WorkQueue } from '../client/workqueue.js';
import { isJobFinished, jobFinishTime } from './jobutil.js';

export class TTLAfterFinishedController implements Reconciler {
  readonly name = 'ttl-after-finished';
  readonly queue = new WorkQueue();
  readonly jobs: Informer;
  private readonly client: ResourceClient;
  private readonly now: () => number;

  constructor(factory: InformerFactory, _opts?: unknown, _recorder?: EventRecorder, options: { now?: () => number } = {}) {
    this.now = options.now ?? Date.now;
    this.jobs = factory.informer('batch', 'jobs');
    this.client = factory.client('batch', 'jobs');
    const enqueue = (j: KubeObject) => {
      if (j.spec?.ttlSecondsAfterFinished != null && !j.metadata?.deletionTimestamp && isJobFinished(j)) this.queue.add(keyOf(j));
    };
    this.jobs.addEventHandler({ onAdd: enqueue, onUpdate: (_o, n) => enqueue(n) });
  }

  /** ms until the job expires (0 = now), or undefined if it never does. */
  private remaining(job: KubeObject): number | undefined {
    const ttl = job.spec?.ttlSecondsAfterFinished;
    if (ttl == null || job.metadata?.deletionTimestamp) return undefined;
    const finished = jobFinishTime(job);
    if (finished === undefined) return undefined;
    return Math.max(0, finished + ttl * 1000 - this.now());
  }

  async reconcile(key: string): Promise<void | number> {
    const cached = this.jobs.get(key);
    if (!cached) return;
    const left = this.remaining(cached);
    if (left === undefined) return;
    if (left > 0) return left;
    // the TTL may have been changed since the cache saw it: decide on a fresh copy
    const { namespace, name } = splitKey(key);
    let fresh: KubeObject;
    try {
      fresh = await this.client.get(namespace, name);
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    const again = this.remaining(fresh);
    if (again === undefined) return;
    if (again > 0) return again;
    try {
      await this.client.delete(namespace, name, { propagationPolicy: 'Background', preconditions: { uid: fresh.metadata!.uid, resourceVersion: fresh.metadata!.resourceVersion } });
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
  }
}
