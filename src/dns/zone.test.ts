import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterZone } from './zone.js';
import { QueryHandler } from './handler.js';
import { RCODE, TYPE } from './message.js';
import { buildQuery, decodeMessage, type DecodedMessage } from './decode.js';

const svc = (name: string, spec: Record<string, unknown>, ns = 'default') => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec });
const slice = (name: string, service: string, endpoints: unknown[], ports: unknown[], ns = 'default') => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name, namespace: ns, labels: { 'kubernetes.io/service-name': service } },
  addressType: 'IPv4',
  endpoints,
  ports,
});

function fixture() {
  const zone = new ClusterZone({ domain: 'cluster.local', ttl: 5 });
  zone.setService(svc('web', { clusterIP: '10.43.0.20', clusterIPs: ['10.43.0.20'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }, { port: 9000 }] }) as any);
  zone.setService(svc('dual', { clusterIP: '10.43.0.21', clusterIPs: ['10.43.0.21', 'fd00:43::21'], ports: [{ port: 80 }] }) as any);
  zone.setService(svc('db', { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] }) as any);
  zone.setSlice(
    slice(
      'db-abc',
      'db',
      [
        { addresses: ['10.42.0.10'], hostname: 'db-0', conditions: { ready: true } },
        { addresses: ['10.42.0.11'], hostname: 'db-1', conditions: { ready: true } },
        { addresses: ['10.42.0.12'], hostname: 'db-2', conditions: { ready: false } },
        { addresses: ['10.42.0.13'] },
      ],
      [{ name: 'pg', port: 5432, protocol: 'TCP' }],
    ) as any,
  );
  zone.setService(svc('ext', { type: 'ExternalName', externalName: 'db.default.svc.cluster.local' }) as any);
  zone.setService(svc('out', { type: 'ExternalName', externalName: 'Example.COM.' }) as any);
  zone.setService(svc('kube-dns', { clusterIP: '10.43.0.10', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] }, 'kube-system') as any);
  return { zone, handler: new QueryHandler(zone) };
}

function ask(h: QueryHandler, name: string, type: number, o: { edns?: number; tcp?: boolean } = {}): DecodedMessage {
  let out: Buffer | undefined;
  h.handle(buildQuery(name, type, { edns: o.edns }), o.tcp ? 'tcp' : 'udp', (b) => (out = b));
  assert.ok(out, 'answered synchronously');
  return decodeMessage(out);
}
const data = (m: DecodedMessage) => m.answer.map((a) => a.data).sort();

test('ClusterIP services: A, AAAA by family, NODATA for the other family, TTL 5, authoritative', () => {
  const { handler: h } = fixture();
  const a = ask(h, 'web.default.svc.cluster.local', TYPE.A);
  assert.equal(a.rcode, RCODE.NOERROR);
  assert.ok(a.aa);
  assert.deepEqual(data(a), ['10.43.0.20']);
  assert.equal(a.answer[0].ttl, 5);
  const aaaa = ask(h, 'web.default.svc.cluster.local', TYPE.AAAA);
  assert.equal(aaaa.rcode, RCODE.NOERROR);
  assert.equal(aaaa.answer.length, 0);
  assert.equal(aaaa.authority[0].type, TYPE.SOA);
  assert.equal(aaaa.authority[0].name, 'cluster.local');
  assert.match(aaaa.authority[0].data, /^ns\.dns\.cluster\.local hostmaster\.cluster\.local \d+ 7200 1800 86400 5$/);
  assert.deepEqual(data(ask(h, 'dual.default.svc.cluster.local', TYPE.AAAA)), ['fd00:43::21']);
  assert.deepEqual(data(ask(h, 'dual.default.svc.cluster.local', TYPE.A)), ['10.43.0.21']);
  assert.equal(ask(h, 'web.default.svc.cluster.local', TYPE.TXT).answer.length, 0);
  // case-insensitive, answered in the query's case
  const c = ask(h, 'WEB.Default.svc.CLUSTER.local', TYPE.A);
  assert.deepEqual(data(c), ['10.43.0.20']);
  assert.equal(c.answer[0].name, 'WEB.Default.svc.CLUSTER.local');
});

