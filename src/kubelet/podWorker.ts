// One serialized sync loop per pod (upstream's pod worker): each pass reads
// what the runtime has for the pod (sandbox, containers), does the next steps
// toward the spec (sandbox, image pulls, init containers in order, sidecars,
// containers, restarts with back-off), writes the pod status when it changed,
// and says when to look again. Deletion: stop containers with the grace period
// (SIGTERM, then SIGKILL), remove the sandbox, confirm the delete.
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import type { Logger } from 'pino';
import type { KubeObject } from '../api/kind.js';
import { toMillis, parseQuantity, scaledValue } from '../api/quantity.js';
import { type ApiClient, isConflict, isNotFound } from '../client/api.js';
import type { CriClient } from './cri/client.js';
import { isNotFound as criNotFound } from './cri/client.js';
import type * as CRI from './cri/types.js';
import { ContainerConfigError, containerEnv, expandCommand, type EnvSources } from './env.js';
import type { EventSink, ImageManager } from './images.js';
import {
  ANN_GRACE, ANN_INIT, ANN_RESTART_COUNT, ANN_TERMINATION_MESSAGE_PATH, ANN_TERMINATION_MESSAGE_POLICY,
  Backoff, type ContainerRecord, LABEL_CONTAINER_NAME, LABEL_POD_NAME, LABEL_POD_NAMESPACE, LABEL_POD_UID,
  type RuntimePod, type SandboxRecord, type Waiting, buildPodStatus, isSidecar, latestByName, shouldRestart, sortNewestFirst, statusChanged,
} from './podStatus.js';
import { VolumeError, cleanupPodVolumes, containerMounts, preparePodVolumes, refreshPodVolumes, type PreparedVolumes } from './volumes.js';

export const CLUSTER_DNS = '10.43.0.10';
export const CLUSTER_DOMAIN = 'cluster.local';

/** Probes and lifecycle hooks, when a prober is wired in (see agent.ts). */
export interface ProbeHooks {
  /** Called every sync with the pod's running containers: start/stop probe loops.
   *  `resync` asks the worker for another pass (a probe result changed); `podIP`
   *  is the sandbox's address (http/tcp/grpc probes target it). */
  sync(pod: Pod, running: { name: string; containerId: string; init: boolean }[], resync: () => void, podIP?: string): void;
  ready(podUid: string, name: string, containerId: string): boolean;
  started(podUid: string, name: string, containerId: string): boolean;
  /** The liveness (or startup) probe failed past its threshold: restart the container. */
  shouldRestart(podUid: string, name: string, containerId: string): boolean;
  /** Why (the Killing event's message) and the probe's terminationGracePeriodSeconds, if any. */
  restartReason?(podUid: string, name: string, containerId: string): { message: string; graceSeconds?: number } | undefined;
  postStart?(pod: Pod, container: Container, containerId: string): Promise<void>;
  preStop?(pod: Pod, container: Container, containerId: string, graceSeconds: number): Promise<void>;
  forget(podUid: string): void;
}

