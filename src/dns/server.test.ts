import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { Resolver } from 'node:dns/promises';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { FakeInformer } from '../../test/support/fakeInformer.js';
import { startClusterDns, hostUpstreams } from './server.js';
import { buildQuery, decodeMessage } from './decode.js';
import { RCODE, TYPE } from './message.js';
import { parseNameservers } from './resolvConf.js';

const log = pino({ level: 'silent' });
const svc = (name: string, spec: Record<string, unknown>, ns = 'default') => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec }) as any;

async function setup(upstreams: string[] = []) {
  const services = new FakeInformer<any>();
  const slices = new FakeInformer<any>();
  services.set(svc('web', { clusterIP: '10.43.0.20', ports: [{ name: 'http', port: 80 }] }));
  const metrics = new Registry();
  const dns = await startClusterDns({ services: services.informer, endpointSlices: slices.informer, listen: [{ host: '127.0.0.1', port: 0 }], upstreams, log, metrics, tcpIdleMs: 500 });
  const r = new Resolver({ timeout: 1000, tries: 1 });
  r.setServers([`127.0.0.1:${dns.addresses[0].port}`]);
  return { services, slices, dns, r, metrics };
}

function tcpAsk(port: number, queries: Buffer[]): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const c = net.connect({ host: '127.0.0.1', port });
    const out: Buffer[] = [];
    let buf = Buffer.alloc(0);
    c.on('error', reject);
    c.on('connect', () => {
      // all queries in one write: pipelined on one connection
      c.write(Buffer.concat(queries.flatMap((q) => [Buffer.from([q.length >> 8, q.length & 255]), q])));
    });
    c.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        out.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (out.length === queries.length) {
        c.end();
        resolve(out);
      }
    });
  });
}

