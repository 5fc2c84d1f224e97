// Runtime contract: k8ts's own containerd, driven through our CRI v1 client,
// runs a networked pod with busybox httpd, exec, logs, stats, streaming URLs,
// survives a containerd crash, and cleans up after itself.
// Needs root and containerd + runc + CNI plugins; skips with a reason otherwise.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import WebSocket from 'ws';
import { CriError, nanosToDate, type PodSandboxConfig } from '../../src/kubelet/cri/client.js';
import { SANDBOX_IMAGE } from '../../src/kubelet/sandboxImage.js';
import { BUSYBOX_TEST_IMAGE, TEST_INDEX_HTML, criLeftovers, criSkipReason, startCriNode, type CriNode } from '../support/criNode.js';
import { httpGet } from '../support/http.js';

const skip = criSkipReason();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Tries fn up to n times, 100 ms apart (processes take a moment to bind). */
async function eventually<T>(fn: () => Promise<T>, n = 50): Promise<T> {
  let last: unknown;
  for (let i = 0; i < n; i++) {
    try {
      return await fn();
    } catch (e) {
      last = e;
      await sleep(100);
    }
  }
  throw last;
}

function inCidr(ip: string, cidr: string): boolean {
  const prefix = cidr.split('/')[0]!.split('.').slice(0, 3).join('.') + '.';
  return ip.startsWith(prefix);
}

