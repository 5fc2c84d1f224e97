import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { Backoff, buildPodStatus, podPhase, type ContainerRecord } from './podStatus.js';
import { authFor, pullPolicyOf, registryHost } from './images.js';
import { dnsConfigFor, linuxResources } from './podWorker.js';

const ns = (ms: number) => String(BigInt(ms) * 1_000_000n);
const rec = (name: string, state: 'CONTAINER_RUNNING' | 'CONTAINER_EXITED', restartCount: number, exitCode = 0, init = false): ContainerRecord => ({
  id: `${name}-${restartCount}`,
  name,
  restartCount,
  init,
  status: { id: `${name}-${restartCount}`, metadata: { name }, state, createdAt: ns(1000 + restartCount), startedAt: ns(2000), finishedAt: state === 'CONTAINER_EXITED' ? ns(3000) : '0', exitCode, image: null, imageRef: 'sha256:abc', reason: state === 'CONTAINER_EXITED' ? (exitCode ? 'Error' : 'Completed') : '', message: '', labels: {}, annotations: {}, mounts: [], logPath: '', resources: null, imageId: '' },
});
const pod = (policy = 'Always'): Pod => ({ metadata: { name: 'p', namespace: 'd', uid: 'u' }, spec: { restartPolicy: policy, initContainers: [{ name: 'i' }], containers: [{ name: 'c', image: 'img' }] }, status: { qosClass: 'BestEffort' } });

test('back-off: first failure initial, doubling to the max, measured from the given time', () => {
  const b = new Backoff(10, 40);
  assert.equal(b.next('k', 0), 10);
  assert.equal(b.next('k', 5), 20);
  assert.equal(b.next('k', 6), 40);
  assert.equal(b.next('k', 7), 40);
  assert.equal(b.remaining('k', 10, 30), 20);
  assert.ok(!b.inBackoff('k', 10, 51));
  assert.equal(b.next('k', 1000), 10); // idle for 2×max: starts over
});

test('status: running container after a crash shows lastState, Ready conditions true', () => {
  const st = buildPodStatus(pod(), { sandbox: { id: 's', ready: true, ip: '10.42.0.7', ips: [], createdAt: 0 }, containers: [rec('c', 'CONTAINER_RUNNING', 1), rec('c', 'CONTAINER_EXITED', 0, 3), rec('i', 'CONTAINER_EXITED', 0, 0, true)] }, { hostIP: '192.0.2.1', waiting: new Map(), now: 5000 });
  assert.equal(st.phase, 'Running');
  assert.equal(st.podIP, '10.42.0.7');
  const cs = st.containerStatuses![0]!;
  assert.equal(cs.restartCount, 1);
  assert.equal(cs.ready, true);
  assert.equal(cs.containerID, 'containerd://c-1');
  assert.equal(cs.lastState?.terminated?.exitCode, 3);
  assert.equal(st.initContainerStatuses![0]!.state?.terminated?.reason, 'Completed');
  assert.deepEqual(st.conditions!.map((c) => `${c.type}=${c.status}`), ['PodReadyToStartContainers=True', 'Initialized=True', 'ContainersReady=True', 'Ready=True', 'PodScheduled=True']);
  assert.equal(st.qosClass, 'BestEffort');
});

test('status: CrashLoopBackOff waiting with the exit as lastState; Never + failure is Failed', () => {
  const rt = { sandbox: { id: 's', ready: true, ip: '10.42.0.7', ips: [], createdAt: 0 }, containers: [rec('c', 'CONTAINER_EXITED', 2, 1), rec('i', 'CONTAINER_EXITED', 0, 0, true)] };
  const st = buildPodStatus(pod(), rt, { hostIP: 'h', waiting: new Map([['c', { reason: 'CrashLoopBackOff', message: 'back-off 20s' }]]) });
  assert.equal(st.containerStatuses![0]!.state?.waiting?.reason, 'CrashLoopBackOff');
  assert.equal(st.containerStatuses![0]!.lastState?.terminated?.exitCode, 1);
  assert.equal(st.phase, 'Running');
  assert.equal(st.conditions!.find((c) => c.type === 'Ready')?.status, 'False');
  assert.equal(buildPodStatus(pod('Never'), rt, { hostIP: 'h', waiting: new Map() }).phase, 'Failed');
  assert.equal(buildPodStatus(pod('OnFailure'), { ...rt, containers: [rec('c', 'CONTAINER_EXITED', 0, 0), rec('i', 'CONTAINER_EXITED', 0, 0, true)] }, { hostIP: 'h', waiting: new Map() }).phase, 'Succeeded');
});

test('phase: an unfinished init container keeps the pod Pending', () => {
  const p = pod();
  assert.equal(podPhase(p, [{ name: 'i', state: { running: {} } } as never], [{ name: 'c', state: { waiting: { reason: 'PodInitializing' } } } as never]), 'Pending');
});

test('image pull policy, registry host and pull secrets', () => {
  assert.equal(pullPolicyOf({ name: 'c', image: 'busybox' }), 'Always');
  assert.equal(pullPolicyOf({ name: 'c', image: 'localhost:5000/busybox:1' }), 'IfNotPresent');
  assert.equal(registryHost('localhost:5000/busybox:1'), 'localhost:5000');
  assert.equal(registryHost('library/busybox'), 'docker.io');
  const secret = { data: { '.dockerconfigjson': Buffer.from(JSON.stringify({ auths: { 'reg.example:5000': { auth: Buffer.from('u:p').toString('base64') } } })).toString('base64') } };
  assert.deepEqual(authFor('reg.example:5000/app:1', [secret]), { username: 'u', password: 'p', serverAddress: 'reg.example:5000' });
  assert.equal(authFor('other.example/app:1', [secret]), undefined);
});

test('DNS config per dnsPolicy, and CRI resources from requests/limits', () => {
  const p: Pod = { metadata: { name: 'p', namespace: 'team' }, spec: { containers: [], dnsPolicy: 'ClusterFirst', dnsConfig: { options: [{ name: 'ndots', value: '2' }] } } };
  assert.deepEqual(dnsConfigFor(p), { servers: ['10.43.0.10'], searches: ['team.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], options: ['ndots:2'] });
  assert.deepEqual(dnsConfigFor({ ...p, spec: { containers: [], dnsPolicy: 'None', dnsConfig: { nameservers: ['1.2.3.4'] } } }), { servers: ['1.2.3.4'], searches: [], options: [] });
  const r = linuxResources({ name: 'c', resources: { requests: { cpu: '250m' }, limits: { cpu: '500m', memory: '128Mi' } } }, 'Burstable');
  assert.equal(r.cpuShares, 256);
  assert.equal(r.cpuQuota, 50_000);
  assert.equal(r.cpuPeriod, 100_000);
  assert.equal(r.memoryLimitInBytes, 128 * 1024 * 1024);
  assert.equal(linuxResources({ name: 'c' }, 'BestEffort').cpuShares, 2);
});
