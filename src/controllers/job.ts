// Job controller: runs pods until enough of them succeed (NonIndexed) or every
// completion index succeeded (Indexed), within parallelism, with exponential
// back-off after failures, backoffLimit / backoffLimitPerIndex,
// activeDeadlineSeconds, podFailurePolicy and suspend.
//
// Pods carry the `batch.kubernetes.io/job-tracking` finalizer so that none is
// removed before it is counted. A finished pod is counted in three writes, as
// upstream does, so a crash at any point neither loses nor double-counts it:
// (1) its UID goes into status.uncountedTerminatedPods, (2) the finalizer is
// removed, (3) the UID moves from there into status.succeeded/failed.
//
// A Job fails or succeeds in two steps too: FailureTarget / SuccessCriteriaMet
// first (remaining pods are deleted), then Failed / Complete once no pod of it
// is still running or terminating.
import { isNotFound } from '../client/api.js';
import type { Reconciler } from '../client/controller.js';
import { EventRecorder } from '../client/events.js';
import type { InformerFactory } from '../client/factory.js';
import { keyOf, type Informer } from '../client/informer.js';
import type { ResourceClient } from '../client/resource.js';
import { WorkQueue } from '../client/workqueue.js';
import { controllerOfKind } from './util/controllerRef.js';
import {
  completionIndexAnnotation, formatIndexes, getCondition, hasFinalizer, indexFailureCountAnnotation, indexIgnoredFailureCountAnnotation,
  isActive, isJobFinished, isPodFailed, isReady, isTerminal, isTerminating, jobControllerName, matchPodFailurePolicy, onlyReplaceFailedPods,
  parseIndexes, podFinishTime, podIndex, remainingBackoff, rfc3339, trackingFinalizer,
} from './jobutil.js';

// controller code reads loosely typed API objects
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = any;

const OWNER_INDEX = 'job-controller:owner';
const controllerUidLabel = 'batch.kubernetes.io/controller-uid';
const jobNameLabel = 'batch.kubernetes.io/job-name';
/** how long we trust our own pending creations over a cache that has not shown them yet */
const EXPECTATION_TTL_MS = 60_000;
/** upstream caps the pods created per sync (burst) */
const MAX_CREATE_PER_SYNC = 500;

export interface JobControllerOptions {
  /** injectable clock (tests) */
  now?: () => number;
}

interface Expectation {
  adds: number;
  dels: Set<string>; // pod uids we deleted and have not yet seen terminating/gone
  at: number;
}

interface BackoffRecord {
  failures: number;
  last: number;
}

const ownerOf = (o: Obj): Obj | undefined => controllerOfKind(o, 'batch', 'Job');

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v));

/** Drop what upstream omits when empty: zero counters, empty uncounted lists. */
function normalizeStatus(st: Obj): Obj {
  if (!st) return st;
  const u = st.uncountedTerminatedPods;
  if (u) {
    if (!u.succeeded?.length) delete u.succeeded;
    if (!u.failed?.length) delete u.failed;
  }
  for (const k of ['active', 'succeeded', 'failed']) if (st[k] === 0) delete st[k];
  return st;
}

const statusKey = (st: Obj) => JSON.stringify(normalizeStatus(clone(st ?? {})));

export class JobController implements Reconciler {
  readonly name = 'job';
  readonly queue = new WorkQueue();
  readonly jobs: Informer;
  readonly pods: Informer;
  private readonly jobClient: ResourceClient;
  private readonly podClient: ResourceClient;
  private readonly recorder: EventRecorder;
  private readonly now: () => number;
  private readonly expectations = new Map<string, Expectation>();
  /** pod uids whose finalizer we removed; the pod cache may still show it */
  private readonly finalizerRemoved = new Map<string, number>();
  private readonly backoff = new Map<string, BackoffRecord>();

