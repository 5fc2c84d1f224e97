import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Pod } from 'kubernetes-types/core/v1.js';
import pino from 'pino';
import type { CriClient } from './cri/client.js';
import { PodProbeHooks } from './probeHooks.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// a fake runtime: a file set per container id decides exec results (`cat F` succeeds when F is there)
const files = new Map<string, Set<string>>();
const execs: { id: string; cmd: string[]; timeout: number }[] = [];
const cri = {
  async execSync(id: string, cmd: string[], timeout: number) {
    execs.push({ id, cmd, timeout });
    if (cmd[0] === 'cat') {
      const ok = files.get(id)?.has(cmd[1]!);
      return { exitCode: ok ? 0 : 1, stdout: Buffer.from(ok ? 'x' : ''), stderr: Buffer.from(ok ? '' : `cat: can't open '${cmd[1]}': No such file or directory`) };
    }
    if (cmd[0] === 'touch') {
      files.get(id)?.add(cmd[1]!);
      return { exitCode: 0, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) };
    }
    return { exitCode: 7, stdout: Buffer.from('nope'), stderr: Buffer.alloc(0) };
  },
} as unknown as CriClient;

const events: { reason: string; message: string; type: string; fieldPath?: string }[] = [];
const hooks = () => new PodProbeHooks({ cri, event: (_p, type, reason, message, fieldPath) => events.push({ type, reason, message, fieldPath }), log: pino({ level: 'silent' }) });

const probe = (cmd: string[], extra = {}) => ({ exec: { command: cmd }, periodSeconds: 1, failureThreshold: 1, ...extra });
const podWith = (uid: string, container: Record<string, unknown>): Pod => ({ metadata: { uid, name: uid, namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'x', ...container }] } });

describe('PodProbeHooks', () => {
  let server: http.Server;
  let port = 0;
  before(async () => {
    server = http.createServer((req, res) => res.writeHead(req.url === '/ok' ? 200 : 503).end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(() => server.close());

  it('a container without probes is started and ready at once', () => {
    const h = hooks();
    const pod = podWith('p0', {});
    h.sync(pod, [{ name: 'c', containerId: 'id0', init: false }], () => undefined, '127.0.0.1');
    assert.equal(h.ready('p0', 'c', 'id0'), true);
    assert.equal(h.started('p0', 'c', 'id0'), true);
    assert.equal(h.shouldRestart('p0', 'c', 'id0'), false);
    h.stop();
  });

  it('liveness failure: Unhealthy event, shouldRestart with the Killing message, resync asked; a new id starts over', async () => {
    const h = hooks();
    files.set('id1', new Set(['/tmp/healthy']));
    const pod = podWith('p1', { livenessProbe: probe(['cat', '/tmp/healthy'], { terminationGracePeriodSeconds: 3 }) });
    let resyncs = 0;
    h.sync(pod, [{ name: 'c', containerId: 'id1', init: false }], () => resyncs++, '127.0.0.1');
    await sleep(100);
    assert.equal(h.shouldRestart('p1', 'c', 'id1'), false);
    files.get('id1')!.delete('/tmp/healthy');
    await sleep(1100);
    assert.equal(h.shouldRestart('p1', 'c', 'id1'), true);
    assert.deepEqual(h.restartReason('p1', 'c', 'id1'), { message: 'Container c failed liveness probe, will be restarted', graceSeconds: 3 });
    assert.ok(resyncs >= 1);
    const ev = events.find((e) => e.reason === 'Unhealthy' && e.message.startsWith('Liveness probe failed:'));
    assert.ok(ev, JSON.stringify(events));
    assert.equal(ev.type, 'Warning');
    assert.equal(ev.fieldPath, 'spec.containers{c}');
    assert.match(ev.message, /can't open '\/tmp\/healthy'/);
    assert.ok(execs.some((e) => e.id === 'id1' && e.timeout === 1));
    // the restarted container: a new id, fresh state
    files.set('id1b', new Set(['/tmp/healthy']));
    h.sync(pod, [{ name: 'c', containerId: 'id1b', init: false }], () => resyncs++, '127.0.0.1');
    assert.equal(h.shouldRestart('p1', 'c', 'id1b'), false);
    assert.equal(h.shouldRestart('p1', 'c', 'id1'), false, 'the old id is forgotten');
    h.forget('p1');
  });

  it('readiness over HTTP to the pod IP: unready until the probe passes', async () => {
    const h = hooks();
    const bad = podWith('p2', { readinessProbe: { httpGet: { path: '/bad', port }, periodSeconds: 1 } });
    h.sync(bad, [{ name: 'c', containerId: 'id2', init: false }], () => undefined, '127.0.0.1');
    await sleep(200);
    assert.equal(h.ready('p2', 'c', 'id2'), false);
    assert.ok(events.some((e) => e.message === 'Readiness probe failed: HTTP probe failed with statuscode: 503'));
    const good = podWith('p3', { readinessProbe: { httpGet: { path: '/ok', port }, periodSeconds: 1 } });
    let resynced = false;
    h.sync(good, [{ name: 'c', containerId: 'id3', init: false }], () => (resynced = true), '127.0.0.1');
    assert.equal(h.ready('p3', 'c', 'id3'), false, 'not ready before the first probe');
    await sleep(200);
    assert.equal(h.ready('p3', 'c', 'id3'), true);
    assert.ok(resynced);
    h.stop();
  });

  it('the startup probe holds liveness and readiness back', async () => {
    const h = hooks();
    files.set('id4', new Set());
    const pod = podWith('p4', {
      startupProbe: probe(['cat', '/tmp/started'], { failureThreshold: 30 }),
      livenessProbe: probe(['cat', '/tmp/started']),
    });
    h.sync(pod, [{ name: 'c', containerId: 'id4', init: false }], () => undefined, '127.0.0.1');
    await sleep(1300);
    assert.equal(h.started('p4', 'c', 'id4'), false);
    assert.equal(h.ready('p4', 'c', 'id4'), false);
    assert.equal(h.shouldRestart('p4', 'c', 'id4'), false, 'liveness must wait for startup');
    files.get('id4')!.add('/tmp/started');
    await sleep(1100);
    assert.equal(h.started('p4', 'c', 'id4'), true);
    assert.equal(h.ready('p4', 'c', 'id4'), true);
    assert.equal(h.shouldRestart('p4', 'c', 'id4'), false);
    h.stop();
  });

  it('postStart throws with the hook message on failure; preStop failure is an event', async () => {
    const h = hooks();
    files.set('id5', new Set());
    const c = { name: 'c', image: 'x', lifecycle: { postStart: { exec: { command: ['touch', '/tmp/x'] } }, preStop: { exec: { command: ['false'] } } } };
    const pod = podWith('p5', c);
    await h.postStart(pod, c, 'id5');
    assert.ok(files.get('id5')!.has('/tmp/x'));
    await assert.rejects(h.postStart(pod, { ...c, lifecycle: { postStart: { exec: { command: ['false'] } } } }, 'id5'), /Exec lifecycle hook .* failed - error: nope/);
    await h.preStop(pod, c, 'id5', 5);
    assert.ok(events.some((e) => e.reason === 'FailedPreStopHook' && /nope/.test(e.message)));
    h.stop();
  });
});
