// Root CA publisher: a ConfigMap `kube-root-ca.crt` holding the cluster CA (key
// `ca.crt`) in every active namespace, kept equal to the CA the controller
// manager trusts for the API server.
import type { KubeObject } from '../api/kind.js';
import { ApiError, isAlreadyExists, isConflict, isNotFound } from '../client/api.js';
import type { Reconciler } from '../client/controller.js';
import type { InformerFactory } from '../client/factory.js';
import { Informer } from '../client/informer.js';
import { ResourceClient } from '../client/resource.js';
import { ref } from '../client/resources.js';
import { WorkQueue } from '../client/workqueue.js';
import { StoppingQueue } from './util/stoppingQueue.js';
import { namespaceActive } from './serviceAccount.js';

export const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';
const DESCRIPTION =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.';

export class RootCaConfigMapController implements Reconciler {
  readonly name = 'root-ca-cert-publisher';
  readonly queue: WorkQueue;
  private readonly namespaces: Informer;
  /** only the kube-root-ca.crt ConfigMaps, not every ConfigMap of the cluster */
  private readonly configMaps: Informer;
  private readonly client: ResourceClient;
  private readonly ca: string | undefined;

  constructor(factory: InformerFactory, _opts?: unknown, _recorder?: unknown, ca = factory.api.config.ca) {
    this.ca = ca;
    this.client = new ResourceClient(factory.api, ref('', 'configmaps'));
    this.configMaps = new Informer(this.client, { fieldSelector: `metadata.name=${ROOT_CA_CONFIGMAP}` });
    this.queue = new StoppingQueue(() => this.configMaps.stop());
    this.namespaces = factory.informer('', 'namespaces');
    const ns = (o: KubeObject) => this.queue.add(o.metadata!.name!);
    this.namespaces.addEventHandler({ onAdd: ns, onUpdate: (_o, n) => ns(n) });
    const cm = (o: KubeObject) => o.metadata?.namespace && this.queue.add(o.metadata.namespace);
    this.configMaps.addEventHandler({ onUpdate: (_o, n) => cm(n), onDelete: cm });
    if (this.ca) void this.configMaps.start();
  }

  private desired(): Record<string, string> {
    return { 'ca.crt': this.ca! };
  }

  async reconcile(name: string): Promise<void | number> {
    if (!this.ca) return; // no CA to publish (insecure client)
    if (!this.configMaps.hasSynced) return 200;
    if (!namespaceActive(this.namespaces.get(name))) return;
    const cur = this.configMaps.get(`${name}/${ROOT_CA_CONFIGMAP}`);
    const data = this.desired();
    try {
      if (!cur) {
        await this.client.create({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: ROOT_CA_CONFIGMAP, namespace: name, annotations: { 'kubernetes.io/description': DESCRIPTION } },
          data,
        });
        return;
      }
      const same = JSON.stringify(cur.data ?? {}) === JSON.stringify(data) && !cur.binaryData && cur.metadata?.annotations?.['kubernetes.io/description'] === DESCRIPTION;
      if (same) return;
      const upd: KubeObject = { ...cur, data, metadata: { ...cur.metadata, annotations: { ...(cur.metadata?.annotations ?? {}), 'kubernetes.io/description': DESCRIPTION } } };
      delete upd.binaryData;
      await this.client.update(upd);
    } catch (e) {
      if (isAlreadyExists(e) || isNotFound(e) || isConflict(e)) {
        if (isConflict(e) || isAlreadyExists(e)) return 500; // look again once the cache has caught up
        return;
      }
      if (e instanceof ApiError && e.code === 403) return; // namespace terminating
      throw e;
    }
  }
}
