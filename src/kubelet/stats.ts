// The kubelet's /stats/summary (the shape metrics-server and `kubectl top`
// read) and /metrics (Prometheus text). Containers' numbers come from the
// runtime (CRI ListContainerStats); our CRI proto has no ListPodSandboxStats,
// so a pod's cpu/memory is the sum of its containers. The node's come from /proc.
import { readFileSync, statfsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import type { CriClient } from './cri/client.js';

const USER_HZ = 100; // /proc/stat counts in 1/100 s on every Linux we run on
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
const nanosToIso = (n: string | undefined) => (n && n !== '0' ? iso(Number(BigInt(n) / 1_000_000n)) : iso(Date.now()));
const num = (v: { value: string | number } | null | undefined): number | undefined => (v ? Number(v.value) : undefined);

interface Cpu {
  time: string;
  usageNanoCores?: number;
  usageCoreNanoSeconds?: number;
}
interface Memory {
  time: string;
  availableBytes?: number;
  usageBytes?: number;
  workingSetBytes?: number;
  rssBytes?: number;
  pageFaults?: number;
  majorPageFaults?: number;
}

function bootTimeMs(): number {
  try {
    return Date.now() - Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 1000;
  } catch {
    return Date.now();
  }
}

/** Total busy CPU time of the host, ns (everything but idle and iowait). */
function hostCpuNanos(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith('cpu '));
    if (!line) return undefined;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    const busy = (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0);
    return Math.round((busy * 1e9) / USER_HZ);
  } catch {
    return undefined;
  }
}

function hostMemory(now: number): Memory {
  const m: Record<string, number> = {};
  try {
    for (const l of readFileSync('/proc/meminfo', 'utf8').split('\n')) {
      const x = /^(\w+):\s+(\d+)/.exec(l);
      if (x) m[x[1]!] = Number(x[2]) * 1024;
    }
  } catch {}
  const total = m.MemTotal ?? 0;
  const usage = total - (m.MemFree ?? 0);
  // like cadvisor: the working set leaves out page cache the kernel can drop first
  const workingSet = Math.max(0, usage - (m['Inactive(file)'] ?? 0));
  return { time: iso(now), availableBytes: Math.max(0, total - workingSet), usageBytes: usage, workingSetBytes: workingSet };
}

function fsStats(path: string, now: number) {
  try {
    const s = statfsSync(path);
    return {
      time: iso(now),
      availableBytes: s.bavail * s.bsize,
      capacityBytes: s.blocks * s.bsize,
      usedBytes: (s.blocks - s.bfree) * s.bsize,
      inodesFree: s.ffree,
      inodes: s.files,
      inodesUsed: s.files - s.ffree,
    };
  } catch {
    return { time: iso(now) };
  }
}

export interface StatsProviderOptions {
  cri: CriClient;
  nodeName: string;
  /** the kubelet's root dir: nodefs */
  dataDir: string;
}

export class StatsProvider {
  private lastCpu?: { at: number; nanos: number };
  private nanoCores?: number;

  constructor(private readonly o: StatsProviderOptions) {
    // a first sample, so the first summary already has a rate
    this.nodeCpu(Date.now());
  }

  /** The node's CPU: cumulative busy time, and cores used since the previous sample. */
  private nodeCpu(now: number): Cpu {
    const nanos = hostCpuNanos();
    if (nanos === undefined) return { time: iso(now) };
    if (this.lastCpu && now - this.lastCpu.at >= 100) {
      this.nanoCores = Math.max(0, Math.round(((nanos - this.lastCpu.nanos) / ((now - this.lastCpu.at) * 1e6)) * 1e9));
    }
    if (!this.lastCpu || now - this.lastCpu.at >= 100) this.lastCpu = { at: now, nanos };
    return { time: iso(now), usageNanoCores: this.nanoCores, usageCoreNanoSeconds: nanos };
  }

