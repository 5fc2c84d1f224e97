// StatefulSets and DaemonSets on 3 simulated nodes, driven by the real kubectl:
// ordered creation and reverse removal, claims, rolling updates from the top
// ordinal, ControllerRevision history (rollout status|history|undo), one daemon
// pod per node, also on a node that joins later.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { cli, eventually, startServer, type TestServer } from '../support/cluster.js';

let s: TestServer;
const children: ChildProcess[] = [];

before(async () => {
  s = await startServer({ args: ['--simulated-nodes', '3'] });
});
after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await s?.stop();
});

/** `kubectl get pods -w` in the background: one line per watch event. */
function watchPods(selector: string): { lines: string[]; stop(): void } {
  const tpl = '{.type} {.object.metadata.name} {.object.status.phase} ready={.object.status.conditions[?(@.type=="Ready")].status} del={.object.metadata.deletionTimestamp}{"\\n"}';
  const p = spawn('kubectl', ['get', 'pods', '-l', selector, '-w', '--output-watch-events', '-o', `jsonpath=${tpl}`], { env: { ...process.env, KUBECONFIG: s.kubeconfig } });
  children.push(p);
  const lines: string[] = [];
  let buf = '';
  p.stdout.on('data', (d) => {
    buf += d;
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts.filter(Boolean));
  });
  return { lines, stop: () => p.kill('SIGKILL') };
}

const firstIndex = (lines: string[], re: RegExp) => lines.findIndex((l) => re.test(l));

async function podsByNode(selector: string): Promise<Map<string, string[]>> {
  const out = JSON.parse(await s.k(['get', 'pods', '-l', selector, '-o', 'json']));
  const m = new Map<string, string[]>();
  for (const p of out.items) {
    if (p.metadata.deletionTimestamp) continue;
    const n = p.spec.nodeName ?? '<none>';
    m.set(n, [...(m.get(n) ?? []), p.metadata.name]);
  }
  return m;
}

const statefulSet = `
apiVersion: v1
kind: Service
metadata: {name: nginx}
spec:
  clusterIP: None
  selector: {app: nginx}
  ports: [{port: 80, name: web}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: nginx
  replicas: 3
  selector: {matchLabels: {app: nginx}}
  template:
    metadata: {labels: {app: nginx}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: nginx, image: "nginx:1.25"}]
  volumeClaimTemplates:
  - metadata: {name: www}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
`;

