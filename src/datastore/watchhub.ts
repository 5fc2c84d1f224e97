// In-process watch fan-out for the memory and sqlite backends.
// A watcher first replays committed history from its storage (in chunks, yielding to the
// event loop between them), then switches to live events published after each commit.
// The switch happens synchronously once replay has caught up with the committed revision,
// so no event is lost or delivered twice.
import type { Watch, WatchEvent } from './types.js';
import { compactedError } from './util.js';

export interface EventSource {
  /** Revision of the last committed write. */
  committedRevision(): number;
  compactedRevision(): number;
  /** Committed events with fromRev <= revision <= toRev on keys with the prefix, ascending, at most `limit`. */
  readEvents(prefix: string, fromRev: number, toRev: number, limit: number): WatchEvent[];
}

const REPLAY_CHUNK = 1000;

class HubWatcher implements Watch {
  live = false;
  cancelled = false;

  constructor(
    private readonly hub: WatchHub,
    readonly prefix: string,
    /** the next revision this watcher has not seen */
    public nextRev: number,
    readonly onEvents: (events: WatchEvent[]) => void,
    readonly onError: (err: Error) => void,
  ) {}

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.hub.remove(this);
  }

  deliver(events: WatchEvent[]): void {
    try {
      this.onEvents(events);
    } catch (err) {
      // A throwing consumer can no longer be trusted to have seen the batch: end the watch.
      this.fail(err as Error);
    }
  }

  fail(err: Error): void {
    if (this.cancelled) return;
    this.cancel();
    this.onError(err);
  }
}

export class WatchHub {
  private readonly watchers = new Set<HubWatcher>();

  constructor(private readonly source: EventSource) {}

  get size(): number {
    return this.watchers.size;
  }

  watch(prefix: string, fromRevision: number, onEvents: (events: WatchEvent[]) => void, onError: (err: Error) => void): Watch {
    const committed = this.source.committedRevision();
    // fromRevision <= 0 means "from now", like etcd's start_revision 0.
    const start = fromRevision > 0 ? fromRevision : committed + 1;
    const w = new HubWatcher(this, prefix, start, onEvents, onError);
    const compacted = this.source.compactedRevision();
    if (fromRevision > 0 && fromRevision <= compacted) {
      w.cancelled = true;
      queueMicrotask(() => onError(compactedError(fromRevision, compacted)));
      return w;
    }
    this.watchers.add(w);
    if (start > committed) {
      w.live = true;
    } else {
      setImmediate(() => this.replay(w));
    }
    return w;
  }

  remove(w: HubWatcher): void {
    this.watchers.delete(w);
  }

  /** Called after each commit with its events, in revision order. */
  publish(events: WatchEvent[]): void {
    if (events.length === 0 || this.watchers.size === 0) return;
    const lastRev = events[events.length - 1].kv.modRevision;
    for (const w of this.watchers) {
      if (!w.live) continue; // replay will read these from storage
      let batch: WatchEvent[] | undefined;
      for (const ev of events) {
        if (ev.kv.modRevision >= w.nextRev && ev.kv.key.startsWith(w.prefix)) (batch ??= []).push(ev);
      }
      w.nextRev = lastRev + 1;
      if (batch) w.deliver(batch);
    }
  }

  /** Fail watchers still replaying below the new compaction point. */
  compacted(revision: number): void {
    for (const w of this.watchers) {
      if (!w.live && w.nextRev <= revision) w.fail(compactedError(w.nextRev, revision));
    }
  }

  /** End every watch (datastore closing). */
  closeAll(err: Error): void {
    for (const w of [...this.watchers]) w.fail(err);
  }

  private replay(w: HubWatcher): void {
    if (w.cancelled) return;
    const compacted = this.source.compactedRevision();
    if (w.nextRev <= compacted) return w.fail(compactedError(w.nextRev, compacted));
    const hi = this.source.committedRevision();
    let events: WatchEvent[];
    try {
      events = this.source.readEvents(w.prefix, w.nextRev, hi, REPLAY_CHUNK);
    } catch (err) {
      return w.fail(err as Error);
    }
    w.nextRev = events.length === REPLAY_CHUNK ? events[events.length - 1].kv.modRevision + 1 : hi + 1;
    if (events.length > 0) w.deliver(events);
    if (w.cancelled) return;
    if (w.nextRev > this.source.committedRevision()) w.live = true;
    else setImmediate(() => this.replay(w));
  }
}
