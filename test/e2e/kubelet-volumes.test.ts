// Volumes, probes and ServiceAccount tokens, end to end.
// 1. API (no root): `kubectl create token` returns a signed JWT the API server
//    accepts as a bearer token; pods get the kube-api-access projected volume.
// 2. Runtime (root + containerd; skips otherwise): the kubelet's volume library
//    prepares configMap, secret, downwardAPI, projected and emptyDir (disk and
//    Memory) volumes, a busybox container on our containerd sees them through the
//    CRI mounts, a changed ConfigMap reaches the running container in place, and
//    the Prober reaches the pod over the node's bridge.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { ApiError } from '../../src/client/api.js';
import type { PodSandboxConfig } from '../../src/kubelet/cri/client.js';
import { cleanupPodVolumes, containerMounts, preparePodVolumes, refreshPodVolumes, type PreparedVolumes, type VolumeApi, type VolumeContext } from '../../src/kubelet/volumes.js';
import { Prober } from '../../src/kubelet/probes.js';
import { BUSYBOX_TEST_IMAGE, criSkipReason, startCriNode, type CriNode } from '../support/criNode.js';
import { eventually, run, startServer, type TestServer } from '../support/cluster.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('ServiceAccount tokens through the API', { timeout: 90_000 }, () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
  });
  after(async () => {
    await s?.stop();
  });

  it('kubectl create token gives a JWT that authenticates as the ServiceAccount', async () => {
    await eventually(async () => (await s.kubectl(['get', 'serviceaccount', 'default'])).code === 0, 20_000, 'default ServiceAccount');
    const token = (await s.k(['create', 'token', 'default', '--duration=1h', '--audience=https://kubernetes.default.svc.cluster.local'])).trim();
    const [head, body] = token.split('.').slice(0, 2).map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()));
    assert.equal(head.alg, 'ES256');
    assert.equal(body.sub, 'system:serviceaccount:default:default');
    assert.equal(body.exp - body.iat, 3600);
    // the token is a credential of its own: the request succeeds with it…
    const ok = await s.kubectl(['--token', token, 'get', '--raw', '/api/v1/namespaces/default/serviceaccounts/default']);
    assert.equal(ok.code, 0, ok.stderr);
    // …and a tampered one is refused
    const bad = token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    const refused = await s.kubectl(['--token', bad, 'get', '--raw', '/api']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /Unauthorized/);
    const short = await s.kubectl(['create', 'token', 'default', '--duration=1m']);
    assert.notEqual(short.code, 0);
    assert.match(short.stderr, /may not specify a duration less than 10 minutes/);
    const missing = await s.kubectl(['create', 'token', 'nobody']);
    assert.match(missing.stderr, /serviceaccounts "nobody" not found/);
  });

  it('pods get the kube-api-access volume unless automount is off', async () => {
    await s.k(['run', 'tok', '--image=k8ts.local/none:1', '--restart=Never']);
    const pod = JSON.parse(await s.k(['get', 'pod', 'tok', '-o', 'json']));
    const vol = pod.spec.volumes.find((v: { name: string }) => v.name.startsWith('kube-api-access-'));
    assert.ok(vol?.projected, JSON.stringify(pod.spec.volumes));
    assert.deepEqual(pod.spec.containers[0].volumeMounts, [{ name: vol.name, readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }]);
    await s.k(['run', 'notok', '--image=k8ts.local/none:1', '--restart=Never', '--overrides={"spec":{"automountServiceAccountToken":false}}']);
    const off = JSON.parse(await s.k(['get', 'pod', 'notok', '-o', 'json']));
    assert.equal(off.spec.volumes, undefined);
  });
});

/** An in-memory API for the volume library (what the kubelet reads). */
class FakeApi implements VolumeApi {
  objects = new Map<string, unknown>();
  async request<T>(method: string, path: string): Promise<T> {
    const o = this.objects.get(`${method} ${path}`);
    if (!o) throw new ApiError(404, 'NotFound', `${path} not found`);
    return structuredClone(o) as T;
  }
}