describe('StatefulSet', () => {
  it('creates web-0..2 in order, each after the previous one is Ready, with claims and identities', async () => {
    const w = watchPods('app=nginx');
    await new Promise((r) => setTimeout(r, 500)); // let the watch start
    await s.k(['apply', '-f', '-'], statefulSet);
    await eventually(async () => (await s.k('get sts web -o jsonpath={.status.readyReplicas}')) === '3', 30_000, 'web 3/3 ready');
    const status = await s.k('rollout status sts/web --timeout=20s');
    assert.match(status, /partitioned roll out complete: 3 new pods have been updated/);
    await eventually(() => firstIndex(w.lines, /^MODIFIED web-2 Running ready=True/) >= 0, 5000, 'watch saw web-2 ready');
    w.stop();
    const ready = (n: number) => firstIndex(w.lines, new RegExp(`^(ADDED|MODIFIED) web-${n} Running ready=True`));
    const added = (n: number) => firstIndex(w.lines, new RegExp(`^ADDED web-${n} `));
    for (const n of [0, 1, 2]) assert.ok(added(n) >= 0 && ready(n) > added(n), `web-${n} added then ready:\n${w.lines.join('\n')}`);
    assert.ok(added(1) > ready(0), `web-1 created only after web-0 was Ready:\n${w.lines.join('\n')}`);
    assert.ok(added(2) > ready(1), `web-2 created only after web-1 was Ready:\n${w.lines.join('\n')}`);

    const pvcs = await s.k('get pvc -o name');
    assert.deepEqual(pvcs.trim().split('\n').sort(), ['persistentvolumeclaim/www-web-0', 'persistentvolumeclaim/www-web-1', 'persistentvolumeclaim/www-web-2']);
    const pod = JSON.parse(await s.k('get pod web-1 -o json'));
    assert.equal(pod.spec.hostname, 'web-1');
    assert.equal(pod.spec.subdomain, 'nginx');
    assert.equal(pod.metadata.labels['statefulset.kubernetes.io/pod-name'], 'web-1');
    assert.equal(pod.metadata.labels['apps.kubernetes.io/pod-index'], '1');
    assert.deepEqual(pod.spec.volumes.find((v: { name: string }) => v.name === 'www'), { name: 'www', persistentVolumeClaim: { claimName: 'www-web-1' } });
    const sts = JSON.parse(await s.k('get sts web -o json'));
    assert.equal(pod.metadata.labels['controller-revision-hash'], sts.status.updateRevision);
    assert.equal(sts.status.currentRevision, sts.status.updateRevision);
    assert.equal(sts.status.observedGeneration, sts.metadata.generation);
    const cr = JSON.parse(await s.k(['get', 'controllerrevision', sts.status.updateRevision, '-o', 'json']));
    assert.equal(cr.revision, 1);
    assert.equal(cr.metadata.ownerReferences[0].name, 'web');
    assert.equal(cr.data.spec.template.$patch, 'replace');
  });

  it('rolls an update from web-2 down to web-0, keeps history and undoes', async () => {
    const w = watchPods('app=nginx');
    await new Promise((r) => setTimeout(r, 500));
    await s.k('set image sts/web nginx=nginx:1.26');
    const status = await s.k('rollout status sts/web --timeout=30s');
    assert.match(status, /partitioned roll out complete: 3 new pods have been updated/);
    w.stop();
    const deleted = (n: number) => firstIndex(w.lines, new RegExp(`^MODIFIED web-${n} \\S+ ready=\\S* del=\\S+`));
    assert.ok(deleted(2) >= 0 && deleted(1) > deleted(2) && deleted(0) > deleted(1), `update order web-2, web-1, web-0:\n${w.lines.join('\n')}`);
    const images = await s.k(['get', 'pods', '-l', 'app=nginx', '-o', 'jsonpath={.items[*].spec.containers[0].image}']);
    assert.deepEqual(images.split(' '), ['nginx:1.26', 'nginx:1.26', 'nginx:1.26']);

    assert.match(await s.k('rollout history sts/web'), /REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/);
    assert.match(await s.k('rollout history sts/web --revision=1'), /Image:\s+nginx:1\.25/);
    assert.match(await s.k('rollout undo sts/web --to-revision=2'), /skipped rollback \(current template already matches revision 2\)/);
    assert.match(await s.k('rollout undo sts/web'), /rolled back/);
    await s.k('rollout status sts/web --timeout=30s');
    await eventually(async () => (await s.k(['get', 'pods', '-l', 'app=nginx', '-o', 'jsonpath={.items[*].spec.containers[0].image}'])) === 'nginx:1.25 nginx:1.25 nginx:1.25', 10_000, 'rolled back images');
    // the old revision is renumbered, not duplicated
    assert.match(await s.k('rollout history sts/web'), /REVISION\s+CHANGE-CAUSE\n2\s+<none>\n3\s+<none>/);
  });

  it('scales down in reverse order and keeps the claims', async () => {
    const w = watchPods('app=nginx');
    await new Promise((r) => setTimeout(r, 500));
    await s.k('scale sts web --replicas=0');
    await eventually(async () => (await s.k('get pods -l app=nginx -o name')).trim() === '', 30_000, 'all web pods gone');
    await eventually(() => firstIndex(w.lines, /^DELETED web-0 /) >= 0, 5000, 'watch saw web-0 deleted');
    w.stop();
    const gone = (n: number) => firstIndex(w.lines, new RegExp(`^DELETED web-${n} `));
    const terminating = (n: number) => firstIndex(w.lines, new RegExp(`^MODIFIED web-${n} .* del=\\S+`));
    assert.ok(gone(2) >= 0 && gone(1) > gone(2) && gone(0) > gone(1), `removal order web-2, web-1, web-0:\n${w.lines.join('\n')}`);
    // OrderedReady: the next one is asked to stop only once the previous one is gone
    if (terminating(1) >= 0) assert.ok(terminating(1) > gone(2), `web-1 deleted after web-2 was gone:\n${w.lines.join('\n')}`);
    if (terminating(0) >= 0) assert.ok(terminating(0) > gone(1), `web-0 deleted after web-1 was gone:\n${w.lines.join('\n')}`);
    assert.equal((await s.k('get pvc -o name')).trim().split('\n').length, 3);
    await eventually(async () => (await s.k('get sts web -o jsonpath={.status.replicas}')) === '0', 10_000, 'status.replicas 0');
  });
});

