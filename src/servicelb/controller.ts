// The servicelb controller: gives Services of type LoadBalancer without a
// spec.loadBalancerClass their status.loadBalancer.ingress (a class set means
// another implementation owns the Service; its status is left alone).
//   node mode (default, like k3s' klipper-lb): the addresses of the Ready,
//     schedulable nodes (ExternalIP when a node has one, else InternalIP); the
//     node agents' proxies answer the Service's ports on those addresses.
//   pool mode (`--service-lb-pool`, like MetalLB): one address per Service from
//     the pool, spec.loadBalancerIP honoured when free, kept across restarts
//     (the status is the record: re-read on start), released when the Service
//     goes away or stops being a LoadBalancer.
// Writes go through services/status; events follow upstream's service controller.
import type { Node, Service } from 'kubernetes-types/core/v1.js';
import type { Logger } from 'pino';
import { parseIPv4 } from '../api/cidr.js';
import type { KubeObject } from '../api/kind.js';
import { ApiError, isConflict, isNotFound, type ApiClient } from '../client/api.js';
import { runWorkers, type Reconciler } from '../client/controller.js';
import { EventRecorder } from '../client/events.js';
import type { InformerFactory } from '../client/factory.js';
import { keyOf, type Informer } from '../client/informer.js';
import type { ResourceClient } from '../client/resource.js';
import { WorkQueue } from '../client/workqueue.js';
import { AddressPool } from './pool.js';

type KService = Service & KubeObject;
type KNode = Node & KubeObject;

/** Upstream's label for nodes that must not carry load balancer traffic. */
export const EXCLUDE_LB_LABEL = 'node.kubernetes.io/exclude-from-external-load-balancers';

export interface ServiceLBOptions {
  /** address pool (CIDR, a-b range, comma list); unset = node addresses */
  pool?: string;
}

interface Ingress {
  ip: string;
  ipMode: 'VIP';
}

/** Ours to manage: type LoadBalancer and no loadBalancerClass. */
export function isManaged(svc: Service): boolean {
  return svc.spec?.type === 'LoadBalancer' && !svc.spec.loadBalancerClass;
}

/** The addresses a node offers load balancer traffic on, or [] when it should not get any. */
export function nodeLoadBalancerAddresses(node: Node): string[] {
  if (node.metadata?.deletionTimestamp || node.spec?.unschedulable) return [];
  if (node.metadata?.labels?.[EXCLUDE_LB_LABEL] !== undefined) return [];
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status !== 'True') return [];
  const addrs = node.status?.addresses ?? [];
  const pick = (type: string) => addrs.filter((a) => a.type === type && parseIPv4(a.address) !== undefined).map((a) => a.address);
  const external = pick('ExternalIP');
  return external.length ? external : pick('InternalIP');
}

const byNumber = (a: string, b: string) => parseIPv4(a)! - parseIPv4(b)!;
const sameIngress = (cur: { ip?: string; hostname?: string; ipMode?: string }[] | undefined, want: Ingress[]) =>
  (cur ?? []).length === want.length && want.every((w, i) => cur![i].ip === w.ip && !cur![i].hostname && (cur![i].ipMode ?? 'VIP') === w.ipMode);

export class ServiceLBController implements Reconciler {
  readonly name = 'servicelb';
  readonly queue = new WorkQueue();
  private readonly services: Informer<KService>;
  private readonly nodes: Informer<KNode>;
  private readonly client: ResourceClient<KService>;
  private readonly pool?: AddressPool;
  private primed = false;
  /** per node: the addresses it contributes (node mode) */
  private readonly nodeAddrs = new Map<string, string[]>();
  /** the sorted union of nodeAddrs, recomputed when a node's contribution changes */
  private lbAddrs: string[] = [];
  /** services waiting for a pool address: looked at again when one is released */
  private readonly waiting = new Set<string>();

  constructor(factory: InformerFactory, private readonly recorder: EventRecorder | undefined, opts: ServiceLBOptions = {}) {
    this.services = factory.informer('', 'services');
    this.nodes = factory.informer('', 'nodes');
    this.client = factory.client('', 'services');
    if (opts.pool) this.pool = new AddressPool(opts.pool);
    const enqueue = (o: KubeObject) => this.queue.add(keyOf(o));
    this.services.addEventHandler({
      onAdd: (s) => (isManaged(s) || s.status?.loadBalancer?.ingress?.length) && enqueue(s),
      onUpdate: (o, n) => (isManaged(o) || isManaged(n) || n.status?.loadBalancer?.ingress?.length) && enqueue(n),
      onDelete: (s) => isManaged(s) && enqueue(s),
    });
    if (!this.pool) {
      const nodeChanged = (n: KNode, gone: boolean) => {
        const name = n.metadata!.name!;
        const next = gone ? [] : nodeLoadBalancerAddresses(n);
        const prev = this.nodeAddrs.get(name) ?? [];
        if (prev.length === next.length && prev.every((a, i) => a === next[i])) return;
        if (next.length) this.nodeAddrs.set(name, next);
        else this.nodeAddrs.delete(name);
        const all = [...new Set([...this.nodeAddrs.values()].flat())].sort(byNumber);
        if (all.length === this.lbAddrs.length && all.every((a, i) => a === this.lbAddrs[i])) return;
        this.lbAddrs = all;
        for (const s of this.services.list()) if (isManaged(s)) enqueue(s);
      };
      this.nodes.addEventHandler({ onAdd: (n) => nodeChanged(n, false), onUpdate: (_o, n) => nodeChanged(n, false), onDelete: (n) => nodeChanged(n, true) });
    }
  }

