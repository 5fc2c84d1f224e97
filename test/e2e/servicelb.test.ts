// servicelb and the Services API, driven by the real kubectl against real
// `k8ts server`s with simulated nodes (no containers, no traffic): LoadBalancer
// status from the nodes' addresses (following NotReady, cordon and deleted
// nodes), pool mode (assignment, loadBalancerIP, release, restart), class'd
// Services left alone, type changes, `--disable servicelb`, `kubectl expose` /
// `create service` variants with their EXTERNAL-IP column, and the bootstrap
// kube-dns Service.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, eventually, type TestServer } from '../support/cluster.js';

const num = (ip: string) => ip.split('.').reduce((n, x) => n * 256 + Number(x), 0);

/** EXTERNAL-IP column of `kubectl get svc NAME` */
async function externalIp(s: TestServer, name: string, ns = 'default'): Promise<string> {
  const [head, row] = (await s.k(['get', 'svc', name, '-n', ns])).trim().split('\n');
  const col = head.indexOf('EXTERNAL-IP');
  assert.ok(col > 0, head);
  return row.slice(col).split(/\s+/)[0];
}

const ingressOf = async (s: TestServer, name: string): Promise<string[]> =>
  (JSON.parse(await s.k(`get svc ${name} -o json`)).status?.loadBalancer?.ingress ?? []).map((i: { ip: string }) => i.ip);

async function waitExternal(s: TestServer, name: string, want: string, ms = 15_000): Promise<void> {
  let last = '';
  await eventually(async () => ((last = await externalIp(s, name)) === want ? true : undefined), ms, `${name} EXTERNAL-IP ${want}`).catch((e: Error) => {
    throw new Error(`${e.message} (last seen: ${last})`);
  });
}

