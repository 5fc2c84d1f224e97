// Runs the pods bound to simulated nodes without containers. One shared pod
// informer (bound pods only, indexed by node) feeds a keyed work queue; a
// bounded pool of workers writes pod status only when it changes:
//   bound → (readyDelay) → Running + Ready, with a podIP from the node's podCIDR;
//   run-seconds elapsed → Succeeded/Failed (Never/OnFailure) or a restart;
//   deletionTimestamp → deletion confirmed after min(grace, 1s).
// Pods on a node whose heartbeats are stopped are left alone (a dead kubelet).
import type { Logger } from 'pino';
import { cidrContainsV4 } from '../api/cidr.js';
import type { KubeObject } from '../api/kind.js';
import { type ApiClient, isConflict, isNotFound } from '../client/api.js';
import { runWorkers } from '../client/controller.js';
import { Informer, keyOf } from '../client/informer.js';
import { ResourceClient } from '../client/resource.js';
import { ref } from '../client/resources.js';
import { WorkQueue } from '../client/workqueue.js';
import { type SimNode } from './node.js';
import { PodIpam } from './ipam.js';
import { deepEqual, isoSeconds } from './util.js';

export const runSecondsAnnotation = 'simulator.k8ts.io/run-seconds';
export const exitCodeAnnotation = 'simulator.k8ts.io/exit-code';

export interface PodRunnerOptions {
  /** [min, max] ms between binding and Running/Ready */
  readyDelayMs: [number, number];
  /** run time for Never/OnFailure pods without the run-seconds annotation */
  runSecondsDefault: number;
  /** first restart back-off (doubles, capped at 5 minutes; upstream starts at 10s) */
  restartBackoffMs: number;
  workers: number;
}

const maxBackoffMs = 300_000;

export class PodRunner {
  readonly informer: Informer;
  readonly queue = new WorkQueue(20, 5000);
  private readonly ipam = new PodIpam();
  /** when the pod was first seen bound (for the ready delay) */
  private readonly seen = new Map<string, number>();
  /** when the pod was first seen terminating */
  private readonly deleting = new Map<string, number>();
  /** precise container start times we wrote (status keeps whole seconds) */
  private readonly started = new Map<string, number>();
  private stopWorkers?: () => void;

  constructor(
    private readonly api: ApiClient,
    private readonly log: Logger,
    private readonly nodes: Map<string, SimNode>,
    private readonly nodeInformer: Informer,
    private readonly o: PodRunnerOptions,
  ) {
    this.informer = new Informer(new ResourceClient(api, ref('', 'pods')), { fieldSelector: 'spec.nodeName!=' });
    this.informer.addIndexer('node', (p) => [p.spec?.nodeName ?? '']);
    this.informer.addEventHandler({
      onAdd: (p) => this.observe(p),
      onUpdate: (_o, p) => this.observe(p),
      onDelete: (p) => {
        const uid = p.metadata?.uid ?? '';
        this.forgetUid(uid);
        this.queue.add(keyOf(p));
      },
    });
  }

  private forgetUid(uid: string): void {
    this.ipam.release(uid);
    this.seen.delete(uid);
    this.deleting.delete(uid);
    this.started.delete(uid);
  }

  private observe(p: KubeObject): void {
    const sim = this.nodes.get(p.spec?.nodeName ?? '');
    if (!sim) return;
    // addresses already handed out (e.g. before a restart) stay taken
    const ip = p.status?.podIP;
    if (ip && !p.spec?.hostNetwork && !isTerminal(p)) this.ipam.reserve(p.metadata!.uid!, this.cidrFor(sim, ip), ip);
    this.queue.add(keyOf(p));
  }

  private cidrFor(sim: SimNode, ip?: string): string {
    const assigned = this.nodeInformer.get(sim.name)?.spec?.podCIDR as string | undefined;
    if (assigned && (!ip || cidrContainsV4(assigned, ip))) return assigned;
    return sim.fallbackCidr;
  }

  async start(): Promise<void> {
    await this.informer.start();
    this.stopWorkers = runWorkers({ name: 'simulator-pods', queue: this.queue, reconcile: (k) => this.reconcile(k) }, this.o.workers, this.log);
  }

  stop(): void {
    this.stopWorkers?.();
    this.informer.stop();
  }

  /** Look at every pod of a node again (its heartbeats resumed). */
  resync(nodeName: string): void {
    for (const p of this.informer.byIndex('node', nodeName)) this.queue.add(keyOf(p));
  }

