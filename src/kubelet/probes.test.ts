import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { Container, Probe } from 'kubernetes-types/core/v1.js';
import { Prober, ProbeManager, decodeHealthRequest, encodeHealthResponse, decodeHealthResponse, encodeHealthRequest, type ExecFn, type ProbeOutcome } from './probes.js';

let httpServer: http.Server;
let httpPort = 0;
let closedPort = 0;
const seenHeaders: http.IncomingHttpHeaders[] = [];

before(async () => {
  httpServer = http.createServer((req, res) => {
    seenHeaders.push(req.headers);
    if (req.url === '/ok') return void res.end('fine');
    if (req.url === '/redirect') return void res.writeHead(302, { Location: '/ok' }).end();
    if (req.url === '/away') return void res.writeHead(302, { Location: 'http://127.0.0.2:1/x' }).end();
    if (req.url === '/slow') return void setTimeout(() => res.end('late'), 1500);
    res.writeHead(503).end('down');
  });
  await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', r));
  httpPort = (httpServer.address() as AddressInfo).port;
  // a port nobody listens on
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  closedPort = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
});
after(() => {
  httpServer.closeAllConnections();
  httpServer.close();
});

const fakeExec: ExecFn = async (_id, cmd) => {
  if (cmd[0] === 'ok') return { exitCode: 0, stdout: 'yes', stderr: '' };
  if (cmd[0] === 'hang') throw new Error('DEADLINE_EXCEEDED: timed out');
  if (cmd[0] === 'broken') throw new Error('container not running');
  return { exitCode: 1, stdout: '', stderr: 'no such file' };
};
const prober = new Prober(fakeExec, () => '127.0.0.1');

describe('Prober', () => {
  it('exec', async () => {
    assert.deepEqual(await prober.run({ exec: { command: ['ok'] } }, 'c1'), { result: 'success', message: 'yes' });
    assert.deepEqual(await prober.run({ exec: { command: ['cat', '/x'] } }, 'c1'), { result: 'failure', message: 'no such file' });
    assert.equal((await prober.run({ exec: { command: ['hang'] } }, 'c1')).result, 'failure');
    assert.equal((await prober.run({ exec: { command: ['broken'] } }, 'c1')).result, 'unknown');
  });

  it('httpGet: status codes, headers, named ports, redirects, timeouts, refused', async () => {
    const container: Container = { name: 'web', ports: [{ name: 'http', containerPort: httpPort }] };
    assert.deepEqual(await prober.run({ httpGet: { path: '/ok', port: 'http', httpHeaders: [{ name: 'X-Probe', value: 'yes' }] } }, 'c1', container), { result: 'success', message: 'fine' });
    const h = seenHeaders.at(-1)!;
    assert.equal(h['user-agent'], 'kube-probe/1.32');
    assert.equal(h['x-probe'], 'yes');
    assert.equal(h.accept, '*/*');
    assert.deepEqual(await prober.run({ httpGet: { path: '/bad', port: httpPort } }, 'c1'), { result: 'failure', message: 'HTTP probe failed with statuscode: 503' });
    assert.equal((await prober.run({ httpGet: { path: '/redirect', port: httpPort } }, 'c1')).message, 'fine');
    assert.match((await prober.run({ httpGet: { path: '/away', port: httpPort } }, 'c1')).message, /Probe terminated redirects/);
    const slow = await prober.run({ httpGet: { path: '/slow', port: httpPort }, timeoutSeconds: 1 }, 'c1');
    assert.equal(slow.result, 'failure');
    assert.match(slow.message, /context deadline exceeded/);
    const refused = await prober.run({ httpGet: { path: '/', port: closedPort } }, 'c1');
    assert.equal(refused.result, 'failure');
    assert.equal(refused.message, `Get "http://127.0.0.1:${closedPort}/": dial tcp 127.0.0.1:${closedPort}: connect: connection refused`);
    assert.equal((await prober.run({ httpGet: { port: 'nope' } }, 'c1', container)).result, 'unknown');
  });

  it('tcpSocket', async () => {
    assert.equal((await prober.run({ tcpSocket: { port: httpPort } }, 'c1')).result, 'success');
    assert.deepEqual(await prober.run({ tcpSocket: { port: closedPort } }, 'c1'), { result: 'failure', message: `dial tcp 127.0.0.1:${closedPort}: connect: connection refused` });
  });

  it('grpc health', async () => {
    assert.equal(decodeHealthRequest(encodeHealthRequest('svc')), 'svc');
    assert.equal(decodeHealthResponse(encodeHealthResponse(2)), 2);
    const statuses: Record<string, number> = { '': 1, sick: 2 };
    const server = new grpc.Server();
    server.addService(
      {
        Check: {
          path: '/grpc.health.v1.Health/Check',
          requestStream: false,
          responseStream: false,
          requestSerialize: (r: { service: string }) => encodeHealthRequest(r.service),
          requestDeserialize: (b: Buffer) => ({ service: decodeHealthRequest(b) }),
          responseSerialize: (r: { status: number }) => encodeHealthResponse(r.status),
          responseDeserialize: (b: Buffer) => ({ status: decodeHealthResponse(b) }),
        },
      },
      {
        Check: (call: grpc.ServerUnaryCall<{ service: string }, { status: number }>, cb: grpc.sendUnaryData<{ status: number }>) => {
          const s = statuses[call.request.service];
          if (s === undefined) return cb({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
          cb(null, { status: s });
        },
      },
    );
    const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
    try {
      assert.deepEqual(await prober.run({ grpc: { port } }, 'c1'), { result: 'success', message: '' });
      assert.deepEqual(await prober.run({ grpc: { port, service: 'sick' } }, 'c1'), { result: 'failure', message: 'service unhealthy (responded with "NOT_SERVING")' });
      assert.match((await prober.run({ grpc: { port, service: 'other' } }, 'c1')).message, /health rpc failed: unknown service/);
      assert.match((await prober.run({ grpc: { port: closedPort } }, 'c1')).message, /failed to connect service "127.0.0.1:\d+" within 1s/);
    } finally {
      server.forceShutdown();
    }
  });
});

/** A prober whose answers a test scripts per container id and kind. */
class ScriptedProber extends Prober {
  answers = new Map<string, ProbeOutcome['result'][]>();
  runs: string[] = [];
  constructor() {
    super(fakeExec, () => '127.0.0.1');
  }
  override async run(probe: Probe, containerId: string): Promise<ProbeOutcome> {
    const key = `${containerId}/${probe.exec!.command![0]}`;
    this.runs.push(key);
    const q = this.answers.get(key) ?? [];
    const r = q.length > 1 ? q.shift()! : (q[0] ?? 'success');
    return { result: r, message: r === 'success' ? '' : 'boom' };
  }
}

const probe = (name: string, extra: Partial<Probe> = {}): Probe => ({ exec: { command: [name] }, periodSeconds: 1, ...extra });
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await wait(20);
  }
}

