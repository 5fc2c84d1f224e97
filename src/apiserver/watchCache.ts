// The watch cache: every current object plus a ring of recent events, fed by
// one datastore watch on /registry/. LIST, GET-from-cache and WATCH fan-out are
// served from here, so they never hit the datastore. Each object version is
// encoded to JSON at most once and those bytes are shared by every reader.
import type { KubeObject } from '../api/kind.js';
import type { Datastore, KeyValue, Watch, WatchEvent } from '../datastore/types.js';
import { DatastoreError } from '../datastore/types.js';
import { Codec, storageResourceOfKey } from './codec.js';
import type { Logger } from 'pino';

export class CachedObject {
  private bytes?: Buffer;
  constructor(
    public readonly key: string,
    public readonly rv: number,
    /** treat as immutable: shared by every reader */
    public readonly obj: KubeObject,
  ) {}

  get namespace(): string {
    return this.obj.metadata?.namespace ?? '';
  }

  json(): Buffer {
    return (this.bytes ??= Buffer.from(JSON.stringify(this.obj)));
  }
}

export interface CacheEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  resource: string;
  rv: number;
  object: CachedObject;
  prev?: CachedObject;
}

type Listener = (ev: CacheEvent) => void;

export class WatchCache {
  private readonly objects = new Map<string, Map<string, CachedObject>>();
  private readonly ring: CacheEvent[] = [];
  private ringStart = 0;
  private readonly listeners = new Map<string, Set<Listener>>();
  private waiters: { rv: number; resolve: () => void }[] = [];
  private watch?: Watch;
  private _revision = 0;
  /** the oldest revision from which a watch can be served (exclusive) */
  private oldest = 0;
  private restarting = false;
  stopped = false;

  constructor(
    private readonly store: Datastore,
    private readonly codec: Codec,
    private readonly log: Logger,
    private readonly capacity = 50_000,
  ) {}

  get revision(): number {
    return this._revision;
  }

  get oldestRevision(): number {
    return this.oldest;
  }

  async start(): Promise<void> {
    const list = await this.store.list('/registry/');
    this.objects.clear();
    for (const kv of list.kvs) {
      const res = storageResourceOfKey(kv.key);
      const obj = this.decode(res, kv);
      if (obj) this.bucket(res).set(kv.key, obj);
    }
    this._revision = list.revision;
    this.oldest = list.revision;
    this.ring.length = 0;
    this.ringStart = 0;
    this.startWatch(list.revision + 1);
  }

  private startWatch(from: number): void {
    this.watch = this.store.watch('/registry/', from, (evs) => this.apply(evs), (err) => this.onWatchError(err));
  }

  private onWatchError(err: Error): void {
    if (this.stopped || this.restarting) return;
    this.log.warn({ err: err.message }, 'datastore watch failed; resyncing the watch cache');
    this.restarting = true;
    const retry = async (delay: number): Promise<void> => {
      if (this.stopped) return;
      try {
        if (err instanceof DatastoreError && err.code === 'Compacted') {
          await this.resync();
        } else {
          this.startWatch(this._revision + 1);
        }
        this.restarting = false;
      } catch (e) {
        setTimeout(() => void retry(Math.min(delay * 2, 5000)), delay).unref();
      }
    };
    void retry(100);
  }

  /** Relist after losing the watch: emit the differences as events so watchers stay correct. */
  private async resync(): Promise<void> {
    const list = await this.store.list('/registry/');
    const seen = new Set<string>();
    const evs: WatchEvent[] = [];
    for (const kv of list.kvs) {
      seen.add(kv.key);
      const cur = this.bucket(storageResourceOfKey(kv.key)).get(kv.key);
      if (!cur || cur.rv !== kv.modRevision) evs.push({ type: 'PUT', kv });
    }
    for (const [, bucket] of this.objects) {
      for (const [key, cur] of bucket) {
        if (!seen.has(key)) evs.push({ type: 'DELETE', kv: { key, value: new Uint8Array(), createRevision: 0, modRevision: list.revision } });
      }
    }
    this.apply(evs, list.revision);
    this.startWatch(list.revision + 1);
  }

  stop(): void {
    this.stopped = true;
    this.watch?.cancel();
  }

  private bucket(resource: string): Map<string, CachedObject> {
    let b = this.objects.get(resource);
    if (!b) this.objects.set(resource, (b = new Map()));
    return b;
  }