describe('servicelb: node addresses', () => {
  let s: TestServer;
  /** Ready node → InternalIP, read from the API (never assumed) */
  let nodeIps: Map<string, string>;
  const expected = (names: string[]) =>
    names
      .map((n) => nodeIps.get(n)!)
      .sort((a, b) => num(a) - num(b))
      .join(',');

  before(async () => {
    process.env.K8TS_SIMULATOR_HEARTBEAT_MS = '500';
    s = await startServer({ args: ['--simulated-nodes', '3', '--node-monitor-grace-period', '4s'] });
    nodeIps = await eventually(async () => {
      const l = JSON.parse(await s.k('get nodes -o json'));
      const ready = l.items.filter((n: any) => n.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'));
      if (ready.length !== 3) return undefined;
      return new Map<string, string>(ready.map((n: any) => [n.metadata.name, n.status.addresses.find((a: any) => a.type === 'InternalIP').address]));
    }, 15_000, '3 Ready nodes');
    assert.equal(new Set(nodeIps.values()).size, 3);
  });
  after(async () => {
    await s?.stop();
  });

  it('bootstraps kube-system/kube-dns at the service CIDR base + 10 with no selector, reserved in the allocator', async () => {
    const svc = JSON.parse(await s.k('get svc kube-dns -n kube-system -o json'));
    assert.equal(svc.spec.clusterIP, '10.43.0.10');
    assert.deepEqual(svc.spec.clusterIPs, ['10.43.0.10']);
    assert.equal(svc.spec.selector, undefined);
    assert.equal(svc.spec.internalTrafficPolicy, 'Local');
    assert.deepEqual(
      svc.spec.ports.map((p: any) => `${p.name} ${p.port}/${p.protocol}->${p.targetPort}`),
      ['dns 53/UDP->53', 'dns-tcp 53/TCP->53'],
    );
    assert.equal(svc.metadata.labels['k8s-app'], 'kube-dns');
    assert.equal(svc.metadata.labels['kubernetes.io/cluster-service'], 'true');
    // nobody else gets 10.43.0.10
    const r = await s.kubectl(['create', 'service', 'clusterip', 'thief', '--clusterip', '10.43.0.10', '--tcp', '53']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /already allocated/);
    // the EndpointSlice controller publishes nothing for a selector-less Service
    const slices = JSON.parse(await s.k('get endpointslices -n kube-system -l kubernetes.io/service-name=kube-dns -o json'));
    assert.equal(slices.items.length, 0);
  });

  it('EndpointSlices of other managers are left alone (a node agent’s kube-dns slice, a user slice of a selector Service)', async () => {
    const slice = (name: string, svc: string, ip: string, ns: string) => `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ${name}
  namespace: ${ns}
  labels: {kubernetes.io/service-name: ${svc}, endpointslice.kubernetes.io/managed-by: test.k8ts.io}
addressType: IPv4
endpoints: [{addresses: [${ip}], nodeName: k8ts-sim-0, conditions: {ready: true, serving: true}}]
ports: [{name: dns, port: 53, protocol: UDP}]
`;
    await s.k('apply -f -', slice('kube-dns-k8ts-sim-0', 'kube-dns', '10.45.200.1', 'kube-system'));
    await s.k(['create', 'service', 'clusterip', 'sel', '--tcp', '53:53']);
    await s.k('apply -f -', slice('sel-extra', 'sel', '10.45.200.2', 'default'));
    // the controller has written sel's own (empty) slice: it has looked at sel since
    await eventually(async () => JSON.parse(await s.k('get endpointslices -l endpointslice.kubernetes.io/managed-by=endpointslice-controller.k8s.io,kubernetes.io/service-name=sel -o json')).items.length === 1, 10_000, 'sel managed slice');
    await s.k(['label', 'svc', 'sel', 'touch=1']); // one more reconcile of sel
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(JSON.parse(await s.k('get endpointslice sel-extra -o json')).endpoints[0].addresses[0], '10.45.200.2');
    const d = await s.k('describe svc kube-dns -n kube-system');
    assert.match(d, /Endpoints:\s+10\.45\.200\.1:53/);
    await s.k('delete endpointslice kube-dns-k8ts-sim-0 -n kube-system');
    await s.k('delete svc sel');
  });

  it('kube-dns survives a restart unchanged and a user edit sticks', async () => {
    await s.k(['label', 'svc', 'kube-dns', '-n', 'kube-system', 'edited=yes']);
    const before = JSON.parse(await s.k('get svc kube-dns -n kube-system -o json'));
    await s.restart();
    const after = JSON.parse(await s.k('get svc kube-dns -n kube-system -o json'));
    assert.equal(after.metadata.uid, before.metadata.uid);
    assert.equal(after.metadata.resourceVersion, before.metadata.resourceVersion);
    assert.equal(after.metadata.labels.edited, 'yes');
    // a deleted kube-dns comes back on the next start
    await s.k('delete svc kube-dns -n kube-system');
    await s.restart();
    const again = JSON.parse(await s.k('get svc kube-dns -n kube-system -o json'));
    assert.notEqual(again.metadata.uid, before.metadata.uid);
    assert.equal(again.spec.clusterIP, '10.43.0.10');
    await eventually(async () => (await s.k('get nodes')).match(/\sReady\s/g)?.length === 3, 15_000, 'nodes Ready after restart');
  });

  it('kubectl expose --type LoadBalancer: EXTERNAL-IP = the Ready nodes’ addresses, events, describe', async () => {
    await s.k('create deployment web --image nginx:1.27 --replicas 2 --port 8080');
    await s.k('expose deployment web --port 80 --target-port 8080 --type LoadBalancer');
    const svc = JSON.parse(await s.k('get svc web -o json'));
    assert.equal(svc.spec.type, 'LoadBalancer');
    assert.deepEqual(svc.spec.selector, { app: 'web' });
    assert.equal(svc.spec.ports[0].port, 80);
    assert.equal(svc.spec.ports[0].targetPort, 8080);
    assert.ok(svc.spec.ports[0].nodePort >= 30000 && svc.spec.ports[0].nodePort <= 32767);
    await waitExternal(s, 'web', expected([...nodeIps.keys()]));
    const full = JSON.parse(await s.k('get svc web -o json'));
    assert.ok(full.status.loadBalancer.ingress.every((i: any) => i.ipMode === 'VIP'));
    const events = await eventually(async () => {
      const o = await s.k('get events --field-selector involvedObject.name=web,involvedObject.kind=Service');
      return /EnsuredLoadBalancer/.test(o) ? o : undefined;
    }, 10_000, 'EnsuredLoadBalancer event');
    assert.match(events, /EnsuringLoadBalancer/);
    // describe: ingress and the pods' endpoints (simulated pods get IPs)
    const d = await eventually(async () => {
      const o = await s.k('describe svc web');
      return /Endpoints:\s+\d+\.\d+\.\d+\.\d+:8080,\d+\.\d+\.\d+\.\d+:8080/.test(o) ? o : undefined;
    }, 15_000, 'describe shows 2 endpoints');
    for (const ip of nodeIps.values()) assert.match(d, new RegExp(`LoadBalancer Ingress:.*${ip.replace(/\./g, '\\.')} \\(VIP\\)`));
  });

  it('follows nodes: NotReady, cordon, deletion, and back', async () => {
    const [n0, n1, n2] = [...nodeIps.keys()].sort();
    await s.k(['create', 'service', 'loadbalancer', 'follow', '--tcp', '81:8081']);
    await waitExternal(s, 'follow', expected([n0, n1, n2]));
    // a node whose kubelet stops heartbeating turns Unknown after the 4s grace period
    await s.k(['annotate', 'node', n1, 'simulator.k8ts.io/heartbeat=stopped']);
    await waitExternal(s, 'follow', expected([n0, n2]), 20_000);
    assert.equal(await externalIp(s, 'web'), expected([n0, n2]), 'every managed Service follows');
    await s.k(['annotate', 'node', n1, 'simulator.k8ts.io/heartbeat-']);
    await waitExternal(s, 'follow', expected([n0, n1, n2]), 20_000);
    await s.k(['cordon', n2]);
    await waitExternal(s, 'follow', expected([n0, n1]));
    await s.k(['uncordon', n2]);
    await waitExternal(s, 'follow', expected([n0, n1, n2]));
    await s.k(['label', 'node', n0, 'node.kubernetes.io/exclude-from-external-load-balancers=']);
    await waitExternal(s, 'follow', expected([n1, n2]));
    await s.k(['label', 'node', n0, 'node.kubernetes.io/exclude-from-external-load-balancers-']);
    await waitExternal(s, 'follow', expected([n0, n1, n2]));
    await s.k(['delete', 'node', n2]);
    await waitExternal(s, 'follow', expected([n0, n1]));
  });

  it('leaves a Service with a loadBalancerClass <pending>; a class cannot be added later', async () => {
    await s.k('apply -f -', `apiVersion: v1
kind: Service
metadata: {name: classy}
spec:
  type: LoadBalancer
  loadBalancerClass: example.com/other-lb
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`);
    await s.k(['create', 'service', 'loadbalancer', 'after-classy', '--tcp', '82:8082']);
    // the controller has handled a later Service: it had its chance with the class'd one
    await eventually(async () => (await ingressOf(s, 'after-classy')).length > 0, 15_000, 'after-classy served');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await externalIp(s, 'classy'), '<pending>');
    const r = await s.kubectl(['patch', 'svc', 'after-classy', '-p', '{"spec":{"loadBalancerClass":"example.com/x"}}']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /loadBalancerClass.*may not change once set/);
  });

  it('type change LoadBalancer → ClusterIP clears the status, node ports and LB-only fields', async () => {
    await s.k(['patch', 'svc', 'after-classy', '-p', '{"spec":{"type":"ClusterIP"}}']);
    const svc = JSON.parse(await s.k('get svc after-classy -o json'));
    assert.equal(svc.spec.type, 'ClusterIP');
    assert.equal(svc.status.loadBalancer.ingress, undefined);
    assert.equal(svc.spec.ports[0].nodePort, undefined);
    assert.equal(svc.spec.externalTrafficPolicy, undefined);
    assert.equal(await externalIp(s, 'after-classy'), '<none>');
    // and back: a fresh status from servicelb
    await s.k(['patch', 'svc', 'after-classy', '-p', '{"spec":{"type":"LoadBalancer"}}']);
    await eventually(async () => (await ingressOf(s, 'after-classy')).length > 0, 15_000, 'after-classy served again');
    // a class'd Service turned ClusterIP loses its class (it only applies to LoadBalancers)
    await s.k(['patch', 'svc', 'classy', '-p', '{"spec":{"type":"ClusterIP"}}']);
    assert.equal(JSON.parse(await s.k('get svc classy -o json')).spec.loadBalancerClass, undefined);
  });

  it('kubectl expose / create service variants and their EXTERNAL-IP column', async () => {
    await s.k('expose deployment web --name web-np --port 80 --target-port 8080 --type NodePort');
    const np = JSON.parse(await s.k('get svc web-np -o json'));
    assert.equal(np.spec.type, 'NodePort');
    assert.ok(np.spec.ports[0].nodePort >= 30000);
    assert.equal(await externalIp(s, 'web-np'), '<none>');
    await s.k('expose deployment web --name web-cip --port 8000 --target-port 8080');
    const cip = JSON.parse(await s.k('get svc web-cip -o json'));
    assert.equal(cip.spec.type, 'ClusterIP');
    assert.equal(cip.spec.ports[0].targetPort, 8080);
    await s.k('create service externalname ext --external-name db.example.com');
    assert.equal(await externalIp(s, 'ext'), 'db.example.com');
    assert.equal(JSON.parse(await s.k('get svc ext -o json')).spec.clusterIP, undefined);
    await s.k('create service nodeport np2 --tcp 5678:8080 --node-port 30555');
    assert.equal(JSON.parse(await s.k('get svc np2 -o json')).spec.ports[0].nodePort, 30555);
    const dup = await s.kubectl(['create', 'service', 'nodeport', 'np3', '--tcp', '5678:8080', '--node-port', '30555']);
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, /already allocated/);
    await s.k('create service loadbalancer lb2 --tcp 5678:8080');
    await eventually(async () => ((await externalIp(s, 'lb2')).includes('.') ? true : undefined), 15_000, 'lb2 gets addresses');
    // headless: no cluster IP, no EXTERNAL-IP
    await s.k('create service clusterip headless --clusterip None');
    const table = await s.k('get svc headless');
    assert.match(table, /^headless\s+ClusterIP\s+None\s+<none>\s/m);
  });
});

