// A work queue that also stops what a controller started for itself (private
// informers, clients) when the manager shuts the queue down.
import { WorkQueue } from '../../client/workqueue.js';

export class StoppingQueue extends WorkQueue {
  constructor(private readonly onStop: () => void) {
    super();
  }

  override shutDown(): void {
    super.shutDown();
    this.onStop();
  }
}
