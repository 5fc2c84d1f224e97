// batch/v1 kinds: Job and CronJob.
import { field } from '../errors.js';
import type { KindDefinition, KubeObject } from '../kind.js';
import {
  type Errs, deepEqual, enumError, immutable, requiredWith, validateNonnegative, validatePositive,
} from '../validation.js';
import { validateLabelSelector, matchesLabelSelector as selectorMatches } from '../labels.js';
import { defaultPodTemplate, validatePodTemplateSpec } from './podSpec.js';
import { clone, ensure, initGeneration, bumpGeneration } from './util.js';

const batch = { group: 'batch', version: 'v1' } as const;

export const controllerUidLabel = 'batch.kubernetes.io/controller-uid';
export const jobNameLabel = 'batch.kubernetes.io/job-name';

// -------------------------------------------------------------------- Job

function defaultJobSpec(spec: any): void {
  if (spec.completions == null && spec.parallelism == null) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  spec.parallelism ??= 1;
  if (spec.completionMode === 'Indexed' && spec.backoffLimitPerIndex != null) spec.backoffLimit ??= 2147483647;
  spec.backoffLimit ??= 6;
  spec.completionMode ||= 'NonIndexed';
  spec.suspend ??= false;
  spec.podReplacementPolicy ||= spec.podFailurePolicy ? 'Failed' : 'TerminatingOrFailed';
  if (spec.template) defaultPodTemplate(spec.template);
}

/** Selector and pod labels the apiserver generates for a Job (unless manualSelector). */
export function generateJobSelector(obj: KubeObject): void {
  const spec = ensure(obj, 'spec');
  if (spec.manualSelector === true) return;
  const uid = obj.metadata?.uid ?? '';
  const name = obj.metadata?.name ?? '';
  const tpl = ensure(spec, 'template');
  const meta = ensure(tpl, 'metadata');
  const labels = (meta.labels ??= {});
  labels[controllerUidLabel] ??= uid;
  labels[jobNameLabel] ??= name;
  labels['controller-uid'] ??= uid;
  labels['job-name'] ??= name;
  if (!spec.selector) spec.selector = { matchLabels: { [controllerUidLabel]: uid } };
  else {
    spec.selector.matchLabels ??= {};
    spec.selector.matchLabels[controllerUidLabel] ??= uid;
  }
}

function validateJobSpec(spec: any, path: string, requireSelector: boolean): Errs {
  const errs: Errs = [];
  errs.push(...validateNonnegative(spec.parallelism, `${path}.parallelism`));
  errs.push(...validateNonnegative(spec.completions, `${path}.completions`));
  errs.push(...validatePositive(spec.activeDeadlineSeconds, `${path}.activeDeadlineSeconds`));
  errs.push(...validateNonnegative(spec.backoffLimit, `${path}.backoffLimit`));
  errs.push(...validateNonnegative(spec.ttlSecondsAfterFinished, `${path}.ttlSecondsAfterFinished`));
  errs.push(...enumError(`${path}.completionMode`, spec.completionMode, ['NonIndexed', 'Indexed']));
  if (spec.completionMode === 'Indexed') {
    if (spec.completions == null) errs.push(requiredWith(`${path}.completions`, 'when completion mode is Indexed'));
    if (spec.parallelism > 100000) errs.push(field.invalid(`${path}.parallelism`, spec.parallelism, 'must be less than or equal to 100000 when completion mode is Indexed'));
  }
  if (spec.backoffLimitPerIndex != null && spec.completionMode !== 'Indexed') {
    errs.push(field.forbidden(`${path}.backoffLimitPerIndex`, 'requires indexed completion mode'));
  }
  errs.push(...enumError(`${path}.podReplacementPolicy`, spec.podReplacementPolicy, ['TerminatingOrFailed', 'Failed']));
  if (spec.podFailurePolicy && spec.podReplacementPolicy && spec.podReplacementPolicy !== 'Failed') {
    errs.push(field.notSupported(`${path}.podReplacementPolicy`, spec.podReplacementPolicy, ['Failed']));
  }
  if (spec.selector) errs.push(...validateLabelSelector(spec.selector, `${path}.selector`));
  else if (requireSelector) errs.push(field.required(`${path}.selector`));
  const tpl = spec.template;
  if (!tpl) errs.push(field.required(`${path}.template`));
  else {
    errs.push(...validatePodTemplateSpec(tpl, `${path}.template`, { restartPolicies: ['OnFailure', 'Never'] }));
    if (spec.selector && !selectorMatches(spec.selector, tpl.metadata?.labels)) {
      errs.push(field.invalid(`${path}.template.metadata.labels`, tpl.metadata?.labels ?? {}, '`selector` does not match template `labels`'));
    }
    if (spec.podFailurePolicy && tpl.spec?.restartPolicy !== 'Never') {
      errs.push(field.invalid(`${path}.template.spec.restartPolicy`, tpl.spec?.restartPolicy, 'only "Never" is supported when podFailurePolicy is specified'));
    }
  }
  return errs;
}