export interface WorkerDeps {
  api: ApiClient;
  cri: CriClient;
  log: Logger;
  images: ImageManager;
  event: EventSink;
  envSources: EnvSources;
  serviceEnv(namespace: string): Record<string, string>;
  allocatable(): Record<string, string>;
  nodeName: string;
  hostIP: string;
  dataDir: string;
  crashBackoff: Backoff;
  clusterDNS?: string;
  clusterDomain?: string;
  probes?: ProbeHooks;
  /** The worker has nothing left to do for a pod gone from the API. */
  onDone(uid: string): void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const fieldPathOf = (pod: Pod, name: string): string => {
  const i = (pod.spec?.initContainers ?? []).findIndex((c) => c.name === name);
  if (i >= 0) return `spec.initContainers{${name}}`;
  return `spec.containers{${name}}`;
};

/** DNS for the sandbox from dnsPolicy and dnsConfig. */
export function dnsConfigFor(pod: Pod, clusterDNS = CLUSTER_DNS, domain = CLUSTER_DOMAIN, hostResolv = '/etc/resolv.conf'): CRI.DNSConfig | undefined {
  const policy = pod.spec?.dnsPolicy ?? 'ClusterFirst';
  const ns = pod.metadata?.namespace ?? 'default';
  let servers: string[] = [];
  let searches: string[] = [];
  let options: string[] = [];
  const cluster = policy === 'ClusterFirstWithHostNet' || (policy === 'ClusterFirst' && !pod.spec?.hostNetwork);
  if (cluster) {
    servers = [clusterDNS];
    searches = [`${ns}.svc.${domain}`, `svc.${domain}`, domain];
    options = ['ndots:5'];
  } else if (policy !== 'None') {
    // Default (and ClusterFirst with hostNetwork): the node's resolver settings
    try {
      for (const line of readFileSync(hostResolv, 'utf8').split('\n')) {
        const [k, ...rest] = line.trim().split(/\s+/);
        if (k === 'nameserver' && rest[0]) servers.push(rest[0]);
        else if (k === 'search' || k === 'domain') searches = rest;
        else if (k === 'options') options.push(...rest);
      }
    } catch {}
  }
  const dc = pod.spec?.dnsConfig;
  if (dc) {
    servers = [...new Set([...servers, ...(dc.nameservers ?? [])])];
    searches = [...new Set([...searches, ...(dc.searches ?? [])])];
    for (const o of dc.options ?? []) {
      const text = o.value !== undefined && o.value !== null ? `${o.name}:${o.value}` : String(o.name);
      options = options.filter((x) => x.split(':')[0] !== o.name);
      options.push(text);
    }
  }
  if (!servers.length && !searches.length && !options.length) return undefined;
  return { servers: servers.slice(0, 3), searches: searches.slice(0, 32), options };
}

/** The pod's /etc/hosts (upstream manages it to add hostAliases). */
export function hostsFile(pod: Pod, podIP: string): string {
  const name = pod.spec?.hostname ?? pod.metadata?.name ?? '';
  const fqdn = pod.spec?.subdomain ? `${name}.${pod.spec.subdomain}.${pod.metadata?.namespace}.svc.${CLUSTER_DOMAIN}` : '';
  let s = '# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n';
  if (podIP) s += `${podIP}\t${fqdn ? `${fqdn}\t` : ''}${name}\n`;
  const aliases = pod.spec?.hostAliases ?? [];
  if (aliases.length) {
    s += '\n# Entries added by HostAliases.\n';
    for (const a of aliases) s += `${a.ip}\t${(a.hostnames ?? []).join('\t')}\n`;
  }
  return s;
}

const bytes = (q: string | number | undefined): number | undefined => (q === undefined ? undefined : Number(scaledValue(parseQuantity(q), 0)));

/** CRI linux resources from requests/limits (cgroup v1 and v2 alike: the runtime maps shares). */
export function linuxResources(c: Container, qos?: string): CRI.LinuxContainerResources {
  const req = (c.resources?.requests ?? {}) as Record<string, string>;
  const lim = (c.resources?.limits ?? {}) as Record<string, string>;
  const r: CRI.LinuxContainerResources = {};
  const cpuReq = req.cpu ?? lim.cpu;
  r.cpuShares = cpuReq !== undefined ? Math.max(2, Math.floor((toMillis(cpuReq) * 1024) / 1000)) : 2;
  if (lim.cpu !== undefined) {
    r.cpuPeriod = 100_000;
    r.cpuQuota = Math.max(1000, Math.floor((toMillis(lim.cpu) * 100_000) / 1000));
  }
  const mem = bytes(lim.memory);
  if (mem) r.memoryLimitInBytes = mem;
  // never negative: restrict_oom_score_adj clamps, and these machines can't lower it anyway
  if (qos === 'BestEffort') r.oomScoreAdj = 1000;
  else if (qos === 'Burstable') {
    const memReq = bytes(req.memory) ?? 0;
    const total = 16 * 1024 ** 3;
    r.oomScoreAdj = Math.min(999, Math.max(2, 1000 - Math.floor((1000 * memReq) / total)));
  }
  return r;
}

const caps = (l: string[] | undefined) => (l ?? []).map((x) => x.toUpperCase());

export function sandboxConfig(pod: Pod, attempt: number, logDirectory: string, dns: CRI.DNSConfig | undefined): CRI.PodSandboxConfig {
  const m = pod.metadata!;
  const spec = pod.spec!;
  const psc = spec.securityContext ?? {};
  const ports: CRI.PortMapping[] = [];
  for (const c of spec.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (!p.hostPort) continue;
      ports.push({ protocol: (p.protocol ?? 'TCP') as CRI.Protocol, containerPort: p.containerPort, hostPort: p.hostPort, hostIp: p.hostIP ?? '' });
    }
  }
  const privileged = [...(spec.containers ?? []), ...(spec.initContainers ?? [])].some((c) => c.securityContext?.privileged);
  const sysctls: Record<string, string> = {};
  for (const s of psc.sysctls ?? []) sysctls[s.name] = s.value;
  return {
    metadata: { name: m.name!, uid: m.uid!, namespace: m.namespace ?? 'default', attempt },
    hostname: spec.hostNetwork ? '' : (spec.hostname ?? m.name!).slice(0, 63),
    logDirectory,
    dnsConfig: dns,
    portMappings: ports,
    labels: { ...(m.labels ?? {}), [LABEL_POD_NAME]: m.name!, [LABEL_POD_NAMESPACE]: m.namespace ?? 'default', [LABEL_POD_UID]: m.uid! },
    annotations: { ...(m.annotations ?? {}) },
    linux: {
      sysctls,
      securityContext: {
        namespaceOptions: { network: spec.hostNetwork ? 'NODE' : 'POD', pid: spec.hostPID ? 'NODE' : spec.shareProcessNamespace ? 'POD' : 'CONTAINER', ipc: spec.hostIPC ? 'NODE' : 'POD' },
        ...(psc.runAsUser !== undefined ? { runAsUser: { value: psc.runAsUser } } : {}),
        ...(psc.runAsGroup !== undefined ? { runAsGroup: { value: psc.runAsGroup } } : {}),
        supplementalGroups: psc.supplementalGroups ?? [],
        privileged,
      },
    },
  };
}

