// The scheduling loop: informers feed the queue (pending pods for this
// scheduler) and the cache (nodes, placed pods); one pod at a time is filtered
// over a rotating subset of nodes, scored, assumed on the best node and bound
// asynchronously while the next pod is scheduled.
import type { Logger } from 'pino';
import type { Node, Pod, PersistentVolumeClaim, Namespace, Service } from 'kubernetes-types/core/v1.js';
import type { PriorityClass } from 'kubernetes-types/scheduling/v1.js';
import type { ApiClient } from '../client/api.js';
import { isNotFound } from '../client/api.js';
import type { InformerFactory } from '../client/factory.js';
import type { Informer } from '../client/informer.js';
import { EventRecorder } from '../client/events.js';
import { selectorFromLabelSelector, selectorFromSet, type Selector } from '../api/labels.js';
import type { KubeObject } from '../api/kind.js';
import { SchedulerCache } from './cache.js';
import { Code, FitError, Framework, numFeasibleNodesToFind, type CycleState, type Handle, type Plugin, type Status } from './framework.js';
import { MatchCounter } from './matchCounter.js';
import type { NodeInfo } from './nodeInfo.js';
import { newPodInfo, podKey, type PodInfo } from './podInfo.js';
import { SchedulingQueue, type QueuedPodInfo } from './queue.js';
import { preempt } from './preemption.js';
import { defaultPlugins } from './plugins/index.js';

export interface SchedulerConfig {
  /** percentageOfNodesToScore (0 = adaptive, like upstream) */
  percentageOfNodesToScore?: number;
  /** pods naming this schedulerName (or none, for default-scheduler) are ours */
  schedulerName?: string;
  /** binding calls in flight at once */
  maxBindsInFlight?: number;
  /** record a Normal "Scheduled" event per pod (upstream does) */
  scheduledEvents?: boolean;
  /** called after each successful binding (benchmarks) */
  onBound?(pod: Pod, node: string): void;
}

/** the filters that apply to this pod (PreFilter may skip some), kept in the cycle state */
const filtersKey = 'framework/filters';
const ts = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const isTerminal = (p: Pod) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';

export class Scheduler {
  readonly cache = new SchedulerCache();
  readonly queue = new SchedulingQueue();
  readonly fwk: Framework;
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  private readonly priorityClasses: Informer<PriorityClass>;
  private readonly pvcs: Informer<PersistentVolumeClaim>;
  private readonly namespaces: Informer<Namespace>;
  private readonly services: Informer<Service>;
  private readonly owners: Record<string, Informer<KubeObject>>;
  private readonly recorder: EventRecorder;
  private readonly schedulerName: string;
  private readonly affinityPods = new Map<string, { pod: PodInfo; node: NodeInfo }>();
  /** node -> pods nominated to it by preemption (not bound yet) */
  private readonly nominated = new Map<string, Map<string, PodInfo>>();
  private nextStartNodeIndex = 0;
  /** time spent in scheduling cycles (ms) and how many ran: the algorithm's own cost */
  readonly stats = { cycles: 0, cycleMs: 0 };
  private bindsInFlight = 0;
  private bindSlot?: () => void;
  private running = false;
  private loopDone?: Promise<void>;

