// The generic REST store: create/get/list/update/patch/delete/watch for every
// kind, over the datastore (writes, compare-and-swap) and the watch cache (reads).
// Kind-specific behaviour comes from the KindDefinition (defaults, validation,
// strategy) and from admission plugins; nothing here knows about pods or services.
import type { KindDefinition, KubeObject } from '../api/kind.js';
import { apiVersionOf } from '../api/kind.js';
import { errors, field, StatusError, type FieldError } from '../api/errors.js';
import type { Datastore, KeyValue } from '../datastore/types.js';
import { DatastoreError } from '../datastore/types.js';
import { Codec, objectKey, prefixKey } from './codec.js';
import { CachedObject, WatchCache } from './watchCache.js';
import type { RequestContext } from './context.js';
import { deepCopy, generateNameSuffix, newUid, nowTime, sameObject } from './meta.js';
import { validateObjectMeta } from './metaValidation.js';
import { compileFieldSelector, compileLabelSelector } from './selectors.js';
import type { SchemaChecker } from './schemaCheck.js';
import { applyPatch } from '../api/patch/index.js';
import { definitions } from './schemaCheck.js';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

export interface AdmissionAttributes {
  op: Operation;
  def: KindDefinition;
  namespace: string;
  name: string;
  subresource: string;
  /** the object being written (mutable by mutating plugins); for DELETE the stored object */
  obj: KubeObject;
  old?: KubeObject;
  ctx: RequestContext;
}

export interface AdmissionPlugin {
  name: string;
  /** mutating phase */
  admit?(a: AdmissionAttributes): void | Promise<void>;
  /** validating phase */
  validate?(a: AdmissionAttributes): void | Promise<void>;
  /** after a successful write (e.g. release allocated ports on delete) */
  committed?(a: AdmissionAttributes): void;
}

export interface ListQuery {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
}

export interface ListResult {
  items: CachedObject[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  preconditions?: { uid?: string; resourceVersion?: string };
  orphanDependents?: boolean;
}

interface ContinueToken {
  rv: number;
  start: string;
}

export class RestStore {
  constructor(
    private readonly ds: Datastore,
    private readonly cache: WatchCache,
    private readonly codec: Codec,
    private readonly admission: AdmissionPlugin[],
    private readonly schema?: SchemaChecker,
  ) {}

  storageResource(def: KindDefinition): string {
    return def.storageResource ?? def.resource;
  }

  key(def: KindDefinition, namespace: string, name: string): string {
    return objectKey(this.storageResource(def), def.namespaced ? namespace : undefined, name);
  }

  /** Stored form → the definition's version. Returns a shared object: copy before mutating. */
  external(def: KindDefinition, obj: KubeObject): KubeObject {
    return def.fromStorage ? def.fromStorage(obj) : obj;
  }

  private toStored(def: KindDefinition, obj: KubeObject): KubeObject {
    return def.toStorage ? def.toStorage(obj) : obj;
  }

  /** Upstream's order: mutating admission → object validation → validating admission. */
  private async runAdmission(a: AdmissionAttributes, validateObject?: () => void): Promise<void> {
    for (const p of this.admission) if (p.admit) await p.admit(a);
    validateObject?.();
    for (const p of this.admission) if (p.validate) await p.validate(a);
  }

  private committed(a: AdmissionAttributes): void {
    for (const p of this.admission) {
      try {
        p.committed?.(a);
      } catch {
        /* bookkeeping only */
      }
    }
  }

