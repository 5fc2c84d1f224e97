// The resource request pipeline: authn → authz → (admission → validation →
// storage inside RestStore) and the response encoders, for every kind.
import type { IncomingMessage, ServerResponse } from 'node:http';
import YAML from 'yaml';
import type { KindDefinition, KubeObject } from '../api/kind.js';
import { apiVersionOf } from '../api/kind.js';
import { errors, field, StatusError } from '../api/errors.js';
import type { KindRegistry } from '../api/registry.js';
import type { RequestContext } from './context.js';
import { decodeBody, negotiate, type Representation } from './negotiate.js';
import type { RequestInfo } from './requestInfo.js';
import type { DeleteOptions, ListQuery, RestStore } from './rest.js';
import { partialMetadata, printerOf, table, tableRow, type IncludeObject } from './tables.js';
import type { CacheEvent, WatchCache } from './watchCache.js';
import { CachedObject } from './watchCache.js';
import { deepCopy } from './meta.js';
import { applyPatch } from '../api/patch/index.js';
import { definitions } from './schemaCheck.js';
import { evict } from './eviction.js';
import type { ServiceAccountTokens } from './serviceAccountToken.js';
import type { KubeletProxy } from './proxy.js';
import type { PodServiceProxy } from './podServiceProxy.js';

export const maxBodyBytes = 3 * 1024 * 1024;

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > maxBodyBytes) {
        failed = true;
        reject(errors.tooLarge());
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => !failed && resolve(Buffer.concat(chunks)));
    req.on('error', (e) => !failed && reject(e));
  });
}

export function send(res: ServerResponse, code: number, body: unknown, rep: Representation = 'json', warnings: string[] = []): void {
  if (res.headersSent) return;
  for (const w of warnings) res.appendHeader('Warning', `299 - ${JSON.stringify(w)}`);
  if (rep === 'yaml') {
    res.writeHead(code, { 'Content-Type': 'application/yaml' });
    res.end(YAML.stringify(body));
    return;
  }
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': bytes.length });
  res.end(bytes);
}

export function sendError(res: ServerResponse, err: unknown): void {
  const se = err instanceof StatusError ? err : errors.internal((err as Error)?.message ?? String(err));
  send(res, se.code, se.toStatus());
}

function parseIntParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw errors.badRequest(`invalid ${name}: ${JSON.stringify(v)}: must be an integer`);
  return Number(v);
}

function includeObjectParam(q: URLSearchParams): IncludeObject {
  const v = q.get('includeObject') ?? 'Metadata';
  if (v !== 'None' && v !== 'Metadata' && v !== 'Object') throw errors.badRequest(`includeObject: unsupported value ${JSON.stringify(v)}`);
  return v;
}

function listQuery(q: URLSearchParams): ListQuery {
  return {
    labelSelector: q.get('labelSelector') ?? undefined,
    fieldSelector: q.get('fieldSelector') ?? undefined,
    limit: parseIntParam(q, 'limit'),
    continue: q.get('continue') ?? undefined,
    resourceVersion: q.get('resourceVersion') ?? undefined,
    resourceVersionMatch: q.get('resourceVersionMatch') ?? undefined,
  };
}

export interface HandlerDeps {
  registry: KindRegistry;
  store: RestStore;
  cache: WatchCache;
  /** bookmark interval for watches */
  bookmarkMs: number;
  /** signs ServiceAccount tokens (serviceaccounts/token); absent: the subresource is unavailable */
  saTokens?: ServiceAccountTokens;
  /** relays pods/log, nodes/proxy (and, from server.ts, exec/attach/portforward upgrades) to kubelets */
  kubelet?: KubeletProxy;
  /** relays pods/proxy and services/proxy to pod addresses */
  podServiceProxy?: PodServiceProxy;
}

export class ResourceHandler {
  constructor(private readonly d: HandlerDeps) {}

