// The pod workers' probes and lifecycle hooks (podWorker.ts `ProbeHooks`) on top
// of the probe library (probes.ts) and the hook runner (hooks.ts): one
// ProbeManager per pod, exec probes and hooks through CRI ExecSync, http/tcp/grpc
// to the pod IP. Probe results are kept here; the worker asks for them when it
// builds the status (ready/started) and when it decides restarts (shouldRestart).
// Failed runs become `Unhealthy` Warning events, as upstream.
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import type { Logger } from 'pino';
import type { CriClient } from './cri/client.js';
import { runHook, runPreStop } from './hooks.js';
import type { EventSink } from './images.js';
import type { ProbeHooks } from './podWorker.js';
import { type ExecFn, ProbeManager, Prober } from './probes.js';

export interface ProbeHooksDeps {
  cri: CriClient;
  event: EventSink;
  log: Logger;
  /** bound on a postStart hook (upstream has none; a hung hook would block the pod's worker) */
  postStartTimeoutMs?: number;
}

interface Restart {
  message: string;
  graceSeconds?: number;
}

interface PodEntry {
  pod: Pod;
  podIP: string;
  manager: ProbeManager;
  /** container ids being probed, by name */
  ids: Map<string, string>;
  /** container id → why it must be restarted (liveness/startup failed) */
  restarts: Map<string, Restart>;
  resync: () => void;
}

const fieldPath = (pod: Pod, name: string) => ((pod.spec?.initContainers ?? []).some((c) => c.name === name) ? `spec.initContainers{${name}}` : `spec.containers{${name}}`);