  private checkKind(def: KindDefinition, obj: KubeObject): void {
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw errors.badRequest('the body of the request must be a JSON or YAML object');
    const want = apiVersionOf(def);
    if (obj.apiVersion === undefined && obj.kind === undefined) {
      obj.apiVersion = want;
      obj.kind = def.kind;
      return;
    }
    if (obj.kind !== undefined && obj.kind !== def.kind) {
      throw errors.badRequest(`the kind in the data (${obj.kind}) does not match the expected kind (${def.kind})`);
    }
    if (obj.apiVersion !== undefined && obj.apiVersion !== want) {
      throw errors.badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${want})`);
    }
    obj.apiVersion = want;
    obj.kind = def.kind;
  }

  private checkNamespace(def: KindDefinition, obj: KubeObject, namespace: string): void {
    const meta = (obj.metadata ??= {});
    if (def.namespaced) {
      if (meta.namespace && namespace && meta.namespace !== namespace) {
        throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace = namespace || meta.namespace;
    } else {
      delete meta.namespace;
    }
  }

  /** Unknown fields: Strict rejects, Warn warns, all drop them (as upstream's decoder does). */
  private checkFields(def: KindDefinition, obj: KubeObject, ctx: RequestContext): void {
    if (!this.schema) return;
    const unknown = this.schema.pruneUnknown(def, obj);
    if (!unknown.length) return;
    if (ctx.fieldValidation === 'Strict') {
      const list = unknown.map((f) => `unknown field "${f}"`);
      throw errors.badRequest(`strict decoding error: ${list.join(', ')}`);
    }
    if (ctx.fieldValidation === 'Warn') for (const f of unknown) ctx.warnings.push(`unknown field "${f}"`);
  }

  private validate(def: KindDefinition, obj: KubeObject, old?: KubeObject): void {
    const errs: FieldError[] = validateObjectMeta(def, obj, old);
    if (def.validate) errs.push(...def.validate(obj, old));
    if (errs.length) throw errors.invalid(def.kind, obj.metadata?.name ?? '', def.group, errs);
  }

  private fail(def: KindDefinition, name: string, err: unknown): never {
    if (err instanceof DatastoreError) {
      if (err.code === 'KeyExists') throw errors.alreadyExists(def.resource, name, def.group);
      if (err.code === 'NotFound') throw errors.notFound(def.resource, name, def.group);
      if (err.code === 'Conflict') throw errors.conflict(def.resource, name, def.group, 'the object has been modified; please apply your changes to the latest version and try again');
      if (err.code === 'Compacted') throw errors.gone(err.message);
      throw new StatusError(503, 'ServiceUnavailable', `datastore unavailable: ${err.message}`);
    }
    throw err;
  }

  // ---------------------------------------------------------------- create

  async create(def: KindDefinition, namespace: string, body: KubeObject, ctx: RequestContext): Promise<KubeObject> {
    this.checkKind(def, body);
    this.checkNamespace(def, body, namespace);
    this.checkFields(def, body, ctx);
    const meta = body.metadata!;
    if (!meta.name && meta.generateName) meta.name = meta.generateName + generateNameSuffix();
    if (!meta.name) {
      throw errors.invalid(def.kind, '', def.group, [field.required('metadata.name', 'Required value: name or generateName is required')]);
    }
    if (meta.resourceVersion) throw errors.badRequest('resourceVersion should not be set on objects to be created');
    meta.uid = newUid();
    meta.creationTimestamp = nowTime();
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.selfLink;
    let obj = body;
    def.defaults?.(obj);
    def.prepareForCreate?.(obj);
    const a: AdmissionAttributes = { op: 'CREATE', def, namespace, name: meta.name, subresource: '', obj, ctx };
    // plugins that reserve something (IPs, ports, quota) hear "DELETE" when the create does not happen
    const abort = () => this.committed({ ...a, op: 'DELETE' });
    try {
      await this.runAdmission(a, () => this.validate(def, a.obj));
      obj = a.obj;
    } catch (err) {
      abort();
      throw err;
    }
    if (ctx.dryRun) {
      abort();
      return obj;
    }
    const stored = this.toStored(def, obj);
    const sr = this.storageResource(def);
    const key = this.key(def, namespace, meta.name);
    let kv: KeyValue;
    try {
      kv = await this.ds.create(key, this.codec.encode(sr, key, stored));
    } catch (err) {
      abort();
      this.fail(def, meta.name, err);
    }
    obj.metadata!.resourceVersion = String(kv.modRevision);
    this.committed(a);
    return obj;
  }

  // ---------------------------------------------------------------- read

  /** Latest stored state (from the datastore: writers need it fresh). */
  private async readStored(def: KindDefinition, namespace: string, name: string): Promise<{ obj: KubeObject; rv: number } | undefined> {
    const key = this.key(def, namespace, name);
    const kv = await this.ds.get(key);
    if (!kv) return undefined;
    return { obj: this.codec.decode(this.storageResource(def), kv), rv: kv.modRevision };
  }

  async get(def: KindDefinition, namespace: string, name: string, resourceVersion?: string): Promise<KubeObject> {
    const key = this.key(def, namespace, name);
    let o: KubeObject | undefined;
    if (resourceVersion === '0') {
      o = this.cache.get(this.storageResource(def), key)?.obj;
    } else {
      // a GET must see every write acknowledged before it: wait for the cache to catch up
      await this.syncCache();
      o = this.cache.get(this.storageResource(def), key)?.obj;
    }
    if (!o) throw errors.notFound(def.resource, name, def.group);
    return this.external(def, o);
  }

  /** Make the cache at least as new as the datastore's current revision. */
  async syncCache(minRv?: number): Promise<void> {
    const rv = minRv ?? (await this.ds.currentRevision());
    try {
      await this.cache.waitFor(rv);
    } catch (e) {
      throw errors.timeout(`Too large resource version: ${rv}, current: ${this.cache.revision}`);
    }
  }

  matcher(def: KindDefinition, q: ListQuery): (o: KubeObject) => boolean {
    const ls = q.labelSelector ? compileLabelSelector(q.labelSelector) : undefined;
    const fs = q.fieldSelector ? compileFieldSelector(q.fieldSelector, def) : undefined;
    if (!ls && !fs) return () => true;
    return (o) => (!ls || ls(o.metadata?.labels ?? {})) && (!fs || fs(o));
  }

  async list(def: KindDefinition, namespace: string, q: ListQuery): Promise<ListResult> {
    const match = this.matcher(def, q);
    const sr = this.storageResource(def);
    const prefix = prefixKey(sr, def.namespaced ? namespace || undefined : undefined);
    const limit = q.limit && q.limit > 0 ? q.limit : 0;
    let token: ContinueToken | undefined;
    if (q.continue) {
      try {
        token = JSON.parse(Buffer.from(q.continue, 'base64url').toString());
        if (typeof token!.rv !== 'number' || typeof token!.start !== 'string') throw new Error();
      } catch {
        throw errors.badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
      }
    }
    const rvParam = q.resourceVersion;
    let rvNum: number | undefined;
    if (rvParam !== undefined && rvParam !== '') {
      rvNum = Number(rvParam);
      if (!/^\d+$/.test(rvParam)) throw errors.badRequest(`invalid resource version: ${JSON.stringify(rvParam)}`);
    }
    if (q.resourceVersionMatch && !['Exact', 'NotOlderThan'].includes(q.resourceVersionMatch)) {
      throw errors.badRequest(`resourceVersionMatch: Unsupported value: "${q.resourceVersionMatch}": supported values: "Exact", "NotOlderThan"`);
    }
    if (q.resourceVersionMatch && rvNum === undefined) {
      throw errors.badRequest('resourceVersionMatch is forbidden unless resourceVersion is provided');
    }

    // Exact revision, or a continuation of a snapshot the cache has moved past: read the datastore.
    const exact = q.resourceVersionMatch === 'Exact' && rvNum !== undefined && rvNum !== this.cache.revision;
    // a continuation is served from the snapshot its first page was cut from, so paging
    // through n objects sorts them once, and stays consistent while writes go on
    const snap = token ? this.snapshots.get(`${sr}|${prefix}|${token.rv}`) : undefined;
    if (token && !snap && token.rv !== this.cache.revision) return this.listFromStore(def, sr, prefix, token.rv, token.start, limit, match);
    if (exact) return this.listFromStore(def, sr, prefix, rvNum!, '', limit, match);

    if (!snap) {
      if (rvNum === undefined) await this.syncCache();
      else if (rvNum > 0) await this.syncCache(rvNum);
    }
    const all = snap ?? this.cache.list(sr, prefix);
    const rv = snap ? token!.rv : this.cache.revision;
    let start = 0;
    if (token) {
      // first key >= token.start
      let lo = 0;
      let hi = all.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (all[mid].key < token.start) lo = mid + 1;
        else hi = mid;
      }
      start = lo;
    }
    const items: CachedObject[] = [];
    let i = start;
    for (; i < all.length; i++) {
      if (limit && items.length >= limit) break;
      if (match(all[i].obj)) items.push(all[i]);
    }
    const result: ListResult = { items, resourceVersion: String(rv) };
    if (limit && i < all.length) {
      // is anything after i a match? upstream only sets continue when more may follow
      result.continue = Buffer.from(JSON.stringify({ rv, start: all[i].key })).toString('base64url');
      if (!snap) this.keepSnapshot(`${sr}|${prefix}|${rv}`, all);
      if (!q.labelSelector && !q.fieldSelector) result.remainingItemCount = all.length - i;
    }
    return result;
  }

  /** Sorted lists that paginated LISTs are walking through (a few, for a minute). */
  private readonly snapshots = new Map<string, CachedObject[]>();

  private keepSnapshot(key: string, items: CachedObject[]): void {
    if (this.snapshots.has(key)) return;
    this.snapshots.set(key, items);
    if (this.snapshots.size > 16) this.snapshots.delete(this.snapshots.keys().next().value as string);
    setTimeout(() => this.snapshots.delete(key), 60_000).unref();
  }

  private async listFromStore(def: KindDefinition, sr: string, prefix: string, rv: number, start: string, limit: number, match: (o: KubeObject) => boolean): Promise<ListResult> {
    const items: CachedObject[] = [];
    let startKey = start || undefined;
    try {
      for (let round = 0; round < 10_000; round++) {
        const page = await this.ds.list(prefix, { revision: rv, startKey, limit: limit ? Math.max(limit, 100) : 0 });
        let lastKey = '';
        for (const kv of page.kvs) {
          lastKey = kv.key;
          const o = new CachedObject(kv.key, kv.modRevision, this.codec.decode(sr, kv));
          if (match(o.obj)) items.push(o);
          if (limit && items.length >= limit) {
            const more = page.more || kv !== page.kvs[page.kvs.length - 1];
            return { items, resourceVersion: String(rv), continue: more ? Buffer.from(JSON.stringify({ rv, start: kv.key + '\0' })).toString('base64url') : undefined };
          }
        }
        if (!page.more || !lastKey) break;
        startKey = lastKey + '\0';
      }
    } catch (err) {
      if (err instanceof DatastoreError && err.code === 'Compacted') {
        throw errors.gone('The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.');
      }
      throw err;
    }
    return { items, resourceVersion: String(rv) };
  }

  // ---------------------------------------------------------------- update

  /**
   * Read-modify-write with compare-and-swap. `mutate` gets a private copy of the
   * current object (in this definition's version) and returns the desired one.
   * Retries on conflicts unless the caller pinned a resourceVersion.
   */
  async update(
    def: KindDefinition,
    namespace: string,
    name: string,
    subresource: string,
    ctx: RequestContext,
    mutate: (current: KubeObject) => KubeObject | Promise<KubeObject>,
  ): Promise<KubeObject> {
    const sr = this.storageResource(def);
    const key = this.key(def, namespace, name);
    for (let attempt = 0; attempt < 20; attempt++) {
      const cur = await this.readStored(def, namespace, name);
      if (!cur) throw errors.notFound(def.resource, name, def.group);
      const oldExt = this.external(def, cur.obj);
      let obj = await mutate(deepCopy(oldExt));
      this.checkKind(def, obj);
      this.checkNamespace(def, obj, namespace);
      this.checkFields(def, obj, ctx);
      const meta = (obj.metadata ??= {});
      if (meta.name !== undefined && meta.name !== name) {
        throw errors.badRequest(`the name of the object (${meta.name}) does not match the name on the URL (${name})`);
      }
      meta.name = name;
      const pinned = meta.resourceVersion;
      if (pinned !== undefined && pinned !== '' && pinned !== String(cur.rv)) {
        if (!/^\d+$/.test(pinned)) throw errors.badRequest(`invalid resource version: ${JSON.stringify(pinned)}`);
        throw errors.conflict(def.resource, name, def.group, 'the object has been modified; please apply your changes to the latest version and try again');
      }
      // system fields are not the client's to change
      const om = oldExt.metadata!;
      meta.uid = om.uid;
      meta.creationTimestamp = om.creationTimestamp;
      if (om.deletionTimestamp) {
        meta.deletionTimestamp = om.deletionTimestamp;
        meta.deletionGracePeriodSeconds = om.deletionGracePeriodSeconds;
      } else {
        delete meta.deletionTimestamp;
        delete meta.deletionGracePeriodSeconds;
      }
      if (om.generation !== undefined) meta.generation = om.generation;
      if (subresource === 'status') {
        // /status writes change status only (and metadata labels/annotations are kept as stored)
        obj = { ...deepCopy(oldExt), status: obj.status };
      } else if (def.statusSubresource && subresource === '') {
        if (oldExt.status === undefined) delete obj.status;
        else obj.status = deepCopy(oldExt.status);
      }
      def.defaults?.(obj);
      if (subresource === '' || subresource === 'scale') def.prepareForUpdate?.(obj, oldExt);
      const a: AdmissionAttributes = { op: 'UPDATE', def, namespace, name, subresource, obj, old: oldExt, ctx };
      await this.runAdmission(a, () => this.validate(def, a.obj, oldExt));
      obj = a.obj;
      obj.metadata!.resourceVersion = String(cur.rv);
      if (sameObject(obj, oldExt)) return oldExt; // no-op: no write, no new resourceVersion
      if (ctx.dryRun) return obj;
      // the last finalizer removed from an object being deleted: it goes now
      if (om.deletionTimestamp && !(obj.metadata!.finalizers?.length) && !(om.deletionGracePeriodSeconds ?? 0) && !this.namespaceHoldsOn(def, obj)) {
        try {
          const kv = await this.ds.delete(key, cur.rv);
          this.committed({ ...a, op: 'DELETE', obj: oldExt });
          obj.metadata!.resourceVersion = String(kv.modRevision);
          return obj;
        } catch (err) {
          if (err instanceof DatastoreError && err.code === 'Conflict' && pinned === undefined) continue;
          this.fail(def, name, err);
        }
      }
      try {
        const kv = await this.ds.update(key, this.codec.encode(sr, key, this.toStored(def, obj)), cur.rv);
        obj.metadata!.resourceVersion = String(kv.modRevision);
        this.committed(a);
        return obj;
      } catch (err) {
        if (err instanceof DatastoreError && err.code === 'Conflict' && (pinned === undefined || pinned === '')) continue;
        this.fail(def, name, err);
      }
    }
    throw errors.conflict(def.resource, name, def.group, 'too many concurrent updates; try again');
  }

  async replace(def: KindDefinition, namespace: string, name: string, subresource: string, body: KubeObject, ctx: RequestContext): Promise<KubeObject> {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw errors.badRequest('the body of the request must be a JSON or YAML object');
    return this.update(def, namespace, name, subresource, ctx, () => deepCopy(body));
  }

  async patch(def: KindDefinition, namespace: string, name: string, subresource: string, contentType: string, patch: Buffer, ctx: RequestContext): Promise<KubeObject> {
    return this.update(def, namespace, name, subresource, ctx, (cur) => {
      const rv = cur.metadata?.resourceVersion;
      const out = applyPatch(contentType, cur, patch, definitions() as never, this.schema?.definitionName(def) ?? '') as KubeObject;
      // the patched object keeps the version it was based on unless the patch pins one
      if (out.metadata && out.metadata.resourceVersion === rv) delete out.metadata.resourceVersion;
      return out;
    });
  }

  // ---------------------------------------------------------------- delete

  async delete(def: KindDefinition, namespace: string, name: string, opts: DeleteOptions, ctx: RequestContext): Promise<{ obj: KubeObject; deleted: boolean }> {
    const key = this.key(def, namespace, name);
    const sr = this.storageResource(def);
    for (let attempt = 0; attempt < 20; attempt++) {
      const cur = await this.readStored(def, namespace, name);
      if (!cur) throw errors.notFound(def.resource, name, def.group);
      const ext = this.external(def, cur.obj);
      const meta = ext.metadata!;
      if (opts.preconditions?.uid && opts.preconditions.uid !== meta.uid) {
        throw errors.conflict(def.resource, name, def.group, `Precondition failed: UID in precondition: ${opts.preconditions.uid}, UID in object meta: ${meta.uid}`);
      }
      if (opts.preconditions?.resourceVersion && opts.preconditions.resourceVersion !== String(cur.rv)) {
        throw errors.conflict(def.resource, name, def.group, `Precondition failed: ResourceVersion in precondition: ${opts.preconditions.resourceVersion}, ResourceVersion in object meta: ${cur.rv}`);
      }
      const a: AdmissionAttributes = { op: 'DELETE', def, namespace, name, subresource: '', obj: ext, ctx };
      await this.runAdmission(a);

      // graceful deletion: mark, let the owner of the object (node, controller) finish
      const grace = this.gracePeriod(def, ext, opts);
      let finalizers = [...(meta.finalizers ?? [])];
      const policy = opts.propagationPolicy ?? (opts.orphanDependents === true ? 'Orphan' : opts.orphanDependents === false ? 'Background' : undefined);
      if (!meta.deletionTimestamp) {
        if (policy === 'Orphan' && !finalizers.includes('orphan')) finalizers.push('orphan');
        if (policy === 'Foreground' && !finalizers.includes('foregroundDeletion')) finalizers.push('foregroundDeletion');
      }
      if (def.resource === 'namespaces' && def.group === '') {
        // namespaces: Terminating until the namespace controller empties and finalizes them
        if (meta.deletionTimestamp && !(ext.spec?.finalizers?.length) && !finalizers.length) {
          // already finalized: remove it
        } else {
          if (meta.deletionTimestamp) return { obj: ext, deleted: false };
          const upd = deepCopy(ext);
          upd.metadata!.deletionTimestamp = nowTime();
          upd.metadata!.deletionGracePeriodSeconds = 0;
          upd.metadata!.finalizers = finalizers.length ? finalizers : undefined;
          if (!upd.metadata!.finalizers) delete upd.metadata!.finalizers;
          upd.status = { ...(upd.status ?? {}), phase: 'Terminating' };
          return { obj: await this.writeMark(def, key, sr, upd, cur.rv, ctx), deleted: false };
        }
      }
      if (finalizers.length || grace > 0) {
        if (meta.deletionTimestamp && grace >= (meta.deletionGracePeriodSeconds ?? 0) && sameList(finalizers, meta.finalizers)) {
          return { obj: ext, deleted: false }; // already being deleted
        }
        const upd = deepCopy(ext);
        const um = upd.metadata!;
        if (!um.deletionTimestamp || grace < (um.deletionGracePeriodSeconds ?? Infinity)) {
          um.deletionTimestamp = new Date(Date.now() + grace * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
          um.deletionGracePeriodSeconds = grace;
        }
        um.finalizers = finalizers;
        if (!finalizers.length) delete um.finalizers;
        try {
          return { obj: await this.writeMark(def, key, sr, upd, cur.rv, ctx), deleted: false };
        } catch (err) {
          if (err instanceof StatusError && err.reason === 'Conflict') continue;
          throw err;
        }
      }
      if (ctx.dryRun) return { obj: ext, deleted: true };
      try {
        const kv = await this.ds.delete(key, cur.rv);
        this.committed(a);
        const out = deepCopy(ext);
        out.metadata!.resourceVersion = String(kv.modRevision);
        return { obj: out, deleted: true };
      } catch (err) {
        if (err instanceof DatastoreError && (err.code === 'Conflict')) continue;
        this.fail(def, name, err);
      }
    }
    throw errors.conflict(def.resource, name, def.group, 'too many concurrent updates; try again');
  }

  /** A terminating namespace goes only when its spec.finalizers (the namespace controller's) are done too. */
  private namespaceHoldsOn(def: KindDefinition, obj: KubeObject): boolean {
    return def.group === '' && def.resource === 'namespaces' && (obj.spec?.finalizers?.length ?? 0) > 0;
  }

  private async writeMark(def: KindDefinition, key: string, sr: string, obj: KubeObject, rv: number, ctx: RequestContext): Promise<KubeObject> {
    if (ctx.dryRun) return obj;
    try {
      const kv = await this.ds.update(key, this.codec.encode(sr, key, this.toStored(def, obj)), rv);
      obj.metadata!.resourceVersion = String(kv.modRevision);
      return obj;
    } catch (err) {
      this.fail(def, obj.metadata!.name!, err);
    }
  }

  private gracePeriod(def: KindDefinition, obj: KubeObject, opts: DeleteOptions): number {
    if (!(def.group === '' && def.resource === 'pods')) return 0;
    // unscheduled or finished pods have nobody to wait for
    if (!obj.spec?.nodeName) return 0;
    const phase = obj.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return 0;
    const g = opts.gracePeriodSeconds ?? obj.spec?.terminationGracePeriodSeconds ?? 30;
    return Math.max(0, g);
  }

  async deleteCollection(def: KindDefinition, namespace: string, q: ListQuery, opts: DeleteOptions, ctx: RequestContext): Promise<KubeObject[]> {
    const list = await this.list(def, namespace, { labelSelector: q.labelSelector, fieldSelector: q.fieldSelector });
    const out: KubeObject[] = [];
    for (const item of list.items) {
      try {
        const r = await this.delete(def, item.obj.metadata?.namespace ?? '', item.obj.metadata!.name!, opts, ctx);
        out.push(r.obj);
      } catch (err) {
        if (err instanceof StatusError && err.reason === 'NotFound') continue;
        throw err;
      }
    }
    return out;
  }
}

function sameList(a: string[] | undefined, b: string[] | undefined): boolean {
  return JSON.stringify(a ?? []) === JSON.stringify(b ?? []);
}
