// The kubelet on a real containerd node, driven by the real kubectl: a server
// WITH its agent runs pods from its own registry; pod IPs answer over the
// node's bridge; crash loops back off; init containers run first; env comes
// from ConfigMaps and the downward API; a missing image backs off; deletion
// honours the grace period; a server restart keeps running containers.
// Needs root + containerd + runc + CNI plugins + skopeo + busybox-static.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { eventually, type TestServer } from '../support/cluster.js';
import { busyboxAvailable } from '../support/images.js';
import { criSkipReason } from '../support/criNode.js';
import { startAgentNode, type AgentNode } from '../support/agentNode.js';
import { httpGet } from '../support/http.js';

const skip = criSkipReason() ?? (!busyboxAvailable() ? 'kubelet tests skipped: needs /usr/bin/busybox (busybox-static)' : !existsSync('/usr/bin/skopeo') ? 'kubelet tests skipped: needs skopeo' : undefined);

const inCidr = (ip: string, cidr: string) => ip.startsWith(cidr.split('/')[0]!.split('.').slice(0, 3).join('.') + '.');

describe('kubelet on containerd', { skip, timeout: 180_000 }, () => {
  let agent: AgentNode;
  let s: TestServer;
  let image = '';
  let podCIDR = '';
  const pod = async (name: string) => JSON.parse(await s.k(['get', 'pod', name, '-o', 'json']));

  before(async () => {
    agent = await startAgentNode({ cidrRange: [100, 199], bridgePrefix: 'k8tsk' });
    ({ s, image, podCIDR } = agent);
    const { node, clusterCidr, registryPort: port } = agent;
    assert.equal(podCIDR, clusterCidr);
    assert.equal(node.metadata.labels['node-role.kubernetes.io/control-plane'], 'true');
    assert.match(node.status.nodeInfo.containerRuntimeVersion, /^containerd:\/\/\d/);
    assert.equal(node.status.nodeInfo.kubeletVersion, 'v1.32.0-k8ts');
    for (const r of ['cpu', 'memory', 'ephemeral-storage', 'pods']) assert.ok(node.status.capacity[r], `capacity ${r}`);
    assert.deepEqual(node.status.conditions.map((c: { type: string }) => c.type).sort(), ['DiskPressure', 'MemoryPressure', 'PIDPressure', 'Ready']);
    await eventually(async () => (await s.kubectl(['get', 'lease', '-n', 'kube-node-lease', node.metadata.name])).code === 0, 15_000, 'node lease');

    // every scenario's pods start at once; the tests below check them
    await s.k(['create', 'configmap', 'cfg', '--from-literal=greeting=hello', '--from-literal=color=blue']);
    await s.k(['run', 'web', `--image=${image}`, '--', 'httpd', '-f', '-p', '8080']);
    await s.k(['run', 'crash', `--image=${image}`, '--restart=Always', '--', 'sh', '-c', 'exit 3']);
    await s.k(['run', 'badimg', `--image=127.0.0.1:${port}/does-not-exist:1`]);
    await s.k(['run', 'stubborn', `--image=${image}`, '--', 'sh', '-c', 'trap "" TERM; sleep 1000']);
    const envPod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'envpod', labels: { app: 'envpod' } },
      spec: {
        volumes: [{ name: 'www', emptyDir: {} }],
        initContainers: [{ name: 'init', image, command: ['sh', '-c', 'echo init-was-here > /www/init.txt'], volumeMounts: [{ name: 'www', mountPath: '/www' }] }],
        containers: [{
          name: 'main',
          image,
          command: ['sh', '-c', 'env > /www/env.txt; cat /etc/resolv.conf > /www/resolv.txt; exec httpd -f -p 8080 -h /www'],
          env: [
            { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'greeting' } } },
            { name: 'MISSING_OK', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'nope', optional: true } } },
            { name: 'MY_POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'MY_NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
            { name: 'MY_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
            { name: 'COMBINED', value: '$(GREETING)-world' },
          ],
          envFrom: [{ configMapRef: { name: 'cfg' }, prefix: 'CM_' }],
          volumeMounts: [{ name: 'www', mountPath: '/www' }],
        }],
      },
    };
    const badCfg = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'badcfg' },
      spec: { containers: [{ name: 'c', image, command: ['sleep', '1000'], env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'missing' } } }] }] },
    };
    await s.k(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [envPod, badCfg] }));
  });

  after(async () => {
    if (!agent) return;
    const left = await agent.teardown();
    assert.deepEqual(left, [], 'the agent left things behind');
  });

  it('runs kubectl run web … httpd: Running and Ready with a pod IP that answers over the bridge', async () => {
    const p = await eventually(async () => {
      const p = await pod('web');
      return p.status?.conditions?.find((c: { type: string }) => c.type === 'Ready')?.status === 'True' ? p : undefined;
    }, 30_000, 'web Ready');
    assert.equal(p.status.phase, 'Running');
    assert.ok(inCidr(p.status.podIP, podCIDR), `${p.status.podIP} not in ${podCIDR}`);
    assert.deepEqual(p.status.podIPs, [{ ip: p.status.podIP }]);
    const cs = p.status.containerStatuses[0];
    assert.match(cs.containerID, /^containerd:\/\/[0-9a-f]{64}$/);
    assert.equal(cs.ready, true);
    assert.equal(cs.started, true);
    assert.equal(cs.restartCount, 0);
    assert.ok(cs.state.running.startedAt);
    assert.ok(cs.imageID);
    assert.ok(p.status.hostIP && p.status.startTime);
    assert.deepEqual(p.status.conditions.map((c: { type: string }) => c.type).sort(), ['ContainersReady', 'Initialized', 'PodReadyToStartContainers', 'PodScheduled', 'Ready']);
    // busybox httpd serving / (no index: 404, but an HTTP answer from inside the pod)
    const res = await eventually(() => httpGet(`http://${p.status.podIP}:8080/`), 10_000, 'http from pod');
    assert.ok(res.status === 404 || res.status === 200, `status ${res.status}`);
    const events = await s.k(['get', 'events', '--field-selector', 'involvedObject.name=web', '-o', 'jsonpath={.items[*].reason}']);
    for (const r of ['Scheduled', 'Pulled', 'Created', 'Started']) assert.ok(events.split(' ').includes(r), `event ${r} in ${events}`);
  });

  it('runs init containers first, then the container with env from a ConfigMap and the downward API', async () => {
    const p = await eventually(async () => {
      const p = await pod('envpod');
      return p.status?.conditions?.find((c: { type: string }) => c.type === 'Ready')?.status === 'True' ? p : undefined;
    }, 30_000, 'envpod Ready');
    const init = p.status.initContainerStatuses[0];
    assert.equal(init.state.terminated.reason, 'Completed');
    assert.equal(init.state.terminated.exitCode, 0);
    assert.ok(Date.parse(init.state.terminated.finishedAt) <= Date.parse(p.status.containerStatuses[0].state.running.startedAt));
    const base = `http://${p.status.podIP}:8080`;
    assert.equal((await eventually(() => httpGet(`${base}/init.txt`), 10_000)).body, 'init-was-here\n');
    const env = Object.fromEntries((await httpGet(`${base}/env.txt`)).body.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    assert.equal(env.GREETING, 'hello');
    assert.equal(env.COMBINED, 'hello-world');
    assert.equal(env.MY_POD, 'envpod');
    assert.equal(env.MY_NODE, p.spec.nodeName);
    assert.equal(env.MY_IP, p.status.podIP);
    assert.equal(env.CM_color, 'blue');
    assert.equal(env.KUBERNETES_SERVICE_HOST, '10.43.0.1');
    assert.ok(!('MISSING_OK' in env));
    const resolv = (await httpGet(`${base}/resolv.txt`)).body;
    assert.match(resolv, /nameserver 10\.43\.0\.10/);
    assert.match(resolv, /search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local/);
    assert.match(resolv, /options ndots:5/);
  });

  it('reports CreateContainerConfigError for a missing ConfigMap key', async () => {
    const w = await eventually(async () => (await pod('badcfg')).status?.containerStatuses?.[0]?.state?.waiting, 20_000, 'badcfg waiting');
    assert.equal(w.reason, 'CreateContainerConfigError');
    assert.match(w.message, /missing/);
  });

  it('backs off a crashing container: CrashLoopBackOff, restart count growing', async () => {
    const cs = await eventually(async () => {
      const c = (await pod('crash')).status?.containerStatuses?.[0];
      return c?.state?.waiting?.reason === 'CrashLoopBackOff' && c.restartCount >= 2 ? c : undefined;
    }, 40_000, 'CrashLoopBackOff with 2 restarts');
    assert.equal(cs.lastState.terminated.exitCode, 3);
    assert.equal(cs.lastState.terminated.reason, 'Error');
    assert.equal((await pod('crash')).status.phase, 'Running');
    const events = await s.k(['get', 'events', '--field-selector', 'involvedObject.name=crash', '-o', 'jsonpath={.items[*].reason}']);
    assert.ok(events.split(' ').includes('BackOff'), events);
  });

  it('reports ErrImagePull, then ImagePullBackOff, for an image that does not exist', async () => {
    await eventually(async () => (await pod('badimg')).status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ImagePullBackOff', 20_000, 'ImagePullBackOff');
    const msgs = await s.k(['get', 'events', '--field-selector', 'involvedObject.name=badimg', '-o', 'jsonpath={range .items[*]}{.reason}: {.message}{"\\n"}{end}']);
    assert.match(msgs, /Pulling: Pulling image/);
    assert.match(msgs, /Failed: Error: ErrImagePull/);
    assert.match(msgs, /BackOff: Back-off pulling image/);
  });

  it('deletes a pod that ignores SIGTERM at the end of its grace period', async () => {
    await eventually(async () => (await pod('stubborn')).status?.containerStatuses?.[0]?.state?.running, 30_000, 'stubborn running');
    const t0 = Date.now();
    await s.k(['delete', 'pod', 'stubborn', '--grace-period=3']);
    const took = Date.now() - t0;
    // at least the grace period (SIGTERM ignored), and it does end: SIGKILL at the deadline
    // (loose upper bound: CI runs several container tests at once on 2 cores)
    assert.ok(took >= 2500 && took < 20_000, `delete took ${took} ms`);
    assert.notEqual((await s.kubectl(['get', 'pod', 'stubborn'])).code, 0);
  });

  it('keeps running containers across a server restart (same containerID, no restart)', async () => {
    const before = (await pod('web')).status.containerStatuses[0];
    await s.restart();
    // the agent comes back, adopts the sandbox and keeps the container
    await eventually(() => /is running pods on containerd/.test(s.logs().split('k8ts server is ready').pop() ?? ''), 30_000, 'agent restarted');
    const p = await pod('web');
    await new Promise((r) => setTimeout(r, 2000)); // a few sync passes
    const after = (await pod('web')).status.containerStatuses[0];
    assert.equal(after.containerID, before.containerID);
    assert.equal(after.restartCount, before.restartCount);
    assert.equal(after.state.running.startedAt, before.state.running.startedAt);
    const res = await eventually(() => httpGet(`http://${p.status.podIP}:8080/`), 10_000);
    assert.ok(res.status === 404 || res.status === 200);
  });
});
