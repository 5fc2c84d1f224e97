// StatefulSet controller: pods with stable names `<set>-<ordinal>`, hostnames and
// claims, created in order (OrderedReady: one at a time, each Running and Ready
// before the next) or all at once (Parallel), removed from the highest ordinal
// down, and rolled from the highest ordinal down to the partition. Pod template
// history lives in ControllerRevisions (see history.ts), which is what
// `kubectl rollout status|history|undo` read.
import type { KubeObject } from '../api/kind.js';
import { selectorFromLabelSelector } from '../api/labels.js';
import { isAlreadyExists, isNotFound } from '../client/api.js';
import type { Reconciler } from '../client/controller.js';
import { EventRecorder } from '../client/events.js';
import type { InformerFactory } from '../client/factory.js';
import { keyOf, splitKey, type Informer } from '../client/informer.js';
import type { ResourceClient } from '../client/resource.js';
import { WorkQueue } from '../client/workqueue.js';
import { deepEqualJson, ownerRef, revisionHashLabel, RevisionHistory, scaledValue } from './history.js';
import { controllerOf, controllerUidIndex, indexByController, orphanIndex } from './util/controllerRef.js';
import { availability, isFinished, isRunningAndReady, isTerminating } from './util/podReady.js';

export const podNameLabel = 'statefulset.kubernetes.io/pod-name';
export const podIndexLabel = 'apps.kubernetes.io/pod-index';

type Obj = KubeObject;

/** The ordinal of a pod named `<set>-<n>`, or undefined for any other name. */
export function ordinalOf(setName: string, podName: string): number | undefined {
  if (!podName.startsWith(setName + '-')) return undefined;
  const rest = podName.slice(setName.length + 1);
  return /^(0|[1-9]\d*)$/.test(rest) ? Number(rest) : undefined;
}

export function claimName(template: Obj, setName: string, ordinal: number): string {
  return `${template.metadata?.name}-${setName}-${ordinal}`;
}

/** The pod template stored in a revision (its data minus the `$patch` directive). */
function revisionTemplate(rev: Obj): Obj {
  const { $patch: _drop, ...template } = rev.data?.spec?.template ?? {};
  return JSON.parse(JSON.stringify(template));
}

/** A new pod for `ordinal` made from a revision's template, with the set's identity. */
export function newStatefulPod(set: Obj, rev: Obj, ordinal: number): Obj {
  const name = `${set.metadata!.name}-${ordinal}`;
  const template = revisionTemplate(rev);
  const spec: Obj = { ...(template.spec ?? {}) };
  spec.hostname = name;
  if (set.spec?.serviceName) spec.subdomain = set.spec.serviceName;
  else delete spec.subdomain;
  const claims: Obj[] = set.spec?.volumeClaimTemplates ?? [];
  if (claims.length) {
    const names = new Set(claims.map((c) => c.metadata?.name));
    spec.volumes = [
      ...(spec.volumes ?? []).filter((v: Obj) => !names.has(v.name)),
      ...claims.map((c) => ({ name: c.metadata?.name, persistentVolumeClaim: { claimName: claimName(c, set.metadata!.name!, ordinal) } })),
    ];
  }
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: set.metadata!.namespace,
      labels: { ...(template.metadata?.labels ?? {}), [podNameLabel]: name, [podIndexLabel]: String(ordinal), [revisionHashLabel]: rev.metadata!.name! },
      ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
      ...(template.metadata?.finalizers ? { finalizers: [...template.metadata.finalizers] } : {}),
      ownerReferences: [ownerRef(set)],
    },
    spec,
  };
}

function revisionOf(pod: Obj): string | undefined {
  return pod.metadata?.labels?.[revisionHashLabel];
}

export class StatefulSetController implements Reconciler {
  readonly name = 'statefulset';
  readonly queue = new WorkQueue();
  readonly sets: Informer;
  readonly pods: Informer;
  readonly claims: Informer;
  readonly history: RevisionHistory;
  private readonly podClient: ResourceClient;
  private readonly claimClient: ResourceClient;
  private readonly setClient: ResourceClient;
  private readonly recorder: EventRecorder;

