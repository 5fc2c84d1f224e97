// An in-memory stand-in for ApiClient, for controller unit tests: enough of
// the REST API (list, watch, get, create with generateName, PUT with
// resourceVersion conflicts, status subresource, JSON/merge patch, delete) to
// drive informers and controllers deterministically with an injected clock.
import type { KubeObject } from '../api/kind.js';
import { ApiError, type ApiClient, type WatchEventOf, type WatchHandle } from '../client/api.js';

interface Parsed {
  resource: string;
  namespace?: string;
  name?: string;
  sub?: string;
  query: URLSearchParams;
}

function parse(path: string): Parsed {
  const [p, q] = path.split('?');
  const segs = p.split('/').filter(Boolean);
  // /api/v1/... or /apis/<group>/<version>/...
  let rest = segs[0] === 'api' ? segs.slice(2) : segs.slice(3);
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = decodeURIComponent(rest[1]);
    rest = rest.slice(2);
  }
  return { resource: rest[0], name: rest[1] && decodeURIComponent(rest[1]), sub: rest[2], namespace, query: new URLSearchParams(q ?? '') };
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v));

export class FakeApi {
  private rv = 1;
  private uid = 1;
  private names = 1;
  readonly store = new Map<string, Map<string, KubeObject>>();
  private watchers: { resource: string; namespace?: string; cb: (ev: WatchEventOf<KubeObject>) => void }[] = [];
  /** every mutating request, for assertions: "POST jobs default/x" */
  readonly log: string[] = [];

  constructor(public now: () => number = Date.now) {}

  get asClient(): ApiClient {
    return this as unknown as ApiClient;
  }

  items(resource: string, namespace?: string): KubeObject[] {
    return [...(this.store.get(resource)?.values() ?? [])].filter((o) => namespace === undefined || o.metadata?.namespace === namespace);
  }

  get(resource: string, namespace: string, name: string): KubeObject | undefined {
    return this.store.get(resource)?.get(`${namespace}/${name}`);
  }

  private emit(resource: string, type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KubeObject): void {
    for (const w of this.watchers) {
      if (w.resource !== resource || (w.namespace && w.namespace !== obj.metadata?.namespace)) continue;
      const copy = clone(obj);
      queueMicrotask(() => w.cb({ type, object: copy }));
    }
  }

  /** Write an object directly (as another component would), notifying watchers. */
  put(resource: string, obj: KubeObject): KubeObject {
    const m = this.store.get(resource) ?? new Map();
    this.store.set(resource, m);
    const key = `${obj.metadata!.namespace}/${obj.metadata!.name}`;
    const existed = m.has(key);
    const o = clone(obj);
    o.metadata!.resourceVersion = String(++this.rv);
    if (o.metadata!.deletionTimestamp && !o.metadata!.finalizers?.length) {
      m.delete(key);
      this.emit(resource, 'DELETED', o);
      return o;
    }
    m.set(key, o);
    this.emit(resource, existed ? 'MODIFIED' : 'ADDED', o);
    return clone(o);
  }

  private remove(resource: string, key: string): void {
    const m = this.store.get(resource);
    const o = m?.get(key);
    if (!o) return;
    m!.delete(key);
    o.metadata!.resourceVersion = String(++this.rv);
    this.emit(resource, 'DELETED', o);
  }

  async request<T = KubeObject>(method: string, path: string, body?: any): Promise<T> {
    const p = parse(path);
    const m = this.store.get(p.resource) ?? new Map<string, KubeObject>();
    this.store.set(p.resource, m);
    const key = `${p.namespace}/${p.name}`;
    const notFound = () => new ApiError(404, 'NotFound', `${p.resource} "${p.name}" not found`);
    if (method !== 'GET') this.log.push(`${method} ${p.resource}${p.sub ? '/' + p.sub : ''} ${p.namespace}/${p.name ?? body?.metadata?.name ?? body?.metadata?.generateName ?? ''}`);
    switch (method) {
      case 'GET': {
        if (p.name) {
          const o = m.get(key);
          if (!o) throw notFound();
          return clone(o) as T;
        }
        return { metadata: { resourceVersion: String(this.rv) }, items: this.items(p.resource, p.namespace).map(clone) } as T;
      }
      case 'POST': {
        const o = clone(body);
        o.metadata ??= {};
        o.metadata.namespace ??= p.namespace;
        if (!o.metadata.name && o.metadata.generateName) o.metadata.name = `${o.metadata.generateName}${(this.names++).toString(36).padStart(5, 'x')}`;
        if (m.has(`${o.metadata.namespace}/${o.metadata.name}`)) throw new ApiError(409, 'AlreadyExists', `${p.resource} "${o.metadata.name}" already exists`);
        o.metadata.uid = `uid-${this.uid++}`;
        o.metadata.creationTimestamp = new Date(this.now()).toISOString().replace(/\.\d+Z$/, 'Z');
        return this.put(p.resource, o) as T;
      }
      case 'PUT': {
        const cur = m.get(key);
        if (!cur) throw notFound();
        if (body.metadata?.resourceVersion && body.metadata.resourceVersion !== cur.metadata!.resourceVersion) throw new ApiError(409, 'Conflict', 'the object has been modified');
        const next = clone(cur);
        if (p.sub === 'status') next.status = clone(body.status);
        else Object.assign(next, clone({ ...body, status: cur.status }));
        return this.put(p.resource, next) as T;
      }
      case 'PATCH': {
        const cur = m.get(key);
        if (!cur) throw notFound();
        const next: any = clone(cur);
        if (Array.isArray(body)) {
          for (const op of body) {
            const parts = String(op.path).split('/').slice(1);
            const last = parts.pop()!;
            const parent = parts.reduce((a: any, k) => a?.[k], next);
            if (op.op === 'test' && JSON.stringify(parent?.[last]) !== JSON.stringify(op.value)) throw new ApiError(422, 'Invalid', 'test failed');
            if (op.op === 'remove') Array.isArray(parent) ? parent.splice(Number(last), 1) : delete parent[last];
          }
        } else {
          const merge = (a: any, b: any) => {
            for (const [k, v] of Object.entries(b)) {
              if (v === null) delete a[k];
              else if (v && typeof v === 'object' && !Array.isArray(v) && a[k] && typeof a[k] === 'object') merge(a[k], v);
              else a[k] = v;
            }
          };
          merge(next, body);
        }
        return this.put(p.resource, next) as T;
      }
      case 'DELETE': {
        const cur = m.get(key);
        if (!cur) throw notFound();
        if (body?.preconditions?.uid && body.preconditions.uid !== cur.metadata!.uid) throw new ApiError(409, 'Conflict', 'uid precondition');
        if (cur.metadata!.finalizers?.length) {
          const next = clone(cur);
          next.metadata!.deletionTimestamp ??= new Date(this.now()).toISOString();
          return this.put(p.resource, next) as T;
        }
        this.remove(p.resource, key);
        return { kind: 'Status', status: 'Success' } as T;
      }
    }
    throw new ApiError(405, 'MethodNotAllowed', method);
  }

  watch<T>(path: string, onEvent: (ev: WatchEventOf<T>) => void, _onClose: (err?: Error) => void): WatchHandle {
    const p = parse(path);
    const w = { resource: p.resource, namespace: p.namespace, cb: onEvent as (ev: WatchEventOf<KubeObject>) => void };
    this.watchers.push(w);
    return { stop: () => (this.watchers = this.watchers.filter((x) => x !== w)) };
  }
}

/** Let queued watch events and handlers run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}
