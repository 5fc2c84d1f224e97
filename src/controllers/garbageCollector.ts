// Garbage collector: builds a dependency graph from ownerReferences across every
// built-in resource (metadata-only informers) and
// - deletes dependents whose owners are all gone (background propagation), after
//   confirming with a live GET that an owner is really gone (caches lag);
// - for owners deleted in the foreground (finalizer `foregroundDeletion`), deletes
//   their dependents and removes the finalizer once no dependent with
//   blockOwnerDeletion=true is left;
// - for owners deleted with orphan propagation (finalizer `orphan`), strips the
//   ownerReference from every dependent, then removes the finalizer.
// Queue keys: `dep:<uid>` (check a dependent's owners) and `own:<uid>` (process an
// owner that is being deleted with a GC finalizer).
import type { KubeObject } from '../api/kind.js';
import { builtinKinds } from '../api/kinds/index.js';
import { type ApiClient, isConflict, isNotFound } from '../client/api.js';
import type { Reconciler } from '../client/controller.js';
import type { InformerFactory } from '../client/factory.js';
import { Informer } from '../client/informer.js';
import { ResourceClient, type ResourceRef } from '../client/resource.js';
import { WorkQueue } from '../client/workqueue.js';
import { StoppingQueue } from './util/stoppingQueue.js';
import { deletingDependents, Graph, hasFinalizer, isDeleting, owners, type OwnerRef } from './gc/graph.js';
import { MetadataClient, metadataTransport } from './gc/metadata.js';

const ORPHAN = 'orphan';
const FOREGROUND = 'foregroundDeletion';
/** upstream's GC ignores events: they are many, short-lived and never owners */
const IGNORED = new Set(['/events', 'events.k8s.io/events']);

/** Bounded set of `${namespace}/${uid}` known (by live GET) not to exist. */
class AbsentCache {
  private readonly set = new Set<string>();
  constructor(private readonly max = 5000) {}
  has(k: string): boolean {
    return this.set.has(k);
  }
  add(k: string): void {
    this.set.delete(k);
    this.set.add(k);
    if (this.set.size > this.max) this.set.delete(this.set.values().next().value as string);
  }
}

/** The built-in resources the collector watches: listable, watchable, deletable, one per stored resource. */
export function monitoredResources(): ResourceRef[] {
  const seen = new Set<string>();
  const out: ResourceRef[] = [];
  for (const k of builtinKinds) {
    const verbs = k.verbs;
    if (verbs && !(verbs.includes('list') && verbs.includes('watch') && verbs.includes('delete'))) continue;
    if (IGNORED.has(`${k.group}/${k.resource}`)) continue;
    const storage = `${k.storageResource ?? k.resource}`;
    if (seen.has(storage)) continue;
    seen.add(storage);
    out.push({ group: k.group, version: k.version, resource: k.resource, kind: k.kind, namespaced: k.namespaced });
  }
  return out;
}

/** ResourceRef for an ownerReference's apiVersion+kind (any served version of the group). */
function refIndex(): (apiVersion: string, kind: string) => ResourceRef | undefined {
  const exact = new Map<string, ResourceRef>();
  const byGroup = new Map<string, ResourceRef>();
  for (const k of builtinKinds) {
    const r: ResourceRef = { group: k.group, version: k.version, resource: k.resource, kind: k.kind, namespaced: k.namespaced };
    exact.set(`${k.group}/${k.version}/${k.kind}`, r);
    if (!byGroup.has(`${k.group}/${k.kind}`)) byGroup.set(`${k.group}/${k.kind}`, r);
  }
  return (apiVersion, kind) => {
    const i = apiVersion.lastIndexOf('/');
    const group = i < 0 ? '' : apiVersion.slice(0, i);
    const version = i < 0 ? apiVersion : apiVersion.slice(i + 1);
    return exact.get(`${group}/${version}/${kind}`) ?? byGroup.get(`${group}/${kind}`);
  };
}

type OwnerState = 'solid' | 'dangling' | 'waiting';

export class GarbageCollector implements Reconciler {
  readonly name = 'garbage-collector';
  readonly queue: WorkQueue;
  readonly graph = new Graph();
  private readonly informers: Informer[] = [];
  private readonly transport: ApiClient;
  private readonly metaClients = new Map<string, MetadataClient>();
  private readonly writeClients = new Map<string, ResourceClient>();
  private readonly absent = new AbsentCache();
  private readonly resolve = refIndex();
  private synced = false;
  private readonly api: ApiClient;

