// Cluster DNS against a real `k8ts server` (one simulated node, so StatefulSet
// pods get addresses and ready endpoints with hostnames): Services, a headless
// Service over a StatefulSet, SRV, PTR, ExternalName, NXDOMAIN, TCP, and how
// fast changes made with kubectl show up. The DNS server runs in this process
// on 127.0.0.1 with informers built from the server's kubeconfig and no
// upstreams; queries come from a real resolver (node:dns, c-ares) and a raw
// TCP socket.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Resolver } from 'node:dns/promises';
import pino from 'pino';
import { startServer, eventually, type TestServer } from '../support/cluster.js';
import { ApiClient } from '../../src/client/api.js';
import { loadKubeconfig } from '../../src/client/config.js';
import { InformerFactory } from '../../src/client/factory.js';
import { startClusterDns, type ClusterDns } from '../../src/dns/server.js';
import { buildQuery, decodeMessage } from '../../src/dns/decode.js';
import { RCODE, TYPE } from '../../src/dns/message.js';

let s: TestServer;
let factory: InformerFactory;
let dns: ClusterDns;
let r: Resolver;

const manifests = `
apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: 8080 }]
---
apiVersion: v1
kind: Service
metadata: { name: db }
spec:
  clusterIP: None
  selector: { app: db }
  ports: [{ name: pg, port: 5432 }]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: { name: db }
spec:
  serviceName: db
  replicas: 2
  selector: { matchLabels: { app: db } }
  template:
    metadata: { labels: { app: db } }
    spec:
      containers: [{ name: pg, image: postgres:16, ports: [{ name: pg, containerPort: 5432 }] }]
---
apiVersion: v1
kind: Service
metadata: { name: ext }
spec: { type: ExternalName, externalName: db.example.com }
`;

before(async () => {
  s = await startServer({ args: ['--simulated-nodes', '1'] });
  await s.k(['apply', '-f', '-'], manifests);
  const api = new ApiClient({ ...loadKubeconfig(s.kubeconfig), userAgent: 'k8ts/e2e-dns' });
  factory = new InformerFactory(api);
  const services = factory.informer<any>('', 'services');
  const endpointSlices = factory.informer<any>('discovery.k8s.io', 'endpointslices');
  await factory.start();
  dns = await startClusterDns({ services, endpointSlices, listen: [{ host: '127.0.0.1', port: 0 }], upstreams: [], log: pino({ level: 'silent' }) });
  r = new Resolver({ timeout: 2000, tries: 1 });
  r.setServers([`127.0.0.1:${dns.addresses[0].port}`]);
});
after(async () => {
  await dns?.stop();
  factory?.stop();
  await s?.stop();
});

const jsonpath = (args: string, path: string) => s.k([...args.split(' '), '-o', `jsonpath=${path}`]);

function tcpQuery(port: number, name: string, type: number) {
  return new Promise<ReturnType<typeof decodeMessage>>((resolve, reject) => {
    const c = net.connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    c.setTimeout(3000, () => reject(new Error('tcp query timed out')));
    c.on('error', reject);
    c.on('connect', () => {
      const q = buildQuery(name, type, { id: 77 });
      c.write(Buffer.concat([Buffer.from([q.length >> 8, q.length & 255]), q]));
    });
    c.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        c.end();
        resolve(decodeMessage(buf.subarray(2, 2 + buf.readUInt16BE(0))));
      }
    });
  });
}