const daemonSet = `
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: agent, image: "busybox:1.36"}]
`;

describe('DaemonSet', () => {
  it('runs exactly one pod per node, pinned by node affinity', async () => {
    await s.k(['apply', '-f', '-'], daemonSet);
    assert.match(await s.k('rollout status ds/agent --timeout=30s'), /daemon set "agent" successfully rolled out/);
    const m = await podsByNode('app=agent');
    assert.deepEqual([...m.keys()].sort(), ['k8ts-sim-0', 'k8ts-sim-1', 'k8ts-sim-2']);
    for (const pods of m.values()) assert.equal(pods.length, 1);
    const pod = JSON.parse(await s.k(['get', 'pod', m.get('k8ts-sim-1')![0], '-o', 'json']));
    assert.deepEqual(pod.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms, [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['k8ts-sim-1'] }] }]);
    assert.ok(pod.spec.tolerations.some((t: { key: string; effect: string }) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoExecute'));
    const ds = JSON.parse(await s.k('get ds agent -o json'));
    assert.deepEqual(
      [ds.status.desiredNumberScheduled, ds.status.currentNumberScheduled, ds.status.numberReady, ds.status.numberAvailable, ds.status.updatedNumberScheduled, ds.status.numberMisscheduled],
      [3, 3, 3, 3, 3, 0],
    );
  });

  it('gives a node that joins later its pod', async () => {
    const sim = spawn(process.execPath, [cli, 'simulate', '--kubeconfig', s.kubeconfig, '--nodes', '1', '--prefix', 'late', '--log-level', 'warn'], { stdio: 'ignore' });
    children.push(sim);
    await eventually(async () => {
      const m = await podsByNode('app=agent');
      return m.get('late-0')?.length === 1 && m.size === 4;
    }, 30_000, 'a daemon pod on late-0');
    await eventually(async () => (await s.k('get ds agent -o jsonpath={.status.numberAvailable}')) === '4', 15_000, '4 available');
  });

  it('rolls out a new template node by node, history and undo', async () => {
    await s.k('set image ds/agent agent=busybox:1.37');
    assert.match(await s.k('rollout status ds/agent --timeout=30s'), /successfully rolled out/);
    const images = async () => JSON.parse(await s.k('get pods -l app=agent -o json')).items.filter((p: { metadata: { deletionTimestamp?: string } }) => !p.metadata.deletionTimestamp).map((p: { spec: { containers: { image: string }[] } }) => p.spec.containers[0].image);
    await eventually(async () => (await images()).join() === Array(4).fill('busybox:1.37').join(), 10_000, 'all pods updated');
    assert.match(await s.k('rollout history ds/agent'), /REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/);
    // surge: new pod next to the old one, old one removed once the new is available
    await s.k(['patch', 'ds', 'agent', '--type=merge', '-p', '{"spec":{"updateStrategy":{"rollingUpdate":{"maxSurge":1,"maxUnavailable":0}}}}']);
    await s.k('rollout undo ds/agent');
    assert.match(await s.k('rollout status ds/agent --timeout=30s'), /successfully rolled out/);
    await eventually(async () => (await images()).join() === Array(4).fill('busybox:1.36').join(), 10_000, 'all pods rolled back');
    const m = await podsByNode('app=agent');
    assert.equal(m.size, 4);
    for (const pods of m.values()) assert.equal(pods.length, 1);
  });

  it('leaves nodes whose taints it does not tolerate or that its selector excludes', async () => {
    await s.k('taint node k8ts-sim-0 evict=yes:NoExecute');
    await eventually(async () => !(await podsByNode('app=agent')).has('k8ts-sim-0'), 15_000, 'pod leaves the NoExecute node');
    await s.k('label node k8ts-sim-1 role=infra');
    await s.k(['patch', 'ds', 'agent', '--type=merge', '-p', '{"spec":{"template":{"spec":{"nodeSelector":{"role":"infra"}}}}}']);
    await eventually(async () => {
      const m = await podsByNode('app=agent');
      return m.size === 1 && m.get('k8ts-sim-1')?.length === 1;
    }, 20_000, 'only the infra node runs the daemon');
    await eventually(async () => (await s.k('get ds agent -o jsonpath={.status.desiredNumberScheduled}/{.status.numberAvailable}')) === '1/1', 10_000, 'status 1/1');
  });
});
