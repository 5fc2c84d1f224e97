// Probes, lifecycle hooks and the rest of the kubelet's container life on a real
// containerd node, driven by the real kubectl: a failing liveness probe restarts
// the container (Unhealthy + Killing events); a failing readiness probe keeps the
// pod unready and its IP under the Service's notReadyAddresses; a startup probe
// holds liveness back; postStart runs after start (and a failing one kills the
// container); preStop delays the deletion; a memory limit ends in OOMKilled; pods
// reach each other by IP; a ConfigMap change reaches a running container's volume.
// Needs root + containerd + runc + CNI plugins + busybox-static.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, type TestServer } from '../support/cluster.js';
import { busyboxAvailable } from '../support/images.js';
import { criSkipReason } from '../support/criNode.js';
import { startAgentNode, type AgentNode } from '../support/agentNode.js';
import { httpGet } from '../support/http.js';

const skip = criSkipReason() ?? (!busyboxAvailable() ? 'kubelet lifecycle tests skipped: needs /usr/bin/busybox (busybox-static)' : undefined);

type Json = Record<string, any>;

const cond = (p: Json, type: string) => p.status?.conditions?.find((c: Json) => c.type === type)?.status;
// a shell as PID 1 ignores SIGTERM unless it traps it; `wait` returns at once on a trapped signal
const idle = 'trap "exit 0" TERM; sleep 1000 & wait';