const skip = criSkipReason();

describe('pod volumes inside a container on containerd', { skip, timeout: 120_000 }, () => {
  let node: CriNode;
  const uid = randomUUID();
  let sandboxConfig: PodSandboxConfig;
  let podId = '';
  let cid = '';
  let podIp = '';
  let podDir = '';
  const api = new FakeApi();
  let ctx: VolumeContext;
  let prepared: PreparedVolumes;
  const pod: Pod = {
    metadata: { name: 'vols', namespace: 'default', uid, labels: { app: 'vols' } },
    spec: {
      containers: [
        {
          name: 'main',
          image: BUSYBOX_TEST_IMAGE,
          resources: { limits: { memory: '64Mi' } },
          volumeMounts: [
            { name: 'cfg', mountPath: '/etc/cfg' },
            { name: 'sec', mountPath: '/etc/sec' },
            { name: 'info', mountPath: '/etc/podinfo' },
            { name: 'sa', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' },
            { name: 'cache', mountPath: '/cache' },
            { name: 'scratch', mountPath: '/scratch' },
          ],
        },
      ],
      volumes: [
        { name: 'cfg', configMap: { name: 'app', items: [{ key: 'app.conf', path: 'app.conf' }] } },
        { name: 'sec', secret: { secretName: 'creds', defaultMode: 0o400 } },
        { name: 'info', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }, { path: 'mem', resourceFieldRef: { containerName: 'main', resource: 'limits.memory', divisor: '1Mi' } }] } },
        {
          name: 'sa',
          projected: {
            sources: [
              { serviceAccountToken: { path: 'token' } },
              { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
              { downwardAPI: { items: [{ path: 'namespace', fieldRef: { fieldPath: 'metadata.namespace' } }] } },
            ],
          },
        },
        { name: 'cache', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
        { name: 'scratch', emptyDir: {} },
      ],
    },
  };

  before(async () => {
    node = await startCriNode();
    await node.importBusybox();
    podDir = join(node.dataDir, 'pods', uid);
    api.objects.set('GET /api/v1/namespaces/default/configmaps/app', { data: { 'app.conf': 'color=blue\n', ignored: 'x' } });
    api.objects.set('GET /api/v1/namespaces/default/secrets/creds', { data: { user: Buffer.from('admin').toString('base64') } });
    api.objects.set('GET /api/v1/namespaces/default/configmaps/kube-root-ca.crt', { data: { 'ca.crt': '-----BEGIN CERTIFICATE-----\n' } });
    ctx = { podDir, api, tokenIssuer: async () => ({ token: 'header.claims.sig', expirationTimestamp: new Date(Date.now() + 3600_000).toISOString() }) };
    sandboxConfig = {
      metadata: { name: 'vols', uid, namespace: 'default', attempt: 0 },
      hostname: 'vols',
      logDirectory: join(node.dataDir, 'logs', uid),
      linux: { securityContext: { namespaceOptions: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
    };
  });

  after(async () => {
    if (!node) return;
    if (podId) {
      await node.cri.stopPodSandbox(podId).catch(() => {});
      await node.cri.removePodSandbox(podId).catch(() => {});
    }
    await cleanupPodVolumes(podDir).catch(() => {});
    const left = await node.cleanup();
    assert.deepEqual(left, [], 'the node left things behind');
  });

  const sh = async (script: string) => {
    const r = await node.cri.execSync(cid, ['sh', '-c', script], 10);
    return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
  };

  it('runs a container that sees every volume', async () => {
    prepared = await preparePodVolumes(pod, ctx);
    podId = await node.cri.runPodSandbox(sandboxConfig);
    podIp = (await node.cri.podSandboxStatus(podId)).status?.network?.ip ?? '';
    const c = pod.spec!.containers[0]!;
    cid = await node.cri.createContainer(podId, {
      metadata: { name: 'main', attempt: 0 },
      image: { image: BUSYBOX_TEST_IMAGE },
      command: ['httpd', '-f', '-p', '8080', '-h', '/etc/cfg'],
      mounts: containerMounts(c, prepared),
      logPath: 'main/0.log',
    }, sandboxConfig);
    await node.cri.startContainer(cid);

    assert.deepEqual(await sh('cat /etc/cfg/app.conf'), { code: 0, out: 'color=blue\n', err: '' });
    assert.equal((await sh('ls /etc/cfg')).out, 'app.conf\n');
    assert.equal((await sh('cat /etc/sec/user')).out, 'admin');
    assert.equal((await sh('stat -L -c %a /etc/sec/user')).out.trim(), '400');
    assert.equal((await sh('cat /etc/podinfo/labels')).out, 'app="vols"');
    assert.equal((await sh('cat /etc/podinfo/mem')).out, '64');
    const sa = await sh('cd /var/run/secrets/kubernetes.io/serviceaccount && cat token; echo; cat namespace; echo; head -1 ca.crt');
    assert.equal(sa.out, 'header.claims.sig\ndefault\n-----BEGIN CERTIFICATE-----\n');
    // payload volumes are read-only; emptyDirs are writable, /cache is a 16Mi tmpfs
    assert.notEqual((await sh('echo x > /etc/cfg/new')).code, 0);
    assert.equal((await sh('echo hi > /scratch/f && echo hi > /cache/f && echo ok')).out, 'ok\n');
    assert.match((await sh('grep " /cache " /proc/mounts')).out, /^tmpfs \/cache tmpfs rw.*size=16384k/);
    assert.equal((await sh('dd if=/dev/zero of=/cache/big bs=1M count=20 2>&1; echo $?')).out.trim().split('\n').at(-1), '1', 'the tmpfs is bounded by sizeLimit');
  });

  it('a changed ConfigMap reaches the running container in place', async () => {
    api.objects.set('GET /api/v1/namespaces/default/configmaps/app', { data: { 'app.conf': 'color=green\n' } });
    assert.deepEqual(await refreshPodVolumes(pod, prepared, ctx), []);
    assert.equal((await sh('cat /etc/cfg/app.conf')).out, 'color=green\n');
  });

  it('probes reach the pod over the bridge and exec through the CRI', async () => {
    const prober = new Prober(async (id, cmd, timeoutMs) => node.cri.execSync(id, cmd, Math.ceil(timeoutMs / 1000)), () => podIp);
    let http = await prober.run({ httpGet: { path: '/app.conf', port: 8080 } }, cid);
    for (let i = 0; i < 30 && http.result !== 'success'; i++) {
      await sleep(100);
      http = await prober.run({ httpGet: { path: '/app.conf', port: 8080 } }, cid);
    }
    assert.deepEqual(http, { result: 'success', message: 'color=green\n' });
    assert.equal((await prober.run({ httpGet: { path: '/nope', port: 8080 } }, cid)).message, 'HTTP probe failed with statuscode: 404');
    assert.equal((await prober.run({ tcpSocket: { port: 8080 } }, cid)).result, 'success');
    assert.equal((await prober.run({ tcpSocket: { port: 8081 } }, cid)).result, 'failure');
    assert.deepEqual(await prober.run({ exec: { command: ['cat', '/etc/podinfo/mem'] } }, cid), { result: 'success', message: '64' });
    assert.equal((await prober.run({ exec: { command: ['false'] } }, cid)).result, 'failure');
  });

  it('cleanup unmounts the memory volume and removes the pod volumes', async () => {
    await node.cri.stopPodSandbox(podId);
    await node.cri.removePodSandbox(podId);
    podId = '';
    await cleanupPodVolumes(podDir);
    const r = await run('sh', ['-c', `grep -c ${podDir} /proc/self/mountinfo; test -e ${podDir}/volumes && echo exists || echo gone`]);
    assert.equal(r.stdout, '0\ngone\n');
  });
});