export const jobs: KindDefinition = {
  ...batch, kind: 'Job', resource: 'jobs', namespaced: true, categories: ['all'], statusSubresource: true,
  fieldSelectors: { 'status.successful': (o) => String(o.status?.succeeded ?? 0) },
  defaults(obj) {
    const spec = ensure(obj, 'spec');
    defaultJobSpec(spec);
    const labels = spec.template?.metadata?.labels;
    obj.metadata ??= {};
    if (labels && Object.keys(labels).length && (!obj.metadata.labels || Object.keys(obj.metadata.labels).length === 0)) {
      obj.metadata.labels = clone(labels);
    }
  },
  prepareForCreate(obj) {
    obj.status = {};
    initGeneration(obj);
    generateJobSelector(obj);
    // upstream's defaulting copies template labels to an unlabeled Job when it is read back
    const labels = obj.spec?.template?.metadata?.labels;
    if (labels && (!obj.metadata!.labels || Object.keys(obj.metadata!.labels).length === 0)) obj.metadata!.labels = clone(labels);
  },
  prepareForUpdate(obj, old) { bumpGeneration(obj, old); },
  validate(obj, old) {
    const spec = obj.spec ?? {};
    const errs = validateJobSpec(spec, 'spec', true);
    if (old) {
      const os = old.spec ?? {};
      errs.push(...immutable(spec.selector, os.selector, 'spec.selector'));
      errs.push(...immutable(spec.completionMode, os.completionMode, 'spec.completionMode'));
      errs.push(...immutable(spec.podFailurePolicy, os.podFailurePolicy, 'spec.podFailurePolicy'));
      // elastic indexed jobs may change completions together with parallelism
      const elastic = spec.completionMode === 'Indexed' && spec.completions === spec.parallelism;
      if (!elastic) errs.push(...immutable(spec.completions, os.completions, 'spec.completions'));
      // a suspended job that never started may change scheduling directives of its template
      const suspendedNeverStarted = os.suspend === true && !old.status?.startTime;
      if (!suspendedNeverStarted) errs.push(...immutable(spec.template, os.template, 'spec.template'));
      else {
        const strip = (t: any) => {
          const c = clone(t ?? {});
          delete c.metadata?.labels; delete c.metadata?.annotations;
          if (c.spec) { delete c.spec.nodeSelector; delete c.spec.affinity; delete c.spec.tolerations; delete c.spec.schedulingGates; }
          return c;
        };
        if (!deepEqual(strip(spec.template), strip(os.template))) errs.push(field.invalid('spec.template', spec.template, 'field is immutable'));
      }
    }
    return errs;
  },
};

// ------------------------------------------------------------- cron syntax

const macros = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];
const cronFields: { name: string; min: number; max: number; names?: string[] }[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] },
  { name: 'day of week', min: 0, max: 6, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
];

function cronValue(s: string, f: (typeof cronFields)[number]): number {
  const idx = f.names?.indexOf(s.toLowerCase()) ?? -1;
  if (idx >= 0) return idx + f.min;
  if (!/^\d+$/.test(s)) throw new Error(`failed to parse int from ${s}: strconv.Atoi: parsing "${s}": invalid syntax`);
  return Number(s);
}

