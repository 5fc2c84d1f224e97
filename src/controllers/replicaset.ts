// ReplicaSet controller (and, parameterized, the ReplicationController one):
// keeps spec.replicas pods made from spec.template, adopting matching orphans
// and releasing pods that stopped matching. Expectations keep a slow cache from
// causing duplicate creations or deletions; creations go out in slow-start
// batches (1, 2, 4, ...) so a failing template costs one request, not hundreds.
import type { KubeObject } from '../api/kind.js';
import { matchesLabelSelector } from '../api/labels.js';
import { isConflict, isNotFound } from '../client/api.js';
import type { Reconciler } from '../client/controller.js';
import { EventRecorder } from '../client/events.js';
import type { InformerFactory } from '../client/factory.js';
import { keyOf, type Informer } from '../client/informer.js';
import type { ResourceClient } from '../client/resource.js';
import { WorkQueue } from '../client/workqueue.js';
import { claimObjects, controllerOf, controllerRef, controllerUidIndex, indexByController, orphanIndex, recheckOwner, resolveController } from './util/controllerRef.js';
import { Expectations } from './util/expectations.js';
import { isPodActive, isPodAvailable, isPodReady, msUntilAvailable, nowTime, readyCondition } from './util/podReady.js';

/** Upstream's burstReplicas: at most this many creations/deletions per sync. */
export const burstReplicas = 500;

/** What differs between ReplicaSet and ReplicationController. */
export interface ReplicaKind {
  group: string;
  resource: string;
  apiVersion: string;
  kind: string;
  /** controller name (queue, logs) and event source component */
  name: string;
  component: string;
  /** does the object's selector select these labels? */
  selects(owner: KubeObject, labels: Record<string, string>): boolean;
}

export const replicaSetKind: ReplicaKind = {
  group: 'apps',
  resource: 'replicasets',
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  name: 'replicaset',
  component: 'replicaset-controller',
  selects: (rs, labels) => matchesLabelSelector(rs.spec?.selector, labels),
};

// ------------------------------------------------------------ pure helpers

const phaseOrdinal: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

function maxRestarts(pod: KubeObject): number {
  let n = 0;
  for (const s of pod.status?.containerStatuses ?? []) n = Math.max(n, s.restartCount ?? 0);
  return n;
}

function deletionCost(pod: KubeObject): number {
  const v = Number.parseInt(pod.metadata?.annotations?.['controller.kubernetes.io/pod-deletion-cost'] ?? '', 10);
  return Number.isFinite(v) ? v : 0;
}

/** Age bucket on a log2 scale (upstream's LogarithmicScaleDown): pods of similar age are treated as equal. */
function ageBucket(time: string | undefined, now: number): number {
  const t = Date.parse(time ?? '');
  if (!Number.isFinite(t)) return -1;
  const d = (now - t) / 1000;
  return d > 0 ? Math.floor(Math.log2(d)) : -1;
}

/**
 * Order pods so the best ones to delete come first, as upstream does:
 * unscheduled < scheduled; Pending < Unknown < Running; not ready < ready; lower
 * pod-deletion-cost first; pods doubled up on a node with related pods first;
 * ready more recently first; more restarts first; newer first.
 * `ranks` maps pod key → number of related pods on the same node.
 */
export function comparePodsForDeletion(a: KubeObject, b: KubeObject, ranks: Map<string, number>, now: number): number {
  const an = a.spec?.nodeName ?? '';
  const bn = b.spec?.nodeName ?? '';
  if (!an !== !bn) return an ? 1 : -1;
  const ap = phaseOrdinal[a.status?.phase] ?? 0;
  const bp = phaseOrdinal[b.status?.phase] ?? 0;
  if (ap !== bp) return ap - bp;
  const ar = isPodReady(a);
  const br = isPodReady(b);
  if (ar !== br) return ar ? 1 : -1;
  const ac = deletionCost(a);
  const bc = deletionCost(b);
  if (ac !== bc) return ac - bc;
  const ak = ranks.get(keyOf(a)) ?? 0;
  const bk = ranks.get(keyOf(b)) ?? 0;
  if (ak !== bk) return bk - ak;
  if (ar && br) {
    const d = ageBucket(readyCondition(a)?.lastTransitionTime, now) - ageBucket(readyCondition(b)?.lastTransitionTime, now);
    if (d !== 0) return d;
  }
  const rr = maxRestarts(b) - maxRestarts(a);
  if (rr !== 0) return rr;
  const cd = ageBucket(a.metadata?.creationTimestamp, now) - ageBucket(b.metadata?.creationTimestamp, now);
  if (cd !== 0) return cd;
  const au = a.metadata?.uid ?? '';
  const bu = b.metadata?.uid ?? '';
  return au < bu ? -1 : au > bu ? 1 : 0;
}