test('NXDOMAIN versus NODATA', () => {
  const { handler: h } = fixture();
  const nx = (n: string, t: number = TYPE.A) => assert.equal(ask(h, n, t).rcode, RCODE.NXDOMAIN, n);
  const nodata = (n: string, t: number = TYPE.A) => {
    const m = ask(h, n, t);
    assert.equal(m.rcode, RCODE.NOERROR, n);
    assert.equal(m.answer.length, 0, n);
    assert.equal(m.authority[0]?.type, TYPE.SOA, n);
  };
  nx('missing.default.svc.cluster.local');
  nx('web.nowhere.svc.cluster.local');
  nx('nowhere.svc.cluster.local');
  nx('web.default.svc.cluster.local.default.svc.cluster.local'); // a search-path expansion
  nx('x.y.z.web.default.svc.cluster.local');
  nx('foo.cluster.local');
  nx('db-2.db.default.svc.cluster.local'); // not ready
  nx('web-0.web.default.svc.cluster.local'); // ClusterIP services have no endpoint names
  nx('_nope._tcp.web.default.svc.cluster.local', TYPE.SRV);
  nx('_http._udp.web.default.svc.cluster.local', TYPE.SRV);
  nx('abc.default.pod.cluster.local');
  nodata('default.svc.cluster.local');
  nodata('svc.cluster.local');
  nodata('pod.cluster.local');
  nodata('default.pod.cluster.local');
  nodata('cluster.local');
  nodata('_http._tcp.web.default.svc.cluster.local', TYPE.A);
  nodata('_tcp.web.default.svc.cluster.local', TYPE.SRV);
  nodata('10-42-0-5.default.pod.cluster.local', TYPE.AAAA);
});

test('headless services: ready endpoints, names, publishNotReadyAddresses', () => {
  const { zone, handler: h } = fixture();
  assert.deepEqual(data(ask(h, 'db.default.svc.cluster.local', TYPE.A)), ['10.42.0.10', '10.42.0.11', '10.42.0.13']);
  assert.deepEqual(data(ask(h, 'db-1.db.default.svc.cluster.local', TYPE.A)), ['10.42.0.11']);
  assert.deepEqual(data(ask(h, '10-42-0-13.db.default.svc.cluster.local', TYPE.A)), ['10.42.0.13']);
  zone.setService(svc('db', { clusterIP: 'None', publishNotReadyAddresses: true, ports: [{ name: 'pg', port: 5432 }] }) as any);
  assert.deepEqual(data(ask(h, 'db.default.svc.cluster.local', TYPE.A)), ['10.42.0.10', '10.42.0.11', '10.42.0.12', '10.42.0.13']);
  assert.deepEqual(data(ask(h, 'db-2.db.default.svc.cluster.local', TYPE.A)), ['10.42.0.12']);
  // a second slice adds, deleting it removes
  zone.setSlice(slice('db-def', 'db', [{ addresses: ['10.42.1.7'], hostname: 'db-9' }], [{ name: 'pg', port: 5432, protocol: 'TCP' }]) as any);
  assert.deepEqual(data(ask(h, 'db-9.db.default.svc.cluster.local', TYPE.A)), ['10.42.1.7']);
  zone.deleteSlice('default', 'db-def');
  assert.equal(ask(h, 'db-9.db.default.svc.cluster.local', TYPE.A).rcode, RCODE.NXDOMAIN);
  // no endpoints at all: the service exists, NODATA
  zone.deleteSlice('default', 'db-abc');
  const empty = ask(h, 'db.default.svc.cluster.local', TYPE.A);
  assert.equal(empty.rcode, RCODE.NOERROR);
  assert.equal(empty.answer.length, 0);
});