  async handle(req: IncomingMessage, res: ServerResponse, info: RequestInfo, url: URL, ctx: RequestContext): Promise<void> {
    const def = this.d.registry.byGVR(info.group, info.version, info.resource);
    if (!def) throw errors.notFound(info.resource, info.name || info.resource, info.group);
    if (def.namespaced === false && info.namespace && info.resource !== 'namespaces') {
      throw errors.notFound(info.resource, info.name, info.group);
    }
    // pods/services proxy first: their query string belongs to the backend, not to the apiserver
    if (info.subresource === 'proxy' && info.name && !def.group && (def.resource === 'pods' || def.resource === 'services') && this.d.podServiceProxy) {
      return this.d.podServiceProxy.serve(req, res, def.resource, info.namespace, info.name, url);
    }
    const q = url.searchParams;
    ctx.dryRun = q.getAll('dryRun').length > 0;
    if (ctx.dryRun && q.getAll('dryRun').some((v) => v !== 'All')) throw errors.badRequest(`dryRun: Unsupported value: ${JSON.stringify(q.get('dryRun'))}: supported values: "All"`);
    const fv = q.get('fieldValidation') ?? 'Warn';
    const fvNorm = ({ strict: 'Strict', warn: 'Warn', ignore: 'Ignore' } as const)[fv.toLowerCase() as 'strict'];
    if (!fvNorm) throw errors.badRequest(`fieldValidation: Unsupported value: ${JSON.stringify(fv)}: supported values: "Ignore", "Strict", "Warn"`);
    ctx.fieldValidation = fvNorm;
    ctx.fieldManager = q.get('fieldManager') ?? undefined;
    const verbs = def.verbs;
    if (verbs && !info.subresource && !verbs.includes(info.verb as never)) {
      throw errors.methodNotAllowed(`the server does not allow this method on the requested resource`);
    }
    const ns = def.namespaced ? info.namespace : '';
    if (info.subresource) return this.subresource(req, res, info, def, ns, url, ctx);
    const store = this.d.store;
    switch (info.verb) {
      case 'get': {
        const rep = negotiate(req.headers.accept);
        const obj = await store.get(def, ns, info.name, q.get('resourceVersion') ?? undefined);
        return this.respondObject(res, 200, def, obj, rep, q, ctx);
      }
      case 'list':
        return this.list(req, res, def, ns, q);
      case 'watch':
        return this.watch(req, res, def, ns, info.name, q);
      case 'create': {
        const rep = negotiate(req.headers.accept);
        if (def.namespaced && !ns) throw errors.notFound('namespaces', '', '');
        const body = decodeBody(req.headers['content-type'], await readBody(req)) as KubeObject;
        if (def.resource === 'bindings') return this.bind(res, ns, body, ctx);
        const obj = await store.create(def, ns, body, ctx);
        return this.respondObject(res, 201, def, obj, rep, q, ctx);
      }
      case 'update': {
        const rep = negotiate(req.headers.accept);
        const body = decodeBody(req.headers['content-type'], await readBody(req)) as KubeObject;
        const obj = await store.replace(def, ns, info.name, '', body, ctx);
        return this.respondObject(res, 200, def, obj, rep, q, ctx);
      }
      case 'patch': {
        const rep = negotiate(req.headers.accept);
        const body = await readBody(req);
        const obj = await store.patch(def, ns, info.name, '', req.headers['content-type'] ?? '', body, ctx);
        return this.respondObject(res, 200, def, obj, rep, q, ctx);
      }
      case 'delete': {
        const rep = negotiate(req.headers.accept);
        const opts = await this.deleteOptions(req, q);
        const r = await store.delete(def, ns, info.name, opts, ctx);
        // upstream answers 200 with the object, or 202 when deletion is still under way
        return this.respondObject(res, r.deleted ? 200 : 202, def, r.obj, rep, q, ctx);
      }
      case 'deletecollection': {
        const rep = negotiate(req.headers.accept);
        const opts = await this.deleteOptions(req, q);
        const items = await store.deleteCollection(def, ns, listQuery(q), opts, ctx);
        const list = { kind: `${def.kind}List`, apiVersion: apiVersionOf(def), metadata: {}, items };
        return send(res, 200, list, rep === 'yaml' ? 'yaml' : 'json', ctx.warnings);
      }
    }
    throw errors.methodNotAllowed(`verb ${info.verb} is not supported`);
  }

