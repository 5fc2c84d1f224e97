// Garbage collection (background, foreground, orphan), the per-namespace
// `default` ServiceAccount and `kube-root-ca.crt`, and Endpoints/EndpointSlices
// built from pods, driven by the real kubectl on 3 simulated nodes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { startServer, eventually, type TestServer } from '../support/cluster.js';

let s: TestServer;

before(async () => {
  s = await startServer({ args: ['--simulated-nodes', '3'] });
});
after(async () => {
  await s?.stop();
});

const uidOf = async (args: string) => s.k(`${args} -o jsonpath={.metadata.uid}`);
const json = async (args: string) => JSON.parse(await s.k(`${args} -o json`));
const exists = async (args: string) => (await s.kubectl([...args.split(' '), '--ignore-not-found', '-o', 'name'])).stdout.trim() !== '';

function configMap(ns: string, name: string, owners: { name: string; uid: string; block?: boolean; kind?: string; apiVersion?: string }[] = []) {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name,
      namespace: ns,
      ownerReferences: owners.length
        ? owners.map((o) => ({ apiVersion: o.apiVersion ?? 'v1', kind: o.kind ?? 'ConfigMap', name: o.name, uid: o.uid, ...(o.block ? { blockOwnerDeletion: true } : {}) }))
        : undefined,
    },
    data: { k: 'v' },
  };
}

/** A pod placed directly on a simulated node (the simulator runs it and makes it Ready with an IP). */
function pod(ns: string, name: string, labels: Record<string, string>, node: string, extra: { owners?: object[]; ports?: object[] } = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels, ...(extra.owners ? { ownerReferences: extra.owners } : {}) },
    spec: { nodeName: node, terminationGracePeriodSeconds: 0, containers: [{ name: 'c', image: 'nginx', ports: extra.ports ?? [{ name: 'http', containerPort: 8080 }] }] },
  };
}

// a multi-document YAML stream: a `kind: List` makes kubectl fall back to OpenAPI v2 validation
const apply = (objs: object[]) => s.k(['apply', '-f', '-'], objs.map((o) => YAML.stringify(o)).join('---\n'));

