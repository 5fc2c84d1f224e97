// Disruption controller: keeps each PodDisruptionBudget's status (expected and
// healthy pod counts, disruptionsAllowed, the DisruptionAllowed condition) up to
// date, which the eviction subresource spends. Percentages are of the pods'
// controllers' desired scale; an error leaves the budget failing safe (0 allowed).
import type { KubeObject } from '../api/kind.js';
import { selectorFromLabelSelector, type Selector } from '../api/labels.js';
import type { Reconciler } from '../client/controller.js';
import { EventRecorder } from '../client/events.js';
import type { InformerFactory } from '../client/factory.js';
import { keyOf, splitKey, type Informer } from '../client/informer.js';
import type { ResourceClient } from '../client/resource.js';
import { WorkQueue } from '../client/workqueue.js';
import { isPodReady } from './util/podReady.js';

/** how long an eviction is expected to take before the pod counts as healthy again (upstream: 2 min) */
export const deletionTimeoutMs = 120_000;

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

/** intstr scaled value: ints as is, "N%" of total rounded up. */
export function scaledValue(v: number | string, total: number): number {
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) throw new Error(`invalid value for IntOrString: invalid type: string is not a percentage`);
  return Math.ceil((Number(m[1]) * total) / 100);
}

export interface BudgetNumbers {
  expectedCount: number;
  desiredHealthy: number;
  unmanaged: string[];
}

/** expectedPods and desiredHealthy per upstream's rules; `scaleOf` finds a pod's controller scale. */
export function budgetNumbers(pdb: KubeObject, pods: KubeObject[], scaleOf: (pod: KubeObject) => { uid: string; scale: number } | 'unmanaged' | undefined): BudgetNumbers {
  const spec = pdb.spec ?? {};
  const unmanaged: string[] = [];
  const expectedScale = () => {
    const scales = new Map<string, number>();
    for (const p of pods) {
      const s = scaleOf(p);
      if (s === 'unmanaged') {
        unmanaged.push(p.metadata!.name!);
        continue;
      }
      if (!s) throw new Error(`found no controllers for pod ${JSON.stringify(p.metadata?.name)}`);
      scales.set(s.uid, s.scale);
    }
    let n = 0;
    for (const v of scales.values()) n += v;
    return n;
  };
  let expectedCount = 0;
  let desiredHealthy = 0;
  if (spec.maxUnavailable != null) {
    expectedCount = expectedScale();
    desiredHealthy = Math.max(0, expectedCount - scaledValue(spec.maxUnavailable, expectedCount));
  } else if (spec.minAvailable != null) {
    if (typeof spec.minAvailable === 'number') {
      desiredHealthy = spec.minAvailable;
      expectedCount = pods.length;
    } else {
      expectedCount = expectedScale();
      desiredHealthy = scaledValue(spec.minAvailable, expectedCount);
    }
  }
  return { expectedCount, desiredHealthy, unmanaged };
}

function setCondition(status: KubeObject, cond: { status: string; reason: string; message: string }): void {
  const conds: KubeObject[] = status.conditions ?? [];
  const old = conds.find((c) => c.type === 'DisruptionAllowed');
  const next = {
    type: 'DisruptionAllowed',
    status: cond.status,
    reason: cond.reason,
    message: cond.message,
    observedGeneration: status.observedGeneration ?? 0,
    lastTransitionTime: old && old.status === cond.status ? old.lastTransitionTime : now(),
  };
  status.conditions = [...conds.filter((c) => c.type !== 'DisruptionAllowed'), next];
}

function allowedCondition(status: KubeObject): { status: string; reason: string; message: string } {
  return (status.disruptionsAllowed ?? 0) > 0 ? { status: 'True', reason: 'SufficientPods', message: '' } : { status: 'False', reason: 'InsufficientPods', message: '' };
}

export class DisruptionController implements Reconciler {
  readonly name = 'disruption';
  readonly queue = new WorkQueue();
  readonly pdbs: Informer;
  readonly pods: Informer;
  private readonly rs: Informer;
  private readonly deployments: Informer;
  private readonly sts: Informer;
  private readonly rc: Informer;
  private readonly client: ResourceClient;

