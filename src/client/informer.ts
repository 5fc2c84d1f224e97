// An informer: LIST, then WATCH from the list's resourceVersion, keeping a local
// cache with indexes. It resumes from the last seen resourceVersion, relists on
// 410 Gone, follows bookmarks, and reconnects with back-off forever, so callers
// never restart anything. Event handlers should only enqueue keys.
import type { KubeObject } from '../api/kind.js';
import { isGone } from './api.js';
import type { ResourceClient, WatchOptions } from './resource.js';
import type { WatchHandle } from './api.js';

export interface EventHandlers<T> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T): void;
}

export type IndexFunc<T> = (obj: T) => string[];

/** 'namespace/name', or 'name' for cluster-scoped objects (client-go's MetaNamespaceKeyFunc). */
export function keyOf(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${obj.metadata!.name}` : obj.metadata!.name!;
}

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export interface InformerOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** call onUpdate for every object this often (level-triggered safety net); 0 = never */
  resyncMs?: number;
}

export class Informer<T extends KubeObject = KubeObject> {
  private readonly items = new Map<string, T>();
  private readonly handlers: EventHandlers<T>[] = [];
  private readonly indexers = new Map<string, IndexFunc<T>>();
  private readonly indexes = new Map<string, Map<string, Set<string>>>();
  private lastRv = '';
  private watch?: WatchHandle;
  private stopped = false;
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private backoff = 100;
  private resyncTimer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;

  constructor(public readonly client: ResourceClient<T>, private readonly opts: InformerOptions = {}) {
    this.addIndexer('namespace', (o) => [o.metadata?.namespace ?? '']);
  }

  addEventHandler(h: EventHandlers<T>): void {
    this.handlers.push(h);
    // a handler added late still hears about what is already cached
    if (this.synced) for (const o of this.items.values()) h.onAdd?.(o);
  }

  addIndexer(name: string, fn: IndexFunc<T>): void {
    this.indexers.set(name, fn);
    const idx = new Map<string, Set<string>>();
    this.indexes.set(name, idx);
    for (const [key, o] of this.items) for (const v of fn(o)) this.indexAdd(idx, v, key);
  }

  private indexAdd(idx: Map<string, Set<string>>, value: string, key: string): void {
    let s = idx.get(value);
    if (!s) idx.set(value, (s = new Set()));
    s.add(key);
  }

  private reindex(key: string, oldObj: T | undefined, newObj: T | undefined): void {
    for (const [name, fn] of this.indexers) {
      const idx = this.indexes.get(name)!;
      if (oldObj) for (const v of fn(oldObj)) idx.get(v)?.delete(key);
      if (newObj) for (const v of fn(newObj)) this.indexAdd(idx, v, key);
    }
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once the first LIST is in the cache. */
  start(): Promise<void> {
    void this.run();
    if (this.opts.resyncMs) {
      this.resyncTimer = setInterval(() => {
        for (const o of this.items.values()) for (const h of this.handlers) h.onUpdate?.(o, o);
      }, this.opts.resyncMs);
      this.resyncTimer.unref?.();
    }
    return this.waitForSync();
  }

  waitForSync(): Promise<void> {
    return this.synced ? Promise.resolve() : new Promise((r) => this.syncWaiters.push(r));
  }

  stop(): void {
    this.stopped = true;
    this.watch?.stop();
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  list(namespace?: string): T[] {
    if (namespace === undefined) return [...this.items.values()];
    return this.byIndex('namespace', namespace);
  }

  byIndex(name: string, value: string): T[] {
    const keys = this.indexes.get(name)?.get(value);
    if (!keys) return [];
    const out: T[] = [];
    for (const k of keys) {
      const o = this.items.get(k);
      if (o) out.push(o);
    }
    return out;
  }

  private async run(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.relist();
      this.startWatch();
    } catch (err) {
      this.retry();
    }
  }

  private retry(): void {
    if (this.stopped) return;
    const delay = this.backoff;
    this.backoff = Math.min(this.backoff * 2, 5000);
    this.retryTimer = setTimeout(() => void this.run(), delay);
    this.retryTimer.unref?.();
  }

  private async relist(): Promise<void> {
    const fresh = new Map<string, T>();
    let cont: string | undefined;
    let rv = '';
    for (let page = 0; page < 100_000; page++) {
      const list = await this.client.list(this.opts.namespace, { labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector, limit: 500, continue: cont });
      for (const item of list.items) {
        // lists omit apiVersion/kind on items; handlers like to see them
        item.apiVersion ??= this.client.apiVersion;
        item.kind ??= this.client.ref.kind;
        fresh.set(keyOf(item), item);
      }
      rv = list.metadata.resourceVersion ?? rv;
      cont = list.metadata.continue;
      if (!cont) break;
    }
    // replace the cache, telling handlers what changed while we were away
    for (const [key, old] of this.items) {
      if (!fresh.has(key)) {
        this.items.delete(key);
        this.reindex(key, old, undefined);
        for (const h of this.handlers) h.onDelete?.(old);
      }
    }
    for (const [key, obj] of fresh) {
      const old = this.items.get(key);
      this.items.set(key, obj);
      this.reindex(key, old, obj);
      if (!old) for (const h of this.handlers) h.onAdd?.(obj);
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) for (const h of this.handlers) h.onUpdate?.(old, obj);
    }
    this.lastRv = rv;
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  private startWatch(): void {
    if (this.stopped) return;
    const opts: WatchOptions = { resourceVersion: this.lastRv, allowWatchBookmarks: true, labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector, timeoutSeconds: 300 + Math.floor(Math.random() * 300) };
    let gone = false;
    this.watch = this.client.watch(
      this.opts.namespace,
      opts,
      (ev) => {
        this.backoff = 100;
        if (ev.type === 'ERROR') {
          if ((ev.object as KubeObject)?.code === 410) gone = true;
          return;
        }
        const obj = ev.object;
        const rv = obj.metadata?.resourceVersion;
        if (ev.type === 'BOOKMARK') {
          if (rv) this.lastRv = rv;
          return;
        }
        obj.apiVersion ??= this.client.apiVersion;
        obj.kind ??= this.client.ref.kind;
        const key = keyOf(obj);
        const old = this.items.get(key);
        if (ev.type === 'DELETED') {
          this.items.delete(key);
          this.reindex(key, old, undefined);
          for (const h of this.handlers) h.onDelete?.(old ?? obj);
        } else {
          this.items.set(key, obj);
          this.reindex(key, old, obj);
          if (old) for (const h of this.handlers) h.onUpdate?.(old, obj);
          else for (const h of this.handlers) h.onAdd?.(obj);
        }
        if (rv) this.lastRv = rv;
      },
      (err) => {
        if (this.stopped) return;
        if (gone || isGone(err)) {
          // too old: start over with a fresh list
          this.lastRv = '';
          void this.run();
          return;
        }
        if (err) this.retry();
        else this.startWatch(); // normal timeout: resume where we were
      },
    );
  }
}
