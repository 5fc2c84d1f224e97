// DaemonSet controller: one pod per eligible node (nodeSelector, required node
// affinity, taints against tolerations). Like upstream, daemon pods go through
// the default scheduler, pinned to their node by a required node affinity on
// `metadata.name`, and get the automatic tolerations for node conditions.
// RollingUpdate replaces pods within maxUnavailable, or surges a new pod next to
// the old one within maxSurge. Expectations keep a lagging cache from creating
// a second pod on a node.
import type { Toleration } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from '../api/kind.js';
import { notReadyTaint, tolerates, unreachableTaint } from '../api/tolerations.js';
import { selectorFromLabelSelector } from '../api/labels.js';
import { isNotFound } from '../client/api.js';
import type { Reconciler } from '../client/controller.js';
import { EventRecorder } from '../client/events.js';
import type { InformerFactory } from '../client/factory.js';
import { keyOf, splitKey, type Informer } from '../client/informer.js';
import type { ResourceClient } from '../client/resource.js';
import { WorkQueue } from '../client/workqueue.js';
import { deepEqualJson, ownerRef, revisionHashLabel, RevisionHistory, scaledValue, slowStart } from './history.js';
import { controllerOf, controllerUidIndex, indexByController, orphanIndex } from './util/controllerRef.js';
import { availability, isPodReady, isTerminating } from './util/podReady.js';

type Obj = KubeObject;

export const templateGenerationLabel = 'pod-template-generation';

function byAge(a: Obj, b: Obj): number {
  return String(a.metadata?.creationTimestamp ?? '').localeCompare(String(b.metadata?.creationTimestamp ?? '')) || a.metadata!.name!.localeCompare(b.metadata!.name!);
}

// ------------------------------------------------------------ node eligibility

function requirementMatches(r: Obj, value: string | undefined): boolean {
  const values: string[] = r.values ?? [];
  switch (r.operator) {
    case 'In': return value !== undefined && values.includes(value);
    case 'NotIn': return value === undefined || !values.includes(value);
    case 'Exists': return value !== undefined;
    case 'DoesNotExist': return value === undefined;
    case 'Gt': case 'Lt': {
      if (value === undefined || values.length !== 1) return false;
      const a = Number(value), b = Number(values[0]);
      if (!Number.isInteger(a) || !Number.isInteger(b)) return false;
      return r.operator === 'Gt' ? a > b : a < b;
    }
    default: return false;
  }
}

/** A NodeSelectorTerm: every expression on labels and every field (metadata.name) must match; an empty term matches nothing. */
export function termMatches(term: Obj, node: Obj): boolean {
  const exprs: Obj[] = term.matchExpressions ?? [];
  const fields: Obj[] = term.matchFields ?? [];
  if (!exprs.length && !fields.length) return false;
  const labels = node.metadata?.labels ?? {};
  if (!exprs.every((r) => requirementMatches(r, labels[r.key]))) return false;
  return fields.every((r) => r.key === 'metadata.name' && requirementMatches(r, node.metadata?.name));
}

/** nodeSelector plus required node affinity (terms are ORed). */
export function nodeMatchesPod(spec: Obj, node: Obj): boolean {
  const labels = node.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(spec.nodeSelector ?? {})) if (labels[k] !== v) return false;
  const required = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required) return (required.nodeSelectorTerms ?? []).some((t: Obj) => termMatches(t, node));
  return true;
}