  constructor(factory: InformerFactory, _opts?: unknown, recorder?: EventRecorder) {
    this.sets = factory.informer('apps', 'statefulsets');
    this.pods = factory.informer('', 'pods');
    this.claims = factory.informer('', 'persistentvolumeclaims');
    this.history = new RevisionHistory(factory);
    this.podClient = factory.client('', 'pods');
    this.claimClient = factory.client('', 'persistentvolumeclaims');
    this.setClient = factory.client('apps', 'statefulsets');
    this.recorder = recorder ?? new EventRecorder(factory.api, 'statefulset-controller');
    indexByController(this.pods);

    const enqueueSet = (s: Obj) => this.queue.add(keyOf(s));
    this.sets.addEventHandler({ onAdd: enqueueSet, onUpdate: (_o, n) => enqueueSet(n), onDelete: enqueueSet });
    const enqueuePod = (p: Obj) => {
      const c = controllerOf(p);
      if (c) {
        if (c.kind === 'StatefulSet') this.queue.add(`${p.metadata!.namespace}/${c.name}`);
        return;
      }
      // an orphan may be adopted by a set whose selector and name it matches
      for (const s of this.sets.list(p.metadata!.namespace!)) {
        if (ordinalOf(s.metadata!.name!, p.metadata!.name!) !== undefined && selectorFromLabelSelector(s.spec?.selector).matches(p.metadata?.labels)) this.queue.add(keyOf(s));
      }
    };
    this.pods.addEventHandler({
      onAdd: enqueuePod,
      onUpdate: (o, n) => {
        enqueuePod(n);
        if (controllerOf(o)?.uid !== controllerOf(n)?.uid) enqueuePod(o);
      },
      onDelete: enqueuePod,
    });
  }

  async reconcile(key: string): Promise<void | number> {
    const set = this.sets.get(key);
    if (!set || set.metadata?.deletionTimestamp) return; // the garbage collector removes the pods
    const { namespace } = splitKey(key);
    const selector = selectorFromLabelSelector(set.spec?.selector);
    const setName = set.metadata!.name!;
    const pods: Obj[] = this.pods.byIndex(controllerUidIndex, set.metadata!.uid!).filter((p) => selector.matches(p.metadata?.labels));
    for (const p of this.pods.byIndex(orphanIndex, namespace)) {
      if (!p.metadata?.deletionTimestamp && ordinalOf(setName, p.metadata!.name!) !== undefined && selector.matches(p.metadata?.labels)) pods.push(await this.adopt(set, p));
    }
    const rs = await this.history.sync(set);
    const requeue = await this.sync(set, pods, rs.current, rs.update);
    const status = this.computeStatus(set, pods, rs.current, rs.update, rs.collisionCount);
    await this.writeStatus(set, status);
    // keep the revisions still used by a pod, plus current and update
    const live = new Set<string>([rs.current.metadata!.name!, rs.update.metadata!.name!, status.currentRevision, status.updateRevision]);
    for (const p of pods) if (revisionOf(p)) live.add(revisionOf(p)!);
    await this.history.truncate(set, rs.revisions, live);
    return requeue;
  }

  private async adopt(set: Obj, pod: Obj): Promise<Obj> {
    const refs = [...(pod.metadata?.ownerReferences ?? []), ownerRef(set)];
    return this.podClient.patch(pod.metadata!.namespace, pod.metadata!.name!, { metadata: { ownerReferences: refs, uid: pod.metadata!.uid } }, 'merge');
  }

