// Records core/v1 Events about objects, aggregating repeats like upstream: the
// same (object, type, reason, message) bumps count and lastTimestamp instead of
// creating a new Event.
import type { KubeObject } from '../api/kind.js';
import type { ApiClient } from './api.js';
import { isNotFound } from './api.js';

interface Seen {
  name: string;
  namespace: string;
  count: number;
  firstTimestamp: string;
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export class EventRecorder {
  private readonly seen = new Map<string, Seen>();
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly api: ApiClient, private readonly component: string, private readonly host = '') {}

  /** Fire and forget: events never fail the caller. */
  event(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.chain = this.chain.then(() => this.write(obj, type, reason, message)).catch(() => undefined);
  }

  /** Resolves when every event recorded so far has been written (tests, shutdown). */
  flush(): Promise<void> {
    return this.chain;
  }

  private async write(obj: KubeObject, type: string, reason: string, message: string): Promise<void> {
    const meta = obj.metadata ?? {};
    const namespace = meta.namespace || 'default';
    const key = [meta.uid, obj.kind, meta.namespace, meta.name, type, reason, message].join('\u0000');
    const prev = this.seen.get(key);
    const ts = now();
    if (prev) {
      prev.count++;
      try {
        await this.api.request('PATCH', `/api/v1/namespaces/${prev.namespace}/events/${prev.name}`, { count: prev.count, lastTimestamp: ts }, 'application/merge-patch+json');
        return;
      } catch (e) {
        if (!isNotFound(e)) throw e;
        this.seen.delete(key);
      }
    }
    const name = `${meta.name}.${(Date.now() * 1000 + Math.floor(Math.random() * 1000)).toString(16)}`;
    const ev = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: { kind: obj.kind, namespace: meta.namespace, name: meta.name, uid: meta.uid, apiVersion: obj.apiVersion, resourceVersion: meta.resourceVersion },
      reason,
      message,
      type,
      source: { component: this.component, ...(this.host ? { host: this.host } : {}) },
      reportingComponent: this.component,
      reportingInstance: this.host || this.component,
      firstTimestamp: ts,
      lastTimestamp: ts,
      count: 1,
    };
    await this.api.request('POST', `/api/v1/namespaces/${namespace}/events`, ev);
    this.seen.set(key, { name, namespace, count: 1, firstTimestamp: ts });
    if (this.seen.size > 10_000) this.seen.delete(this.seen.keys().next().value as string);
  }
}