test('serves UDP to a real resolver, follows informer events, counts in metrics', async () => {
  const { services, slices, dns, r, metrics } = await setup();
  try {
    assert.deepEqual(await r.resolve4('web.default.svc.cluster.local'), ['10.43.0.20']);
    await assert.rejects(r.resolve4('nope.default.svc.cluster.local'), { code: 'ENOTFOUND' });
    await assert.rejects(r.resolve6('web.default.svc.cluster.local'), { code: 'ENODATA' });
    await assert.rejects(r.resolve4('example.com'), { code: 'ENOTFOUND' });
    assert.deepEqual(await r.reverse('10.43.0.20'), ['web.default.svc.cluster.local']);
    services.set(svc('db', { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] }));
    slices.set({ metadata: { name: 'db-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'db' } }, addressType: 'IPv4', endpoints: [{ addresses: ['10.42.0.7'], hostname: 'db-0' }], ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] });
    assert.deepEqual(await r.resolve4('db-0.db.default.svc.cluster.local'), ['10.42.0.7']);
    assert.deepEqual(await r.resolveSrv('_pg._tcp.db.default.svc.cluster.local'), [{ name: 'db-0.db.default.svc.cluster.local', port: 5432, priority: 0, weight: 100 }]);
    services.delete(svc('web', {}));
    await assert.rejects(r.resolve4('web.default.svc.cluster.local'), { code: 'ENOTFOUND' });
    const text = await metrics.metrics();
    assert.match(text, /k8ts_dns_requests_total\{proto="udp"\} \d+/);
    assert.match(text, /k8ts_dns_responses_total\{rcode="NXDOMAIN"\} [1-9]/);
    assert.match(text, /k8ts_dns_request_duration_seconds_count\{proto="udp"\} [1-9]/);
  } finally {
    await dns.stop();
  }
});

test('TCP: several pipelined queries on one connection; truncated UDP answers are whole over TCP; idle connections close', async () => {
  const { services, slices, dns } = await setup();
  try {
    services.set(svc('big', { clusterIP: 'None' }));
    slices.set({ metadata: { name: 'big-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'big' } }, addressType: 'IPv4', endpoints: Array.from({ length: 60 }, (_, i) => ({ addresses: [`10.42.5.${i}`] })) });
    const port = dns.addresses[0].port;
    // over UDP without EDNS: TC
    const udp = dgram.createSocket('udp4');
    const reply = await new Promise<Buffer>((resolve) => {
      udp.once('message', (m) => resolve(m));
      udp.send(buildQuery('big.default.svc.cluster.local', TYPE.A, { id: 5 }), port, '127.0.0.1');
    });
    udp.close();
    const tc = decodeMessage(reply);
    assert.ok(tc.tc);
    assert.equal(tc.id, 5);
    const [a, b, c] = (await tcpAsk(port, [buildQuery('big.default.svc.cluster.local', TYPE.A, { id: 1 }), buildQuery('web.default.svc.cluster.local', TYPE.A, { id: 2 }), buildQuery('x.default.svc.cluster.local', TYPE.A, { id: 3 })])).map(decodeMessage);
    assert.equal(a.id, 1);
    assert.ok(!a.tc);
    assert.equal(a.answer.length, 60);
    assert.deepEqual(b.answer.map((x) => x.data), ['10.43.0.20']);
    assert.equal(c.rcode, RCODE.NXDOMAIN);
    // an idle connection is closed by the server
    const closed = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      const t = setTimeout(() => resolve(false), 3000);
      s.on('close', () => {
        clearTimeout(t);
        resolve(true);
      });
      s.on('error', () => undefined);
    });
    assert.ok(closed);
  } finally {
    await dns.stop();
  }
});

test('forwards other names to upstreams: next upstream on timeout, client ID kept, SERVFAIL when none answers', async () => {
  // a fake upstream on loopback: answers every query with one A record
  const up = dgram.createSocket('udp4');
  let seen = 0;
  up.on('message', (m, rinfo) => {
    seen++;
    const resp = Buffer.concat([m, Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1])]);
    resp[2] |= 0x80;
    resp.writeUInt16BE(1, 6);
    up.send(resp, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => up.bind(0, '127.0.0.1', () => r()));
  // the first upstream never answers (a bound socket that ignores queries)
  const dead = dgram.createSocket('udp4');
  await new Promise<void>((r) => dead.bind(0, '127.0.0.1', () => r()));
  const { dns, r } = await setup([`127.0.0.1:${dead.address().port}`, `127.0.0.1:${up.address().port}`]);
  try {
    const r2 = new Resolver({ timeout: 5000, tries: 1 });
    r2.setServers([`127.0.0.1:${dns.addresses[0].port}`]);
    assert.deepEqual(await r2.resolve4('example.test'), ['192.0.2.1']);
    assert.equal(seen, 1);
    // cluster names still answered locally
    assert.deepEqual(await r.resolve4('web.default.svc.cluster.local'), ['10.43.0.20']);
    up.close();
    await assert.rejects(r2.resolve4('other.test'), { code: 'ESERVFAIL' });
  } finally {
    await dns.stop();
    dead.close();
  }
});

test('hostUpstreams drops loopback stubs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-dns-'));
  try {
    const f = join(dir, 'resolv.conf');
    writeFileSync(f, '# generated\nnameserver 127.0.0.53\nnameserver 192.0.2.53\nnameserver ::1\nnameserver 2001:db8::53\nsearch example\noptions ndots:1\n');
    assert.deepEqual(hostUpstreams(f), ['192.0.2.53', '2001:db8::53']);
    writeFileSync(f, 'nameserver 127.0.0.1\n');
    assert.deepEqual(hostUpstreams(f), []);
    assert.deepEqual(hostUpstreams(join(dir, 'missing')), []);
    assert.deepEqual(parseNameservers('nameserver fe80::1%eth0\nnameserver bogus\n'), ['fe80::1']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a second server on the same metrics registry shares the metric families', async () => {
  const metrics = new Registry();
  const mk = () => startClusterDns({ services: new FakeInformer<any>().informer, endpointSlices: new FakeInformer<any>().informer, listen: [{ host: '127.0.0.1', port: 0 }], log, metrics });
  const a = await mk();
  await a.stop();
  const b = await mk();
  await b.stop();
});