/** The `n` pods to delete: ranked by how many related pods (incl. themselves) share their node. */
export function podsToDelete(pods: KubeObject[], related: KubeObject[], n: number, now = Date.now()): KubeObject[] {
  if (n >= pods.length) return pods.slice();
  const perNode = new Map<string, number>();
  for (const p of related) {
    const node = p.spec?.nodeName;
    if (node && isPodActive(p)) perNode.set(node, (perNode.get(node) ?? 0) + 1);
  }
  const ranks = new Map<string, number>();
  for (const p of pods) ranks.set(keyOf(p), p.spec?.nodeName ? perNode.get(p.spec.nodeName) ?? 0 : 0);
  return pods.slice().sort((a, b) => comparePodsForDeletion(a, b, ranks, now)).slice(0, n);
}

/**
 * Run `count` calls in batches of 1, 2, 4, ... (upstream's slowStartBatch);
 * stop after the first batch with an error. Returns successes and that error.
 */
export async function slowStartBatch(count: number, initial: number, fn: () => Promise<void>): Promise<{ successes: number; error?: unknown }> {
  let remaining = count;
  let successes = 0;
  for (let batch = Math.min(remaining, initial); batch > 0; batch = Math.min(2 * batch, remaining)) {
    const results = await Promise.allSettled(Array.from({ length: batch }, () => fn()));
    const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
    successes += results.filter((r) => r.status === 'fulfilled').length;
    if (failed) return { successes, error: failed.reason };
    remaining -= batch;
  }
  return { successes };
}

export interface ReplicaStatus {
  replicas: number;
  fullyLabeledReplicas: number;
  readyReplicas: number;
  availableReplicas: number;
}

/** Counts for status from the claimed active pods. */
export function replicaCounts(owner: KubeObject, pods: KubeObject[], now = Date.now()): ReplicaStatus {
  const templateLabels: Record<string, string> = owner.spec?.template?.metadata?.labels ?? {};
  const minReady = owner.spec?.minReadySeconds ?? 0;
  const st: ReplicaStatus = { replicas: pods.length, fullyLabeledReplicas: 0, readyReplicas: 0, availableReplicas: 0 };
  for (const p of pods) {
    const labels = p.metadata?.labels ?? {};
    if (Object.entries(templateLabels).every(([k, v]) => labels[k] === v)) st.fullyLabeledReplicas++;
    if (isPodReady(p)) {
      st.readyReplicas++;
      if (isPodAvailable(p, minReady, now)) st.availableReplicas++;
    }
  }
  return st;
}

// ---------------------------------------------------------------- controller

export class ReplicaSetController implements Reconciler {
  readonly name: string;
  readonly queue = new WorkQueue();
  readonly owners: Informer;
  readonly pods: Informer;
  readonly expectations = new Expectations();
  private readonly ownerClient: ResourceClient;
  private readonly podClient: ResourceClient;
  private readonly recorder: EventRecorder;

  constructor(factory: InformerFactory, _opts?: unknown, recorder?: EventRecorder, readonly rk: ReplicaKind = replicaSetKind) {
    this.name = rk.name;
    this.recorder = recorder ?? new EventRecorder(factory.api, rk.component);
    this.owners = factory.informer(rk.group, rk.resource);
    this.pods = factory.informer('', 'pods');
    this.ownerClient = factory.client(rk.group, rk.resource);
    this.podClient = factory.client('', 'pods');
    indexByController(this.pods);
    indexByController(this.owners);

    this.owners.addEventHandler({
      onAdd: (o) => this.queue.add(keyOf(o)),
      onUpdate: (_old, o) => this.queue.add(keyOf(o)),
      onDelete: (o) => {
        this.expectations.delete(keyOf(o));
        this.queue.add(keyOf(o));
      },
    });
    this.pods.addEventHandler({
      onAdd: (p) => this.podAdded(p),
      onUpdate: (o, p) => this.podUpdated(o, p),
      onDelete: (p) => this.podDeleted(p),
    });
  }

  private ownerOf(pod: KubeObject): KubeObject | undefined {
    return resolveController(pod, this.rk.kind, this.owners);
  }

  /** Owners in the pod's namespace whose selector matches it (for orphans). */
  private matchingOwners(pod: KubeObject): KubeObject[] {
    const labels = pod.metadata?.labels ?? {};
    return this.owners.list(pod.metadata?.namespace ?? '').filter((o) => this.rk.selects(o, labels));
  }