  constructor(factory: InformerFactory, private readonly api: ApiClient, private readonly log: Logger, private readonly cfg: SchedulerConfig = {}) {
    this.schedulerName = cfg.schedulerName ?? 'default-scheduler';
    this.recorder = new EventRecorder(api, this.schedulerName);
    this.pods = factory.informer<Pod>('', 'pods');
    this.nodes = factory.informer<Node>('', 'nodes');
    this.priorityClasses = factory.informer<PriorityClass>('scheduling.k8s.io', 'priorityclasses');
    this.pvcs = factory.informer<PersistentVolumeClaim>('', 'persistentvolumeclaims');
    this.namespaces = factory.informer<Namespace>('', 'namespaces');
    this.services = factory.informer<Service>('', 'services');
    this.owners = {
      ReplicaSet: factory.informer('apps', 'replicasets'),
      StatefulSet: factory.informer('apps', 'statefulsets'),
      ReplicationController: factory.informer('', 'replicationcontrollers'),
    };
    const counter = new MatchCounter();
    const handle: Handle = {
      nodes: () => this.cache.nodeList(),
      node: (name) => this.cache.get(name),
      namespaceLabels: (ns) => this.namespaces.get(ns)?.metadata?.labels,
      defaultSelectors: (p) => this.defaultSelectors(p),
      pvcExists: (ns, name) => !!this.pvcs.get(`${ns}/${name}`),
      affinityPods: () => this.affinityPods.values(),
      counter,
    };
    this.fwk = new Framework(defaultPlugins(handle), handle);
    this.wire();
  }

  private responsible(p: Pod): boolean {
    return (p.spec?.schedulerName || 'default-scheduler') === this.schedulerName;
  }

  /** spec.priority, else the value of its PriorityClass (or the global default class), else 0. */
  priorityOf(p: Pod): number {
    if (typeof p.spec?.priority === 'number') return p.spec.priority;
    const name = p.spec?.priorityClassName;
    if (name) return this.priorityClasses.get(name)?.value ?? 0;
    for (const pc of this.priorityClasses.list()) if (pc.globalDefault) return pc.value;
    return 0;
  }

  private info(p: Pod): PodInfo {
    return newPodInfo(p, this.priorityOf(p));
  }

  private defaultSelectors(p: PodInfo): Selector[] {
    const out: Selector[] = [];
    for (const svc of this.services.list(p.namespace)) {
      const sel = svc.spec?.selector;
      if (sel && Object.keys(sel).length && Object.entries(sel).every(([k, v]) => p.labels[k] === v)) out.push(selectorFromSet(sel));
    }
    for (const ref of p.pod.metadata?.ownerReferences ?? []) {
      if (!ref.controller) continue;
      const owner = this.owners[ref.kind]?.get(`${p.namespace}/${ref.name}`);
      const sel = owner?.spec?.selector;
      if (!sel) continue;
      try {
        out.push(ref.kind === 'ReplicationController' ? selectorFromSet(sel) : selectorFromLabelSelector(sel));
      } catch {
        /* invalid selector: no spreading on it */
      }
    }
    return out;
  }

  private trackAffinity(info: PodInfo | undefined, key: string): void {
    const node = info?.pod.spec?.nodeName ? this.cache.get(info.pod.spec.nodeName) : undefined;
    if (info && node && (info.requiredAffinity.length || info.requiredAntiAffinity.length || info.preferredAffinity.length || info.preferredAntiAffinity.length)) this.affinityPods.set(key, { pod: info, node });
    else this.affinityPods.delete(key);
  }

  private placePod(p: Pod): void {
    const key = podKey(p);
    if (isTerminal(p)) {
      this.cache.removePod(p, key);
      this.affinityPods.delete(key);
      return;
    }
    const info = this.info(p);
    this.cache.addPod(info);
    this.trackAffinity(info, key);
  }

  private removeNominated(key: string): void {
    for (const [node, m] of this.nominated) if (m.delete(key) && !m.size) this.nominated.delete(node);
  }