  constructor(factory: InformerFactory, _opts?: unknown, recorder?: EventRecorder, options: JobControllerOptions = {}) {
    this.now = options.now ?? Date.now;
    this.recorder = recorder ?? new EventRecorder(factory.api, 'job-controller');
    this.jobs = factory.informer('batch', 'jobs');
    this.pods = factory.informer('', 'pods');
    this.jobClient = factory.client('batch', 'jobs');
    this.podClient = factory.client('', 'pods');
    this.pods.addIndexer(OWNER_INDEX, (p) => {
      const o = ownerOf(p);
      return o ? [`${p.metadata?.namespace}/${o.name}`] : [];
    });
    const enqueueJob = (j: Obj) => this.queue.add(keyOf(j));
    this.jobs.addEventHandler({
      onAdd: enqueueJob,
      onUpdate: (_o, n) => enqueueJob(n),
      onDelete: (j) => {
        this.expectations.delete(keyOf(j));
        this.backoff.delete(j.metadata?.uid ?? "");
        this.queue.add(keyOf(j)); // its pods' finalizers must go
      },
    });
    const onPod = (p: Obj, deleted = false) => {
      const o = ownerOf(p);
      if (!o) return;
      const key = `${p.metadata?.namespace}/${o.name}`;
      const uid = p.metadata?.uid;
      const exp = this.expectations.get(key);
      if (exp && (deleted || p.metadata?.deletionTimestamp || isTerminal(p))) exp.dels.delete(uid);
      if (deleted || !hasFinalizer(p)) this.finalizerRemoved.delete(uid);
      this.queue.add(key);
    };
    this.pods.addEventHandler({
      onAdd: (p) => {
        const o = ownerOf(p);
        const exp = o && this.expectations.get(`${p.metadata?.namespace}/${o.name}`);
        if (exp && exp.adds > 0) exp.adds--;
        onPod(p);
      },
      onUpdate: (_o, n) => onPod(n),
      onDelete: (p) => onPod(p, true),
    });
  }

  private expectationsSatisfied(key: string): boolean {
    const e = this.expectations.get(key);
    if (!e) return true;
    if ((e.adds <= 0 && e.dels.size === 0) || this.now() - e.at > EXPECTATION_TTL_MS) {
      this.expectations.delete(key);
      return true;
    }
    return false;
  }