  async reconcile(key: string): Promise<void | number> {
    const pod = this.informer.get(key);
    if (!pod) return;
    const sim = this.nodes.get(pod.spec?.nodeName ?? '');
    if (!sim || sim.stopped) return;
    const uid: string = pod.metadata!.uid!;
    const now = Date.now();

    if (pod.metadata!.deletionTimestamp) {
      let since = this.deleting.get(uid);
      if (since === undefined) this.deleting.set(uid, (since = now));
      const wait = Math.min(pod.metadata!.deletionGracePeriodSeconds ?? 0, 1) * 1000 - (now - since);
      if (wait > 0) return wait;
      try {
        await this.api.request('DELETE', podPath(pod), {
          apiVersion: 'v1',
          kind: 'DeleteOptions',
          gracePeriodSeconds: 0,
          preconditions: { uid },
        });
      } catch (e) {
        if (!isNotFound(e) && !isConflict(e)) throw e;
      }
      this.forgetUid(uid);
      return;
    }
    if (isTerminal(pod)) {
      this.ipam.release(uid);
      return;
    }

    const status = pod.status ?? {};
    const containers: KubeObject[] = pod.spec?.containers ?? [];
    const first = status.containerStatuses?.find((c: KubeObject) => c.name === containers[0]?.name);
    const policy: string = pod.spec?.restartPolicy ?? 'Always';
    let next: KubeObject;
    let requeue: number | undefined;

    if (status.phase !== 'Running' || !first) {
      // not started yet: wait out the ready delay, then start every container
      let since = this.seen.get(uid);
      if (since === undefined) {
        const [lo, hi] = this.o.readyDelayMs;
        this.seen.set(uid, (since = now + lo + Math.floor(Math.random() * Math.max(0, hi - lo + 1))));
      }
      if (now < since) return since - now;
      const podIP = this.podIP(pod, sim);
      if (!podIP) {
        this.log.warn({ pod: key, node: sim.name }, 'pod CIDR exhausted; pod stays Pending');
        return 5000;
      }
      this.started.set(uid, now);
      next = this.status(pod, sim, podIP, { kind: 'running', startedAt: now, restartCount: 0 });
      requeue = this.runTime(pod, policy);
    } else if (first.state?.running) {
      const startedAt = this.started.get(uid) ?? Date.parse(first.state.running.startedAt);
      const run = this.runTime(pod, policy);
      const podIP = this.podIP(pod, sim)!;
      const restartCount = first.restartCount ?? 0;
      if (run === undefined || now < startedAt + run) {
        // keep it Running and Ready (e.g. after the node controller marked it not ready)
        next = this.status(pod, sim, podIP, { kind: 'running', startedAt, restartCount, lastState: first.lastState });
        requeue = run === undefined ? undefined : startedAt + run - now;
      } else {
        const code = exitCode(pod);
        const finished = { exitCode: code, reason: code === 0 ? 'Completed' : 'Error', startedAt: isoSeconds(startedAt), finishedAt: isoSeconds(now) };
        if (policy === 'Never' || (policy === 'OnFailure' && code === 0)) {
          next = this.status(pod, sim, podIP, { kind: 'terminated', restartCount, terminated: finished, phase: code === 0 ? 'Succeeded' : 'Failed' });
        } else {
          // the container exits and is restarted after a back-off (CrashLoopBackOff)
          next = this.status(pod, sim, podIP, { kind: 'waiting', restartCount: restartCount + 1, lastState: { terminated: finished } });
          requeue = this.backoff(restartCount + 1);
        }
      }
    } else if (first.state?.waiting) {
      const restartCount = first.restartCount ?? 0;
      const finishedAt = Date.parse(first.lastState?.terminated?.finishedAt ?? '') || now;
      const due = finishedAt + this.backoff(restartCount) - now;
      if (due > 0) return due;
      this.started.set(uid, now);
      next = this.status(pod, sim, this.podIP(pod, sim)!, { kind: 'running', startedAt: now, restartCount, lastState: first.lastState });
      requeue = this.runTime(pod, policy);
    } else {
      return;
    }

    if (!deepEqual(next, status)) {
      try {
        await this.api.request('PUT', podPath(pod) + '/status', { ...pod, status: next });
      } catch (e) {
        if (isNotFound(e)) return;
        if (isConflict(e)) return 100; // our cache is behind: look again when it caught up
        throw e;
      }
      if (next.phase === 'Succeeded' || next.phase === 'Failed') this.ipam.release(uid);
    }
    return requeue;
  }

  private podIP(pod: KubeObject, sim: SimNode): string | undefined {
    if (pod.spec?.hostNetwork) return sim.internalIP;
    if (pod.status?.podIP) return pod.status.podIP;
    return this.ipam.allocate(pod.metadata!.uid!, this.cidrFor(sim));
  }

  /** ms the containers run before exiting, or undefined for "forever" */
  private runTime(pod: KubeObject, policy: string): number | undefined {
    const a = pod.metadata?.annotations?.[runSecondsAnnotation];
    const n = a === undefined ? NaN : Number(a);
    if (Number.isFinite(n) && n >= 0) return n * 1000;
    return policy === 'Always' ? undefined : this.o.runSecondsDefault * 1000;
  }

  private backoff(restarts: number): number {
    return Math.min(this.o.restartBackoffMs * 2 ** Math.max(0, restarts - 1), maxBackoffMs);
  }