  private wire(): void {
    this.pods.addEventHandler({
      onAdd: (p) => {
        if (p.spec?.nodeName) this.placePod(p);
        else if (this.responsible(p) && !p.metadata?.deletionTimestamp) this.queue.add(this.info(p));
      },
      onUpdate: (old, p) => {
        const key = podKey(p);
        if (p.spec?.nodeName) {
          if (!old.spec?.nodeName) {
            this.queue.delete(key);
            this.removeNominated(key);
          }
          this.placePod(p);
          const labelsChanged = JSON.stringify(old.metadata?.labels ?? {}) !== JSON.stringify(p.metadata?.labels ?? {});
          // a pod finishing or changing labels can make room or satisfy affinity
          if (labelsChanged || (isTerminal(p) && !isTerminal(old))) this.queue.moveAllToActiveOrBackoff('AssignedPodUpdate');
        } else if (this.responsible(p)) {
          if (p.metadata?.deletionTimestamp) {
            this.queue.delete(key);
            return;
          }
          const changed = JSON.stringify(old.spec) !== JSON.stringify(p.spec) || JSON.stringify(old.metadata?.labels) !== JSON.stringify(p.metadata?.labels);
          this.queue.update(this.info(p), changed);
        }
      },
      onDelete: (p) => {
        const key = podKey(p);
        this.removeNominated(key);
        if (p.spec?.nodeName) {
          this.cache.removePod(p, key);
          this.affinityPods.delete(key);
          this.queue.moveAllToActiveOrBackoff('AssignedPodDelete');
        } else this.queue.delete(key);
      },
    });
    this.nodes.addEventHandler({
      onAdd: (n) => {
        this.cache.addOrUpdateNode(n);
        this.queue.moveAllToActiveOrBackoff('NodeAdd');
      },
      onUpdate: (old, n) => {
        this.cache.addOrUpdateNode(n);
        if (nodeSchedulingChanged(old, n)) this.queue.moveAllToActiveOrBackoff('NodeUpdate');
      },
      onDelete: (n) => this.cache.removeNode(n.metadata!.name!),
    });
    this.pvcs.addEventHandler({ onAdd: () => this.queue.moveAllToActiveOrBackoff('PvcAdd') });
  }

  async start(): Promise<void> {
    this.running = true;
    this.loopDone = this.loop();
  }

  stop(): void {
    this.running = false;
    this.queue.close();
  }

  /** Resolves once the loop has exited (after stop()). */
  async stopped(): Promise<void> {
    await this.loopDone;
  }

  private async loop(): Promise<void> {
    let lastYield = performance.now();
    while (this.running) {
      const qpi = this.queue.tryPop() ?? (await this.queue.pop());
      if (!qpi || !this.running) break;
      const t0 = performance.now();
      try {
        this.scheduleOne(qpi);
      } catch (err) {
        this.log.error({ err, pod: qpi.info.key }, 'scheduling failed unexpectedly');
        this.queue.requeue(qpi, this.queue.cycle, false);
      }
      this.stats.cycles++;
      this.stats.cycleMs += performance.now() - t0;
      // let I/O (watch events, binding responses) in regularly
      if (performance.now() - lastYield > 5) {
        await new Promise((r) => setImmediate(r));
        lastYield = performance.now();
      }
      const max = this.cfg.maxBindsInFlight ?? 256;
      while (this.bindsInFlight >= max && this.running) await new Promise<void>((r) => (this.bindSlot = r));
    }
  }

  /** One scheduling cycle. Synchronous: the cache cannot change underneath it. */
  scheduleOne(qpi: QueuedPodInfo): void {
    const cycle = this.queue.cycle;
    const key = qpi.info.key;
    const cur = this.pods.get(key);
    if (!cur || cur.spec?.nodeName || cur.metadata?.deletionTimestamp || cur.metadata?.uid !== qpi.info.uid) {
      this.queue.done(key);
      return;
    }
    const info = qpi.info;
    const state: CycleState = new Map();
    const r = this.schedulePod(state, info);
    if (typeof r === 'string') {
      const node = r;
      this.cache.assumePod(info, node);
      this.trackAffinity({ ...info, pod: { ...info.pod, spec: { ...info.pod.spec!, nodeName: node } } }, key);
      const rs = this.fwk.runReserve(state, info, node);
      if (rs) {
        this.cache.forgetPod(key);
        this.affinityPods.delete(key);
        this.fail(qpi, cycle, new Error(rs.message), false);
        return;
      }
      void this.bind(qpi, state, node);
      return;
    }
    if (r instanceof FitError) {
      const canPreempt = [...r.nodeStatuses.values()].some((s) => s.code === Code.Unschedulable) || !!r.preFilterMsg;
      if (canPreempt || r.nodeStatuses.size) {
        const res = preempt(this.fwk, state, info, r, this.cache.nodeList(), (state.get(filtersKey) as Plugin[] | undefined) ?? this.fwk.filters);
        if (res.candidate) {
          void this.evict(info, res.candidate.node.name, res.candidate.victims);
          r.postFilterMsg = '';
          this.fail(qpi, cycle, r, true, res.candidate.node.name);
          return;
        }
        r.postFilterMsg = res.message;
      }
      this.fail(qpi, cycle, r, true);
      return;
    }
    this.fail(qpi, cycle, r, false);
  }