test('SRV for named ports: ClusterIP → the service name, headless → each endpoint, with addresses in additional', () => {
  const { handler: h } = fixture();
  const s = ask(h, '_http._tcp.web.default.svc.cluster.local', TYPE.SRV);
  assert.deepEqual(data(s), ['0 100 80 web.default.svc.cluster.local']);
  assert.deepEqual(s.additional.map((a) => `${a.name} ${a.data}`), ['web.default.svc.cluster.local 10.43.0.20']);
  assert.deepEqual(data(ask(h, '_dns._udp.web.default.svc.cluster.local', TYPE.SRV)), ['0 100 53 web.default.svc.cluster.local']);
  const hs = ask(h, '_pg._tcp.db.default.svc.cluster.local', TYPE.SRV);
  assert.deepEqual(data(hs), ['0 33 5432 10-42-0-13.db.default.svc.cluster.local', '0 33 5432 db-0.db.default.svc.cluster.local', '0 33 5432 db-1.db.default.svc.cluster.local']);
  assert.deepEqual(hs.additional.map((a) => `${a.name} ${a.data}`).sort(), ['10-42-0-13.db.default.svc.cluster.local 10.42.0.13', 'db-0.db.default.svc.cluster.local 10.42.0.10', 'db-1.db.default.svc.cluster.local 10.42.0.11']);
  // SRV on the service name itself: every port
  assert.equal(ask(h, 'web.default.svc.cluster.local', TYPE.SRV).answer.length, 3);
});

test('ExternalName: CNAME, chased inside the zone', () => {
  const { handler: h } = fixture();
  const out = ask(h, 'out.default.svc.cluster.local', TYPE.A);
  assert.deepEqual(out.answer.map((a) => [a.type, a.data]), [[TYPE.CNAME, 'example.com']]);
  const ext = ask(h, 'ext.default.svc.cluster.local', TYPE.A);
  assert.equal(ext.answer[0].type, TYPE.CNAME);
  assert.equal(ext.answer[0].data, 'db.default.svc.cluster.local');
  assert.deepEqual(ext.answer.slice(1).map((a) => `${a.name} ${a.data}`).sort(), ['db.default.svc.cluster.local 10.42.0.10', 'db.default.svc.cluster.local 10.42.0.11', 'db.default.svc.cluster.local 10.42.0.13']);
  assert.deepEqual(data(ask(h, 'ext.default.svc.cluster.local', TYPE.CNAME)), ['db.default.svc.cluster.local']);
});

test('PTR for ClusterIPs and headless endpoints; NXDOMAIN inside the service CIDR; others not ours', () => {
  const { zone, handler: h } = fixture();
  assert.deepEqual(data(ask(h, '20.0.43.10.in-addr.arpa', TYPE.PTR)), ['web.default.svc.cluster.local']);
  assert.deepEqual(data(ask(h, '11.0.42.10.in-addr.arpa', TYPE.PTR)), ['db-1.db.default.svc.cluster.local']);
  assert.deepEqual(data(ask(h, '13.0.42.10.in-addr.arpa', TYPE.PTR)), ['10-42-0-13.db.default.svc.cluster.local']);
  const v6 = '1.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.4.0.0.0.0.d.f.ip6.arpa';
  assert.deepEqual(data(ask(h, v6, TYPE.PTR)), ['dual.default.svc.cluster.local']);
  assert.equal(ask(h, '99.0.43.10.in-addr.arpa', TYPE.PTR).rcode, RCODE.NXDOMAIN);
  assert.equal(zone.lookup('1.1.168.192.in-addr.arpa', TYPE.PTR), undefined);
  // no upstreams: nothing exists outside the cluster (NXDOMAIN, so resolvers go on through the search path)
  assert.equal(ask(h, '1.1.168.192.in-addr.arpa', TYPE.PTR).rcode, RCODE.NXDOMAIN);
  assert.equal(ask(h, 'example.com', TYPE.A).rcode, RCODE.NXDOMAIN);
  zone.deleteService('default', 'web');
  assert.equal(ask(h, '20.0.43.10.in-addr.arpa', TYPE.PTR).rcode, RCODE.NXDOMAIN);
  assert.equal(ask(h, 'web.default.svc.cluster.local', TYPE.A).rcode, RCODE.NXDOMAIN);
});

