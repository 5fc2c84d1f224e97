// Node lifecycle controller: watches node Leases (kube-node-lease) and
// NodeStatus. A node not heard from for the grace period gets every condition
// set to Unknown; Ready=Unknown/False become the `unreachable`/`not-ready`
// taints (NoSchedule and NoExecute), removed again when the node recovers.
// Taint-based eviction: pods on a node with NoExecute taints they do not
// tolerate are deleted, at once or after their tolerationSeconds; pods on a
// node that is not Ready get their Ready condition set to False.
import type { Taint, Toleration } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from '../api/kind.js';
import { notReadyTaint, tolerates, unreachableTaint } from '../api/tolerations.js';
import { isConflict, isNotFound } from '../client/api.js';
import type { Reconciler } from '../client/controller.js';
import type { EventRecorder } from '../client/events.js';
import type { InformerFactory } from '../client/factory.js';
import { keyOf, type Informer } from '../client/informer.js';
import { WorkQueue } from '../client/workqueue.js';
import type { ControllerOptions } from './manager.js';

const nodeConditionTypes = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'];
const leaseNamespace = 'kube-node-lease';

const now3339 = (ms = Date.now()) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

/**
 * When a pod must leave a node with these NoExecute taints: 0 = now,
 * Infinity = never, else ms after the taints were added.
 */
export function tolerationWindowMs(tolerations: Toleration[] | undefined, taints: Taint[]): number {
  let min = Infinity;
  for (const taint of taints) {
    const matching = (tolerations ?? []).filter((t) => tolerates(t, taint));
    if (!matching.length) return 0;
    for (const t of matching) if (typeof t.tolerationSeconds === 'number') min = Math.min(min, Math.max(0, t.tolerationSeconds) * 1000);
  }
  return min;
}

/** The not-ready/unreachable taints a node should carry for its Ready status. */
export function readinessTaints(readyStatus: string | undefined): { key: string; effect: string }[] {
  if (readyStatus === 'False') return [{ key: notReadyTaint, effect: 'NoSchedule' }, { key: notReadyTaint, effect: 'NoExecute' }];
  if (readyStatus === 'Unknown') return [{ key: unreachableTaint, effect: 'NoSchedule' }, { key: unreachableTaint, effect: 'NoExecute' }];
  return [];
}

