// CronJob controller: creates a Job from spec.jobTemplate at each schedule time
// (in spec.timeZone, else the controller's zone), named
// `<cronjob>-<scheduled time in minutes since the epoch>` so a schedule time
// can never produce two Jobs. It honours concurrencyPolicy, suspend and
// startingDeadlineSeconds, keeps status.active / lastScheduleTime /
// lastSuccessfulTime, deletes finished Jobs beyond the history limits, and
// sleeps until the next schedule time instead of polling.
import { ApiError, isAlreadyExists, isNotFound } from '../client/api.js';
import type { Reconciler } from '../client/controller.js';
import { EventRecorder } from '../client/events.js';
import type { InformerFactory } from '../client/factory.js';
import { keyOf, type Informer } from '../client/informer.js';
import type { ResourceClient } from '../client/resource.js';
import { WorkQueue } from '../client/workqueue.js';
import { CronParseError, formatRFC3339, mostRecentScheduleTime, parseSchedule, type Schedule } from './cron/schedule.js';
import { isJobFinished, rfc3339 } from './jobutil.js';
import { controllerOfKind } from './util/controllerRef.js';

// controller code reads loosely typed API objects
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = any;

export const scheduledTimestampAnnotation = 'batch.kubernetes.io/cronjob-scheduled-timestamp';
/** set by `kubectl create job --from=cronjob/x` */
export const instantiateAnnotation = 'cronjob.kubernetes.io/instantiate';
const OWNER_INDEX = 'cronjob-controller:owner';
/** upstream warns past this many missed schedule times */
const MAX_MISSED = 100;
/** wake a little after the schedule time so that it is certainly due */
const WAKE_SLACK_MS = 100;

const ownerOf = (o: Obj): Obj | undefined => controllerOfKind(o, 'batch', 'CronJob');

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v));
const time = (s: string | undefined) => (s ? Date.parse(s) : NaN);

/** The Job name for a schedule time: the minutes since the epoch, as upstream. */
export function jobNameFor(cronJobName: string, scheduledMs: number): string {
  return `${cronJobName}-${Math.floor(scheduledMs / 60_000)}`;
}

export interface CronJobControllerOptions {
  /** injectable clock (tests) */
  now?: () => number;
}

export class CronJobController implements Reconciler {
  readonly name = 'cronjob';
  readonly queue = new WorkQueue();
  readonly cronjobs: Informer;
  readonly jobs: Informer;
  private readonly cronClient: ResourceClient;
  private readonly jobClient: ResourceClient;
  private readonly recorder: EventRecorder;
  private readonly now: () => number;
  /** parsed schedules by spec+zone (parsing is cheap, but every sync would redo it) */
  private readonly schedules = new Map<string, Schedule | Error>();

  constructor(factory: InformerFactory, _opts?: unknown, recorder?: EventRecorder, options: CronJobControllerOptions = {}) {
    this.now = options.now ?? Date.now;
    this.recorder = recorder ?? new EventRecorder(factory.api, 'cronjob-controller');
    this.cronjobs = factory.informer('batch', 'cronjobs');
    this.jobs = factory.informer('batch', 'jobs');
    this.cronClient = factory.client('batch', 'cronjobs');
    this.jobClient = factory.client('batch', 'jobs');
    this.jobs.addIndexer(OWNER_INDEX, (j) => {
      const o = ownerOf(j);
      return o ? [`${j.metadata?.namespace}/${o.name}`] : [];
    });
    const enqueue = (o: Obj) => this.queue.add(keyOf(o));
    this.cronjobs.addEventHandler({ onAdd: enqueue, onUpdate: (_o, n) => enqueue(n) });
    const onJob = (j: Obj) => {
      const o = ownerOf(j);
      if (o) this.queue.add(`${j.metadata?.namespace}/${o.name}`);
    };
    this.jobs.addEventHandler({ onAdd: onJob, onUpdate: (_o, n) => onJob(n), onDelete: onJob });
  }

  private schedule(cj: Obj): Schedule | Error {
    const k = `${cj.spec?.timeZone ?? ''}\u0000${cj.spec?.schedule ?? ''}`;
    let s = this.schedules.get(k);
    if (!s) {
      try {
        s = parseSchedule(cj.spec?.schedule ?? '', cj.spec?.timeZone ?? undefined);
      } catch (e) {
        s = e instanceof Error ? e : new Error(String(e));
      }
      if (this.schedules.size > 10_000) this.schedules.clear();
      this.schedules.set(k, s);
    }
    return s;
  }

