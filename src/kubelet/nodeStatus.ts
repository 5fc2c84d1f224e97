// The node's registration and heartbeats: the Node object (labels, capacity,
// allocatable, conditions, addresses, nodeInfo, images), a Lease in
// kube-node-lease renewed every 10 s, and NodeStatus written every ~40 s or as
// soon as something in it changed (e.g. the runtime's network became ready).
import { existsSync, readFileSync, statfsSync } from 'node:fs';
import { cpus, freemem, networkInterfaces, release, totalmem } from 'node:os';
import type { Logger } from 'pino';
import type { KubeObject } from '../api/kind.js';
import { type ApiClient, isAlreadyExists, isNotFound } from '../client/api.js';
import type { CriClient } from './cri/client.js';

export const KUBELET_VERSION = 'v1.32.0-k8ts';
export const LEASE_NAMESPACE = 'kube-node-lease';
const isoSeconds = (ms = Date.now()) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
const isoMicro = (ms = Date.now()) => new Date(ms).toISOString().replace(/Z$/, '000Z');

export function goArch(arch = process.arch): string {
  return ({ x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' } as Record<string, string>)[arch] ?? arch;
}

/** The host's primary IPv4 (first non-internal address not on a pod bridge/veth), else 127.0.0.1. */
export function primaryIPv4(): string {
  const skip = /^(k8ts|cni|veth|docker|br-|virbr|flannel|cali|kube)/;
  for (const [name, list] of Object.entries(networkInterfaces())) {
    if (skip.test(name)) continue;
    for (const a of list ?? []) if (!a.internal && a.family === 'IPv4') return a.address;
  }
  return '127.0.0.1';
}

export function osImage(): string {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'));
    if (m) return m[1]!;
  } catch {}
  return 'Linux';
}

const readTrim = (p: string): string => {
  try {
    return existsSync(p) ? readFileSync(p, 'utf8').trim() : '';
  } catch {
    return '';
  }
};

export interface NodeStatusOptions {
  nodeName: string;
  dataDir: string;
  hostIP: string;
  controlPlane?: boolean;
  labels?: Record<string, string>;
  /** port of the kubelet API (daemonEndpoints) */
  kubeletPort?: number;
  leaseIntervalMs?: number;
  statusReportMs?: number;
}

export class NodeStatusManager {
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private uid?: string;
  private lastReport = 0;
  private lastCheck = 0;
  private lastWritten = '';
  private nextLeaseAt = 0;
  private runtimeVersion = 'containerd://unknown';
  private busy = false;
  /** latest Node from the API (the podCIDR lives in its spec) */
  node?: KubeObject;

  constructor(
    private readonly api: ApiClient,
    private readonly cri: CriClient,
    private readonly log: Logger,
    private readonly o: NodeStatusOptions,
  ) {}

  private get path(): string {
    return `/api/v1/nodes/${encodeURIComponent(this.o.nodeName)}`;
  }

  labels(): Record<string, string> {
    const arch = goArch();
    return {
      'beta.kubernetes.io/arch': arch,
      'beta.kubernetes.io/os': 'linux',
      'kubernetes.io/arch': arch,
      'kubernetes.io/os': 'linux',
      'kubernetes.io/hostname': this.o.nodeName,
      ...(this.o.controlPlane ? { 'node-role.kubernetes.io/control-plane': 'true' } : {}),
      ...this.o.labels,
    };
  }

  capacity(): { capacity: Record<string, string>; allocatable: Record<string, string> } {
    const memKi = Math.floor(totalmem() / 1024);
    let diskKi = 0;
    try {
      const s = statfsSync(this.o.dataDir);
      diskKi = Math.floor((s.blocks * s.bsize) / 1024);
    } catch {}
    const cpu = String(cpus().length || 1);
    return {
      capacity: { cpu, memory: `${memKi}Ki`, 'ephemeral-storage': `${diskKi}Ki`, pods: '110' },
      // upstream reserves the default eviction thresholds (memory.available 100Mi, nodefs 10%)
      allocatable: { cpu, memory: `${Math.max(0, memKi - 100 * 1024)}Ki`, 'ephemeral-storage': String(Math.floor(diskKi * 1024 * 0.9)), pods: '110' },
    };
  }

  private async conditions(old: KubeObject[] | undefined, now: number): Promise<KubeObject[]> {
    let ready = true;
    let msg = 'kubelet is posting ready status';
    try {
      const st = await this.cri.status(false, { timeoutMs: 5000 });
      const bad = (st.status?.conditions ?? []).filter((c) => (c.type === 'RuntimeReady' || c.type === 'NetworkReady') && !c.status);
      if (bad.length) {
        ready = false;
        msg = `container runtime network not ready: ${bad.map((c) => `${c.type}=false reason:${c.reason} message:${c.message}`).join('; ')}`;
      }
    } catch (e) {
      ready = false;
      msg = `container runtime is down: ${(e as Error).message}`;
    }
    let diskPressure = false;
    try {
      const s = statfsSync(this.o.dataDir);
      diskPressure = s.bavail / Math.max(1, s.blocks) < 0.1;
    } catch {}
    const memPressure = freemem() < 100 * 1024 * 1024;
    const list: [string, boolean, string, string][] = [
      ['MemoryPressure', memPressure, memPressure ? 'KubeletHasInsufficientMemory' : 'KubeletHasSufficientMemory', memPressure ? 'kubelet has insufficient memory available' : 'kubelet has sufficient memory available'],
      ['DiskPressure', diskPressure, diskPressure ? 'KubeletHasDiskPressure' : 'KubeletHasNoDiskPressure', diskPressure ? 'kubelet has disk pressure' : 'kubelet has no disk pressure'],
      ['PIDPressure', false, 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'],
      ['Ready', ready, ready ? 'KubeletReady' : 'KubeletNotReady', msg],
    ];
    const ts = isoSeconds(now);
    return list.map(([type, on, reason, message]) => {
      const status = on ? 'True' : 'False';
      const prev = old?.find((c) => c.type === type);
      return { type, status, lastHeartbeatTime: ts, lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : ts, reason, message };
    });
  }

  private async images(): Promise<KubeObject[]> {
    try {
      const list = await this.cri.listImages(undefined, { timeoutMs: 10_000 });
      return list
        .map((i) => ({ names: [...i.repoDigests, ...i.repoTags], sizeBytes: Number(i.size) }))
        .filter((i) => i.names.length)
        .sort((a, b) => b.sizeBytes - a.sizeBytes)
        .slice(0, 50);
    } catch {
      return [];
    }
  }

  private async status(old: KubeObject | undefined, now: number): Promise<KubeObject> {
    const { capacity, allocatable } = this.capacity();
    return {
      capacity,
      allocatable,
      conditions: await this.conditions(old?.conditions, now),
      addresses: [
        { type: 'InternalIP', address: this.o.hostIP },
        { type: 'Hostname', address: this.o.nodeName },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: this.o.kubeletPort ?? 10250 } },
      nodeInfo: {
        machineID: readTrim('/etc/machine-id'),
        systemUUID: readTrim('/sys/class/dmi/id/product_uuid') || readTrim('/etc/machine-id'),
        bootID: readTrim('/proc/sys/kernel/random/boot_id'),
        kernelVersion: release(),
        osImage: osImage(),
        containerRuntimeVersion: this.runtimeVersion,
        kubeletVersion: KUBELET_VERSION,
        kubeProxyVersion: KUBELET_VERSION,
        operatingSystem: 'linux',
        architecture: goArch(),
      },
      images: await this.images(),
    };
  }

  /** Creates the Node, or updates labels and status of the one a previous run registered. */
  async register(): Promise<KubeObject> {
    try {
      const v = await this.cri.version({ timeoutMs: 5000 });
      this.runtimeVersion = `${v.runtimeName || 'containerd'}://${v.runtimeVersion}`;
    } catch {}
    const now = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        let node: KubeObject;
        try {
          node = await this.api.request('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: this.o.nodeName, labels: this.labels() }, spec: {}, status: await this.status(undefined, now) });
          this.log.info({ node: this.o.nodeName }, 'node registered');
        } catch (e) {
          if (!isAlreadyExists(e)) throw e;
          node = await this.api.request('PATCH', this.path, { metadata: { labels: this.labels() } }, 'application/merge-patch+json');
          node = await this.api.request('PATCH', this.path + '/status', { status: await this.status(node.status, now) }, 'application/merge-patch+json');
          this.log.info({ node: this.o.nodeName }, 'node already registered; status updated');
        }
        this.node = node;
        this.uid = node.metadata?.uid;
        this.lastReport = Date.now();
        return node;
      } catch (e) {
        if (attempt >= 20 || this.stopped) throw e;
        this.log.warn({ err: (e as Error).message }, 'node registration failed; retrying');
        await new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** attempt)));
      }
    }
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), 1000);
    this.timer.unref?.();
    void this.tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }

  /** Report status at the next tick (something changed). */
  poke(): void {
    this.lastReport = 0;
  }

  private async tick(): Promise<void> {
    if (this.busy || this.stopped) return;
    this.busy = true;
    const now = Date.now();
    try {
      if (now >= this.nextLeaseAt) {
        await this.renewLease(now);
        this.nextLeaseAt = now + (this.o.leaseIntervalMs ?? 10_000);
      }
      // status every 10 s is computed; written when it changed or every statusReportMs
      if (now - this.lastCheck >= 10_000 || this.lastReport === 0) {
        this.lastCheck = now;
        const node: KubeObject = await this.api.request('GET', this.path);
        this.node = node;
        this.uid = node.metadata?.uid;
        const want = await this.status(node.status, now);
        const sig = JSON.stringify({ ...want, conditions: want.conditions.map((c: KubeObject) => [c.type, c.status, c.message]) });
        const storedOk = (node.status?.conditions ?? []).every((c: KubeObject) => want.conditions.find((w: KubeObject) => w.type === c.type)?.status === c.status);
        if (sig !== this.lastWritten || !storedOk || now - this.lastReport >= (this.o.statusReportMs ?? 40_000) || this.lastReport === 0) {
          this.node = await this.api.request('PATCH', this.path + '/status', { status: want }, 'application/merge-patch+json');
          this.lastWritten = sig;
          this.lastReport = now;
        }
      }
    } catch (e) {
      if (!this.stopped) this.log.debug({ err: (e as Error).message }, 'node heartbeat failed; retrying');
      if (isNotFound(e)) {
        // the Node was deleted: register it again
        await this.register().catch(() => undefined);
      }
      this.nextLeaseAt = Math.min(this.nextLeaseAt, Date.now() + 1000);
    } finally {
      this.busy = false;
    }
  }

  private async renewLease(now: number): Promise<void> {
    const path = `/apis/coordination.k8s.io/v1/namespaces/${LEASE_NAMESPACE}/leases`;
    const durationSeconds = 40;
    const renewTime = isoMicro(now);
    try {
      await this.api.request('PATCH', `${path}/${encodeURIComponent(this.o.nodeName)}`, { spec: { holderIdentity: this.o.nodeName, leaseDurationSeconds: durationSeconds, renewTime } }, 'application/merge-patch+json');
    } catch (e) {
      if (!isNotFound(e)) throw e;
      await this.api
        .request('POST', path, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.o.nodeName, namespace: LEASE_NAMESPACE, ownerReferences: this.uid ? [{ apiVersion: 'v1', kind: 'Node', name: this.o.nodeName, uid: this.uid }] : undefined },
          spec: { holderIdentity: this.o.nodeName, leaseDurationSeconds: durationSeconds, renewTime, acquireTime: renewTime },
        })
        .catch((err) => {
          if (!isAlreadyExists(err)) throw err;
        });
    }
  }

  /** Waits until node IPAM gave the node a podCIDR (bounded). */
  async waitForPodCIDR(timeoutMs = 120_000): Promise<string> {
    const until = Date.now() + timeoutMs;
    while (!this.stopped && Date.now() < until) {
      const cidr = this.node?.spec?.podCIDR as string | undefined;
      if (cidr) return cidr;
      try {
        this.node = await this.api.request('GET', this.path);
      } catch {}
      if (this.node?.spec?.podCIDR) return this.node.spec.podCIDR;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`node ${this.o.nodeName} got no spec.podCIDR within ${timeoutMs} ms (is the node IPAM controller running?)`);
  }
}