  /** Create/delete/update pods one step towards the spec. Returns ms to requeue after, if waiting on time. */
  private async sync(set: Obj, pods: Obj[], current: Obj, update: Obj): Promise<number | void> {
    const setName = set.metadata!.name!;
    const count: number = set.spec?.replicas ?? 1;
    const start: number = set.spec?.ordinals?.start ?? 0;
    const monotonic = set.spec?.podManagementPolicy !== 'Parallel';
    const minReady: number = set.spec?.minReadySeconds ?? 0;
    const strategy = set.spec?.updateStrategy ?? {};
    const rolling = (strategy.type ?? 'RollingUpdate') === 'RollingUpdate';
    const partition: number = rolling ? strategy.rollingUpdate?.partition ?? 0 : 0;
    const replicas: (Obj | undefined)[] = new Array(count).fill(undefined);
    const condemned: Obj[] = [];
    for (const p of pods) {
      const ord = ordinalOf(setName, p.metadata!.name!);
      if (ord === undefined) continue;
      const idx = ord - start;
      if (idx >= 0 && idx < count) replicas[idx] = p;
      else condemned.push(p);
    }
    condemned.sort((a, b) => ordinalOf(setName, b.metadata!.name!)! - ordinalOf(setName, a.metadata!.name!)!);
    const track = (p: Obj) => {
      const i = pods.findIndex((x) => x.metadata!.name === p.metadata!.name);
      if (i >= 0) pods[i] = p;
      else pods.push(p);
    };
    const markDeleted = (p: Obj) => track({ ...p, metadata: { ...p.metadata, deletionTimestamp: new Date().toISOString() } });
    let wait: number | undefined;
    const later = (ms: number) => (wait = wait === undefined ? ms : Math.min(wait, ms));

    // 1. replicas: create missing pods (and their claims), replace finished ones
    for (let idx = 0; idx < count; idx++) {
      const ordinal = idx + start;
      let pod = replicas[idx];
      if (pod && !isTerminating(pod) && isFinished(pod)) {
        await this.deletePod(set, pod);
        markDeleted(pod);
        replicas[idx] = { ...pod, metadata: { ...pod.metadata, deletionTimestamp: new Date().toISOString() } };
        if (monotonic) return wait;
        continue;
      }
      if (!pod) {
        const rev = rolling && current.metadata!.name !== update.metadata!.name && idx < partition ? current : update;
        if (!(await this.ensureClaims(set, ordinal))) {
          later(1000);
          if (monotonic) return wait;
          continue;
        }
        pod = await this.createPod(set, newStatefulPod(set, rev, ordinal));
        if (pod) {
          track(pod);
          replicas[idx] = pod;
        }
        if (monotonic) return wait;
        continue;
      }
      if (isTerminating(pod)) {
        if (monotonic) return wait;
        continue;
      }
      if (!(await this.ensureClaims(set, ordinal))) later(1000);
      await this.fixIdentity(set, pod, ordinal);
      if (!isRunningAndReady(pod)) {
        if (monotonic) return wait;
        continue;
      }
      const [avail, left] = availability(pod, minReady);
      if (!avail) {
        later(left + 50);
        if (monotonic) return wait;
      }
    }

    // 2. condemned pods, highest ordinal first
    const unhealthy = (p: Obj | undefined) => !p || isTerminating(p) || !isRunningAndReady(p);
    for (const pod of condemned) {
      if (isTerminating(pod)) {
        if (monotonic) return wait;
        continue;
      }
      if (monotonic && (replicas.some(unhealthy) || condemned.some((c) => c !== pod && unhealthy(c)))) return wait;
      if (set.spec?.persistentVolumeClaimRetentionPolicy?.whenScaled === 'Delete') await this.handOverClaims(set, pod);
      await this.deletePod(set, pod);
      markDeleted(pod);
      if (monotonic) return wait;
    }

    // 3. rolling update, highest ordinal down to the partition
    if (!rolling) return wait;
    const maxUnavailable = Math.max(1, scaledValue(strategy.rollingUpdate?.maxUnavailable, count, false, 1));
    const isAvailable = (p: Obj | undefined) => !!p && !isTerminating(p) && isRunningAndReady(p) && availability(p, minReady)[0];
    let unavailable = replicas.filter((p) => !isAvailable(p)).length;
    for (let idx = count - 1; idx >= partition; idx--) {
      const pod = replicas[idx];
      if (!pod || isTerminating(pod) || revisionOf(pod) === update.metadata!.name) continue;
      if (!isAvailable(pod)) {
        await this.deletePod(set, pod); // already unavailable: replacing it costs nothing
        markDeleted(pod);
        continue;
      }
      if (unavailable >= maxUnavailable) break;
      await this.deletePod(set, pod);
      markDeleted(pod);
      unavailable++;
    }
    return wait;
  }

  private async createPod(set: Obj, pod: Obj): Promise<Obj | undefined> {
    const what = `Pod ${pod.metadata!.name} in StatefulSet ${set.metadata!.name}`;
    try {
      const created = await this.podClient.create(pod, pod.metadata!.namespace);
      this.recorder.event(set, 'Normal', 'SuccessfulCreate', `create ${what} successful`);
      return created;
    } catch (e) {
      if (isAlreadyExists(e)) return undefined; // the cache is behind; the watch brings it
      this.recorder.event(set, 'Warning', 'FailedCreate', `create ${what} failed error: ${(e as Error).message}`);
      throw e;
    }
  }

  private async deletePod(set: Obj, pod: Obj): Promise<void> {
    const what = `Pod ${pod.metadata!.name} in StatefulSet ${set.metadata!.name}`;
    try {
      await this.podClient.delete(pod.metadata!.namespace, pod.metadata!.name!, { preconditions: { uid: pod.metadata!.uid } });
      this.recorder.event(set, 'Normal', 'SuccessfulDelete', `delete ${what} successful`);
    } catch (e) {
      if (isNotFound(e)) return;
      this.recorder.event(set, 'Warning', 'FailedDelete', `delete ${what} failed error: ${(e as Error).message}`);
      throw e;
    }
  }

