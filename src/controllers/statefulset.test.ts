import { test } from 'node:test';
import assert from 'node:assert/strict';
import { templatePatch } from './history.js';
import { newStatefulPod, ordinalOf } from './statefulset.js';

test('ordinalOf accepts only <set>-<n>', () => {
  assert.equal(ordinalOf('web', 'web-0'), 0);
  assert.equal(ordinalOf('web', 'web-12'), 12);
  assert.equal(ordinalOf('web', 'web-01'), undefined);
  assert.equal(ordinalOf('web', 'web-x'), undefined);
  assert.equal(ordinalOf('web', 'webby-1'), undefined);
  assert.equal(ordinalOf('web', 'web-api-1'), undefined);
});

test('pods get identity labels, hostname, subdomain and claim volumes', () => {
  const set = {
    apiVersion: 'apps/v1', kind: 'StatefulSet',
    metadata: { name: 'web', namespace: 'ns', uid: 'u' },
    spec: {
      serviceName: 'nginx',
      template: { metadata: { labels: { app: 'n' } }, spec: { containers: [{ name: 'c', image: 'i' }], volumes: [{ name: 'www', emptyDir: {} }, { name: 'keep', emptyDir: {} }] } },
      volumeClaimTemplates: [{ metadata: { name: 'www' }, spec: { accessModes: ['ReadWriteOnce'] } }],
    },
  };
  const rev = { metadata: { name: 'web-abc' }, data: templatePatch(set) };
  const pod = newStatefulPod(set, rev, 2);
  assert.equal(pod.metadata!.name, 'web-2');
  assert.deepEqual(pod.metadata!.labels, { app: 'n', 'statefulset.kubernetes.io/pod-name': 'web-2', 'apps.kubernetes.io/pod-index': '2', 'controller-revision-hash': 'web-abc' });
  assert.equal(pod.spec.hostname, 'web-2');
  assert.equal(pod.spec.subdomain, 'nginx');
  assert.deepEqual(pod.spec.volumes, [{ name: 'keep', emptyDir: {} }, { name: 'www', persistentVolumeClaim: { claimName: 'www-web-2' } }]);
  assert.equal(pod.metadata!.ownerReferences![0].controller, true);
  assert.equal(JSON.stringify(pod).includes('$patch'), false);
});
