// Runs a level-triggered controller: workers take keys from the queue and call
// reconcile(key); errors requeue with back-off, success forgets the back-off.
import type { Logger } from 'pino';
import { WorkQueue } from './workqueue.js';

export interface Reconciler {
  name: string;
  queue: WorkQueue;
  /** Read the caches, compare desired with actual, write the difference. Throw to retry. Return a number to requeue after that many ms. */
  reconcile(key: string): Promise<void | number>;
}

export function runWorkers(r: Reconciler, workers: number, log: Logger): () => void {
  let running = true;
  const worker = async () => {
    while (running) {
      const key = await r.queue.get();
      if (key === undefined) return;
      try {
        const after = await r.reconcile(key);
        r.queue.forget(key);
        if (typeof after === 'number' && after >= 0) r.queue.addAfter(key, after);
      } catch (err) {
        const n = r.queue.numRequeues(key);
        (n > 3 ? log.warn.bind(log) : log.debug.bind(log))({ controller: r.name, key, err: (err as Error)?.message ?? String(err), retries: n }, 'reconcile failed; retrying');
        r.queue.addRateLimited(key);
      } finally {
        r.queue.done(key);
      }
    }
  };
  for (let i = 0; i < workers; i++) void worker();
  return () => {
    running = false;
    r.queue.shutDown();
  };
}
