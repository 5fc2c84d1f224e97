// ResourceQuota controller: status.hard mirrors spec.hard and status.used is
// recomputed from the informer caches. Admission charges new objects itself
// (with compare-and-swap), so, like upstream, a recompute is triggered by what
// frees quota (deletions, pods finishing, shrinking services/claims), by quota
// changes, and by a periodic full resync that corrects any drift.
import type { KubeObject } from '../api/kind.js';
import { canonicalList, matchingResources, sameLists, usageForQuota, usageOf, type ResourceList } from '../api/quota.js';
import type { Reconciler } from '../client/controller.js';
import type { InformerFactory } from '../client/factory.js';
import { keyOf, splitKey, type Informer } from '../client/informer.js';
import type { ResourceClient } from '../client/resource.js';
import { ref } from '../client/resources.js';
import { WorkQueue } from '../client/workqueue.js';

/** Resources whose quota names exist without a `count/` prefix; always watched. */
const legacy: [string, string][] = [
  ['', 'pods'], ['', 'services'], ['', 'configmaps'], ['', 'secrets'], ['', 'persistentvolumeclaims'], ['', 'replicationcontrollers'], ['', 'resourcequotas'],
];

export interface ResourceQuotaControllerOptions {
  /** full recalculation of every quota this often (upstream: 5 min) */
  resyncMs?: number;
}

export class ResourceQuotaController implements Reconciler {
  readonly name = 'resourcequota';
  readonly queue = new WorkQueue();
  readonly quotas: Informer;
  private readonly sources = new Map<string, Informer>();
  private readonly client: ResourceClient;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly factory: InformerFactory, opts: ResourceQuotaControllerOptions = {}) {
    this.quotas = factory.informer('', 'resourcequotas');
    this.client = factory.client('', 'resourcequotas');
    for (const [g, r] of legacy) this.track(g, r);
    const enqueue = (q: KubeObject) => this.queue.add(keyOf(q));
    this.quotas.addEventHandler({
      onAdd: enqueue,
      onUpdate: (o, n) => {
        const specChanged = JSON.stringify(o.spec ?? {}) !== JSON.stringify(n.spec ?? {});
        if (specChanged || !sameLists(n.status?.hard, n.spec?.hard) || !n.status?.used) enqueue(n);
      },
    });
    this.timer = setInterval(() => {
      for (const q of this.quotas.list()) enqueue(q);
    }, opts.resyncMs ?? 60_000);
    this.timer.unref?.();
  }

  private enqueueNamespace(ns: string | undefined): void {
    if (!ns) return;
    for (const q of this.quotas.list(ns)) this.queue.add(keyOf(q));
  }

  /** Watch a resource; released usage (deletes, shrinking updates) triggers a recompute. */
  private track(group: string, resource: string): Informer | undefined {
    const id = `${group}/${resource}`;
    const have = this.sources.get(id);
    if (have) return have;
    let inf: Informer;
    try {
      inf = this.factory.informer(group, resource);
    } catch {
      return undefined; // not a built-in resource
    }
    this.sources.set(id, inf);
    inf.addEventHandler({
      onDelete: (o) => this.enqueueNamespace(o.metadata?.namespace),
      onUpdate: (o, n) => {
        if (o.metadata?.resourceVersion === n.metadata?.resourceVersion) return;
        const before = usageOf(group, resource, o);
        const after = usageOf(group, resource, n);
        if (!sameLists(before, after)) this.enqueueNamespace(n.metadata?.namespace);
      },
    });
    return inf;
  }

  /** The resources a quota's names concern: the legacy ones plus any `count/<resource>.<group>`. */
  private async sourcesFor(names: string[]): Promise<[string, string, Informer][]> {
    const out: [string, string, Informer][] = [];
    const seen = new Set<string>();
    const add = async (group: string, resource: string) => {
      const id = `${group}/${resource}`;
      if (seen.has(id)) return;
      seen.add(id);
      const inf = this.track(group, resource);
      if (!inf) return;
      if (!inf.hasSynced) {
        // a resource first named by this quota: its informer starts now
        await Promise.race([inf.waitForSync(), new Promise((r) => setTimeout(r, 5000).unref?.())]);
        if (!inf.hasSynced) throw new Error(`informer for ${id} has not synced`);
      }
      out.push([group, resource, inf]);
    };
    for (const [g, r] of legacy) await add(g, r);
    for (const n of names) {
      if (!n.startsWith('count/')) continue;
      const gr = n.slice('count/'.length);
      const dot = gr.indexOf('.');
      const [resource, group] = dot < 0 ? [gr, ''] : [gr.slice(0, dot), gr.slice(dot + 1)];
      try {
        if (!ref(group, resource).namespaced) continue;
      } catch {
        continue; // unknown resource: counts stay 0
      }
      await add(group, resource);
    }
    return out;
  }

  async reconcile(key: string): Promise<void | number> {
    const quota = this.quotas.get(key);
    if (!quota) return;
    const { namespace } = splitKey(key);
    const hard: ResourceList = canonicalList(quota.spec?.hard ?? {});
    const names = Object.keys(hard);
    let used: ResourceList = {};
    for (const n of names) used[n] = '0';
    for (const [group, resource, inf] of await this.sourcesFor(names)) {
      if (!matchingResources(group, resource, names).length) continue;
      used = { ...used, ...usageForQuota(quota, group, resource, inf.list(namespace)) };
    }
    used = canonicalList(used);
    if (quota.status?.hard && quota.status?.used && sameLists(quota.status.hard, hard) && sameLists(quota.status.used, used)) return;
    // PUT with the cached resourceVersion: a concurrent admission charge makes this conflict and retry
    await this.client.updateStatus({ ...quota, status: { ...(quota.status ?? {}), hard, used } });
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
