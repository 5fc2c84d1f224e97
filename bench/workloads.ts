// Workload convergence on simulated nodes: a 1,000-replica Deployment from zero
// to all available on 100 nodes (target < 10 s). Baseline: the same number of
// bare pods created directly by one client (what the API alone allows).
import { startServer } from '../test/support/cluster.js';
import { RawClient } from '../test/support/http.js';

async function waitFor(check: () => Promise<boolean>, maxMs: number): Promise<boolean> {
  const end = Date.now() + maxMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

export async function benchWorkloads(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const s = await startServer({ args: ['--simulated-nodes', '100', '--log-level', 'error'] });
  const c = new RawClient(s.kubeconfig);
  try {
    await waitFor(async () => (await c.request('GET', '/api/v1/nodes')).json().items.length >= 100, 60_000);
    const replicas = 1000;
    const t0 = performance.now();
    await c.request('POST', '/apis/apps/v1/namespaces/default/deployments', {
      metadata: { name: 'big' },
      spec: { replicas, selector: { matchLabels: { app: 'big' } }, template: { metadata: { labels: { app: 'big' } }, spec: { containers: [{ name: 'c', image: 'registry.local/app:1', resources: { requests: { cpu: '10m', memory: '16Mi' } } }] } } },
    });
    const ok = await waitFor(async () => (await c.request('GET', '/apis/apps/v1/namespaces/default/deployments/big')).json().status?.availableReplicas === replicas, 120_000);
    out.deployment_1000_on_100_nodes_available_s = ok ? (performance.now() - t0) / 1000 : -1;
    const scheduled = (await c.request('GET', '/api/v1/namespaces/default/pods?labelSelector=app%3Dbig')).json().items;
    out.deployment_pods_running = scheduled.filter((p: any) => p.status?.phase === 'Running').length;
    out.deployment_nodes_used = new Set(scheduled.map((p: any) => p.spec.nodeName)).size;

    // baseline: 1,000 bare pods by one client with 32 in flight, until Running
    const t1 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < replicas) {
          const i = next++;
          await c.request('POST', '/api/v1/namespaces/default/pods', { metadata: { name: `bare-${i}`, labels: { app: 'bare' } }, spec: { containers: [{ name: 'c', image: 'registry.local/app:1' }] } });
        }
      }),
    );
    const ok2 = await waitFor(async () => (await c.request('GET', '/api/v1/namespaces/default/pods?labelSelector=app%3Dbare&fieldSelector=status.phase%3DRunning')).json().items.length === replicas, 120_000);
    out.baseline_1000_bare_pods_running_s = ok2 ? (performance.now() - t1) / 1000 : -1;
  } finally {
    c.close();
    await s.stop();
  }
  return out;
}