export class PodWorker {
  /** latest pod from the API; undefined once it is gone */
  private pod?: Pod;
  private lastPod?: Pod;
  private running = false;
  private again = false;
  private timer?: NodeJS.Timeout;
  private timerAt = 0;
  private stopped = false;
  private finished = false;
  private readonly waiting = new Map<string, Waiting>();
  private volumes?: PreparedVolumes;
  private volumesRefreshedAt = 0;
  private deletingSince = 0;
  private terminalHandled = false;
  readonly uid: string;

  constructor(private readonly d: WorkerDeps, pod: Pod) {
    this.uid = pod.metadata!.uid!;
    this.pod = pod;
    this.lastPod = pod;
  }

  private get podDir(): string {
    return join(this.d.dataDir, 'pods', this.uid);
  }

  /** New version of the pod (or undefined: gone from the API). Schedules a sync. */
  update(pod: Pod | undefined): void {
    this.pod = pod;
    if (pod) this.lastPod = pod;
    this.kick(0);
  }

  /** Sync after delayMs (an earlier request wins). */
  kick(delayMs = 0): void {
    if (this.stopped || this.finished) return;
    if (this.running) {
      if (delayMs === 0) this.again = true;
      else this.schedule(delayMs);
      return;
    }
    this.schedule(delayMs);
  }