describe('ProbeManager', () => {
  it('readiness: starts false, successThreshold, failureThreshold', async () => {
    const p = new ScriptedProber();
    p.answers.set('id1/ready', ['failure', 'success', 'success', 'failure', 'failure', 'failure']);
    const changes: boolean[] = [];
    const failures: string[] = [];
    const pm = new ProbeManager(p, { onReadinessChange: (_n, _id, r) => changes.push(r), onProbeFailure: (_n, _id, _k, m) => failures.push(m) });
    pm.addContainer({ name: 'c', readinessProbe: probe('ready', { successThreshold: 2, failureThreshold: 3 }) }, 'id1');
    assert.equal(pm.isReady('c'), false);
    assert.equal(pm.isStarted('c'), true);
    await until(() => changes.length === 1);
    assert.equal(pm.isReady('c'), true);
    // 1 failure then 2 successes = 3 runs before Ready: the second success made it
    assert.equal(p.runs.length, 3);
    await until(() => changes.length === 2, 6000);
    assert.deepEqual(changes, [true, false]);
    assert.equal(p.runs.length, 6);
    assert.equal(failures[0], 'Readiness probe failed: boom');
    pm.stop();
  });

  it('liveness: failureThreshold consecutive failures restart once, then hold until a new id', async () => {
    const p = new ScriptedProber();
    p.answers.set('id1/live', ['failure', 'success', 'failure', 'failure']);
    const restarts: string[] = [];
    const pm = new ProbeManager(p, { onLivenessFailure: (_n, id) => restarts.push(id) });
    pm.addContainer({ name: 'c', livenessProbe: probe('live', { failureThreshold: 2 }) }, 'id1');
    assert.equal(pm.isReady('c'), true, 'no readiness probe: ready once running');
    await until(() => restarts.length === 1, 6000);
    assert.equal(p.runs.length, 4);
    await wait(1300);
    assert.equal(p.runs.length, 4, 'on hold after the failure');
    pm.addContainer({ name: 'c', livenessProbe: probe('live', { failureThreshold: 2 }) }, 'id2');
    await until(() => p.runs.includes('id2/live'));
    pm.stop();
    assert.deepEqual(restarts, ['id1']);
  });

  it('startup gates liveness and readiness; initialDelaySeconds', async () => {
    const p = new ScriptedProber();
    p.answers.set('id1/start', ['failure', 'success']);
    const events: string[] = [];
    const pm = new ProbeManager(p, { onStartup: () => events.push('started'), onReadinessChange: (_n, _id, r) => events.push(`ready=${r}`) });
    const t0 = Date.now();
    pm.addContainer({ name: 'c', startupProbe: probe('start'), livenessProbe: probe('live'), readinessProbe: probe('ready', { initialDelaySeconds: 2 }) }, 'id1');
    assert.equal(pm.isStarted('c'), false);
    await until(() => events.includes('started'));
    assert.deepEqual(p.runs.slice(0, 2), ['id1/start', 'id1/start'], 'nothing else ran before startup succeeded');
    await until(() => events.includes('ready=true'));
    assert.ok(Date.now() - t0 >= 2000, 'readiness waited for initialDelaySeconds');
    assert.ok(p.runs.indexOf('id1/live') > 1 && p.runs.indexOf('id1/ready') > 1);
    assert.equal(p.runs.filter((r) => r === 'id1/start').length, 2, 'startup stops once it succeeded');
    pm.stop();
  });

  it('startup failure', async () => {
    const p = new ScriptedProber();
    p.answers.set('id1/start', ['failure']);
    const failed: string[] = [];
    const pm = new ProbeManager(p, { onStartupFailure: (n) => failed.push(n) });
    pm.addContainer({ name: 'c', startupProbe: probe('start', { failureThreshold: 2 }), livenessProbe: probe('live') }, 'id1');
    await until(() => failed.length === 1);
    assert.equal(pm.isStarted('c'), false);
    assert.ok(!p.runs.includes('id1/live'));
    pm.removeContainer('c');
  });
});