  private podAdded(pod: KubeObject): void {
    if (pod.metadata?.deletionTimestamp) return this.podDeleted(pod);
    if (controllerOf(pod)) {
      const owner = this.ownerOf(pod);
      if (!owner) return;
      this.expectations.creationObserved(keyOf(owner));
      this.queue.add(keyOf(owner));
      return;
    }
    for (const o of this.matchingOwners(pod)) this.queue.add(keyOf(o));
  }

  private podUpdated(old: KubeObject, pod: KubeObject): void {
    if (old.metadata?.resourceVersion === pod.metadata?.resourceVersion) return; // resync
    const labelsChanged = JSON.stringify(old.metadata?.labels ?? {}) !== JSON.stringify(pod.metadata?.labels ?? {});
    if (pod.metadata?.deletionTimestamp) {
      // a graceful deletion started: count it as observed now, so replacements start early
      this.podDeleted(pod);
      if (labelsChanged) this.podDeleted(old);
      return;
    }
    const oldRef = controllerOf(old);
    const ref = controllerOf(pod);
    if (oldRef && oldRef.uid !== ref?.uid) {
      const o = this.ownerOf(old);
      if (o) this.queue.add(keyOf(o));
    }
    if (ref) {
      const owner = this.ownerOf(pod);
      if (!owner) return;
      this.queue.add(keyOf(owner));
      const minReady = owner.spec?.minReadySeconds ?? 0;
      // a pod that just became ready becomes available minReadySeconds later: look again then
      if (minReady > 0 && !isPodReady(old) && isPodReady(pod)) this.queue.addAfter(keyOf(owner), minReady * 1000 + 100);
      return;
    }
    if (labelsChanged || oldRef) for (const o of this.matchingOwners(pod)) this.queue.add(keyOf(o));
  }

  private podDeleted(pod: KubeObject): void {
    const owner = this.ownerOf(pod);
    if (!owner) return;
    this.expectations.deletionObserved(keyOf(owner), keyOf(pod));
    this.queue.add(keyOf(owner));
  }

  async reconcile(key: string): Promise<void | number> {
    const owner = this.owners.get(key);
    if (!owner) {
      this.expectations.delete(key);
      return;
    }
    const needsSync = this.expectations.satisfied(key);
    const ns = owner.metadata!.namespace!;
    const uid = owner.metadata!.uid!;
    // candidates: pods this owner controls (even if they stopped matching) and orphans in its namespace
    const candidates = [...this.pods.byIndex(controllerUidIndex, uid), ...this.pods.byIndex(orphanIndex, ns).filter((p) => p.metadata?.namespace === ns)].filter(isPodActive);
    const pods = await claimObjects(candidates, {
      owner,
      apiVersion: this.rk.apiVersion,
      kind: this.rk.kind,
      matches: (p) => this.rk.selects(owner, p.metadata?.labels ?? {}),
      client: this.podClient,
      canAdopt: recheckOwner(this.ownerClient, owner),
    });

    let manageError: { reason: string; message: string } | undefined;
    if (needsSync && !owner.metadata?.deletionTimestamp) manageError = await this.manageReplicas(owner, pods);

    const now = Date.now();
    await this.updateStatus(owner, replicaCounts(owner, pods, now), manageError);

    if (manageError) throw new Error(manageError.message);
    // ready pods still inside minReadySeconds: come back when they become available
    const minReady = owner.spec?.minReadySeconds ?? 0;
    if (minReady > 0) {
      let wait = Infinity;
      for (const p of pods) {
        const ms = msUntilAvailable(p, minReady, now);
        if (ms !== undefined && ms > 0) wait = Math.min(wait, ms);
      }
      if (wait !== Infinity) return wait + 100;
    }
  }