  async reconcile(key: string): Promise<void | number> {
    const cached = this.jobs.get(key);
    const allPods = this.pods.byIndex(OWNER_INDEX, key);
    const uid = cached?.metadata?.uid;
    // pods of a deleted (or replaced) job: let them go
    const strays = allPods.filter((p) => ownerOf(p)?.uid !== uid && hasFinalizer(p));
    await Promise.all(strays.map((p) => this.removeFinalizer(p)));
    if (!cached) return;
    if (cached.spec?.managedBy && cached.spec.managedBy !== jobControllerName) return;
    let job = clone(cached);
    const pods = allPods.filter((p) => ownerOf(p)?.uid === uid);
    const now = this.now();

    // a finished or deleted job only releases its pods
    if (isJobFinished(job) || job.metadata?.deletionTimestamp) {
      await Promise.all(pods.filter(hasFinalizer).map((p) => this.removeFinalizer(p)));
      return;
    }

    const spec = job.spec ?? {};
    const indexed = spec.completionMode === 'Indexed';
    const completions: number | undefined = spec.completions ?? undefined;
    const status = (job.status ??= {});
    const uncounted = { succeeded: new Set<string>(status.uncountedTerminatedPods?.succeeded ?? []), failed: new Set<string>(status.uncountedTerminatedPods?.failed ?? []) };
    const completed = parseIndexes(status.completedIndexes, completions);
    const perIndex = indexed && spec.backoffLimitPerIndex != null;
    const failedIndexes = parseIndexes(status.failedIndexes ?? undefined, completions);

    // ---- (1) newly finished pods into uncountedTerminatedPods
    let failureTarget = getCondition(job, 'FailureTarget')?.status === 'True' ? getCondition(job, 'FailureTarget') : undefined;
    let successTarget = getCondition(job, 'SuccessCriteriaMet')?.status === 'True';
    const release: Obj[] = []; // pods whose finalizer can go
    let newFailures = 0;
    let newSuccesses = 0;
    let lastFailure = 0;
    let changed = false;
    let pendingFailTarget: { reason: string; message: string } | undefined;
    const byFinish = [...pods].sort((a, b) => (podFinishTime(a) ?? 0) - (podFinishTime(b) ?? 0));
    for (const p of byFinish) {
      const puid = p.metadata!.uid!;
      if (!hasFinalizer(p) || this.finalizerRemoved.has(puid)) continue;
      if (uncounted.succeeded.has(puid) || uncounted.failed.has(puid)) {
        release.push(p);
        continue;
      }
      const ix = podIndex(p);
      if (p.status?.phase === 'Succeeded') {
        release.push(p);
        if (indexed) {
          if (ix === undefined || (completions !== undefined && ix >= completions) || completed.has(ix) || failedIndexes.has(ix)) continue;
          completed.add(ix);
        }
        uncounted.succeeded.add(puid);
        newSuccesses++;
        changed = true;
      } else if (isPodFailed(p, job) || ((failureTarget || successTarget) && isTerminating(p))) {
        release.push(p);
        // pods stopped because the job was suspended are not failures
        if (spec.suspend && p.status?.phase !== 'Failed') continue;
        const match = spec.podFailurePolicy && p.status?.phase === 'Failed' ? matchPodFailurePolicy(job, p) : undefined;
        if (match?.action === 'Ignore') continue;
        if (match?.action === 'FailJob' && !failureTarget && !pendingFailTarget) pendingFailTarget = { reason: 'PodFailurePolicy', message: match.message };
        if (perIndex && ix !== undefined && (completions === undefined || ix < completions) && !completed.has(ix)) {
          const count = Number(p.metadata?.annotations?.[indexFailureCountAnnotation] ?? 0) + 1;
          if (match?.action === 'FailIndex' || count > spec.backoffLimitPerIndex) failedIndexes.add(ix);
        }
        uncounted.failed.add(puid);
        newFailures++;
        lastFailure = Math.max(lastFailure, podFinishTime(p) ?? now);
        changed = true;
      }
    }
    if (newSuccesses || newFailures) this.recordBackoff(uid!, newSuccesses, newFailures, lastFailure);
    if (pendingFailTarget) {
      failureTarget = this.setCondition(job, 'FailureTarget', pendingFailTarget.reason, pendingFailTarget.message, now);
      changed = true;
    }
    if (changed) {
      status.uncountedTerminatedPods = { succeeded: [...uncounted.succeeded], failed: [...uncounted.failed] };
      if (indexed) status.completedIndexes = formatIndexes(completed);
      if (perIndex) status.failedIndexes = formatIndexes(failedIndexes);
      job = await this.writeStatus(job);
    }

    // ---- (2) remove finalizers of counted-to-be pods
    if (release.length) await Promise.all(release.map((p) => this.removeFinalizer(p)));

    // ---- (3) move uncounted pods whose finalizer is gone into the counters
    const podsByUid = new Map(pods.map((p) => [p.metadata!.uid!, p]));
    const settled = (u: string) => {
      const p = podsByUid.get(u);
      return !p || !hasFinalizer(p) || this.finalizerRemoved.has(u);
    };
    const st = job.status;
    const still = { succeeded: [...uncounted.succeeded].filter((u) => !settled(u)), failed: [...uncounted.failed].filter((u) => !settled(u)) };
    const movedS = uncounted.succeeded.size - still.succeeded.length;
    const movedF = uncounted.failed.size - still.failed.length;
    if (movedS || movedF) {
      st.succeeded = (st.succeeded ?? 0) + movedS;
      st.failed = (st.failed ?? 0) + movedF;
      st.uncountedTerminatedPods = still;
      uncounted.succeeded = new Set(still.succeeded);
      uncounted.failed = new Set(still.failed);
      job = await this.writeStatus(job);
    }
    return this.manage(key, job, pods, completed, failedIndexes, failureTarget, now);
  }

