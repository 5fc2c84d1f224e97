// Periodic datastore compaction (upstream compacts every 5 minutes): history
// older than the revision seen one interval ago is dropped.
import type { Logger } from 'pino';
import type { Datastore } from '../datastore/types.js';

export class Compactor {
  private timer?: NodeJS.Timeout;
  private last = 0;

  constructor(private readonly ds: Datastore, private readonly log: Logger, private readonly intervalMs = 5 * 60_000) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  async tick(): Promise<void> {
    try {
      const rev = await this.ds.currentRevision();
      if (this.last > 0 && this.last > (await this.ds.compactedRevision())) {
        await this.ds.compact(this.last);
        this.log.debug({ revision: this.last }, 'compacted');
      }
      this.last = rev;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'compaction failed');
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
