// ServiceAccount controller: every active namespace has a `default`
// ServiceAccount; it is re-created when deleted.
import type { KubeObject } from '../api/kind.js';
import { isAlreadyExists, isNotFound, ApiError } from '../client/api.js';
import type { Reconciler } from '../client/controller.js';
import type { InformerFactory } from '../client/factory.js';
import type { Informer } from '../client/informer.js';
import type { ResourceClient } from '../client/resource.js';
import { WorkQueue } from '../client/workqueue.js';

export const DEFAULT_SERVICE_ACCOUNT = 'default';

export const namespaceActive = (ns: KubeObject | undefined): boolean => !!ns && !ns.metadata?.deletionTimestamp && ns.status?.phase !== 'Terminating';

export class ServiceAccountController implements Reconciler {
  readonly name = 'serviceaccount';
  readonly queue = new WorkQueue();
  private readonly namespaces: Informer;
  private readonly serviceAccounts: Informer;
  private readonly client: ResourceClient;

  constructor(factory: InformerFactory) {
    this.namespaces = factory.informer('', 'namespaces');
    this.serviceAccounts = factory.informer('', 'serviceaccounts');
    this.client = factory.client('', 'serviceaccounts');
    const ns = (o: KubeObject) => this.queue.add(o.metadata!.name!);
    this.namespaces.addEventHandler({ onAdd: ns, onUpdate: (_o, n) => ns(n) });
    this.serviceAccounts.addEventHandler({
      onDelete: (o) => o.metadata?.name === DEFAULT_SERVICE_ACCOUNT && this.queue.add(o.metadata.namespace!),
    });
  }

  async reconcile(name: string): Promise<void | number> {
    if (!this.serviceAccounts.hasSynced) return 200;
    if (!namespaceActive(this.namespaces.get(name))) return;
    if (this.serviceAccounts.get(`${name}/${DEFAULT_SERVICE_ACCOUNT}`)) return;
    try {
      await this.client.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: DEFAULT_SERVICE_ACCOUNT, namespace: name } });
    } catch (e) {
      if (isAlreadyExists(e) || isNotFound(e)) return;
      // a namespace that started terminating refuses new objects
      if (e instanceof ApiError && e.code === 403) return;
      throw e;
    }
  }
}
