// Protocol-level API semantics with a raw HTTPS client (and kubectl where it
// is the natural client): auth, errors, selectors, paging, watch rules,
// allocation, graceful deletion, encryption at rest.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, eventually, type TestServer } from '../support/cluster.js';
import { RawClient } from '../support/http.js';

let s: TestServer;
let c: RawClient;

before(async () => {
  s = await startServer();
  c = new RawClient(s.kubeconfig);
});
after(async () => {
  c?.close();
  await s?.stop();
});

const cm = (name: string, extra: Record<string, unknown> = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...extra }, data: { k: 'v' } });

describe('authentication and health', () => {
  it('401 without credentials, except health and version', async () => {
    const anon = new RawClient(s.kubeconfig, { noCredentials: true });
    const r = await anon.request('GET', '/api/v1/namespaces');
    assert.equal(r.status, 401);
    assert.equal(r.json().reason, 'Unauthorized');
    for (const p of ['/healthz', '/livez', '/readyz']) assert.equal((await anon.request('GET', p)).body, 'ok');
    assert.equal((await anon.request('GET', '/version')).json().major, '1');
    anon.close();
  });
});

describe('bad input', () => {
  it('answers with upstream Status codes and stores nothing', async () => {
    const bad = await c.request('POST', '/api/v1/namespaces/default/configmaps', '{"metadata":');
    assert.equal(bad.status, 400);
    assert.equal(bad.json().reason, 'BadRequest');
    const kind = await c.request('POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' } });
    assert.equal(kind.status, 400);
    assert.match(kind.json().message, /does not match the expected kind/);
    const big = await c.request('POST', '/api/v1/namespaces/default/configmaps', cm('big', {}), {});
    assert.equal(big.status, 201);
    const huge = await c.request('POST', '/api/v1/namespaces/default/configmaps', JSON.stringify({ metadata: { name: 'huge' }, data: { k: 'x'.repeat(3.5 * 1024 * 1024) } }));
    assert.equal(huge.status, 413);
    assert.equal(huge.json().reason, 'RequestEntityTooLarge');
    const media = await c.request('POST', '/api/v1/namespaces/default/configmaps', 'x', { 'Content-Type': 'text/plain' });
    assert.equal(media.status, 415);
    const rv = await c.request('GET', '/api/v1/namespaces/default/configmaps?resourceVersion=garbage');
    assert.equal(rv.status, 400);
    const name = await c.request('POST', '/api/v1/namespaces/default/configmaps', cm('UPPER'));
    assert.equal(name.status, 422);
    assert.equal(name.json().reason, 'Invalid');
    assert.equal(name.json().details.causes[0].field, 'metadata.name');
    const strict = await c.request('POST', '/api/v1/namespaces/default/configmaps?fieldValidation=Strict', { ...cm('strict'), spec: { x: 1 } });
    assert.equal(strict.status, 400);
    assert.match(strict.json().message, /unknown field "spec"/);
    const warn = await c.request('POST', '/api/v1/namespaces/default/configmaps?fieldValidation=Warn', { ...cm('warned'), spec: { x: 1 } });
    assert.equal(warn.status, 201);
    assert.match(String(warn.headers.warning), /unknown field \\"spec\\"/);
    assert.equal(warn.json().spec, undefined);
    const fs = await c.request('GET', '/api/v1/pods?fieldSelector=spec.bogus%3Dx');
    assert.equal(fs.status, 400);
    assert.match(fs.json().message, /field label not supported: spec.bogus/);
    const names = (await c.request('GET', '/api/v1/namespaces/default/configmaps')).json().items.map((i: any) => i.metadata.name).sort();
    assert.deepEqual(names.filter((n: string) => n !== 'kube-root-ca.crt'), ['big', 'warned']);
    // still serving
    assert.equal((await c.request('GET', '/readyz')).status, 200);
  });
});

