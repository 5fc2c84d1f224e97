// Pod admission (default tolerations, priority), ResourceQuota, PodDisruptionBudgets,
// the eviction subresource and kubectl drain/cordon/uncordon, with the real kubectl
// on simulated nodes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, startServer, type TestServer } from '../support/cluster.js';
import { RawClient } from '../support/http.js';

let s: TestServer;
let raw: RawClient;
let node = '';

const podBody = (name: string, extra: Record<string, unknown> = {}, labels: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels },
  spec: { containers: [{ name: 'c', image: 'busybox' }], terminationGracePeriodSeconds: 0, ...extra },
});

async function createPod(ns: string, body: object) {
  const r = await raw.request('POST', `/api/v1/namespaces/${ns}/pods`, body);
  return r;
}

const isReady = (p: any) => (p?.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');

/** Running and Ready: by the simulator when it runs the pod, else by hand through pods/status. */
async function makeReady(ns: string, name: string): Promise<void> {
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline) {
    const p = (await raw.request('GET', `/api/v1/namespaces/${ns}/pods/${name}`)).json();
    if (isReady(p)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const r = await raw.request(
    'PATCH',
    `/api/v1/namespaces/${ns}/pods/${name}/status`,
    { status: { phase: 'Running', podIP: '10.42.0.9', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }] } },
    { 'Content-Type': 'application/merge-patch+json' },
  );
  assert.equal(r.status, 200, r.body);
}

async function pdbStatus(ns: string, name: string): Promise<any> {
  return (await raw.request('GET', `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets/${name}`)).json().status ?? {};
}