  private async deleteOptions(req: IncomingMessage, q: URLSearchParams): Promise<DeleteOptions> {
    const body = await readBody(req);
    let opts: DeleteOptions = {};
    if (body.length) {
      const o = decodeBody(req.headers['content-type'], body) as Record<string, unknown>;
      if (o && typeof o === 'object') opts = o as DeleteOptions;
      if ((o as { dryRun?: string[] })?.dryRun?.length) q.set('dryRun', 'All');
    }
    const g = parseIntParam(q, 'gracePeriodSeconds');
    if (g !== undefined) opts.gracePeriodSeconds = g;
    const p = q.get('propagationPolicy');
    if (p) {
      if (!['Orphan', 'Background', 'Foreground'].includes(p)) throw errors.badRequest(`propagationPolicy: Unsupported value: ${JSON.stringify(p)}`);
      opts.propagationPolicy = p as DeleteOptions['propagationPolicy'];
    }
    if (q.get('orphanDependents')) opts.orphanDependents = q.get('orphanDependents') === 'true';
    return opts;
  }

  private respondObject(res: ServerResponse, code: number, def: KindDefinition, obj: KubeObject, rep: Representation, q: URLSearchParams, ctx: RequestContext): void {
    if (rep === 'table') {
      const t = table(def, [obj], includeObjectParam(q), { resourceVersion: obj.metadata?.resourceVersion ?? '' });
      return send(res, code, t, 'json', ctx.warnings);
    }
    if (rep === 'partial') return send(res, code, partialMetadata(obj), 'json', ctx.warnings);
    send(res, code, obj, rep, ctx.warnings);
  }

  private async list(req: IncomingMessage, res: ServerResponse, def: KindDefinition, ns: string, q: URLSearchParams): Promise<void> {
    const rep = negotiate(req.headers.accept);
    const r = await this.d.store.list(def, ns, listQuery(q));
    const listMeta: Record<string, unknown> = { resourceVersion: r.resourceVersion };
    if (r.continue) listMeta.continue = r.continue;
    if (r.remainingItemCount !== undefined) listMeta.remainingItemCount = r.remainingItemCount;
    const conv = !!def.fromStorage;
    const objs = () => r.items.map((i) => (conv ? this.d.store.external(def, i.obj) : i.obj));
    if (rep === 'table') return send(res, 200, table(def, objs(), includeObjectParam(q), listMeta));
    if (rep === 'partial') {
      return send(res, 200, { kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata: listMeta, items: objs().map(partialMetadata) });
    }
    if (rep === 'yaml') return send(res, 200, { kind: `${def.kind}List`, apiVersion: apiVersionOf(def), metadata: listMeta, items: objs() }, 'yaml');
    // JSON: splice the cached bytes of each object; no re-encoding per request
    const head = Buffer.from(`{"kind":"${def.kind}List","apiVersion":"${apiVersionOf(def)}","metadata":${JSON.stringify(listMeta)},"items":[`);
    const parts: Buffer[] = [head];
    const comma = Buffer.from(',');
    r.items.forEach((item, i) => {
      if (i) parts.push(comma);
      parts.push(conv ? Buffer.from(JSON.stringify(this.d.store.external(def, item.obj))) : item.json());
    });
    parts.push(Buffer.from(']}'));
    send(res, 200, Buffer.concat(parts));
  }

  // ---------------------------------------------------------------- watch

