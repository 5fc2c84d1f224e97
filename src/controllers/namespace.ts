// Namespace controller: when a namespace is being deleted, delete everything in
// it, wait until it is empty, then remove the `kubernetes` finalizer so the API
// server removes the namespace.
import type { KubeObject } from '../api/kind.js';
import { ApiClient, isNotFound } from '../client/api.js';
import type { Informer } from '../client/informer.js';
import type { InformerFactory } from '../client/factory.js';
import { ResourceClient } from '../client/resource.js';
import { namespacedResources } from '../client/resources.js';
import { WorkQueue } from '../client/workqueue.js';
import type { Reconciler } from '../client/controller.js';

export class NamespaceController implements Reconciler {
  readonly name = 'namespace';
  readonly queue = new WorkQueue();
  readonly namespaces: Informer;
  private readonly content: ResourceClient[];
  private readonly api: ApiClient;

  constructor(factory: InformerFactory) {
    const api = (this.api = factory.api);
    this.namespaces = factory.informer('', 'namespaces');
    this.content = namespacedResources().map((r) => new ResourceClient(api, r));
    const enqueue = (o: KubeObject) => o.metadata?.deletionTimestamp && this.queue.add(o.metadata.name!);
    this.namespaces.addEventHandler({ onAdd: enqueue, onUpdate: (_o, n) => enqueue(n) });
  }

  async reconcile(name: string): Promise<void | number> {
    const ns = this.namespaces.get(name);
    if (!ns?.metadata?.deletionTimestamp) return;
    let remaining = 0;
    const kinds: string[] = [];
    for (const rc of this.content) {
      const list = await rc.list(name, { limit: 1 });
      if (!list.items.length) continue;
      await rc.deleteCollection(name, { propagationPolicy: 'Background' }).catch((e) => {
        if (!isNotFound(e)) throw e;
      });
      const left = await rc.list(name);
      if (left.items.length) {
        remaining += left.items.length;
        kinds.push(`${rc.ref.resource}${rc.ref.group ? '.' + rc.ref.group : ''} has ${left.items.length} resource instances`);
      }
    }
    if (remaining) {
      await this.setCondition(ns, 'NamespaceContentRemaining', 'True', 'SomeResourcesRemain', `Some resources are remaining: ${kinds.join(', ')}`);
      return 1000; // pods shutting down, finalizers: look again soon
    }
    const finalizers: string[] = (ns.spec?.finalizers ?? []).filter((f: string) => f !== 'kubernetes');
    try {
      await this.api.request('PUT', `/api/v1/namespaces/${encodeURIComponent(name)}/finalize`, { ...ns, spec: { ...(ns.spec ?? {}), finalizers } });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  private async setCondition(ns: KubeObject, type: string, status: string, reason: string, message: string): Promise<void> {
    const conds: KubeObject[] = (ns.status?.conditions ?? []).filter((c: KubeObject) => c.type !== type);
    const old = (ns.status?.conditions ?? []).find((c: KubeObject) => c.type === type);
    if (old && old.status === status && old.message === message) return;
    conds.push({ type, status, reason, message, lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') });
    await this.api
      .request('PATCH', `/api/v1/namespaces/${encodeURIComponent(ns.metadata!.name!)}/status`, { status: { conditions: conds } }, 'application/merge-patch+json')
      .catch(() => undefined);
  }
}