  /** Filter and score; returns the chosen node, a FitError, or an Error. */
  schedulePod(state: CycleState, info: PodInfo): string | FitError | Error {
    const nodes = this.cache.nodeList();
    const n = nodes.length;
    if (!n) return new Error('no nodes available to schedule pods');
    const pre = this.fwk.runPreFilter(state, info);
    if (pre.status) {
      if (!pre.status.rejected) return new Error(pre.status.message);
      const statuses = new Map<string, Status>();
      for (const node of nodes) statuses.set(node.name, pre.status);
      return new FitError(n, statuses, pre.status.message);
    }
    const filters = pre.skipped.size ? this.fwk.filters.filter((p) => !pre.skipped.has(p.name)) : this.fwk.filters;
    state.set(filtersKey, filters);
    const statuses = new Map<string, Status>();
    const feasible: NodeInfo[] = [];
    // a node nominated by an earlier preemption is tried first
    const nominatedNode = info.pod.status?.nominatedNodeName;
    if (nominatedNode) {
      const node = this.cache.get(nominatedNode);
      if (node && !this.filterNode(state, info, node, filters)) return nominatedNode;
    }
    const want = numFeasibleNodesToFind(n, this.cfg.percentageOfNodesToScore);
    const start = this.nextStartNodeIndex % n;
    let processed = 0;
    for (let i = 0; i < n && feasible.length < want; i++) {
      const node = nodes[(start + i) % n];
      processed++;
      const s = this.filterNode(state, info, node, filters);
      if (s) statuses.set(node.name, s);
      else feasible.push(node);
    }
    this.nextStartNodeIndex = (start + processed) % n;
    if (!feasible.length) return new FitError(n, statuses);
    if (feasible.length === 1) return feasible[0].name;
    const scores = this.fwk.runScore(state, info, feasible);
    let best = 0;
    let ties = 1;
    for (let i = 1; i < feasible.length; i++) {
      if (scores[i] > scores[best]) {
        best = i;
        ties = 1;
      } else if (scores[i] === scores[best] && Math.random() * ++ties < 1) best = i;
    }
    return feasible[best].name;
  }

  /** Filters on a node, counting pods nominated there with at least our priority as already placed. */
  private filterNode(state: CycleState, info: PodInfo, node: NodeInfo, filters: Plugin[]): Status | null {
    const nom = this.nominated.get(node.name);
    if (nom?.size) {
      let sim: NodeInfo | undefined;
      for (const p of nom.values()) {
        if (p.key === info.key || p.priority < info.priority) continue;
        sim ??= node.clone();
        sim.addPod(p);
      }
      if (sim) {
        const s = this.fwk.runFilter(state, info, sim, filters);
        if (s) return s;
      }
    }
    return this.fwk.runFilter(state, info, node, filters);
  }

