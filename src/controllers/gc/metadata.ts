// Metadata-only access for the garbage collector: LIST and WATCH ask the API
// server for PartialObjectMetadata (as upstream's metadata informers do), and the
// informer caches keep only the fields the dependency graph needs. This keeps the
// collector's memory small even though it watches every resource.
import https from 'node:https';
import type { KubeObject } from '../../api/kind.js';
import { ApiClient, ApiError, type WatchEventOf, type WatchHandle } from '../../client/api.js';
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

/** A small HTTPS transport sharing the ApiClient's credentials but asking for metadata only. */
export class MetadataTransport {
  private readonly agent: https.Agent;
  private readonly base: URL;

  constructor(private readonly api: ApiClient) {
    const c = api.config;
    this.base = new URL(c.server);
    // each watched resource holds one socket for its watch
    this.agent = new https.Agent({ ca: c.ca, cert: c.cert, key: c.key, rejectUnauthorized: !c.insecure, keepAlive: true, maxSockets: 256 });
  }

  private headers(accept: string): Record<string, string> {
    const h: Record<string, string> = { Accept: accept, 'User-Agent': `${this.api.config.userAgent ?? 'k8ts'} (garbage-collector)` };
    if (this.api.config.token) h.Authorization = `Bearer ${this.api.config.token}`;
    return h;
  }

  get<T>(path: string, accept = ACCEPT_ONE): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const req = https.request({ protocol: 'https:', hostname: this.base.hostname, port: this.base.port, path, method: 'GET', agent: this.agent, headers: this.headers(accept) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const code = res.statusCode ?? 0;
          let json: any;
          try {
            json = JSON.parse(Buffer.concat(chunks).toString());
          } catch {
            json = undefined;
          }
          if (code >= 200 && code < 300) resolve(json as T);
          else reject(new ApiError(code, json?.reason ?? 'Unknown', json?.message ?? `GET ${path}: HTTP ${code}`, json));
        });
        res.on('error', reject);
      });
      req.on('error', (e) => reject(new ApiError(0, 'ConnectionError', `GET ${path}: ${e.message}`)));
      req.setTimeout(60_000, () => req.destroy(new Error('request timed out')));
      req.end();
    });
  }

  watch<T>(path: string, onEvent: (ev: WatchEventOf<T>) => void, onClose: (err?: Error) => void): WatchHandle {
    let stopped = false;
    let closed = false;
    const close = (err?: Error) => {
      if (closed) return;
      closed = true;
      if (!stopped) onClose(err);
    };
    const req = https.request({ protocol: 'https:', hostname: this.base.hostname, port: this.base.port, path, method: 'GET', agent: this.agent, headers: this.headers(ACCEPT_ONE) }, (r) => {
      if ((r.statusCode ?? 0) >= 300) {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => {
          let json: any;
          try {
            json = JSON.parse(Buffer.concat(chunks).toString());
          } catch {
            /* not a Status */
          }
          close(new ApiError(r.statusCode ?? 0, json?.reason ?? 'Unknown', json?.message ?? `watch ${path}: HTTP ${r.statusCode}`, json));
        });
        return;
      }
      let buf = '';
      r.setEncoding('utf8');
      r.on('data', (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (!line.trim() || stopped) continue;
          try {
            onEvent(JSON.parse(line));
          } catch {
            /* a malformed line is skipped */
          }
        }
      });
      r.on('end', () => close());
      r.on('error', (e) => close(e));
      r.on('close', () => close());
    });
    req.on('error', (e) => close(e));
    req.end();
    return {
      stop: () => {
        stopped = true;
        req.destroy();
      },
    };
  }

  close(): void {
    this.agent.destroy();
  }
}

/** A ResourceClient whose list/watch (what the Informer uses) return stripped metadata. */
export class MetadataClient extends ResourceClient {
  constructor(api: ApiClient, ref: ResourceRef, private readonly transport: MetadataTransport) {
    super(api, ref);
  }

  override async list(namespace?: string, opts: ListOptions = {}): Promise<ListOf<KubeObject>> {
    const l = await this.transport.get<ListOf<KubeObject>>(this.path(namespace) + query({ ...opts }), ACCEPT_LIST);
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
    );
  }

  /** Live metadata of one object (the collector's check that an owner is really gone). */
  getMetadata(namespace: string | undefined, name: string): Promise<KubeObject> {
    return this.transport.get<KubeObject>(this.path(namespace, name));
  }
}
