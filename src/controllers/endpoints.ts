// Endpoints controller: for every Service with a selector, an Endpoints object of
// the same name listing the selected pods: ready ones under `addresses`, the
// others under `notReadyAddresses` (all ready with publishNotReadyAddresses),
// with ports resolved from each service port's targetPort (numbers, or names
// looked up in the pod's containers). Services without a selector are left to
// whoever writes their Endpoints (the `kubernetes` service's are the apiserver's).
import type { EndpointAddress, EndpointPort, EndpointSubset, Endpoints, Pod, Service, ServicePort } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from '../api/kind.js';
import { ApiError, isAlreadyExists, isConflict, isNotFound } from '../client/api.js';
import type { Reconciler } from '../client/controller.js';
import type { InformerFactory } from '../client/factory.js';
import { keyOf, type Informer } from '../client/informer.js';
import type { ResourceClient } from '../client/resource.js';
import { WorkQueue } from '../client/workqueue.js';
import { isPodReady } from './util/podReady.js';

export const TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';
export const OVER_CAPACITY = 'endpoints.kubernetes.io/over-capacity';
export const HEADLESS_LABEL = 'service.kubernetes.io/headless';
/** upstream truncates an Endpoints object to this many addresses */
export const MAX_ENDPOINTS_ADDRESSES = 1000;
const LEADER_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader';
/** index of pods by `${namespace}/${labelKey}=${labelValue}`, shared by the endpoints controllers */
export const POD_LABEL_INDEX = 'endpoints:label';

type KPod = Pod & KubeObject;
type KService = Service & KubeObject;

// ------------------------------------------------------------------ shared helpers

/** Should this pod appear in the service's endpoints at all? */
export function shouldPodBeInEndpoints(pod: Pod, includeTerminating: boolean): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  if (!pod.status?.podIP && !pod.status?.podIPs?.length) return false;
  if (!includeTerminating && pod.metadata?.deletionTimestamp) return false;
  return true;
}

/** The pod IP of the service's family (IPv4 unless the service is IPv6-only). */
export function podIpFor(svc: Service, pod: Pod): string | undefined {
  const want6 = svc.spec?.ipFamilies?.[0] === 'IPv6';
  const ips = [pod.status?.podIP, ...(pod.status?.podIPs ?? []).map((p) => p.ip)].filter((x): x is string => !!x);
  return ips.find((ip) => ip.includes(':') === want6);
}

/** The container port a service port reaches on this pod; undefined when a named port is missing. */
export function findPort(pod: Pod, sp: ServicePort): number | undefined {
  const tp = sp.targetPort ?? sp.port;
  if (typeof tp === 'number') return tp;
  if (/^\d+$/.test(tp)) return Number(tp);
  const proto = sp.protocol ?? 'TCP';
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) if (p.name === tp && (p.protocol ?? 'TCP') === proto) return p.containerPort;
  }
  return undefined;
}

export function shouldSetHostname(pod: Pod, svc: Service): boolean {
  return !!pod.spec?.hostname && pod.spec.subdomain === svc.metadata?.name && pod.metadata?.namespace === svc.metadata?.namespace;
}

export function selectorMatches(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || !Object.keys(selector).length) return false;
  for (const [k, v] of Object.entries(selector)) if (labels?.[k] !== v) return false;
  return true;
}

export const hasSelector = (svc: Service | undefined): boolean => !!svc?.spec?.selector && Object.keys(svc.spec.selector).length > 0;

/** Add the label index (idempotent) used by podsForService. */
export function indexPodsByLabel(pods: Informer<KPod>): void {
  pods.addIndexer(POD_LABEL_INDEX, (p) => Object.entries(p.metadata?.labels ?? {}).map(([k, v]) => `${p.metadata?.namespace}/${k}=${v}`));
}

/** Pods selected by a service, read through the label index (no full namespace scan). */
export function podsForService(pods: Informer<KPod>, svc: Service): KPod[] {
  const sel = svc.spec?.selector;
  if (!sel || !Object.keys(sel).length) return [];
  const ns = svc.metadata?.namespace;
  let best: KPod[] | undefined;
  for (const [k, v] of Object.entries(sel)) {
    const c = pods.byIndex(POD_LABEL_INDEX, `${ns}/${k}=${v}`);
    if (!best || c.length < best.length) best = c;
    if (!c.length) break;
  }
  return (best ?? []).filter((p) => selectorMatches(sel, p.metadata?.labels));
}

/** The services of a pod's namespace whose selector matches the pod. */
export function servicesForPod(services: Informer<KService>, pod: Pod): KService[] {
  return services.list(pod.metadata?.namespace ?? '').filter((s) => selectorMatches(s.spec?.selector, pod.metadata?.labels));
}

/** What of a pod matters to endpoints: a pod update changing none of it enqueues nothing. */
export function podFingerprint(pod: Pod): string {
  return JSON.stringify([
    pod.metadata?.labels,
    pod.status?.podIP,
    pod.status?.podIPs,
    pod.status?.phase,
    isPodReady(pod),
    !!pod.metadata?.deletionTimestamp,
    pod.spec?.nodeName,
    pod.spec?.hostname,
    pod.spec?.subdomain,
    (pod.spec?.containers ?? []).map((c) => c.ports),
  ]);
}

