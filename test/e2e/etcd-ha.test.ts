// k8ts on a real etcd: kubectl flows work, and two k8ts servers sharing one
// etcd see each other's writes (reads, lists and watches).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { etcdInstalled, ETCD_MISSING, startEtcd } from '../support/etcd.js';
import { startServer, eventually, type TestServer } from '../support/cluster.js';

const skip = etcdInstalled() ? false : ETCD_MISSING;

describe('etcd datastore', { skip }, () => {
  let etcd: Awaited<ReturnType<typeof startEtcd>>;
  let a: TestServer;
  let b: TestServer;

  before(async () => {
    etcd = await startEtcd();
    a = await startServer({ datastoreEndpoint: etcd.endpoint });
    b = await startServer({ datastoreEndpoint: etcd.endpoint });
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await etcd?.stop();
  });

  it('serves kubectl apply, get, patch and delete', async () => {
    const manifest = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: e1
spec:
  replicas: 2
  selector:
    matchLabels: {app: e1}
  template:
    metadata:
      labels: {app: e1}
    spec:
      containers:
      - name: c
        image: nginx:1.27
`;
    assert.match(await a.k(['apply', '-f', '-'], manifest), /deployment.apps\/e1 created/);
    assert.match(await a.k(['apply', '-f', '-'], manifest), /deployment.apps\/e1 unchanged/);
    assert.match(await a.k('get deploy e1'), /^e1\s+0\/2\s+\d\s+0\s+/m);
    await a.k(['patch', 'deploy', 'e1', '-p', '{"spec":{"replicas":4}}']);
    assert.equal(await a.k(['get', 'deploy', 'e1', '-o', 'jsonpath={.spec.replicas}']), '4');
    assert.match(await a.k('delete deploy e1'), /deployment.apps "e1" deleted/);
  });

  it('two servers on one etcd share objects and watches', async () => {
    const w = b.kubectl(['get', 'configmaps', '-w', '--request-timeout=8s', '-o', 'name'], { timeoutMs: 15_000 });
    await new Promise((r) => setTimeout(r, 1000));
    await a.k(['apply', '-f', '-'], 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\ndata:\n  from: a\n');
    // read-your-write through the other server
    assert.equal(await b.k(['get', 'cm', 'shared', '-o', 'jsonpath={.data.from}']), 'a');
    await b.k(['patch', 'cm', 'shared', '-p', '{"data":{"from":"b"}}']);
    assert.equal(await a.k(['get', 'cm', 'shared', '-o', 'jsonpath={.data.from}']), 'b');
    const out = await w;
    assert.match(out.stdout, /configmap\/shared/);
    // both allocate service IPs without collisions
    const ips = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const s = i % 2 ? a : b;
      await s.k(['create', 'service', 'clusterip', `svc${i}`, '--tcp=80:80']).catch(async () => {
        await s.k(['apply', '-f', '-'], `apiVersion: v1\nkind: Service\nmetadata:\n  name: svc${i}\nspec:\n  ports:\n  - port: 80\n`);
      });
    }
    await eventually(async () => {
      const list = JSON.parse(await a.k('get svc -o json'));
      for (const s of list.items) ips.add(s.spec.clusterIP);
      return list.items.length === 7 ? true : undefined;
    });
    assert.equal(ips.size, 7, 'every service has its own ClusterIP');
  });

  it('data survives a server restart (state lives in etcd)', async () => {
    await a.restart();
    assert.equal(await a.k(['get', 'cm', 'shared', '-o', 'jsonpath={.data.from}']), 'b');
  });
});
