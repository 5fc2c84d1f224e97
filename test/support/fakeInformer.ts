// A stand-in for a shared Informer in unit tests and benchmarks: holds objects
// in memory and tells handlers about adds, updates and deletes, with no API
// server behind it. Only what event-driven consumers use is provided.
import type { KubeObject } from '../../src/api/kind.js';
import type { EventHandlers, Informer } from '../../src/client/informer.js';
import { keyOf } from '../../src/client/informer.js';

export class FakeInformer<T extends KubeObject> {
  private readonly items = new Map<string, T>();
  private readonly handlers: EventHandlers<T>[] = [];
  readonly hasSynced = true;

  addEventHandler(h: EventHandlers<T>): void {
    this.handlers.push(h);
    for (const o of this.items.values()) h.onAdd?.(o);
  }
  set(obj: T): void {
    const key = keyOf(obj);
    const old = this.items.get(key);
    this.items.set(key, obj);
    for (const h of this.handlers) old ? h.onUpdate?.(old, obj) : h.onAdd?.(obj);
  }
  delete(obj: T): void {
    const key = keyOf(obj);
    const old = this.items.get(key);
    if (!old) return;
    this.items.delete(key);
    for (const h of this.handlers) h.onDelete?.(old);
  }
  get(key: string): T | undefined {
    return this.items.get(key);
  }
  list(): T[] {
    return [...this.items.values()];
  }
  start(): Promise<void> {
    return Promise.resolve();
  }
  waitForSync(): Promise<void> {
    return Promise.resolve();
  }
  stop(): void {}
  /** typed as the real thing for APIs that take an Informer */
  get informer(): Informer<T> {
    return this as unknown as Informer<T>;
  }
}