describe('API semantics', () => {
  it('generateName, dryRun, uid/creationTimestamp, conflicts', async () => {
    const g = await c.request('POST', '/api/v1/namespaces/default/configmaps', { metadata: { generateName: 'gen-' } });
    assert.equal(g.status, 201);
    assert.match(g.json().metadata.name, /^gen-[a-z0-9]{5}$/);
    const dry = await c.request('POST', '/api/v1/namespaces/default/configmaps?dryRun=All', cm('dry'));
    assert.equal(dry.status, 201);
    assert.equal((await c.request('GET', '/api/v1/namespaces/default/configmaps/dry')).status, 404);
    const created = (await c.request('POST', '/api/v1/namespaces/default/configmaps', cm('cas'))).json();
    const upd = await c.request('PUT', '/api/v1/namespaces/default/configmaps/cas', { ...created, data: { k: 'v2' } });
    assert.equal(upd.status, 200);
    const stale = await c.request('PUT', '/api/v1/namespaces/default/configmaps/cas', { ...created, data: { k: 'v3' } });
    assert.equal(stale.status, 409);
    assert.equal(stale.json().reason, 'Conflict');
  });

  it('limit and continue page through a consistent list', async () => {
    await c.request('POST', '/api/v1/namespaces', { metadata: { name: 'paging' } });
    for (let i = 0; i < 25; i++) await c.request('POST', '/api/v1/namespaces/paging/configmaps', cm(`p-${String(i).padStart(2, '0')}`));
    const seen: string[] = [];
    let cont = '';
    let pages = 0;
    let rv = '';
    do {
      const r = (await c.request('GET', `/api/v1/namespaces/paging/configmaps?limit=10${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`)).json();
      if (pages === 0) {
        rv = r.metadata.resourceVersion;
        // a write between pages does not show up in later pages
        await c.request('POST', '/api/v1/namespaces/paging/configmaps', cm('p-99'));
      } else assert.equal(r.metadata.resourceVersion, rv);
      seen.push(...r.items.map((i: any) => i.metadata.name).filter((n: string) => n !== 'kube-root-ca.crt'));
      cont = r.metadata.continue ?? '';
      pages++;
    } while (cont && pages < 10);
    assert.ok(pages === 3, `${pages} pages`);
    assert.deepEqual(seen, Array.from({ length: 25 }, (_, i) => `p-${String(i).padStart(2, '0')}`));
  });

  it('label and field selectors', async () => {
    await c.request('POST', '/api/v1/namespaces/default/secrets', { metadata: { name: 'tls1', labels: { env: 'prod', tier: 'web' } }, type: 'kubernetes.io/tls', data: { 'tls.crt': '', 'tls.key': '' } });
    await c.request('POST', '/api/v1/namespaces/default/secrets', { metadata: { name: 'op1', labels: { env: 'dev' } }, type: 'Opaque' });
    const byType = (await c.request('GET', '/api/v1/namespaces/default/secrets?fieldSelector=type%3Dkubernetes.io%2Ftls')).json();
    assert.deepEqual(byType.items.map((i: any) => i.metadata.name), ['tls1']);
    const setBased = (await c.request('GET', `/api/v1/secrets?labelSelector=${encodeURIComponent('env in (prod,staging),tier')}`)).json();
    assert.deepEqual(setBased.items.map((i: any) => i.metadata.name), ['tls1']);
    const notIn = (await c.request('GET', `/api/v1/namespaces/default/secrets?labelSelector=${encodeURIComponent('env notin (prod)')}`)).json();
    assert.deepEqual(notIn.items.map((i: any) => i.metadata.name), ['op1']);
  });

  it('watch: from a resourceVersion, timeoutSeconds', async () => {
    const list = (await c.request('GET', '/api/v1/namespaces/default/configmaps')).json();
    const events: { type: string; object: any }[] = [];
    const w = c.watch(`/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${list.metadata.resourceVersion}&timeoutSeconds=3`, (e) => events.push(e));
    await c.request('POST', '/api/v1/namespaces/default/configmaps', cm('watched'));
    await c.request('DELETE', '/api/v1/namespaces/default/configmaps/watched');
    await w.done; // closed by timeoutSeconds
    assert.deepEqual(events.map((e) => `${e.type}:${e.object.metadata.name}`), ['ADDED:watched', 'DELETED:watched']);
    assert.ok(Number(events[1].object.metadata.resourceVersion) > Number(events[0].object.metadata.resourceVersion));
  });

  it('ClusterIP and NodePort allocation with conflicts rejected and release on delete', async () => {
    const svc = (name: string, nodePort?: number, clusterIP?: string) => ({ metadata: { name }, spec: { type: 'NodePort', ...(clusterIP ? { clusterIP } : {}), selector: { a: 'b' }, ports: [{ port: 80, ...(nodePort ? { nodePort } : {}) }] } });
    const a = await c.request('POST', '/api/v1/namespaces/default/services', svc('np-a', 30080, '10.43.100.100'));
    assert.equal(a.status, 201);
    assert.equal(a.json().spec.clusterIP, '10.43.100.100');
    assert.equal(a.json().spec.ports[0].targetPort, 80);
    const b = await c.request('POST', '/api/v1/namespaces/default/services', svc('np-b', 30080));
    assert.equal(b.status, 422);
    assert.match(b.json().message, /provided port is already allocated/);
    const ipc = await c.request('POST', '/api/v1/namespaces/default/services', svc('np-c', undefined, '10.43.100.100'));
    assert.equal(ipc.status, 422);
    assert.match(ipc.json().message, /provided IP is already allocated/);
    const auto = (await c.request('POST', '/api/v1/namespaces/default/services', svc('np-d'))).json();
    assert.ok(auto.spec.ports[0].nodePort >= 30000 && auto.spec.ports[0].nodePort <= 32767);
    await c.request('DELETE', '/api/v1/namespaces/default/services/np-a');
    const again = await c.request('POST', '/api/v1/namespaces/default/services', svc('np-e', 30080, '10.43.100.100'));
    assert.equal(again.status, 201);
  });

  it('graceful pod deletion waits for the node; unscheduled pods go at once', async () => {
    const pod = (name: string, nodeName?: string) => ({ metadata: { name }, spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'c', image: 'busybox' }] } });
    await c.request('POST', '/api/v1/namespaces/default/pods', pod('free'));
    const del = await c.request('DELETE', '/api/v1/namespaces/default/pods/free');
    assert.equal(del.status, 200);
    assert.equal((await c.request('GET', '/api/v1/namespaces/default/pods/free')).status, 404);
    // the node must exist, or the pod garbage collector removes the pod
    await c.request('POST', '/api/v1/nodes', { metadata: { name: 'node-1' } });
    await c.request('POST', '/api/v1/namespaces/default/pods', pod('bound', 'node-1'));
    const d2 = await c.request('DELETE', '/api/v1/namespaces/default/pods/bound');
    assert.equal(d2.status, 202);
    const p = (await c.request('GET', '/api/v1/namespaces/default/pods/bound')).json();
    assert.ok(p.metadata.deletionTimestamp);
    assert.equal(p.metadata.deletionGracePeriodSeconds, 30);
    const table = await s.k('get pod bound');
    assert.match(table, /^bound\s+0\/1\s+Terminating\s+/m);
    // the node confirms
    const d3 = await c.request('DELETE', '/api/v1/namespaces/default/pods/bound', { gracePeriodSeconds: 0 });
    assert.equal(d3.status, 200);
    assert.equal((await c.request('GET', '/api/v1/namespaces/default/pods/bound')).status, 404);
  });

  it('finalizers hold deletion until removed; terminating namespaces refuse new content', async () => {
    await c.request('POST', '/api/v1/namespaces/default/configmaps', cm('fin', { finalizers: ['example.com/hold'] }));
    assert.equal((await c.request('DELETE', '/api/v1/namespaces/default/configmaps/fin')).status, 202);
    const held = (await c.request('GET', '/api/v1/namespaces/default/configmaps/fin')).json();
    assert.ok(held.metadata.deletionTimestamp);
    await c.request('PATCH', '/api/v1/namespaces/default/configmaps/fin', { metadata: { finalizers: null } }, { 'Content-Type': 'application/merge-patch+json' });
    assert.equal((await c.request('GET', '/api/v1/namespaces/default/configmaps/fin')).status, 404);
    // a second spec finalizer keeps it Terminating after the namespace controller has emptied it
    await c.request('POST', '/api/v1/namespaces', { metadata: { name: 'doomed' }, spec: { finalizers: ['kubernetes', 'example.com/hold'] } });
    await c.request('DELETE', '/api/v1/namespaces/doomed');
    const ns = (await c.request('GET', '/api/v1/namespaces/doomed')).json();
    assert.equal(ns.status.phase, 'Terminating');
    const refused = await c.request('POST', '/api/v1/namespaces/doomed/configmaps', cm('late'));
    assert.equal(refused.status, 403);
    assert.match(refused.json().message, /because it is being terminated/);
    const sys = await c.request('DELETE', '/api/v1/namespaces/kube-system');
    assert.equal(sys.status, 403);
  });

  it('scale subresource and pods/binding', async () => {
    await s.k('create deployment sc --image=nginx --replicas=1');
    const scale = (await c.request('GET', '/apis/apps/v1/namespaces/default/deployments/sc/scale')).json();
    assert.equal(scale.kind, 'Scale');
    assert.equal(scale.status.selector, 'app=sc');
    // no resourceVersion: the deployment controller writes status meanwhile
    const put = await c.request('PUT', '/apis/apps/v1/namespaces/default/deployments/sc/scale', { ...scale, metadata: { ...scale.metadata, resourceVersion: undefined }, spec: { replicas: 4 } });
    assert.equal(put.status, 200);
    assert.equal((await c.request('GET', '/apis/apps/v1/namespaces/default/deployments/sc')).json().spec.replicas, 4);
    // another scheduler's pod: the default scheduler leaves it to us
    await c.request('POST', '/api/v1/namespaces/default/pods', { metadata: { name: 'tobind' }, spec: { schedulerName: 'manual', containers: [{ name: 'c', image: 'x' }] } });
    const b = await c.request('POST', '/api/v1/namespaces/default/pods/tobind/binding', { metadata: { name: 'tobind' }, target: { kind: 'Node', name: 'n1' } });
    assert.equal(b.status, 201);
    assert.equal((await c.request('GET', '/api/v1/namespaces/default/pods/tobind')).json().spec.nodeName, 'n1');
    const again = await c.request('POST', '/api/v1/namespaces/default/pods/tobind/binding', { metadata: { name: 'tobind' }, target: { kind: 'Node', name: 'n2' } });
    assert.equal(again.status, 409);
  });

  it('secrets are encrypted at rest', async () => {
    await s.k(['create', 'secret', 'generic', 'topsecret', '--from-literal=password=hunter2-plaintext-marker']);
    assert.equal(Buffer.from(await s.k(['get', 'secret', 'topsecret', '-o', 'jsonpath={.data.password}']), 'base64').toString(), 'hunter2-plaintext-marker');
    await eventually(async () => {
      const dir = join(s.dataDir, 'db');
      const all = readdirSync(dir).map((f) => readFileSync(join(dir, f)));
      const blob = Buffer.concat(all);
      assert.ok(blob.includes(Buffer.from('k8s:enc:aesgcm:v1:')), 'no encrypted envelope in the database');
      assert.ok(!blob.includes(Buffer.from('hunter2-plaintext-marker')) && !blob.includes(Buffer.from(Buffer.from('hunter2-plaintext-marker').toString('base64'))), 'plaintext secret in the database');
      return true;
    });
  });
});
