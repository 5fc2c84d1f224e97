// Scheduler benchmark: scheduling throughput and latency (pod create → bound)
// for 10,000 pods on 5,000 and on 500 nodes. The scheduler runs in this
// process against a real `k8ts server` child (no simulator: Node objects are
// created through the API); its pods name their own schedulerName so the
// server's scheduler leaves them alone. Every loop is bounded in count and time.
import pino from 'pino';
import { startServer } from '../test/support/cluster.js';
import { ApiClient } from '../src/client/api.js';
import { loadKubeconfig } from '../src/client/config.js';
import { InformerFactory } from '../src/client/factory.js';
import { startScheduler } from '../src/scheduler/index.js';

const schedulerName = 'bench-scheduler';

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

/** Run fn(i) for i in [0, n) with at most `concurrency` in flight; stops at the deadline. */
async function bounded(n: number, concurrency: number, deadline: number, fn: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < n && performance.now() < deadline) {
      const i = next++;
      await fn(i);
      done++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return done;
}

const node = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'topology.kubernetes.io/zone': `zone-${name.length % 3}` } },
  spec: {},
  status: {
    capacity: { cpu: '4', memory: '16Gi', pods: '110' },
    allocatable: { cpu: '4', memory: '16Gi', pods: '110' },
    conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'bench node', lastHeartbeatTime: new Date().toISOString(), lastTransitionTime: new Date().toISOString() }],
  },
});

const pod = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', labels: { app: 'bench' } },
  spec: { schedulerName, containers: [{ name: 'c', image: 'registry.local/app:1', resources: { requests: { cpu: '10m', memory: '16Mi' } } }] },
});

export async function benchSchedulerOn(nodes: number, pods: number, maxMs: number): Promise<Record<string, number>> {
  // a long grace period: these nodes never heartbeat, and must not turn unreachable mid-run
  const s = await startServer({ args: ['--simulated-nodes', '0', '--node-monitor-grace-period', '3600'] });
  const api = new ApiClient({ ...loadKubeconfig(s.kubeconfig), userAgent: 'k8ts/bench-scheduler' });
  const factory = new InformerFactory(api);
  const out: Record<string, number> = {};
  let sched: Awaited<ReturnType<typeof startScheduler>> | undefined;
  try {
    const deadline = performance.now() + maxMs;
    let t = performance.now();
    const made = await bounded(nodes, 64, deadline, async (i) => {
      const n = node(`bench-node-${i}`);
      await api.request('POST', '/api/v1/nodes', n);
      // a create may drop status like upstream's strategy would; set it explicitly
      await api.request('PATCH', `/api/v1/nodes/${n.metadata.name}/status`, { status: n.status }, 'application/merge-patch+json');
    });
    out.nodes = made;
    out.node_create_s = (performance.now() - t) / 1000;

    const created = new Map<string, number>();
    const latency: number[] = [];
    let lastBound = 0;
    let allBound!: () => void;
    const finished = new Promise<void>((r) => (allBound = r));
    sched = await startScheduler(factory, api, pino({ level: 'silent' }), {
      schedulerName,
      onBound: (p) => {
        const c = created.get(p.metadata!.name!);
        if (c === undefined) return;
        lastBound = performance.now();
        latency.push(lastBound - c);
        if (latency.length >= pods) allBound();
      },
    });
    t = performance.now();
    const sent = await bounded(pods, 64, deadline, async (i) => {
      const name = `bench-pod-${i}`;
      created.set(name, performance.now());
      await api.request('POST', '/api/v1/namespaces/default/pods', pod(name));
    });
    const createEnd = performance.now();
    const left = Math.max(1000, deadline - performance.now());
    await Promise.race([finished, new Promise((r) => setTimeout(r, left))]);
    out.pods_created = sent;
    out.pods_bound = latency.length;
    out.create_pods_per_s = sent / ((createEnd - t) / 1000);
    out.scheduling_pods_per_s = latency.length / (((lastBound || performance.now()) - t) / 1000);
    out.latency_p50_ms = percentile(latency, 50);
    out.latency_p99_ms = percentile(latency, 99);
    // the algorithm alone: CPU time of scheduling cycles, binding excluded
    out.cycle_pods_per_s = sched.scheduler.stats.cycles / (sched.scheduler.stats.cycleMs / 1000);

    // a backlog: pods created while the scheduler is stopped, then scheduled at once
    sched.stop();
    factory.stop();
    const backlog = Math.min(pods, 5000);
    const names: string[] = [];
    await bounded(backlog, 64, deadline, async (i) => {
      const name = `backlog-pod-${i}`;
      await api.request('POST', '/api/v1/namespaces/default/pods', pod(name));
      names.push(name);
    });
    const factory2 = new InformerFactory(api);
    let bound = 0;
    let doneB!: () => void;
    const finishedB = new Promise<void>((r) => (doneB = r));
    let tb = 0;
    let lastB = 0;
    const sched2 = await startScheduler(factory2, api, pino({ level: 'silent' }), {
      schedulerName,
      onBound: (p) => {
        if (!p.metadata!.name!.startsWith('backlog-')) return;
        lastB = performance.now();
        if (++bound >= names.length) doneB();
      },
    });
    tb = performance.now();
    await Promise.race([finishedB, new Promise((r) => setTimeout(r, Math.max(1000, deadline - performance.now())))]);
    out.backlog_pods = bound;
    out.backlog_pods_per_s = bound / (((lastB || performance.now()) - tb) / 1000);
    sched2.stop();
    factory2.stop();
  } finally {
    sched?.stop();
    factory.stop();
    api.close();
    await s.stop();
  }
  return out;
}

export async function benchScheduler(): Promise<Record<string, number>> {
  const results: Record<string, number> = {};
  for (const [nodes, pods] of [
    [5000, 10_000],
    [500, 10_000],
  ] as const) {
    const r = await benchSchedulerOn(nodes, pods, 240_000);
    for (const [k, v] of Object.entries(r)) results[`${nodes}n_${k}`] = v;
    process.stderr.write(`bench: scheduler ${nodes} nodes: ${JSON.stringify(r)}\n`);
  }
  return results;
}

// `node dist/bench/scheduler.js` runs it alone
if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await benchScheduler();
  process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  process.exit(0); // stray retries of fire-and-forget event writes must not keep a finished run alive
}