describe('kubelet probes, hooks and limits on containerd', { skip, timeout: 150_000 }, () => {
  let agent: AgentNode;
  let s: TestServer;
  let image = '';
  const pod = async (name: string): Promise<Json> => JSON.parse(await s.k(['get', 'pod', name, '-o', 'json']));
  const events = (name: string) => s.k(['get', 'events', '--field-selector', `involvedObject.name=${name}`, '-o', 'jsonpath={range .items[*]}{.type} {.reason}: {.message}{"\\n"}{end}']);
  // on failure, say what the pod went through
  const explain = async <T>(name: string, p: Promise<T>): Promise<T> => {
    try {
      return await p;
    } catch (e) {
      const st = await s.k(['get', 'pod', name, '-o', 'jsonpath={.status.containerStatuses}']).catch(() => '?');
      throw new Error(`${(e as Error).message}\nstatus: ${st}\nevents:\n${await events(name).catch(() => '?')}`);
    }
  };
  // the startup-gated pod's early container states, sampled while the test runs
  const slowSamples: { started?: boolean; ready?: boolean; restarts?: number }[] = [];
  let sampler: NodeJS.Timeout | undefined;

  before(async () => {
    agent = await startAgentNode({ cidrRange: [30, 89], bridgePrefix: 'k8tsl', args: ['--node-name', 'lifecycle-node'], importAs: 'busybox:life' });
    ({ s, image } = agent);

    const c = (name: string, command: string, extra: Json = {}) => ({ name, image, command: ['sh', '-c', command], ...extra });
    const p = (name: string, spec: Json, labels: Json = {}) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app: name, ...labels } }, spec: { terminationGracePeriodSeconds: 1, ...spec } });
    const items = [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'live-cfg' }, data: { greeting: 'hello' } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'unready' }, spec: { selector: { app: 'unready' }, ports: [{ port: 80, targetPort: 8080 }] } },
      // healthy for ~4 s, then the liveness file goes
      p('live', { containers: [c('c', 'touch /tmp/healthy; sleep 4; rm /tmp/healthy; ' + idle, { livenessProbe: { exec: { command: ['cat', '/tmp/healthy'] }, periodSeconds: 1, failureThreshold: 1 } })] }),
      // serves on 8080; the readiness probe asks 9999, where nothing listens
      p('unready', { containers: [c('c', 'echo hi-from-a > /tmp/index.html; exec httpd -f -p 8080 -h /tmp', { readinessProbe: { httpGet: { path: '/', port: 9999 }, periodSeconds: 1 } })] }),
      // starts slowly: a liveness probe on the same file would kill it if the startup probe did not hold it back
      p('slowstart', {
        containers: [c('c', 'sleep 4; touch /tmp/started; ' + idle, {
          startupProbe: { exec: { command: ['cat', '/tmp/started'] }, periodSeconds: 1, failureThreshold: 30 },
          livenessProbe: { exec: { command: ['cat', '/tmp/started'] }, periodSeconds: 1, failureThreshold: 1 },
          readinessProbe: { exec: { command: ['cat', '/tmp/started'] }, periodSeconds: 1 },
        })],
      }),
      p('poststart', { containers: [c('c', 'exec httpd -f -p 8080 -h /tmp', { lifecycle: { postStart: { exec: { command: ['sh', '-c', 'echo written-by-poststart > /tmp/index.html'] } } } })] }),
      p('badhook', { containers: [c('c', idle, { lifecycle: { postStart: { exec: { command: ['sh', '-c', 'echo nope; exit 7'] } } } })] }),
      p('prestop', { terminationGracePeriodSeconds: 30, containers: [c('c', idle, { lifecycle: { preStop: { exec: { command: ['sleep', '2'] } } } })] }),
      p('hog', { containers: [{ name: 'c', image, command: ['sort', '/dev/zero'], resources: { limits: { memory: '16Mi' } } }] }),
      p('client', { volumes: [{ name: 'cfg', configMap: { name: 'live-cfg' } }], containers: [c('c', idle, { volumeMounts: [{ name: 'cfg', mountPath: '/etc/cfg' }] })] }),
    ];
    await s.k(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
    sampler = setInterval(() => {
      void pod('slowstart')
        .then((p) => {
          const cs = p.status?.containerStatuses?.[0];
          if (cs?.state?.running) slowSamples.push({ started: cs.started, ready: cs.ready, restarts: cs.restartCount });
        })
        .catch(() => undefined);
    }, 500);
  });

  after(async () => {
    clearInterval(sampler);
    if (!agent) return;
    const left = await agent.teardown();
    assert.deepEqual(left, [], 'the agent left things behind');
  });

  it('restarts a container whose liveness probe fails, with Unhealthy and Killing events', async () => {
    const cs = await eventually(async () => {
      const c = (await pod('live')).status?.containerStatuses?.[0];
      return c?.restartCount >= 1 ? c : undefined;
    }, 40_000, 'live restarted');
    assert.ok(cs.lastState.terminated, JSON.stringify(cs));
    const describe = await s.k(['describe', 'pod', 'live']);
    assert.match(describe, /Warning\s+Unhealthy\s+.*Liveness probe failed: cat: can't open '\/tmp\/healthy'/);
    assert.match(describe, /Normal\s+Killing\s+.*Container c failed liveness probe, will be restarted/);
  });

  it('keeps a pod whose readiness probe fails unready, under the Service notReadyAddresses', async () => {
    const p = await eventually(async () => {
      const p = await pod('unready');
      return p.status?.containerStatuses?.[0]?.state?.running && p.status.podIP ? p : undefined;
    }, 30_000, 'unready running');
    await new Promise((r) => setTimeout(r, 2500)); // several probe periods
    const now = await pod('unready');
    assert.equal(now.status.containerStatuses[0].ready, false);
    assert.equal(cond(now, 'Ready'), 'False');
    assert.equal(cond(now, 'ContainersReady'), 'False');
    assert.match(await s.k(['get', 'pod', 'unready', '--no-headers']), /^unready\s+0\/1\s+Running\s+0/);
    const ep = await eventually(async () => {
      const e = JSON.parse(await s.k(['get', 'endpoints', 'unready', '-o', 'json']));
      return e.subsets?.[0]?.notReadyAddresses?.length ? e : undefined;
    }, 15_000, 'notReadyAddresses');
    assert.deepEqual(ep.subsets[0].notReadyAddresses.map((a: Json) => a.ip), [p.status.podIP]);
    assert.equal(ep.subsets[0].addresses, undefined);
    assert.match(await s.k(['get', 'endpoints', 'unready', '-o', 'yaml']), new RegExp(`notReadyAddresses:\\n\\s*- ip: ${p.status.podIP.replace(/\./g, '\\.')}`));
    assert.match(await events('unready'), /Warning Unhealthy: Readiness probe failed: Get "http:\/\/[\d.]+:9999\/": dial tcp [\d.]+:9999: connect: connection refused/);
  });

  it('holds liveness and readiness back until the startup probe passes', async () => {
    const cs = await eventually(async () => {
      const c = (await pod('slowstart')).status?.containerStatuses?.[0];
      return c?.ready ? c : undefined;
    }, 30_000, 'slowstart ready');
    assert.equal(cs.started, true);
    assert.equal(cs.restartCount, 0, 'liveness must not run before the startup probe passed');
    assert.ok(slowSamples.some((x) => x.started === false && x.ready === false), `not seen unstarted: ${JSON.stringify(slowSamples)}`);
  });

  it('runs postStart after the container starts (the file it writes is served)', async () => {
    const p = await eventually(async () => {
      const p = await pod('poststart');
      return cond(p, 'Ready') === 'True' ? p : undefined;
    }, 30_000, 'poststart Ready');
    const r = await explain('poststart', eventually(() => httpGet(`http://${p.status.podIP}:8080/index.html`), 10_000, 'http from poststart'));
    assert.equal(r.body, 'written-by-poststart\n');
  });

  it('kills a container whose postStart hook fails (FailedPostStartHook)', async () => {
    const ev = await eventually(async () => {
      const e = await events('badhook');
      return /FailedPostStartHook/.test(e) ? e : undefined;
    }, 30_000, 'FailedPostStartHook');
    assert.match(ev, /Warning FailedPostStartHook: Exec lifecycle hook .* for Container "c" failed - error: nope/);
    await eventually(async () => (await pod('badhook')).status?.containerStatuses?.[0]?.restartCount >= 1, 30_000, 'badhook restarted');
  });

  it('ends a container over its memory limit with OOMKilled', async () => {
    const cs = await eventually(async () => {
      const c = (await pod('hog')).status?.containerStatuses?.[0];
      return c?.lastState?.terminated ? c : undefined;
    }, 30_000, 'hog terminated');
    assert.equal(cs.lastState.terminated.reason, 'OOMKilled', JSON.stringify(cs));
    assert.equal(cs.lastState.terminated.exitCode, 137);
  });

  it('lets two pods reach each other by pod IP (kubectl exec … wget)', async () => {
    const a = await eventually(async () => {
      const p = await pod('unready');
      return p.status?.podIP && p.status.containerStatuses?.[0]?.state?.running ? p : undefined;
    }, 30_000, 'pod A');
    await eventually(async () => (await pod('client')).status?.containerStatuses?.[0]?.state?.running, 30_000, 'pod B running');
    let last = '';
    // no `wget -T`: busybox-static 1.35's wget segfaults with it
    const out = await eventually(async () => {
      const r = await s.kubectl(['exec', 'client', '--', 'wget', '-qO-', `http://${a.status.podIP}:8080/`], { timeoutMs: 15_000 });
      last = `${r.code} ${r.stderr}`;
      return r.code === 0 ? r.stdout : undefined;
    }, 15_000, 'wget from B to A').catch((e) => assert.fail(`${(e as Error).message}: ${last}`));
    assert.equal(out, 'hi-from-a\n');
  });

  it('brings a ConfigMap change into a running container within seconds', async () => {
    await eventually(async () => (await pod('client')).status?.containerStatuses?.[0]?.state?.running, 30_000, 'client running');
    assert.equal(await s.k(['exec', 'client', '--', 'cat', '/etc/cfg/greeting']), 'hello');
    await s.k(['patch', 'configmap', 'live-cfg', '--type=merge', '-p', '{"data":{"greeting":"bonjour"}}']);
    const t0 = Date.now();
    await eventually(async () => (await s.k(['exec', 'client', '--', 'cat', '/etc/cfg/greeting'])) === 'bonjour', 20_000, 'updated ConfigMap in the volume');
    assert.ok(Date.now() - t0 < 20_000);
  });

  it('runs preStop before SIGTERM: the deletion waits for it', async () => {
    await eventually(async () => (await pod('prestop')).status?.containerStatuses?.[0]?.state?.running, 30_000, 'prestop running');
    const t0 = Date.now();
    await s.k(['delete', 'pod', 'prestop']);
    const took = Date.now() - t0;
    // at least the hook's 2 s; far less than the 30 s grace (SIGTERM follows the hook at once)
    assert.ok(took >= 2000 && took < 15_000, `delete took ${took} ms; events:\n${await events('prestop')}`);
  });
});
