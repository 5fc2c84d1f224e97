// Metadata-only access for the garbage collector: LIST and WATCH ask the API
// server for PartialObjectMetadata (as upstream's metadata informers do), and the
// informer caches keep only the fields the dependency graph needs. This keeps the
// collector's memory small even though it watches every resource.
import type { KubeObject } from '../../api/kind.js';
import { ApiClient, type WatchEventOf, type WatchHandle } from '../../client/api.js';
import { ResourceClient, type ListOf, type ListOptions, type ResourceRef, type WatchOptions } from '../../client/resource.js';

const ACCEPT_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
const ACCEPT_ONE = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';

/** Only what the graph reads; everything else is dropped on arrival. */
export function stripMetadata(o: KubeObject): KubeObject {
  const m = o.metadata ?? {};
  const meta: Record<string, unknown> = { name: m.name, uid: m.uid, resourceVersion: m.resourceVersion };
  if (m.namespace) meta.namespace = m.namespace;
  if (m.ownerReferences?.length) meta.ownerReferences = m.ownerReferences;
  if (m.finalizers?.length) meta.finalizers = m.finalizers;
  if (m.deletionTimestamp) meta.deletionTimestamp = m.deletionTimestamp;
  return { metadata: meta } as KubeObject;
}

function query(params: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/**
 * A client sharing the ApiClient's credentials on a connection pool of its own:
 * each watched resource holds one socket for its watch.
 */
export function metadataTransport(api: ApiClient): ApiClient {
  const c = api.config;
  return new ApiClient({ ...c, userAgent: `${c.userAgent ?? 'k8ts'} (garbage-collector)` }, { maxSockets: 256 });
}

/** A ResourceClient whose list/watch (what the Informer uses) return stripped metadata. */
export class MetadataClient extends ResourceClient {
  constructor(api: ApiClient, ref: ResourceRef, private readonly transport: ApiClient) {
    super(api, ref);
  }

  override async list(namespace?: string, opts: ListOptions = {}): Promise<ListOf<KubeObject>> {
    const l = await this.transport.request<ListOf<KubeObject>>('GET', this.path(namespace) + query({ ...opts }), undefined, undefined, ACCEPT_LIST);
    return { ...l, items: (l.items ?? []).map(stripMetadata) };
  }

  override watch(namespace: string | undefined, opts: WatchOptions, onEvent: (ev: WatchEventOf<KubeObject>) => void, onClose: (err?: Error) => void): WatchHandle {
    return this.transport.watch<KubeObject>(
      this.path(namespace) + query({ watch: true, ...opts }),
      (ev) => {
        // bookmarks and errors carry no object worth stripping
        if (ev.type === 'BOOKMARK' || ev.type === 'ERROR') return onEvent(ev);
        onEvent({ type: ev.type, object: stripMetadata(ev.object) });
      },
      onClose,
      ACCEPT_ONE,
    );
  }

  /** Live metadata of one object (the collector's check that an owner is really gone). */
  getMetadata(namespace: string | undefined, name: string): Promise<KubeObject> {
    return this.transport.request<KubeObject>('GET', this.path(namespace, name), undefined, undefined, ACCEPT_ONE);
  }
}