/** The tolerations every daemon pod gets (upstream's list), so node conditions never evict them. */
export function daemonTolerations(spec: Obj): Toleration[] {
  const out: Toleration[] = [
    { key: notReadyTaint, operator: 'Exists', effect: 'NoExecute' },
    { key: unreachableTaint, operator: 'Exists', effect: 'NoExecute' },
    { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
  ];
  if (spec.hostNetwork) out.push({ key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule' });
  return out;
}

/** Template tolerations plus the automatic ones not already present (same key and effect). */
export function withDaemonTolerations(spec: Obj): Toleration[] {
  const own: Toleration[] = [...(spec.tolerations ?? [])];
  for (const t of daemonTolerations(spec)) {
    if (!own.some((o) => o.key === t.key && o.effect === t.effect && o.operator === t.operator && (o.value ?? '') === '' && o.tolerationSeconds === undefined)) own.push(t);
  }
  return own;
}

/**
 * Should a daemon pod run on this node (a new one may be created), and may an
 * existing one keep running there? An untolerated NoSchedule taint blocks new
 * pods only; an untolerated NoExecute taint removes existing ones too.
 */
export function nodeShouldRunDaemonPod(node: Obj, ds: Obj): { shouldRun: boolean; shouldContinueRunning: boolean } {
  const spec = ds.spec?.template?.spec ?? {};
  const no = { shouldRun: false, shouldContinueRunning: false };
  if (spec.nodeName && spec.nodeName !== node.metadata?.name) return no;
  if (!nodeMatchesPod(spec, node)) return no;
  const tolerations = withDaemonTolerations(spec);
  let shouldRun = true;
  for (const taint of node.spec?.taints ?? []) {
    if (taint.effect !== 'NoSchedule' && taint.effect !== 'NoExecute') continue;
    if (tolerations.some((t) => tolerates(t, taint))) continue;
    if (taint.effect === 'NoExecute') return no;
    shouldRun = false;
  }
  return { shouldRun, shouldContinueRunning: true };
}

/** The node a daemon pod is for: its nodeName once bound, else its metadata.name affinity. */
export function targetNode(pod: Obj): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  for (const term of pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []) {
    for (const f of term.matchFields ?? []) if (f.key === 'metadata.name' && f.operator === 'In' && f.values?.length === 1) return f.values[0];
  }
  return undefined;
}

/** A daemon pod for one node, pinned there through the scheduler by node affinity. */
export function newDaemonPod(ds: Obj, nodeName: string, hash: string, template: Obj = ds.spec?.template ?? {}): Obj {
  const t = JSON.parse(JSON.stringify(template));
  const spec: Obj = t.spec ?? {};
  spec.tolerations = withDaemonTolerations(spec);
  const affinity: Obj = spec.affinity ?? {};
  const nodeAffinity: Obj = affinity.nodeAffinity ?? {};
  // the controller already checked the template's own terms; the pod only needs its node
  nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] }] };
  spec.affinity = { ...affinity, nodeAffinity };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${ds.metadata!.name}-`,
      namespace: ds.metadata!.namespace,
      labels: { ...(t.metadata?.labels ?? {}), [revisionHashLabel]: hash, [templateGenerationLabel]: String(ds.metadata?.generation ?? 1) },
      ...(t.metadata?.annotations ? { annotations: t.metadata.annotations } : {}),
      ...(t.metadata?.finalizers ? { finalizers: t.metadata.finalizers } : {}),
      ownerReferences: [ownerRef(ds)],
    },
    spec,
  };
}

// --------------------------------------------------------------- expectations

/** Creations and deletions written but not yet seen in the cache, per DaemonSet. */
class Expectations {
  private readonly m = new Map<string, { add: number; del: number; at: number }>();
  expect(key: string, add: number, del: number): void {
    if (!add && !del) return;
    const e = this.m.get(key) ?? { add: 0, del: 0, at: 0 };
    e.add += add;
    e.del += del;
    e.at = Date.now();
    this.m.set(key, e);
  }
  observe(key: string, add: number, del: number): void {
    const e = this.m.get(key);
    if (!e) return;
    e.add = Math.max(0, e.add - add);
    e.del = Math.max(0, e.del - del);
    if (!e.add && !e.del) this.m.delete(key);
  }
  /** Satisfied when all were seen, or after a while (a lost event must not wedge the set). */
  satisfied(key: string): boolean {
    const e = this.m.get(key);
    return !e || Date.now() - e.at > 60_000;
  }
  clear(key: string): void {
    this.m.delete(key);
  }
}

// ------------------------------------------------------------------ controller

export class DaemonSetController implements Reconciler {
  readonly name = 'daemonset';
  readonly queue = new WorkQueue();
  readonly sets: Informer;
  readonly pods: Informer;
  readonly nodes: Informer;
  readonly history: RevisionHistory;
  private readonly podClient: ResourceClient;
  private readonly setClient: ResourceClient;
  private readonly recorder: EventRecorder;
  private readonly expectations = new Expectations();
  /** failed-pod replacement back-off per ds/node */
  private readonly failedBackoff = new Map<string, { n: number; until: number }>();

  constructor(factory: InformerFactory, _opts?: unknown, recorder?: EventRecorder) {
    this.sets = factory.informer('apps', 'daemonsets');
    this.pods = factory.informer('', 'pods');
    this.nodes = factory.informer('', 'nodes');
    this.history = new RevisionHistory(factory);
    this.podClient = factory.client('', 'pods');
    this.setClient = factory.client('apps', 'daemonsets');
    this.recorder = recorder ?? new EventRecorder(factory.api, 'daemonset-controller');
    indexByController(this.pods);

    const enqueueSet = (s: Obj) => this.queue.add(keyOf(s));
    this.sets.addEventHandler({
      onAdd: enqueueSet,
      onUpdate: (_o, n) => enqueueSet(n),
      onDelete: (s) => {
        this.expectations.clear(keyOf(s));
        enqueueSet(s);
      },
    });
    const ownerKey = (p: Obj) => {
      const c = controllerOf(p);
      return c?.kind === 'DaemonSet' ? `${p.metadata!.namespace}/${c.name}` : undefined;
    };
    const enqueueOrphan = (p: Obj) => {
      for (const s of this.sets.list(p.metadata!.namespace!)) if (selectorFromLabelSelector(s.spec?.selector).matches(p.metadata?.labels)) this.queue.add(keyOf(s));
    };
    this.pods.addEventHandler({
      onAdd: (p) => {
        const k = ownerKey(p);
        if (!k) return controllerOf(p) ? undefined : enqueueOrphan(p);
        this.expectations.observe(k, 1, 0);
        this.queue.add(k);
      },
      onUpdate: (o, n) => {
        const k = ownerKey(n);
        if (k) {
          if (!o.metadata?.deletionTimestamp && n.metadata?.deletionTimestamp) this.expectations.observe(k, 0, 1);
          this.queue.add(k);
        }
        const ok = ownerKey(o);
        if (ok && ok !== k) this.queue.add(ok);
      },
      onDelete: (p) => {
        const k = ownerKey(p);
        if (!k) return;
        if (!p.metadata?.deletionTimestamp) this.expectations.observe(k, 0, 1);
        this.queue.add(k);
      },
    });
    const enqueueAll = () => {
      for (const s of this.sets.list()) this.queue.add(keyOf(s));
    };
    this.nodes.addEventHandler({
      onAdd: enqueueAll,
      onDelete: enqueueAll,
      onUpdate: (o, n) => {
        // heartbeats change only status: ignore them
        if (deepEqualJson(o.metadata?.labels, n.metadata?.labels) && deepEqualJson(o.spec?.taints, n.spec?.taints) && o.spec?.unschedulable === n.spec?.unschedulable) return;
        enqueueAll();
      },
    });
  }

  async reconcile(key: string): Promise<void | number> {
    const ds = this.sets.get(key);
    if (!ds) {
      this.expectations.clear(key);
      return;
    }
    if (ds.metadata?.deletionTimestamp) return;
    const { namespace } = splitKey(key);
    const selector = selectorFromLabelSelector(ds.spec?.selector);
    const pods: Obj[] = this.pods.byIndex(controllerUidIndex, ds.metadata!.uid!).filter((p) => selector.matches(p.metadata?.labels));
    for (const p of this.pods.byIndex(orphanIndex, namespace)) {
      if (!p.metadata?.deletionTimestamp && selector.matches(p.metadata?.labels) && targetNode(p)) {
        const refs = [...(p.metadata?.ownerReferences ?? []), ownerRef(ds)];
        pods.push(await this.podClient.patch(namespace, p.metadata!.name!, { metadata: { ownerReferences: refs } }, 'merge'));
      }
    }
    const rs = await this.history.sync(ds);
    const hash: string = rs.update.metadata?.labels?.[revisionHashLabel] ?? rs.update.metadata!.name!.slice(ds.metadata!.name!.length + 1);
    const byNode = new Map<string, Obj[]>();
    for (const p of pods) {
      const n = targetNode(p);
      if (!n) continue;
      let l = byNode.get(n);
      if (!l) byNode.set(n, (l = []));
      l.push(p);
    }
    let requeue: number | undefined;
    const later = (ms: number) => (requeue = requeue === undefined ? ms : Math.min(requeue, ms));
    if (this.expectations.satisfied(key)) {
      const r = await this.manage(ds, byNode, hash, rs.update);
      if (r !== undefined) later(r);
    } else later(1000);
    const status = this.computeStatus(ds, byNode, hash, rs.collisionCount);
    if (status.retry !== undefined) later(status.retry);
    delete status.retry;
    await this.writeStatus(ds, status);
    const live = new Set<string>([rs.update.metadata!.name!]);
    for (const p of pods) {
      const h = p.metadata?.labels?.[revisionHashLabel];
      if (h) live.add(`${ds.metadata!.name}-${h}`);
    }
    await this.history.truncate(ds, rs.revisions, live);
    return requeue;
  }

  /** Create and delete daemon pods; returns ms to requeue after when waiting on time. */
  private async manage(ds: Obj, byNode: Map<string, Obj[]>, hash: string, update: Obj): Promise<number | undefined> {
    const key = keyOf(ds);
    const minReady: number = ds.spec?.minReadySeconds ?? 0;
    const strategy = ds.spec?.updateStrategy ?? {};
    const rolling = (strategy.type ?? 'RollingUpdate') === 'RollingUpdate';
    const isNew = (p: Obj) => p.metadata?.labels?.[revisionHashLabel] === hash;
    const isAvail = (p: Obj) => p.status?.phase === 'Running' && availability(p, minReady)[0];
    const toCreate: string[] = [];
    const toDelete: Obj[] = [];
    let requeue: number | undefined;
    const later = (ms: number) => (requeue = requeue === undefined ? ms : Math.min(requeue, ms));

    interface Slot { node: string; old: Obj[]; fresh: Obj[] }
    const slots: Slot[] = [];
    const nodeNames = new Set<string>();
    for (const node of this.nodes.list()) {
      const name = node.metadata!.name!;
      nodeNames.add(name);
      const { shouldRun, shouldContinueRunning } = nodeShouldRunDaemonPod(node, ds);
      const onNode = (byNode.get(name) ?? []).filter((p) => !isTerminating(p));
      if (!shouldContinueRunning) {
        toDelete.push(...onNode);
        continue;
      }
      const running: Obj[] = [];
      for (const p of onNode) {
        if (p.status?.phase === 'Failed') {
          toDelete.push(p);
          const b = this.failedBackoff.get(`${key}/${name}`) ?? { n: 0, until: 0 };
          b.n++;
          b.until = Date.now() + Math.min(1000 * 2 ** (b.n - 1), 5 * 60_000);
          this.failedBackoff.set(`${key}/${name}`, b);
          this.recorder.event(ds, 'Warning', 'FailedDaemonPod', `Found failed daemon pod ${p.metadata!.namespace}/${p.metadata!.name} on node ${name}, will try to kill it`);
        } else running.push(p);
      }
      if (!running.length) {
        if (!shouldRun) continue;
        const b = this.failedBackoff.get(`${key}/${name}`);
        if (b && b.until > Date.now()) {
          later(b.until - Date.now());
          continue;
        }
        toCreate.push(name);
        continue;
      }
      const fresh = running.filter(isNew).sort(byAge);
      const old = running.filter((p) => !isNew(p)).sort(byAge);
      // at most one pod of each kind per node; without surge at most one at all (keep the oldest)
      const surge = rolling && scaledValue(strategy.rollingUpdate?.maxSurge, 1, true, 0) > 0;
      if (!surge && running.length > 1) {
        const keep = [...running].sort(byAge)[0];
        toDelete.push(...running.filter((p) => p !== keep));
        slots.push({ node: name, old: isNew(keep) ? [] : [keep], fresh: isNew(keep) ? [keep] : [] });
        continue;
      }
      toDelete.push(...fresh.slice(1), ...old.slice(1));
      slots.push({ node: name, old: old.slice(0, 1), fresh: fresh.slice(0, 1) });
    }
    // pods for nodes that are gone
    for (const [node, list] of byNode) if (!nodeNames.has(node)) toDelete.push(...list.filter((p) => !isTerminating(p)));

    if (rolling) {
      const desired = slots.length + toCreate.length;
      let maxSurge = scaledValue(strategy.rollingUpdate?.maxSurge, desired, true, 0);
      let maxUnavailable = scaledValue(strategy.rollingUpdate?.maxUnavailable, desired, true, 1);
      if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
      if (maxSurge < 0) maxSurge = 0;
      const deleting = new Set(toDelete);
      if (maxSurge === 0) {
        // nodes without an available pod already count against maxUnavailable
        let unavailable = toCreate.length + slots.filter((s) => ![...s.old, ...s.fresh].some((p) => !deleting.has(p) && isAvail(p))).length;
        for (const s of slots) {
          if (!s.old.length || s.fresh.length) continue;
          const oldPod = s.old[0];
          if (deleting.has(oldPod)) continue;
          if (!isAvail(oldPod)) {
            toDelete.push(oldPod);
            continue;
          }
          if (unavailable >= maxUnavailable) continue;
          toDelete.push(oldPod);
          unavailable++;
        }
      } else {
        let surging = slots.filter((s) => s.old.length && s.fresh.length).length;
        for (const s of slots) {
          if (!s.old.length) continue;
          const oldPod = s.old[0];
          if (s.fresh.length) {
            const newPod = s.fresh[0];
            if (isAvail(newPod)) toDelete.push(oldPod);
            else if (newPod.status?.phase === 'Running' && isPodReady(newPod)) later(availability(newPod, minReady)[1] + 50);
            continue;
          }
          if (!isAvail(oldPod) || surging < maxSurge) {
            toCreate.push(s.node);
            if (isAvail(oldPod)) surging++;
          }
        }
      }
    }

    // write
    this.expectations.expect(key, toCreate.length, toDelete.length);
    const template = (update.data?.spec?.template ? (({ $patch: _p, ...t }) => t)(update.data.spec.template) : ds.spec?.template) as Obj;
    // expectations drop by whatever was not written: those events will never come
    let created = 0;
    let deleted = 0;
    try {
      await slowStart(toCreate, async (node) => {
        try {
          const pod = await this.podClient.create(newDaemonPod(ds, node, hash, template), ds.metadata!.namespace);
          created++;
          this.recorder.event(ds, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata!.name}`);
        } catch (e) {
          this.recorder.event(ds, 'Warning', 'FailedCreate', `Error creating: ${(e as Error).message}`);
          throw e;
        }
      });
      await slowStart(toDelete, async (p) => {
        try {
          await this.podClient.delete(p.metadata!.namespace, p.metadata!.name!, { preconditions: { uid: p.metadata!.uid } });
          deleted++;
          this.recorder.event(ds, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata!.name}`);
        } catch (e) {
          if (isNotFound(e)) return;
          this.recorder.event(ds, 'Warning', 'FailedDelete', `Error deleting: ${(e as Error).message}`);
          throw e;
        }
      });
    } finally {
      this.expectations.observe(key, toCreate.length - created, toDelete.length - deleted);
    }
    return requeue;
  }

  computeStatus(ds: Obj, byNode: Map<string, Obj[]>, hash: string, collisionCount: number): Obj {
    const minReady: number = ds.spec?.minReadySeconds ?? 0;
    const st: Obj = {
      observedGeneration: ds.metadata?.generation ?? 0,
      desiredNumberScheduled: 0,
      currentNumberScheduled: 0,
      numberMisscheduled: 0,
      numberReady: 0,
      numberAvailable: 0,
      updatedNumberScheduled: 0,
      numberUnavailable: 0,
      collisionCount,
    };
    let retry: number | undefined;
    for (const node of this.nodes.list()) {
      const name = node.metadata!.name!;
      const { shouldRun } = nodeShouldRunDaemonPod(node, ds);
      const onNode = (byNode.get(name) ?? []).filter((p) => !isTerminating(p));
      const scheduled = onNode.length > 0;
      if (shouldRun) {
        st.desiredNumberScheduled++;
        if (!scheduled) continue;
        st.currentNumberScheduled++;
        // like upstream, the oldest pod speaks for the node: during a surge the
        // node counts as updated only once its old pod is gone
        const pod = [...onNode].sort(byAge)[0];
        if (pod.status?.phase === 'Running' && isPodReady(pod)) {
          st.numberReady++;
          const [avail, left] = availability(pod, minReady);
          if (avail) st.numberAvailable++;
          else retry = retry === undefined ? left + 50 : Math.min(retry, left + 50);
        }
        if (pod.metadata?.labels?.[revisionHashLabel] === hash) st.updatedNumberScheduled++;
      } else if (scheduled) st.numberMisscheduled++;
    }
    st.numberUnavailable = Math.max(0, st.desiredNumberScheduled - st.numberAvailable);
    if (ds.status?.conditions) st.conditions = ds.status.conditions;
    if (retry !== undefined) st.retry = retry;
    return st;
  }

  private async writeStatus(ds: Obj, status: Obj): Promise<void> {
    const old = ds.status ?? {};
    if (!Object.keys(status).some((k) => !deepEqualJson(old[k] ?? null, status[k] ?? null))) return;
    await this.setClient.patch(ds.metadata!.namespace, ds.metadata!.name!, { status }, 'merge', 'status').catch((e) => {
      if (!isNotFound(e)) throw e;
    });
  }
}