  async reconcile(key: string): Promise<void | number> {
    const cached = this.cronjobs.get(key);
    if (!cached) return;
    const cj: Obj = clone(cached);
    const uid = cj.metadata.uid;
    const ns = cj.metadata.namespace;
    const children: Obj[] = this.jobs.byIndex(OWNER_INDEX, key).filter((j) => ownerOf(j)?.uid === uid);
    const status = (cj.status ??= {});
    const before = JSON.stringify(status);
    const now = this.now();

    // ---- status.active follows the child jobs
    const byUid = new Map(children.map((j) => [j.metadata.uid, j]));
    const active: Obj[] = [];
    for (const ref of status.active ?? []) {
      const j = byUid.get(ref.uid);
      if (!j) {
        this.recorder.event(cj, 'Normal', 'MissingJob', `Active job went missing: ${ref.name}`);
        continue;
      }
      const finished = isJobFinished(j);
      if (finished) {
        this.recorder.event(cj, 'Normal', 'SawCompletedJob', `Saw completed job: ${j.metadata.name}, condition: ${finished}`);
        if (finished === 'Complete') this.noteSuccess(status, j);
        continue;
      }
      active.push(ref);
    }
    for (const j of children) {
      // a job we created but could not record (crash, conflict): adopt it into the active list
      if (isJobFinished(j) || active.some((r) => r.uid === j.metadata.uid)) continue;
      if (j.metadata.annotations?.[instantiateAnnotation] === 'manual' || !j.metadata.annotations?.[scheduledTimestampAnnotation]) continue;
      active.push(this.refTo(j));
    }
    status.active = active.length ? active : undefined;
    if (!status.active) delete status.active;

    // ---- history limits
    await this.cleanupHistory(cj, children);

    if (cj.metadata.deletionTimestamp || cj.spec?.suspend) {
      await this.writeStatus(cj, before);
      return;
    }

    const sched = this.schedule(cj);
    if (sched instanceof Error) {
      const unknownZone = /time zone/.test(sched.message) && cj.spec?.timeZone;
      if (unknownZone) this.recorder.event(cj, 'Warning', 'UnknownTimeZone', `invalid timeZone: "${cj.spec.timeZone}": ${sched.message}`);
      else this.recorder.event(cj, 'Warning', 'InvalidSchedule', `invalid schedule: ${cj.spec?.schedule} : ${sched instanceof CronParseError ? sched.message : String(sched)}`);
      await this.writeStatus(cj, before);
      return;
    }

    const next = sched.next(now);
    const requeue = next === undefined ? undefined : next - now + WAKE_SLACK_MS;
    let earliest = time(status.lastScheduleTime);
    if (Number.isNaN(earliest)) earliest = time(cj.metadata.creationTimestamp);
    if (Number.isNaN(earliest)) earliest = now;
    const sds = cj.spec?.startingDeadlineSeconds;
    if (sds != null) earliest = Math.max(earliest, now - sds * 1000);
    const { time: scheduled, missed } = mostRecentScheduleTime(sched, earliest, now, MAX_MISSED);
    if (missed > MAX_MISSED) {
      this.recorder.event(cj, 'Warning', 'TooManyMissedTimes', `too many missed start times: ${missed}. Set or decrease .spec.startingDeadlineSeconds or check clock skew`);
    }
    if (scheduled === undefined) {
      await this.writeStatus(cj, before);
      return requeue;
    }
    if (sds != null && scheduled + sds * 1000 < now) {
      this.recorder.event(cj, 'Warning', 'MissSchedule', `Missed scheduled time to start a job: ${new Date(scheduled).toUTCString()}`);
      await this.writeStatus(cj, before);
      return requeue;
    }

    const jobName = jobNameFor(cj.metadata.name, scheduled);
    const existing = children.find((j) => j.metadata.name === jobName);
    if (existing || active.some((r) => r.name === jobName)) {
      // this schedule time was handled already (possibly before a restart)
      if (existing && time(status.lastScheduleTime) !== scheduled) status.lastScheduleTime = rfc3339(scheduled);
      await this.writeStatus(cj, before);
      return requeue;
    }

    const policy = cj.spec?.concurrencyPolicy ?? 'Allow';
    if (policy === 'Forbid' && active.length) {
      this.recorder.event(cj, 'Normal', 'JobAlreadyActive', 'Not starting job because prior execution is running and concurrency policy is Forbid');
      await this.writeStatus(cj, before);
      return requeue;
    }
    if (policy === 'Replace') {
      for (const ref of [...active]) {
        try {
          await this.jobClient.delete(ns, ref.name, { propagationPolicy: 'Background', preconditions: { uid: ref.uid } });
          this.recorder.event(cj, 'Normal', 'SuccessfulDelete', `Deleted job ${ref.name}`);
        } catch (e) {
          if (!isNotFound(e)) {
            this.recorder.event(cj, 'Warning', 'FailedDelete', `Deleted job: ${(e as Error).message}`);
            throw e;
          }
        }
        active.splice(active.indexOf(ref), 1);
      }
      status.active = active.length ? active : undefined;
      if (!status.active) delete status.active;
    }

    const job = this.jobFromTemplate(cj, jobName, scheduled, sched.timeZone);
    let created: Obj;
    try {
      created = await this.jobClient.create(job, ns);
      this.recorder.event(cj, 'Normal', 'SuccessfulCreate', `Created job ${jobName}`);
    } catch (e) {
      if (!isAlreadyExists(e)) {
        this.recorder.event(cj, 'Warning', 'FailedCreate', `Error creating job: ${(e as Error).message}`);
        // an invalid template will not get better by retrying: wait for the next schedule time (or a spec change)
        if (e instanceof ApiError && (e.code === 422 || e.code === 400)) {
          await this.writeStatus(cj, before);
          return requeue;
        }
        throw e;
      }
      created = await this.jobClient.get(ns, jobName);
      if (ownerOf(created)?.uid !== uid) {
        this.recorder.event(cj, 'Warning', 'FailedCreate', `Error creating job: a job named ${jobName} exists and is not owned by this cronjob`);
        await this.writeStatus(cj, before);
        return requeue;
      }
    }
    if (!isJobFinished(created) && !active.some((r) => r.uid === created.metadata.uid)) active.push(this.refTo(created));
    status.active = active;
    status.lastScheduleTime = rfc3339(scheduled);
    await this.writeStatus(cj, before);
    return requeue;
  }

