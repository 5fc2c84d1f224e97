// Deployments, ReplicaSets and ReplicationControllers driven by the real kubectl
// on 3 simulated nodes: create, rolling update within maxSurge/maxUnavailable
// (watched pod by pod), rollout status/history/undo/pause/resume/restart, scale,
// and deletion of the whole tree.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, eventually, type TestServer } from '../support/cluster.js';
import { ApiClient } from '../../src/client/api.js';
import { loadKubeconfig } from '../../src/client/config.js';
import { Informer } from '../../src/client/informer.js';
import { ResourceClient } from '../../src/client/resource.js';
import { ref } from '../../src/client/resources.js';
import type { KubeObject } from '../../src/api/kind.js';

let s: TestServer;
let api: ApiClient;
let pods: Informer;
let binder: NodeJS.Timeout | undefined;
/** true when the real scheduler placed the pods (the fallback binder did not have to) */
let scheduled = true;

const ns = 'deploy-e2e';
const json = async (args: string) => JSON.parse(await s.k(`${args} -n ${ns} -o json`));
const isReady = (p: KubeObject) => (p.status?.conditions ?? []).some((c: KubeObject) => c.type === 'Ready' && c.status === 'True');
const webPods = () => pods.list(ns).filter((p) => p.metadata?.labels?.app === 'web' && !p.metadata?.deletionTimestamp);

before(async () => {
  s = await startServer({ args: ['--simulated-nodes', '3'] });
  api = new ApiClient(loadKubeconfig(s.kubeconfig));
  await eventually(async () => (await s.k('get nodes -o name')).split('\n').filter(Boolean).length === 3, 15_000, '3 simulated nodes');
  await s.k(`create namespace ${ns}`);
  pods = new Informer(new ResourceClient(api, ref('', 'pods')), { namespace: ns });
  await pods.start();
});
after(async () => {
  if (binder) clearInterval(binder);
  pods?.stop();
  await s?.stop();
});

/**
 * Stand-in for the scheduler while it is not there: pods left unbound for 3 s
 * are bound round-robin through pods/binding (the simulator then runs them).
 */
function startFallbackBinder(): void {
  const seen = new Map<string, number>();
  let i = 0;
  binder = setInterval(() => {
    const now = Date.now();
    for (const p of pods.list(ns)) {
      if (p.spec?.nodeName || p.metadata?.deletionTimestamp) continue;
      const key = p.metadata!.name!;
      if (!seen.has(key)) seen.set(key, now);
      if (now - seen.get(key)! < 3000) continue;
      scheduled = false;
      const node = `k8ts-sim-${i++ % 3}`;
      seen.set(key, now + 60_000);
      void api
        .request('POST', `/api/v1/namespaces/${ns}/pods/${key}/binding`, { apiVersion: 'v1', kind: 'Binding', metadata: { name: key }, target: { kind: 'Node', name: node } })
        .catch(() => undefined);
    }
  }, 200);
  binder.unref();
}

async function rolloutStatus(): Promise<string> {
  const r = await s.kubectl(['rollout', 'status', 'deploy/web', '-n', ns, '--timeout=45s'], { timeoutMs: 50_000 });
  assert.equal(r.code, 0, `rollout status failed:\n${r.stderr}\n${r.stdout}`);
  assert.match(r.stdout, /deployment "web" successfully rolled out/);
  return r.stdout;
}

const images = () => webPods().map((p) => p.spec.containers[0].image);