describe('disruption budgets, eviction, quota and pod admission', { timeout: 120_000 }, () => {
  before(async () => {
    s = await startServer({ args: ['--simulated-nodes', '3', '--default-not-ready-toleration-seconds', '77'] });
    raw = new RawClient(s.kubeconfig);
    // nodes come from the simulator; without it, register some by hand
    const names = await eventually(
      async () => {
        const items = (await raw.request('GET', '/api/v1/nodes')).json().items ?? [];
        return items.length >= 3 ? items.map((n: any) => n.metadata.name as string) : undefined;
      },
      5000,
      'simulated nodes',
    ).catch(async () => {
      for (const n of ['node-a', 'node-b', 'node-c']) await raw.request('POST', '/api/v1/nodes', { metadata: { name: n } });
      return ['node-a', 'node-b', 'node-c'];
    });
    node = names.sort()[0];
    for (const ns of ['adm', 'quota', 'pdb']) await s.k(['create', 'namespace', ns]);
  });
  after(async () => {
    await s?.stop();
  });

  it('adds the default not-ready/unreachable tolerations (flag-controlled seconds)', async () => {
    const r = await createPod('adm', podBody('tol'));
    assert.equal(r.status, 201, r.body);
    const tol = r.json().spec.tolerations;
    assert.deepEqual(
      tol.filter((t: any) => t.key?.startsWith('node.kubernetes.io/')),
      [
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 77 },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      ],
    );
    // a pod that already tolerates not-ready keeps its own toleration
    const own = { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 5 };
    const r2 = await createPod('adm', podBody('tol2', { tolerations: [own] }));
    const t2 = r2.json().spec.tolerations;
    assert.deepEqual(t2.filter((t: any) => t.key === 'node.kubernetes.io/not-ready'), [own]);
    assert.equal(t2.find((t: any) => t.key === 'node.kubernetes.io/unreachable')?.tolerationSeconds, 300);
  });

  it('resolves priorityClassName to spec.priority', async () => {
    await s.k(['create', 'priorityclass', 'high', '--value=1000', '--description=test']);
    const r = await createPod('adm', podBody('prio', { priorityClassName: 'high' }));
    assert.equal(r.status, 201, r.body);
    assert.equal(r.json().spec.priority, 1000);
    assert.equal(r.json().spec.preemptionPolicy, 'PreemptLowerPriority');
    const crit = await createPod('adm', podBody('crit', { priorityClassName: 'system-node-critical' }));
    assert.equal(crit.json().spec.priority, 2000001000);
    const none = await createPod('adm', podBody('noprio'));
    assert.equal(none.json().spec.priority, 0);
    const bad = await s.kubectl(['run', 'nope', '-n', 'adm', '--image=busybox', '--overrides={"spec":{"priorityClassName":"nope"}}']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /pods "nope" is forbidden: no PriorityClass with name nope was found/);
    const own = await createPod('adm', podBody('own', { priority: 5 }));
    assert.equal(own.status, 403);
    assert.match(own.json().message, /the integer value of priority \(5\) must not be provided in pod spec; priority admission controller computed 0/);
  });

  it('enforces a pods quota with upstream messages and shows usage', async () => {
    await s.k(['create', 'quota', 'small', '-n', 'quota', '--hard=pods=2']);
    await eventually(async () => (await raw.request('GET', '/api/v1/namespaces/quota/resourcequotas/small')).json().status?.used?.pods === '0', 15_000, 'quota usage');
    for (const n of ['q1', 'q2']) assert.equal((await createPod('quota', podBody(n))).status, 201);
    const third = await s.kubectl(['run', 'q3', '-n', 'quota', '--image=busybox']);
    assert.notEqual(third.code, 0);
    assert.match(third.stderr, /pods "q3" is forbidden: exceeded quota: small, requested: pods=1, used: pods=2, limited: pods=2/);
    const desc = await s.k(['describe', 'quota', 'small', '-n', 'quota']);
    assert.match(desc, /Resource\s+Used\s+Hard/);
    assert.match(desc, /pods\s+2\s+2/);
    // deleting a pod gives its share back
    await s.k(['delete', 'pod', 'q1', '-n', 'quota', '--grace-period=0', '--force']);
    await eventually(async () => (await raw.request('GET', '/api/v1/namespaces/quota/resourcequotas/small')).json().status?.used?.pods === '1', 15_000, 'quota replenished');
    assert.equal((await createPod('quota', podBody('q4'))).status, 201);
  });

  it('concurrent creates cannot overshoot a quota', async () => {
    await s.k(['create', 'namespace', 'quota-race']);
    await s.k(['create', 'quota', 'race', '-n', 'quota-race', '--hard=pods=3,count/configmaps=4']);
    await eventually(async () => (await raw.request('GET', '/api/v1/namespaces/quota-race/resourcequotas/race')).json().status?.used?.pods === '0', 15_000, 'quota usage');
    const codes = await Promise.all(Array.from({ length: 12 }, (_, i) => createPod('quota-race', podBody(`r${i}`)).then((r) => r.status)));
    assert.equal(codes.filter((c) => c === 201).length, 3, String(codes));
    assert.equal(codes.filter((c) => c === 403).length, 9, String(codes));
    // count/<resource> quotas: the namespace already holds kube-root-ca.crt when a controller made it
    const cms = await Promise.all(Array.from({ length: 8 }, (_, i) => raw.request('POST', '/api/v1/namespaces/quota-race/configmaps', { metadata: { name: `c${i}` } }).then((r) => r.status)));
    const q = (await raw.request('GET', '/api/v1/namespaces/quota-race/resourcequotas/race')).json();
    assert.equal(q.status.used.pods, '3');
    const have = (await raw.request('GET', '/api/v1/namespaces/quota-race/configmaps')).json().items.map((c: any) => c.metadata.name);
    assert.equal(q.status.used['count/configmaps'], '4', JSON.stringify({ cms, have, q: q.status }));
    assert.ok(cms.filter((c) => c === 201).length <= 4, String(cms));
  });

  it('requires cpu requests when a quota limits them, and counts them', async () => {
    await s.k(['create', 'namespace', 'quota-cpu']);
    await s.k(['create', 'quota', 'compute', '-n', 'quota-cpu', '--hard=requests.cpu=1,requests.memory=1Gi']);
    await eventually(async () => (await raw.request('GET', '/api/v1/namespaces/quota-cpu/resourcequotas/compute')).json().status?.used?.['requests.cpu'] === '0', 15_000, 'quota usage');
    const bare = await createPod('quota-cpu', podBody('bare'));
    assert.equal(bare.status, 403);
    assert.match(bare.json().message, /failed quota: compute: must specify requests.cpu for: c; requests.memory for: c/);
    const withReq = (name: string, cpu: string) => podBody(name, { containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu, memory: '100Mi' } } }] });
    assert.equal((await createPod('quota-cpu', withReq('a', '600m'))).status, 201);
    const over = await createPod('quota-cpu', withReq('b', '500m'));
    assert.equal(over.status, 403);
    assert.match(over.json().message, /exceeded quota: compute, requested: requests.cpu=500m, used: requests.cpu=600m, limited: requests.cpu=1$/);
    const q = (await raw.request('GET', '/api/v1/namespaces/quota-cpu/resourcequotas/compute')).json();
    assert.equal(q.status.used['requests.cpu'], '600m');
    assert.equal(q.status.used['requests.memory'], '100Mi');
  });

  it('a budget with no room blocks eviction and drain; with room exactly one pod goes', async () => {
    for (const n of ['web-1', 'web-2']) {
      const r = await createPod('pdb', podBody(n, { nodeName: node }, { app: 'web' }));
      assert.equal(r.status, 201, r.body);
    }
    for (const n of ['web-1', 'web-2']) await makeReady('pdb', n);
    await s.k(['create', 'pdb', 'web', '-n', 'pdb', '--selector=app=web', '--min-available=2']);
    await eventually(async () => {
      const st = await pdbStatus('pdb', 'web');
      return st.currentHealthy === 2 && st.expectedPods === 2 && st.desiredHealthy === 2 && st.observedGeneration === 1;
    }, 15_000, 'pdb status');
    const table = await s.k(['get', 'pdb', 'web', '-n', 'pdb']);
    assert.match(table, /NAME\s+MIN AVAILABLE\s+MAX UNAVAILABLE\s+ALLOWED DISRUPTIONS/);
    assert.match(table, /web\s+2\s+N\/A\s+0/);
    const st = await pdbStatus('pdb', 'web');
    assert.equal(st.disruptionsAllowed, 0);
    assert.deepEqual(
      st.conditions.map((c: any) => [c.type, c.status, c.reason]),
      [['DisruptionAllowed', 'False', 'InsufficientPods']],
    );

    // the eviction API refuses with 429 and says why
    const ev = await raw.request('POST', '/api/v1/namespaces/pdb/pods/web-1/eviction', { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'web-1', namespace: 'pdb' } });
    assert.equal(ev.status, 429, ev.body);
    assert.equal(ev.json().reason, 'TooManyRequests');
    assert.equal(ev.json().message, "Cannot evict pod as it would violate the pod's disruption budget.");
    assert.deepEqual(ev.json().details.causes, [{ reason: 'DisruptionBudget', message: 'The disruption budget web needs 2 healthy pods and has 2 currently' }]);

    const drain = await s.kubectl(['drain', node, '--ignore-daemonsets', '--delete-emptydir-data', '--force', '--pod-selector=app=web', '--timeout=8s'], { timeoutMs: 30_000 });
    assert.notEqual(drain.code, 0, drain.stdout);
    assert.match(drain.stdout + drain.stderr, /Cannot evict pod as it would violate the pod's disruption budget/);
    const names = async () => ((await raw.request('GET', '/api/v1/namespaces/pdb/pods')).json().items as any[]).filter((p) => !p.metadata.deletionTimestamp).map((p) => p.metadata.name).sort();
    assert.deepEqual(await names(), ['web-1', 'web-2']);
    // drain cordoned the node
    assert.match(await s.k(['get', 'node', node]), /SchedulingDisabled/);

    // a third healthy pod makes room for exactly one disruption, even with concurrent evictions
    assert.equal((await createPod('pdb', podBody('web-3', { nodeName: node }, { app: 'web' }))).status, 201);
    await makeReady('pdb', 'web-3');
    await eventually(async () => (await pdbStatus('pdb', 'web')).disruptionsAllowed === 1, 15_000, 'one disruption allowed');
    assert.match(await s.k(['get', 'pdb', 'web', '-n', 'pdb']), /web\s+2\s+N\/A\s+1/);
    const drain2 = await s.kubectl(['drain', node, '--ignore-daemonsets', '--delete-emptydir-data', '--force', '--pod-selector=app=web', '--timeout=8s'], { timeoutMs: 30_000 });
    assert.notEqual(drain2.code, 0);
    assert.match(drain2.stdout + drain2.stderr, /evicted/);
    assert.equal((await names()).length, 2);
    await eventually(async () => {
      const st2 = await pdbStatus('pdb', 'web');
      return st2.currentHealthy === 2 && st2.disruptionsAllowed === 0 && !st2.disruptedPods;
    }, 15_000, 'pdb settles after the eviction');
  });

  it('evicts freely without a budget, and refuses pods under two budgets', async () => {
    assert.equal((await createPod('pdb', podBody('free', { nodeName: node }, { app: 'free' }))).status, 201);
    const ok = await raw.request('POST', '/api/v1/namespaces/pdb/pods/free/eviction', { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'free' } });
    assert.equal(ok.status, 201, ok.body);
    assert.equal(ok.json().status, 'Success');
    await eventually(async () => (await raw.request('GET', '/api/v1/namespaces/pdb/pods/free')).status === 404, 10_000, 'evicted pod gone');

    await s.k(['create', 'pdb', 'web-too', '-n', 'pdb', '--selector=app=web', '--max-unavailable=1']);
    const [name] = ((await raw.request('GET', '/api/v1/namespaces/pdb/pods?labelSelector=app%3Dweb')).json().items as any[]).map((p) => p.metadata.name);
    const two = await raw.request('POST', `/api/v1/namespaces/pdb/pods/${name}/eviction`, { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name } });
    assert.equal(two.status, 500, two.body);
    assert.match(two.json().message, /more than one PodDisruptionBudget/);
  });

  it('cordon and uncordon toggle SchedulingDisabled', async () => {
    const other = (await s.k(['get', 'nodes', '-o', 'name'])).trim().split('\n').map((l) => l.replace('node/', '')).find((n) => n !== node)!;
    await s.k(['cordon', other]);
    assert.match(await s.k(['get', 'nodes']), new RegExp(`${other}\\s+\\S*SchedulingDisabled`));
    await s.k(['uncordon', other]);
    await s.k(['uncordon', node]);
    assert.doesNotMatch(await s.k(['get', 'nodes']), /SchedulingDisabled/);
  });
});
