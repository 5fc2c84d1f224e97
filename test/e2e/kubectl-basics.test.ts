// The real kubectl against a real k8ts server: discovery, create/get/apply/
// patch/label/scale/delete, tables, output formats, errors.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, eventually, type TestServer } from '../support/cluster.js';

let s: TestServer;

before(async () => {
  s = await startServer();
});
after(async () => {
  await s?.stop();
});

describe('kubectl basics', () => {
  it('version, cluster-info, api-versions, api-resources', async () => {
    const v = await s.k('version -o json');
    assert.equal(JSON.parse(v).serverVersion.minor, '32');
    assert.match(await s.k('cluster-info'), /Kubernetes control plane is running at https:\/\/127\.0\.0\.1:\d+/);
    const versions = await s.k('api-versions');
    for (const gv of ['v1', 'apps/v1', 'batch/v1', 'networking.k8s.io/v1', 'rbac.authorization.k8s.io/v1', 'autoscaling/v2', 'autoscaling/v1', 'apiextensions.k8s.io/v1']) {
      assert.ok(versions.split('\n').includes(gv), `api-versions lacks ${gv}`);
    }
    const res = await s.k('api-resources');
    assert.match(res, /^pods\s+po\s+v1\s+true\s+Pod$/m);
    assert.match(res, /^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m);
    assert.match(res, /^namespaces\s+ns\s+v1\s+false\s+Namespace$/m);
  });

  it('system namespaces and the kubernetes service exist', async () => {
    const out = await s.k('get namespaces');
    assert.match(out, /^NAME\s+STATUS\s+AGE/);
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) assert.match(out, new RegExp(`^${ns}\\s+Active\\s+`, 'm'));
    const svc = await s.k('get svc kubernetes');
    assert.match(svc, /^kubernetes\s+ClusterIP\s+10\.43\.0\.1\s+<none>\s+443\/TCP\s+/m);
  });

  it('creates a deployment and shows upstream columns, wide, yaml, json, jsonpath, custom-columns, name', async () => {
    assert.match(await s.k('create deployment web --image=nginx:1.27 --replicas=3'), /deployment.apps\/web created/);
    const table = await s.k('get deploy web');
    assert.match(table, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\n/);
    assert.match(table, /^web\s+0\/3\s+\d\s+0\s+\d+s/m);
    const wide = await s.k('get deployment web -o wide');
    assert.match(wide, /CONTAINERS\s+IMAGES\s+SELECTOR/);
    assert.match(wide, /nginx\s+nginx:1\.27\s+app=web/);
    const y = await s.k('get deploy web -o yaml');
    assert.match(y, /revisionHistoryLimit: 10/);
    assert.match(y, /maxSurge: 25%/);
    assert.match(y, /progressDeadlineSeconds: 600/);
    const j = JSON.parse(await s.k('get deploy web -o json'));
    assert.equal(j.spec.template.spec.restartPolicy, 'Always');
    assert.equal(j.spec.template.spec.dnsPolicy, 'ClusterFirst');
    assert.equal(j.spec.template.spec.terminationGracePeriodSeconds, 30);
    assert.equal(j.spec.template.spec.containers[0].imagePullPolicy, 'IfNotPresent');
    assert.equal(j.metadata.generation, 1);
    assert.match(j.metadata.uid, /^[0-9a-f-]{36}$/);
    assert.equal(await s.k(['get', 'deploy', 'web', '-o', 'jsonpath={.spec.replicas}']), '3');
    assert.match(await s.k(['get', 'deploy', '-o', 'custom-columns=N:.metadata.name,R:.spec.replicas']), /^N\s+R\nweb\s+3\n$/);
    assert.equal(await s.k('get deploy -o name'), 'deployment.apps/web\n');
  });

  it('scale, label, annotate, patch, edit-like replace bump generation', async () => {
    assert.match(await s.k('scale deployment web --replicas=5'), /deployment.apps\/web scaled/);
    assert.equal(await s.k(['get', 'deploy', 'web', '-o', 'jsonpath={.spec.replicas} {.metadata.generation}']), '5 2');
    assert.match(await s.k('label deploy web tier=frontend'), /deployment.apps\/web labeled/);
    assert.match(await s.k('annotate deploy web note=hello'), /deployment.apps\/web annotated/);
    assert.equal(await s.k(['get', 'deploy', '-l', 'tier=frontend', '-o', 'name']), 'deployment.apps/web\n');
    assert.equal(await s.k(['get', 'deploy', '-l', 'tier!=frontend', '-o', 'name']), '');
    // labels and annotations do not bump generation
    assert.equal(await s.k(['get', 'deploy', 'web', '-o', 'jsonpath={.metadata.generation}']), '2');
    await s.k(['patch', 'deploy', 'web', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.28"}]}}}}']);
    assert.equal(await s.k(['get', 'deploy', 'web', '-o', 'jsonpath={.spec.template.spec.containers[0].image} {.metadata.generation}']), 'nginx:1.28 3');
    await s.k(['patch', 'deploy', 'web', '--type=json', '-p', '[{"op":"replace","path":"/spec/replicas","value":2}]']);
    await s.k(['patch', 'deploy', 'web', '--type=merge', '-p', '{"metadata":{"labels":{"tier":null}}}']);
    assert.equal(await s.k(['get', 'deploy', 'web', '-o', 'jsonpath={.spec.replicas}|{.metadata.labels.tier}']), '2|');
  });

  it('apply: create, unchanged, configured, multi-document', async () => {
    const doc = (v: string) => `apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
data:
  mode: "${v}"
---
apiVersion: v1
kind: Service
metadata:
  name: app
spec:
  selector:
    app: app
  ports:
  - port: 80
    targetPort: 8080
`;
    const first = await s.k(['apply', '-f', '-'], doc('a'));
    assert.match(first, /configmap\/app-config created/);
    assert.match(first, /service\/app created/);
    const again = await s.k(['apply', '-f', '-'], doc('a'));
    assert.match(again, /configmap\/app-config unchanged/);
    assert.match(again, /service\/app unchanged/);
    const changed = await s.k(['apply', '-f', '-'], doc('b'));
    assert.match(changed, /configmap\/app-config configured/);
    assert.match(changed, /service\/app unchanged/);
    assert.equal(await s.k(['get', 'cm', 'app-config', '-o', 'jsonpath={.data.mode}']), 'b');
    const svc = await s.k('get svc app');
    assert.match(svc, /^app\s+ClusterIP\s+10\.43\.\d+\.\d+\s+<none>\s+80\/TCP/m);
  });

  it('rejects bad input with upstream Status errors and stores nothing', async () => {
    const bad = await s.kubectl(['create', 'configmap', 'Bad_Name']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/);
    const strict = await s.kubectl(['apply', '-f', '-'], { input: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: strict\nbogus: 1\n' });
    assert.notEqual(strict.code, 0);
    assert.match(strict.stderr, /unknown field "bogus"/);
    const missingNs = await s.kubectl(['create', 'configmap', 'x', '-n', 'nope']);
    assert.notEqual(missingNs.code, 0);
    assert.match(missingNs.stderr, /namespaces "nope" not found/);
    const notFound = await s.kubectl(['get', 'pod', 'ghost']);
    assert.match(notFound.stderr, /Error from server \(NotFound\): pods "ghost" not found/);
    const dup = await s.kubectl(['create', 'deployment', 'web', '--image=x']);
    assert.match(dup.stderr, /deployments.apps "web" already exists/);
    assert.equal(await s.k(['get', 'cm', '-o', 'name']), 'configmap/app-config\nconfigmap/kube-root-ca.crt\n');
  });

  it('explain prints upstream field documentation', async () => {
    const out = await s.k('explain pod.spec.containers');
    assert.match(out, /KIND:\s+Pod/);
    assert.match(out, /List of containers belonging to the pod/);
    assert.match(out, /image\s+<string>/);
  });

  it('HPA is stored once and served as autoscaling/v2 and v1', async () => {
    await s.k('create deployment scaled --image=nginx --replicas=2');
    assert.match(await s.k('autoscale deployment scaled --min=2 --max=5 --cpu-percent=70'), /horizontalpodautoscaler.autoscaling\/scaled autoscaled/);
    assert.match(await s.k('get hpa scaled'), /^scaled\s+Deployment\/scaled\s+cpu: <unknown>\/70%\s+2\s+5\s+0\s+/m);
    const v1 = JSON.parse(await s.k(['get', '--raw', '/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers/scaled']));
    assert.equal(v1.apiVersion, 'autoscaling/v1');
    assert.equal(v1.spec.targetCPUUtilizationPercentage, 70);
    const v2 = JSON.parse(await s.k(['get', '--raw', '/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/scaled']));
    assert.equal(v2.spec.metrics[0].resource.target.averageUtilization, 70);
    assert.equal(v1.metadata.resourceVersion, v2.metadata.resourceVersion);
  });

  it('delete and wait', async () => {
    await s.k('create configmap gone-soon --from-literal=a=b');
    assert.match(await s.k('delete configmap gone-soon'), /configmap "gone-soon" deleted/);
    const r = await s.kubectl(['get', 'cm', 'gone-soon']);
    assert.notEqual(r.code, 0);
    await s.k('create namespace tmp-ns');
    await eventually(async () => (await s.k('get ns tmp-ns -o name')).includes('namespace/tmp-ns'));
  });
});
