// Deployment controller: rolls a Deployment's pod template out through
// ReplicaSets named `<deployment>-<pod-template-hash>`, as upstream does, so
// that the real kubectl's `rollout status|history|undo|pause|resume|restart`,
// `set image`, `scale` and `describe` work unchanged:
//  - the new ReplicaSet is the one whose template equals the Deployment's
//    (ignoring the pod-template-hash label); it gets revision max(old)+1 and the
//    Deployment's annotations (change-cause included);
//  - RollingUpdate scales the new RS up within replicas+maxSurge and old RSes
//    down keeping replicas-maxUnavailable available; Recreate scales old RSes to
//    zero, waits for their pods to go, then scales the new one up;
//  - a replicas change in the middle of a rollout is spread over the RSes in
//    proportion to their size; paused Deployments scale but do not roll;
//  - status and the Progressing/Available conditions follow upstream's reasons.
import type { KubeObject } from '../api/kind.js';
import { selectorFromLabelSelector, type Selector } from '../api/labels.js';
import { isAlreadyExists, isConflict, isNotFound } from '../client/api.js';
import type { Reconciler } from '../client/controller.js';
import { EventRecorder } from '../client/events.js';
import type { InformerFactory } from '../client/factory.js';
import { keyOf, type Informer } from '../client/informer.js';
import type { ResourceClient } from '../client/resource.js';
import { WorkQueue } from '../client/workqueue.js';
import { claimObjects, controllerOf, controllerRef, controllerUidIndex, indexByController, orphanIndex, recheckOwner, resolveController } from './util/controllerRef.js';
import { fnv32a, safeAlphabet } from './util/hash.js';
import { isPodActive, isPodAvailable, nowTime } from './util/podReady.js';

// ------------------------------------------------------------------ constants

export const podTemplateHashLabel = 'pod-template-hash';
export const revisionAnnotation = 'deployment.kubernetes.io/revision';
export const revisionHistoryAnnotation = 'deployment.kubernetes.io/revision-history';
export const desiredReplicasAnnotation = 'deployment.kubernetes.io/desired-replicas';
export const maxReplicasAnnotation = 'deployment.kubernetes.io/max-replicas';
export const changeCauseAnnotation = 'kubernetes.io/change-cause';
const rollbackToAnnotation = 'deprecated.deployment.rollback.to';
const lastAppliedAnnotation = 'kubectl.kubernetes.io/last-applied-configuration';
/** Annotations of a Deployment that are not copied to its ReplicaSets. */
const skipCopyAnnotations = new Set([lastAppliedAnnotation, revisionAnnotation, revisionHistoryAnnotation, desiredReplicasAnnotation, maxReplicasAnnotation, rollbackToAnnotation]);
/** Upstream keeps the revision-history annotation under this many characters. */
const maxRevisionHistoryChars = 2000;
const maxInt32 = 2147483647;

// Condition reasons (upstream's deploymentutil constants).
export const reasons = {
  NewReplicaSetCreated: 'NewReplicaSetCreated',
  FailedRSCreate: 'ReplicaSetCreateError',
  FoundNewReplicaSet: 'FoundNewReplicaSet',
  ReplicaSetUpdated: 'ReplicaSetUpdated',
  NewReplicaSetAvailable: 'NewReplicaSetAvailable',
  TimedOut: 'ProgressDeadlineExceeded',
  Paused: 'DeploymentPaused',
  Resumed: 'DeploymentResumed',
  MinimumReplicasAvailable: 'MinimumReplicasAvailable',
  MinimumReplicasUnavailable: 'MinimumReplicasUnavailable',
} as const;

// ------------------------------------------------------- templates and hashes

/**
 * A template in a comparable form: null values, empty maps and empty lists are
 * dropped (upstream's semantic equality treats nil and empty alike; kubectl's
 * `rollout undo` sends Go zero values such as `creationTimestamp: null`).
 */
export function normalizeTemplate(v: unknown): unknown {
  if (Array.isArray(v)) {
    const out = v.map(normalizeTemplate).filter((x) => x !== undefined);
    return out.length ? out : undefined;
  }
  if (v === null || v === undefined) return undefined;
  if (typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v as object).sort()) {
    const x = normalizeTemplate((v as Record<string, unknown>)[k]);
    if (x !== undefined) out[k] = x;
  }
  return Object.keys(out).length ? out : undefined;
}

function withoutHashLabel(t: KubeObject | undefined): KubeObject {
  const c: KubeObject = JSON.parse(JSON.stringify(t ?? {}));
  if (c.metadata?.labels) delete c.metadata.labels[podTemplateHashLabel];
  return c;
}

/** Templates equal once the pod-template-hash label is ignored (upstream's EqualIgnoreHash). */
export function equalIgnoreHash(a: KubeObject | undefined, b: KubeObject | undefined): boolean {
  return JSON.stringify(normalizeTemplate(withoutHashLabel(a)) ?? {}) === JSON.stringify(normalizeTemplate(withoutHashLabel(b)) ?? {});
}

/** Each character mapped into the safe alphabet, as upstream renders the decimal hash. */
export function safeEncodeString(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += safeAlphabet[s.charCodeAt(i) % safeAlphabet.length];
  return out;
}

/**
 * The pod-template-hash: FNV-32a of the template (canonical JSON here, Go's
 * object dump upstream) followed by collisionCount as 4 little-endian bytes when
 * set, the decimal value rendered with the safe alphabet (e.g. "5d4f9c7b8").
 */