  private status(pod: KubeObject, sim: SimNode, podIP: string, s: ContainerState): KubeObject {
    const old = pod.status ?? {};
    const now = isoSeconds();
    const uid = pod.metadata!.uid!;
    const running = s.kind === 'running';
    const terminal = s.kind === 'terminated';
    const containerStatuses = (pod.spec?.containers ?? []).map((c: KubeObject) => {
      const image = c.image ?? '';
      const cs: KubeObject = {
        name: c.name,
        image,
        imageID: `sim://${image}`,
        containerID: `sim://${uid}-${c.name}`,
        ready: running,
        started: running,
        restartCount: s.restartCount,
        state: running
          ? { running: { startedAt: isoSeconds(s.startedAt) } }
          : terminal
            ? { terminated: { ...s.terminated, containerID: `sim://${uid}-${c.name}` } }
            : { waiting: { reason: 'CrashLoopBackOff', message: `back-off restarting failed container ${c.name} in pod ${pod.metadata!.name}` } },
        lastState: s.kind === "terminated" ? {} : (s.lastState ?? {}),
      };
      
      return cs;
    });
    const initContainerStatuses = (pod.spec?.initContainers ?? []).map((c: KubeObject) => {
      const image = c.image ?? '';
      const sidecar = c.restartPolicy === 'Always';
      const startedAt = old.startTime ?? now;
      return {
        name: c.name,
        image,
        imageID: `sim://${image}`,
        containerID: `sim://${uid}-${c.name}`,
        ready: sidecar ? !terminal : true,
        started: sidecar ? !terminal : false,
        restartCount: 0,
        state:
          sidecar && !terminal
            ? { running: { startedAt } }
            : { terminated: { exitCode: 0, reason: 'Completed', startedAt, finishedAt: startedAt, containerID: `sim://${uid}-${c.name}` } },
        lastState: {},
      };
    });
    const containersReady = running;
    const gates: string[] = (pod.spec?.readinessGates ?? []).map((g: KubeObject) => g.conditionType);
    const gatesOk = gates.every((t) => old.conditions?.find((c: KubeObject) => c.type === t)?.status === 'True');
    const notReadyReason = terminal ? 'PodCompleted' : 'ContainersNotReady';
    const notReadyMsg = terminal ? undefined : `containers with unready status: [${(pod.spec?.containers ?? []).map((c: KubeObject) => c.name).join(' ')}]`;
    const want: KubeObject[] = [
      { type: 'PodReadyToStartContainers', status: terminal ? 'False' : 'True' },
      { type: 'Initialized', status: 'True' },
      containersReady ? { type: 'ContainersReady', status: 'True' } : { type: 'ContainersReady', status: 'False', reason: notReadyReason, message: notReadyMsg },
      containersReady && gatesOk
        ? { type: 'Ready', status: 'True' }
        : containersReady
          ? { type: 'Ready', status: 'False', reason: 'ReadinessGatesNotReady', message: `corresponding condition of pod readiness gate "${gates.find((t) => old.conditions?.find((c: KubeObject) => c.type === t)?.status !== 'True')}" does not exist.` }
          : { type: 'Ready', status: 'False', reason: notReadyReason, message: notReadyMsg },
      { type: 'PodScheduled', status: 'True' },
    ];
    const conditions: KubeObject[] = [];
    for (const w of want) {
      const prev = old.conditions?.find((c: KubeObject) => c.type === w.type);
      const c: KubeObject = { type: w.type, status: w.status, lastTransitionTime: prev && prev.status === w.status ? prev.lastTransitionTime : now };
      if (w.reason) c.reason = w.reason;
      if (w.message) c.message = w.message;
      conditions.push(c);
    }
    // conditions owned by others (readiness gates, DisruptionTarget, …) are kept
    for (const c of old.conditions ?? []) if (!want.some((w) => w.type === c.type)) conditions.push(c);
    const next: KubeObject = {
      ...old,
      phase: terminal ? s.phase : 'Running',
      conditions,
      hostIP: sim.internalIP,
      hostIPs: [{ ip: sim.internalIP }],
      podIP,
      podIPs: [{ ip: podIP }],
      startTime: old.startTime ?? now,
      containerStatuses,
    };
    if (initContainerStatuses.length) next.initContainerStatuses = initContainerStatuses;
    delete next.reason;
    delete next.message;
    return next;
  }
}

type ContainerState =
  | { kind: 'running'; startedAt: number; restartCount: number; lastState?: KubeObject }
  | { kind: 'waiting'; restartCount: number; lastState: KubeObject }
  | { kind: 'terminated'; restartCount: number; terminated: KubeObject; phase: 'Succeeded' | 'Failed' };

function isTerminal(p: KubeObject): boolean {
  return p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
}

function exitCode(p: KubeObject): number {
  const n = Number(p.metadata?.annotations?.[exitCodeAnnotation] ?? 0);
  return Number.isInteger(n) ? n : 1;
}

function podPath(p: KubeObject): string {
  return `/api/v1/namespaces/${encodeURIComponent(p.metadata!.namespace!)}/pods/${encodeURIComponent(p.metadata!.name!)}`;
}