test('pod records, apex SOA and NS, dns-version', () => {
  const { handler: h } = fixture();
  assert.deepEqual(data(ask(h, '10-42-0-5.default.pod.cluster.local', TYPE.A)), ['10.42.0.5']);
  assert.deepEqual(data(ask(h, 'fd00-42--5.any.pod.cluster.local', TYPE.AAAA)), ['fd00:42::5']);
  assert.equal(ask(h, 'cluster.local', TYPE.SOA).answer[0].type, TYPE.SOA);
  const ns = ask(h, 'cluster.local', TYPE.NS);
  assert.deepEqual(data(ns), ['ns.dns.cluster.local']);
  assert.deepEqual(ns.additional.map((a) => a.data), ['10.43.0.10']);
  assert.deepEqual(data(ask(h, 'ns.dns.cluster.local', TYPE.A)), ['10.43.0.10']);
  assert.deepEqual(data(ask(h, 'dns-version.cluster.local', TYPE.TXT)), ['1.1.0']);
});

test('the answer cache follows changes; large answers truncate over UDP, not over TCP or with EDNS', () => {
  const { zone, handler: h } = fixture();
  assert.deepEqual(data(ask(h, 'web.default.svc.cluster.local', TYPE.A)), ['10.43.0.20']);
  zone.setService(svc('web', { clusterIP: '10.43.0.30', ports: [{ name: 'http', port: 80 }] }) as any);
  assert.deepEqual(data(ask(h, 'web.default.svc.cluster.local', TYPE.A)), ['10.43.0.30']);
  zone.setService(svc('big', { clusterIP: 'None' }) as any);
  zone.setSlice(slice('big-1', 'big', Array.from({ length: 100 }, (_, i) => ({ addresses: [`10.42.3.${i}`] })), []) as any);
  const udp = ask(h, 'big.default.svc.cluster.local', TYPE.A);
  assert.ok(udp.tc);
  assert.equal(udp.answer.length, 0);
  const edns = ask(h, 'big.default.svc.cluster.local', TYPE.A, { edns: 4096 });
  assert.ok(!edns.tc);
  assert.equal(edns.answer.length, 100);
  const tcp = ask(h, 'big.default.svc.cluster.local', TYPE.A, { tcp: true });
  assert.ok(!tcp.tc);
  assert.equal(tcp.answer.length, 100);
  // a slice moving to another service leaves the first
  zone.setSlice(slice('big-1', 'web', [{ addresses: ['10.42.9.9'] }], []) as any);
  assert.equal(ask(h, 'big.default.svc.cluster.local', TYPE.A).answer.length, 0);
});

test('errors: FORMERR echoes the ID, NOTIMP for other opcodes, REFUSED for other classes and zone transfers', () => {
  const { handler: h } = fixture();
  const send = (b: Buffer) => {
    let out: Buffer | undefined;
    h.handle(b, 'udp', (r) => (out = r));
    return out && decodeMessage(out);
  };
  const q = buildQuery('web.default.svc.cluster.local', TYPE.A, { id: 4242 });
  const f = send(q.subarray(0, 20))!;
  assert.equal(f.id, 4242);
  assert.equal(f.rcode, RCODE.FORMERR);
  assert.equal(send(buildQuery('web.default.svc.cluster.local', TYPE.A, { opcode: 4 }))!.rcode, RCODE.NOTIMP);
  assert.equal(send(Buffer.from([1, 2, 3]))?.rcode, undefined);
  const ch = Buffer.from(q);
  ch.writeUInt16BE(3, ch.length - 2);
  assert.equal(send(ch)!.rcode, RCODE.REFUSED);
  assert.equal(send(buildQuery('cluster.local', 252))!.rcode, RCODE.REFUSED);
  const v1 = buildQuery('a.b', TYPE.A, { edns: 1232 });
  v1[v1.length - 5] = 1; // EDNS version 1
  const bad = send(v1)!;
  assert.equal(bad.rcode, 0); // BADVERS lives in the OPT's extended rcode
  assert.equal(bad.additional[0].type, TYPE.OPT);
  assert.equal(bad.additional[0].ttl >>> 24, 1);
});
