// EndpointSlice controller: for every Service with a selector, EndpointSlices
// `<service>-<random>` (owned by the Service, labelled with its name and
// `endpointslice.kubernetes.io/managed-by`) listing the selected pods with
// ready/serving/terminating conditions, node, zone and target, at most 100
// endpoints per slice. Updates keep endpoints in the slice they are in and fill
// slices that are being rewritten anyway before creating new ones, so a change
// rewrites as few slices as possible.
import type { Endpoint, EndpointPort, EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Node, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from '../api/kind.js';
import { ApiError, isAlreadyExists, isConflict, isNotFound } from '../client/api.js';
import type { Reconciler } from '../client/controller.js';
import type { InformerFactory } from '../client/factory.js';
import { keyOf, type Informer } from '../client/informer.js';
import type { ResourceClient } from '../client/resource.js';
import { WorkQueue } from '../client/workqueue.js';
import {
  canonical,
  findPort,
  HEADLESS_LABEL,
  hasSelector,
  indexPodsByLabel,
  isHeadless,
  nowRfc3339Nano,
  podHandlers,
  podIpFor,
  podsForService,
  shouldPodBeInEndpoints,
  shouldSetHostname,
  TRIGGER_TIME,
} from './endpoints.js';
import { isPodReady } from './util/podReady.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const CONTROLLER_NAME = 'endpointslice-controller.k8s.io';
export const MAX_ENDPOINTS_PER_SLICE = 100;
const ZONE_LABEL = 'topology.kubernetes.io/zone';
const SLICE_INDEX = 'endpointslice:service';

type KSlice = EndpointSlice & KubeObject;
type KPod = Pod & KubeObject;
type KService = Service & KubeObject;

/** The endpoint for a pod, or undefined when it should not be listed. */
export function podToEndpoint(svc: Service, pod: Pod, node: Node | undefined): Endpoint | undefined {
  if (!shouldPodBeInEndpoints(pod, true)) return undefined;
  const ip = podIpFor(svc, pod);
  if (!ip) return undefined;
  const publish = !!svc.spec?.publishNotReadyAddresses;
  const terminating = !!pod.metadata?.deletionTimestamp;
  // serving is the pod's own readiness; publishNotReadyAddresses only forces "ready"
  const serving = isPodReady(pod);
  // "ready" is never true for a terminating pod, unless not-ready addresses are published
  const ready = publish || (serving && !terminating);
  const ep: Endpoint = { addresses: [ip], conditions: { ready, serving, terminating } };
  if (shouldSetHostname(pod, svc)) ep.hostname = pod.spec!.hostname;
  ep.targetRef = { kind: 'Pod', namespace: pod.metadata?.namespace, name: pod.metadata?.name, uid: pod.metadata?.uid };
  if (pod.spec?.nodeName) ep.nodeName = pod.spec.nodeName;
  const zone = node?.metadata?.labels?.[ZONE_LABEL];
  if (zone) ep.zone = zone;
  return ep;
}

/** Ports of a service as resolved on one pod (undefined: no port resolves). */
export function podPorts(svc: Service, pod: Pod): EndpointPort[] | undefined {
  const out: EndpointPort[] = [];
  for (const sp of svc.spec?.ports ?? []) {
    const n = findPort(pod, sp);
    if (n === undefined) continue;
    const p: EndpointPort = { name: sp.name ?? '', port: n, protocol: sp.protocol ?? 'TCP' };
    if (sp.appProtocol) p.appProtocol = sp.appProtocol;
    out.push(p);
  }
  if (!out.length && (svc.spec?.ports?.length ?? 0) > 0) return undefined;
  return out.sort((a, b) => (a.name ?? '').localeCompare(b.name ?? '') || (a.port ?? 0) - (b.port ?? 0));
}

const endpointKey = (e: Endpoint): string => e.targetRef?.uid ?? e.addresses.join(',');
const portsKey = (ports: EndpointPort[] | undefined | null): string => canonical(ports ?? []);

export interface SlicePlan {
  create: { ports: EndpointPort[]; endpoints: Endpoint[] }[];
  update: { slice: KSlice; ports: EndpointPort[]; endpoints: Endpoint[] }[];
  remove: KSlice[];
}

/**
 * Decide which slices to create, rewrite and delete so that `desired` (endpoints
 * grouped by port set) is covered, touching as few existing slices as possible.
 */
export function planSlices(existing: KSlice[], desired: Map<string, { ports: EndpointPort[]; endpoints: Map<string, Endpoint> }>, max = MAX_ENDPOINTS_PER_SLICE, metaChanged: (s: KSlice) => boolean = () => false): SlicePlan {
  const plan: SlicePlan = { create: [], update: [], remove: [] };
  const byPorts = new Map<string, KSlice[]>();
  /** slices whose port set is no longer wanted: rewritten instead of deleting one and creating another */
  const recyclable: KSlice[] = [];
  for (const s of existing) {
    const k = portsKey(s.ports);
    if (s.addressType !== 'IPv4') {
      plan.remove.push(s); // addressType is immutable
      continue;
    }
    if (!desired.has(k)) {
      recyclable.push(s);
      continue;
    }
    let l = byPorts.get(k);
    if (!l) byPorts.set(k, (l = []));
    l.push(s);
  }
  for (const [k, group] of desired) {
    const want = new Map(group.endpoints);
    const slices = byPorts.get(k) ?? [];
    const rewritten: { slice: KSlice; endpoints: Endpoint[] }[] = [];
    const untouched: { slice: KSlice; endpoints: Endpoint[] }[] = [];
    for (const s of slices) {
      const kept: Endpoint[] = [];
      let changed = metaChanged(s);
      for (const e of s.endpoints ?? []) {
        const ek = endpointKey(e);
        const w = want.get(ek);
        if (!w || kept.length >= max) {
          changed = true;
          continue;
        }
        want.delete(ek);
        if (canonical(w) !== canonical(e)) changed = true;
        kept.push(w);
      }
      (changed ? rewritten : untouched).push({ slice: s, endpoints: kept });
    }
    const rest = [...want.values()];
    // fill the slices we rewrite anyway
    for (const r of rewritten) while (rest.length && r.endpoints.length < max) r.endpoints.push(rest.shift()!);
    // the remainder: full new slices, and the last chunk into an untouched slice with room if one fits it
    while (rest.length >= max) plan.create.push({ ports: group.ports, endpoints: rest.splice(0, max) });
    if (rest.length) {
      const roomy = untouched.filter((u) => max - u.endpoints.length >= rest.length).sort((a, b) => b.endpoints.length - a.endpoints.length)[0];
      if (roomy) {
        roomy.endpoints.push(...rest.splice(0));
        untouched.splice(untouched.indexOf(roomy), 1);
        rewritten.push(roomy);
      } else plan.create.push({ ports: group.ports, endpoints: rest.splice(0) });
    }
    for (const r of rewritten) {
      if (r.endpoints.length) plan.update.push({ slice: r.slice, ports: group.ports, endpoints: r.endpoints });
      else plan.remove.push(r.slice);
    }
  }
  while (recyclable.length && plan.create.length) plan.update.push({ slice: recyclable.shift()!, ...plan.create.shift()! });
  plan.remove.push(...recyclable);
  return plan;
}

export class EndpointSliceController implements Reconciler {
  readonly name = 'endpointslice';
  readonly queue = new WorkQueue();
  private readonly services: Informer<KService>;
  private readonly pods: Informer<KPod>;
  private readonly nodes: Informer<Node & KubeObject>;
  private readonly slices: Informer<KSlice>;
  private readonly client: ResourceClient<KSlice>;
  /** our writes per service not yet seen in the cache: slice name → resourceVersion (0: deleted) */
  private readonly pending = new Map<string, { names: Map<string, number>; at: number }>();

  constructor(factory: InformerFactory) {
    this.services = factory.informer('', 'services');
    this.pods = factory.informer('', 'pods');
    this.nodes = factory.informer('', 'nodes');
    this.slices = factory.informer('discovery.k8s.io', 'endpointslices');
    this.client = factory.client('discovery.k8s.io', 'endpointslices');
    indexPodsByLabel(this.pods);
    this.slices.addIndexer(SLICE_INDEX, (s) => {
      const svc = s.metadata?.labels?.[SERVICE_NAME_LABEL];
      return svc && s.metadata?.labels?.[MANAGED_BY_LABEL] === CONTROLLER_NAME ? [`${s.metadata?.namespace}/${svc}`] : [];
    });
    const enqueue = (o: KubeObject) => this.queue.add(keyOf(o));
    this.services.addEventHandler({ onAdd: enqueue, onUpdate: (_o, n) => enqueue(n), onDelete: enqueue });
    this.pods.addEventHandler(podHandlers(this.services, (k) => this.queue.add(k)));
    const sliceEvent = (s: KSlice) => {
      const svc = s.metadata?.labels?.[SERVICE_NAME_LABEL];
      if (svc && s.metadata?.labels?.[MANAGED_BY_LABEL] === CONTROLLER_NAME) this.queue.add(`${s.metadata?.namespace}/${svc}`);
    };
    this.slices.addEventHandler({ onUpdate: (_o, n) => sliceEvent(n), onDelete: sliceEvent });
    // a node's zone label feeds the endpoints of its pods
    this.nodes.addEventHandler({
      onUpdate: (o, n) => {
        if (o.metadata?.labels?.[ZONE_LABEL] === n.metadata?.labels?.[ZONE_LABEL]) return;
        const seen = new Set<string>();
        for (const p of this.pods.list()) {
          if (p.spec?.nodeName !== n.metadata?.name) continue;
          for (const s of this.services.list(p.metadata?.namespace ?? '')) {
            const k = keyOf(s);
            if (!seen.has(k) && hasSelector(s)) seen.add(k), this.queue.add(k);
          }
        }
      },
    });
  }

  /** Has the cache caught up with our last writes for this service? */
  private caughtUp(key: string): boolean {
    const p = this.pending.get(key);
    if (!p) return true;
    if (Date.now() - p.at > 10_000) {
      this.pending.delete(key);
      return true;
    }
    const ns = key.slice(0, key.indexOf('/'));
    for (const [name, rv] of p.names) {
      const cur = this.slices.get(`${ns}/${name}`);
      if (rv === 0 ? cur : !cur || Number(cur.metadata?.resourceVersion) < rv) return false;
    }
    this.pending.delete(key);
    return true;
  }

  async reconcile(key: string): Promise<void | number> {
    if (!this.services.hasSynced || !this.pods.hasSynced || !this.slices.hasSynced || !this.nodes.hasSynced) return 200;
    if (!this.caughtUp(key)) return 100;
    const svc = this.services.get(key);
    // deleted services: their slices go with them through the garbage collector (ownerReferences)
    if (!svc || !hasSelector(svc) || svc.spec?.type === 'ExternalName') return;
    const namespace = svc.metadata!.namespace!;
    const existing = this.slices.byIndex(SLICE_INDEX, key).filter((s) => !s.metadata?.deletionTimestamp);

    const desired = new Map<string, { ports: EndpointPort[]; endpoints: Map<string, Endpoint> }>();
    for (const pod of podsForService(this.pods, svc)) {
      const ep = podToEndpoint(svc, pod, pod.spec?.nodeName ? this.nodes.get(pod.spec.nodeName) : undefined);
      if (!ep) continue;
      const ports = podPorts(svc, pod);
      if (!ports) continue;
      const k = portsKey(ports);
      let g = desired.get(k);
      if (!g) desired.set(k, (g = { ports, endpoints: new Map() }));
      g.endpoints.set(endpointKey(ep), ep);
    }
    const labels = this.labels(svc);
    const owner = { apiVersion: 'v1', kind: 'Service', name: svc.metadata!.name!, uid: svc.metadata!.uid!, controller: true, blockOwnerDeletion: true };
    const metaChanged = (s: KSlice) => canonical(s.metadata?.labels ?? {}) !== canonical(labels) || !(s.metadata?.ownerReferences ?? []).some((o: { uid: string }) => o.uid === owner.uid);

    let plan: SlicePlan;
    if (!desired.size) {
      // no endpoints: one empty placeholder slice, like upstream
      const [keep, ...others] = existing;
      plan = { create: [], update: [], remove: others };
      const placeholderOk = keep && !(keep.endpoints ?? []).length && !(keep.ports ?? []).length && keep.addressType === 'IPv4' && !metaChanged(keep);
      if (!keep) plan.create.push({ ports: [], endpoints: [] });
      else if (!placeholderOk) plan.update.push({ slice: keep, ports: [], endpoints: [] });
    } else {
      plan = planSlices(existing, desired, MAX_ENDPOINTS_PER_SLICE, metaChanged);
    }
    if (!plan.create.length && !plan.update.length && !plan.remove.length) return;

    const written = new Map<string, number>();
    const trigger = nowRfc3339Nano();
    const base = (): KSlice => ({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { namespace, labels, annotations: { [TRIGGER_TIME]: trigger }, ownerReferences: [owner] },
      addressType: 'IPv4',
      endpoints: [],
      ports: [],
    });
    try {
      for (const u of plan.update) {
        const s = u.slice;
        const obj: KSlice = {
          ...s,
          metadata: { ...s.metadata, labels, annotations: { ...(s.metadata?.annotations ?? {}), [TRIGGER_TIME]: trigger }, ownerReferences: [...(s.metadata?.ownerReferences ?? []).filter((o: { uid: string }) => o.uid !== owner.uid), owner] },
          addressType: 'IPv4',
          endpoints: u.endpoints,
          ports: u.ports,
        };
        const out = await this.client.update(obj);
        written.set(out.metadata!.name!, Number(out.metadata!.resourceVersion));
      }
      for (const c of plan.create) {
        const obj = base();
        obj.metadata!.generateName = `${svc.metadata!.name!.slice(0, 57)}-`;
        obj.endpoints = c.endpoints;
        obj.ports = c.ports;
        const out = await this.client.create(obj, namespace);
        written.set(out.metadata!.name!, Number(out.metadata!.resourceVersion));
      }
      for (const s of plan.remove) {
        await this.client.delete(namespace, s.metadata!.name!, { preconditions: { uid: s.metadata!.uid } }).catch((e) => {
          if (!isNotFound(e) && !isConflict(e)) throw e;
        });
        written.set(s.metadata!.name!, 0);
      }
    } catch (e) {
      if (isConflict(e) || isAlreadyExists(e)) return 250; // a stale cache: look again shortly
      if (e instanceof ApiError && e.code === 403) return; // namespace terminating
      throw e;
    } finally {
      if (written.size) this.pending.set(key, { names: written, at: Date.now() });
    }
  }

  private labels(svc: Service): Record<string, string> {
    const l: Record<string, string> = { ...(svc.metadata?.labels ?? {}) };
    if (isHeadless(svc)) l[HEADLESS_LABEL] = '';
    else delete l[HEADLESS_LABEL];
    l[SERVICE_NAME_LABEL] = svc.metadata!.name!;
    l[MANAGED_BY_LABEL] = CONTROLLER_NAME;
    return l;
  }
}