  private async bind(qpi: QueuedPodInfo, state: CycleState, node: string): Promise<void> {
    const info = qpi.info;
    const pod = info.pod;
    this.bindsInFlight++;
    try {
      await this.api.request('POST', `/api/v1/namespaces/${encodeURIComponent(info.namespace)}/pods/${encodeURIComponent(info.name)}/binding`, {
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name: info.name, namespace: info.namespace, uid: info.uid },
        target: { apiVersion: 'v1', kind: 'Node', name: node },
      });
      this.queue.done(info.key);
      this.removeNominated(info.key);
      if (this.cfg.scheduledEvents !== false) this.recorder.event(pod, 'Normal', 'Scheduled', `Successfully assigned ${info.namespace}/${info.name} to ${node}`);
      this.cfg.onBound?.(pod, node);
    } catch (err) {
      this.cache.forgetPod(info.key);
      this.affinityPods.delete(info.key);
      this.fwk.runUnreserve(state, info, node);
      if (isNotFound(err)) {
        this.queue.done(info.key);
        return;
      }
      this.log.debug({ pod: info.key, node, err: (err as Error).message }, 'binding failed');
      this.fail(qpi, this.queue.cycle, err as Error, false);
    } finally {
      this.bindsInFlight--;
      const s = this.bindSlot;
      this.bindSlot = undefined;
      s?.();
    }
  }

  /** Evict preemption victims (graceful delete) and nominate the node for the preemptor. */
  private async evict(pod: PodInfo, node: string, victims: PodInfo[]): Promise<void> {
    let m = this.nominated.get(node);
    if (!m) this.nominated.set(node, (m = new Map()));
    m.set(pod.key, pod);
    await Promise.all(
      victims.map(async (v) => {
        try {
          await this.api.request('DELETE', `/api/v1/namespaces/${encodeURIComponent(v.namespace)}/pods/${encodeURIComponent(v.name)}`, { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: v.uid } });
          this.recorder.event(v.pod, 'Normal', 'Preempted', `Preempted by pod ${pod.uid} on node ${node}`);
        } catch (err) {
          if (!isNotFound(err)) this.log.warn({ victim: v.key, err: (err as Error).message }, 'preemption: deleting victim failed');
        }
      }),
    );
  }

  /** Report a failed attempt (event + PodScheduled condition) and requeue the pod. */
  private fail(qpi: QueuedPodInfo, cycle: number, err: FitError | Error, unschedulable: boolean, nominatedNode?: string): void {
    const info = qpi.info;
    const msg = err.message;
    this.queue.requeue(qpi, cycle, unschedulable);
    const pod = this.pods.get(info.key) ?? info.pod;
    this.recorder.event(pod, 'Warning', 'FailedScheduling', msg);
    const reason = unschedulable ? 'Unschedulable' : 'SchedulerError';
    const cond = (pod.status?.conditions ?? []).find((c) => c.type === 'PodScheduled');
    const nomChange = nominatedNode !== undefined && pod.status?.nominatedNodeName !== nominatedNode;
    if (cond?.status === 'False' && cond.reason === reason && cond.message === msg && !nomChange) return;
    const status: Record<string, unknown> = {
      conditions: [{ type: 'PodScheduled', status: 'False', reason, message: msg, lastProbeTime: null, lastTransitionTime: cond?.status === 'False' ? cond.lastTransitionTime : ts() }],
    };
    if (nominatedNode !== undefined) status.nominatedNodeName = nominatedNode;
    this.api
      .request('PATCH', `/api/v1/namespaces/${encodeURIComponent(info.namespace)}/pods/${encodeURIComponent(info.name)}/status`, { status }, 'application/strategic-merge-patch+json')
      .catch((e) => this.log.debug({ pod: info.key, err: (e as Error).message }, 'updating PodScheduled condition failed'));
  }
}

/** Did a node change in a way that could make an unschedulable pod fit (not just a heartbeat)? */
export function nodeSchedulingChanged(a: Node, b: Node): boolean {
  const j = (x: unknown) => JSON.stringify(x ?? null);
  if (j(a.status?.allocatable) !== j(b.status?.allocatable)) return true;
  if (j(a.metadata?.labels) !== j(b.metadata?.labels)) return true;
  if (j(a.spec?.taints) !== j(b.spec?.taints) || !!a.spec?.unschedulable !== !!b.spec?.unschedulable) return true;
  const ready = (n: Node) => n.status?.conditions?.find((c) => c.type === 'Ready')?.status;
  return ready(a) !== ready(b);
}