  /** Steps after counting: decide success/failure, suspend, create or delete pods, write the status. */
  private async manage(key: string, job: Obj, pods: Obj[], completed: Set<number>, failedIndexes: Set<number>, failureTarget: Obj | undefined, now: number): Promise<void | number> {
    const spec = job.spec;
    const status = job.status;
    const indexed = spec.completionMode === 'Indexed';
    const completions: number | undefined = spec.completions ?? undefined;
    const parallelism: number = spec.parallelism ?? 1;
    const before = statusKey(status);
    const active = pods.filter(isActive);
    const terminating = pods.filter(isTerminating);
    const uncountedS = status.uncountedTerminatedPods?.succeeded?.length ?? 0;
    const uncountedF = status.uncountedTerminatedPods?.failed?.length ?? 0;
    const succeeded = (status.succeeded ?? 0) + uncountedS;
    const failed = (status.failed ?? 0) + uncountedF;
    let requeue: number | undefined;
    const soon = (ms: number) => (requeue = requeue === undefined ? ms : Math.min(requeue, ms));

    if (!status.startTime && !spec.suspend) status.startTime = rfc3339(now);

    // ---- failure and success criteria
    let successTarget = getCondition(job, 'SuccessCriteriaMet')?.status === 'True';
    if (!failureTarget && !successTarget) {
      let fail: { reason: string; message: string } | undefined;
      if (failed > spec.backoffLimit || this.pastBackoffLimitOnFailure(job, active)) {
        fail = { reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' };
      } else if (spec.activeDeadlineSeconds != null && status.startTime && !spec.suspend) {
        const deadline = Date.parse(status.startTime) + spec.activeDeadlineSeconds * 1000;
        if (now >= deadline) fail = { reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' };
        else soon(deadline - now);
      }
      if (!fail && indexed && spec.backoffLimitPerIndex != null && failedIndexes.size) {
        if (spec.maxFailedIndexes != null && failedIndexes.size > spec.maxFailedIndexes) {
          fail = { reason: 'MaxFailedIndexesExceeded', message: 'Job has exceeded the specified maximal number of failed indexes' };
        } else if (completions !== undefined && completed.size + failedIndexes.size >= completions) {
          fail = { reason: 'FailedIndexes', message: 'Job has failed indexes' };
        }
      }
      if (fail) failureTarget = this.setCondition(job, 'FailureTarget', fail.reason, fail.message, now);
      else {
        const done = indexed
          ? completions !== undefined && completed.size >= completions
          : completions !== undefined
            ? succeeded >= completions
            : succeeded > 0 && active.length === 0;
        if (done) {
          this.setCondition(job, 'SuccessCriteriaMet', 'CompletionsReached', 'Reached expected number of succeeded pods', now);
          successTarget = true;
        }
      }
    }

    if (failureTarget || successTarget) {
      // finishing: stop what still runs, then declare the terminal condition
      await this.deletePods(key, job, active);
      if (active.length === 0 && terminating.length === 0 && uncountedS + uncountedF === 0) {
        if (failureTarget) {
          this.setCondition(job, 'Failed', failureTarget.reason, failureTarget.message, now);
          this.recorder.event(job, 'Warning', failureTarget.reason, failureTarget.message);
        } else {
          this.setCondition(job, 'Complete', 'CompletionsReached', 'Reached expected number of succeeded pods', now);
          status.completionTime = rfc3339(now);
          this.recorder.event(job, 'Normal', 'Completed', 'Job completed');
        }
        this.backoff.delete(job.metadata.uid);
      }
      status.active = 0;
      status.ready = 0;
      status.terminating = active.length + terminating.length;
      if (statusKey(status) !== before) await this.writeStatus(job);
      return requeue;
    }

    // ---- suspend / resume
    const suspended = getCondition(job, 'Suspended');
    if (spec.suspend) {
      await this.deletePods(key, job, active);
      if (suspended?.status !== 'True') {
        this.setCondition(job, 'Suspended', 'JobSuspended', 'Job suspended', now);
        this.recorder.event(job, 'Normal', 'Suspended', 'Job suspended');
      }
      status.active = 0;
      status.ready = 0;
      status.terminating = active.length + terminating.length;
      if (statusKey(status) !== before) await this.writeStatus(job);
      return requeue;
    }
    if (suspended?.status === 'True') {
      this.setCondition(job, 'Suspended', 'JobResumed', 'Job resumed', now, 'False');
      status.startTime = rfc3339(now); // the active deadline restarts on resume
      this.recorder.event(job, 'Normal', 'Resumed', 'Job resumed');
      if (spec.activeDeadlineSeconds != null) soon(spec.activeDeadlineSeconds * 1000);
    }

    // ---- pods to create or delete
    let activeCount = active.length;
    if (!this.expectationsSatisfied(key)) soon(5000); // pod events normally come first; this is the safety net
    else {
      const replaceOnlyFailed = onlyReplaceFailedPods(job);
      const occupying = replaceOnlyFailed ? [...active, ...terminating] : active;
      const wait = remainingBackoff(this.backoff.get(job.metadata.uid)?.failures ?? 0, this.backoff.get(job.metadata.uid)?.last ?? 0, now);
      if (indexed) {
        const limit = completions ?? 0;
        const seen = new Set<number>();
        const extra: Obj[] = [];
        // newest first so the oldest pod of a duplicated index survives
        for (const p of [...active].sort((a, b) => String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)))) {
          const ix = podIndex(p);
          if (ix === undefined || ix >= limit || seen.has(ix) || completed.has(ix) || failedIndexes.has(ix)) extra.push(p);
          else seen.add(ix);
        }
        for (const p of terminating) if (replaceOnlyFailed) seen.add(podIndex(p) ?? -1);
        // upstream keeps at most `parallelism` active
        const keep = active.filter((p) => !extra.includes(p));
        if (keep.length > parallelism) extra.push(...this.deletionOrder(keep).slice(0, keep.length - parallelism));
        if (extra.length) {
          await this.deletePods(key, job, extra);
          activeCount -= extra.length;
        }
        const want: number[] = [];
        const occupied = occupying.length - extra.length;
        for (let ix = 0; ix < limit && want.length < Math.min(parallelism - occupied, MAX_CREATE_PER_SYNC); ix++) {
          if (!completed.has(ix) && !failedIndexes.has(ix) && !seen.has(ix)) want.push(ix);
        }
        if (want.length) {
          if (wait > 0) soon(wait);
          else activeCount += await this.createPods(key, job, pods, want);
        }
      } else {
        let wantActive = parallelism;
        if (completions !== undefined) wantActive = Math.max(0, Math.min(parallelism, completions - succeeded));
        else if (succeeded > 0) wantActive = Math.min(active.length, parallelism);
        if (active.length > wantActive) {
          const extra = this.deletionOrder(active).slice(0, active.length - wantActive);
          await this.deletePods(key, job, extra);
          activeCount -= extra.length;
        } else {
          const n = Math.min(wantActive - occupying.length, MAX_CREATE_PER_SYNC);
          if (n > 0) {
            if (wait > 0) soon(wait);
            else activeCount += await this.createPods(key, job, pods, new Array(n).fill(undefined));
          }
        }
      }
    }

    status.active = activeCount;
    status.ready = active.filter(isReady).length;
    status.terminating = terminating.length;
    status.uncountedTerminatedPods ??= {};
    if (indexed) status.completedIndexes = formatIndexes(completed);
    if (statusKey(status) !== before) await this.writeStatus(job);
    return requeue;
  }