  async summary(): Promise<unknown> {
    const now = Date.now();
    const { cri } = this.o;
    const [sandboxes, containers, stats, imageFs] = await Promise.all([
      cri.listPodSandbox(undefined, { timeoutMs: 10_000 }),
      cri.listContainers(undefined, { timeoutMs: 10_000 }),
      cri.listContainerStats(undefined, { timeoutMs: 10_000 }),
      cri.imageFsInfo({ timeoutMs: 10_000 }).catch(() => undefined),
    ]);
    const statsById = new Map(stats.map((s) => [s.attributes?.id ?? '', s]));
    const pods = sandboxes
      .filter((s) => s.state === 'SANDBOX_READY')
      .map((s) => {
        const cs = containers
          .filter((c) => c.podSandboxId === s.id && c.state === 'CONTAINER_RUNNING')
          .map((c) => {
            const st = statsById.get(c.id);
            const cpu: Cpu = { time: nanosToIso(st?.cpu?.timestamp), usageNanoCores: num(st?.cpu?.usageNanoCores), usageCoreNanoSeconds: num(st?.cpu?.usageCoreNanoSeconds) };
            const m = st?.memory;
            const memory: Memory = {
              time: nanosToIso(m?.timestamp),
              availableBytes: num(m?.availableBytes),
              usageBytes: num(m?.usageBytes),
              workingSetBytes: num(m?.workingSetBytes),
              rssBytes: num(m?.rssBytes),
              pageFaults: num(m?.pageFaults),
              majorPageFaults: num(m?.majorPageFaults),
            };
            const used = num(st?.writableLayer?.usedBytes);
            return {
              name: c.metadata?.name ?? '',
              startTime: nanosToIso(c.createdAt),
              cpu,
              memory,
              ...(used !== undefined ? { rootfs: { time: nanosToIso(st?.writableLayer?.timestamp), usedBytes: used, inodesUsed: num(st?.writableLayer?.inodesUsed) } } : {}),
            };
          });
        const sum = (f: (c: (typeof cs)[number]) => number | undefined) => {
          const xs = cs.map(f).filter((x): x is number => x !== undefined);
          return xs.length ? xs.reduce((a, b) => a + b, 0) : undefined;
        };
        return {
          podRef: { name: s.metadata?.name ?? '', namespace: s.metadata?.namespace ?? '', uid: s.metadata?.uid ?? '' },
          startTime: nanosToIso(s.createdAt),
          containers: cs,
          cpu: { time: iso(now), usageNanoCores: sum((c) => c.cpu.usageNanoCores), usageCoreNanoSeconds: sum((c) => c.cpu.usageCoreNanoSeconds) },
          memory: { time: iso(now), usageBytes: sum((c) => c.memory.usageBytes), workingSetBytes: sum((c) => c.memory.workingSetBytes), rssBytes: sum((c) => c.memory.rssBytes) },
        };
      });
    const nodefs = fsStats(this.o.dataDir, now);
    const imgUsed = imageFs?.imageFilesystems?.[0];
    const imgMount = imgUsed?.fsId?.mountpoint;
    return {
      node: {
        nodeName: this.o.nodeName,
        startTime: iso(bootTimeMs()),
        cpu: this.nodeCpu(now),
        memory: hostMemory(now),
        fs: nodefs,
        runtime: {
          imageFs: { ...(imgMount ? fsStats(imgMount, now) : nodefs), ...(imgUsed ? { usedBytes: num(imgUsed.usedBytes), inodesUsed: num(imgUsed.inodesUsed) } : {}) },
        },
      },
      pods,
    };
  }

  /** GET /stats/summary */
  handler = async (_req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = JSON.stringify(await this.summary(), null, 2);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  };
}

/** The kubelet's Prometheus metrics; running pods/containers are read from the runtime at scrape time. */
export class KubeletMetrics {
  readonly registry = new Registry();
  /** seconds from the agent's start until it ran */
  readonly nodeStartupDuration: Gauge;
  /** pods the agent began to run (one per pod worker) */
  readonly podStarts: Counter;

  constructor(cri: CriClient) {
    const registers = [this.registry];
    new Gauge({
      name: 'kubelet_running_pods',
      help: 'Number of pods that have a running pod sandbox',
      registers,
      async collect() {
        const list = await cri.listPodSandbox(undefined, { timeoutMs: 10_000 });
        this.set(list.filter((s) => s.state === 'SANDBOX_READY').length);
      },
    });
    new Gauge({
      name: 'kubelet_running_containers',
      help: 'Number of containers currently running',
      labelNames: ['container_state'],
      registers,
      async collect() {
        const list = await cri.listContainers(undefined, { timeoutMs: 10_000 });
        this.reset();
        const byState = new Map<string, number>();
        for (const c of list) {
          const st = String(c.state).replace(/^CONTAINER_/, '').toLowerCase();
          byState.set(st, (byState.get(st) ?? 0) + 1);
        }
        for (const st of ['created', 'running', 'exited', 'unknown']) this.set({ container_state: st }, byState.get(st) ?? 0);
      },
    });
    this.nodeStartupDuration = new Gauge({
      name: 'kubelet_node_startup_duration_seconds',
      help: 'Seconds from the kubelet start until the node agent ran',
      registers,
    });
    this.podStarts = new Counter({
      name: 'kubelet_started_pods_total',
      help: 'Cumulative number of pods the kubelet began to run',
      registers,
    });
  }

  /** GET /metrics */
  handler = async (_req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await this.registry.metrics();
    res.writeHead(200, { 'Content-Type': this.registry.contentType, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  };
}
