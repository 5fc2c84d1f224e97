// Pod status from what the runtime reports: container states (with the
// waiting reasons the pod worker decided, e.g. CrashLoopBackOff), restart
// counts, phase, conditions, IPs. Pure functions over a snapshot, so the
// worker can compare the result with the stored status and write only changes.
import { statSync, openSync, readSync, closeSync } from 'node:fs';
import type { Container, ContainerStatus as ApiContainerStatus, Pod, PodCondition, PodStatus } from 'kubernetes-types/core/v1.js';
import type { ContainerStatus as CriContainerStatus } from './cri/types.js';
import { nanosToDate } from './cri/client.js';

// labels and annotations upstream's kubelet puts on sandboxes and containers
export const LABEL_POD_UID = 'io.kubernetes.pod.uid';
export const LABEL_POD_NAME = 'io.kubernetes.pod.name';
export const LABEL_POD_NAMESPACE = 'io.kubernetes.pod.namespace';
export const LABEL_CONTAINER_NAME = 'io.kubernetes.container.name';
export const ANN_RESTART_COUNT = 'io.kubernetes.container.restartCount';
export const ANN_TERMINATION_MESSAGE_PATH = 'io.kubernetes.container.terminationMessagePath';
export const ANN_TERMINATION_MESSAGE_POLICY = 'io.kubernetes.container.terminationMessagePolicy';
export const ANN_GRACE = 'io.kubernetes.pod.terminationGracePeriod';
export const ANN_INIT = 'k8ts.io/init-container';

/** Exponential back-off per key (upstream's flowcontrol.Backoff): the first
 *  failure sets `initial`, each next one doubles up to `max`; an entry idle for
 *  2×max starts over. */
export class Backoff {
  private readonly entries = new Map<string, { delay: number; at: number }>();
  constructor(readonly initialMs: number, readonly maxMs: number) {}

  next(key: string, at = Date.now()): number {
    const e = this.entries.get(key);
    const delay = !e || at - e.at > 2 * this.maxMs ? this.initialMs : Math.min(e.delay * 2, this.maxMs);
    this.entries.set(key, { delay, at });
    return delay;
  }
  /** Whether `since` (e.g. the container's finish time) is less than one back-off ago. */
  inBackoff(key: string, since?: number, now = Date.now()): boolean {
    return this.remaining(key, since, now) > 0;
  }
  /** ms until the back-off started at `since` (default: the last failure) ends. */
  remaining(key: string, since?: number, now = Date.now()): number {
    const e = this.entries.get(key);
    if (!e || now - e.at > 2 * this.maxMs) return 0;
    return Math.max(0, (since ?? e.at) + e.delay - now);
  }
  reset(key: string): void {
    this.entries.delete(key);
  }
  forgetPrefix(prefix: string): void {
    for (const k of this.entries.keys()) if (k.startsWith(prefix)) this.entries.delete(k);
  }
}

/** One container as the runtime knows it. */
export interface ContainerRecord {
  id: string;
  name: string;
  restartCount: number;
  init: boolean;
  status: CriContainerStatus;
}

export interface SandboxRecord {
  id: string;
  ready: boolean;
  ip: string;
  ips: string[];
  createdAt: number;
}

export interface RuntimePod {
  sandbox?: SandboxRecord;
  /** every container of the pod, newest first */
  containers: ContainerRecord[];
}

export interface Waiting {
  reason: string;
  message?: string;
}

export interface StatusInputs {
  hostIP: string;
  /** reasons the worker recorded for containers that are not running */
  waiting: Map<string, Waiting>;
  /** readiness of a running container (probes); default: running means ready */
  ready?(name: string, containerId: string): boolean;
  /** whether the startup probe passed; default true */
  started?(name: string, containerId: string): boolean;
  now?: number;
}

export const isoSeconds = (ms: number): string => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
const ts = (ns: string): string | undefined => {
  const d = nanosToDate(ns);
  return d ? isoSeconds(d.getTime()) : undefined;
};