  private readonly recorder: EventRecorder;

  constructor(factory: InformerFactory, _opts?: unknown, recorder?: EventRecorder) {
    this.recorder = recorder ?? new EventRecorder(factory.api, 'controllermanager');
    this.pdbs = factory.informer('policy', 'poddisruptionbudgets');
    this.pods = factory.informer('', 'pods');
    this.rs = factory.informer('apps', 'replicasets');
    this.deployments = factory.informer('apps', 'deployments');
    this.sts = factory.informer('apps', 'statefulsets');
    this.rc = factory.informer('', 'replicationcontrollers');
    this.client = factory.client('policy', 'poddisruptionbudgets');
    const enqueue = (o: KubeObject) => this.queue.add(keyOf(o));
    this.pdbs.addEventHandler({ onAdd: enqueue, onUpdate: (_o, n) => enqueue(n) });
    const forPod = (p: KubeObject) => {
      for (const b of this.pdbs.list(p.metadata?.namespace ?? '')) if (this.selector(b)?.matches(p.metadata?.labels ?? {})) enqueue(b);
    };
    this.pods.addEventHandler({
      onAdd: forPod,
      onUpdate: (o, n) => {
        forPod(n);
        if (JSON.stringify(o.metadata?.labels ?? {}) !== JSON.stringify(n.metadata?.labels ?? {})) forPod(o);
      },
      onDelete: forPod,
    });
    // a controller's scale feeds percentages: recheck its namespace's budgets
    const forScale = (o: KubeObject, n: KubeObject) => {
      if (o.spec?.replicas === n.spec?.replicas) return;
      for (const b of this.pdbs.list(n.metadata?.namespace ?? '')) enqueue(b);
    };
    for (const inf of [this.rs, this.deployments, this.sts, this.rc]) inf.addEventHandler({ onUpdate: forScale });
  }

  private selector(pdb: KubeObject): Selector | undefined {
    try {
      return selectorFromLabelSelector(pdb.spec?.selector);
    } catch {
      return undefined;
    }
  }

  /** The desired scale of the pod's controller (Deployment via its ReplicaSet, ReplicaSet, StatefulSet, RC). */
  private scaleOf(pod: KubeObject): { uid: string; scale: number } | 'unmanaged' | undefined {
    const ns = pod.metadata?.namespace ?? '';
    const owner = (pod.metadata?.ownerReferences ?? []).find((r: KubeObject) => r.controller);
    if (!owner) return 'unmanaged';
    const find = (inf: Informer, name: string, uid: string) => {
      const o = inf.get(`${ns}/${name}`);
      return o && o.metadata?.uid === uid ? o : undefined;
    };
    const replicas = (o: KubeObject) => ({ uid: o.metadata!.uid!, scale: o.spec?.replicas ?? 1 });
    switch (owner.kind) {
      case 'ReplicaSet': {
        const rs = find(this.rs, owner.name, owner.uid);
        if (!rs) return undefined;
        const dref = (rs.metadata?.ownerReferences ?? []).find((r: KubeObject) => r.controller && r.kind === 'Deployment');
        if (dref) {
          const d = find(this.deployments, dref.name, dref.uid);
          if (d) return replicas(d);
        }
        return replicas(rs);
      }
      case 'Deployment': {
        const d = find(this.deployments, owner.name, owner.uid);
        return d ? replicas(d) : undefined;
      }
      case 'StatefulSet': {
        const s = find(this.sts, owner.name, owner.uid);
        return s ? replicas(s) : undefined;
      }
      case 'ReplicationController': {
        const r = find(this.rc, owner.name, owner.uid);
        return r ? replicas(r) : undefined;
      }
    }
    return undefined;
  }

