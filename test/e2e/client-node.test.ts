// @kubernetes/client-node against a real k8ts server: list, create, patch,
// watch and an informer.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { startServer, eventually, type TestServer } from '../support/cluster.js';

let s: TestServer;
let kc: k8s.KubeConfig;

before(async () => {
  s = await startServer();
  kc = new k8s.KubeConfig();
  kc.loadFromFile(s.kubeconfig);
});
after(async () => {
  await s?.stop();
});

describe('@kubernetes/client-node', () => {
  it('lists, creates, patches and deletes', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const nss = await core.listNamespace();
    assert.ok(nss.items.some((n) => n.metadata?.name === 'kube-system'));
    const cm = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'cn1', labels: { app: 'x' } }, data: { a: '1' } } });
    assert.equal(cm.metadata?.name, 'cn1');
    assert.ok(Number(cm.metadata?.resourceVersion) > 0);
    const patched = await core.patchNamespacedConfigMap(
      { name: 'cn1', namespace: 'default', body: { data: { b: '2' } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    assert.deepEqual(patched.data, { a: '1', b: '2' });
    const jp = await core.patchNamespacedConfigMap({ name: 'cn1', namespace: 'default', body: [{ op: 'remove', path: '/data/a' }] });
    assert.deepEqual(jp.data, { b: '2' });
    const listed = await core.listNamespacedConfigMap({ namespace: 'default', labelSelector: 'app=x' });
    assert.deepEqual(listed.items.map((i) => i.metadata?.name), ['cn1']);
    await core.deleteNamespacedConfigMap({ name: 'cn1', namespace: 'default' });
    await assert.rejects(core.readNamespacedConfigMap({ name: 'cn1', namespace: 'default' }), (e: any) => e.code === 404);
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const d = await apps.createNamespacedDeployment({
      namespace: 'default',
      body: { metadata: { name: 'cd' }, spec: { selector: { matchLabels: { app: 'cd' } }, template: { metadata: { labels: { app: 'cd' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } } },
    });
    assert.equal(d.spec?.replicas, 1);
    assert.equal(d.spec?.strategy?.type, 'RollingUpdate');
  });

  it('informer sees adds, updates and deletes', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const inf = k8s.makeInformer(kc, '/api/v1/namespaces/default/secrets', () => core.listNamespacedSecret({ namespace: 'default' }));
    const seen: string[] = [];
    inf.on('add', (o) => seen.push(`add:${o.metadata?.name}`));
    inf.on('update', (o) => seen.push(`update:${o.metadata?.name}:${o.data?.k}`));
    inf.on('delete', (o) => seen.push(`delete:${o.metadata?.name}`));
    await inf.start();
    try {
      await core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'inf1' }, stringData: { k: 'v1' } } });
      await core.replaceNamespacedSecret({ name: 'inf1', namespace: 'default', body: { metadata: { name: 'inf1' }, data: { k: Buffer.from('v2').toString('base64') } } });
      await core.deleteNamespacedSecret({ name: 'inf1', namespace: 'default' });
      await eventually(() => seen.includes('delete:inf1'), 10_000, 'informer delete event');
      assert.deepEqual(seen, ['add:inf1', `update:inf1:${Buffer.from('v2').toString('base64')}`, 'delete:inf1']);
      assert.equal(inf.list('default').length, 0);
    } finally {
      await inf.stop();
    }
  });

  it('watch streams events from a resourceVersion', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const start = await core.listNamespacedConfigMap({ namespace: 'default' });
    const events: string[] = [];
    const w = new k8s.Watch(kc);
    const req = await w.watch('/api/v1/namespaces/default/configmaps', { resourceVersion: start.metadata?.resourceVersion, allowWatchBookmarks: true }, (type, obj) => {
      if (type !== 'BOOKMARK') events.push(`${type}:${obj.metadata?.name}`);
    }, () => undefined);
    try {
      await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'w1' } } });
      await core.patchNamespacedConfigMap({ name: 'w1', namespace: 'default', body: { data: { x: 'y' } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch));
      await core.deleteNamespacedConfigMap({ name: 'w1', namespace: 'default' });
      await eventually(() => events.length >= 3, 10_000, 'watch events');
      assert.deepEqual(events, ['ADDED:w1', 'MODIFIED:w1', 'DELETED:w1']);
    } finally {
      req.abort();
    }
  });
});