  /** The addresses node mode hands out right now (sorted). */
  get nodeAddresses(): readonly string[] {
    return this.lbAddrs;
  }

  /** Pool mode, once: take back the addresses Services already show in their status (oldest Service first). */
  private prime(): void {
    this.primed = true;
    if (!this.pool) return;
    const svcs = this.services.list().filter(isManaged);
    svcs.sort((a, b) => (a.metadata?.creationTimestamp ?? '').localeCompare(b.metadata?.creationTimestamp ?? '') || keyOf(a).localeCompare(keyOf(b)));
    for (const s of svcs) {
      const ip = s.status?.loadBalancer?.ingress?.[0]?.ip;
      if (ip) this.pool.claim(keyOf(s), ip);
    }
  }

  private release(key: string): void {
    if (!this.pool?.addressOf(key)) return;
    this.pool.release(key);
    for (const k of this.waiting) this.queue.add(k);
    this.waiting.clear();
  }

  /** Pool mode: the address for this Service, or a reason why there is none. */
  private poolAddress(key: string, svc: KService): { ip?: string; problem?: string } {
    const pool = this.pool!;
    const want = svc.spec?.loadBalancerIP;
    if (want) {
      if (pool.claim(key, want)) return { ip: want };
      this.release(key);
      this.waiting.add(key);
      if (!pool.contains(want)) return { problem: `requested IP ${want} is not in the load balancer pool` };
      return { problem: `requested IP ${want} is already in use by service ${pool.ownerOf(want)}` };
    }
    const ip = pool.allocate(key);
    if (ip) return { ip };
    this.waiting.add(key);
    return { problem: `no addresses left in the load balancer pool (${pool.size} in use)` };
  }

  async reconcile(key: string): Promise<void | number> {
    if (!this.services.hasSynced || !this.nodes.hasSynced) return 200;
    if (!this.primed) this.prime();
    const svc = this.services.get(key);
    if (!svc || svc.metadata?.deletionTimestamp) {
      this.waiting.delete(key);
      this.release(key);
      return;
    }
    if (svc.spec?.loadBalancerClass) {
      // someone else's load balancer: never touch its status
      this.waiting.delete(key);
      this.release(key);
      return;
    }
    if (svc.spec?.type !== 'LoadBalancer') {
      this.waiting.delete(key);
      this.release(key);
      if (!svc.status?.loadBalancer?.ingress?.length) return;
      this.recorder?.event(svc, 'Normal', 'DeletingLoadBalancer', 'Deleting load balancer');
      const r = await this.writeStatus(svc, []);
      if (r === undefined) this.recorder?.event(svc, 'Normal', 'DeletedLoadBalancer', 'Deleted load balancer');
      return r;
    }
    let want: Ingress[];
    if (this.pool) {
      const { ip, problem } = this.poolAddress(key, svc);
      if (problem) this.recorder?.event(svc, 'Warning', 'SyncLoadBalancerFailed', `Error syncing load balancer: ${problem}`);
      else this.waiting.delete(key);
      want = ip ? [{ ip, ipMode: 'VIP' }] : [];
    } else {
      want = this.lbAddrs.map((ip) => ({ ip, ipMode: 'VIP' }));
    }
    const cur = svc.status?.loadBalancer?.ingress;
    if (sameIngress(cur, want)) return;
    // node mode, already served: the node set changed (upstream's "new hosts" update)
    const hostsOnly = !this.pool && (cur?.length ?? 0) > 0 && want.length > 0;
    if (!hostsOnly) this.recorder?.event(svc, 'Normal', 'EnsuringLoadBalancer', 'Ensuring load balancer');
    const r = await this.writeStatus(svc, want);
    if (r === undefined) {
      if (hostsOnly) this.recorder?.event(svc, 'Normal', 'UpdatedLoadBalancer', 'Updated load balancer with new hosts');
      else this.recorder?.event(svc, 'Normal', 'EnsuredLoadBalancer', 'Ensured load balancer');
    }
    return r;
  }

  /** PUT services/status against the cached resourceVersion; a conflict means a newer object is on its way. */
  private async writeStatus(svc: KService, ingress: Ingress[]): Promise<void | number> {
    const loadBalancer = ingress.length ? { ingress } : {};
    try {
      await this.client.updateStatus({ ...svc, status: { ...(svc.status ?? {}), loadBalancer } });
    } catch (e) {
      if (isConflict(e)) return 250;
      if (isNotFound(e)) return 100;
      if (e instanceof ApiError && e.code === 422) throw new Error(`status rejected: ${e.message}`);
      throw e;
    }
  }
}

/** Run the controller on a started (or starting) informer factory; returns stop. */
export function startServiceLB(factory: InformerFactory, api: ApiClient, log: Logger, opts: ServiceLBOptions = {}): { controller: ServiceLBController; stop(): void } {
  const controller = new ServiceLBController(factory, new EventRecorder(api, 'service-controller'), opts);
  const stop = runWorkers(controller, 2, log.child({ controller: controller.name }));
  return { controller, stop };
}