describe('garbage collector', () => {
  it('deletes dependents of a deleted owner in the background', async () => {
    await s.k('create namespace gc1');
    await s.k('create configmap owner -n gc1');
    const uid = await uidOf('get configmap owner -n gc1');
    await apply([configMap('gc1', 'dep-a', [{ name: 'owner', uid }]), configMap('gc1', 'dep-b', [{ name: 'owner', uid }])]);
    // a second-level dependent: deleted once its own owner goes
    const depA = await uidOf('get configmap dep-a -n gc1');
    await apply([configMap('gc1', 'grandchild', [{ name: 'dep-a', uid: depA }])]);
    // a dependent with two owners survives while one of them is left
    await s.k('create configmap other -n gc1');
    const other = await uidOf('get configmap other -n gc1');
    await apply([configMap('gc1', 'shared', [{ name: 'owner', uid }, { name: 'other', uid: other }])]);
    await s.k('delete configmap owner -n gc1');
    await eventually(async () => !(await exists('get configmap dep-a -n gc1')) && !(await exists('get configmap dep-b -n gc1')) && !(await exists('get configmap grandchild -n gc1')), 15_000, 'dependents deleted');
    const shared = await json('get configmap shared -n gc1');
    assert.ok(shared.metadata.uid);
    // the reference to the gone owner is dropped, the live one kept
    await eventually(async () => {
      const refs = (await json('get configmap shared -n gc1')).metadata.ownerReferences ?? [];
      return refs.length === 1 && refs[0].uid === other;
    }, 10_000, 'dangling reference removed');
    await s.k('delete configmap other -n gc1');
    await eventually(async () => !(await exists('get configmap shared -n gc1')), 10_000, 'last owner gone: dependent deleted');
  });

  it('collects dependents whose owner never existed (after a live check)', async () => {
    await s.k('create namespace gc2');
    await apply([configMap('gc2', 'orphaned', [{ name: 'ghost', uid: '3f1b5a0e-0000-4000-8000-000000000001' }])]);
    await eventually(async () => !(await exists('get configmap orphaned -n gc2')), 10_000, 'dependent of an absent owner deleted');
    // an owner of an unknown kind is never taken for gone
    await apply([configMap('gc2', 'unknown-owner', [{ name: 'x', uid: '3f1b5a0e-0000-4000-8000-000000000002', kind: 'Widget', apiVersion: 'example.com/v1' }])]);
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(await exists('get configmap unknown-owner -n gc2'));
  });

  it('--cascade=foreground waits until blocking dependents (pods) are gone', async () => {
    await s.k('create namespace gc3');
    await s.k('create configmap fg -n gc3');
    const uid = await uidOf('get configmap fg -n gc3');
    const owners = [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'fg', uid, blockOwnerDeletion: true }];
    await apply([pod('gc3', 'fg-pod', { app: 'fg' }, 'k8ts-sim-0', { owners }), configMap('gc3', 'fg-cm', [{ name: 'fg', uid, block: true }])]);
    await eventually(async () => (await json('get pod fg-pod -n gc3')).status?.phase === 'Running', 15_000, 'pod running');
    const r = await s.kubectl(['delete', 'configmap', 'fg', '-n', 'gc3', '--cascade=foreground', '--timeout=30s']);
    assert.equal(r.code, 0, r.stderr);
    // kubectl returned only once the owner was gone, which needs the dependents gone first
    assert.equal(await exists('get configmap fg -n gc3'), false);
    assert.equal(await exists('get configmap fg-cm -n gc3'), false);
    assert.equal(await exists('get pod fg-pod -n gc3'), false);
  });

  it('--cascade=orphan keeps dependents and strips their ownerReference', async () => {
    await s.k('create namespace gc4');
    await s.k('create configmap orphaner -n gc4');
    const uid = await uidOf('get configmap orphaner -n gc4');
    await apply([configMap('gc4', 'kept-1', [{ name: 'orphaner', uid, block: true }]), configMap('gc4', 'kept-2', [{ name: 'orphaner', uid }])]);
    const r = await s.kubectl(['delete', 'configmap', 'orphaner', '-n', 'gc4', '--cascade=orphan', '--timeout=30s']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await exists('get configmap orphaner -n gc4'), false);
    for (const n of ['kept-1', 'kept-2']) {
      const cm = await json(`get configmap ${n} -n gc4`);
      assert.equal(cm.metadata.ownerReferences, undefined, `${n} still has ownerReferences`);
    }
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(await exists('get configmap kept-1 -n gc4'));
  });
});

describe('service accounts and root CA', () => {
  it('every namespace gets a default ServiceAccount and kube-root-ca.crt', async () => {
    await s.k('create namespace sa1');
    await eventually(async () => (await exists('get serviceaccount default -n sa1')) && (await exists('get configmap kube-root-ca.crt -n sa1')), 10_000, 'default SA and root CA');
    const cm = await json('get configmap kube-root-ca.crt -n sa1');
    const kc = YAML.parse(readFileSync(s.kubeconfig, 'utf8'));
    const ca = Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64').toString();
    assert.equal(cm.data['ca.crt'].trim(), ca.trim());
    // deleted: re-created; tampered with: restored
    await s.k('delete serviceaccount default -n sa1');
    await eventually(async () => exists('get serviceaccount default -n sa1'), 10_000, 'default SA re-created');
    await s.k(['patch', 'configmap', 'kube-root-ca.crt', '-n', 'sa1', '--type=merge', '-p', '{"data":{"ca.crt":"bogus"}}']);
    await eventually(async () => (await json('get configmap kube-root-ca.crt -n sa1')).data['ca.crt'].trim() === ca.trim(), 10_000, 'root CA restored');
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) assert.ok(await exists(`get serviceaccount default -n ${ns}`), ns);
  });
});