describe('CRI runtime on our containerd', { skip, timeout: 240_000 }, () => {
  let node: CriNode;
  const uid = randomUUID();
  let sandboxConfig: PodSandboxConfig;
  let podId = '';
  let webId = '';
  let podIp = '';
  let netnsPath = '';
  const timings: Record<string, number> = {};

  before(async () => {
    node = await startCriNode();
    await node.importBusybox();
    sandboxConfig = {
      metadata: { name: 'web', uid, namespace: 'default', attempt: 0 },
      hostname: 'web',
      logDirectory: join(node.dataDir, 'pods', `default_web_${uid}`),
      labels: { 'io.kubernetes.pod.name': 'web', 'io.kubernetes.pod.namespace': 'default', 'io.kubernetes.pod.uid': uid },
      annotations: { 'k8ts.io/test': 'cri' },
      dnsConfig: { servers: ['10.43.0.10'], searches: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], options: ['ndots:5'] },
      linux: { securityContext: { namespaceOptions: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
    };
  });

  after(async () => {
    if (!node) return;
    const left = await node.cleanup();
    assert.deepEqual(left, [], 'the node left things behind');
  });

  it('reports version, conditions and the images', async () => {
    const v = await node.cri.version();
    assert.equal(v.runtimeName, 'containerd');
    assert.equal(v.runtimeApiVersion, 'v1');
    const st = await node.cri.status();
    const cond = Object.fromEntries((st.status?.conditions ?? []).map((c) => [c.type, c.status]));
    assert.deepEqual(cond, { RuntimeReady: true, NetworkReady: true });
    const tags = (await node.cri.listImages()).flatMap((i) => i.repoTags);
    assert.ok(tags.includes(SANDBOX_IMAGE) && tags.includes(BUSYBOX_TEST_IMAGE), `images: ${tags}`);
    assert.equal(await node.cri.imageStatus('k8ts.local/does-not-exist:1'), null);
    const fs = await node.cri.imageFsInfo();
    assert.ok(fs.imageFilesystems[0]?.fsId?.mountpoint.startsWith(node.dataDir));
  });

  it('runs a pod sandbox with an IP from the CNI bridge', async () => {
    const t0 = performance.now();
    podId = await node.cri.runPodSandbox(sandboxConfig);
    timings.runPodSandboxMs = performance.now() - t0;
    const st = await node.cri.podSandboxStatus(podId, true);
    assert.equal(st.status?.state, 'SANDBOX_READY');
    assert.equal(st.status?.metadata?.uid, uid);
    assert.equal(st.status?.annotations['k8ts.io/test'], 'cri');
    podIp = st.status?.network?.ip ?? '';
    assert.ok(inCidr(podIp, node.podCIDR), `pod IP ${podIp} not in ${node.podCIDR}`);
    assert.notEqual(podIp, node.gateway);
    // the bridge holds the gateway address
    assert.match(execFileSync('ip', ['-o', '-4', 'addr', 'show', node.bridge], { encoding: 'utf8' }), new RegExp(`inet ${node.gateway.replace(/\./g, '\\.')}/24`));
    // the netns lives under our state dir, not /var/run/netns
    const info = JSON.parse(st.info.info ?? '{}');
    netnsPath = info.runtimeSpec?.linux?.namespaces?.find((n: { type: string }) => n.type === 'network')?.path ?? '';
    assert.ok(netnsPath.startsWith(node.dataDir), `netns ${netnsPath}`);
    const listed = await node.cri.listPodSandbox({ labelSelector: { 'io.kubernetes.pod.uid': uid } });
    assert.deepEqual(listed.map((s) => s.id), [podId]);
    assert.ok(nanosToDate(listed[0]!.createdAt)!.getTime() > Date.now() - 60_000);
  });

  it('creates and starts httpd; exec reaches it inside the pod, and the host reaches the pod IP', async () => {
    const t0 = performance.now();
    webId = await node.cri.createContainer(podId, {
      metadata: { name: 'httpd', attempt: 0 },
      image: { image: BUSYBOX_TEST_IMAGE },
      command: ['httpd', '-f', '-p', '8080', '-h', '/www'],
      envs: [{ key: 'GREETING', value: 'hi' }],
      logPath: 'httpd/0.log',
      labels: { 'io.kubernetes.container.name': 'httpd' },
    }, sandboxConfig);
    await node.cri.startContainer(webId);
    timings.createStartMs = performance.now() - t0;

    const st = await node.cri.containerStatus(webId);
    assert.equal(st.status?.state, 'CONTAINER_RUNNING');
    assert.equal(st.status?.metadata?.name, 'httpd');
    assert.equal(st.status?.logPath, join(sandboxConfig.logDirectory!, 'httpd/0.log'));
    assert.ok(st.status?.imageRef.startsWith('sha256:'));
    assert.ok(nanosToDate(st.status!.startedAt));

    const r = await eventually(async () => {
      const res = await node.cri.execSync(webId, ['wget', '-qO-', 'http://127.0.0.1:8080/'], 10);
      if (res.exitCode !== 0) throw new Error(`wget exit ${res.exitCode}: ${res.stderr}`);
      return res;
    });
    assert.equal(r.stdout.toString(), TEST_INDEX_HTML);
    const env = await node.cri.execSync(webId, ['sh', '-c', 'echo $GREETING; hostname; cat /etc/resolv.conf; exit 7'], 10);
    assert.equal(env.exitCode, 7);
    const [greeting, hostname] = env.stdout.toString().split('\n');
    assert.equal(greeting, 'hi');
    assert.equal(hostname, 'web');
    assert.match(env.stdout.toString(), /nameserver 10\.43\.0\.10/);
    assert.match(env.stdout.toString(), /options ndots:5/);

    // host → pod over the bridge (an address inside a namespace this test made)
    const res = await eventually(() => httpGet(`http://${podIp}:8080/`));
    assert.equal(res.status, 200);
    assert.equal(res.body, TEST_INDEX_HTML);
  });

  it('writes container logs in CRI format and reports exit codes', async () => {
    const id = await node.cri.createContainer(podId, {
      metadata: { name: 'talker', attempt: 0 },
      image: { image: BUSYBOX_TEST_IMAGE },
      command: ['sh', '-c', 'echo out-line; echo err-line >&2; printf partial; exit 3'],
      logPath: 'talker/0.log',
    }, sandboxConfig);
    await node.cri.startContainer(id);
    const st = await eventually(async () => {
      const s = await node.cri.containerStatus(id);
      if (s.status?.state !== 'CONTAINER_EXITED') throw new Error(`state ${s.status?.state}`);
      return s.status;
    });
    assert.equal(st.exitCode, 3);
    assert.equal(st.reason, 'Error');
    assert.ok(nanosToDate(st.finishedAt));
    const lines = readFileSync(st.logPath, 'utf8').trim().split('\n');
    const parsed = lines.map((l) => l.match(/^(\S+) (stdout|stderr) ([FP]) (.*)$/));
    assert.ok(parsed.every(Boolean), `not CRI format: ${lines.join(' | ')}`);
    assert.ok(parsed.every((m) => !Number.isNaN(Date.parse(m![1]!))));
    const got = parsed.map((m) => `${m![2]} ${m![3]} ${m![4]}`).sort();
    assert.deepEqual(got, ['stderr F err-line', 'stdout F out-line', 'stdout P partial'].sort());
    await node.cri.removeContainer(id);
    await assert.rejects(node.cri.containerStatus(id), (e: unknown) => e instanceof CriError && e.code === 5 /* NOT_FOUND */);
  });

  it('lists containers, returns stats and streaming URLs', async () => {
    const list = await node.cri.listContainers({ podSandboxId: podId });
    assert.deepEqual(list.map((c) => c.id), [webId]);
    assert.equal(list[0]!.state, 'CONTAINER_RUNNING');
    const running = await node.cri.listContainers({ state: { state: 'CONTAINER_RUNNING' }, labelSelector: { 'io.kubernetes.container.name': 'httpd' } });
    assert.deepEqual(running.map((c) => c.id), [webId]);

    const stats = await node.cri.containerStats(webId);
    assert.equal(stats?.attributes?.id, webId);
    assert.ok(Number(stats?.memory?.workingSetBytes?.value ?? 0) > 0, `memory ${JSON.stringify(stats?.memory)}`);
    assert.ok(Number(stats?.cpu?.usageCoreNanoSeconds?.value ?? 0) > 0);
    assert.equal((await node.cri.listContainerStats({ podSandboxId: podId })).length, 1);

    // containerd's streaming server: loopback only, one-time tokens
    const execUrl = await node.cri.exec({ containerId: webId, cmd: ['sh'], stdin: true, stdout: true, stderr: true });
    assert.match(execUrl, /^http:\/\/127\.0\.0\.1:\d+\/exec\/\S+$/);
    // a minimal WebSocket (v4.channel.k8s.io) client proves the URL works:
    // one byte of channel, then data; channel 3 carries the exit Status
    const run = await node.cri.exec({ containerId: webId, cmd: ['sh', '-c', 'echo streamed; echo oops >&2; exit 2'], stdout: true, stderr: true });
    const chans = await new Promise<Record<number, string>>((resolve, reject) => {
      const ws = new WebSocket(run.replace(/^http/, 'ws'), ['v4.channel.k8s.io']);
      const got: Record<number, string> = {};
      const timer = setTimeout(() => (ws.terminate(), reject(new Error(`exec stream timed out: ${JSON.stringify(got)}`))), 10_000);
      ws.on('message', (d: Buffer) => {
        if (d.length > 1) got[d[0]!] = (got[d[0]!] ?? '') + d.subarray(1).toString();
      });
      ws.on('close', () => (clearTimeout(timer), resolve(got)));
      ws.on('error', (e) => (clearTimeout(timer), reject(e)));
    });
    assert.equal(chans[1], 'streamed\n');
    assert.equal(chans[2], 'oops\n');
    const status = JSON.parse(chans[3] ?? '{}');
    assert.equal(status.reason, 'NonZeroExitCode');
    assert.equal(status.details?.causes?.find((c: { reason: string }) => c.reason === 'ExitCode')?.message, '2');

    const attachUrl = await node.cri.attach({ containerId: webId, stdout: true, stderr: true });
    assert.match(attachUrl, /^http:\/\/127\.0\.0\.1:\d+\/attach\/\S+$/);
    const pfUrl = await node.cri.portForward(podId, [8080]);
    assert.match(pfUrl, /^http:\/\/127\.0\.0\.1:\d+\/portforward\/\S+$/);

    await node.cri.updateContainerResources(webId, { memoryLimitInBytes: 64 * 1024 * 1024, cpuShares: 256 });
    const st = await node.cri.containerStatus(webId);
    assert.equal(st.status?.resources?.linux?.memoryLimitInBytes, String(64 * 1024 * 1024));
    await node.cri.reopenContainerLog(webId);
  });

  it('keeps containers running across a containerd crash, and restarts it', async () => {
    const oldPid = node.containerd.pid()!;
    process.kill(oldPid, 'SIGKILL'); // the containerd this test started
    const newPid = await eventually(async () => {
      const p = node.containerd.pid();
      if (!p || p === oldPid) throw new Error('not restarted yet');
      await node.cri.version({ timeoutMs: 1000 });
      return p;
    }, 100);
    assert.notEqual(newPid, oldPid);
    const st = await eventually(() => node.cri.containerStatus(webId));
    assert.equal(st.status?.state, 'CONTAINER_RUNNING');
    const r = await node.cri.execSync(webId, ['wget', '-qO-', 'http://127.0.0.1:8080/'], 10);
    assert.equal(r.stdout.toString(), TEST_INDEX_HTML);
  });

  it('stops and removes containers and the sandbox, leaving nothing behind', async () => {
    const t0 = performance.now();
    await node.cri.stopContainer(webId, 2);
    timings.stopContainerMs = performance.now() - t0;
    assert.equal((await node.cri.containerStatus(webId)).status?.state, 'CONTAINER_EXITED');
    await node.cri.removeContainer(webId);
    await node.cri.stopPodSandbox(podId);
    await node.cri.stopPodSandbox(podId); // idempotent
    assert.equal((await node.cri.podSandboxStatus(podId)).status?.state, 'SANDBOX_NOTREADY');
    await node.cri.removePodSandbox(podId);
    await node.cri.removePodSandbox(podId); // idempotent
    assert.deepEqual(await node.cri.listPodSandbox(), []);
    assert.ok(netnsPath && !existsSync(netnsPath), `netns ${netnsPath} still there`);
    // containerd still runs and the bridge stays (it is the node's), but no pod remains on it
    assert.deepEqual(criLeftovers(node.dataDir, node.bridge, node.podCIDR, { bridgeMayExist: true }), []);
  });

  it('measures pod start latency', async (t) => {
    // a fresh pod after warm-up: RunPodSandbox, then Create+Start of a container
    const cfg: PodSandboxConfig = { ...sandboxConfig, metadata: { name: 'lat', uid: randomUUID(), namespace: 'default' }, hostname: 'lat' };
    const t0 = performance.now();
    const id = await node.cri.runPodSandbox(cfg);
    const t1 = performance.now();
    const c = await node.cri.createContainer(id, { metadata: { name: 'sleep' }, image: { image: BUSYBOX_TEST_IMAGE }, command: ['sleep', '3600'] }, cfg);
    await node.cri.startContainer(c);
    const t2 = performance.now();
    await node.cri.stopPodSandbox(id);
    await node.cri.removePodSandbox(id);
    const warm = { runPodSandboxMs: Math.round(t1 - t0), createStartMs: Math.round(t2 - t1) };
    t.diagnostic(`first pod: ${JSON.stringify(Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Math.round(v)])))}; warm pod: ${JSON.stringify(warm)}`);
    // generous bounds: a sanity check, not a benchmark (DESIGN.md: ~130 ms and ~80 ms here)
    assert.ok(warm.runPodSandboxMs < 5000 && warm.createStartMs < 5000, JSON.stringify(warm));
  });
});
