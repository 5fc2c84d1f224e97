// The nginx data plane's process with a real /usr/sbin/nginx (root only):
// routes to upstreams on loopback, answers the built-in 404 page, follows an
// endpoint change by a graceful reload, serves a rotated certificate without
// a reload, keeps an open connection across a reload, and stops.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { Ingress } from 'kubernetes-types/networking/v1.js';
import type { Secret } from 'kubernetes-types/core/v1.js';
import { buildRouteTable } from '../routeTable.js';
import { fallbackCertificate, selfSignedCertificate, type KeyPair } from '../certificates.js';
import { endpointCookie, type Endpoint } from '../upstreams.js';
import { NginxProcess } from './nginxProcess.js';

const skip = !existsSync('/usr/sbin/nginx') || process.getuid?.() !== 0 ? 'needs root and /usr/sbin/nginx' : undefined;
const ep = (port: number): Endpoint => ({ ip: '127.0.0.1', port, address: `127.0.0.1:${port}`, cookie: endpointCookie(`127.0.0.1:${port}`) });
const secret = (kp: KeyPair, rv: string): Secret => ({ metadata: { name: 't', namespace: 'default', resourceVersion: rv }, type: 'kubernetes.io/tls', data: { 'tls.crt': Buffer.from(kp.cert).toString('base64'), 'tls.key': Buffer.from(kp.key).toString('base64') } });
const ingress: Ingress = {
  metadata: { name: 'a', namespace: 'default', creationTimestamp: '2024-01-01T00:00:00Z' },
  spec: { tls: [{ hosts: ['s.test'], secretName: 't' }], rules: [{ host: 'a.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'a', port: { number: 80 } } } }] } }, { host: 's.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'a', port: { number: 80 } } } }] } }] },
};

function get(port: number, host: string, agent?: http.Agent): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/x?y=1', headers: { host }, agent: agent ?? false }, (res) => {
      let b = '';
      res.on('data', (c) => (b += c));
      res.on('end', () => resolve({ status: res.statusCode!, body: b, headers: res.headers, reused: req.reusedSocket }));
    });
    req.on('error', reject);
  });
}

describe('nginx data plane process', { skip }, () => {
  const upstreams: http.Server[] = [];
  const ports: number[] = [];
  let dir = '';
  let nginx: NginxProcess;
  let httpPort = 0;
  let httpsPort = 0;
  let kp1: KeyPair;
  let kp2: KeyPair;
  const state = (eps: Endpoint[], s: Secret) => ({ table: buildRouteTable([ingress]), upstreams: new Map([['default/a:80', eps]]), secrets: new Map([['default/t', s]]) });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'k8ts-nginx-proc-'));
    for (const name of ['one', 'two']) {
      const s = http.createServer((req, res) => res.end(`${name} ${req.url} ${req.headers['x-forwarded-host']} ${req.headers['x-request-id']?.length}`));
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      upstreams.push(s);
      ports.push((s.address() as AddressInfo).port);
    }
    kp1 = await selfSignedCertificate('s.test one', ['s.test']);
    kp2 = await selfSignedCertificate('s.test two', ['s.test']);
    nginx = new NginxProcess({ dir, log: pino({ level: 'warn' }), bind: '127.0.0.1', httpPort: 0, httpsPort: 0, fallback: await fallbackCertificate(), accessLog: false, user: 'root' });
    nginx.update(state([ep(ports[0])], secret(kp1, '1')));
    const r = await nginx.start();
    assert.ok(r.httpPort && r.httpsPort, JSON.stringify(r));
    httpPort = r.httpPort;
    httpsPort = r.httpsPort;
  });

  after(async () => {
    await nginx?.stop();
    for (const s of upstreams) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('routes by host, sets X-Forwarded-Host and X-Request-ID, answers 404 with its own page', async () => {
    const r = await get(httpPort, 'a.test');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'one /x?y=1 a.test 32');
    const nf = await get(httpPort, 'nothing.test');
    assert.equal(nf.status, 404);
    assert.match(nf.body, /404 Not Found.*k8ts ingress/s);
    const red = await get(httpPort, 's.test');
    assert.equal(red.status, 308);
    assert.equal(red.headers.location, `https://s.test:${httpsPort}/x?y=1`);
  });

  it('an endpoint change is a graceful reload; an open keep-alive connection finishes its request', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    assert.match((await get(httpPort, 'a.test', agent)).body, /^one /);
    nginx.update(state([ep(ports[1])], secret(kp1, '1')));
    await nginx.settled();
    assert.equal(nginx.reloads, 1);
    // new connections reach the new endpoint once the new workers run
    const deadline = Date.now() + 3000;
    let body = '';
    while (Date.now() < deadline && !(body = (await get(httpPort, 'a.test')).body).startsWith('two')) await new Promise((r) => setTimeout(r, 20));
    assert.match(body, /^two /);
    agent.destroy();
  });

  it('a rotated certificate is served without a reload; the open TLS connection keeps its own', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
    const tls = () =>
      new Promise<{ cn: string; socket: TLSSocket }>((resolve, reject) => {
        const req = https.get({ host: '127.0.0.1', port: httpsPort, path: '/', headers: { host: 's.test' }, servername: 's.test', agent }, (res) => {
          const socket = res.socket as TLSSocket;
          const cn = String(socket.getPeerCertificate().subject.CN);
          res.resume();
          res.on('end', () => resolve({ cn, socket }));
        });
        req.on('error', reject);
      });
    const before1 = await tls();
    assert.equal(before1.cn, 's.test one');
    const reloads = nginx.reloads;
    nginx.update(state([ep(ports[1])], secret(kp2, '2')));
    await nginx.settled();
    assert.equal(nginx.reloads, reloads);
    const fresh = await new Promise<string>((resolve, reject) => {
      const req = https.get({ host: '127.0.0.1', port: httpsPort, path: '/', headers: { host: 's.test' }, servername: 's.test', rejectUnauthorized: false, agent: false }, (res) => {
        resolve(String((res.socket as TLSSocket).getPeerCertificate().subject.CN));
        res.resume();
      });
      req.on('error', reject);
    });
    assert.equal(fresh, 's.test two');
    const after1 = await tls();
    assert.equal(after1.socket, before1.socket);
    assert.equal(after1.cn, 's.test one');
    agent.destroy();
  });
});
