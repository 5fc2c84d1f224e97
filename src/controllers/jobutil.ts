// Pure helpers of the Job controller: index sets ("1,3-5,7"), pod classification,
// pod failure policy matching and the failure back-off. No I/O, unit tested.
import type { KubeObject } from '../api/kind.js';

export const trackingFinalizer = 'batch.kubernetes.io/job-tracking';
export const completionIndexAnnotation = 'batch.kubernetes.io/job-completion-index';
export const indexFailureCountAnnotation = 'batch.kubernetes.io/job-index-failure-count';
export const indexIgnoredFailureCountAnnotation = 'batch.kubernetes.io/job-index-ignored-failure-count';
export const jobControllerName = 'kubernetes.io/job-controller';

/** Parse "1,3-5,7" into a sorted set of indexes below `limit`. */
export function parseIndexes(s: string | undefined, limit = Infinity): Set<number> {
  const out = new Set<number>();
  if (!s) return out;
  for (const part of s.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) continue;
    const a = Number(m[1]);
    const b = m[2] !== undefined ? Number(m[2]) : a;
    for (let i = a; i <= b && i < limit; i++) out.add(i);
  }
  return out;
}

/** Format indexes: increasing, runs of three or more compressed as "a-b". */
export function formatIndexes(set: Iterable<number>): string {
  const xs = [...new Set(set)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < xs.length; ) {
    let j = i;
    while (j + 1 < xs.length && xs[j + 1] === xs[j] + 1) j++;
    if (j - i >= 2) parts.push(`${xs[i]}-${xs[j]}`);
    else for (let k = i; k <= j; k++) parts.push(String(xs[k]));
    i = j + 1;
  }
  return parts.join(',');
}

export function podIndex(pod: KubeObject): number | undefined {
  const v = pod.metadata?.annotations?.[completionIndexAnnotation] ?? pod.metadata?.labels?.[completionIndexAnnotation];
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  return Number(v);
}

export const isTerminal = (p: KubeObject) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
export const isTerminating = (p: KubeObject) => !!p.metadata?.deletionTimestamp && !isTerminal(p);
export const isActive = (p: KubeObject) => !p.metadata?.deletionTimestamp && !isTerminal(p);
export const isReady = (p: KubeObject) => (p.status?.conditions ?? []).some((c: KubeObject) => c.type === 'Ready' && c.status === 'True');
export const hasFinalizer = (p: KubeObject) => (p.metadata?.finalizers ?? []).includes(trackingFinalizer);

/** Replace only pods that reached phase Failed (not those merely terminating). */
export function onlyReplaceFailedPods(job: KubeObject): boolean {
  return job.spec?.podReplacementPolicy === 'Failed' || !!job.spec?.podFailurePolicy;
}

/** Whether the job counts this pod as failed. Deleted pods that never finish count too, unless only Failed pods are replaced. */
export function isPodFailed(pod: KubeObject, job: KubeObject): boolean {
  if (pod.status?.phase === 'Failed') return true;
  if (onlyReplaceFailedPods(job)) return false;
  return !!pod.metadata?.deletionTimestamp && pod.status?.phase !== 'Succeeded';
}

export interface PolicyMatch {
  action: 'FailJob' | 'FailIndex' | 'Ignore' | 'Count';
  message: string;
}

/** The first pod failure policy rule matching a failed pod (exit codes of non-zero terminated containers, or pod conditions). */
export function matchPodFailurePolicy(job: KubeObject, pod: KubeObject): PolicyMatch | undefined {
  const rules: KubeObject[] = job.spec?.podFailurePolicy?.rules ?? [];
  const ns = pod.metadata?.namespace;
  const name = pod.metadata?.name;
  const statuses: KubeObject[] = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i];
    const action = rule.action;
    if (!['FailJob', 'FailIndex', 'Ignore', 'Count'].includes(action)) continue; // unknown actions are skipped
    const ec = rule.onExitCodes;
    if (ec) {
      const values: number[] = ec.values ?? [];
      for (const cs of statuses) {
        const code = cs.state?.terminated?.exitCode;
        if (code === undefined || code === 0) continue;
        if (ec.containerName && cs.name !== ec.containerName) continue;
        const inSet = values.includes(code);
        if ((ec.operator === 'In' && inSet) || (ec.operator === 'NotIn' && !inSet)) {
          return { action, message: `Container ${cs.name} for pod ${ns}/${name} failed with exit code ${code} matching ${action} rule at index ${i}` };
        }
      }
    }
    for (const pat of rule.onPodConditions ?? []) {
      const want = pat.status ?? 'True';
      if ((pod.status?.conditions ?? []).some((c: KubeObject) => c.type === pat.type && c.status === want)) {
        return { action, message: `Pod ${ns}/${name} has condition ${pat.type} matching ${action} rule at index ${i}` };
      }
    }
  }
  return undefined;
}

export const defaultBackoffMs = 10_000;
export const maxBackoffMs = 360_000;

/** Remaining back-off before a replacement pod may be created: 10s, 20s, 40s, … capped at 6 minutes after the last failure. */
export function remainingBackoff(failures: number, lastFailureMs: number, nowMs: number, base = defaultBackoffMs, max = maxBackoffMs): number {
  if (failures <= 0) return 0;
  const delay = Math.min(base * 2 ** Math.min(failures - 1, 30), max);
  return Math.max(0, lastFailureMs + delay - nowMs);
}

/** When a pod finished, from its containers' termination times (else undefined). */
export function podFinishTime(pod: KubeObject): number | undefined {
  let t: number | undefined;
  for (const cs of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const f = cs.state?.terminated?.finishedAt;
    if (f) {
      const ms = Date.parse(f);
      if (!Number.isNaN(ms) && (t === undefined || ms > t)) t = ms;
    }
  }
  return t;
}

export function getCondition(obj: KubeObject, type: string): KubeObject | undefined {
  return (obj.status?.conditions ?? []).find((c: KubeObject) => c.type === type);
}

export function conditionTrue(obj: KubeObject, type: string): boolean {
  return getCondition(obj, type)?.status === 'True';
}

/** A Job is finished once it has a Complete or Failed condition that is True. */
export function isJobFinished(job: KubeObject): 'Complete' | 'Failed' | undefined {
  if (conditionTrue(job, 'Complete')) return 'Complete';
  if (conditionTrue(job, 'Failed')) return 'Failed';
  return undefined;
}

/** When a finished Job finished: its completion time, else the Complete/Failed condition's transition time. */
export function jobFinishTime(job: KubeObject): number | undefined {
  const kind = isJobFinished(job);
  if (!kind) return undefined;
  const t = (kind === 'Complete' && job.status?.completionTime) || getCondition(job, kind)?.lastTransitionTime;
  const ms = t ? Date.parse(t) : NaN;
  return Number.isNaN(ms) ? undefined : ms;
}

export const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
