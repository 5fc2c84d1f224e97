// In-memory datastore for tests: same semantics as sqlite/etcd, nothing persisted.
// Every key keeps its history (so reads at older revisions work until compaction), and a
// global event log (one event per revision) feeds watch replay.
import type { Datastore, KeyValue, ListOptions, ListResult, Watch, WatchEvent } from './types.js';
import { WatchHub } from './watchhub.js';
import { closedError, compactedError, conflict, futureError, keyExists, listStart, notFound } from './util.js';

interface Version {
  kv: KeyValue;
  deleted: boolean;
}

/** Index of the first element >= key. */
function lowerBound(arr: string[], key: string): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class MemoryDatastore implements Datastore {
  private rev = 0;
  private compactRev = 0;
  /** key -> versions, ascending by modRevision; the last one may be a deletion */
  private readonly history = new Map<string, Version[]>();
  /** every key in `history`, sorted */
  private readonly keys: string[] = [];
  /** events with revision > compactRev; events[i] has revision eventBase + i */
  private events: WatchEvent[] = [];
  private eventBase = 1;
  private pending: WatchEvent[] = [];
  private closed = false;
  private readonly hub = new WatchHub({
    committedRevision: () => this.rev,
    compactedRevision: () => this.compactRev,
    readEvents: (prefix, from, to, limit) => {
      const out: WatchEvent[] = [];
      for (let r = Math.max(from, this.eventBase); r <= to && out.length < limit; r++) {
        const ev = this.events[r - this.eventBase];
        if (ev && ev.kv.key.startsWith(prefix)) out.push(ev);
      }
      return out;
    },
  });

  async start(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true;
    this.hub.closeAll(closedError());
  }

  async currentRevision(): Promise<number> {
    return this.rev;
  }

  async compactedRevision(): Promise<number> {
    return this.compactRev;
  }

  private readRevision(revision: number | undefined): number {
    if (this.closed) throw closedError();
    if (!revision || revision <= 0) return this.rev;
    if (revision > this.rev) throw futureError(revision, this.rev);
    if (revision < this.compactRev) throw compactedError(revision, this.compactRev);
    return revision;
  }

  private versionAt(key: string, rev: number): Version | undefined {
    const versions = this.history.get(key);
    if (!versions) return undefined;
    for (let i = versions.length - 1; i >= 0; i--) {
      if (versions[i].kv.modRevision <= rev) return versions[i];
    }
    return undefined;
  }

  private live(key: string): KeyValue | undefined {
    const versions = this.history.get(key);
    const last = versions?.[versions.length - 1];
    return last && !last.deleted ? last.kv : undefined;
  }

  async get(key: string, opts?: { revision?: number }): Promise<KeyValue | undefined> {
    const rev = this.readRevision(opts?.revision);
    const v = this.versionAt(key, rev);
    return v && !v.deleted ? v.kv : undefined;
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    const rev = this.readRevision(opts.revision);
    const limit = opts.limit && opts.limit > 0 ? opts.limit : Infinity;
    const kvs: KeyValue[] = [];
    let more = false;
    for (let i = lowerBound(this.keys, listStart(prefix, opts.startKey)); i < this.keys.length; i++) {
      const key = this.keys[i];
      if (!key.startsWith(prefix)) break;
      const v = this.versionAt(key, rev);
      if (!v || v.deleted) continue;
      if (kvs.length === limit) {
        more = true;
        break;
      }
      kvs.push(v.kv);
    }
    return { kvs, revision: rev, more };
  }

  async count(prefix: string): Promise<number> {
    if (this.closed) throw closedError();
    let n = 0;
    for (let i = lowerBound(this.keys, prefix); i < this.keys.length && this.keys[i].startsWith(prefix); i++) {
      if (this.live(this.keys[i])) n++;
    }
    return n;
  }

  async create(key: string, value: Uint8Array): Promise<KeyValue> {
    if (this.closed) throw closedError();
    if (this.live(key)) throw keyExists(key);
    const rev = this.rev + 1;
    const kv: KeyValue = { key, value: new Uint8Array(value), createRevision: rev, modRevision: rev };
    this.append(key, { kv, deleted: false }, { type: 'PUT', kv });
    return kv;
  }

  async update(key: string, value: Uint8Array, expectedModRevision: number): Promise<KeyValue> {
    if (this.closed) throw closedError();
    const cur = this.live(key);
    if (!cur) throw notFound(key);
    if (cur.modRevision !== expectedModRevision) throw conflict(key, expectedModRevision, cur);
    const kv: KeyValue = { key, value: new Uint8Array(value), createRevision: cur.createRevision, modRevision: this.rev + 1 };
    this.append(key, { kv, deleted: false }, { type: 'PUT', kv, prevKv: cur });
    return kv;
  }

  async delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    if (this.closed) throw closedError();
    const cur = this.live(key);
    if (!cur) throw notFound(key);
    if (expectedModRevision !== undefined && cur.modRevision !== expectedModRevision) {
      throw conflict(key, expectedModRevision, cur);
    }
    const kv: KeyValue = { key, value: cur.value, createRevision: cur.createRevision, modRevision: this.rev + 1 };
    this.append(key, { kv, deleted: true }, { type: 'DELETE', kv, prevKv: cur });
    return kv;
  }

  private append(key: string, version: Version, event: WatchEvent): void {
    this.rev++;
    let versions = this.history.get(key);
    if (!versions) {
      versions = [];
      this.history.set(key, versions);
      this.keys.splice(lowerBound(this.keys, key), 0, key);
    }
    versions.push(version);
    this.events.push(event);
    // Publish once per tick, like a group commit, so watchers get batches.
    if (this.pending.length === 0) queueMicrotask(() => this.flushEvents());
    this.pending.push(event);
  }

  private flushEvents(): void {
    const batch = this.pending;
    this.pending = [];
    this.hub.publish(batch);
  }

  watch(prefix: string, fromRevision: number, onEvents: (events: WatchEvent[]) => void, onError: (err: Error) => void): Watch {
    if (this.closed) {
      queueMicrotask(() => onError(closedError()));
      return { cancel() {} };
    }
    return this.hub.watch(prefix, fromRevision, onEvents, onError);
  }

  async compact(revision: number): Promise<void> {
    if (this.closed) throw closedError();
    if (revision > this.rev) throw futureError(revision, this.rev);
    if (revision <= this.compactRev) return;
    this.compactRev = revision;
    this.hub.compacted(revision);
    for (let i = 0; i < this.keys.length; i++) {
      const key = this.keys[i];
      const versions = this.history.get(key)!;
      // Keep the newest version at or before `revision` (the state at that revision) and all after it.
      let keepFrom = 0;
      for (let j = versions.length - 1; j >= 0; j--) {
        if (versions[j].kv.modRevision <= revision) {
          keepFrom = j;
          break;
        }
      }
      // ...except a deletion: at `revision` the key simply does not exist.
      if (versions[keepFrom].deleted && versions[keepFrom].kv.modRevision <= revision) keepFrom++;
      if (keepFrom >= versions.length) {
        this.history.delete(key);
        this.keys.splice(i, 1);
        i--;
      } else if (keepFrom > 0) {
        this.history.set(key, versions.slice(keepFrom));
      }
    }
    const drop = revision + 1 - this.eventBase;
    if (drop > 0) {
      this.events = this.events.slice(drop);
      this.eventBase = revision + 1;
    }
  }
}
