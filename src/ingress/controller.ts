// The ingress controller: informers on Ingress, IngressClass, Service,
// EndpointSlice, Secret and this Node feed one debounced sync that compiles the
// route table, resolves upstreams and certificates, and hands them to the data
// plane (changes take effect in ~10 ms). A small status reconciler writes the
// node's addresses into status.loadBalancer.ingress of every Ingress we serve.
import type { Logger } from 'pino';
import type { Ingress, IngressClass } from 'kubernetes-types/networking/v1.js';
import type { Node, Secret, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { isAlreadyExists, isNotFound, type ApiClient } from '../client/api.js';
import { InformerFactory } from '../client/factory.js';
import { Informer, keyOf, splitKey } from '../client/informer.js';
import { ResourceClient } from '../client/resource.js';
import { ref } from '../client/resources.js';
import { WorkQueue } from '../client/workqueue.js';
import { runWorkers } from '../client/controller.js';
import { buildRouteTable, byAge } from './routeTable.js';
import { resolveEndpoints, parseBackendKey } from './upstreams.js';
import { classView, defaultIngressClass, isOurs } from './ingressClass.js';
import type { DataPlane } from './proxy.js';
import type { CertificateStore } from './certificates.js';

export interface IngressControllerOptions {
  api: ApiClient;
  log: Logger;
  /** the node whose addresses go into status.loadBalancer.ingress */
  nodeName: string;
  dataPlane: DataPlane;
  certs: CertificateStore;
  /** delay that coalesces bursts of changes; default 10 ms */
  debounceMs?: number;
  /** called after every sync (data-plane worker processes get the new state from here) */
  onSync?: () => void;
}

const serviceNameLabel = 'kubernetes.io/service-name';
export const defaultHttpBackendName = 'default-http-backend';

export class IngressController {
  private readonly factory: InformerFactory;
  readonly ingresses: Informer<Ingress>;
  private readonly classes: Informer<IngressClass>;
  private readonly services: Informer<Service>;
  private readonly slices: Informer<EndpointSlice>;
  private readonly secrets: Informer<Secret>;
  private readonly nodes: Informer<Node>;
  private readonly statusQueue = new WorkQueue(50, 30_000);
  private stopWorkers?: () => void;
  private timer?: NodeJS.Timeout;
  private routesDirty = true;
  private reported = new Set<string>();
  private handled = new Set<string>();
  private stopped = false;
  /** resolves after the next sync (tests, start-up) */
  syncs = 0;
  /** what the current route table was compiled from (sent to data-plane workers, which compile their own) */
  ours: Ingress[] = [];
  defaultBackendKey?: string;
  /** bumped whenever the route table (or a TLS Secret it uses) is rebuilt */
  routesVersion = 0;

  constructor(private readonly o: IngressControllerOptions) {
    this.factory = new InformerFactory(o.api);
    this.ingresses = this.factory.informer<Ingress>('networking.k8s.io', 'ingresses');
    this.classes = this.factory.informer<IngressClass>('networking.k8s.io', 'ingressclasses');
    this.services = this.factory.informer<Service>('', 'services');
    this.slices = this.factory.informer<EndpointSlice>('discovery.k8s.io', 'endpointslices');
    this.secrets = this.factory.informer<Secret>('', 'secrets');
    // only this node (a cluster may have thousands)
    this.nodes = new Informer<Node>(new ResourceClient<Node>(o.api, ref('', 'nodes')), { fieldSelector: `metadata.name=${o.nodeName}` });
    this.slices.addIndexer('service', (s) => {
      const svc = s.metadata?.labels?.[serviceNameLabel];
      return svc ? [`${s.metadata?.namespace}/${svc}`] : [];
    });
    const on = (routes: boolean, filter?: (o: any) => boolean) => ({
      onAdd: (o: any) => (!filter || filter(o)) && this.schedule(routes),
      onUpdate: (a: any, b: any) => a.metadata?.resourceVersion !== b.metadata?.resourceVersion && (!filter || filter(a) || filter(b)) && this.schedule(routes),
      onDelete: (o: any) => (!filter || filter(o)) && this.schedule(routes),
    });
    this.ingresses.addEventHandler(on(true));
    this.classes.addEventHandler(on(true));
    // Services matter to routes only as default-http-backend; to upstreams always
    this.services.addEventHandler(on(false));
    this.services.addEventHandler(on(true, (s: Service) => s.metadata?.name === defaultHttpBackendName));
    this.slices.addEventHandler(on(false));
    this.secrets.addEventHandler(on(true, (s: Secret) => s.type === 'kubernetes.io/tls' || this.usedSecrets.has(keyOf(s))));
    this.nodes.addEventHandler({ onUpdate: (a, b) => a.metadata?.name === o.nodeName && JSON.stringify(a.status?.addresses) !== JSON.stringify(b.status?.addresses) && this.enqueueAllStatus(), onAdd: (n) => n.metadata?.name === o.nodeName && this.enqueueAllStatus() });
  }

  private usedSecrets = new Set<string>();

  async start(): Promise<void> {
    try {
      await this.o.api.request('POST', '/apis/networking.k8s.io/v1/ingressclasses', defaultIngressClass());
      this.o.log.info('created IngressClass k8ts');
    } catch (e) {
      if (!isAlreadyExists(e)) this.o.log.warn({ err: (e as Error).message }, 'cannot create IngressClass k8ts');
    }
    await Promise.all([this.factory.start(), this.nodes.start()]);
    this.sync();
    this.stopWorkers = runWorkers({ name: 'ingress-status', queue: this.statusQueue, reconcile: (k) => this.reconcileStatus(k) }, 1, this.o.log);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.stopWorkers?.();
    this.factory.stop();
    this.nodes.stop();
  }

  private schedule(routes: boolean): void {
    if (routes) this.routesDirty = true;
    if (this.timer || this.stopped || !this.ingresses.hasSynced) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.sync();
    }, this.o.debounceMs ?? 10);
  }

  /** The `default-http-backend` Service's first port as a backend key (kube-system first, then the oldest). */
  private defaultHttpBackend(): string | undefined {
    const found = this.services.list().filter((s) => s.metadata?.name === defaultHttpBackendName && (s.spec?.ports?.length ?? 0) > 0);
    if (!found.length) return undefined;
    found.sort((a, b) => (a.metadata?.namespace === 'kube-system' ? -1 : b.metadata?.namespace === 'kube-system' ? 1 : byAge(a as Ingress, b as Ingress)));
    const s = found[0];
    return `${s.metadata?.namespace}/${defaultHttpBackendName}:${s.spec!.ports![0].port}`;
  }

  /** Compile everything and hand it to the data plane. */
  sync(): void {
    if (this.stopped) return;
    const dp = this.o.dataPlane;
    const log = this.o.log;
    const problems: string[] = [];
    if (this.routesDirty) {
      this.routesDirty = false;
      const view = classView(this.classes.list());
      const ours = this.ingresses.list().filter((i) => isOurs(i, view));
      const defaultHttpBackend = this.defaultHttpBackend();
      const table = buildRouteTable(ours, { defaultHttpBackend });
      this.ours = ours;
      this.defaultBackendKey = defaultHttpBackend;
      this.routesVersion++;
      for (const p of table.problems) problems.push(`ingress ${p.ingress}: ${p.message}`);
      this.usedSecrets = new Set(table.tls.flatMap((t) => (t.secret ? [t.secret] : [])));
      problems.push(...this.o.certs.update(table.tls, (k) => this.secrets.get(k)));
      // new Ingresses (and ones that became ours) get their status
      const handled = new Set(ours.map((i) => keyOf(i)));
      for (const k of handled) if (!this.handled.has(k)) this.statusQueue.add(k);
      for (const i of ours) if (!this.statusMatches(i)) this.statusQueue.add(keyOf(i));
      this.handled = handled;
      // upstreams first, then the table: a new route never sees an empty upstream it has endpoints for
      this.resolveUpstreams(table.backends);
      dp.table = table;
    } else this.resolveUpstreams(dp.table.backends);
    for (const [k] of dp.upstreams) if (!dp.table.backends.has(k)) dp.upstreams.delete(k);
    // report each problem once (they come back on every sync)
    const now = new Set(problems);
    for (const p of now) if (!this.reported.has(p)) log.warn(p);
    this.reported = now;
    this.syncs++;
    this.o.onSync?.();
  }

  /** The `kubernetes.io/tls` Secrets the current table's spec.tls entries name (by `namespace/name`). */
  tlsSecrets(): Map<string, Secret> {
    const out = new Map<string, Secret>();
    for (const k of this.usedSecrets) {
      const s = this.secrets.get(k);
      if (s) out.set(k, s);
    }
    return out;
  }

  private resolveUpstreams(backends: Set<string>): void {
    for (const key of backends) {
      const { namespace, service } = parseBackendKey(key);
      const svcKey = `${namespace}/${service}`;
      const { endpoints, reason } = resolveEndpoints(key, this.services.get(svcKey), this.slices.byIndex('service', svcKey));
      const up = this.o.dataPlane.upstream(key);
      // keep the old array when nothing changed (cheap compare on a few addresses)
      if (up.endpoints.length !== endpoints.length || up.endpoints.some((e, i) => e.address !== endpoints[i].address)) up.set(endpoints, reason);
      else if (!endpoints.length) up.reason = reason;
    }
  }

  /** status.loadBalancer.ingress for this node: its InternalIP(s) (ExternalIP when it has one, as k3s does). */
  private addresses(): { ip: string }[] {
    const node = this.nodes.get(this.o.nodeName);
    const addrs = node?.status?.addresses ?? [];
    const ext = addrs.filter((a) => a.type === 'ExternalIP');
    const chosen = ext.length ? ext : addrs.filter((a) => a.type === 'InternalIP');
    return [...new Set(chosen.map((a) => a.address))].sort().map((ip) => ({ ip }));
  }

  private statusMatches(ing: Ingress): boolean {
    const want = this.addresses();
    return want.length === 0 || JSON.stringify((ing.status?.loadBalancer?.ingress ?? []).map((i) => ({ ip: i.ip }))) === JSON.stringify(want);
  }

  private enqueueAllStatus(): void {
    for (const k of this.handled) this.statusQueue.add(k);
  }

  private async reconcileStatus(key: string): Promise<void> {
    const ing = this.ingresses.get(key);
    if (!ing || !this.handled.has(key) || this.statusMatches(ing)) return;
    const { namespace, name } = splitKey(key);
    try {
      await this.o.api.request('PATCH', `/apis/networking.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/ingresses/${encodeURIComponent(name)}/status`, { status: { loadBalancer: { ingress: this.addresses() } } }, 'application/merge-patch+json');
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}