/** The ExecFn of probes and hooks: CRI ExecSync with the probe's timeout. */
export function criExec(cri: CriClient): ExecFn {
  return async (containerId, cmd, timeoutMs) => {
    const secs = Math.max(1, Math.ceil(timeoutMs / 1000));
    const r = await cri.execSync(containerId, cmd, secs, { timeoutMs: timeoutMs + 5000 });
    return { exitCode: r.exitCode, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  };
}

export class PodProbeHooks implements ProbeHooks {
  private readonly pods = new Map<string, PodEntry>();
  private readonly exec: ExecFn;

  constructor(private readonly d: ProbeHooksDeps) {
    this.exec = criExec(d.cri);
  }

  private specOf(pod: Pod, name: string): Container | undefined {
    return (pod.spec?.containers ?? []).find((c) => c.name === name) ?? (pod.spec?.initContainers ?? []).find((c) => c.name === name);
  }

  private entry(pod: Pod, podIP: string | undefined, resync: () => void): PodEntry {
    const uid = pod.metadata!.uid!;
    let e = this.pods.get(uid);
    if (!e) {
      const holder: { e?: PodEntry } = {};
      const prober = new Prober(this.exec, () => holder.e?.podIP ?? '');
      const current = (name: string, id: string) => (holder.e && holder.e.ids.get(name) === id ? holder.e : undefined);
      const manager = new ProbeManager(prober, {
        onReadinessChange: (name, id) => current(name, id)?.resync(),
        onStartup: (name, id) => current(name, id)?.resync(),
        onProbeFailure: (name, id, _kind, message) => {
          const x = current(name, id);
          if (x) this.d.event(x.pod, 'Warning', 'Unhealthy', message, fieldPath(x.pod, name));
        },
        onLivenessFailure: (name, id, _o, probe) => {
          const x = current(name, id);
          if (!x) return;
          x.restarts.set(id, { message: `Container ${name} failed liveness probe, will be restarted`, graceSeconds: probe.terminationGracePeriodSeconds ?? undefined });
          x.resync();
        },
        onStartupFailure: (name, id, _o, probe) => {
          const x = current(name, id);
          if (!x) return;
          x.restarts.set(id, { message: `Container ${name} failed startup probe, will be restarted`, graceSeconds: probe.terminationGracePeriodSeconds ?? undefined });
          x.resync();
        },
      });
      e = { pod, podIP: podIP ?? '', manager, ids: new Map(), restarts: new Map(), resync };
      holder.e = e;
      this.pods.set(uid, e);
    }
    e.pod = pod;
    e.resync = resync;
    const ip = podIP || (pod.spec?.hostNetwork ? pod.status?.hostIP : pod.status?.podIP);
    if (ip) e.podIP = ip;
    return e;
  }

  sync(pod: Pod, running: { name: string; containerId: string; init: boolean }[], resync: () => void, podIP?: string): void {
    const e = this.entry(pod, podIP, resync);
    const live = new Set<string>();
    for (const r of running) {
      const spec = this.specOf(pod, r.name);
      // regular init containers are not probed; sidecars (restartPolicy Always) are
      if (!spec || (r.init && (spec as { restartPolicy?: string }).restartPolicy !== 'Always')) continue;
      live.add(r.name);
      if (e.ids.get(r.name) === r.containerId) continue;
      e.ids.set(r.name, r.containerId);
      e.manager.addContainer(spec, r.containerId);
    }
    for (const name of [...e.ids.keys()]) {
      if (live.has(name)) continue;
      e.manager.removeContainer(name);
      e.ids.delete(name);
    }
    for (const id of [...e.restarts.keys()]) if (![...e.ids.values()].includes(id)) e.restarts.delete(id);
  }

  private probed(podUid: string, name: string, containerId: string): PodEntry | undefined {
    const e = this.pods.get(podUid);
    return e && e.ids.get(name) === containerId ? e : undefined;
  }

  ready(podUid: string, name: string, containerId: string): boolean {
    const e = this.probed(podUid, name, containerId);
    if (e) return e.manager.isReady(name);
    // not (yet) under probing: ready unless a probe has to say so first
    const spec = this.pods.get(podUid) ? this.specOf(this.pods.get(podUid)!.pod, name) : undefined;
    return !spec?.readinessProbe && !spec?.startupProbe;
  }

  started(podUid: string, name: string, containerId: string): boolean {
    const e = this.probed(podUid, name, containerId);
    if (e) return e.manager.isStarted(name);
    const spec = this.pods.get(podUid) ? this.specOf(this.pods.get(podUid)!.pod, name) : undefined;
    return !spec?.startupProbe;
  }

  shouldRestart(podUid: string, _name: string, containerId: string): boolean {
    return this.pods.get(podUid)?.restarts.has(containerId) ?? false;
  }

  /** Why shouldRestart said yes: the Killing event's message and the probe's grace override. */
  restartReason(podUid: string, _name: string, containerId: string): Restart | undefined {
    return this.pods.get(podUid)?.restarts.get(containerId);
  }

  private podIPOf(pod: Pod): () => string {
    const uid = pod.metadata?.uid ?? '';
    return () => this.pods.get(uid)?.podIP || (pod.spec?.hostNetwork ? pod.status?.hostIP : pod.status?.podIP) || '';
  }

  /** Runs the postStart hook; throws (with upstream's message) when it fails. */
  async postStart(pod: Pod, container: Container, containerId: string): Promise<void> {
    const h = container.lifecycle?.postStart;
    if (!h) return;
    const r = await runHook(h, containerId, { exec: this.exec, podIP: this.podIPOf(pod), container, timeoutMs: this.d.postStartTimeoutMs ?? 120_000 });
    if (!r.ok) throw new Error(r.message);
  }

  /** Runs the preStop hook within the grace period; a failure is only an event, the stop goes on. */
  async preStop(pod: Pod, container: Container, containerId: string, graceSeconds: number): Promise<void> {
    const h = container.lifecycle?.preStop;
    if (!h) return;
    const r = await runPreStop(h, containerId, { exec: this.exec, podIP: this.podIPOf(pod), container }, graceSeconds);
    if (!r.ok) {
      this.d.log.debug({ pod: `${pod.metadata?.namespace}/${pod.metadata?.name}`, container: container.name, err: r.message }, 'preStop hook failed');
      this.d.event(pod, 'Warning', 'FailedPreStopHook', r.message, fieldPath(pod, container.name));
    }
  }

  forget(podUid: string): void {
    const e = this.pods.get(podUid);
    if (!e) return;
    e.manager.stop();
    this.pods.delete(podUid);
  }

  /** Stops every probe loop (agent shutdown). */
  stop(): void {
    for (const uid of [...this.pods.keys()]) this.forget(uid);
  }
}