  constructor(factory: InformerFactory) {
    this.api = factory.api;
    this.transport = metadataTransport(factory.api);
    this.queue = new StoppingQueue(() => this.stop());
    for (const r of monitoredResources()) {
      const mc = new MetadataClient(factory.api, r, this.transport);
      this.metaClients.set(`${r.group}/${r.resource}`, mc);
      this.writeClients.set(`${r.group}/${r.resource}`, new ResourceClient(factory.api, r));
      const inf = new Informer(mc);
      inf.addEventHandler({
        onAdd: (o) => this.observe(o, r),
        onUpdate: (old, o) => {
          if (old.metadata?.uid !== o.metadata?.uid) this.forget(old);
          this.observe(o, r);
        },
        onDelete: (o) => this.forget(o),
      });
      this.informers.push(inf);
    }
    // started here, not by the factory: these informers are private to the collector
    void Promise.all(this.informers.map((i) => i.start())).then(() => {
      this.synced = true;
    });
  }

  stop(): void {
    for (const i of this.informers) i.stop();
    this.transport.close();
  }

  /** Resolves once every resource has been listed (tests). */
  async waitForSync(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.waitForSync()));
  }

  // ------------------------------------------------------------ graph events

  private observe(o: KubeObject, ref: ResourceRef): void {
    const uid = o.metadata?.uid;
    if (!uid) return;
    const { removedOwners } = this.graph.upsert(o, ref);
    for (const or of owners(o)) {
      const owner = this.graph.object(or.uid);
      // an owner we have not seen (or one deleting in the foreground) needs a look
      if (!owner || deletingDependents(owner)) this.queue.add(`dep:${uid}`);
      if (owner && isDeleting(owner) && (hasFinalizer(owner, FOREGROUND) || hasFinalizer(owner, ORPHAN))) this.queue.add(`own:${or.uid}`);
    }
    // a dependent that let go of an owner may unblock that owner's deletion
    for (const u of removedOwners) if (this.isGcFinalizing(u)) this.queue.add(`own:${u}`);
    if (isDeleting(o) && (hasFinalizer(o, FOREGROUND) || hasFinalizer(o, ORPHAN))) this.queue.add(`own:${uid}`);
  }

  private forget(o: KubeObject): void {
    const uid = o.metadata?.uid;
    if (!uid) return;
    const node = this.graph.remove(uid);
    this.absent.add(`${o.metadata?.namespace ?? ''}/${uid}`);
    for (const d of node?.dependents ?? []) this.queue.add(`dep:${d}`);
    for (const or of owners(node?.obj ?? o)) if (this.isGcFinalizing(or.uid)) this.queue.add(`own:${or.uid}`);
  }

  private isGcFinalizing(uid: string): boolean {
    const o = this.graph.object(uid);
    return isDeleting(o) && (hasFinalizer(o, FOREGROUND) || hasFinalizer(o, ORPHAN));
  }

  // ------------------------------------------------------------ reconcile

  async reconcile(key: string): Promise<void | number> {
    // acting on a partial graph would take present owners for absent ones
    if (!this.synced) return 250;
    const uid = key.slice(4);
    if (key.startsWith('dep:')) return this.attemptToDelete(uid);
    if (key.startsWith('own:')) return this.processOwner(uid);
  }

  private writer(ref: ResourceRef): ResourceClient {
    return this.writeClients.get(`${ref.group}/${ref.resource}`) ?? new ResourceClient(this.api, ref);
  }

  /** Is the owner named by `or` (from dependent `dep`) present, gone, or deleting in the foreground? */
  private async ownerState(dep: KubeObject, or: OwnerRef): Promise<OwnerState> {
    const ref = this.resolve(or.apiVersion, or.kind);
    // unknown kinds (custom resources) and cluster-scoped dependents of namespaced
    // owners are unresolvable: never collect on their account
    if (!ref) return 'solid';
    const depNs = dep.metadata?.namespace ?? '';
    if (ref.namespaced && !depNs) return 'solid';
    const ns = ref.namespaced ? depNs : '';
    const cached = this.graph.object(or.uid);
    if (cached && (cached.metadata?.namespace ?? '') === ns) return deletingDependents(cached) ? 'waiting' : 'solid';
    if (this.absent.has(`${ns}/${or.uid}`)) return 'dangling';
    // the cache says absent: confirm with the API server before deleting anything
    const mc = this.metaClients.get(`${ref.group}/${ref.resource}`) ?? new MetadataClient(this.api, ref, this.transport);
    try {
      const live = await mc.getMetadata(ns || undefined, or.name);
      if (live.metadata?.uid !== or.uid) {
        this.absent.add(`${ns}/${or.uid}`);
        return 'dangling';
      }
      return deletingDependents(live) ? 'waiting' : 'solid';
    } catch (e) {
      if (isNotFound(e)) {
        this.absent.add(`${ns}/${or.uid}`);
        return 'dangling';
      }
      throw e;
    }
  }

  private async attemptToDelete(uid: string): Promise<void | number> {
    const node = this.graph.get(uid);
    const obj = node?.obj;
    if (!obj || !node.ref) return;
    if (isDeleting(obj)) return; // already on its way (foreground work happens under own:)
    const refs = owners(obj);
    if (!refs.length) return;
    const solid: OwnerRef[] = [];
    const dangling: OwnerRef[] = [];
    const waiting: OwnerRef[] = [];
    for (const or of refs) {
      const st = await this.ownerState(obj, or);
      (st === 'solid' ? solid : st === 'dangling' ? dangling : waiting).push(or);
    }
    const client = this.writer(node.ref);
    const ns = obj.metadata?.namespace || undefined;
    const name = obj.metadata!.name!;
    if (solid.length) {
      if (!dangling.length && !waiting.length) return;
      // another owner keeps it alive: just drop the references to the gone/going ones
      const drop = new Set([...dangling, ...waiting].map((o) => o.uid));
      const keep = refs.filter((o) => !drop.has(o.uid));
      await this.patchOwnerRefs(client, obj, keep);
      return;
    }
    let policy = 'Background';
    if (waiting.length && this.graph.dependentsOf(uid).length) policy = 'Foreground';
    else if (hasFinalizer(obj, ORPHAN)) policy = 'Orphan';
    else if (hasFinalizer(obj, FOREGROUND)) policy = 'Foreground';
    try {
      await client.delete(ns, name, { propagationPolicy: policy, preconditions: { uid } });
    } catch (e) {
      // gone already, or replaced by a new object of the same name
      if (isNotFound(e) || isConflict(e)) return;
      throw e;
    }
  }

  private async patchOwnerRefs(client: ResourceClient, obj: KubeObject, keep: OwnerRef[]): Promise<void> {
    const m = obj.metadata!;
    try {
      // resourceVersion pins the patch to what the graph saw: a stale view conflicts and retries
      await client.patch(m.namespace || undefined, m.name!, { metadata: { resourceVersion: m.resourceVersion, ownerReferences: keep.length ? keep : null } }, 'merge');
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
  }

  private async removeFinalizer(client: ResourceClient, obj: KubeObject, finalizer: string): Promise<void> {
    const m = obj.metadata!;
    const rest = (m.finalizers ?? []).filter((f: string) => f !== finalizer);
    try {
      await client.patch(m.namespace || undefined, m.name!, { metadata: { resourceVersion: m.resourceVersion, finalizers: rest.length ? rest : null } }, 'merge');
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
  }

  private async processOwner(uid: string): Promise<void | number> {
    const node = this.graph.get(uid);
    const obj = node?.obj;
    if (!obj || !node.ref || !isDeleting(obj)) return;
    const client = this.writer(node.ref);
    const dependents = this.graph.dependentsOf(uid);
    if (hasFinalizer(obj, ORPHAN)) {
      for (const d of dependents) {
        const keep = owners(d.obj).filter((o) => o.uid !== uid);
        await this.patchOwnerRefs(this.writer(d.ref!), d.obj!, keep);
      }
      await this.removeFinalizer(client, obj, ORPHAN);
      return;
    }
    if (hasFinalizer(obj, FOREGROUND)) {
      let blocking = 0;
      for (const d of dependents) {
        if (!isDeleting(d.obj)) this.queue.add(`dep:${d.uid}`);
        if (owners(d.obj).some((o) => o.uid === uid && o.blockOwnerDeletion)) blocking++;
      }
      // dependents' deletions re-enqueue us; the timer is a safety net
      if (blocking) return 5000;
      await this.removeFinalizer(client, obj, FOREGROUND);
    }
  }
}