describe('endpoints and endpointslices', () => {
  it('lists ready pod IPs with named target ports, not-ready pods apart, in Endpoints and EndpointSlices', async () => {
    await s.k('create namespace ep1');
    await apply([
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web', namespace: 'ep1' },
        spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }, { name: 'metrics', port: 9090, targetPort: 9100 }] },
      },
      pod('ep1', 'web-1', { app: 'web' }, 'k8ts-sim-0'),
      pod('ep1', 'web-2', { app: 'web' }, 'k8ts-sim-1'),
      pod('ep1', 'other', { app: 'other' }, 'k8ts-sim-2'),
    ]);
    // a not-ready pod with an IP: left alone by the scheduler and simulator, status set by hand
    await apply([{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-unready', namespace: 'ep1', labels: { app: 'web' } }, spec: { schedulerName: 'nobody', containers: [{ name: 'c', image: 'nginx', ports: [{ name: 'http', containerPort: 8080 }] }] } }]);
    await s.k(['patch', 'pod', 'web-unready', '-n', 'ep1', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { phase: 'Running', podIP: '10.42.99.9', podIPs: [{ ip: '10.42.99.9' }], conditions: [{ type: 'Ready', status: 'False' }] } })]);
    const ips = await eventually(async () => {
      const p = [await json('get pod web-1 -n ep1'), await json('get pod web-2 -n ep1')];
      return p.every((x) => x.status?.podIP && x.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True')) ? p.map((x) => x.status.podIP as string) : undefined;
    }, 20_000, 'pods ready');
    const ep = await eventually(async () => {
      const e = await json('get endpoints web -n ep1');
      const sub = e.subsets?.[0];
      return sub?.addresses?.length === 2 && sub?.notReadyAddresses?.length === 1 ? e : undefined;
    }, 15_000, 'endpoints with 2 ready and 1 not ready');
    const sub = ep.subsets[0];
    assert.deepEqual(sub.addresses.map((a: { ip: string }) => a.ip).sort(), [...ips].sort());
    assert.equal(sub.notReadyAddresses[0].ip, '10.42.99.9');
    assert.equal(sub.addresses[0].targetRef.kind, 'Pod');
    assert.ok(sub.addresses.every((a: { nodeName?: string }) => a.nodeName?.startsWith('k8ts-sim-')));
    const ports = Object.fromEntries(sub.ports.map((p: { name: string; port: number }) => [p.name, p.port]));
    assert.deepEqual(ports, { http: 8080, metrics: 9100 });
    assert.ok(ep.metadata.annotations['endpoints.kubernetes.io/last-change-trigger-time']);
    const table = await s.k('get endpoints web -n ep1');
    for (const ip of ips) assert.match(table, new RegExp(`${ip.replace(/\./g, '\\.')}:(8080|9100)`));
    assert.ok((await s.k('get endpoints web -n ep1 -o yaml')).includes('notReadyAddresses:'));

    // the same in EndpointSlices
    const slices = await eventually(async () => {
      const l = await json('get endpointslices -n ep1 -l kubernetes.io/service-name=web');
      return l.items.length === 1 && l.items[0].endpoints?.length === 3 ? l.items : undefined;
    }, 15_000, 'one slice with 3 endpoints');
    const sl = slices[0];
    assert.match(sl.metadata.name, /^web-[a-z0-9]{5}$/);
    assert.equal(sl.addressType, 'IPv4');
    assert.equal(sl.metadata.labels['endpointslice.kubernetes.io/managed-by'], 'endpointslice-controller.k8s.io');
    assert.equal(sl.metadata.ownerReferences[0].kind, 'Service');
    assert.equal(sl.metadata.ownerReferences[0].controller, true);
    const byIp = Object.fromEntries(sl.endpoints.map((e: { addresses: string[] }) => [e.addresses[0], e]));
    for (const ip of ips) assert.deepEqual(byIp[ip].conditions, { ready: true, serving: true, terminating: false });
    assert.equal(byIp['10.42.99.9'].conditions.ready, false);
    assert.deepEqual(Object.fromEntries(sl.ports.map((p: { name: string; port: number }) => [p.name, p.port])), { http: 8080, metrics: 9100 });
    const st = await s.k('get endpointslices -n ep1 -l kubernetes.io/service-name=web');
    assert.match(st, /^web-\w{5}\s+IPv4\s+\S+\s+\S+/m);

    // publishNotReadyAddresses: the not-ready pod counts as ready
    await s.k(['patch', 'service', 'web', '-n', 'ep1', '--type=merge', '-p', '{"spec":{"publishNotReadyAddresses":true}}']);
    await eventually(async () => (await json('get endpoints web -n ep1')).subsets?.[0]?.addresses?.length === 3, 10_000, 'published not-ready address');

    // deleting a pod removes it; deleting the service removes its endpoints and slices
    await s.k('delete pod web-1 -n ep1');
    await eventually(async () => (await json('get endpoints web -n ep1')).subsets?.[0]?.addresses?.length === 2, 15_000, 'deleted pod removed');
    await s.k('delete service web -n ep1');
    await eventually(async () => !(await exists('get endpoints web -n ep1')), 10_000, 'endpoints deleted with the service');
    await eventually(async () => (await json('get endpointslices -n ep1')).items.length === 0, 10_000, 'slices collected with the service');
  });

  it('services without a selector are left alone; the kubernetes endpoints stay the apiserver\'s', async () => {
    await s.k('create namespace ep2');
    await apply([
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'manual', namespace: 'ep2' }, spec: { ports: [{ port: 80 }] } },
      { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'manual', namespace: 'ep2' }, subsets: [{ addresses: [{ ip: '10.1.2.3' }], ports: [{ port: 80 }] }] },
    ]);
    await new Promise((r) => setTimeout(r, 1000));
    const e = await json('get endpoints manual -n ep2');
    assert.equal(e.subsets[0].addresses[0].ip, '10.1.2.3');
    assert.equal((await json('get endpointslices -n ep2')).items.length, 0);
    const k = await json('get endpointslices kubernetes -n default');
    assert.equal(k.endpoints.length, 1);
    assert.equal((await json('get endpointslices -n default -l kubernetes.io/service-name=kubernetes')).items.length, 1);
  });

  it('150 pods behind one service make 2 slices of at most 100 endpoints', async () => {
    await s.k('create namespace ep3');
    const pods = Array.from({ length: 150 }, (_, i) => pod('ep3', `big-${i}`, { app: 'big' }, `k8ts-sim-${i % 3}`));
    await apply([{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'big', namespace: 'ep3' }, spec: { selector: { app: 'big' }, ports: [{ port: 80, targetPort: 8080 }] } }, ...pods]);
    const items = await eventually(async () => {
      const l = await json('get endpointslices -n ep3 -l kubernetes.io/service-name=big');
      const total = l.items.reduce((n: number, x: { endpoints?: object[] }) => n + (x.endpoints?.length ?? 0), 0);
      const ready = l.items.every((x: { endpoints?: { conditions: { ready: boolean } }[] }) => (x.endpoints ?? []).every((e) => e.conditions.ready));
      return total === 150 && ready ? l.items : undefined;
    }, 50_000, '150 ready endpoints in slices');
    assert.equal(items.length, 2);
    assert.deepEqual(items.map((x: { endpoints: object[] }) => x.endpoints.length).sort((a: number, b: number) => a - b), [50, 100]);
    const ep = await json('get endpoints big -n ep3');
    assert.equal(ep.subsets[0].addresses.length, 150);
  });
});