describe('cluster DNS', () => {
  it('answers A and SRV for a ClusterIP Service and PTR for its ClusterIP', async () => {
    const ip = await jsonpath('get svc web', '{.spec.clusterIP}');
    assert.match(ip, /^10\.43\.\d+\.\d+$/);
    assert.deepEqual(await r.resolve4('web.default.svc.cluster.local'), [ip]);
    assert.deepEqual(await r.resolveSrv('_http._tcp.web.default.svc.cluster.local'), [{ name: 'web.default.svc.cluster.local', port: 80, priority: 0, weight: 100 }]);
    assert.deepEqual(await r.reverse(ip), ['web.default.svc.cluster.local']);
    // the kubernetes Service is there too
    assert.deepEqual(await r.resolve4('kubernetes.default.svc.cluster.local'), [await jsonpath('get svc kubernetes', '{.spec.clusterIP}')]);
  });

  it('answers a headless Service with one address per ready StatefulSet pod, and each pod by hostname', async () => {
    const podIPs = await eventually(async () => {
      const out = (await jsonpath('get pods -l app=db', '{range .items[*]}{.metadata.name}={.status.podIP}{"\\n"}{end}')).trim().split('\n').filter((l) => /=\d/.test(l));
      return out.length === 2 ? Object.fromEntries(out.map((l) => l.split('='))) : undefined;
    }, 30_000, 'two db pods with IPs');
    await eventually(async () => (await r.resolve4('db.default.svc.cluster.local').catch(() => [])).length === 2, 15_000, 'both db pods in DNS');
    assert.deepEqual((await r.resolve4('db.default.svc.cluster.local')).sort(), Object.values(podIPs).sort());
    assert.deepEqual(await r.resolve4('db-0.db.default.svc.cluster.local'), [podIPs['db-0']]);
    assert.deepEqual(await r.resolve4('db-1.db.default.svc.cluster.local'), [podIPs['db-1']]);
    const srv = await r.resolveSrv('_pg._tcp.db.default.svc.cluster.local');
    assert.deepEqual(srv.map((x) => `${x.name}:${x.port}`).sort(), ['db-0.db.default.svc.cluster.local:5432', 'db-1.db.default.svc.cluster.local:5432']);
    assert.deepEqual(await r.reverse(podIPs['db-0']), ['db-0.db.default.svc.cluster.local']);
    // pod records
    assert.deepEqual(await r.resolve4(`${podIPs['db-0'].replace(/\./g, '-')}.default.pod.cluster.local`), [podIPs['db-0']]);
  });

  it('answers an ExternalName Service with a CNAME, a missing name with NXDOMAIN, a missing family with NODATA', async () => {
    assert.deepEqual(await r.resolveCname('ext.default.svc.cluster.local'), ['db.example.com']);
    await assert.rejects(r.resolve4('nope.default.svc.cluster.local'), { code: 'ENOTFOUND' });
    await assert.rejects(r.resolve4('web.nowhere.svc.cluster.local'), { code: 'ENOTFOUND' });
    await assert.rejects(r.resolve6('web.default.svc.cluster.local'), { code: 'ENODATA' });
    // no upstreams configured: outside names do not exist (NXDOMAIN), never forwarded
    await assert.rejects(r.resolve4('example.com'), { code: 'ENOTFOUND' });
  });

  it('answers over TCP', async () => {
    const m = await tcpQuery(dns.addresses[0].port, 'Web.Default.svc.cluster.local', TYPE.A);
    assert.equal(m.id, 77);
    assert.equal(m.rcode, RCODE.NOERROR);
    assert.equal(m.answer[0].name, 'Web.Default.svc.cluster.local');
    assert.equal(m.answer[0].data, await jsonpath('get svc web', '{.spec.clusterIP}'));
    assert.equal(m.answer[0].ttl, 5);
  });

  it('shows Service changes made with kubectl within a second', async () => {
    const resolved = async (name: string) => (await r.resolve4(name).catch(() => [] as string[]))[0];
    await s.k('create service clusterip late --tcp=80:8080');
    let t0 = performance.now();
    const ip = await eventually(() => resolved('late.default.svc.cluster.local'), 5000, 'late in DNS');
    const addMs = performance.now() - t0;
    assert.equal(ip, await jsonpath('get svc late', '{.spec.clusterIP}'));
    await s.k('delete service late');
    t0 = performance.now();
    await eventually(async () => !(await resolved('late.default.svc.cluster.local')), 5000, 'late gone from DNS');
    const delMs = performance.now() - t0;
    assert.ok(addMs < 1000, `create showed after ${addMs} ms`);
    assert.ok(delMs < 1000, `delete showed after ${delMs} ms`);
    await assert.rejects(r.reverse(ip), { code: 'ENOTFOUND' });
    // scaling the StatefulSet adds its pod's name
    await s.k('scale statefulset db --replicas=3');
    await eventually(() => resolved('db-2.db.default.svc.cluster.local'), 30_000, 'db-2 in DNS');
    assert.equal(await resolved('db-2.db.default.svc.cluster.local'), await jsonpath('get pod db-2', '{.status.podIP}'));
  });
});