  async reconcile(key: string): Promise<void | number> {
    const pdb = this.pdbs.get(key);
    if (!pdb) return;
    const { namespace } = splitKey(key);
    const sel = this.selector(pdb);
    try {
      if (!sel) throw new Error('invalid selector');
      const pods = this.pods.list(namespace).filter((p) => sel.matches(p.metadata?.labels ?? {}));
      if (!pods.length) this.recorder.event(pdb, 'Normal', 'NoPods', 'No matching pods found');
      let numbers: BudgetNumbers;
      try {
        numbers = budgetNumbers(pdb, pods, (p) => this.scaleOf(p));
      } catch (err) {
        this.recorder.event(pdb, 'Warning', 'CalculateExpectedPodCountFailed', `Failed to calculate the number of expected pods: ${(err as Error).message}`);
        throw err;
      }
      if (numbers.unmanaged.length) {
        this.recorder.event(pdb, 'Warning', 'UnmanagedPods', `Pods selected by this PodDisruptionBudget (selector: ${JSON.stringify(pdb.spec?.selector)}) were found to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. To account for these pods please set ".spec.minAvailable" field of the PDB to an integer value.`);
      }
      const t = Date.now();
      // evictions not yet followed by a deletion: those pods are not counted healthy for a while
      const disrupted: Record<string, string> = {};
      let recheck: number | undefined;
      const prev: Record<string, string> = pdb.status?.disruptedPods ?? {};
      for (const p of pods) {
        if (p.metadata?.deletionTimestamp) continue;
        const at = prev[p.metadata!.name!];
        if (!at) continue;
        const expires = Date.parse(at) + deletionTimeoutMs;
        if (expires < t) {
          this.recorder.event(p, 'Warning', 'NotDeleted', `Pod was expected by PDB ${namespace}/${pdb.metadata!.name} to be deleted but it wasn't`);
          continue;
        }
        disrupted[p.metadata!.name!] = at;
        recheck = recheck === undefined ? expires - t : Math.min(recheck, expires - t);
      }
      let healthy = 0;
      for (const p of pods) {
        if (p.metadata?.deletionTimestamp) continue;
        if (disrupted[p.metadata!.name!]) continue;
        if (isPodReady(p)) healthy++;
      }
      let allowed = healthy - numbers.desiredHealthy;
      if (numbers.expectedCount <= 0 || allowed <= 0) allowed = 0;
      const st = pdb.status ?? {};
      const gen = pdb.metadata?.generation ?? 0;
      const cond = (st.conditions ?? []).find((c: KubeObject) => c.type === 'DisruptionAllowed');
      const want = allowedCondition({ disruptionsAllowed: allowed });
      const upToDate =
        st.currentHealthy === healthy &&
        st.desiredHealthy === numbers.desiredHealthy &&
        st.expectedPods === numbers.expectedCount &&
        st.disruptionsAllowed === allowed &&
        JSON.stringify(st.disruptedPods ?? {}) === JSON.stringify(disrupted) &&
        st.observedGeneration === gen &&
        cond?.status === want.status &&
        cond?.reason === want.reason &&
        cond?.observedGeneration === gen;
      if (!upToDate) {
        const status: KubeObject = {
          currentHealthy: healthy,
          desiredHealthy: numbers.desiredHealthy,
          expectedPods: numbers.expectedCount,
          disruptionsAllowed: allowed,
          observedGeneration: gen,
          conditions: st.conditions,
        };
        if (Object.keys(disrupted).length) status.disruptedPods = disrupted;
        setCondition(status, want);
        await this.client.updateStatus({ ...pdb, status });
      }
      return recheck !== undefined ? recheck + 1000 : undefined;
    } catch (err) {
      if ((err as { code?: number })?.code === 409) throw err; // conflict: retry without failing safe
      await this.failSafe(pdb, (err as Error).message);
      throw err;
    }
  }

  /** Whatever went wrong, evictions must not be allowed meanwhile. */
  private async failSafe(pdb: KubeObject, message: string): Promise<void> {
    const status: KubeObject = { ...(pdb.status ?? {}), disruptionsAllowed: 0 };
    setCondition(status, { status: 'False', reason: 'SyncFailed', message });
    await this.client.updateStatus({ ...pdb, status }).catch(() => undefined);
  }
}
