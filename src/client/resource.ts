// A client for one resource (group/version/resource): CRUD, status, patch,
// list and watch paths built the way the API server expects them.
import type { KubeObject } from '../api/kind.js';
import { ApiClient, type WatchEventOf, type WatchHandle } from './api.js';

export interface ResourceRef {
  group: string;
  version: string;
  resource: string;
  kind: string;
  namespaced: boolean;
}

export interface ListOf<T> {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion?: string; continue?: string };
  items: T[];
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export interface WatchOptions {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
}

export type PatchType = 'merge' | 'strategic' | 'json';
const patchContentType: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
};

function query(params: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export class ResourceClient<T extends KubeObject = KubeObject> {
  constructor(public readonly api: ApiClient, public readonly ref: ResourceRef) {}

  get apiVersion(): string {
    return this.ref.group ? `${this.ref.group}/${this.ref.version}` : this.ref.version;
  }

  path(namespace?: string, name?: string, subresource?: string): string {
    const { group, version, resource, namespaced } = this.ref;
    let p = group ? `/apis/${group}/${version}` : `/api/${version}`;
    if (namespaced && namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
    p += `/${resource}`;
    if (name) p += `/${encodeURIComponent(name)}`;
    if (subresource) p += `/${subresource}`;
    return p;
  }

  list(namespace?: string, opts: ListOptions = {}): Promise<ListOf<T>> {
    return this.api.request<ListOf<T>>('GET', this.path(namespace) + query({ ...opts }));
  }

  get(namespace: string | undefined, name: string): Promise<T> {
    return this.api.request<T>('GET', this.path(namespace, name));
  }

  create(obj: T, namespace = obj.metadata?.namespace): Promise<T> {
    return this.api.request<T>('POST', this.path(namespace), { apiVersion: this.apiVersion, kind: this.ref.kind, ...obj });
  }

  update(obj: T): Promise<T> {
    return this.api.request<T>('PUT', this.path(obj.metadata?.namespace, obj.metadata!.name), obj);
  }

  updateStatus(obj: T): Promise<T> {
    return this.api.request<T>('PUT', this.path(obj.metadata?.namespace, obj.metadata!.name, 'status'), obj);
  }

  patch(namespace: string | undefined, name: string, patch: unknown, type: PatchType = 'merge', subresource?: string): Promise<T> {
    return this.api.request<T>('PATCH', this.path(namespace, name, subresource), patch, patchContentType[type]);
  }

  delete(namespace: string | undefined, name: string, opts: { propagationPolicy?: string; gracePeriodSeconds?: number; preconditions?: { uid?: string; resourceVersion?: string } } = {}): Promise<KubeObject> {
    return this.api.request('DELETE', this.path(namespace, name), { apiVersion: 'v1', kind: 'DeleteOptions', ...opts });
  }

  deleteCollection(namespace: string | undefined, opts: ListOptions & { propagationPolicy?: string } = {}): Promise<KubeObject> {
    const { propagationPolicy, ...list } = opts;
    return this.api.request('DELETE', this.path(namespace) + query({ ...list }), propagationPolicy ? { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy } : undefined);
  }

  watch(namespace: string | undefined, opts: WatchOptions, onEvent: (ev: WatchEventOf<T>) => void, onClose: (err?: Error) => void): WatchHandle {
    return this.api.watch<T>(this.path(namespace) + query({ watch: true, ...opts }), onEvent, onClose);
  }
}