export function podTemplateHash(template: KubeObject | undefined, collisionCount?: number): string {
  const json = Buffer.from(JSON.stringify(normalizeTemplate(withoutHashLabel(template)) ?? {}), 'utf8');
  let bytes: Uint8Array = json;
  if (collisionCount !== undefined && collisionCount !== null) {
    const extra = Buffer.alloc(4);
    extra.writeUInt32LE(collisionCount >>> 0);
    bytes = Buffer.concat([json, extra]);
  }
  return safeEncodeString(String(fnv32a(bytes)));
}

// ------------------------------------------------------------ rollout math

const specReplicas = (o: KubeObject | undefined): number => o?.spec?.replicas ?? 0;
const isRollingUpdate = (d: KubeObject) => (d.spec?.strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';

/** An int-or-percent against a total: percents round up (surge) or down (unavailable). */
export function resolveIntOrPercent(v: number | string | undefined | null, total: number, roundUp: boolean): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return v;
  const m = /^(-?\d+)%$/.exec(v);
  if (!m) {
    const n = Number(v);
    if (Number.isInteger(n)) return n;
    throw new Error(`invalid value for IntOrString: invalid value ${JSON.stringify(v)}`);
  }
  const x = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

/** maxSurge and maxUnavailable as numbers; both zero would deadlock, so unavailable becomes 1. */
export function resolveFenceposts(d: KubeObject): { surge: number; unavailable: number } {
  const replicas = specReplicas(d);
  const ru = d.spec?.strategy?.rollingUpdate ?? {};
  const surge = resolveIntOrPercent(ru.maxSurge ?? '25%', replicas, true);
  let unavailable = resolveIntOrPercent(ru.maxUnavailable ?? '25%', replicas, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

export function maxSurge(d: KubeObject): number {
  return isRollingUpdate(d) ? resolveFenceposts(d).surge : 0;
}

export function maxUnavailable(d: KubeObject): number {
  const replicas = specReplicas(d);
  if (!isRollingUpdate(d) || replicas === 0) return 0;
  return Math.min(resolveFenceposts(d).unavailable, replicas);
}

/**
 * Replicas the new RS should have now. Rolling: fill up to replicas+maxSurge
 * counting every RS's pods (the larger of spec and pods that still exist, so
 * pods of a scaled-down RS that are not gone yet still count), never above
 * replicas. Recreate: replicas.
 */
export function newRSNewReplicas(d: KubeObject, allRSs: KubeObject[], newRS: KubeObject, podCount: (rs: KubeObject) => number = specReplicas): number {
  if (!isRollingUpdate(d)) return specReplicas(d);
  const replicas = specReplicas(d);
  const current = allRSs.reduce((n, rs) => n + Math.max(specReplicas(rs), podCount(rs)), 0);
  const maxTotal = replicas + maxSurge(d);
  if (current >= maxTotal) return specReplicas(newRS);
  const up = Math.min(maxTotal - current, replicas - specReplicas(newRS));
  return specReplicas(newRS) + Math.max(0, up);
}

function maxReplicasAnnotationOf(rs: KubeObject): number | undefined {
  const v = rs.metadata?.annotations?.[maxReplicasAnnotation];
  if (v === undefined) return undefined;
  const n = Number.parseInt(v, 10);
  return Number.isFinite(n) ? n : undefined;
}

function desiredReplicasAnnotationOf(rs: KubeObject): number | undefined {
  const v = rs.metadata?.annotations?.[desiredReplicasAnnotation];
  if (v === undefined) return undefined;
  const n = Number.parseInt(v, 10);
  return Number.isFinite(n) ? n : undefined;
}

/** Go's math.Round: halves away from zero. */
const roundHalfAway = (x: number) => Math.sign(x) * Math.round(Math.abs(x));

/** How many replicas an RS should gain (or lose) when the Deployment is resized, by its share of the old size. */
export function replicaSetFraction(rs: KubeObject, d: KubeObject): number {
  if (specReplicas(d) === 0) return -specReplicas(rs);
  const deploymentReplicas = specReplicas(d) + maxSurge(d);
  const annotated = maxReplicasAnnotationOf(rs) ?? d.status?.replicas ?? 0;
  if (annotated === 0) return 0;
  return roundHalfAway((specReplicas(rs) * deploymentReplicas) / annotated) - specReplicas(rs);
}

export function proportion(rs: KubeObject, d: KubeObject, toAdd: number, added: number): number {
  if (specReplicas(rs) === 0 || toAdd === 0 || toAdd === added) return 0;
  const fraction = replicaSetFraction(rs, d);
  const allowed = toAdd - added;
  return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
}

const creationMs = (rs: KubeObject) => Date.parse(rs.metadata?.creationTimestamp ?? '') || 0;

/** Oldest first; ties by name (upstream's ReplicaSetsByCreationTimestamp). */
export function byCreation(a: KubeObject, b: KubeObject): number {
  const d = creationMs(a) - creationMs(b);
  if (d !== 0) return d;
  const an = a.metadata?.name ?? '';
  const bn = b.metadata?.name ?? '';
  return an < bn ? -1 : an > bn ? 1 : 0;
}

/**
 * Proportional scaling of the active RSes when the Deployment's size changed
 * mid-rollout: returns each RS's new size and whether this scales up or down.
 * Larger RSes go first (newer first when scaling up, older first when down);
 * rounding leftovers go to the first one.
 */
export function proportionalSizes(d: KubeObject, active: KubeObject[]): { sizes: Map<KubeObject, number>; operation: 'up' | 'down' | '' } {
  const total = active.reduce((n, rs) => n + specReplicas(rs), 0);
  const allowed = specReplicas(d) > 0 ? specReplicas(d) + maxSurge(d) : 0;
  const toAdd = allowed - total;
  const sorted = active.slice();
  let operation: 'up' | 'down' | '' = '';
  if (toAdd > 0) {
    sorted.sort((a, b) => specReplicas(b) - specReplicas(a) || byCreation(b, a));
    operation = 'up';
  } else if (toAdd < 0) {
    sorted.sort((a, b) => specReplicas(b) - specReplicas(a) || byCreation(a, b));
    operation = 'down';
  }
  const sizes = new Map<KubeObject, number>();
  let added = 0;
  for (const rs of sorted) {
    if (toAdd !== 0) {
      const p = proportion(rs, d, toAdd, added);
      sizes.set(rs, specReplicas(rs) + p);
      added += p;
    } else sizes.set(rs, specReplicas(rs));
  }
  if (toAdd !== 0 && sorted.length) {
    const first = sorted[0];
    sizes.set(first, Math.max(0, sizes.get(first)! + toAdd - added));
  }
  return { sizes, operation };
}

/**
 * Rolling update, old side: how far the old RSes may shrink now. First
 * unhealthy replicas (spec beyond available) of the oldest RSes, then available
 * ones while keeping replicas-maxUnavailable available. `available(rs)` should
 * be a safe lower bound of the RS's available pods. Returns the new size per RS.
 */
export function oldReplicaSetsScaleDown(d: KubeObject, oldRSs: KubeObject[], newRS: KubeObject | undefined, available: (rs: KubeObject) => number): Map<KubeObject, number> {
  const out = new Map<KubeObject, number>();
  const size = (rs: KubeObject) => out.get(rs) ?? specReplicas(rs);
  const oldPods = oldRSs.reduce((n, rs) => n + specReplicas(rs), 0);
  if (oldPods === 0) return out;
  const allPods = oldPods + specReplicas(newRS);
  const minAvailable = specReplicas(d) - maxUnavailable(d);
  const newUnavailable = newRS ? Math.max(0, specReplicas(newRS) - available(newRS)) : 0;
  const maxScaledDown = allPods - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return out;
  const sorted = oldRSs.slice().sort(byCreation);
  // 1. unhealthy replicas can go first: they do not count towards availability
  let cleaned = 0;
  for (const rs of sorted) {
    if (cleaned >= maxScaledDown) break;
    const unhealthy = specReplicas(rs) - Math.min(available(rs), specReplicas(rs));
    if (specReplicas(rs) === 0 || unhealthy <= 0) continue;
    const n = Math.min(maxScaledDown - cleaned, unhealthy);
    out.set(rs, specReplicas(rs) - n);
    cleaned += n;
  }
  // 2. then available ones, down to minAvailable across every RS
  const availableNow = [...oldRSs, ...(newRS ? [newRS] : [])].reduce((n, rs) => n + Math.min(available(rs), size(rs)), 0);
  if (availableNow <= minAvailable) return out;
  const total = availableNow - minAvailable;
  let scaled = 0;
  for (const rs of sorted) {
    if (scaled >= total) break;
    if (size(rs) === 0) continue;
    const n = Math.min(size(rs), total - scaled);
    out.set(rs, size(rs) - n);
    scaled += n;
  }
  return out;
}

// ------------------------------------------------------------- conditions

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
}

export function newCondition(type: string, status: string, reason: string, message: string): Condition {
  const t = nowTime();
  return { type, status, lastUpdateTime: t, lastTransitionTime: t, reason, message };
}

export function getCondition(status: KubeObject | undefined, type: string): Condition | undefined {
  return (status?.conditions ?? []).find((c: Condition) => c.type === type);
}

/** Upstream's SetDeploymentCondition: same status and reason is no change; same status keeps the transition time. */
export function setCondition(status: KubeObject, c: Condition): void {
  const cur = getCondition(status, c.type);
  if (cur && cur.status === c.status && cur.reason === c.reason) return;
  if (cur && cur.status === c.status) c.lastTransitionTime = cur.lastTransitionTime;
  status.conditions = [...(status.conditions ?? []).filter((x: Condition) => x.type !== c.type), c];
}

export function removeCondition(status: KubeObject, type: string): void {
  if (!status.conditions) return;
  status.conditions = status.conditions.filter((x: Condition) => x.type !== type);
}

const hasProgressDeadline = (d: KubeObject) => d.spec?.progressDeadlineSeconds != null && d.spec.progressDeadlineSeconds !== maxInt32;

/** Every replica updated, present and available, and the latest spec observed. */
export function deploymentComplete(d: KubeObject, st: KubeObject): boolean {
  const r = specReplicas(d);
  return (st.updatedReplicas ?? 0) === r && (st.replicas ?? 0) === r && (st.availableReplicas ?? 0) === r && (st.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);
}

function deploymentProgressing(d: KubeObject, st: KubeObject): boolean {
  const old = d.status ?? {};
  const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
  const newOld = (st.replicas ?? 0) - (st.updatedReplicas ?? 0);
  return (st.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) || newOld < oldOld || (st.readyReplicas ?? 0) > (old.readyReplicas ?? 0) || (st.availableReplicas ?? 0) > (old.availableReplicas ?? 0);
}

function deploymentTimedOut(d: KubeObject, st: KubeObject, now = Date.now()): boolean {
  if (!hasProgressDeadline(d)) return false;
  const c = getCondition(st, 'Progressing');
  if (!c) return false;
  if (c.reason === reasons.NewReplicaSetAvailable) return false;
  if (c.reason === reasons.TimedOut) return true;
  const from = Date.parse(c.lastUpdateTime ?? '');
  return Number.isFinite(from) && from + d.spec.progressDeadlineSeconds * 1000 < now;
}

const revisionOf = (rs: KubeObject): number => {
  const n = Number.parseInt(rs.metadata?.annotations?.[revisionAnnotation] ?? '', 10);
  return Number.isFinite(n) ? n : 0;
};

/** Copy the Deployment's annotations and set revision (+history) and replica annotations; true if anything changed. */
export function setNewReplicaSetAnnotations(d: KubeObject, rs: KubeObject, newRevision: number, exists: boolean): boolean {
  rs.metadata ??= {};
  const ann: Record<string, string> = (rs.metadata.annotations ??= {});
  let changed = false;
  for (const [k, v] of Object.entries((d.metadata?.annotations ?? {}) as Record<string, string>)) {
    if (skipCopyAnnotations.has(k) || ann[k] === v) continue;
    ann[k] = v;
    changed = true;
  }
  const oldRevision = ann[revisionAnnotation];
  const oldRev = oldRevision === undefined ? 0 : Number.parseInt(oldRevision, 10);
  if (!Number.isFinite(oldRev)) return changed;
  if (oldRev < newRevision) {
    ann[revisionAnnotation] = String(newRevision);
    changed = true;
    // an RS that had a revision and gets a newer one is a rollback target: keep its history
    if (oldRevision !== undefined) {
      const history = ann[revisionHistoryAnnotation];
      if (!history) ann[revisionHistoryAnnotation] = oldRevision;
      else {
        const parts = history.split(',');
        let len = history.length + oldRevision.length + 1;
        let start = 0;
        while (len > maxRevisionHistoryChars && start < parts.length) len -= parts[start++].length + 1;
        if (len <= maxRevisionHistoryChars) ann[revisionHistoryAnnotation] = [...parts.slice(start), oldRevision].join(',');
      }
    }
  }
  if (!exists && setReplicasAnnotations(rs, specReplicas(d), specReplicas(d) + maxSurge(d))) changed = true;
  return changed;
}

function setReplicasAnnotations(rs: KubeObject, desired: number, max: number): boolean {
  rs.metadata ??= {};
  const ann: Record<string, string> = (rs.metadata.annotations ??= {});
  let changed = false;
  if (ann[desiredReplicasAnnotation] !== String(desired)) {
    ann[desiredReplicasAnnotation] = String(desired);
    changed = true;
  }
  if (ann[maxReplicasAnnotation] !== String(max)) {
    ann[maxReplicasAnnotation] = String(max);
    changed = true;
  }
  return changed;
}

function replicasAnnotationsNeedUpdate(rs: KubeObject, desired: number, max: number): boolean {
  const ann = rs.metadata?.annotations ?? {};
  return ann[desiredReplicasAnnotation] !== String(desired) || ann[maxReplicasAnnotation] !== String(max);
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v));

// ---------------------------------------------------------------- controller

export class DeploymentController implements Reconciler {
  readonly name = 'deployment';
  readonly queue = new WorkQueue();
  readonly deployments: Informer;
  readonly replicaSets: Informer;
  readonly pods: Informer;
  private readonly dClient: ResourceClient;
  private readonly rsClient: ResourceClient;
  private readonly recorder: EventRecorder;

  constructor(factory: InformerFactory, _opts?: unknown, recorder?: EventRecorder) {
    this.recorder = recorder ?? new EventRecorder(factory.api, 'deployment-controller');
    this.deployments = factory.informer('apps', 'deployments');
    this.replicaSets = factory.informer('apps', 'replicasets');
    this.pods = factory.informer('', 'pods');
    this.dClient = factory.client('apps', 'deployments');
    this.rsClient = factory.client('apps', 'replicasets');
    indexByController(this.replicaSets);
    indexByController(this.pods);

    const enqueue = (d: KubeObject) => this.queue.add(keyOf(d));
    this.deployments.addEventHandler({ onAdd: enqueue, onUpdate: (_o, d) => enqueue(d), onDelete: enqueue });
    this.replicaSets.addEventHandler({
      onAdd: (rs) => this.rsChanged(rs),
      onUpdate: (old, rs) => {
        if (old.metadata?.resourceVersion === rs.metadata?.resourceVersion) return;
        const oldRef = controllerOf(old);
        if (oldRef && oldRef.uid !== controllerOf(rs)?.uid) this.rsChanged(old);
        this.rsChanged(rs, JSON.stringify(old.metadata?.labels ?? {}) !== JSON.stringify(rs.metadata?.labels ?? {}));
      },
      onDelete: (rs) => this.rsChanged(rs),
    });
    // Recreate waits for old pods to be gone; their deletion is the signal
    this.pods.addEventHandler({
      onDelete: (pod) => {
        const rs = resolveController(pod, 'ReplicaSet', this.replicaSets);
        const d = rs && resolveController(rs, 'Deployment', this.deployments);
        if (d && d.spec?.strategy?.type === 'Recreate') enqueue(d);
      },
    });
  }

  private rsChanged(rs: KubeObject, labelsChanged = true): void {
    if (controllerOf(rs)) {
      const d = resolveController(rs, 'Deployment', this.deployments);
      if (d) this.queue.add(keyOf(d));
      return;
    }
    if (!labelsChanged) return;
    // an orphan: every Deployment that would adopt it
    const labels = rs.metadata?.labels ?? {};
    for (const d of this.deployments.list(rs.metadata?.namespace ?? '')) {
      if (selectorOf(d)?.matches(labels)) this.queue.add(keyOf(d));
    }
  }

  async reconcile(key: string): Promise<void | number> {
    const cached = this.deployments.get(key);
    if (!cached) return;
    const d = clone(cached);
    d.status ??= {};
    const selector = selectorOf(d);
    if (!selector || selector.empty) {
      this.recorder.event(d, 'Warning', 'SelectingAll', 'This deployment is selecting all pods. A non-empty selector is required.');
      if ((d.status.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) await this.patchStatus(d, { ...d.status, observedGeneration: d.metadata?.generation });
      return;
    }
    const rsList = await this.claimReplicaSets(d, selector);

    if (d.metadata?.deletionTimestamp) return this.syncStatusOnly(d, rsList);
    await this.checkPausedConditions(d);
    if (d.spec?.paused) return this.sync(d, rsList);
    if (this.isScalingEvent(d, rsList)) return this.sync(d, rsList);
    if (d.spec?.strategy?.type === 'Recreate') return this.rolloutRecreate(d, rsList);
    return this.rolloutRolling(d, rsList);
  }

  /** RSes this Deployment controls after adopting matching orphans and releasing others (deep copies). */
  private async claimReplicaSets(d: KubeObject, selector: Selector): Promise<KubeObject[]> {
    const ns = d.metadata!.namespace!;
    const candidates = [...this.replicaSets.byIndex(controllerUidIndex, d.metadata!.uid!), ...this.replicaSets.byIndex(orphanIndex, ns)];
    const claimed = await claimObjects(candidates, {
      owner: d,
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      matches: (rs) => selector.matches(rs.metadata?.labels ?? {}),
      client: this.rsClient,
      canAdopt: recheckOwner(this.dClient, d),
    });
    return claimed.map(clone);
  }

  // ----------------------------------------------------------- shared steps

  /** Active (not being deleted) pods the cache holds for an RS: they exist even if spec says fewer. */
  private podsOf(rs: KubeObject): KubeObject[] {
    return this.pods.byIndex(controllerUidIndex, rs.metadata!.uid!).filter(isPodActive);
  }

  private podCount = (rs: KubeObject): number => (rs.metadata?.uid ? Math.max(rs.status?.replicas ?? 0, this.podsOf(rs).length) : 0);

  /** A safe lower bound of an RS's available pods: its status, its spec, and what the pod cache shows. */
  private availableOf = (rs: KubeObject): number => {
    const minReady = rs.spec?.minReadySeconds ?? 0;
    const now = Date.now();
    const fromPods = rs.metadata?.uid ? this.podsOf(rs).filter((p) => isPodAvailable(p, minReady, now)).length : 0;
    return Math.min(rs.status?.availableReplicas ?? 0, specReplicas(rs), fromPods);
  };

  /** The new RS (template equal to the Deployment's, oldest first if several) and the old ones. */
  private async getAllReplicaSetsAndSyncRevision(d: KubeObject, rsList: KubeObject[], create: boolean): Promise<{ newRS?: KubeObject; oldRSs: KubeObject[] }> {
    const sorted = rsList.slice().sort(byCreation);
    const existing = sorted.find((rs) => equalIgnoreHash(rs.spec?.template, d.spec?.template));
    const oldRSs = sorted.filter((rs) => rs !== existing);
    const newRS = await this.getNewReplicaSet(d, existing, oldRSs, create);
    return { newRS, oldRSs };
  }

  private async getNewReplicaSet(d: KubeObject, existing: KubeObject | undefined, oldRSs: KubeObject[], create: boolean): Promise<KubeObject | undefined> {
    const newRevision = oldRSs.reduce((m, rs) => Math.max(m, revisionOf(rs)), 0) + 1;
    if (existing) {
      const annotationsChanged = setNewReplicaSetAnnotations(d, existing, newRevision, true);
      const minReadyChanged = (existing.spec?.minReadySeconds ?? 0) !== (d.spec?.minReadySeconds ?? 0);
      if (annotationsChanged || minReadyChanged) {
        existing.spec.minReadySeconds = d.spec?.minReadySeconds ?? 0;
        Object.assign(existing, await this.rsClient.update(existing));
        return existing;
      }
      let needsUpdate = await this.setDeploymentRevision(d, existing.metadata?.annotations?.[revisionAnnotation]);
      if (hasProgressDeadline(d) && !getCondition(d.status, 'Progressing')) {
        setCondition(d.status, newCondition('Progressing', 'True', reasons.FoundNewReplicaSet, `Found new replica set "${existing.metadata!.name}"`));
        needsUpdate = true;
      }
      if (needsUpdate) await this.patchStatus(d, d.status);
      return existing;
    }
    if (!create) return undefined;

    const collisionCount: number | undefined = d.status?.collisionCount;
    const hash = podTemplateHash(d.spec.template, collisionCount);
    const template = clone(d.spec.template);
    template.metadata ??= {};
    template.metadata.labels = { ...(template.metadata.labels ?? {}), [podTemplateHashLabel]: hash };
    const selector = clone(d.spec.selector);
    selector.matchLabels = { ...(selector.matchLabels ?? {}), [podTemplateHashLabel]: hash };
    const rs: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${d.metadata!.name}-${hash}`,
        namespace: d.metadata!.namespace,
        labels: template.metadata.labels,
        ownerReferences: [controllerRef(d, 'apps/v1', 'Deployment')],
      },
      spec: { replicas: 0, minReadySeconds: d.spec?.minReadySeconds ?? 0, selector, template },
    };
    rs.spec.replicas = newRSNewReplicas(d, [...oldRSs, rs], rs, this.podCount);
    setNewReplicaSetAnnotations(d, rs, newRevision, false);

    let created: KubeObject;
    let alreadyExisted = false;
    try {
      created = await this.rsClient.create(rs);
    } catch (e) {
      if (isAlreadyExists(e)) {
        const found = this.replicaSets.get(`${d.metadata!.namespace}/${rs.metadata!.name}`) ?? (await this.rsClient.get(d.metadata!.namespace, rs.metadata!.name!));
        if (controllerOf(found)?.uid === d.metadata?.uid && equalIgnoreHash(d.spec.template, found.spec?.template)) {
          created = clone(found);
          alreadyExisted = true;
        } else {
          // someone else's RS has our name: perturb the hash and try again
          d.status.collisionCount = (collisionCount ?? 0) + 1;
          await this.patchStatus(d, d.status);
          throw new Error(`hash collision for ReplicaSet ${rs.metadata!.name}; collisionCount is now ${d.status.collisionCount}`);
        }
      } else {
        const msg = `Failed to create new replica set "${rs.metadata!.name}": ${(e as Error).message}`;
        if (hasProgressDeadline(d)) {
          setCondition(d.status, newCondition('Progressing', 'False', reasons.FailedRSCreate, msg));
          await this.patchStatus(d, d.status).catch(() => undefined);
        }
        this.recorder.event(d, 'Warning', 'FailedCreate', msg);
        throw e;
      }
    }
    if (!alreadyExisted && specReplicas(created) > 0) {
      this.recorder.event(d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${created.metadata!.name} from 0 to ${specReplicas(created)}`);
    }
    let needsUpdate = await this.setDeploymentRevision(d, String(newRevision));
    if (!alreadyExisted && hasProgressDeadline(d)) {
      setCondition(d.status, newCondition('Progressing', 'True', reasons.NewReplicaSetCreated, `Created new replica set "${created.metadata!.name}"`));
      needsUpdate = true;
    }
    if (needsUpdate) await this.patchStatus(d, d.status);
    return created;
  }

  /** The Deployment carries the revision of its new RS (metadata, so a separate patch). */
  private async setDeploymentRevision(d: KubeObject, revision: string | undefined): Promise<boolean> {
    if (revision === undefined || d.metadata?.annotations?.[revisionAnnotation] === revision) return false;
    d.metadata!.annotations = { ...(d.metadata!.annotations ?? {}), [revisionAnnotation]: revision };
    await this.dClient.patch(d.metadata!.namespace, d.metadata!.name!, { metadata: { annotations: { [revisionAnnotation]: revision } } }, 'merge');
    return true;
  }

  /** Resize an RS (and refresh its replica annotations); records ScalingReplicaSet when the size changed. */
  private async scaleReplicaSet(rs: KubeObject, size: number, d: KubeObject, operation: string): Promise<boolean> {
    const sizeChanged = specReplicas(rs) !== size;
    const desired = specReplicas(d);
    const max = desired + maxSurge(d);
    if (!sizeChanged && !replicasAnnotationsNeedUpdate(rs, desired, max)) return false;
    const from = specReplicas(rs);
    const copy = clone(rs);
    copy.spec.replicas = size;
    setReplicasAnnotations(copy, desired, max);
    Object.assign(rs, await this.rsClient.update(copy));
    if (sizeChanged) this.recorder.event(d, 'Normal', 'ScalingReplicaSet', `Scaled ${operation} replica set ${rs.metadata!.name} from ${from} to ${size}`);
    return sizeChanged;
  }

  private scaleAndRecord(rs: KubeObject, size: number, d: KubeObject): Promise<boolean> {
    if (specReplicas(rs) === size) return Promise.resolve(false);
    return this.scaleReplicaSet(rs, size, d, size > specReplicas(rs) ? 'up' : 'down');
  }

  // -------------------------------------------------- paused / scaling events

  private async checkPausedConditions(d: KubeObject): Promise<void> {
    if (!hasProgressDeadline(d)) return;
    const cond = getCondition(d.status, 'Progressing');
    if (cond?.reason === reasons.TimedOut) return; // a reported failure is not overwritten by a pause
    const pausedCond = cond?.reason === reasons.Paused;
    if (d.spec?.paused && !pausedCond) setCondition(d.status, newCondition('Progressing', 'Unknown', reasons.Paused, 'Deployment is paused'));
    else if (!d.spec?.paused && pausedCond) setCondition(d.status, newCondition('Progressing', 'Unknown', reasons.Resumed, 'Deployment is resumed'));
    else return;
    await this.patchStatus(d, d.status);
  }

  /** Some active RS was sized for another replica count: the user scaled the Deployment. */
  private isScalingEvent(d: KubeObject, rsList: KubeObject[]): boolean {
    for (const rs of rsList) {
      if (specReplicas(rs) <= 0) continue;
      const desired = desiredReplicasAnnotationOf(rs);
      if (desired !== undefined && desired !== specReplicas(d)) return true;
    }
    return false;
  }

  /** Scaling (and paused) path: resize without rolling. */
  private async sync(d: KubeObject, rsList: KubeObject[]): Promise<void | number> {
    const { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(d, rsList, false);
    await this.scale(d, newRS, oldRSs);
    if (d.spec?.paused) await this.cleanupDeployment(oldRSs, d);
    return this.syncDeploymentStatus([...oldRSs, ...(newRS ? [newRS] : [])], newRS, d);
  }

  private async scale(d: KubeObject, newRS: KubeObject | undefined, oldRSs: KubeObject[]): Promise<void> {
    const all = [...oldRSs, ...(newRS ? [newRS] : [])];
    const active = all.filter((rs) => specReplicas(rs) > 0);
    // one active RS (or none: the newest) takes the whole size
    let target: KubeObject | undefined;
    if (active.length === 1) target = active[0];
    else if (active.length === 0 && all.length) target = newRS ?? oldRSs.slice().sort(byCreation).at(-1);
    if (target) {
      await this.scaleAndRecord(target, specReplicas(d), d);
      return;
    }
    if (active.length === 0) return;
    // a saturated new RS: old ones go to zero
    if (newRS && specReplicas(newRS) === specReplicas(d) && desiredReplicasAnnotationOf(newRS) === specReplicas(d) && (newRS.status?.availableReplicas ?? 0) === specReplicas(d)) {
      for (const rs of oldRSs.filter((x) => specReplicas(x) > 0)) await this.scaleAndRecord(rs, 0, d);
      return;
    }
    if (!isRollingUpdate(d)) return;
    const { sizes, operation } = proportionalSizes(d, active);
    for (const [rs, size] of sizes) await this.scaleReplicaSet(rs, size, d, operation);
  }

  // ------------------------------------------------------------- strategies

  private async rolloutRolling(d: KubeObject, rsList: KubeObject[]): Promise<void | number> {
    const { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(d, rsList, true);
    const all = [...oldRSs, ...(newRS ? [newRS] : [])];
    // new side: scale up within the surge (or down if the Deployment shrank)
    if (newRS && specReplicas(newRS) !== specReplicas(d)) {
      const target = specReplicas(newRS) > specReplicas(d) ? specReplicas(d) : newRSNewReplicas(d, all, newRS, this.podCount);
      if (await this.scaleAndRecord(newRS, target, d)) return this.syncRolloutStatus(all, newRS, d);
    }
    // old side: scale down as far as availability allows
    const plan = oldReplicaSetsScaleDown(d, oldRSs.filter((rs) => specReplicas(rs) > 0), newRS, this.availableOf);
    let scaledDown = false;
    for (const [rs, size] of plan) if (await this.scaleAndRecord(rs, size, d)) scaledDown = true;
    if (scaledDown) return this.syncRolloutStatus(all, newRS, d);
    if (deploymentComplete(d, d.status)) await this.cleanupDeployment(oldRSs, d);
    return this.syncRolloutStatus(all, newRS, d);
  }

  private async rolloutRecreate(d: KubeObject, rsList: KubeObject[]): Promise<void | number> {
    let { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(d, rsList, false);
    let all = [...oldRSs, ...(newRS ? [newRS] : [])];
    let scaledDown = false;
    for (const rs of oldRSs.filter((x) => specReplicas(x) > 0)) if (await this.scaleAndRecord(rs, 0, d)) scaledDown = true;
    if (scaledDown) return this.syncRolloutStatus(all, newRS, d);
    if (this.oldPodsRunning(newRS, oldRSs)) return this.syncRolloutStatus(all, newRS, d);
    if (!newRS) {
      ({ newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(d, rsList, true));
      all = [...oldRSs, ...(newRS ? [newRS] : [])];
    }
    if (newRS) await this.scaleAndRecord(newRS, specReplicas(d), d);
    if (deploymentComplete(d, d.status)) await this.cleanupDeployment(oldRSs, d);
    return this.syncRolloutStatus(all, newRS, d);
  }

  /** Recreate must not start new pods while any old pod may still run. */
  private oldPodsRunning(newRS: KubeObject | undefined, oldRSs: KubeObject[]): boolean {
    if (oldRSs.some((rs) => (rs.status?.replicas ?? 0) > 0)) return true;
    for (const rs of oldRSs) {
      if (rs === newRS) continue;
      for (const p of this.pods.byIndex(controllerUidIndex, rs.metadata!.uid!)) {
        const phase = p.status?.phase;
        if (phase !== 'Failed' && phase !== 'Succeeded') return true;
      }
    }
    return false;
  }

  /** Delete the oldest fully scaled-down RSes beyond revisionHistoryLimit. */
  private async cleanupDeployment(oldRSs: KubeObject[], d: KubeObject): Promise<void> {
    const limit = d.spec?.revisionHistoryLimit;
    if (limit === undefined || limit === null) return;
    const alive = oldRSs.filter((rs) => !rs.metadata?.deletionTimestamp);
    const diff = alive.length - limit;
    if (diff <= 0) return;
    alive.sort((a, b) => revisionOf(a) - revisionOf(b) || byCreation(a, b));
    for (const rs of alive.slice(0, diff)) {
      if ((rs.status?.replicas ?? 0) !== 0 || specReplicas(rs) !== 0 || (rs.metadata?.generation ?? 0) > (rs.status?.observedGeneration ?? 0)) continue;
      try {
        await this.rsClient.delete(rs.metadata!.namespace, rs.metadata!.name!, { preconditions: { uid: rs.metadata!.uid } });
      } catch (e) {
        if (!isNotFound(e) && !isConflict(e)) throw e;
      }
    }
  }

  // ----------------------------------------------------------------- status

  private calculateStatus(allRSs: KubeObject[], newRS: KubeObject | undefined, d: KubeObject): KubeObject {
    const sum = (f: (rs: KubeObject) => number) => allRSs.reduce((n, rs) => n + f(rs), 0);
    const available = sum((rs) => rs.status?.availableReplicas ?? 0);
    const total = sum(specReplicas);
    const st: KubeObject = {
      observedGeneration: d.metadata?.generation,
      replicas: sum((rs) => rs.status?.replicas ?? 0),
      updatedReplicas: newRS?.status?.replicas ?? 0,
      readyReplicas: sum((rs) => rs.status?.readyReplicas ?? 0),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, total - available),
      conditions: clone(d.status?.conditions ?? []),
    };
    if (d.status?.collisionCount !== undefined) st.collisionCount = d.status.collisionCount;
    if (available >= specReplicas(d) - maxUnavailable(d)) setCondition(st, newCondition('Available', 'True', reasons.MinimumReplicasAvailable, 'Deployment has minimum availability.'));
    else setCondition(st, newCondition('Available', 'False', reasons.MinimumReplicasUnavailable, 'Deployment does not have minimum availability.'));
    return st;
  }

  private async syncStatusOnly(d: KubeObject, rsList: KubeObject[]): Promise<void | number> {
    const { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(d, rsList, false);
    return this.syncDeploymentStatus([...oldRSs, ...(newRS ? [newRS] : [])], newRS, d);
  }

  private async syncDeploymentStatus(allRSs: KubeObject[], newRS: KubeObject | undefined, d: KubeObject): Promise<void | number> {
    const st = this.calculateStatus(allRSs, newRS, d);
    if (!statusEqual(d.status, st)) await this.patchStatus(d, st);
  }

  /** Status plus the Progressing condition; returns when to look again for the progress deadline. */
  private async syncRolloutStatus(allRSs: KubeObject[], newRS: KubeObject | undefined, d: KubeObject): Promise<void | number> {
    const st = this.calculateStatus(allRSs, newRS, d);
    if (!hasProgressDeadline(d)) removeCondition(st, 'Progressing');
    const cur = getCondition(d.status, 'Progressing');
    const complete = st.replicas === st.updatedReplicas && cur?.reason === reasons.NewReplicaSetAvailable;
    if (hasProgressDeadline(d) && !complete) {
      const what = newRS ? `ReplicaSet "${newRS.metadata!.name}"` : `Deployment "${d.metadata!.name}"`;
      if (deploymentComplete(d, st)) {
        setCondition(st, newCondition('Progressing', 'True', reasons.NewReplicaSetAvailable, `${what} has successfully progressed.`));
      } else if (deploymentProgressing(d, st)) {
        // progress refreshes lastUpdateTime (and the message) even with the same reason
        const c = newCondition('Progressing', 'True', reasons.ReplicaSetUpdated, `${what} is progressing.`);
        if (cur?.status === 'True') c.lastTransitionTime = cur.lastTransitionTime;
        removeCondition(st, 'Progressing');
        setCondition(st, c);
      } else if (deploymentTimedOut(d, st)) {
        setCondition(st, newCondition('Progressing', 'False', reasons.TimedOut, `${what} has timed out progressing.`));
      }
    }
    // surface an RS's ReplicaFailure (e.g. quota) on the Deployment
    const failure = allRSs.map((rs) => getCondition(rs.status, 'ReplicaFailure')).find((c) => c?.status === 'True');
    if (failure) setCondition(st, newCondition('ReplicaFailure', failure.status, failure.reason ?? '', failure.message ?? ''));
    else removeCondition(st, 'ReplicaFailure');

    if (!statusEqual(d.status, st)) await this.patchStatus(d, st);
    return this.requeueStuck(d, st);
  }

  /** A rollout that is neither complete nor timed out is looked at again when its deadline passes. */
  private requeueStuck(d: KubeObject, st: KubeObject): number | undefined {
    const c = getCondition(st, 'Progressing');
    if (!hasProgressDeadline(d) || !c || c.reason === reasons.NewReplicaSetAvailable || c.reason === reasons.TimedOut) return undefined;
    if (deploymentComplete(d, st)) return undefined;
    const from = Date.parse(c.lastUpdateTime ?? '');
    if (!Number.isFinite(from)) return undefined;
    return Math.max(1000, from + d.spec.progressDeadlineSeconds * 1000 - Date.now() + 1000);
  }

  /**
   * Write status with a merge patch: the controller is its only writer, and a
   * patch does not conflict with our own metadata patches. Zero counts are
   * removed like upstream's omitempty fields.
   */
  private async patchStatus(d: KubeObject, st: KubeObject): Promise<void> {
    const body: KubeObject = {};
    for (const f of ['observedGeneration', 'replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas', 'collisionCount']) {
      body[f] = st[f] ? st[f] : null;
    }
    body.conditions = st.conditions?.length ? st.conditions : null;
    try {
      await this.dClient.patch(d.metadata!.namespace, d.metadata!.name!, { status: body }, 'merge', 'status');
      d.status = { ...st };
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

function selectorOf(d: KubeObject): Selector | undefined {
  try {
    return selectorFromLabelSelector(d.spec?.selector);
  } catch {
    return undefined;
  }
}

/** Status equality with omitted zero counts (as written) and conditions in any order. */
function statusEqual(a: KubeObject | undefined, b: KubeObject): boolean {
  const norm = (s: KubeObject | undefined) => {
    const o: KubeObject = {};
    for (const f of ['observedGeneration', 'replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas', 'collisionCount']) if (s?.[f]) o[f] = s[f];
    o.conditions = (s?.conditions ?? []).slice().sort((x: Condition, y: Condition) => (x.type < y.type ? -1 : x.type > y.type ? 1 : 0));
    return JSON.stringify(normalizeTemplate(o) ?? {});
  };
  return norm(a) === norm(b);
}
