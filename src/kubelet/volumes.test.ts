import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { ApiError } from '../client/api.js';
import { cleanupPodVolumes, containerMounts, podVolumeObjects, preparePodVolumes, refreshPodVolumes, VolumeError, type TokenRequestInput, type VolumeApi } from './volumes.js';
import { writeAtomic } from './volumes/atomicWriter.js';
import { fieldRefValue, resourceFieldValue } from './volumes/downward.js';

class FakeApi implements VolumeApi {
  objects = new Map<string, any>();
  calls: string[] = [];
  async request<T>(method: string, path: string): Promise<T> {
    this.calls.push(`${method} ${path}`);
    const o = this.objects.get(path);
    if (!o) throw new ApiError(404, 'NotFound', `${path} not found`);
    return structuredClone(o) as T;
  }
  set(path: string, o: any) {
    this.objects.set(path, o);
  }
}

const pod = (volumes: any[], extra: any = {}): Pod =>
  ({
    metadata: { name: 'p', namespace: 'ns', uid: 'uid-1', labels: { app: 'web', tier: 'a"b' }, annotations: { note: 'x' } },
    spec: { serviceAccountName: 'sa1', containers: [{ name: 'c', image: 'i', resources: { limits: { cpu: '1500m', memory: '64Mi' } }, volumeMounts: [] }], volumes, ...extra },
  }) as Pod;

let tmp: string;
before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'k8ts-vol-'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

const read = (p: string) => readFileSync(p, 'utf8');
const mode = (p: string) => statSync(p).mode & 0o7777;

describe('atomic writer', () => {
  it('writes through ..data and swaps the payload on update', () => {
    const dir = join(tmp, 'aw');
    const files = new Map([
      ['a', { data: Buffer.from('1'), mode: 0o644 }],
      ['sub/b', { data: Buffer.from('2'), mode: 0o600 }],
    ]);
    assert.equal(writeAtomic(dir, files), true);
    const first = readlinkSync(join(dir, '..data'));
    assert.match(first, /^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\./);
    assert.equal(readlinkSync(join(dir, 'a')), '..data/a');
    assert.equal(read(join(dir, 'sub/b')), '2');
    assert.equal(mode(join(dir, 'sub/b')), 0o600);
    // same content: nothing changes
    assert.equal(writeAtomic(dir, files), false);
    assert.equal(readlinkSync(join(dir, '..data')), first);
    // an update: new payload dir, old one removed, stale top-level link removed
    assert.equal(writeAtomic(dir, new Map([['a', { data: Buffer.from('3'), mode: 0o644 }]])), true);
    const second = readlinkSync(join(dir, '..data'));
    assert.notEqual(second, first);
    assert.equal(read(join(dir, 'a')), '3');
    assert.equal(existsSync(join(dir, first)), false);
    assert.equal(existsSync(join(dir, 'sub')), false);
    assert.deepEqual(readdirSync(dir).sort(), ['..data', second, 'a'].sort());
  });
  it('rejects paths with ..', () => {
    assert.throws(() => writeAtomic(join(tmp, 'bad'), new Map([['../x', { data: Buffer.from(''), mode: 0o644 }]])), /\.\./);
    assert.throws(() => writeAtomic(join(tmp, 'bad'), new Map([['/abs', { data: Buffer.from(''), mode: 0o644 }]])), /relative/);
  });
});

describe('downward API values', () => {
  const p = pod([]);
  it('fieldRef', () => {
    assert.equal(fieldRefValue(p, 'metadata.name'), 'p');
    assert.equal(fieldRefValue(p, "metadata.labels['app']"), 'web');
    assert.equal(fieldRefValue(p, 'metadata.labels'), 'app="web"\ntier="a\\"b"');
    assert.throws(() => fieldRefValue(p, 'spec.nodeName', true), /unsupported/);
  });
  it('resourceFieldRef rounds up by the divisor; unset limits use the node', () => {
    const c = p.spec!.containers[0]!;
    assert.equal(resourceFieldValue(c, 'limits.cpu', undefined), '2');
    assert.equal(resourceFieldValue(c, 'limits.cpu', '1m'), '1500');
    assert.equal(resourceFieldValue(c, 'limits.memory', '1Mi'), '64');
    assert.equal(resourceFieldValue(c, 'requests.memory', undefined), String(64 * 1024 * 1024));
    assert.equal(resourceFieldValue({ name: 'x' }, 'limits.memory', undefined, { memory: '1Gi' }), String(1024 ** 3));
    assert.equal(resourceFieldValue({ name: 'x' }, 'requests.cpu', undefined, { cpu: '4' }), '0');
  });
});