  private async watch(req: IncomingMessage, res: ServerResponse, def: KindDefinition, ns: string, name: string, q: URLSearchParams): Promise<void> {
    const rep = negotiate(req.headers.accept);
    const include = includeObjectParam(q);
    const lq = listQuery(q);
    if (name) lq.fieldSelector = [lq.fieldSelector, `metadata.name=${name}`].filter(Boolean).join(',');
    const timeout = parseIntParam(q, 'timeoutSeconds');
    const bookmarks = q.get('allowWatchBookmarks') === 'true';
    const sendInitial = q.get('sendInitialEvents') === 'true';
    const rvParam = lq.resourceVersion ?? '';
    if (rvParam !== '' && !/^\d+$/.test(rvParam)) throw errors.badRequest(`invalid resource version: ${JSON.stringify(rvParam)}`);
    const store = this.d.store;
    const cache = this.d.cache;
    // compiling the selectors validates them: a 400 before the stream starts, not a broken stream
    const matcher = store.matcher(def, lq);
    const sr = store.storageResource(def);
    const match = (o: KubeObject) => {
      if (ns && o.metadata?.namespace !== ns) return false;
      return matcher(o);
    };

    res.writeHead(200, { 'Content-Type': rep === 'table' ? 'application/json' : 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders?.();
    const conv = !!def.fromStorage;
    let first = true;
    const frame = (type: string, obj: CachedObject | KubeObject): Buffer | string => {
      if (rep === 'table') {
        const o = obj instanceof CachedObject ? obj.obj : obj;
        const ext = conv ? store.external(def, o) : o;
        const t = table(def, [], include, { resourceVersion: ext.metadata?.resourceVersion ?? '' }, first);
        t.rows = [tableRow(printerOf(def), ext, include, Date.now())];
        first = false;
        return JSON.stringify({ type, object: t }) + '\n';
      }
      if (rep === 'partial') {
        const o = obj instanceof CachedObject ? obj.obj : obj;
        return JSON.stringify({ type, object: partialMetadata(o) }) + '\n';
      }
      if (obj instanceof CachedObject && !conv) {
        return Buffer.concat([Buffer.from(`{"type":"${type}","object":`), obj.json(), Buffer.from('}\n')]);
      }
      const o = obj instanceof CachedObject ? obj.obj : obj;
      return JSON.stringify({ type, object: conv ? store.external(def, o) : o }) + '\n';
    };
    let lastRv = 0;
    let closed = false;
    const queue: CacheEvent[] = [];
    let ready = false;
    const deliver = (ev: CacheEvent) => {
      if (closed || ev.rv <= lastRv) return;
      lastRv = ev.rv;
      const now = match(ev.object.obj);
      const before = ev.prev ? match(ev.prev.obj) : false;
      let type: string = ev.type;
      if (ev.type === 'MODIFIED') {
        if (now && !before) type = 'ADDED';
        else if (!now && before) type = 'DELETED';
        else if (!now) return;
      } else if (!now) return;
      const ok = res.write(frame(type, type === 'DELETED' && ev.type === 'MODIFIED' ? ev.object : ev.object));
      if (!ok && res.writableLength > 64 * 1024 * 1024) {
        // a watcher that cannot keep up is dropped rather than buffering without bound
        close();
      }
    };
    const unsubscribe = cache.subscribe(sr, (ev) => (ready ? deliver(ev) : queue.push(ev)));
    const timers: NodeJS.Timeout[] = [];
    const close = () => {
      if (closed) return;
      closed = true;
      unsubscribe();
      for (const t of timers) clearTimeout(t), clearInterval(t);
      res.end();
    };
    req.on('close', close);
    res.on('error', close);
    const t = timeout !== undefined ? Math.max(timeout, 0) : 1800 + Math.floor(Math.random() * 1800);
    timers.push(setTimeout(close, t * 1000));

    try {
      let from: number;
      if (rvParam === '' || rvParam === '0' || sendInitial) {
        // state first: synthetic ADDED for every current object
        if (rvParam === '') await store.syncCache();
        const items = cache.list(sr, `/registry/${sr}/${def.namespaced && ns ? ns + '/' : ''}`);
        from = cache.revision;
        for (const it of items) if (match(it.obj)) res.write(frame('ADDED', it));
        if (sendInitial && bookmarks) {
          res.write(JSON.stringify({ type: 'BOOKMARK', object: { kind: def.kind, apiVersion: apiVersionOf(def), metadata: { resourceVersion: String(from), annotations: { 'k8s.io/initial-events-end': 'true' } } } }) + '\n');
        }
      } else {
        from = Number(rvParam);
        if (from > cache.revision) await store.syncCache(from);
        const evs = cache.eventsSince(sr, from);
        if (evs === 'expired') {
          res.write(JSON.stringify({ type: 'ERROR', object: errors.gone(`too old resource version: ${from} (${cache.oldestRevision})`).toStatus() }) + '\n');
          return close();
        }
        lastRv = from;
        for (const ev of evs) deliver(ev);
      }
      lastRv = Math.max(lastRv, from);
      ready = true;
      for (const ev of queue.splice(0)) deliver(ev);
      if (bookmarks) {
        const iv = setInterval(() => {
          if (closed) return;
          const rv = Math.max(lastRv, cache.revision);
          res.write(JSON.stringify({ type: 'BOOKMARK', object: { kind: def.kind, apiVersion: apiVersionOf(def), metadata: { resourceVersion: String(rv) } } }) + '\n');
        }, this.d.bookmarkMs);
        timers.push(iv);
      }
    } catch (err) {
      const se = err instanceof StatusError ? err : errors.internal(String(err));
      res.write(JSON.stringify({ type: 'ERROR', object: se.toStatus() }) + '\n');
      close();
    }
  }

  // ---------------------------------------------------------------- subresources

  private async subresource(req: IncomingMessage, res: ServerResponse, info: RequestInfo, def: KindDefinition, ns: string, url: URL, ctx: RequestContext): Promise<void> {
    const sub = info.subresource;
    const q = url.searchParams;
    const store = this.d.store;
    const rep = negotiate(req.headers.accept);
    const m = req.method ?? 'GET';
    if (sub === 'status' && def.statusSubresource) {
      if (m === 'GET') return this.respondObject(res, 200, def, await store.get(def, ns, info.name), rep, q, ctx);
      if (m === 'PUT') {
        const body = decodeBody(req.headers['content-type'], await readBody(req)) as KubeObject;
        return this.respondObject(res, 200, def, await store.replace(def, ns, info.name, 'status', body, ctx), rep, q, ctx);
      }
      if (m === 'PATCH') {
        const body = await readBody(req);
        return this.respondObject(res, 200, def, await store.patch(def, ns, info.name, 'status', req.headers['content-type'] ?? '', body, ctx), rep, q, ctx);
      }
    }
    if (sub === 'scale' && def.scale) return this.scale(req, res, def, ns, info.name, ctx, rep);
    if (sub === 'binding' && def.resource === 'pods' && m === 'POST') {
      const body = decodeBody(req.headers['content-type'], await readBody(req)) as KubeObject;
      body.metadata = { ...(body.metadata ?? {}), name: body.metadata?.name ?? info.name };
      return this.bind(res, ns, body, ctx);
    }
    if (sub === 'eviction' && def.resource === 'pods' && m === 'POST') {
      const body = decodeBody(req.headers['content-type'], await readBody(req)) as KubeObject;
      const r = await evict(store, this.d.registry, ns, info.name, body, ctx);
      return send(res, r.code, r.body);
    }
    if (sub === 'finalize' && def.resource === 'namespaces' && m === 'PUT') {
      const body = decodeBody(req.headers['content-type'], await readBody(req)) as KubeObject;
      const obj = await store.update(def, '', info.name, 'finalize', ctx, (cur) => {
        cur.spec = { ...(cur.spec ?? {}), finalizers: body.spec?.finalizers ?? [] };
        if (!cur.spec.finalizers.length) delete cur.spec.finalizers;
        return cur;
      });
      return this.respondObject(res, 200, def, obj, rep, q, ctx);
    }
    const kubelet = this.d.kubelet;
    if (kubelet && def.resource === 'pods' && sub === 'log' && (m === 'GET' || m === 'HEAD')) return kubelet.log(req, res, ns, info.name, q);
    if (def.resource === 'pods' && (sub === 'exec' || sub === 'attach' || sub === 'portforward')) {
      // streaming needs an upgraded connection (WebSocket or SPDY); server.ts routes those
      throw errors.badRequest('Upgrade request required');
    }
    if (kubelet && def.resource === 'nodes' && sub === 'proxy') return kubelet.nodeProxy(req, res, info.name, info.rest, url.search);
    if (sub === 'token' && def.resource === 'serviceaccounts' && m === 'POST' && this.d.saTokens) {
      const body = decodeBody(req.headers['content-type'], await readBody(req)) as KubeObject;
      return send(res, 201, await this.tokenRequest(def, ns, info.name, body, this.d.saTokens));
    }
    if ((def.subresources ?? []).includes(sub)) {
      throw new StatusError(503, 'ServiceUnavailable', `${def.resource}/${sub} is not available yet: no node agent serves it`);
    }
    throw errors.notFound(`${def.resource}/${sub}`, info.name, def.group);
  }

  /** TokenRequest: a signed token for a ServiceAccount, optionally bound to a pod (or secret/node). */
  private async tokenRequest(saDef: KindDefinition, ns: string, name: string, body: KubeObject, signer: ServiceAccountTokens): Promise<KubeObject> {
    const sa = await this.d.store.get(saDef, ns, name);
    const spec = body.spec ?? {};
    const exp = spec.expirationSeconds ?? 3600;
    if (!Number.isInteger(exp) || exp < 600) throw errors.invalid('TokenRequest', name, 'authentication.k8s.io', [field.invalid('spec.expirationSeconds', exp, 'may not specify a duration less than 10 minutes')]);
    if (exp > 2 ** 32) throw errors.invalid('TokenRequest', name, 'authentication.k8s.io', [field.invalid('spec.expirationSeconds', exp, 'may not specify a duration larger than 2^32 seconds')]);
    const ref = spec.boundObjectRef;
    let pod: { name: string; uid: string } | undefined;
    let node: { name: string; uid?: string } | undefined;
    if (ref) {
      const kinds: Record<string, [string, boolean]> = { Pod: ['pods', true], Secret: ['secrets', true], Node: ['nodes', false] };
      const k = kinds[ref.kind];
      if (!k || (ref.apiVersion ?? 'v1') !== 'v1') throw errors.badRequest(`cannot bind token to object of kind ${JSON.stringify(ref.kind)} (${ref.apiVersion ?? ''})`);
      const refDef = this.d.registry.byGVR('', 'v1', k[0])!;
      const obj = await this.d.store.get(refDef, k[1] ? ns : '', ref.name);
      if (ref.uid && ref.uid !== obj.metadata?.uid) throw errors.conflict(k[0], ref.name, '', `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`);
      if (ref.kind === 'Pod') {
        pod = { name: ref.name, uid: obj.metadata!.uid! };
        if (obj.spec?.nodeName) node = { name: obj.spec.nodeName };
      } else if (ref.kind === 'Node') node = { name: ref.name, uid: obj.metadata?.uid };
    }
    const t = signer.issue({ namespace: ns, name, uid: sa.metadata!.uid!, audiences: spec.audiences, expirationSeconds: exp, pod, node });
    return {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { name, namespace: ns },
      spec: { audiences: t.audiences, expirationSeconds: exp, boundObjectRef: ref ?? null },
      status: { token: t.token, expirationTimestamp: t.expirationTimestamp },
    };
  }

  private async bind(res: ServerResponse, ns: string, body: KubeObject, ctx: RequestContext): Promise<void> {
    const podDef = this.d.registry.byGVR('', 'v1', 'pods')!;
    const name = body.metadata?.name;
    const node = body.target?.name;
    if (!name) throw errors.badRequest('binding must name the pod in metadata.name');
    if (!node || (body.target?.kind && body.target.kind !== 'Node')) throw errors.invalid('Binding', name, '', [{ type: 'FieldValueRequired', field: 'target.name', message: 'Required value: must name a Node' }]);
    await this.d.store.update(podDef, ns, name, 'binding', ctx, (pod) => {
      if (pod.metadata?.deletionTimestamp) throw errors.conflict('pods', name, '', 'pod is being deleted, cannot be assigned to a host');
      if (pod.spec?.nodeName) throw errors.conflict('pods', name, '', `pod ${name} is already assigned to node "${pod.spec.nodeName}"`);
      if (body.metadata?.uid && body.metadata.uid !== pod.metadata?.uid) throw errors.conflict('pods', name, '', 'the UID in the binding does not match the pod');
      pod.spec.nodeName = node;
      const annotations = body.metadata?.annotations;
      if (annotations) pod.metadata!.annotations = { ...(pod.metadata!.annotations ?? {}), ...annotations };
      const conds: KubeObject[] = (pod.status ??= {}).conditions ?? [];
      if (!conds.some((c) => c.type === 'PodScheduled' && c.status === 'True')) {
        pod.status.conditions = [...conds.filter((c) => c.type !== 'PodScheduled'), { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }];
      }
      return pod;
    });
    send(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
  }

  private async scale(req: IncomingMessage, res: ServerResponse, def: KindDefinition, ns: string, name: string, ctx: RequestContext, rep: Representation): Promise<void> {
    const sc = def.scale!;
    const get = (o: KubeObject, path: string) => path.split('.').reduce<any>((a, k) => (a == null ? undefined : a[k]), o);
    const toScale = (o: KubeObject) => {
      const sel = sc.labelSelectorPath ? get(o, sc.labelSelectorPath) : undefined;
      const selector = sel && typeof sel === 'object' ? labelSelectorString(sel) : sel;
      const status: Record<string, unknown> = { replicas: get(o, sc.statusReplicasPath) ?? 0 };
      if (selector) status.selector = selector;
      return {
        kind: 'Scale',
        apiVersion: 'autoscaling/v1',
        metadata: { name: o.metadata?.name, namespace: o.metadata?.namespace, uid: o.metadata?.uid, resourceVersion: o.metadata?.resourceVersion, creationTimestamp: o.metadata?.creationTimestamp },
        spec: { replicas: get(o, sc.specReplicasPath) ?? 0 },
        status,
      };
    };
    const m = req.method ?? 'GET';
    if (m === 'GET') return send(res, 200, toScale(await this.d.store.get(def, ns, name)), rep === 'yaml' ? 'yaml' : 'json');
    const body = await readBody(req);
    let obj: KubeObject;
    if (m === 'PUT' || m === 'PATCH') {
      obj = await this.d.store.update(def, ns, name, 'scale', ctx, async (cur) => {
        let scale: KubeObject = toScale(cur);
        if (m === 'PUT') scale = decodeBody(req.headers['content-type'], body) as KubeObject;
        else {
          scale = applyPatch(req.headers['content-type'] ?? '', scale, body, definitions() as never, 'io.k8s.api.autoscaling.v1.Scale') as KubeObject;
        }
        const replicas = scale?.spec?.replicas;
        if (typeof replicas !== 'number' || replicas < 0 || !Number.isInteger(replicas)) {
          throw errors.invalid('Scale', name, 'autoscaling', [{ type: 'FieldValueInvalid', field: 'spec.replicas', message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0` }]);
        }
        if (m === 'PUT' && scale.metadata?.resourceVersion && scale.metadata.resourceVersion !== cur.metadata?.resourceVersion) {
          throw errors.conflict(def.resource, name, def.group, 'the object has been modified; please apply your changes to the latest version and try again');
        }
        const parts = sc.specReplicasPath.split('.');
        let target: any = cur;
        for (const p of parts.slice(0, -1)) target = target[p] ??= {};
        target[parts[parts.length - 1]] = replicas;
        return cur;
      });
      return send(res, 200, toScale(obj), rep === 'yaml' ? 'yaml' : 'json', ctx.warnings);
    }
    throw errors.methodNotAllowed('scale supports get, update and patch');
  }
}

export function labelSelectorString(sel: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] }): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) parts.push(`${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) {
    if (e.operator === 'In') parts.push(`${e.key} in (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