  private noteSuccess(status: Obj, job: Obj): void {
    const t = time(job.status?.completionTime);
    if (Number.isNaN(t)) return;
    const prev = time(status.lastSuccessfulTime);
    if (Number.isNaN(prev) || t > prev) status.lastSuccessfulTime = rfc3339(t);
  }

  private refTo(j: Obj): Obj {
    return { kind: 'Job', namespace: j.metadata.namespace, name: j.metadata.name, uid: j.metadata.uid, apiVersion: 'batch/v1', resourceVersion: j.metadata.resourceVersion };
  }

  private jobFromTemplate(cj: Obj, name: string, scheduled: number, tz: string): Obj {
    const tpl = clone(cj.spec?.jobTemplate ?? {});
    const annotations = { ...(tpl.metadata?.annotations ?? {}), [scheduledTimestampAnnotation]: formatRFC3339(scheduled, tz) };
    return {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name,
        namespace: cj.metadata.namespace,
        labels: tpl.metadata?.labels ?? {},
        annotations,
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: cj.metadata.name, uid: cj.metadata.uid, controller: true, blockOwnerDeletion: true }],
      },
      spec: tpl.spec ?? {},
    };
  }

  /** Delete the oldest finished jobs beyond successfulJobsHistoryLimit / failedJobsHistoryLimit. */
  private async cleanupHistory(cj: Obj, children: Obj[]): Promise<void> {
    const limits: [string, number | undefined][] = [['Complete', cj.spec?.successfulJobsHistoryLimit], ['Failed', cj.spec?.failedJobsHistoryLimit]];
    const started = (j: Obj) => {
      const t = time(j.status?.startTime ?? j.metadata?.creationTimestamp);
      return Number.isNaN(t) ? 0 : t;
    };
    for (const [kind, limit] of limits) {
      if (limit == null) continue;
      const done = children.filter((j) => !j.metadata.deletionTimestamp && isJobFinished(j) === kind).sort((a, b) => started(a) - started(b) || a.metadata.name.localeCompare(b.metadata.name));
      for (const j of done.slice(0, Math.max(0, done.length - limit))) {
        try {
          await this.jobClient.delete(j.metadata.namespace, j.metadata.name, { propagationPolicy: 'Background', preconditions: { uid: j.metadata.uid } });
          this.recorder.event(cj, 'Normal', 'SuccessfulDelete', `Deleted job ${j.metadata.name}`);
        } catch (e) {
          if (!isNotFound(e)) {
            this.recorder.event(cj, 'Warning', 'FailedDelete', `Deleted job: ${(e as Error).message}`);
            throw e;
          }
        }
      }
    }
  }

  private async writeStatus(cj: Obj, before: string): Promise<void> {
    if (JSON.stringify(cj.status) === before) return;
    try {
      await this.cronClient.updateStatus(cj);
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
  }
}
