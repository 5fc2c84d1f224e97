import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { serviceAccount, SERVICE_ACCOUNT_MOUNT_PATH } from './serviceAccount.js';

const attrs = (spec: Record<string, any>, extra: Record<string, any> = {}) => ({ op: 'CREATE', def: { group: '', resource: 'pods' }, namespace: 'ns', name: 'p', subresource: '', obj: { metadata: { name: 'p', namespace: 'ns' }, spec }, ctx: {}, ...extra }) as any;

// a fake cache holding ServiceAccounts, as the plugin reads them
const withSAs = (sas: Record<string, any>) =>
  serviceAccount(
    () => ({ storageResource: () => 'serviceaccounts' }) as any,
    () => ({ get: (_r: string, key: string) => (sas[key] ? { obj: sas[key] } : undefined) }) as any,
    { byGVR: () => ({ resource: 'serviceaccounts' }) } as any,
  );

describe('ServiceAccount admission', () => {
  it('defaults the account and adds the kube-api-access volume to every container', () => {
    const a = attrs({ containers: [{ name: 'a' }, { name: 'b', volumeMounts: [{ name: 'x', mountPath: '/x' }] }], initContainers: [{ name: 'i' }] });
    serviceAccount().admit!(a);
    const spec = a.obj.spec;
    assert.equal(spec.serviceAccountName, 'default');
    assert.equal(spec.serviceAccount, 'default');
    assert.equal(spec.volumes.length, 1);
    const v = spec.volumes[0];
    assert.match(v.name, /^kube-api-access-[b-z2-9]{5}$/);
    assert.deepEqual(v.projected.sources.map((s: object) => Object.keys(s)[0]), ['serviceAccountToken', 'configMap', 'downwardAPI']);
    assert.equal(v.projected.defaultMode, 420);
    assert.deepEqual(v.projected.sources[0].serviceAccountToken, { expirationSeconds: 3607, path: 'token' });
    for (const c of [...spec.containers, ...spec.initContainers]) {
      assert.deepEqual(c.volumeMounts.at(-1), { name: v.name, readOnly: true, mountPath: SERVICE_ACCOUNT_MOUNT_PATH });
    }
    assert.equal(spec.containers[1].volumeMounts.length, 2);
  });

  it('honours automountServiceAccountToken on the pod, then the ServiceAccount', () => {
    const off = attrs({ automountServiceAccountToken: false, containers: [{ name: 'a' }] });
    serviceAccount().admit!(off);
    assert.equal(off.obj.spec.volumes, undefined);

    const plugin = withSAs({ '/registry/serviceaccounts/ns/quiet': { automountServiceAccountToken: false } });
    const bySA = attrs({ serviceAccountName: 'quiet', containers: [{ name: 'a' }] });
    plugin.admit!(bySA);
    assert.equal(bySA.obj.spec.volumes, undefined);
    const podWins = attrs({ serviceAccountName: 'quiet', automountServiceAccountToken: true, containers: [{ name: 'a' }] });
    plugin.admit!(podWins);
    assert.equal(podWins.obj.spec.volumes.length, 1);
  });

  it('leaves containers that mount the path themselves, mirror pods and updates alone', () => {
    const own = attrs({ containers: [{ name: 'a', volumeMounts: [{ name: 'mine', mountPath: SERVICE_ACCOUNT_MOUNT_PATH }] }] });
    serviceAccount().admit!(own);
    assert.equal(own.obj.spec.volumes, undefined);
    const mirror = attrs({ containers: [{ name: 'a' }] });
    mirror.obj.metadata.annotations = { 'kubernetes.io/config.mirror': 'x' };
    serviceAccount().admit!(mirror);
    assert.equal(mirror.obj.spec.volumes, undefined);
    const upd = attrs({ containers: [{ name: 'a' }] }, { op: 'UPDATE' });
    serviceAccount().admit!(upd);
    assert.equal(upd.obj.spec.volumes, undefined);
  });
});