  /** Create or delete pods to reach spec.replicas; returns a failure for the ReplicaFailure condition. */
  private async manageReplicas(owner: KubeObject, pods: KubeObject[]): Promise<{ reason: string; message: string } | undefined> {
    const key = keyOf(owner);
    const want: number = owner.spec?.replicas ?? 1;
    let diff = pods.length - want;
    if (diff < 0) {
      const n = Math.min(-diff, burstReplicas);
      this.expectations.expectCreations(key, n);
      const { successes, error } = await slowStartBatch(n, 1, () => this.createPod(owner));
      // creations never attempted or failed will never be observed
      for (let i = successes; i < n; i++) this.expectations.creationObserved(key);
      if (error) return { reason: 'FailedCreate', message: (error as Error).message ?? String(error) };
      return;
    }
    if (diff > 0) {
      diff = Math.min(diff, burstReplicas);
      const victims = podsToDelete(pods, this.relatedPods(owner), diff);
      this.expectations.expectDeletions(key, victims.map(keyOf));
      let failure: { reason: string; message: string } | undefined;
      await Promise.all(
        victims.map(async (p) => {
          try {
            await this.podClient.delete(p.metadata!.namespace, p.metadata!.name!, { preconditions: { uid: p.metadata!.uid } });
            this.recorder.event(owner, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata!.name}`);
          } catch (e) {
            this.expectations.deletionObserved(key, keyOf(p));
            if (isNotFound(e)) return;
            this.recorder.event(owner, 'Warning', 'FailedDelete', `Error deleting: ${(e as Error).message}`);
            failure = { reason: 'FailedDelete', message: (e as Error).message };
          }
        }),
      );
      return failure;
    }
  }

  /** Pods of sibling ReplicaSets controlled by the same owner (e.g. the other RSes of a Deployment), for ranking. */
  private relatedPods(owner: KubeObject): KubeObject[] {
    const ctrl = controllerOf(owner);
    if (!ctrl?.uid) return this.pods.byIndex(controllerUidIndex, owner.metadata!.uid!);
    const out: KubeObject[] = [];
    for (const sib of this.owners.byIndex(controllerUidIndex, ctrl.uid)) out.push(...this.pods.byIndex(controllerUidIndex, sib.metadata!.uid!));
    return out;
  }

  private async createPod(owner: KubeObject): Promise<void> {
    const t = owner.spec?.template ?? {};
    const meta = t.metadata ?? {};
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName: `${owner.metadata!.name}-`,
        namespace: owner.metadata!.namespace,
        labels: { ...(meta.labels ?? {}) },
        ...(meta.annotations ? { annotations: { ...meta.annotations } } : {}),
        ...(meta.finalizers ? { finalizers: [...meta.finalizers] } : {}),
        ownerReferences: [controllerRef(owner, this.rk.apiVersion, this.rk.kind)],
      },
      spec: JSON.parse(JSON.stringify(t.spec ?? {})),
    };
    try {
      const created = await this.podClient.create(pod);
      this.recorder.event(owner, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata?.name}`);
    } catch (e) {
      // a terminating namespace refuses new pods: not worth a failure condition
      const causes: KubeObject[] = (e as { status?: KubeObject }).status?.details?.causes ?? [];
      if (causes.some((c) => c.type === 'NamespaceTerminating')) return;
      this.recorder.event(owner, 'Warning', 'FailedCreate', `Error creating: ${(e as Error).message}`);
      throw e;
    }
  }

  private async updateStatus(owner: KubeObject, counts: ReplicaStatus, failure?: { reason: string; message: string }): Promise<void> {
    const old = owner.status ?? {};
    let conditions: KubeObject[] = (old.conditions ?? []).slice();
    const hasFailure = conditions.some((c) => c.type === 'ReplicaFailure');
    if (failure && !hasFailure) conditions.push({ type: 'ReplicaFailure', status: 'True', lastTransitionTime: nowTime(), reason: failure.reason, message: failure.message });
    else if (!failure && hasFailure) conditions = conditions.filter((c) => c.type !== 'ReplicaFailure');
    // upstream omits zero counts (omitempty), except replicas
    const status: KubeObject = { replicas: counts.replicas };
    if (counts.fullyLabeledReplicas) status.fullyLabeledReplicas = counts.fullyLabeledReplicas;
    if (counts.readyReplicas) status.readyReplicas = counts.readyReplicas;
    if (counts.availableReplicas) status.availableReplicas = counts.availableReplicas;
    status.observedGeneration = owner.metadata?.generation ?? old.observedGeneration;
    if (conditions.length) status.conditions = conditions;
    if (JSON.stringify(status) === JSON.stringify(old)) return;
    const fields = ['replicas', 'fullyLabeledReplicas', 'readyReplicas', 'availableReplicas', 'observedGeneration'] as const;
    if (fields.every((f) => (old[f] ?? 0) === (status[f] ?? 0)) && JSON.stringify(old.conditions ?? []) === JSON.stringify(status.conditions ?? [])) return;
    let target = owner;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await this.ownerClient.updateStatus({ ...target, status });
        return;
      } catch (e) {
        if (isNotFound(e)) return;
        if (!isConflict(e) || attempt === 1) throw e;
        target = await this.ownerClient.get(owner.metadata!.namespace, owner.metadata!.name!);
        if (target.metadata?.uid !== owner.metadata?.uid) return;
        status.observedGeneration = owner.metadata?.generation; // what we actually synced
      }
    }
  }
}