describe('deployments', () => {
  it('creates 6 available replicas spread over the nodes', async (t) => {
    startFallbackBinder();
    await s.k(`create deployment web --image=nginx:1.27 --replicas=6 -n ${ns}`);
    await s.k(['annotate', 'deploy/web', '-n', ns, 'kubernetes.io/change-cause=create nginx:1.27']);
    const d = await eventually(async () => {
      const d = await json('get deploy web');
      return d.status?.availableReplicas === 6 && d.status.updatedReplicas === 6 && d.status.observedGeneration >= d.metadata.generation && d;
    }, 20_000, 'deployment web 6/6 available');
    assert.equal(d.metadata.annotations['deployment.kubernetes.io/revision'], '1');
    assert.ok(d.status.conditions.some((c: KubeObject) => c.type === 'Available' && c.status === 'True' && c.reason === 'MinimumReplicasAvailable'));
    const rs = (await json('get rs')).items;
    assert.equal(rs.length, 1);
    const hash = rs[0].metadata.labels['pod-template-hash'];
    assert.match(hash, /^[bcdfghjklmnpqrstvwxz2456789]+$/);
    assert.equal(rs[0].metadata.name, `web-${hash}`);
    assert.equal(rs[0].metadata.annotations['deployment.kubernetes.io/desired-replicas'], '6');
    assert.equal(rs[0].metadata.annotations['deployment.kubernetes.io/max-replicas'], '8');
    assert.deepEqual(rs[0].metadata.ownerReferences.map((o: KubeObject) => [o.kind, o.name, o.controller, o.blockOwnerDeletion]), [['Deployment', 'web', true, true]]);
    const ps = webPods();
    assert.equal(ps.length, 6);
    for (const p of ps) {
      assert.ok(p.metadata!.name!.startsWith(`web-${hash}-`));
      assert.equal(p.metadata!.ownerReferences![0].name, `web-${hash}`);
    }
    const nodes = new Set(ps.map((p) => p.spec.nodeName));
    if (scheduled) assert.equal(nodes.size, 3, 'spread over the 3 nodes');
    else t.diagnostic('no scheduler bound the pods: the test bound them itself; spreading not checked');
    await eventually(async () => (await json('get rs')).items[0].metadata.annotations['kubernetes.io/change-cause'] === 'create nginx:1.27', 10_000, 'change-cause copied to the RS');
  });

  it('rolls out a new image within maxSurge and maxUnavailable', async () => {
    // 6 replicas, 25%/25%: at most 8 pods, at least 5 available at every step
    let maxPods = 0;
    let minAvailable = Infinity;
    let events = 0;
    const observe = () => {
      const ps = webPods();
      events++;
      maxPods = Math.max(maxPods, ps.length);
      minAvailable = Math.min(minAvailable, ps.filter(isReady).length);
    };
    const h = { onAdd: observe, onUpdate: observe, onDelete: observe };
    pods.addEventHandler(h);
    await s.k(`set image deploy/web nginx=nginx:1.28 -n ${ns}`);
    await s.k(['annotate', 'deploy/web', '-n', ns, '--overwrite', 'kubernetes.io/change-cause=image nginx:1.28']);
    const out = await rolloutStatus();
    await eventually(() => images().length === 6 && images().every((i) => i === 'nginx:1.28'), 15_000, 'all pods on 1.28');
    observe();
    assert.ok(events > 12, `saw the rollout (${events} pod events)\n${out}`);
    assert.ok(maxPods <= 8, `at most replicas+maxSurge pods (saw ${maxPods})`);
    assert.ok(minAvailable >= 5, `at least replicas-maxUnavailable ready (saw ${minAvailable})`);

    const rs = (await json('get rs')).items.sort((a: any, b: any) => a.metadata.annotations['deployment.kubernetes.io/revision'] - b.metadata.annotations['deployment.kubernetes.io/revision']);
    assert.deepEqual(rs.map((r: any) => [r.metadata.annotations['deployment.kubernetes.io/revision'], r.spec.replicas]), [['1', 0], ['2', 6]]);
    const describe = await s.k(`describe deploy web -n ${ns}`);
    assert.match(describe, new RegExp(`NewReplicaSet:\\s+${rs[1].metadata.name} \\(6/6 replicas created\\)`));
    assert.match(describe, new RegExp(`OldReplicaSets:\\s+${rs[0].metadata.name} \\(0/0 replicas created\\)`));
    assert.match(describe, new RegExp(`ScalingReplicaSet\\s.*Scaled up replica set ${rs[1].metadata.name} from 0 to 2`));
    assert.match(describe, new RegExp(`Scaled down replica set ${rs[0].metadata.name} from 6 to 5`));
    assert.match(describe, /Progressing\s+True\s+NewReplicaSetAvailable/);
  });

  it('lists the history with change causes and undoes to the previous revision', async () => {
    await eventually(async () => /image nginx:1\.28/.test(await s.k(`rollout history deploy/web -n ${ns}`)), 10_000, 'history with change cause');
    const hist = await s.k(`rollout history deploy/web -n ${ns}`);
    assert.match(hist, /1\s+create nginx:1\.27/);
    assert.match(hist, /2\s+image nginx:1\.28/);
    await s.k(`rollout undo deploy/web -n ${ns}`);
    await rolloutStatus();
    await eventually(() => images().length === 6 && images().every((i) => i === 'nginx:1.27'), 15_000, 'back on 1.27');
    const d = await json('get deploy web');
    assert.equal(d.spec.template.spec.containers[0].image, 'nginx:1.27');
    assert.equal(d.metadata.annotations['deployment.kubernetes.io/revision'], '3');
    // the old ReplicaSet came back as revision 3 (no third RS)
    const rs: any[] = (await json('get rs')).items;
    assert.equal(rs.length, 2);
    const back = rs.find((r: any) => r.spec.template.spec.containers[0].image === 'nginx:1.27');
    assert.equal(back.metadata.annotations['deployment.kubernetes.io/revision'], '3');
    assert.equal(back.metadata.annotations['deployment.kubernetes.io/revision-history'], '1');
    assert.match(await s.k(`rollout history deploy/web -n ${ns}`), /3\s+create nginx:1\.27/);
  });

  it('does not roll while paused, but scales; resumes; restarts', async () => {
    await s.k(`rollout pause deploy/web -n ${ns}`);
    await s.k(`set image deploy/web nginx=nginx:1.29 -n ${ns}`);
    await eventually(async () => (await json('get deploy web')).status.conditions.some((c: KubeObject) => c.type === 'Progressing' && c.reason === 'DeploymentPaused'), 10_000, 'paused condition');
    await s.k(`scale deploy/web --replicas=8 -n ${ns}`);
    await eventually(() => webPods().filter(isReady).length === 8, 20_000, '8 ready pods while paused');
    assert.ok(images().every((i) => i === 'nginx:1.27'), 'no rollout while paused');
    assert.equal((await json('get rs')).items.length, 2, 'no new RS while paused');
    await s.k(`rollout resume deploy/web -n ${ns}`);
    await rolloutStatus();
    await eventually(() => images().length === 8 && images().every((i) => i === 'nginx:1.29'), 20_000, 'rolled to 1.29');

    await s.k(`rollout restart deploy/web -n ${ns}`);
    await rolloutStatus();
    const d = await json('get deploy web');
    const restartedAt = d.spec.template.metadata.annotations['kubectl.kubernetes.io/restartedAt'];
    assert.ok(restartedAt);
    await eventually(() => webPods().length === 8 && webPods().every((p) => p.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt'] === restartedAt), 20_000, 'restarted pods');
    assert.equal((await json('get rs')).items.length, 4);
  });

  it('scales down, then deleting the deployment removes its ReplicaSets and pods', async () => {
    await s.k(`scale deploy/web --replicas=3 -n ${ns}`);
    await eventually(async () => webPods().length === 3 && (await json('get deploy web')).status.replicas === 3, 20_000, '3 pods');
    await s.k(`delete deployment web -n ${ns}`);
    // needs the garbage collector
    await eventually(async () => (await json('get rs')).items.length === 0 && webPods().length === 0, 30_000, 'replica sets and pods collected');
  });
});

describe('replica sets and replication controllers', () => {
  it('adopts a matching orphan, releases a relabelled pod, keeps the count', async () => {
    await s.k(['apply', '-n', ns, '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'orphan', labels: { app: 'fe' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } }));
    await s.k(['apply', '-n', ns, '-f', '-'], JSON.stringify({
      apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'fe' },
      spec: { replicas: 3, selector: { matchLabels: { app: 'fe' } }, template: { metadata: { labels: { app: 'fe' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
    }));
    const fe = () => pods.list(ns).filter((p) => p.metadata?.labels?.app === 'fe' && !p.metadata?.deletionTimestamp);
    await eventually(() => fe().length === 3 && fe().every((p) => p.metadata?.ownerReferences?.[0]?.name === 'fe'), 15_000, 'orphan adopted, 2 created');
    await eventually(async () => (await json('get rs fe')).status.readyReplicas === 3, 20_000, 'rs fe ready');
    await s.k(`label pod orphan app=gone --overwrite -n ${ns}`);
    await eventually(async () => fe().length === 3 && !(await json('get pod orphan')).metadata.ownerReferences?.length, 15_000, 'released and replaced');
    await s.k(`scale rs fe --replicas=1 -n ${ns}`);
    await eventually(async () => fe().length === 1 && (await json('get rs fe')).status.replicas === 1, 15_000, 'scaled to 1');
  });

  it('runs a ReplicationController', async () => {
    await s.k(['apply', '-n', ns, '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'rc' },
      spec: { replicas: 2, template: { metadata: { labels: { app: 'rc' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
    }));
    await eventually(async () => (await json('get rc rc')).status.readyReplicas === 2, 20_000, 'rc ready');
    const out = await s.k(`get rc rc -n ${ns}`);
    assert.match(out, /rc\s+2\s+2\s+2/);
    await s.k(`scale rc rc --replicas=0 -n ${ns}`);
    await eventually(() => pods.list(ns).filter((p) => p.metadata?.labels?.app === 'rc' && !p.metadata?.deletionTimestamp).length === 0, 15_000, 'rc scaled to 0');
  });
});
