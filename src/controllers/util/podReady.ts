// Pod readiness and availability as the workload controllers judge them
// (upstream's podutil.IsPodReady / IsPodAvailable / FilterActivePods).
import type { KubeObject } from '../../api/kind.js';

/** The pod's Ready condition, if any. */
export function readyCondition(pod: KubeObject): KubeObject | undefined {
  return (pod.status?.conditions ?? []).find((c: KubeObject) => c.type === 'Ready');
}

/** Ready means the Ready condition is True. */
export function isPodReady(pod: KubeObject): boolean {
  return readyCondition(pod)?.status === 'True';
}

/**
 * Available = ready for at least minReadySeconds (measured from the Ready
 * condition's lastTransitionTime). With minReadySeconds 0, ready is available.
 */
export function isPodAvailable(pod: KubeObject, minReadySeconds: number, now = Date.now()): boolean {
  const c = readyCondition(pod);
  if (c?.status !== 'True') return false;
  if (!minReadySeconds) return true;
  const since = Date.parse(c.lastTransitionTime ?? '');
  return Number.isFinite(since) && since + minReadySeconds * 1000 <= now;
}

/** Milliseconds until a ready pod becomes available (0 if it is, undefined if not ready). */
export function msUntilAvailable(pod: KubeObject, minReadySeconds: number, now = Date.now()): number | undefined {
  const c = readyCondition(pod);
  if (c?.status !== 'True') return undefined;
  const since = Date.parse(c.lastTransitionTime ?? '');
  if (!minReadySeconds || !Number.isFinite(since)) return 0;
  return Math.max(0, since + minReadySeconds * 1000 - now);
}

/**
 * [available now, ms until it will be] for a pod that stays Ready, so callers can
 * requeue instead of polling. A Ready pod without a readable transition time counts
 * as available.
 */
export function availability(pod: KubeObject, minReadySeconds: number, now = Date.now()): [boolean, number] {
  const left = msUntilAvailable(pod, minReadySeconds, now);
  return left === undefined ? [false, 0] : [left === 0, left];
}

export function isTerminating(pod: KubeObject): boolean {
  return !!pod.metadata?.deletionTimestamp;
}

export function isRunningAndReady(pod: KubeObject): boolean {
  return pod.status?.phase === 'Running' && isPodReady(pod);
}

/** Succeeded or Failed: its containers will not run again. */
export function isFinished(pod: KubeObject): boolean {
  return pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded';
}

/** Active pods: not being deleted and not finished (Succeeded/Failed). */
export function isPodActive(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return !pod.metadata?.deletionTimestamp && phase !== 'Succeeded' && phase !== 'Failed';
}

/** Total container restarts of a pod (used to rank pods for deletion). */
export function podRestarts(pod: KubeObject): number {
  let n = 0;
  for (const s of pod.status?.containerStatuses ?? []) n += s.restartCount ?? 0;
  return n;
}

/** RFC 3339 without fractional seconds, as the API server's timestamps look. */
export function nowTime(ms = Date.now()): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}