describe('servicelb: address pool', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer({ args: ['--simulated-nodes', '1', '--service-lb-pool', '10.44.7.0/29,10.44.8.1'] });
  });
  after(async () => {
    await s?.stop();
  });
  const lb = (name: string, extra = '') =>
    s.k('apply -f -', `apiVersion: v1
kind: Service
metadata: {name: ${name}}
spec:
  type: LoadBalancer
  selector: {app: ${name}}
  ports: [{port: 80}]
${extra}`);

  it('one address per Service, lowest free first; loadBalancerIP honoured when free', async () => {
    await lb('a');
    await waitExternal(s, 'a', '10.44.7.1');
    await lb('b');
    await waitExternal(s, 'b', '10.44.7.2');
    await lb('c', '  loadBalancerIP: 10.44.8.1');
    await waitExternal(s, 'c', '10.44.8.1');
    await lb('d', '  loadBalancerIP: 10.44.8.1');
    await lb('e', '  loadBalancerIP: 10.99.0.1');
    const ev = await eventually(async () => {
      const o = await s.k('get events --field-selector reason=SyncLoadBalancerFailed');
      return /service\/d/.test(o) && /service\/e/.test(o) ? o : undefined;
    }, 15_000, 'SyncLoadBalancerFailed for d and e');
    assert.match(ev, /already in use by service default\/c/);
    assert.match(ev, /not in the load balancer pool/);
    assert.equal(await externalIp(s, 'd'), '<pending>');
    assert.equal(await externalIp(s, 'e'), '<pending>');
    // c goes: d gets the address it asked for
    await s.k('delete svc c');
    await waitExternal(s, 'd', '10.44.8.1');
  });

  it('releases on deletion and type change; keeps assignments across a restart (the status is the record)', async () => {
    await s.k('delete svc a');
    await lb('f');
    await waitExternal(s, 'f', '10.44.7.1');
    // .1 free again, b keeps .2: after a restart a controller that forgot would hand b the lowest free address
    await s.k('delete svc f');
    await s.restart();
    await lb('g');
    await waitExternal(s, 'g', '10.44.7.1');
    assert.equal(await externalIp(s, 'b'), '10.44.7.2');
    assert.equal(await externalIp(s, 'd'), '10.44.8.1');
    assert.equal(await externalIp(s, 'e'), '<pending>');
    // b stops being a LoadBalancer: the API clears its status, servicelb frees its address
    await s.k(['patch', 'svc', 'b', '-p', '{"spec":{"type":"NodePort"}}']);
    assert.deepEqual(await ingressOf(s, 'b'), []);
    await lb('h');
    await waitExternal(s, 'h', '10.44.7.2');
  });

  it('a bad pool is refused at start', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'k8ts-e2e-badpool-'));
    after(() => rmSync(dataDir, { recursive: true, force: true }));
    const bad = await startServer({ dataDir, args: ['--service-lb-pool', '10.44.7.9-10.44.7.1'] }).then(
      async (x) => {
        await x.stop();
        return undefined;
      },
      (e: Error) => e,
    );
    assert.ok(bad instanceof Error);
    assert.match(bad.message, /invalid load balancer pool entry/);
  });
});

describe('servicelb: --disable servicelb', () => {
  it('leaves LoadBalancer Services <pending>', async () => {
    const s = await startServer({ args: ['--simulated-nodes', '1', '--disable', 'servicelb'] });
    try {
      await eventually(async () => /\sReady\s/.test(await s.k('get nodes')), 15_000, 'node Ready');
      await s.k('create service loadbalancer idle --tcp 80:80');
      // the same cluster without --disable would fill the status within a second (see above)
      await new Promise((r) => setTimeout(r, 2000));
      assert.equal(await externalIp(s, 'idle'), '<pending>');
    } finally {
      await s.stop();
    }
  });
});
