// Data-plane worker processes: they route with the state the primary sends,
// follow endpoint and route changes, answer HTTPS with the Secret's certificate,
// and their metrics are summed into the primary's registry.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import pino from 'pino';
import client from 'prom-client';
import type { Ingress } from 'kubernetes-types/networking/v1.js';
import type { Secret } from 'kubernetes-types/core/v1.js';
import { DataPlaneWorkers, defaultWorkerCount, type RoutesState } from './workers.js';
import { fallbackCertificate, selfSignedCertificate } from './certificates.js';
import { IngressMetrics } from './metrics.js';
import { endpointCookie, Upstream } from './upstreams.js';
import { listen } from './listeners.js';

function get(port: number, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/', headers: { host }, agent: false }, (res) => {
      let b = '';
      res.on('data', (c) => (b += c));
      res.on('end', () => resolve({ status: res.statusCode!, body: b }));
    });
    req.on('error', reject);
    req.end();
  });
}

const ingress = (name: string, host: string, svc: string, tls?: string): Ingress => ({
  metadata: { name, namespace: 'default', creationTimestamp: '2024-01-01T00:00:00Z' },
  spec: { tls: tls ? [{ hosts: [host], secretName: tls }] : undefined, rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: svc, port: { number: 80 } } } }] } }] },
});

describe('ingress data-plane workers', () => {
  const servers: http.Server[] = [];
  const ports: number[] = [];
  let w: DataPlaneWorkers;
  let httpPort = 0;
  let httpsPort = 0;
  const registry = new client.Registry();
  const ups = new Map<string, Upstream>();
  const upstream = (key: string, port: number) => {
    const u = ups.get(key) ?? new Upstream(key);
    u.set([{ ip: '127.0.0.1', port, address: `127.0.0.1:${port}`, cookie: endpointCookie(`127.0.0.1:${port}`) }]);
    ups.set(key, u);
  };

  before(async () => {
    for (const name of ['a', 'b']) {
      const s = http.createServer((_req, res) => res.end(`pod ${name}`));
      servers.push(s);
      ports.push(await listen(s, 0, '127.0.0.1'));
    }
    upstream('default/svc-a:80', ports[0]);
    w = new DataPlaneWorkers({ count: 2, log: pino({ level: 'silent' }), init: { fallback: await fallbackCertificate(), httpPort: 0, httpsPort: 0, bind: '127.0.0.1', logLevel: 'silent', accessLog: false } });
    new IngressMetrics(registry, () => w.collect());
    w.publish({ version: 1, ingresses: [ingress('a', 'a.test', 'svc-a')], secrets: new Map() }, ups);
    const r = await w.start();
    httpPort = r.httpPort!;
    httpsPort = r.httpsPort!;
  });
  after(async () => {
    await w.stop();
    for (const s of servers) s.close();
  });

  it('defaults to half the CPUs, 1 to 4', () => {
    assert.deepEqual([1, 2, 3, 4, 8, 64].map((n) => defaultWorkerCount(n)), [1, 1, 1, 2, 4, 4]);
  });

  it('routes with the state sent at start', async () => {
    assert.ok(httpPort > 0 && httpsPort > 0);
    for (let i = 0; i < 6; i++) assert.deepEqual(await get(httpPort, 'a.test'), { status: 200, body: 'pod a' });
    assert.equal((await get(httpPort, 'nope.test')).status, 404);
  });

  it('follows endpoint, route and certificate changes', async () => {
    upstream('default/svc-a:80', ports[1]);
    const cert = await selfSignedCertificate('b.test', ['b.test']);
    const secret: Secret = { metadata: { name: 'b-tls', namespace: 'default', resourceVersion: '7' }, type: 'kubernetes.io/tls', data: { 'tls.crt': Buffer.from(cert.cert).toString('base64'), 'tls.key': Buffer.from(cert.key).toString('base64') } };
    upstream('default/svc-b:80', ports[0]);
    const state: RoutesState = { version: 2, ingresses: [ingress('a', 'a.test', 'svc-a'), ingress('b', 'b.test', 'svc-b', 'b-tls')], secrets: new Map([['default/b-tls', secret]]) };
    w.publish(state, ups);
    await new Promise((r) => setTimeout(r, 200));
    for (let i = 0; i < 4; i++) assert.equal((await get(httpPort, 'a.test')).body, 'pod b');
    // b.test is a TLS host: HTTP gets the redirect, HTTPS the Secret's certificate
    assert.equal((await get(httpPort, 'b.test')).status, 308);
    const served = await new Promise<string>((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port: httpsPort, servername: 'b.test', headers: { host: 'b.test' }, ca: cert.cert, agent: false }, (res) => {
        let b = '';
        res.on('data', (c) => (b += c));
        res.on('end', () => resolve(b));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(served, 'pod a');
  });

  it('sums the workers’ metrics on scrape', async () => {
    const text = await registry.metrics();
    const m = /ingress_requests_total\{host="a.test",path="\/",status="200"\} (\d+)/.exec(text);
    assert.ok(m, text);
    assert.equal(Number(m[1]), 10);
    assert.match(text, /ingress_requests_total\{host="\*",path="",status="404"\} 1/);
    assert.match(text, /ingress_request_duration_seconds_count\{host="a.test",path="\/"\} 10/);
  });
});