/** Runs fn over items, at most `limit` at a time (a node may hold 110+ pods). */
export async function forEachBounded<T>(items: T[], limit: number, fn: (x: T) => Promise<void>): Promise<void> {
  let i = 0;
  const worker = async () => {
    while (i < items.length) await fn(items[i++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

interface Health {
  /** local time the node was last heard from */
  probeAt: number;
  renewTime?: string;
  heartbeat?: string;
}

export class NodeLifecycleController implements Reconciler {
  readonly name = 'node-lifecycle';
  readonly queue = new WorkQueue();
  readonly nodes: Informer;
  readonly leases: Informer;
  readonly pods: Informer;
  private readonly health = new Map<string, Health>();
  private readonly grace: number;

  constructor(
    private readonly factory: InformerFactory,
    opts: ControllerOptions,
    private readonly recorder?: EventRecorder,
  ) {
    this.grace = opts.nodeMonitorGracePeriodMs;
    this.nodes = factory.informer('', 'nodes');
    this.leases = factory.informer('coordination.k8s.io', 'leases');
    this.pods = factory.informer('', 'pods');
    this.pods.addIndexer('spec.nodeName', (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []));
    this.nodes.addEventHandler({
      onAdd: (n) => this.queue.add(n.metadata!.name!),
      onUpdate: (_o, n) => this.queue.add(n.metadata!.name!),
      onDelete: (n) => this.health.delete(n.metadata!.name!),
    });
    const lease = (l: KubeObject) => l.metadata?.namespace === leaseNamespace && this.queue.add(l.metadata!.name!);
    this.leases.addEventHandler({ onAdd: lease, onUpdate: (_o, l) => lease(l) });
    // a pod arriving on (or changing tolerations on) a tainted node needs a look
    const pod = (p: KubeObject) => {
      const node = p.spec?.nodeName && this.nodes.get(p.spec.nodeName);
      if (node && (node.spec?.taints ?? []).some((t: Taint) => t.effect === 'NoExecute')) this.queue.add(node.metadata!.name!);
      else if (node && readyStatus(node) !== 'True' && readyStatus(node) !== undefined) this.queue.add(node.metadata!.name!);
    };
    this.pods.addEventHandler({ onAdd: pod, onUpdate: (_o, p) => pod(p) });
  }

  async reconcile(name: string): Promise<void | number> {
    let node = this.nodes.get(name);
    if (!node) {
      this.health.delete(name);
      return;
    }
    const now = Date.now();
    let h = this.health.get(name);
    if (!h) this.health.set(name, (h = { probeAt: now }));
    const renewTime: string | undefined = this.leases.get(`${leaseNamespace}/${name}`)?.spec?.renewTime;
    const heartbeat: string | undefined = condition(node, 'Ready')?.lastHeartbeatTime;
    // local observation times, not the node's clock (which may be skewed)
    if (renewTime && renewTime !== h.renewTime) {
      h.renewTime = renewTime;
      h.probeAt = now;
    }
    if (heartbeat && heartbeat !== h.heartbeat) {
      h.heartbeat = heartbeat;
      h.probeAt = now;
    }
    const silentFor = now - h.probeAt;
    const requeues: number[] = [];

    if (silentFor > this.grace) {
      const updated = await this.markUnknown(node, now);
      if (updated === 'conflict') return 100;
      if (updated) node = updated;
    } else {
      requeues.push(this.grace - silentFor + 50);
    }

    const ready = readyStatus(node);
    // a node that never reported stays as it is until its grace period ends
    if (ready !== undefined) {
      const tainted = await this.syncTaints(node, ready, now);
      if (tainted === 'conflict') return 100;
      if (tainted) node = tainted;
      if (ready !== 'True') await this.markPodsNotReady(node);
    }
    const evictIn = await this.evict(node, now);
    if (evictIn !== undefined) requeues.push(evictIn);
    return requeues.length ? Math.max(10, Math.min(...requeues)) : undefined;
  }

  private async markUnknown(node: KubeObject, now: number): Promise<KubeObject | undefined | 'conflict'> {
    const conds: KubeObject[] = (node.status?.conditions ?? []).map((c: KubeObject) => ({ ...c }));
    let changed = false;
    const ts = now3339(now);
    if (!conds.some((c) => c.type === 'Ready')) {
      conds.push({ type: 'Ready', status: 'Unknown', reason: 'NodeStatusNeverUpdated', message: 'Kubelet never posted node status.', lastHeartbeatTime: node.metadata?.creationTimestamp, lastTransitionTime: ts });
      changed = true;
    }
    for (const c of conds) {
      if (!nodeConditionTypes.includes(c.type) || c.status === 'Unknown') continue;
      Object.assign(c, { status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastTransitionTime: ts });
      changed = true;
    }
    if (!changed) return undefined;
    try {
      const out = await this.factory.api.request('PUT', `/api/v1/nodes/${encodeURIComponent(node.metadata!.name!)}/status`, { ...node, status: { ...node.status, conditions: conds } });
      this.recorder?.event(node, 'Normal', 'NodeNotReady', `Node ${node.metadata!.name} status is now: NodeNotReady`);
      return out;
    } catch (e) {
      if (isConflict(e)) return 'conflict';
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  private async syncTaints(node: KubeObject, ready: string, now: number): Promise<KubeObject | undefined | 'conflict'> {
    const current: Taint[] = node.spec?.taints ?? [];
    const want = readinessTaints(ready);
    const ours = (t: Taint) => t.key === unreachableTaint || t.key === notReadyTaint;
    const keep = current.filter((t) => !ours(t) || want.some((w) => w.key === t.key && w.effect === t.effect));
    const add = want.filter((w) => !current.some((t) => t.key === w.key && t.effect === w.effect));
    if (!add.length && keep.length === current.length) return undefined;
    const taints = [...keep, ...add.map((w) => (w.effect === 'NoExecute' ? { ...w, timeAdded: now3339(now) } : { ...w }))];
    try {
      return await this.factory.api.request('PUT', `/api/v1/nodes/${encodeURIComponent(node.metadata!.name!)}`, { ...node, spec: { ...node.spec, taints: taints.length ? taints : undefined } });
    } catch (e) {
      if (isConflict(e)) return 'conflict';
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  /** Upstream marks the pods of a node that is not Ready as not ready themselves. */
  private async markPodsNotReady(node: KubeObject): Promise<void> {
    const pods = this.pods.byIndex('spec.nodeName', node.metadata!.name!).filter(
      (pod) =>
        !pod.metadata?.deletionTimestamp &&
        pod.status?.phase !== 'Succeeded' &&
        pod.status?.phase !== 'Failed' &&
        (pod.status?.conditions ?? []).some((c: KubeObject) => c.type === 'Ready' && c.status === 'True'),
    );
    await forEachBounded(pods, 16, async (pod) => {
      const ts = now3339();
      const next = (pod.status?.conditions ?? []).map((c: KubeObject) => (c.type === 'Ready' ? { ...c, status: 'False', lastTransitionTime: ts } : c));
      await this.factory.api
        .request('PUT', `/api/v1/namespaces/${encodeURIComponent(pod.metadata!.namespace!)}/pods/${encodeURIComponent(pod.metadata!.name!)}/status`, { ...pod, status: { ...pod.status, conditions: next } })
        .catch((e) => {
          if (!isConflict(e) && !isNotFound(e)) throw e;
        });
    });
  }

  /** Deletes pods that must leave; returns ms until the next one is due. */
  private async evict(node: KubeObject, now: number): Promise<number | undefined> {
    const taints: Taint[] = (node.spec?.taints ?? []).filter((t: Taint) => t.effect === 'NoExecute');
    if (!taints.length) return undefined;
    // the window runs from when the newest NoExecute taint arrived
    const taintedAt = Math.max(...taints.map((t) => Date.parse(t.timeAdded ?? '') || now));
    let next: number | undefined;
    const due: KubeObject[] = [];
    for (const pod of this.pods.byIndex('spec.nodeName', node.metadata!.name!)) {
      if (pod.metadata?.deletionTimestamp) continue;
      const window = tolerationWindowMs(pod.spec?.tolerations, taints);
      if (window === Infinity) continue;
      const since = Math.max(taintedAt, Date.parse(pod.metadata?.creationTimestamp ?? '') || 0);
      const left = since + window - now;
      if (left > 0) next = Math.min(next ?? Infinity, left);
      else due.push(pod);
    }
    await forEachBounded(due, 16, async (pod) => {
      this.recorder?.event(pod, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${keyOf(pod)}`);
      await this.factory.api
        .request('DELETE', `/api/v1/namespaces/${encodeURIComponent(pod.metadata!.namespace!)}/pods/${encodeURIComponent(pod.metadata!.name!)}`, {
          apiVersion: 'v1',
          kind: 'DeleteOptions',
          preconditions: { uid: pod.metadata!.uid },
        })
        .catch((e) => {
          if (!isNotFound(e) && !isConflict(e)) throw e;
        });
    });
    return next;
  }
}

function condition(node: KubeObject, type: string): KubeObject | undefined {
  return (node.status?.conditions ?? []).find((c: KubeObject) => c.type === type);
}

function readyStatus(node: KubeObject): string | undefined {
  return condition(node, 'Ready')?.status;
}
