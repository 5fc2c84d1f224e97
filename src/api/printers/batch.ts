// Table printers for the batch group.
import type { CronJob, Job } from 'kubernetes-types/batch/v1.js';
import type { Printer } from '../kind.js';
import {
  ageColumn, boolPtr, col, containerCells, containersColumn, formatLabelSelector, humanDuration, imagesColumn,
  nameColumn, parseTime, selectorColumn, since,
} from './format.js';

function hasCondition(job: Job, type: string): boolean {
  // Upstream looks at the first condition of the type only.
  const c = (job.status?.conditions ?? []).find((x) => x.type === type);
  return c?.status === 'True';
}

export function jobStatus(job: Job): string {
  if (hasCondition(job, 'Complete')) return 'Complete';
  if (hasCondition(job, 'Failed')) return 'Failed';
  if (job.metadata?.deletionTimestamp) return 'Terminating';
  if (hasCondition(job, 'Suspended')) return 'Suspended';
  if (hasCondition(job, 'FailureTarget')) return 'FailureTarget';
  return 'Running';
}

export function jobCompletions(job: Job): string {
  const succeeded = job.status?.succeeded ?? 0;
  const completions = job.spec?.completions;
  if (completions !== undefined && completions !== null) return `${succeeded}/${completions}`;
  const parallelism = job.spec?.parallelism ?? 0;
  return parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
}

export function jobDuration(job: Job, now: number): string {
  const start = parseTime(job.status?.startTime);
  if (start === undefined) return '';
  const end = parseTime(job.status?.completionTime);
  return humanDuration((end ?? now) - start);
}

const job: Printer = {
  columns: [
    nameColumn,
    col('Status', 'string', 'Status of the job.'),
    col('Completions', 'string', 'The number of pods which reached phase Succeeded.'),
    col('Duration', 'string', 'Time required to complete the job.'),
    ageColumn,
    containersColumn,
    imagesColumn,
    selectorColumn('A label query over pods that should match the pod count.'),
  ],
  cells(obj, now) {
    const j = obj as Job;
    const [names, images] = containerCells(j.spec?.template?.spec?.containers);
    return [
      j.metadata?.name ?? '', jobStatus(j), jobCompletions(j), jobDuration(j, now), since(j.metadata?.creationTimestamp, now),
      names, images, formatLabelSelector(j.spec?.selector),
    ];
  },
};

const cronJob: Printer = {
  columns: [
    nameColumn,
    col('Schedule', 'string', 'The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.'),
    col('Timezone', 'string', 'The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones.'),
    col('Suspend', 'boolean', 'This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.'),
    col('Active', 'integer', 'A list of pointers to currently running jobs.'),
    col('Last Schedule', 'string', 'Information when was the last time the job was successfully scheduled.'),
    ageColumn,
    containersColumn,
    imagesColumn,
    selectorColumn('A label query over pods that should match the pod count.'),
  ],
  cells(obj, now) {
    const cj = obj as CronJob;
    const tmpl = cj.spec?.jobTemplate?.spec;
    const [names, images] = containerCells(tmpl?.template?.spec?.containers);
    const last = cj.status?.lastScheduleTime ? since(cj.status.lastScheduleTime, now) : '<none>';
    return [
      cj.metadata?.name ?? '', cj.spec?.schedule ?? '', cj.spec?.timeZone ?? '<none>', boolPtr(cj.spec?.suspend),
      (cj.status?.active ?? []).length, last, since(cj.metadata?.creationTimestamp, now), names, images,
      formatLabelSelector(tmpl?.selector),
    ];
  },
};

export const batchPrinters: Record<string, Printer> = { Job: job, CronJob: cronJob };