/** The newest and the one before it, per container name. */
export function latestByName(rt: RuntimePod): Map<string, { latest: ContainerRecord; previous?: ContainerRecord }> {
  const out = new Map<string, { latest: ContainerRecord; previous?: ContainerRecord }>();
  for (const c of rt.containers) {
    const e = out.get(c.name);
    if (!e) out.set(c.name, { latest: c });
    else if (!e.previous) e.previous = c;
  }
  return out;
}

/** Newest first: by restart count, then creation time. */
export function sortNewestFirst(list: ContainerRecord[]): ContainerRecord[] {
  return list.sort((a, b) => b.restartCount - a.restartCount || Number(BigInt(b.status.createdAt) - BigInt(a.status.createdAt)));
}

const MAX_MESSAGE = 4096;
const FALLBACK_LINES = 80;
const FALLBACK_BYTES = 2048;

function readTail(path: string, max: number): string {
  const fd = openSync(path, 'r');
  try {
    const size = statSync(path).size;
    const len = Math.min(size, max);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    return buf.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** The last lines of a CRI-format log (`<time> <stream> <P|F> <text>`), joined back into text. */
export function logTail(path: string, lines = FALLBACK_LINES, maxBytes = FALLBACK_BYTES): string {
  let raw: string;
  try {
    raw = readTail(path, 64 * 1024);
  } catch {
    return '';
  }
  let text = '';
  for (const l of raw.split('\n')) {
    const m = /^\S+ (?:stdout|stderr) ([PF]) (.*)$/.exec(l);
    if (!m) continue;
    text += m[2] + (m[1] === 'F' ? '\n' : '');
  }
  const kept = text.split('\n');
  if (kept[kept.length - 1] === '') kept.pop();
  const out = kept.slice(-lines).join('\n') + (kept.length ? '\n' : '');
  return Buffer.byteLength(out) > maxBytes ? Buffer.from(out).subarray(-maxBytes).toString('utf8') : out;
}

/** What the container wrote to its terminationMessagePath (bind-mounted from
 *  the host), or its log tail under FallbackToLogsOnError when it failed. */
export function terminationMessage(c: ContainerRecord): string {
  const path = c.status.annotations?.[ANN_TERMINATION_MESSAGE_PATH];
  let msg = '';
  const mount = path ? c.status.mounts?.find((m) => m.containerPath === path) : undefined;
  if (mount?.hostPath) {
    try {
      msg = readTail(mount.hostPath, MAX_MESSAGE);
    } catch {
      msg = '';
    }
  }
  if (!msg && c.status.annotations?.[ANN_TERMINATION_MESSAGE_POLICY] === 'FallbackToLogsOnError' && c.status.exitCode !== 0 && c.status.logPath) {
    msg = logTail(c.status.logPath);
  }
  return msg;
}

function terminatedState(c: ContainerRecord): NonNullable<ApiContainerStatus['state']>['terminated'] {
  const s = c.status;
  const message = terminationMessage(c) || s.message || undefined;
  return {
    exitCode: s.exitCode,
    reason: s.reason || (s.exitCode === 0 ? 'Completed' : 'Error'),
    ...(message ? { message } : {}),
    startedAt: ts(s.startedAt),
    finishedAt: ts(s.finishedAt),
    containerID: `containerd://${c.id}`,
  };
}

/** Whether a pod-level restart policy restarts a container that exited with code. */
export function shouldRestart(policy: string | undefined, exitCode: number): boolean {
  if (policy === 'Never') return false;
  if (policy === 'OnFailure') return exitCode !== 0;
  return true;
}

function containerStatus(spec: Container, e: { latest: ContainerRecord; previous?: ContainerRecord } | undefined, inp: StatusInputs, isInit: boolean): ApiContainerStatus {
  const waiting = inp.waiting.get(spec.name);
  const base = { name: spec.name, image: spec.image ?? '', imageID: '', ready: false, started: false, restartCount: 0 } as ApiContainerStatus;
  if (!e) {
    return { ...base, state: { waiting: { reason: waiting?.reason ?? (isInit ? 'PodInitializing' : 'ContainerCreating'), ...(waiting?.message ? { message: waiting.message } : {}) } }, lastState: {} };
  }
  const c = e.latest;
  const s = c.status;
  const out: ApiContainerStatus = { ...base, imageID: s.imageRef, containerID: `containerd://${c.id}`, restartCount: c.restartCount, lastState: {} };
  if (s.state === 'CONTAINER_RUNNING') {
    out.state = { running: { startedAt: ts(s.startedAt) } };
    out.started = inp.started ? inp.started(spec.name, c.id) : true;
    out.ready = out.started && (inp.ready ? inp.ready(spec.name, c.id) : true);
    if (e.previous && e.previous.status.state === 'CONTAINER_EXITED') out.lastState = { terminated: terminatedState(e.previous) };
  } else if (s.state === 'CONTAINER_EXITED') {
    if (waiting) {
      // exited and due for a restart: waiting (e.g. CrashLoopBackOff), the exit as lastState
      out.state = { waiting: { reason: waiting.reason, ...(waiting.message ? { message: waiting.message } : {}) } };
      out.lastState = { terminated: terminatedState(c) };
    } else {
      out.state = { terminated: terminatedState(c) };
      if (e.previous && e.previous.status.state === 'CONTAINER_EXITED') out.lastState = { terminated: terminatedState(e.previous) };
    }
  } else {
    out.state = { waiting: { reason: waiting?.reason ?? 'ContainerCreating', ...(waiting?.message ? { message: waiting.message } : {}) } };
    if (e.previous && e.previous.status.state === 'CONTAINER_EXITED') out.lastState = { terminated: terminatedState(e.previous) };
  }
  return out;
}

export const isSidecar = (c: Container): boolean => (c as { restartPolicy?: string }).restartPolicy === 'Always';

/** Phase from container states (upstream's rules, simplified to what we track). */
export function podPhase(pod: Pod, init: ApiContainerStatus[], main: ApiContainerStatus[]): PodStatus['phase'] {
  const policy = pod.spec?.restartPolicy ?? 'Always';
  const specInit = pod.spec?.initContainers ?? [];
  for (let i = 0; i < specInit.length; i++) {
    const sc = specInit[i]!;
    const st = init[i];
    if (isSidecar(sc)) continue;
    const term = st?.state?.terminated ?? (st?.state?.waiting ? st.lastState?.terminated : undefined);
    if (st?.state?.terminated?.exitCode === 0) continue;
    if (term && term.exitCode !== 0 && policy === 'Never') return 'Failed';
    return 'Pending';
  }
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const st of main) {
    if (st.state?.running) running++;
    else if (st.state?.terminated) {
      stopped++;
      if (st.state.terminated.exitCode === 0) succeeded++;
    } else if (st.state?.waiting) {
      const last = st.lastState?.terminated;
      if (last) {
        stopped++;
        if (last.exitCode === 0) succeeded++;
      } else waiting++;
    }
  }
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped > 0) {
    if (policy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (policy === 'OnFailure') return 'Running';
    return 'Failed';
  }
  return 'Pending';
}

function condition(old: PodCondition[] | undefined, type: string, ok: boolean, now: number, reason?: string, message?: string): PodCondition {
  const status = ok ? 'True' : 'False';
  const prev = old?.find((c) => c.type === type);
  const c: PodCondition = { type, status, lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : isoSeconds(now) };
  if (!ok && reason) c.reason = reason;
  if (!ok && message) c.message = message;
  return c;
}

/** The pod status to store for this runtime snapshot. */
export function buildPodStatus(pod: Pod, rt: RuntimePod, inp: StatusInputs): PodStatus {
  const now = inp.now ?? Date.now();
  const old = pod.status ?? {};
  const byName = latestByName(rt);
  const specInit = pod.spec?.initContainers ?? [];
  const initStatuses = specInit.map((c) => containerStatus(c, byName.get(c.name), inp, true));
  const mainStatuses = (pod.spec?.containers ?? []).map((c) => containerStatus(c, byName.get(c.name), inp, false));
  // a regular init container has no "started" and is ready once it completed
  for (let i = 0; i < specInit.length; i++) {
    const st = initStatuses[i]!;
    if (!isSidecar(specInit[i]!)) {
      st.started = !!st.state?.running;
      st.ready = st.state?.terminated?.exitCode === 0;
    }
  }
  let phase = podPhase(pod, initStatuses, mainStatuses);
  if (old.phase === 'Succeeded' || old.phase === 'Failed') phase = old.phase;
  const terminal = phase === 'Succeeded' || phase === 'Failed';

  const incompleteInit = specInit.filter((c, i) => (isSidecar(c) ? !initStatuses[i]!.started : initStatuses[i]!.state?.terminated?.exitCode !== 0)).map((c) => c.name);
  const initialized = incompleteInit.length === 0;
  const unready = [...mainStatuses.filter((s) => !s.ready).map((s) => s.name), ...specInit.filter((c, i) => isSidecar(c) && !initStatuses[i]!.ready).map((c) => c.name)];
  const containersReady = unready.length === 0 && !terminal;
  const gates = (pod.spec?.readinessGates ?? []).map((g) => g.conditionType);
  const gateMissing = gates.find((t) => old.conditions?.find((c) => c.type === t)?.status !== 'True');
  const unreadyMsg = `containers with unready status: [${unready.join(' ')}]`;
  const notReadyReason = terminal ? 'PodCompleted' : 'ContainersNotReady';

  const conds: PodCondition[] = [
    condition(old.conditions, 'PodReadyToStartContainers', !!rt.sandbox?.ready && !terminal, now),
    condition(old.conditions, 'Initialized', initialized || terminal, now, 'ContainersNotInitialized', `containers with incomplete status: [${incompleteInit.join(' ')}]`),
    condition(old.conditions, 'ContainersReady', containersReady, now, notReadyReason, terminal ? undefined : unreadyMsg),
    containersReady && gateMissing
      ? condition(old.conditions, 'Ready', false, now, 'ReadinessGatesNotReady', `corresponding condition of pod readiness gate "${gateMissing}" does not exist.`)
      : condition(old.conditions, 'Ready', containersReady, now, notReadyReason, terminal ? undefined : unreadyMsg),
    condition(old.conditions, 'PodScheduled', true, now),
  ];
  // conditions owned by others (readiness gates, DisruptionTarget, …) stay
  for (const c of old.conditions ?? []) if (!conds.some((w) => w.type === c.type)) conds.push(c);

  const podIP = pod.spec?.hostNetwork ? inp.hostIP : (rt.sandbox?.ip || old.podIP);
  const podIPs = pod.spec?.hostNetwork ? [inp.hostIP] : rt.sandbox?.ip ? [rt.sandbox.ip, ...rt.sandbox.ips] : (old.podIPs ?? []).map((p) => p.ip);
  const st: PodStatus = {
    phase,
    conditions: conds,
    hostIP: inp.hostIP,
    hostIPs: [{ ip: inp.hostIP }],
    ...(podIP ? { podIP, podIPs: podIPs.map((ip) => ({ ip })) } : {}),
    startTime: old.startTime ?? isoSeconds(now),
    containerStatuses: mainStatuses,
    ...(initStatuses.length ? { initContainerStatuses: initStatuses } : {}),
    ...(old.qosClass ? { qosClass: old.qosClass } : {}),
    ...(old.nominatedNodeName ? { nominatedNodeName: old.nominatedNodeName } : {}),
  };
  return st;
}

/** Whether two statuses differ in anything but volatile timestamps. */
export function statusChanged(a: PodStatus | undefined, b: PodStatus): boolean {
  return JSON.stringify(normalize(a ?? {})) !== JSON.stringify(normalize(b));
}

function normalize(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalize);
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x === undefined || x === null) continue;
      o[k] = normalize(x);
    }
    return o;
  }
  return v;
}

