// Scale: 5,000 simulated nodes and 150,000 pods held by one server (target
// < 6 GB RSS, mutating API calls p99 < 1 s while it fills). Opt-in, it takes
// minutes: `npm run bench -- scale`. Pods are bound with spec.nodeName (the
// scheduler's throughput has its own benchmark); the in-process simulator
// makes them Running. Bounded in count and time.
import { readFileSync } from 'node:fs';
import { startServer } from '../test/support/cluster.js';
import { RawClient } from '../test/support/http.js';

const NODES = Number(process.env.K8TS_SCALE_NODES ?? 5000);
const PODS = Number(process.env.K8TS_SCALE_PODS ?? 150_000);
const MAX_MS = 15 * 60_000;

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

export async function benchScale(): Promise<Record<string, number>> {
  const out: Record<string, number> = { nodes: NODES, pods_target: PODS };
  const t0 = performance.now();
  const s = await startServer({ args: ['--simulated-nodes', String(NODES), '--cluster-cidr', '10.64.0.0/10', '--log-level', 'error'] });
  out.start_with_nodes_s = (performance.now() - t0) / 1000;
  const c = new RawClient(s.kubeconfig);
  const probe = new RawClient(s.kubeconfig);
  const deadline = Date.now() + MAX_MS;
  try {
    const nodes = (await c.request('GET', '/api/v1/nodes')).json().items.map((n: any) => n.metadata.name);
    out.nodes_registered = nodes.length;
    await probe.request('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'probe' }, data: { n: '0' } });
    // mutating latency while the cluster fills: one PATCH every 100 ms
    const lat: number[] = [];
    let filling = true;
    const prober = (async () => {
      for (let i = 0; filling && Date.now() < deadline; i++) {
        const t = performance.now();
        await probe.request('PATCH', '/api/v1/namespaces/default/configmaps/probe', { data: { n: String(i) } }, { 'Content-Type': 'application/merge-patch+json' });
        lat.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    let next = 0;
    let created = 0;
    const tc = performance.now();
    await Promise.all(
      Array.from({ length: 48 }, async () => {
        while (next < PODS && Date.now() < deadline) {
          const i = next++;
          const r = await c.request('POST', '/api/v1/namespaces/default/pods', {
            metadata: { name: `s-${i}`, labels: { app: 'scale', shard: String(i % 100) } },
            spec: { nodeName: nodes[i % nodes.length], containers: [{ name: 'c', image: 'registry.local/app:1', resources: { requests: { cpu: '1m', memory: '1Mi' } } }] },
          });
          if (r.status === 201) created++;
        }
      }),
    );
    out.pods_created = created;
    out.create_pods_per_s = created / ((performance.now() - tc) / 1000);
    filling = false;
    await prober;
    out.mutating_p50_ms = percentile(lat, 50);
    out.mutating_p99_ms = percentile(lat, 99);
    out.rss_after_creates_mb = rssMb(s.proc.pid!);
    // wait (bounded) for the simulator to report them Running, sampling RSS
    // a sample of 200 pods, not a 150,000-item list, tells how far the simulator got
    let runningShare = 0;
    while (Date.now() < deadline) {
      let n = 0;
      for (let k = 0; k < 200; k++) {
        const r = await c.request('GET', `/api/v1/namespaces/default/pods/s-${Math.floor(Math.random() * created)}`);
        if (r.status === 200 && r.json().status?.phase === 'Running') n++;
      }
      runningShare = n / 200;
      if (runningShare === 1) break;
      await new Promise((r) => setTimeout(r, 5000));
    }
    out.running_share_sampled = runningShare;
    out.settle_s = (performance.now() - tc) / 1000;
    out.rss_settled_mb = rssMb(s.proc.pid!);
    const tl = performance.now();
    await c.request('GET', '/api/v1/pods?limit=500');
    out.list_pods_page500_ms = performance.now() - tl;
  } finally {
    c.close();
    probe.close();
    await s.stop();
  }
  return out;
}