/** Route pod events to the keys of the services selecting the pod (before and after). */
export function podHandlers(services: Informer<KService>, enqueue: (key: string) => void) {
  const each = (p: Pod) => {
    for (const s of servicesForPod(services, p)) enqueue(keyOf(s));
  };
  return {
    onAdd: (p: KPod) => each(p),
    onUpdate: (o: KPod, n: KPod) => {
      if (o.metadata?.resourceVersion === n.metadata?.resourceVersion) return;
      if (podFingerprint(o) === podFingerprint(n)) return;
      each(n);
      if (JSON.stringify(o.metadata?.labels) !== JSON.stringify(n.metadata?.labels)) each(o);
    },
    onDelete: (p: KPod) => each(p),
  };
}

export const isHeadless = (svc: Service): boolean => svc.spec?.clusterIP === 'None';

/** JSON with sorted keys: equality that ignores key order (the server may reorder). */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, val) =>
    val && typeof val === 'object' && !Array.isArray(val) ? Object.fromEntries(Object.keys(val).sort().map((k) => [k, val[k]])) : val,
  );
}

export function nowRfc3339Nano(): string {
  return new Date().toISOString();
}

/** Remembers the resourceVersion of our last write per key, so a lagging cache is not mistaken for the truth. */
export class WriteTracker {
  private readonly written = new Map<string, { rv: number; at: number }>();
  record(key: string, rv: string | undefined): void {
    if (rv && /^\d+$/.test(rv)) this.written.set(key, { rv: Number(rv), at: Date.now() });
  }
  /** true while the cached object is older than what we wrote (for at most 10 s) */
  stale(key: string, cachedRv: string | undefined): boolean {
    const w = this.written.get(key);
    if (!w) return false;
    if (Date.now() - w.at > 10_000 || (cachedRv && Number(cachedRv) >= w.rv)) {
      this.written.delete(key);
      return false;
    }
    return true;
  }
}

// ------------------------------------------------------------------ subsets

function addressKey(a: EndpointAddress): string {
  return `${a.ip}/${a.targetRef?.uid ?? ''}`;
}

const portKey = (ports: EndpointPort[]): string => JSON.stringify(ports);

function sortPorts(ports: EndpointPort[]): EndpointPort[] {
  return ports.sort((a, b) => (a.name ?? '').localeCompare(b.name ?? '') || a.port - b.port || (a.protocol ?? '').localeCompare(b.protocol ?? ''));
}

/** Subsets for a service: addresses grouped by identical port sets, sorted. */
export function computeSubsets(svc: Service, pods: Pod[]): EndpointSubset[] {
  const publish = !!svc.spec?.publishNotReadyAddresses;
  const groups = new Map<string, { ports?: EndpointPort[]; addresses: EndpointAddress[]; notReady: EndpointAddress[] }>();
  const svcPorts = svc.spec?.ports ?? [];
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, publish)) continue;
    const ip = podIpFor(svc, pod);
    if (!ip) continue;
    const addr: EndpointAddress = { ip };
    if (shouldSetHostname(pod, svc)) addr.hostname = pod.spec!.hostname;
    if (pod.spec?.nodeName) addr.nodeName = pod.spec.nodeName;
    addr.targetRef = { kind: 'Pod', namespace: pod.metadata?.namespace, name: pod.metadata?.name, uid: pod.metadata?.uid };
    let ports: EndpointPort[] | undefined;
    if (!svcPorts.length) {
      // headless services may have no ports at all
      if (!isHeadless(svc)) continue;
    } else {
      ports = [];
      for (const sp of svcPorts) {
        const n = findPort(pod, sp);
        if (n === undefined) continue;
        const ep: EndpointPort = { port: n, protocol: sp.protocol ?? 'TCP' };
        if (sp.name) ep.name = sp.name;
        if (sp.appProtocol) ep.appProtocol = sp.appProtocol;
        ports.push(ep);
      }
      if (!ports.length) continue;
      sortPorts(ports);
    }
    const k = ports ? portKey(ports) : '';
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { ports, addresses: [], notReady: [] }));
    (publish || isPodReady(pod) ? g.addresses : g.notReady).push(addr);
  }
  const cmp = (a: EndpointAddress, b: EndpointAddress) => ipCompare(a.ip, b.ip) || addressKey(a).localeCompare(addressKey(b));
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, g]) => {
      const s: EndpointSubset = {};
      if (g.addresses.length) s.addresses = g.addresses.sort(cmp);
      if (g.notReady.length) s.notReadyAddresses = g.notReady.sort(cmp);
      if (g.ports) s.ports = g.ports;
      return s;
    });
}

function ipCompare(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  if (pa.length === 4 && pb.length === 4) for (let i = 0; i < 4; i++) if (pa[i] !== pb[i]) return pa[i] - pb[i];
  return a.localeCompare(b);
}