describe('preparePodVolumes', () => {
  it('configMap: all keys, items with modes, binaryData, updates in place', async () => {
    const api = new FakeApi();
    api.set('/api/v1/namespaces/ns/configmaps/cfg', { data: { 'app.conf': 'v1', other: 'o' }, binaryData: { bin: Buffer.from([0, 1, 2]).toString('base64') } });
    const podDir = join(tmp, 'pod-cm');
    const p = pod([
      { name: 'all', configMap: { name: 'cfg', defaultMode: 0o600 } },
      { name: 'some', configMap: { name: 'cfg', items: [{ key: 'app.conf', path: 'conf/app.conf', mode: 0o400 }] } },
    ]);
    const prepared = await preparePodVolumes(p, { podDir, api });
    const all = prepared.get('all')!;
    assert.equal(all.hostPath, join(podDir, 'volumes/kubernetes.io~configmap/all'));
    assert.equal(all.readOnly, true);
    assert.equal(read(join(all.hostPath, 'app.conf')), 'v1');
    assert.equal(mode(join(all.hostPath, 'app.conf')), 0o600);
    assert.deepEqual([...readFileSync(join(all.hostPath, 'bin'))], [0, 1, 2]);
    const some = prepared.get('some')!.hostPath;
    assert.deepEqual(readdirSync(some).filter((e) => !e.startsWith('..')), ['conf']);
    assert.equal(read(join(some, 'conf/app.conf')), 'v1');
    assert.equal(mode(join(some, 'conf/app.conf')), 0o400);

    api.set('/api/v1/namespaces/ns/configmaps/cfg', { data: { 'app.conf': 'v2' } });
    assert.deepEqual(await refreshPodVolumes(p, prepared, { podDir, api }), []);
    assert.equal(read(join(all.hostPath, 'app.conf')), 'v2');
    assert.equal(existsSync(join(all.hostPath, 'other')), false);
    assert.equal(read(join(some, 'conf/app.conf')), 'v2');

    // deleted object: refresh reports it and keeps the old files
    api.objects.clear();
    const errs = await refreshPodVolumes(p, prepared, { podDir, api });
    assert.equal(errs.length, 2);
    assert.match(errs[0]!, /configmap "cfg" not found/);
    assert.equal(read(join(all.hostPath, 'app.conf')), 'v2');
  });

  it('missing objects and keys: errors unless optional', async () => {
    const api = new FakeApi();
    api.set('/api/v1/namespaces/ns/secrets/s', { data: { user: Buffer.from('admin').toString('base64') } });
    const podDir = join(tmp, 'pod-opt');
    await assert.rejects(preparePodVolumes(pod([{ name: 'v', configMap: { name: 'nope' } }]), { podDir, api }), (e: unknown) => e instanceof VolumeError && /MountVolume.SetUp failed for volume "v" : configmap "nope" not found/.test(e.message));
    await assert.rejects(preparePodVolumes(pod([{ name: 'v', secret: { secretName: 's', items: [{ key: 'pw', path: 'pw' }] } }]), { podDir, api }), /non-existent secret key: pw/);
    const prepared = await preparePodVolumes(
      pod([
        { name: 'cm', configMap: { name: 'nope', optional: true } },
        { name: 'sec', secret: { secretName: 's', optional: true, items: [{ key: 'user', path: 'u' }, { key: 'pw', path: 'p' }] } },
      ]),
      { podDir, api },
    );
    const cm = prepared.get('cm')!.hostPath;
    assert.deepEqual(readdirSync(cm).filter((e) => !e.startsWith('..')), []);
    const sec = prepared.get('sec')!.hostPath;
    assert.equal(read(join(sec, 'u')), 'admin');
    assert.equal(mode(join(sec, 'u')), 0o644);
    assert.equal(existsSync(join(sec, 'p')), false);
  });

  it('downwardAPI with label updates', async () => {
    const api = new FakeApi();
    const podDir = join(tmp, 'pod-dw');
    const p = pod([
      {
        name: 'info',
        downwardAPI: {
          items: [
            { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
            { path: 'name', fieldRef: { fieldPath: 'metadata.name' } },
            { path: 'cpu', resourceFieldRef: { containerName: 'c', resource: 'limits.cpu', divisor: '1m' } },
          ],
        },
      },
    ]);
    const prepared = await preparePodVolumes(p, { podDir, api });
    const dir = prepared.get('info')!.hostPath;
    assert.equal(read(join(dir, 'labels')), 'app="web"\ntier="a\\"b"');
    assert.equal(read(join(dir, 'name')), 'p');
    assert.equal(read(join(dir, 'cpu')), '1500');
    p.metadata!.labels = { app: 'db' };
    await refreshPodVolumes(p, prepared, { podDir, api });
    assert.equal(read(join(dir, 'labels')), 'app="db"');
  });

  it('projected: token, configMap, namespace; token rotation at 80 % of its life', async () => {
    const api = new FakeApi();
    api.set('/api/v1/namespaces/ns/configmaps/kube-root-ca.crt', { data: { 'ca.crt': 'CERT' } });
    const podDir = join(tmp, 'pod-proj');
    const issued: TokenRequestInput[] = [];
    let clock = 1_000_000;
    const tokenIssuer = async (r: TokenRequestInput) => {
      issued.push(r);
      return { token: `tok${issued.length}`, expirationTimestamp: new Date(clock + r.expirationSeconds * 1000).toISOString() };
    };
    const p = pod([
      {
        name: 'kube-api-access-abcde',
        projected: {
          defaultMode: 420,
          sources: [
            { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
            { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
            { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
          ],
        },
      },
    ]);
    const ctx = { podDir, api, tokenIssuer, now: () => clock };
    const prepared = await preparePodVolumes(p, ctx);
    const dir = prepared.get('kube-api-access-abcde')!.hostPath;
    assert.equal(dir, join(podDir, 'volumes/kubernetes.io~projected/kube-api-access-abcde'));
    assert.equal(read(join(dir, 'token')), 'tok1');
    assert.equal(read(join(dir, 'ca.crt')), 'CERT');
    assert.equal(read(join(dir, 'namespace')), 'ns');
    assert.deepEqual(issued[0], { namespace: 'ns', serviceAccountName: 'sa1', audiences: undefined, expirationSeconds: 3607, pod: { name: 'p', uid: 'uid-1' } });
    clock += 60_000;
    await refreshPodVolumes(p, prepared, ctx);
    assert.equal(issued.length, 1);
    clock += 3607 * 800; // past 80 %
    await refreshPodVolumes(p, prepared, ctx);
    assert.equal(issued.length, 2);
    assert.equal(read(join(dir, 'token')), 'tok2');
  });

  it('default token issuer posts a TokenRequest', async () => {
    const posts: any[] = [];
    const api: VolumeApi = {
      async request<T>(method: string, path: string, body?: unknown): Promise<T> {
        posts.push({ method, path, body });
        return { status: { token: 'jwt', expirationTimestamp: new Date(Date.now() + 3600_000).toISOString() } } as T;
      },
    };
    const prepared = await preparePodVolumes(pod([{ name: 't', projected: { sources: [{ serviceAccountToken: { path: 'tk', audience: 'vault' } }] } }]), { podDir: join(tmp, 'pod-tr'), api });
    assert.equal(read(join(prepared.get('t')!.hostPath, 'tk')), 'jwt');
    assert.equal(posts[0].method, 'POST');
    assert.equal(posts[0].path, '/api/v1/namespaces/ns/serviceaccounts/sa1/token');
    assert.deepEqual(posts[0].body.spec, { audiences: ['vault'], expirationSeconds: 3600, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'p', uid: 'uid-1' } });
  });

  it('emptyDir, hostPath types, and mounts with subPath', async () => {
    const api = new FakeApi();
    const podDir = join(tmp, 'pod-ed');
    const hp = join(tmp, 'host');
    const p = pod([
      { name: 'scratch', emptyDir: {} },
      { name: 'h', hostPath: { path: join(hp, 'made'), type: 'DirectoryOrCreate' } },
      { name: 'f', hostPath: { path: join(hp, 'file'), type: 'FileOrCreate' } },
    ]);
    mkdirSync(hp);
    const prepared = await preparePodVolumes(p, { podDir, api });
    const ed = prepared.get('scratch')!.hostPath;
    assert.equal(ed, join(podDir, 'volumes/kubernetes.io~empty-dir/scratch'));
    assert.equal(mode(ed), 0o777);
    assert.ok(statSync(join(hp, 'made')).isDirectory());
    assert.ok(statSync(join(hp, 'file')).isFile());
    writeFileSync(join(ed, 'keep'), 'data');
    // idempotent: a second prepare (kubelet restart) keeps the contents
    await preparePodVolumes(p, { podDir, api });
    assert.equal(read(join(ed, 'keep')), 'data');

    await assert.rejects(preparePodVolumes(pod([{ name: 'x', hostPath: { path: join(hp, 'nodir'), type: 'Directory' } }]), { podDir, api }), /is not a directory/);
    await assert.rejects(preparePodVolumes(pod([{ name: 'x', hostPath: { path: join(hp, 'made'), type: 'File' } }]), { podDir, api }), /is not a file/);
    await assert.rejects(preparePodVolumes(pod([{ name: 'x', hostPath: { path: join(hp, 'made'), type: 'Socket' } }]), { podDir, api }), /not a socket/);

    const mounts = containerMounts(
      {
        name: 'c',
        volumeMounts: [
          { name: 'scratch', mountPath: '/data' },
          { name: 'scratch', mountPath: '/logs', subPathExpr: 'logs/$(POD)', mountPropagation: 'HostToContainer' },
          { name: 'h', mountPath: '/h', readOnly: true },
        ],
      },
      prepared,
      { env: { POD: 'p' } },
    );
    assert.deepEqual(mounts, [
      { containerPath: '/data', hostPath: ed, readonly: false, propagation: 'PROPAGATION_PRIVATE' },
      { containerPath: '/logs', hostPath: join(ed, 'logs/p'), readonly: false, propagation: 'PROPAGATION_HOST_TO_CONTAINER' },
      { containerPath: '/h', hostPath: join(hp, 'made'), readonly: true, propagation: 'PROPAGATION_PRIVATE' },
    ]);
    assert.ok(statSync(join(ed, 'logs/p')).isDirectory());
    // a symlink planted in the volume must not let a subPath escape it
    symlinkSync('/etc', join(ed, 'evil'));
    assert.throws(() => containerMounts({ name: 'c', volumeMounts: [{ name: 'scratch', mountPath: '/x', subPath: 'evil' }] }, prepared), /outside the volume/);
    assert.throws(() => containerMounts({ name: 'c', volumeMounts: [{ name: 'scratch', mountPath: '/x', subPath: '../x' }] }, prepared), /without '\.\.'/);
    assert.throws(() => containerMounts({ name: 'c', volumeMounts: [{ name: 'nope', mountPath: '/x' }] }, prepared), /cannot find volume "nope"/);

    await cleanupPodVolumes(podDir);
    assert.equal(existsSync(join(podDir, 'volumes')), false);
    assert.ok(existsSync(join(hp, 'made')), 'hostPath data is never removed');
  });

  it('configMap subPath mounts the resolved file', async () => {
    const api = new FakeApi();
    api.set('/api/v1/namespaces/ns/configmaps/cfg', { data: { 'a.conf': 'x' } });
    const prepared = await preparePodVolumes(pod([{ name: 'cm', configMap: { name: 'cfg' } }]), { podDir: join(tmp, 'pod-sp'), api });
    const [m] = containerMounts({ name: 'c', volumeMounts: [{ name: 'cm', mountPath: '/etc/a.conf', subPath: 'a.conf' }] }, prepared);
    assert.equal(m!.readonly, true);
    assert.ok(lstatSync(m!.hostPath!).isFile());
    assert.equal(read(m!.hostPath!), 'x');
    assert.throws(() => containerMounts({ name: 'c', volumeMounts: [{ name: 'cm', mountPath: '/x', subPath: 'missing' }] }, prepared), /does not exist/);
  });

  it('persistentVolumeClaim resolves to the bound PV path', async () => {
    const api = new FakeApi();
    const path = join(tmp, 'pv1');
    api.set('/api/v1/namespaces/ns/persistentvolumeclaims/data', { metadata: { uid: 'c1' }, spec: { volumeName: 'pv1' }, status: { phase: 'Bound' } });
    api.set('/api/v1/persistentvolumes/pv1', { spec: { claimRef: { uid: 'c1' }, hostPath: { path, type: 'DirectoryOrCreate' } } });
    api.set('/api/v1/namespaces/ns/persistentvolumeclaims/pending', { metadata: { uid: 'c2' }, spec: {}, status: { phase: 'Pending' } });
    const prepared = await preparePodVolumes(pod([{ name: 'd', persistentVolumeClaim: { claimName: 'data', readOnly: true } }]), { podDir: join(tmp, 'pod-pvc'), api });
    assert.deepEqual(prepared.get('d'), { hostPath: path, readOnly: true, kind: 'persistentVolumeClaim' });
    assert.ok(statSync(path).isDirectory());
    await assert.rejects(preparePodVolumes(pod([{ name: 'd', persistentVolumeClaim: { claimName: 'pending' } }]), { podDir: join(tmp, 'pod-pvc'), api }), /is not bound/);
    await assert.rejects(preparePodVolumes(pod([{ name: 'd', persistentVolumeClaim: { claimName: 'none' } }]), { podDir: join(tmp, 'pod-pvc'), api }), /"none" not found/);
  });

  it('podVolumeObjects lists what a pod reads', () => {
    const p = pod([
      { name: 'a', configMap: { name: 'cm1' } },
      { name: 'b', secret: { secretName: 's1' } },
      { name: 'c', projected: { sources: [{ configMap: { name: 'cm2' } }, { secret: { name: 's1' } }] } },
      { name: 'd', persistentVolumeClaim: { claimName: 'pvc' } },
    ]);
    assert.deepEqual(podVolumeObjects(p), { configMaps: ['cm1', 'cm2'], secrets: ['s1'], claims: ['pvc'] });
  });

  it('emptyDir medium Memory is a sized tmpfs, unmounted on cleanup (root only)', { skip: process.getuid?.() !== 0 ? 'needs root to mount tmpfs' : false }, async () => {
    const podDir = join(tmp, 'pod-mem');
    const prepared = await preparePodVolumes(pod([{ name: 'm', emptyDir: { medium: 'Memory', sizeLimit: '8Mi' } }]), { podDir, api: new FakeApi() });
    const dir = prepared.get('m')!.hostPath;
    assert.equal(prepared.get('m')!.memory, true);
    const line = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === dir);
    assert.ok(line, 'tmpfs mounted');
    assert.match(line!, / tmpfs /);
    assert.match(line!, /size=8192k/);
    // again (kubelet restart): no second mount on top
    await preparePodVolumes(pod([{ name: 'm', emptyDir: { medium: 'Memory', sizeLimit: '8Mi' } }]), { podDir, api: new FakeApi() });
    assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4] === dir).length, 1);
    await cleanupPodVolumes(podDir);
    assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').includes(dir), false);
    assert.equal(existsSync(dir), false);
  });
});