  /** restartPolicy OnFailure: container restarts of running pods count against backoffLimit. */
  private pastBackoffLimitOnFailure(job: Obj, active: Obj[]): boolean {
    if (job.spec?.template?.spec?.restartPolicy !== 'OnFailure') return false;
    let restarts = 0;
    for (const p of active) {
      if (p.status?.phase !== 'Running' && p.status?.phase !== 'Pending') continue;
      for (const cs of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]) restarts += cs.restartCount ?? 0;
    }
    const limit = job.spec.backoffLimit ?? 6;
    return limit === 0 ? restarts > 0 : restarts >= limit;
  }

  private recordBackoff(uid: string, successes: number, failures: number, last: number): void {
    const r = this.backoff.get(uid) ?? { failures: 0, last: 0 };
    if (successes && !failures) r.failures = 0;
    else {
      r.failures += failures;
      r.last = Math.max(r.last, last);
    }
    this.backoff.set(uid, r);
  }

  /** Pods to delete first: unscheduled, then pending, then not ready, then the newest. */
  private deletionOrder(pods: Obj[]): Obj[] {
    const rank = (p: Obj) => (!p.spec?.nodeName ? 0 : p.status?.phase === 'Pending' ? 1 : !isReady(p) ? 2 : 3);
    return [...pods].sort((a, b) => rank(a) - rank(b) || String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)));
  }

  private setCondition(job: Obj, type: string, reason: string, message: string, now: number, status = 'True'): Obj {
    const conds: Obj[] = (job.status.conditions ??= []);
    const ts = rfc3339(now);
    let c = conds.find((x) => x.type === type);
    if (!c) {
      c = { type, status, lastProbeTime: ts, lastTransitionTime: ts, reason, message };
      conds.push(c);
    } else {
      if (c.status !== status) c.lastTransitionTime = ts;
      Object.assign(c, { status, lastProbeTime: ts, reason, message });
    }
    return c;
  }

  private async writeStatus(job: Obj): Promise<Obj> {
    normalizeStatus(job.status);
    const out = await this.jobClient.updateStatus(job);
    out.apiVersion ??= 'batch/v1';
    out.kind ??= 'Job';
    return clone(out);
  }

  private async removeFinalizer(p: Obj): Promise<void> {
    const fins: string[] = p.metadata?.finalizers ?? [];
    const i = fins.indexOf(trackingFinalizer);
    if (i < 0) return;
    try {
      await this.podClient.patch(p.metadata!.namespace, p.metadata!.name!, [
        { op: 'test', path: `/metadata/finalizers/${i}`, value: trackingFinalizer },
        { op: 'remove', path: `/metadata/finalizers/${i}` },
      ], 'json');
      this.finalizerRemoved.set(p.metadata!.uid!, this.now());
    } catch (e) {
      if (isNotFound(e)) return;
      throw e; // the pod changed under us: the next sync sees the new list
    }
  }

  private async deletePods(key: string, job: Obj, pods: Obj[]): Promise<void> {
    if (!pods.length) return;
    const exp = this.expectations.get(key) ?? { adds: 0, dels: new Set<string>(), at: this.now() };
    this.expectations.set(key, exp);
    exp.at = this.now();
    await Promise.all(pods.map(async (p) => {
      exp.dels.add(p.metadata.uid);
      try {
        await this.podClient.delete(p.metadata.namespace, p.metadata.name, { preconditions: { uid: p.metadata.uid } });
        this.recorder.event(job, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`);
      } catch (e) {
        exp.dels.delete(p.metadata.uid);
        if (isNotFound(e)) return;
        this.recorder.event(job, 'Warning', 'FailedDelete', `Error deleting: ${(e as Error).message}`);
        throw e;
      }
    }));
  }

  /** Create one pod per entry (a completion index, or undefined for NonIndexed). Returns how many were created. */
  private async createPods(key: string, job: Obj, existing: Obj[], indexes: (number | undefined)[]): Promise<number> {
    const exp = this.expectations.get(key) ?? { adds: 0, dels: new Set<string>(), at: this.now() };
    this.expectations.set(key, exp);
    exp.adds += indexes.length;
    exp.at = this.now();
    let created = 0;
    let firstErr: unknown;
    await Promise.all(indexes.map(async (ix) => {
      const pod = this.podFromTemplate(job, existing, ix);
      try {
        const out = await this.podClient.create(pod, job.metadata.namespace);
        created++;
        this.recorder.event(job, 'Normal', 'SuccessfulCreate', `Created pod: ${out.metadata?.name}`);
      } catch (e) {
        exp.adds--;
        firstErr ??= e;
        this.recorder.event(job, 'Warning', 'FailedCreate', `Error creating: ${(e as Error).message}`);
      }
    }));
    if (firstErr && !created) throw firstErr;
    return created;
  }

  private podFromTemplate(job: Obj, existing: Obj[], ix: number | undefined): Obj {
    const tpl = clone(job.spec.template ?? {});
    const name = job.metadata.name;
    const meta = tpl.metadata ?? {};
    const labels: Record<string, string> = { ...(meta.labels ?? {}) };
    labels[controllerUidLabel] ??= job.metadata.uid;
    labels[jobNameLabel] ??= name;
    const annotations: Record<string, string> = { ...(meta.annotations ?? {}) };
    const spec = tpl.spec ?? {};
    if (ix !== undefined) {
      annotations[completionIndexAnnotation] = String(ix);
      labels[completionIndexAnnotation] = String(ix);
      spec.hostname ??= `${name}-${ix}`;
      const env = { name: 'JOB_COMPLETION_INDEX', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: `metadata.annotations['${completionIndexAnnotation}']` } } };
      for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
        c.env ??= [];
        if (!c.env.some((e: Obj) => e.name === env.name)) c.env.push(clone(env));
      }
      if (job.spec.backoffLimitPerIndex != null) {
        // carry the index's failure counts over from its latest failed pod
        const prev = existing
          .filter((p) => podIndex(p) === ix && isPodFailed(p, job))
          .sort((a, b) => String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)))[0];
        let failures = Number(prev?.metadata?.annotations?.[indexFailureCountAnnotation] ?? 0);
        let ignored = Number(prev?.metadata?.annotations?.[indexIgnoredFailureCountAnnotation] ?? 0);
        if (prev) {
          if (matchPodFailurePolicy(job, prev)?.action === 'Ignore') ignored++;
          else failures++;
        }
        annotations[indexFailureCountAnnotation] = String(failures);
        if (ignored) annotations[indexIgnoredFailureCountAnnotation] = String(ignored);
      }
    }
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName: ix !== undefined ? `${name}-${ix}-` : `${name}-`,
        namespace: job.metadata.namespace,
        labels,
        annotations,
        finalizers: [trackingFinalizer],
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name, uid: job.metadata.uid, controller: true, blockOwnerDeletion: true }],
      },
      spec,
    };
  }
}
