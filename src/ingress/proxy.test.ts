// The data plane against real loopback servers: routing, headers, retries,
// error pages, annotations, WebSocket, TLS by SNI and HTTP/2.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import client from 'prom-client';
import type { Ingress } from 'kubernetes-types/networking/v1.js';
import { DataPlane } from './proxy.js';
import { buildRouteTable } from './routeTable.js';
import { CertificateStore, fallbackCertificate, selfSignedCertificate, type KeyPair } from './certificates.js';
import { createListeners, listen, type Listeners } from './listeners.js';
import { IngressMetrics } from './metrics.js';
import { endpointCookie, type Endpoint } from './upstreams.js';

const ep = (port: number): Endpoint => ({ ip: '127.0.0.1', port, address: `127.0.0.1:${port}`, cookie: endpointCookie(`127.0.0.1:${port}`) });

function get(port: number, path: string, headers: Record<string, string> = {}, method = 'GET', body?: string): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      let b = '';
      res.on('data', (c) => (b += c));
      res.on('end', () => resolve({ status: res.statusCode!, body: b, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('ingress data plane', () => {
  const upstreams: http.Server[] = [];
  let names: string[] = [];
  let dp: DataPlane;
  let l: Listeners;
  let httpPort = 0;
  let httpsPort = 0;
  let certs: CertificateStore;
  let cert: KeyPair;
  let deadPort = 0;
  let wsPort = 0;
  const registry = new client.Registry();

  const backend = async (name: string): Promise<number> => {
    const s = http.createServer((req, res) => {
      if (req.url?.startsWith('/slow')) return void setTimeout(() => res.end('late'), 1500);
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ name, url: req.url, method: req.method, headers: req.headers, body }));
      });
    });
    upstreams.push(s);
    names.push(name);
    return listen(s, 0, '127.0.0.1');
  };

  before(async () => {
    const a1 = await backend('a1');
    const a2 = await backend('a2');
    const b = await backend('b');
    // a port nothing listens on: connections are refused
    const tmp = net.createServer();
    deadPort = await listen(tmp, 0, '127.0.0.1');
    await new Promise((r) => tmp.close(r));
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((r) => wss.once('listening', r));
    wsPort = (wss.address() as AddressInfo).port;
    wss.on('connection', (ws, req) => ws.on('message', (m) => ws.send(`echo:${m}:${req.url}`)));
    upstreams.push(wss as unknown as http.Server);

    cert = await selfSignedCertificate('myapp.com', ['myapp.com']);
    certs = new CertificateStore(await fallbackCertificate());
    dp = new DataPlane({ httpsPort: () => httpsPort, metrics: new IngressMetrics(registry) });
    l = createListeners(dp, certs);
    httpPort = await listen(l.plain, 0, '127.0.0.1');
    httpsPort = await listen(l.secure, 0, '127.0.0.1');
    const ann = (o: Record<string, string>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [`nginx.ingress.kubernetes.io/${k}`, v]));
    const be = (name: string) => ({ service: { name, port: { number: 80 } } });
    const rule = (host: string, path: string, svc: string) => ({ host, http: { paths: [{ path, pathType: 'Prefix', backend: be(svc) }] } });
    const ings: Ingress[] = [
      { metadata: { name: 'main', namespace: 'd', creationTimestamp: '2026-01-01T00:00:00Z' }, spec: { tls: [{ hosts: ['myapp.com'], secretName: 'tls' }], rules: [rule('myapp.com', '/', 'a'), rule('plain.com', '/', 'a'), rule('b.com', '/', 'b'), rule('dead.com', '/', 'dead'), rule('none.com', '/', 'none'), rule('ws.com', '/', 'ws')] } },
      { metadata: { name: 'rw', namespace: 'd', annotations: ann({ 'rewrite-target': '/$2' }) }, spec: { rules: [{ host: 'rw.com', http: { paths: [{ path: '/api(/|$)(.*)', pathType: 'ImplementationSpecific', backend: be('b') }] } }] } },
      { metadata: { name: 'limits', namespace: 'd', annotations: ann({ 'proxy-body-size': '10', 'proxy-read-timeout': '1', 'whitelist-source-range': '10.0.0.0/8', 'ssl-redirect': 'false' }) }, spec: { tls: [{ hosts: ['noredirect.com'] }], rules: [rule('small.com', '/', 'b'), rule('deny.com', '/deny', 'b'), rule('noredirect.com', '/', 'b')] } },
      { metadata: { name: 'limits2', namespace: 'd', annotations: ann({ 'proxy-read-timeout': '1', 'proxy-body-size': '10' }) }, spec: { rules: [rule('slow.com', '/', 'b'), rule('limit.com', '/', 'b')] } },
      { metadata: { name: 'sticky', namespace: 'd', annotations: ann({ affinity: 'cookie', 'session-cookie-name': 'route' }) }, spec: { rules: [rule('sticky.com', '/', 'a')] } },
    ];
    // deny.com: the whitelist annotation is on 'limits'; small.com shares it, so it uses its own host below
    dp.table = buildRouteTable(ings);
    dp.upstream('d/a:80').set([ep(a1), ep(a2)]);
    dp.upstream('d/b:80').set([ep(b)]);
    dp.upstream('d/dead:80').set([ep(deadPort), ep(b)]);
    dp.upstream('d/ws:80').set([ep(deadPort), ep(wsPort)]);
    dp.upstream('d/none:80').set([], 'no ready endpoints');
    certs.update(dp.table.tls, (k) => (k === 'd/tls' ? ({ metadata: { resourceVersion: '1' }, data: { 'tls.crt': Buffer.from(cert.cert).toString('base64'), 'tls.key': Buffer.from(cert.key).toString('base64') } } as never) : undefined));
  });

  after(async () => {
    await l.close();
    dp.close();
    for (const s of upstreams) s.close();
  });

  it('routes by host, round-robins, and sets the forwarding headers', async () => {
    const r1 = JSON.parse((await get(httpPort, '/x?y=1', { host: 'plain.com', 'x-forwarded-for': '6.6.6.6' })).body);
    const r2 = JSON.parse((await get(httpPort, '/x?y=1', { host: 'plain.com' })).body);
    assert.deepEqual([r1.name, r2.name].sort(), ['a1', 'a2']);
    assert.equal(r1.url, '/x?y=1');
    assert.equal(r1.headers.host, 'plain.com');
    assert.equal(r1.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(r1.headers['x-forwarded-proto'], 'http');
    assert.equal(r1.headers['x-forwarded-host'], 'plain.com');
    assert.equal(r1.headers['x-forwarded-port'], String(httpPort));
    assert.match(r1.headers['x-request-id'], /^[0-9a-f]{32}$/);
    assert.equal(JSON.parse((await get(httpPort, '/', { host: 'b.com', 'x-request-id': 'abc' })).body).headers['x-request-id'], 'abc');
  });

  it('404 without a route, 503 without endpoints, retries a refused endpoint', async () => {
    assert.equal((await get(httpPort, '/', { host: 'unknown.com' })).status, 404);
    assert.equal((await get(httpPort, '/', { host: 'none.com' })).status, 503);
    for (let i = 0; i < 4; i++) {
      const r = await get(httpPort, '/', { host: 'dead.com' });
      assert.equal(r.status, 200);
      assert.equal(JSON.parse(r.body).name, 'b');
    }
    // a POST with a body is retried too: it never reached the refused endpoint
    const r = await get(httpPort, '/', { host: 'dead.com', 'content-type': 'text/plain' }, 'POST', 'hello');
    assert.equal(JSON.parse(r.body).body, 'hello');
  });

  it('rewrite-target with capture groups', async () => {
    const r = JSON.parse((await get(httpPort, '/api/v1/x?q=1', { host: 'rw.com' })).body);
    assert.equal(r.url, '/v1/x?q=1');
    assert.equal(r.headers['x-original-uri'], '/api/v1/x?q=1');
  });

  it('308 to HTTPS for TLS hosts unless ssl-redirect is false', async () => {
    const r = await get(httpPort, '/p?q=1', { host: 'myapp.com' });
    assert.equal(r.status, 308);
    assert.equal(r.headers.location, `https://myapp.com:${httpsPort}/p?q=1`);
    assert.equal((await get(httpPort, '/', { host: 'noredirect.com' })).status, 403); // whitelist of the same Ingress, 127.0.0.1 not in 10/8
  });

  it('whitelist-source-range (403), proxy-body-size (413), proxy-read-timeout (504)', async () => {
    assert.equal((await get(httpPort, '/deny', { host: 'deny.com' })).status, 403);
    assert.equal((await get(httpPort, '/', { host: 'limit.com', 'content-type': 'text/plain' }, 'POST', 'x'.repeat(11))).status, 413);
    assert.equal((await get(httpPort, '/', { host: 'limit.com', 'content-type': 'text/plain' }, 'POST', 'x'.repeat(10))).status, 200);
    // chunked (no content-length): counted while streaming
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: httpPort, path: '/', method: 'POST', headers: { host: 'limit.com' }, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.write('x'.repeat(8));
      setTimeout(() => req.end('x'.repeat(8)), 50);
    });
    assert.equal(chunked, 413);
    const t0 = Date.now();
    assert.equal((await get(httpPort, '/slow', { host: 'slow.com' })).status, 504);
    assert.ok(Date.now() - t0 < 1450);
  });

  it('affinity: cookie pins a client to one endpoint', async () => {
    const first = await get(httpPort, '/', { host: 'sticky.com' });
    const set = String(first.headers['set-cookie']);
    assert.match(set, /^route=[0-9a-f]{16}; Path=\/; HttpOnly/);
    const cookie = set.split(';')[0];
    const name = JSON.parse(first.body).name;
    for (let i = 0; i < 4; i++) {
      const r = await get(httpPort, '/', { host: 'sticky.com', cookie: `a=b; ${cookie}` });
      assert.equal(JSON.parse(r.body).name, name);
      assert.equal(r.headers['set-cookie'], undefined);
    }
  });

  it('WebSocket upgrade over HTTP and HTTPS (retrying a refused endpoint)', async () => {
    for (const url of [`ws://127.0.0.1:${httpPort}/chat`, `wss://127.0.0.1:${httpsPort}/chat`]) {
      const ws = new WebSocket(url, { headers: { host: 'ws.com' }, rejectUnauthorized: false, servername: 'ws.com' } as never);
      await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
      ws.send('hi');
      const msg = await new Promise<string>((r) => ws.once('message', (m) => r(String(m))));
      assert.equal(msg, 'echo:hi:/chat');
      ws.close();
    }
  });

  it('TLS: the Secret\'s certificate by SNI, the fallback otherwise; HTTP/2 and HTTP/1.1', async () => {
    const h1 = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      https.get({ host: '127.0.0.1', port: httpsPort, servername: 'myapp.com', path: '/tls', headers: { host: 'myapp.com' }, ca: cert.cert, agent: false }, (res) => {
        let b = '';
        res.on('data', (c) => (b += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: b }));
      }).on('error', reject);
    });
    assert.equal(h1.status, 200);
    assert.equal(JSON.parse(h1.body).headers['x-forwarded-proto'], 'https');
    // unknown name: the fallback certificate (not trusted by our CA)
    await assert.rejects(new Promise((resolve, reject) => https.get({ host: '127.0.0.1', port: httpsPort, servername: 'other.com', ca: cert.cert, agent: false }, resolve).on('error', reject)));
    const session = http2.connect(`https://127.0.0.1:${httpsPort}`, { ca: cert.cert, servername: 'myapp.com' });
    const body = await new Promise<string>((resolve, reject) => {
      const s = session.request({ ':path': '/h2', ':authority': 'myapp.com' });
      let b = '';
      s.on('data', (c) => (b += c));
      s.on('end', () => resolve(b));
      s.on('error', reject);
    });
    session.close();
    const r = JSON.parse(body);
    assert.equal(r.url, '/h2');
    assert.equal(r.headers.host, 'myapp.com');
  });

  it('counts requests by host, path and status', async () => {
    const text = await registry.metrics();
    assert.match(text, /ingress_requests_total\{host="plain.com",path="\/",status="200"\} \d+/);
    assert.match(text, /ingress_requests_total\{host="\*",path="",status="404"\} 1/);
    assert.match(text, /ingress_upstream_errors_total\{host="dead.com",path="\/",reason="connect"\} \d+/);
  });
});