  private decode(resource: string, kv: KeyValue): CachedObject | undefined {
    try {
      return new CachedObject(kv.key, kv.modRevision, this.codec.decode(resource, kv));
    } catch (err) {
      this.log.error({ key: kv.key, err: (err as Error).message }, 'cannot decode stored object; skipped');
      return undefined;
    }
  }

  private apply(evs: WatchEvent[], atRevision?: number): void {
    for (const ev of evs) {
      const resource = storageResourceOfKey(ev.kv.key);
      const bucket = this.bucket(resource);
      const prev = bucket.get(ev.kv.key);
      let cev: CacheEvent | undefined;
      if (ev.type === 'PUT') {
        const obj = this.decode(resource, ev.kv);
        if (!obj) continue;
        bucket.set(ev.kv.key, obj);
        cev = { type: prev ? 'MODIFIED' : 'ADDED', resource, rv: ev.kv.modRevision, object: obj, prev };
      } else {
        if (!prev) {
          this._revision = Math.max(this._revision, ev.kv.modRevision);
          continue;
        }
        bucket.delete(ev.kv.key);
        // a deleted object is reported with its last state at the deletion's revision
        const meta = { ...prev.obj.metadata, resourceVersion: String(ev.kv.modRevision) };
        const gone = new CachedObject(ev.kv.key, ev.kv.modRevision, { ...prev.obj, metadata: meta });
        cev = { type: 'DELETED', resource, rv: ev.kv.modRevision, object: gone, prev };
      }
      this._revision = Math.max(this._revision, ev.kv.modRevision);
      this.pushRing(cev);
      const ls = this.listeners.get(resource);
      if (ls) for (const l of ls) l(cev);
    }
    if (atRevision !== undefined) this._revision = Math.max(this._revision, atRevision);
    if (this.waiters.length) {
      const ready = this.waiters.filter((w) => w.rv <= this._revision);
      this.waiters = this.waiters.filter((w) => w.rv > this._revision);
      for (const w of ready) w.resolve();
    }
  }

  private pushRing(ev: CacheEvent): void {
    this.ring.push(ev);
    if (this.ring.length - this.ringStart > this.capacity) {
      this.oldest = this.ring[this.ringStart].rv;
      this.ringStart++;
      // compact the array now and then instead of shifting on every event
      if (this.ringStart > this.capacity / 2) {
        this.ring.splice(0, this.ringStart);
        this.ringStart = 0;
      }
    }
  }

  /** Resolve once the cache has applied revision `rv` (or reject after timeoutMs). */
  waitFor(rv: number, timeoutMs = 3000): Promise<void> {
    if (rv <= this._revision) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`watch cache did not reach revision ${rv} in ${timeoutMs}ms (at ${this._revision})`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push({ rv, resolve: done });
    });
  }

  get(resource: string, key: string): CachedObject | undefined {
    return this.objects.get(resource)?.get(key);
  }

  /** Objects whose key starts with prefix, sorted by key. */
  list(resource: string, prefix: string): CachedObject[] {
    const bucket = this.objects.get(resource);
    if (!bucket) return [];
    const out: CachedObject[] = [];
    for (const [key, o] of bucket) if (key.startsWith(prefix)) out.push(o);
    out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return out;
  }

  count(resource: string): number {
    return this.objects.get(resource)?.size ?? 0;
  }

  resources(): string[] {
    return [...this.objects.keys()];
  }

  /** Events of `resource` with rv > fromRv, or 'expired' when the ring no longer reaches back that far. */
  eventsSince(resource: string, fromRv: number): CacheEvent[] | 'expired' {
    if (fromRv < this.oldest) return 'expired';
    const out: CacheEvent[] = [];
    // binary search for the first event with rv > fromRv
    let lo = this.ringStart;
    let hi = this.ring.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ring[mid].rv <= fromRv) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.ring.length; i++) if (this.ring[i].resource === resource) out.push(this.ring[i]);
    return out;
  }

  subscribe(resource: string, l: Listener): () => void {
    let set = this.listeners.get(resource);
    if (!set) this.listeners.set(resource, (set = new Set()));
    set.add(l);
    return () => set!.delete(l);
  }

  watcherCount(): number {
    let n = 0;
    for (const s of this.listeners.values()) n += s.size;
    return n;
  }
}