/** Keep at most MAX_ENDPOINTS_ADDRESSES addresses, ready ones first, proportionally per subset. */
export function truncateSubsets(subsets: EndpointSubset[]): boolean {
  let ready = 0;
  let notReady = 0;
  for (const s of subsets) {
    ready += s.addresses?.length ?? 0;
    notReady += s.notReadyAddresses?.length ?? 0;
  }
  if (ready + notReady <= MAX_ENDPOINTS_ADDRESSES) return false;
  const cutReady = ready > MAX_ENDPOINTS_ADDRESSES;
  const budget = cutReady ? MAX_ENDPOINTS_ADDRESSES : MAX_ENDPOINTS_ADDRESSES - ready;
  const total = cutReady ? ready : notReady;
  let left = budget;
  for (const s of subsets) {
    const n = (cutReady ? s.addresses?.length : s.notReadyAddresses?.length) ?? 0;
    const take = Math.min(Math.ceil((n / total) * budget), left);
    if (cutReady) {
      s.addresses = s.addresses?.slice(0, take);
      delete s.notReadyAddresses;
      left -= s.addresses?.length ?? 0;
    } else {
      s.notReadyAddresses = s.notReadyAddresses?.slice(0, take);
      left -= s.notReadyAddresses?.length ?? 0;
    }
  }
  return true;
}

// ------------------------------------------------------------------ controller

export class EndpointsController implements Reconciler {
  readonly name = 'endpoints';
  readonly queue = new WorkQueue();
  private readonly services: Informer<KService>;
  private readonly pods: Informer<KPod>;
  private readonly endpoints: Informer<Endpoints & KubeObject>;
  private readonly client: ResourceClient<Endpoints & KubeObject>;
  private readonly tracker = new WriteTracker();

  constructor(factory: InformerFactory) {
    this.services = factory.informer('', 'services');
    this.pods = factory.informer('', 'pods');
    this.endpoints = factory.informer('', 'endpoints');
    this.client = factory.client('', 'endpoints');
    indexPodsByLabel(this.pods);
    const enqueue = (o: KubeObject) => this.queue.add(keyOf(o));
    this.services.addEventHandler({ onAdd: enqueue, onUpdate: (_o, n) => enqueue(n), onDelete: enqueue });
    this.pods.addEventHandler(podHandlers(this.services, (k) => this.queue.add(k)));
    // endpoints changed or deleted behind our back; leftovers without a service are
    // looked at once, at start-up (a newly created one may precede its service)
    this.endpoints.addEventHandler({ onAdd: (o) => !this.endpoints.hasSynced && enqueue(o), onUpdate: (_o, n) => enqueue(n), onDelete: enqueue });
  }

  async reconcile(key: string): Promise<void | number> {
    if (!this.services.hasSynced || !this.pods.hasSynced || !this.endpoints.hasSynced) return 200;
    if (key === 'default/kubernetes') return; // the apiserver's own endpoints
    const [namespace, name] = [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)];
    const svc = this.services.get(key);
    const cur = this.endpoints.get(key);
    if (cur && this.tracker.stale(key, cur.metadata?.resourceVersion)) return 100;
    if (!svc) {
      // the service is gone: so are its endpoints
      if (!cur || cur.metadata?.annotations?.[LEADER_ANNOTATION]) return;
      await this.client.delete(namespace, name, { preconditions: { uid: cur.metadata!.uid } }).catch((e) => {
        if (!isNotFound(e) && !isConflict(e)) throw e;
      });
      return;
    }
    if (!hasSelector(svc) || svc.spec?.type === 'ExternalName') return;

    const subsets = computeSubsets(svc, podsForService(this.pods, svc));
    const truncated = truncateSubsets(subsets);
    const labels: Record<string, string> = { ...(svc.metadata?.labels ?? {}) };
    if (isHeadless(svc)) labels[HEADLESS_LABEL] = '';
    else delete labels[HEADLESS_LABEL];
    if (cur) {
      const curLabels = cur.metadata?.labels ?? {};
      const overCap = cur.metadata?.annotations?.[OVER_CAPACITY] === 'truncated';
      if (canonical(cur.subsets ?? []) === canonical(subsets) && sameMap(curLabels, labels) && overCap === truncated) return;
    }
    const annotations: Record<string, string> = { ...(cur?.metadata?.annotations ?? {}), [TRIGGER_TIME]: nowRfc3339Nano() };
    if (truncated) annotations[OVER_CAPACITY] = 'truncated';
    else delete annotations[OVER_CAPACITY];
    const obj: Endpoints & KubeObject = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { ...(cur?.metadata ?? {}), name, namespace, labels, annotations },
      subsets,
    };
    try {
      const out = cur ? await this.client.update(obj) : await this.client.create(obj);
      this.tracker.record(key, out.metadata?.resourceVersion);
    } catch (e) {
      if (isConflict(e) || isAlreadyExists(e)) return 250; // the cache is behind: look again shortly
      if (e instanceof ApiError && e.code === 403) return; // namespace terminating
      throw e;
    }
  }
}

function sameMap(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => a[k] === b[k]);
}