  /** Create the claims of one ordinal that do not exist. False while one is being deleted. */
  private async ensureClaims(set: Obj, ordinal: number): Promise<boolean> {
    const ns = set.metadata!.namespace!;
    const setName = set.metadata!.name!;
    let ok = true;
    for (const t of set.spec?.volumeClaimTemplates ?? []) {
      const name = claimName(t, setName, ordinal);
      const existing = this.claims.get(`${ns}/${name}`);
      if (existing) {
        if (existing.metadata?.deletionTimestamp) ok = false;
        continue;
      }
      const refs = set.spec?.persistentVolumeClaimRetentionPolicy?.whenDeleted === 'Delete'
        ? [{ ...ownerRef(set), controller: undefined }]
        : undefined;
      const claim: Obj = {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: {
          name,
          namespace: ns,
          labels: { ...(t.metadata?.labels ?? {}), ...(set.spec?.selector?.matchLabels ?? {}) },
          ...(t.metadata?.annotations ? { annotations: { ...t.metadata.annotations } } : {}),
          ...(refs ? { ownerReferences: refs.map((r) => JSON.parse(JSON.stringify(r))) } : {}),
        },
        spec: JSON.parse(JSON.stringify(t.spec ?? {})),
      };
      const what = `Claim ${name} Pod ${setName}-${ordinal} in StatefulSet ${setName}`;
      try {
        await this.claimClient.create(claim, ns);
        this.recorder.event(set, 'Normal', 'SuccessfulCreate', `create ${what} success`);
      } catch (e) {
        if (isAlreadyExists(e)) continue;
        this.recorder.event(set, 'Warning', 'FailedCreate', `create ${what} failed error: ${(e as Error).message}`);
        throw e;
      }
    }
    return ok;
  }

  /** whenScaled=Delete: make the condemned pod own its claims so they go with it. */
  private async handOverClaims(set: Obj, pod: Obj): Promise<void> {
    const ns = set.metadata!.namespace!;
    const ordinal = ordinalOf(set.metadata!.name!, pod.metadata!.name!)!;
    for (const t of set.spec?.volumeClaimTemplates ?? []) {
      const claim = this.claims.get(`${ns}/${claimName(t, set.metadata!.name!, ordinal)}`);
      if (!claim) continue;
      const refs: Obj[] = claim.metadata?.ownerReferences ?? [];
      if (refs.some((r) => r.uid === pod.metadata!.uid)) continue;
      const podRef = { apiVersion: 'v1', kind: 'Pod', name: pod.metadata!.name, uid: pod.metadata!.uid, blockOwnerDeletion: true };
      await this.claimClient.patch(ns, claim.metadata!.name!, { metadata: { ownerReferences: [...refs, podRef] } }, 'merge').catch((e) => {
        if (!isNotFound(e)) throw e;
      });
    }
  }

  /** Restore the identity labels if someone removed them. */
  private async fixIdentity(set: Obj, pod: Obj, ordinal: number): Promise<void> {
    const labels = pod.metadata?.labels ?? {};
    const want = { [podNameLabel]: pod.metadata!.name!, [podIndexLabel]: String(ordinal) };
    if (labels[podNameLabel] === want[podNameLabel] && labels[podIndexLabel] === want[podIndexLabel]) return;
    await this.podClient.patch(pod.metadata!.namespace, pod.metadata!.name!, { metadata: { labels: want } }, 'merge').catch((e) => {
      if (!isNotFound(e)) throw e;
    });
    void set;
  }

  computeStatus(set: Obj, pods: Obj[], current: Obj, update: Obj, collisionCount: number): Obj {
    const minReady: number = set.spec?.minReadySeconds ?? 0;
    const st: Obj = {
      observedGeneration: set.metadata?.generation ?? 0,
      replicas: 0,
      readyReplicas: 0,
      currentReplicas: 0,
      updatedReplicas: 0,
      availableReplicas: 0,
      currentRevision: current.metadata!.name,
      updateRevision: update.metadata!.name,
      collisionCount,
    };
    for (const p of pods) {
      if (ordinalOf(set.metadata!.name!, p.metadata!.name!) === undefined) continue;
      if (p.status?.phase) st.replicas++;
      if (isRunningAndReady(p)) {
        st.readyReplicas++;
        if (availability(p, minReady)[0]) st.availableReplicas++;
      }
      if (!isTerminating(p)) {
        if (revisionOf(p) === st.currentRevision) st.currentReplicas++;
        if (revisionOf(p) === st.updateRevision) st.updatedReplicas++;
      }
    }
    const rolling = (set.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
    // a finished rollout makes the update revision current
    if (rolling && st.updatedReplicas === st.replicas && st.readyReplicas === st.replicas) {
      st.currentRevision = st.updateRevision;
      st.currentReplicas = st.updatedReplicas;
    }
    const prev = set.status?.conditions;
    if (prev) st.conditions = prev;
    return st;
  }

  private async writeStatus(set: Obj, status: Obj): Promise<void> {
    const old = set.status ?? {};
    const changed = Object.keys(status).some((k) => !deepEqualJson(old[k] ?? null, status[k] ?? null));
    if (!changed) return;
    await this.setClient.patch(set.metadata!.namespace, set.metadata!.name!, { status }, 'merge', 'status').catch((e) => {
      if (!isNotFound(e)) throw e;
    });
  }
}