/** Returns an error message (robfig/cron style) or undefined when the schedule parses. */
export function cronScheduleError(schedule: string): string | undefined {
  const s = schedule.trim();
  if (/^(CRON_)?TZ=/.test(s)) return undefined; // reported separately
  if (s.startsWith('@')) {
    if (macros.includes(s)) return undefined;
    const every = /^@every\s+(.+)$/.exec(s);
    if (every) return /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(every[1]) ? undefined : `failed to parse duration ${s}: time: invalid duration "${every[1]}"`;
    return `unrecognized descriptor: ${s}`;
  }
  const parts = s.split(/\s+/).filter(Boolean);
  if (parts.length !== 5) return `expected exactly 5 fields, found ${parts.length}: [${parts.join(' ')}]`;
  try {
    parts.forEach((p, i) => {
      const f = cronFields[i];
      for (const range of p.split(',')) {
        const [r, step] = range.split('/');
        if (step !== undefined && (!/^\d+$/.test(step) || Number(step) === 0)) throw new Error(`failed to parse int from ${step}: strconv.Atoi: parsing "${step}": invalid syntax`);
        if (r === '*' || r === '?') continue;
        const [lo, hi] = r.split('-');
        const a = cronValue(lo, f);
        const b = hi !== undefined ? cronValue(hi, f) : a;
        const max = i === 4 ? 7 : f.max; // 7 is Sunday too
        if (a < f.min) throw new Error(`beginning of range (${a}) below minimum (${f.min}): ${r}`);
        if (b > max) throw new Error(`end of range (${b}) above maximum (${max}): ${r}`);
        if (a > b) throw new Error(`beginning of range (${a}) beyond end of range (${b}): ${r}`);
      }
    });
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}

function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- CronJob

export const cronjobs: KindDefinition = {
  ...batch, kind: 'CronJob', resource: 'cronjobs', namespaced: true, shortNames: ['cj'], categories: ['all'], statusSubresource: true,
  defaults(obj) {
    const spec = ensure(obj, 'spec');
    spec.concurrencyPolicy ||= 'Allow';
    spec.suspend ??= false;
    spec.successfulJobsHistoryLimit ??= 3;
    spec.failedJobsHistoryLimit ??= 1;
    const tpl = spec.jobTemplate?.spec?.template;
    if (tpl) defaultPodTemplate(tpl);
  },
  prepareForCreate(obj) { obj.status = {}; initGeneration(obj); },
  prepareForUpdate(obj, old) { bumpGeneration(obj, old); },
  validate(obj) {
    const errs: Errs = [];
    const spec = obj.spec ?? {};
    const name = obj.metadata?.name ?? '';
    // the controller appends an 11-character suffix to job names
    if (name.length > 52) errs.push(field.invalid('metadata.name', name, 'must be no more than 52 characters'));
    if (!spec.schedule) errs.push(field.required('spec.schedule'));
    else {
      if (/(^|\s)(CRON_)?TZ=/.test(spec.schedule)) {
        errs.push(field.invalid('spec.schedule', spec.schedule, 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead'));
      } else {
        const err = cronScheduleError(spec.schedule);
        if (err) errs.push(field.invalid('spec.schedule', spec.schedule, err));
      }
    }
    if (spec.timeZone != null) {
      if (spec.timeZone === '' || /\s/.test(spec.timeZone) || !isValidTimeZone(spec.timeZone)) {
        errs.push(field.invalid('spec.timeZone', spec.timeZone, `unknown time zone ${spec.timeZone}`));
      }
    }
    errs.push(...validateNonnegative(spec.startingDeadlineSeconds, 'spec.startingDeadlineSeconds'));
    errs.push(...enumError('spec.concurrencyPolicy', spec.concurrencyPolicy, ['Allow', 'Forbid', 'Replace'], true));
    errs.push(...validateNonnegative(spec.successfulJobsHistoryLimit, 'spec.successfulJobsHistoryLimit'));
    errs.push(...validateNonnegative(spec.failedJobsHistoryLimit, 'spec.failedJobsHistoryLimit'));
    if (!spec.jobTemplate) errs.push(field.required('spec.jobTemplate'));
    else {
      if (spec.jobTemplate.spec?.manualSelector) errs.push(field.notSupported('spec.jobTemplate.spec.manualSelector', true, ['nil', 'false']));
      errs.push(...validateJobSpec(spec.jobTemplate.spec ?? {}, 'spec.jobTemplate.spec', false));
    }
    return errs;
  },
};

export const batchKinds: KindDefinition[] = [jobs, cronjobs];