  private schedule(delayMs: number): void {
    const at = Date.now() + delayMs;
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.loop();
    }, delayMs);
    this.timer.unref?.();
  }

  /** A ConfigMap/Secret the pod's volumes read changed: rewrite the volumes on the next pass. */
  refreshVolumes(): void {
    this.volumesRefreshedAt = 0;
    this.kick(0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private async loop(): Promise<void> {
    if (this.running || this.stopped || this.finished) return;
    this.running = true;
    try {
      for (let i = 0; i < 10; i++) {
        this.again = false;
        let next: number | undefined;
        try {
          next = await this.sync();
        } catch (e) {
          if (this.stopped) return;
          this.d.log.warn({ pod: this.name(), err: (e as Error).message }, 'pod sync failed; retrying');
          next = 2000;
        }
        if (next !== undefined && next >= 0) this.schedule(Math.max(next, 50));
        if (!this.again || this.stopped || this.finished) break;
      }
    } finally {
      this.running = false;
    }
    if (this.again && !this.stopped && !this.finished) this.schedule(50);
  }

  private name(): string {
    const p = this.pod ?? this.lastPod;
    return `${p?.metadata?.namespace}/${p?.metadata?.name}`;
  }

  private ev(type: 'Normal' | 'Warning', reason: string, message: string, fieldPath?: string): void {
    const p = this.pod ?? this.lastPod;
    if (p) this.d.event(p, type, reason, message, fieldPath);
  }

  // ---- runtime snapshot ----

  private async runtime(): Promise<{ rt: RuntimePod; sandboxes: CRI.PodSandbox[] }> {
    const sel = { labelSelector: { [LABEL_POD_UID]: this.uid } };
    const [sandboxes, containers] = await Promise.all([this.d.cri.listPodSandbox(sel), this.d.cri.listContainers(sel)]);
    sandboxes.sort((a, b) => Number(BigInt(b.createdAt) - BigInt(a.createdAt)));
    const recs: ContainerRecord[] = [];
    await Promise.all(
      containers.map(async (c) => {
        try {
          const st = (await this.d.cri.containerStatus(c.id)).status;
          if (!st) return;
          recs.push({ id: c.id, name: c.metadata?.name ?? st.metadata?.name ?? '', restartCount: Number(st.annotations?.[ANN_RESTART_COUNT] ?? c.metadata?.attempt ?? 0) || 0, init: st.annotations?.[ANN_INIT] === 'true', status: st });
        } catch (e) {
          if (!criNotFound(e)) throw e;
        }
      }),
    );
    let sandbox: SandboxRecord | undefined;
    const ready = sandboxes.find((s) => s.state === 'SANDBOX_READY');
    if (ready) {
      const st = await this.d.cri.podSandboxStatus(ready.id).catch(() => undefined);
      sandbox = { id: ready.id, ready: st?.status?.state === 'SANDBOX_READY', ip: st?.status?.network?.ip ?? '', ips: (st?.status?.network?.additionalIps ?? []).map((x) => x.ip), createdAt: Number(BigInt(ready.createdAt) / 1_000_000n) };
    }
    // containers of older sandboxes do not count toward this one's state
    const live = sandbox ? recs.filter((r) => containers.find((c) => c.id === r.id)?.podSandboxId === sandbox!.id || r.status.state === 'CONTAINER_EXITED') : recs;
    return { rt: { sandbox, containers: sortNewestFirst(live) }, sandboxes };
  }

  // ---- the sync pass ----

  /** One pass; returns ms until the next wanted pass (undefined: only on events). */
  private async sync(): Promise<number | undefined> {
    const pod = this.pod;
    if (!pod) {
      await this.teardown(Math.min(this.lastPod?.metadata?.deletionGracePeriodSeconds ?? 2, 2));
      this.finish();
      return undefined;
    }
    if (pod.metadata?.deletionTimestamp) return this.terminating(pod);
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') {
      if (!this.terminalHandled) {
        // a finished pod keeps no processes and no IP: stop what is left
        const { rt, sandboxes } = await this.runtime();
        await this.killContainers(pod, rt.containers.filter((c) => c.status.state === 'CONTAINER_RUNNING'), 0);
        for (const s of sandboxes) await this.d.cri.stopPodSandbox(s.id).catch(() => undefined);
        this.d.probes?.forget(this.uid);
        this.terminalHandled = true;
      }
      return undefined;
    }

    const { rt, sandboxes } = await this.runtime();
    let requeue: number | undefined;
    const want = (ms: number) => (requeue = requeue === undefined ? ms : Math.min(requeue, ms));
    const status = async () => {
      await this.writeStatus(pod, rt);
      return requeue;
    };

    // volumes first: the sandbox and containers need them
    if (!this.volumes) {
      try {
        this.volumes = await preparePodVolumes(pod, { podDir: this.podDir, api: this.d.api, nodeAllocatable: this.d.allocatable() });
        this.volumesRefreshedAt = Date.now();
      } catch (e) {
        const msg = (e as Error).message;
        this.ev('Warning', (e as VolumeError).reason ?? 'FailedMount', msg);
        for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) this.waiting.set(c.name, { reason: (pod.spec?.initContainers ?? []).includes(c) ? 'PodInitializing' : 'ContainerCreating' });
        want(5000);
        return status();
      }
    } else if (Date.now() - this.volumesRefreshedAt > 60_000) {
      this.volumesRefreshedAt = Date.now();
      const errs = await refreshPodVolumes(pod, this.volumes, { podDir: this.podDir, api: this.d.api, nodeAllocatable: this.d.allocatable() }).catch((e) => [String(e)]);
      for (const m of errs) this.ev('Warning', 'FailedMount', m);
    }
    if (this.volumes) want(60_000);

    // the sandbox
    if (!rt.sandbox) {
      const policy = pod.spec?.restartPolicy ?? 'Always';
      const ranBefore = rt.containers.some((c) => !c.init);
      if (ranBefore && policy === 'Never') {
        // the sandbox died after the containers ran: nothing is restarted
        return status();
      }
      // a dead sandbox takes its containers with it: stop leftovers, start over
      if (sandboxes.length) {
        this.ev('Normal', 'SandboxChanged', 'Pod sandbox changed, it will be killed and re-created.');
        await this.killContainers(pod, rt.containers.filter((c) => c.status.state === 'CONTAINER_RUNNING'), 0);
        for (const s of sandboxes) await this.d.cri.stopPodSandbox(s.id).catch(() => undefined);
      }
      const t0 = Date.now();
      try {
        const logDir = join(this.podDir, 'logs');
        mkdirSync(logDir, { recursive: true });
        const cfg = sandboxConfig(pod, sandboxes.length, logDir, dnsConfigFor(pod, this.d.clusterDNS, this.d.clusterDomain));
        const id = await this.d.cri.runPodSandbox(cfg);
        const st = await this.d.cri.podSandboxStatus(id);
        rt.sandbox = { id, ready: st.status?.state === 'SANDBOX_READY', ip: st.status?.network?.ip ?? '', ips: (st.status?.network?.additionalIps ?? []).map((x) => x.ip), createdAt: Date.now() };
        this.d.log.debug({ pod: this.name(), ms: Date.now() - t0, ip: rt.sandbox.ip }, 'sandbox started');
        // containers of an older sandbox are history (restart counts carry on)
      } catch (e) {
        this.ev('Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${(e as Error).message}`);
        want(5000);
        return status();
      }
    }
    const sandbox = rt.sandbox;
    this.writeHosts(pod, sandbox.ip);

    this.waiting.clear();
    const byName = latestByName(rt);
    const policy = pod.spec?.restartPolicy ?? 'Always';
    const mainStarted = (pod.spec?.containers ?? []).some((c) => byName.has(c.name) && byName.get(c.name)!.latest.status.state !== 'CONTAINER_CREATED');

    // init containers, in order; sidecars (restartPolicy Always) start and keep running
    let initDone = true;
    for (const c of pod.spec?.initContainers ?? []) {
      const e = byName.get(c.name);
      const st = e?.latest.status.state;
      if (isSidecar(c)) {
        if (st === 'CONTAINER_RUNNING') {
          if (this.d.probes?.shouldRestart(this.uid, c.name, e!.latest.id)) {
            await this.probeKill(pod, c, e!.latest);
            want(0);
          }
          continue;
        }
        const r = await this.startOrBackoff(pod, c, sandbox, e?.latest, true);
        if (r !== undefined) want(r);
        if (!mainStarted && r !== undefined) {
          initDone = false;
          break;
        }
        continue;
      }
      if (st === 'CONTAINER_EXITED' && e!.latest.status.exitCode === 0) continue;
      if (!e && mainStarted) continue; // completed before (records removed)
      if (mainStarted && st === 'CONTAINER_EXITED') continue; // init finished earlier; main runs
      initDone = false;
      if (st === 'CONTAINER_RUNNING') break;
      if (st === 'CONTAINER_EXITED') {
        if (policy === 'Never') break; // the pod fails (phase from status)
        const r = await this.startOrBackoff(pod, c, sandbox, e!.latest, true);
        if (r !== undefined) want(r);
        break;
      }
      if (st === 'CONTAINER_CREATED') {
        await this.d.cri.removeContainer(e!.latest.id).catch(() => undefined);
      }
      const r = await this.startOrBackoff(pod, c, sandbox, e?.latest.status.state === 'CONTAINER_CREATED' ? undefined : e?.latest, true);
      if (r !== undefined) want(r);
      break;
    }

    if (initDone) {
      for (const c of pod.spec?.containers ?? []) {
        const e = byName.get(c.name);
        const st = e?.latest.status.state;
        if (st === 'CONTAINER_RUNNING') {
          if (this.d.probes?.shouldRestart(this.uid, c.name, e!.latest.id)) {
            await this.probeKill(pod, c, e!.latest);
            want(0);
          }
          continue;
        }
        if (st === 'CONTAINER_EXITED' && !shouldRestart(policy, e!.latest.status.exitCode)) continue;
        if (st === 'CONTAINER_CREATED') {
          await this.d.cri.removeContainer(e!.latest.id).catch(() => undefined);
        }
        const r = await this.startOrBackoff(pod, c, sandbox, st === 'CONTAINER_EXITED' ? e!.latest : e?.previous, false);
        if (r !== undefined) want(r);
      }
    } else {
      for (const c of pod.spec?.containers ?? []) if (!this.waiting.has(c.name)) this.waiting.set(c.name, { reason: 'PodInitializing' });
    }

    // probes follow the running containers
    if (this.d.probes) {
      const fresh = await this.runtime();
      Object.assign(rt, fresh.rt);
      const running = fresh.rt.containers.filter((c) => c.status.state === 'CONTAINER_RUNNING').map((c) => ({ name: c.name, containerId: c.id, init: c.init }));
      const ip = pod.spec?.hostNetwork ? this.d.hostIP : fresh.rt.sandbox?.ip;
      this.d.probes.sync(pod, running, () => this.kick(0), ip);
    } else {
      Object.assign(rt, (await this.runtime()).rt);
    }
    await this.gcContainers(rt);
    return status();
  }

  /** Starts container c (a restart when `last` exited), unless it is in crash back-off.
   *  Returns ms until another pass is needed, or undefined. */
  private async startOrBackoff(pod: Pod, c: Container, sandbox: SandboxRecord, last: ContainerRecord | undefined, init: boolean): Promise<number | undefined> {
    const restartCount = last ? last.restartCount + 1 : 0;
    const key = `${this.uid}/${c.name}`;
    if (last && last.status.state === 'CONTAINER_EXITED') {
      const finished = Number(BigInt(last.status.finishedAt || '0') / 1_000_000n) || Date.now();
      const left = this.d.crashBackoff.remaining(key, finished);
      if (left > 0) {
        const secs = Math.round(this.d.crashBackoff.remaining(key, finished, finished) / 1000);
        const message = `back-off ${secs}s restarting failed container=${c.name} pod=${pod.metadata?.name}_${pod.metadata?.namespace}(${this.uid})`;
        this.waiting.set(c.name, { reason: 'CrashLoopBackOff', message });
        this.ev('Warning', 'BackOff', 'Back-off restarting failed container ' + c.name + ' in pod ' + pod.metadata?.name + '_' + pod.metadata?.namespace + '(' + this.uid + ')', fieldPathOf(pod, c.name));
        return left;
      }
      this.d.crashBackoff.next(key);
    }
    return this.startContainer(pod, c, sandbox, restartCount, init);
  }

  private async startContainer(pod: Pod, c: Container, sandbox: SandboxRecord, restartCount: number, init: boolean): Promise<number | undefined> {
    const fp = fieldPathOf(pod, c.name);
    const img = await this.d.images.ensure(pod, c, fp);
    if (!img.ok) {
      this.waiting.set(c.name, { reason: img.reason, message: img.message });
      if (img.reason === 'ErrImagePull') return 1000; // the next pass reports ImagePullBackOff
      if (img.reason === 'ImagePullBackOff') return Math.max(500, this.d.images.backoff.remaining(`${this.uid}/${c.image}`));
      return 10_000;
    }
    let envs: { key: string; value: string }[];
    let mounts: CRI.Mount[];
    try {
      envs = await containerEnv(pod, c, this.d.envSources, {
        nodeName: this.d.nodeName,
        hostIP: this.d.hostIP,
        podIP: pod.spec?.hostNetwork ? this.d.hostIP : sandbox.ip,
        podIPs: pod.spec?.hostNetwork ? [this.d.hostIP] : [sandbox.ip, ...sandbox.ips],
        allocatable: this.d.allocatable(),
        serviceEnv: this.d.serviceEnv(pod.metadata?.namespace ?? 'default'),
      });
      mounts = containerMounts(c, this.volumes ?? new Map(), { env: Object.fromEntries(envs.map((e) => [e.key, e.value])) });
    } catch (e) {
      if (e instanceof ContainerConfigError || e instanceof VolumeError) {
        this.waiting.set(c.name, { reason: 'CreateContainerConfigError', message: e.message });
        this.ev('Warning', 'Failed', `Error: ${e.message}`, fp);
        return 3000;
      }
      throw e;
    }
    // /etc/hosts managed by us (hostAliases), unless the container mounts its own
    const hostsPath = join(this.podDir, 'etc-hosts');
    if (!pod.spec?.hostNetwork && existsSync(hostsPath) && !mounts.some((m) => m.containerPath === '/etc/hosts')) mounts.push({ containerPath: '/etc/hosts', hostPath: hostsPath });
    // the termination message file, bind-mounted read-write
    const tmp = c.terminationMessagePath ?? '/dev/termination-log';
    if (tmp && !mounts.some((m) => m.containerPath === tmp)) {
      const dir = join(this.podDir, 'containers', c.name);
      mkdirSync(dir, { recursive: true });
      const file = join(dir, randomBytes(4).toString('hex'));
      writeFileSync(file, '');
      chmodSync(file, 0o666);
      mounts.push({ containerPath: tmp, hostPath: file });
    }
    const sc = c.securityContext ?? {};
    const psc = pod.spec?.securityContext ?? {};
    const runAsUser = sc.runAsUser ?? psc.runAsUser;
    const runAsGroup = sc.runAsGroup ?? psc.runAsGroup;
    const cmd = expandCommand(c, envs);
    const spec = pod.spec!;
    const config: CRI.ContainerConfig = {
      metadata: { name: c.name, attempt: restartCount },
      image: { image: c.image ?? '', userSpecifiedImage: c.image ?? '' },
      command: cmd.command ?? [],
      args: cmd.args ?? [],
      workingDir: c.workingDir ?? '',
      envs,
      mounts,
      labels: { [LABEL_POD_NAME]: pod.metadata!.name!, [LABEL_POD_NAMESPACE]: pod.metadata!.namespace ?? 'default', [LABEL_POD_UID]: this.uid, [LABEL_CONTAINER_NAME]: c.name },
      annotations: {
        [ANN_RESTART_COUNT]: String(restartCount),
        [ANN_TERMINATION_MESSAGE_PATH]: tmp,
        [ANN_TERMINATION_MESSAGE_POLICY]: c.terminationMessagePolicy ?? 'File',
        [ANN_GRACE]: String(spec.terminationGracePeriodSeconds ?? 30),
        ...(init ? { [ANN_INIT]: 'true' } : {}),
      },
      logPath: `${c.name}/${restartCount}.log`,
      stdin: !!c.stdin,
      stdinOnce: !!c.stdinOnce,
      tty: !!c.tty,
      linux: {
        resources: linuxResources(c, pod.status?.qosClass),
        securityContext: {
          privileged: !!sc.privileged,
          capabilities: { addCapabilities: caps(sc.capabilities?.add), dropCapabilities: caps(sc.capabilities?.drop) },
          ...(runAsUser !== undefined ? { runAsUser: { value: runAsUser } } : {}),
          ...(runAsGroup !== undefined ? { runAsGroup: { value: runAsGroup } } : {}),
          readonlyRootfs: !!sc.readOnlyRootFilesystem,
          supplementalGroups: psc.supplementalGroups ?? [],
          noNewPrivs: sc.allowPrivilegeEscalation === false,
          namespaceOptions: { network: spec.hostNetwork ? 'NODE' : 'POD', pid: spec.hostPID ? 'NODE' : spec.shareProcessNamespace ? 'POD' : 'CONTAINER', ipc: spec.hostIPC ? 'NODE' : 'POD' },
        },
      },
    };
    const sbCfg = sandboxConfig(pod, 0, join(this.podDir, 'logs'), dnsConfigFor(pod, this.d.clusterDNS, this.d.clusterDomain));
    let id: string;
    try {
      id = await this.d.cri.createContainer(sandbox.id, config, sbCfg);
    } catch (e) {
      const msg = (e as { details?: string }).details ?? (e as Error).message;
      this.waiting.set(c.name, { reason: 'CreateContainerError', message: msg });
      this.ev('Warning', 'Failed', `Error: ${msg}`, fp);
      return 5000;
    }
    this.ev('Normal', 'Created', `Created container ${c.name}`, fp);
    try {
      await this.d.cri.startContainer(id);
    } catch (e) {
      const msg = (e as { details?: string }).details ?? (e as Error).message;
      this.ev('Warning', 'Failed', `Error: ${msg}`, fp);
      // the container shows as exited (RunContainerError): the restart policy applies
      return 1000;
    }
    this.ev('Normal', 'Started', `Started container ${c.name}`, fp);
    if (this.d.probes?.postStart && c.lifecycle?.postStart) {
      try {
        await this.d.probes.postStart(pod, c, id);
      } catch (e) {
        this.ev('Warning', 'FailedPostStartHook', (e as Error).message, fp);
        await this.d.cri.stopContainer(id, spec.terminationGracePeriodSeconds ?? 30).catch(() => undefined);
      }
    }
    return undefined;
  }

  /** A failed liveness/startup probe: kill the container (preStop, grace) so the restart policy restarts it. */
  private async probeKill(pod: Pod, c: Container, rec: ContainerRecord): Promise<void> {
    const why = this.d.probes?.restartReason?.(this.uid, c.name, rec.id);
    const grace = why?.graceSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    await this.killContainers(pod, [rec], grace, why?.message ?? `Container ${c.name} failed liveness probe, will be restarted`);
  }

  /** Stops containers in parallel: preStop hook, then SIGTERM and SIGKILL at the deadline. */
  private async killContainers(pod: Pod | undefined, list: ContainerRecord[], graceSeconds: number, message?: string): Promise<void> {
    await Promise.all(
      list.map(async (c) => {
        const spec = [...(pod?.spec?.containers ?? []), ...(pod?.spec?.initContainers ?? [])].find((x) => x.name === c.name);
        if (pod) this.ev('Normal', 'Killing', message ?? `Stopping container ${c.name}`, fieldPathOf(pod, c.name));
        const t0 = Date.now();
        if (pod && spec?.lifecycle?.preStop && this.d.probes?.preStop && graceSeconds > 0) {
          await Promise.race([this.d.probes.preStop(pod, spec, c.id, graceSeconds).catch(() => undefined), sleep(graceSeconds * 1000)]);
        }
        const left = Math.max(0, Math.ceil(graceSeconds - (Date.now() - t0) / 1000));
        await this.d.cri.stopContainer(c.id, left).catch((e) => {
          if (!criNotFound(e)) this.d.log.warn({ pod: this.name(), container: c.name, err: (e as Error).message }, 'stop container failed');
        });
      }),
    );
  }

  /** Deleting: kill with the remaining grace, remove everything, confirm the delete. */
  private async terminating(pod: Pod): Promise<number | undefined> {
    if (!this.deletingSince) this.deletingSince = Date.now();
    const grace = pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    const left = Math.max(0, Math.ceil(grace - (Date.now() - this.deletingSince) / 1000));
    await this.teardown(left, pod);
    try {
      await this.d.api.request('DELETE', `/api/v1/namespaces/${encodeURIComponent(pod.metadata!.namespace!)}/pods/${encodeURIComponent(pod.metadata!.name!)}`, {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        gracePeriodSeconds: 0,
        preconditions: { uid: this.uid },
      });
    } catch (e) {
      if (!isNotFound(e) && !isConflict(e)) throw e;
    }
    return undefined;
  }

  /** Stops and removes all containers and sandboxes of the pod, and its volumes. */
  async teardown(graceSeconds: number, pod?: Pod): Promise<void> {
    const { rt, sandboxes } = await this.runtime();
    const running = rt.containers.filter((c) => c.status.state === 'CONTAINER_RUNNING');
    // main containers first, then sidecars (upstream stops sidecars last)
    const sidecarNames = new Set((pod?.spec?.initContainers ?? []).filter(isSidecar).map((c) => c.name));
    await this.killContainers(pod, running.filter((c) => !sidecarNames.has(c.name)), graceSeconds);
    await this.killContainers(pod, running.filter((c) => sidecarNames.has(c.name)), Math.min(graceSeconds, 2));
    this.d.probes?.forget(this.uid);
    for (const s of sandboxes) {
      await this.d.cri.stopPodSandbox(s.id).catch(() => undefined);
      await this.d.cri.removePodSandbox(s.id).catch(() => undefined);
    }
    // removing the sandbox removes its containers; leftovers of older sandboxes too
    for (const c of rt.containers) await this.d.cri.removeContainer(c.id).catch(() => undefined);
    await cleanupPodVolumes(this.podDir).catch((e) => this.d.log.warn({ pod: this.name(), err: String(e) }, 'volume cleanup failed'));
  }

  private finish(): void {
    this.finished = true;
    this.d.images.forget(this.uid);
    this.d.crashBackoff.forgetPrefix(`${this.uid}/`);
    try {
      rmSync(this.podDir, { recursive: true, force: true });
    } catch {}
    this.d.onDone(this.uid);
  }

  /** Keeps the newest two containers per name (the current one and lastState). */
  private async gcContainers(rt: RuntimePod): Promise<void> {
    const seen = new Map<string, number>();
    for (const c of rt.containers) {
      const n = (seen.get(c.name) ?? 0) + 1;
      seen.set(c.name, n);
      if (n > 2 && c.status.state === 'CONTAINER_EXITED') await this.d.cri.removeContainer(c.id).catch(() => undefined);
    }
  }

  private writeHosts(pod: Pod, ip: string): void {
    if (pod.spec?.hostNetwork) return;
    const path = join(this.podDir, 'etc-hosts');
    const text = hostsFile(pod, ip);
    try {
      if (existsSync(path) && readFileSync(path, 'utf8') === text) return;
      mkdirSync(this.podDir, { recursive: true });
      writeFileSync(path, text, { mode: 0o644 });
    } catch {}
  }

  private async writeStatus(pod: Pod, rt: RuntimePod): Promise<void> {
    const uid = this.uid;
    const st = buildPodStatus(pod, rt, {
      hostIP: this.d.hostIP,
      waiting: this.waiting,
      ready: this.d.probes ? (n, id) => this.d.probes!.ready(uid, n, id) : undefined,
      started: this.d.probes ? (n, id) => this.d.probes!.started(uid, n, id) : undefined,
    });
    const current = (this.pod ?? pod).status;
    if (!statusChanged(current, st)) return;
    try {
      const updated = await this.d.api.request('PATCH', `/api/v1/namespaces/${encodeURIComponent(pod.metadata!.namespace!)}/pods/${encodeURIComponent(pod.metadata!.name!)}/status`, { status: st }, 'application/merge-patch+json');
      // our cache may lag: sync from what the server now holds
      if (this.pod && this.pod.metadata?.uid === updated.metadata?.uid) this.pod = updated as Pod;
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}
