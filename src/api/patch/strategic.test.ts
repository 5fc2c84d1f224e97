import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { applyStrategicMergePatch, type SchemaLookup, type SchemaNode } from './strategic.js';
import { StatusError } from '../errors.js';

const ref = (name: string): SchemaNode => ({ $ref: `#/definitions/${name}` });

// A small schema in the same shape as src/api/openapi/definitions.json.
const schema: Record<string, SchemaNode> = {
  mergeItem: {
    type: 'object',
    properties: {
      name: { type: 'string' },
      value: { type: 'string' },
      other: { type: 'string' },
      mergingList: { type: 'array', items: ref('mergeItem'), 'x-kubernetes-patch-strategy': 'merge', 'x-kubernetes-patch-merge-key': 'name' },
      nonMergingList: { type: 'array', items: ref('mergeItem') },
      mergingIntList: { type: 'array', items: { type: 'integer' }, 'x-kubernetes-patch-strategy': 'merge' },
      nonMergingIntList: { type: 'array', items: { type: 'integer' } },
      simpleMap: { type: 'object', additionalProperties: { type: 'string' } },
      replacingItem: { type: 'object', 'x-kubernetes-patch-strategy': 'replace' },
      retainKeysMap: { ...ref('retainKeysMergeItem'), 'x-kubernetes-patch-strategy': 'retainKeys' },
      retainKeysMergingList: { type: 'array', items: ref('mergeItem'), 'x-kubernetes-patch-strategy': 'merge,retainKeys', 'x-kubernetes-patch-merge-key': 'name' },
    },
  },
  retainKeysMergeItem: {
    type: 'object',
    properties: {
      name: { type: 'string' },
      value: { type: 'string' },
      other: { type: 'string' },
      simpleMap: { type: 'object', additionalProperties: { type: 'string' } },
      mergingIntList: { type: 'array', items: { type: 'integer' }, 'x-kubernetes-patch-strategy': 'merge' },
      mergingList: { type: 'array', items: ref('mergeItem'), 'x-kubernetes-patch-strategy': 'merge', 'x-kubernetes-patch-merge-key': 'name' },
    },
  },
  'io.k8s.api.apps.v1.Deployment': {
    type: 'object',
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: ref('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'),
      spec: ref('io.k8s.api.apps.v1.DeploymentSpec'),
    },
  },
  'io.k8s.api.apps.v1.DeploymentSpec': {
    type: 'object',
    properties: {
      replicas: { type: 'integer' },
      strategy: { ...ref('io.k8s.api.apps.v1.DeploymentStrategy'), 'x-kubernetes-patch-strategy': 'retainKeys' },
      template: ref('io.k8s.api.core.v1.PodTemplateSpec'),
    },
  },
  'io.k8s.api.apps.v1.DeploymentStrategy': {
    type: 'object',
    properties: { type: { type: 'string' }, rollingUpdate: { type: 'object' } },
  },
  'io.k8s.api.core.v1.PodTemplateSpec': {
    type: 'object',
    properties: { metadata: ref('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'), spec: ref('io.k8s.api.core.v1.PodSpec') },
  },
  'io.k8s.api.core.v1.PodSpec': {
    type: 'object',
    properties: {
      containers: { type: 'array', items: ref('io.k8s.api.core.v1.Container'), 'x-kubernetes-patch-strategy': 'merge', 'x-kubernetes-patch-merge-key': 'name' },
      volumes: { type: 'array', items: ref('io.k8s.api.core.v1.Volume'), 'x-kubernetes-patch-strategy': 'merge,retainKeys', 'x-kubernetes-patch-merge-key': 'name' },
      tolerations: { type: 'array', items: { type: 'object' } },
      nodeSelector: { type: 'object', additionalProperties: { type: 'string' } },
    },
  },
  'io.k8s.api.core.v1.Container': {
    type: 'object',
    properties: {
      name: { type: 'string' },
      image: { type: 'string' },
      args: { type: 'array', items: { type: 'string' } },
      env: { type: 'array', items: ref('io.k8s.api.core.v1.EnvVar'), 'x-kubernetes-patch-strategy': 'merge', 'x-kubernetes-patch-merge-key': 'name' },
      ports: { type: 'array', items: ref('io.k8s.api.core.v1.ContainerPort'), 'x-kubernetes-patch-strategy': 'merge', 'x-kubernetes-patch-merge-key': 'containerPort' },
      resources: { type: 'object', properties: { limits: { type: 'object', additionalProperties: { type: 'string' } } } },
    },
  },
  'io.k8s.api.core.v1.EnvVar': { type: 'object', properties: { name: { type: 'string' }, value: { type: 'string' } } },
  'io.k8s.api.core.v1.ContainerPort': { type: 'object', properties: { containerPort: { type: 'integer' }, protocol: { type: 'string' } } },
  'io.k8s.api.core.v1.Volume': {
    type: 'object',
    properties: { name: { type: 'string' }, emptyDir: { type: 'object' }, configMap: { type: 'object' }, hostPath: { type: 'object' } },
  },
  'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta': {
    type: 'object',
    properties: {
      name: { type: 'string' },
      labels: { type: 'object', additionalProperties: { type: 'string' } },
      annotations: { type: 'object', additionalProperties: { type: 'string' } },
      finalizers: { type: 'array', items: { type: 'string' }, 'x-kubernetes-patch-strategy': 'merge' },
      ownerReferences: { type: 'array', items: { type: 'object' }, 'x-kubernetes-patch-strategy': 'merge', 'x-kubernetes-patch-merge-key': 'uid' },
    },
  },
};

const smp = (original: object, patch: object, root = 'mergeItem', s: SchemaLookup = schema) => applyStrategicMergePatch(original, patch, s, root);

function deployment(containers: object[]) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', labels: { app: 'web' }, finalizers: ['a', 'b', 'c'] },
    spec: { replicas: 2, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers } } },
  };
}
const D = 'io.k8s.api.apps.v1.Deployment';

// ---- upstream test vectors (apply half) ----

test('unique scalars when merging lists', () => {
  assert.deepEqual(smp({ mergingIntList: [1, 2] }, { mergingIntList: [2, 3] }), { mergingIntList: [1, 2, 3] });
});

test('$patch: delete on a nested map empties it', () => {
  assert.deepEqual(smp({ simpleMap: { key1: '1', key2: '1' } }, { simpleMap: { $patch: 'delete' } }), { simpleMap: {} });
});

test('$patch: replace as the only list item empties a merging list', () => {
  assert.deepEqual(smp({ mergingList: [{ name: '1' }, { name: '2' }] }, { mergingList: [{ $patch: 'replace' }] }), { mergingList: [] });
});

test('$patch: replace in a map replaces it, minus the directive', () => {
  assert.deepEqual(smp({ name: '1', value: '1' }, { $patch: 'replace' }), {});
  assert.deepEqual(smp({ name: '1', value: '1' }, { other: 'a', $patch: 'replace' }), { other: 'a' });
});

test('$patch: delete removes every item with the merge key value', () => {
  const original = { mergingList: [{ name: '1' }, { name: '1' }, { name: '2', value: 'a' }, { name: '3' }, { name: '3' }] };
  const patch = { mergingList: [{ name: '1', $patch: 'delete' }, { name: '3', $patch: 'delete' }] };
  assert.deepEqual(smp(original, patch), { mergingList: [{ name: '2', value: 'a' }] });
});

test('empty merging list patch is a no-op', () => {
  assert.deepEqual(smp({ mergingList: [{ name: 'a' }] }, { mergingList: [] }), { mergingList: [{ name: 'a' }] });
  assert.deepEqual(smp({ mergingList: [] }, { mergingList: [] }), { mergingList: [] });
});

test('preserves the order from the patch in a merging list', () => {
  const original = { mergingList: [{ name: '1' }, { name: '2', value: 'b' }, { name: '3' }] };
  assert.deepEqual(
    smp(original, { mergingList: [{ name: '3', value: 'c' }, { name: '1', value: 'a' }, { name: '2', other: 'x' }] }),
    { mergingList: [{ name: '3', value: 'c' }, { name: '1', value: 'a' }, { name: '2', value: 'b', other: 'x' }] },
  );
  assert.deepEqual(
    smp(original, { mergingList: [{ name: '3', value: 'c' }, { name: '1', value: 'a' }] }),
    { mergingList: [{ name: '2', value: 'b' }, { name: '3', value: 'c' }, { name: '1', value: 'a' }] },
  );
});

test('preserves the order from the patch in a merging int list', () => {
  assert.deepEqual(smp({ mergingIntList: [1, 2, 3] }, { mergingIntList: [3, 1, 2] }), { mergingIntList: [3, 1, 2] });
  assert.deepEqual(smp({ mergingIntList: [1, 2, 3] }, { mergingIntList: [3, 1] }), { mergingIntList: [2, 3, 1] });
});

test('$setElementOrder naming items absent from the list', () => {
  assert.deepEqual(
    smp({ mergingList: [{ name: '1' }, { name: '3' }] }, {
      '$setElementOrder/mergingList': [{ name: '3' }, { name: '2' }, { name: '1' }],
      mergingList: [{ name: '3', value: '3' }, { name: '1', value: '1' }],
    }),
    { mergingList: [{ name: '3', value: '3' }, { name: '1', value: '1' }] },
  );
  assert.deepEqual(smp({ mergingIntList: [1, 3] }, { '$setElementOrder/mergingIntList': [3, 2, 1] }), { mergingIntList: [3, 1] });
});

test('$setElementOrder whose order disagrees with the patch list is refused', () => {
  assert.throws(
    () => smp({ mergingList: [{ name: '1' }, { name: '3' }] }, {
      '$setElementOrder/mergingList': [{ name: '1' }, { name: '3' }],
      mergingList: [{ name: '3', value: '3' }, { name: '1', value: '1' }],
    }),
    (e: unknown) => e instanceof StatusError && /doesn't match \$setElementOrder list/.test(e.message),
  );
});

test('$setElementOrder keeps server-only items in place', () => {
  const original = { mergingList: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] };
  const patch = { '$setElementOrder/mergingList': [{ name: 'c' }, { name: 'a' }], mergingList: [{ name: 'a', value: 'x' }] };
  // b is server-only: it stays before c, the first patch-ordered item it precedes in the live list.
  assert.deepEqual(smp(original, patch), { mergingList: [{ name: 'b' }, { name: 'c' }, { name: 'a', value: 'x' }] });
});

test('$retainKeys clears keys not listed and refuses patch keys not listed', () => {
  assert.deepEqual(
    smp({ retainKeysMap: { name: 'foo', value: 'a', other: 'z' } }, { retainKeysMap: { $retainKeys: ['name', 'value'], value: 'b' } }),
    { retainKeysMap: { name: 'foo', value: 'b' } },
  );
  assert.throws(
    () => smp({ retainKeysMap: { name: 'foo' } }, { retainKeysMap: { $retainKeys: ['name'], value: 'b' } }),
    (e: unknown) => e instanceof StatusError && e.code === 400 && e.message === 'Invalid patch format of retainKeys',
  );
  assert.throws(
    () => smp({ retainKeysMap: { name: 'foo' } }, { retainKeysMap: { $retainKeys: 'name' } }),
    (e: unknown) => e instanceof StatusError && e.code === 400,
  );
});

test('retainKeys strategy alone changes nothing without the directive', () => {
  assert.deepEqual(smp({ retainKeysMap: { name: 'foo', value: 'a' } }, { retainKeysMap: { value: null } }), { retainKeysMap: { name: 'foo' } });
  assert.deepEqual(smp({ retainKeysMap: { name: 'foo', value: 'a' } }, { retainKeysMap: {} }), { retainKeysMap: { name: 'foo', value: 'a' } });
});

test('non-merging lists are replaced, replace strategy maps are replaced', () => {
  assert.deepEqual(smp({ nonMergingList: [{ name: 'a' }, { name: 'b' }] }, { nonMergingList: [{ name: 'c' }] }), { nonMergingList: [{ name: 'c' }] });
  assert.deepEqual(smp({ nonMergingIntList: [1, 2] }, { nonMergingIntList: [3] }), { nonMergingIntList: [3] });
  assert.deepEqual(smp({ replacingItem: { a: 1, b: 2 } }, { replacingItem: { c: 3 } }), { replacingItem: { c: 3 } });
});

test('null deletes a field; unmatched nulls are ignored', () => {
  assert.deepEqual(smp({ name: 'a', value: 'b' }, { value: null, other: null }), { name: 'a' });
});

test('type change replaces the value', () => {
  assert.deepEqual(smp({ simpleMap: { a: 'b' } }, { simpleMap: 'x' }), { simpleMap: 'x' });
});

test('lists of lists are a 422, unknown directives a 500', () => {
  assert.throws(() => smp({ mergingIntList: [[1]] }, { mergingIntList: [[2]] }), (e: unknown) => e instanceof StatusError && e.code === 422 && e.reason === 'Invalid');
  assert.throws(() => smp({ simpleMap: { a: 'b' } }, { simpleMap: { $patch: 'bogus' } }), (e: unknown) => e instanceof StatusError && e.code === 500 && /unknown patch type: bogus/.test(e.message));
  assert.throws(() => smp({ mergingList: [{ name: 'a' }] }, { mergingList: [{ name: 'a', $patch: 'merge' }] }), /merging lists cannot yet be specified/);
  assert.throws(() => smp({ mergingList: [{ name: 'a' }] }, { mergingList: [{ value: 'x' }] }), /does not contain declared merge key: name/);
  assert.throws(() => smp({}, { '$deleteFromPrimitiveList': [1] }), (e: unknown) => e instanceof StatusError && e.code === 400 && e.message === 'Invalid patch format of primitive list');
});

test('inputs are not mutated', () => {
  const original = { mergingList: [{ name: 'a', value: '1' }], simpleMap: { x: 'y' } };
  const patch = { mergingList: [{ name: 'a', value: '2' }], simpleMap: { x: null }, '$setElementOrder/mergingList': [{ name: 'a' }] };
  const o = structuredClone(original);
  const p = structuredClone(patch);
  smp(original, patch);
  assert.deepEqual(original, o);
  assert.deepEqual(patch, p);
});

test('directives in values new to the object are resolved, not stored', () => {
  const out = smp({}, { mergingList: [{ name: 'a', $patch: 'delete' }, { name: 'b', simpleMap: { $patch: 'delete' }, value: null }], simpleMap: { $patch: 'replace', k: 'v' } });
  assert.deepEqual(out, { mergingList: [{ name: 'b', simpleMap: {} }], simpleMap: { k: 'v' } });
});

// ---- kubectl-style patches of a Deployment ----

test('change the image of one container by name', () => {
  const orig = deployment([{ name: 'nginx', image: 'nginx:1.0', ports: [{ containerPort: 80 }] }, { name: 'sidecar', image: 'busybox' }]);
  const out = smp(orig, { spec: { template: { spec: { containers: [{ name: 'nginx', image: 'nginx:1.1' }] } } } }, D) as any;
  assert.deepEqual(out.spec.template.spec.containers, [
    { name: 'nginx', image: 'nginx:1.1', ports: [{ containerPort: 80 }] },
    { name: 'sidecar', image: 'busybox' },
  ]);
  assert.equal(out.spec.replicas, 2);
  assert.deepEqual(out.metadata, orig.metadata);
});

test('add an env var to a container (new items lead, as upstream)', () => {
  const orig = deployment([{ name: 'app', image: 'x', env: [{ name: 'A', value: '1' }] }]);
  const out = smp(orig, { spec: { template: { spec: { containers: [{ name: 'app', env: [{ name: 'B', value: '2' }] }] } } } }, D) as any;
  assert.deepEqual(out.spec.template.spec.containers[0].env, [{ name: 'B', value: '2' }, { name: 'A', value: '1' }]);
  // kubectl sends $setElementOrder to keep its order:
  const out2 = smp(orig, {
    spec: { template: { spec: { containers: [{ name: 'app', '$setElementOrder/env': [{ name: 'A' }, { name: 'B' }], env: [{ name: 'B', value: '2' }] }], '$setElementOrder/containers': [{ name: 'app' }] } } },
  }, D) as any;
  assert.deepEqual(out2.spec.template.spec.containers[0].env, [{ name: 'A', value: '1' }, { name: 'B', value: '2' }]);
});

test('$patch: delete a container', () => {
  const orig = deployment([{ name: 'a', image: 'x' }, { name: 'b', image: 'y' }, { name: 'c', image: 'z' }]);
  const out = smp(orig, { spec: { template: { spec: { containers: [{ name: 'b', $patch: 'delete' }] } } } }, D) as any;
  assert.deepEqual(out.spec.template.spec.containers.map((c: any) => c.name), ['a', 'c']);
});

test('delete a finalizer with $deleteFromPrimitiveList, add one by union', () => {
  const orig = deployment([{ name: 'a' }]);
  const out = smp(orig, { metadata: { '$deleteFromPrimitiveList/finalizers': ['b'] } }, D) as any;
  assert.deepEqual(out.metadata.finalizers, ['a', 'c']);
  const out2 = smp(orig, { metadata: { finalizers: ['d', 'a'] } }, D) as any;
  assert.deepEqual(out2.metadata.finalizers, ['d', 'a', 'b', 'c']);
  const out3 = smp({ metadata: {} }, { metadata: { '$deleteFromPrimitiveList/finalizers': ['b'] } }, D) as any;
  assert.deepEqual(out3.metadata, {});
});

test('ports merge on containerPort (numbers)', () => {
  const orig = deployment([{ name: 'a', ports: [{ containerPort: 80, protocol: 'TCP' }, { containerPort: 443 }] }]);
  const out = smp(orig, { spec: { template: { spec: { containers: [{ name: 'a', ports: [{ containerPort: 443, protocol: 'TCP' }] }] } } } }, D) as any;
  assert.deepEqual(out.spec.template.spec.containers[0].ports, [{ containerPort: 80, protocol: 'TCP' }, { containerPort: 443, protocol: 'TCP' }]);
});

test('args (no strategy) are replaced; labels merge and null removes one', () => {
  const orig = deployment([{ name: 'a', args: ['x', 'y'] }]);
  const out = smp(orig, { metadata: { labels: { tier: 'front', app: null } }, spec: { template: { spec: { containers: [{ name: 'a', args: ['z'] }] } } } }, D) as any;
  assert.deepEqual(out.spec.template.spec.containers[0].args, ['z']);
  assert.deepEqual(out.metadata.labels, { tier: 'front' });
});

test('kubectl apply switching strategy to Recreate uses $retainKeys', () => {
  const orig = deployment([{ name: 'a' }]);
  const out = smp(orig, { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } }, D) as any;
  assert.deepEqual(out.spec.strategy, { type: 'Recreate' });
});

test('volumes with $retainKeys inside an item switch the volume source', () => {
  const orig = { spec: { template: { spec: { volumes: [{ name: 'v', emptyDir: {} }, { name: 'w', configMap: { name: 'c' } }] } } } };
  const out = smp(orig, { spec: { template: { spec: { volumes: [{ name: 'v', $retainKeys: ['name', 'hostPath'], hostPath: { path: '/tmp' } }] } } } }, D) as any;
  assert.deepEqual(out.spec.template.spec.volumes, [{ name: 'v', hostPath: { path: '/tmp' } }, { name: 'w', configMap: { name: 'c' } }]);
});

test('unknown root definition falls back to JSON merge patch', () => {
  const out = smp({ spec: { list: [1, 2], m: { a: 1 } } }, { spec: { list: [3], m: { b: 2, a: null } } }, 'example.com.v1.Widget');
  assert.deepEqual(out, { spec: { list: [3], m: { b: 2 } } });
});

// ---- against the generated definitions, when present ----

// Next to the source when run with tsx, or back in src/ when run from dist/.
const defsPath = ['../openapi/definitions.json', '../../../../src/api/openapi/definitions.json']
  .map((p) => fileURLToPath(new URL(p, import.meta.url)))
  .find((p) => existsSync(p)) ?? '';
test('real definitions: Pod and Deployment patches', { skip: !defsPath && 'definitions.json not generated yet' }, () => {
  const defs = JSON.parse(readFileSync(defsPath, 'utf8')) as Record<string, SchemaNode>;
  const pod = {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', finalizers: ['x', 'y'] },
    spec: { containers: [{ name: 'a', image: 'a:1', env: [{ name: 'E', value: '1' }] }, { name: 'b', image: 'b:1' }], tolerations: [{ key: 'k', operator: 'Exists' }] },
  };
  const out = applyStrategicMergePatch(pod, {
    metadata: { '$deleteFromPrimitiveList/finalizers': ['x'] },
    spec: { containers: [{ name: 'b', image: 'b:2' }, { name: 'a', env: [{ name: 'E', $patch: 'delete' }] }], tolerations: [{ key: 'z', operator: 'Exists' }] },
  }, defs, 'io.k8s.api.core.v1.Pod') as any;
  assert.deepEqual(out.metadata.finalizers, ['y']);
  assert.deepEqual(out.spec.containers, [{ name: 'b', image: 'b:2' }, { name: 'a', image: 'a:1', env: [] }]);
  assert.deepEqual(out.spec.tolerations, [{ key: 'z', operator: 'Exists' }]);

  const dep = deployment([{ name: 'nginx', image: 'nginx:1.0' }, { name: 'side', image: 's' }]);
  const out2 = applyStrategicMergePatch(dep, { spec: { template: { spec: { containers: [{ name: 'nginx', image: 'nginx:1.1' }] } } } }, defs, 'io.k8s.api.apps.v1.Deployment') as any;
  assert.deepEqual(out2.spec.template.spec.containers, [{ name: 'nginx', image: 'nginx:1.1' }, { name: 'side', image: 's' }]);
  const out3 = applyStrategicMergePatch(dep, { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } }, defs, 'io.k8s.api.apps.v1.Deployment') as any;
  assert.deepEqual(out3.spec.strategy, { type: 'Recreate' });
});

test('kubectl apply removing a container: $setElementOrder with a delete directive', () => {
  const orig = deployment([{ name: 'a', image: '1' }, { name: 'b', image: '2' }, { name: 'c', image: '3' }]);
  const out = smp(orig, {
    spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'a' }, { name: 'c' }], containers: [{ $patch: 'delete', name: 'b' }, { name: 'c', image: '4' }] } } },
  }, D) as any;
  assert.deepEqual(out.spec.template.spec.containers, [{ name: 'a', image: '1' }, { name: 'c', image: '4' }]);
});

test('ownerReferences merge on uid; $setElementOrder on a primitive list with deletions', () => {
  const orig = { metadata: { ownerReferences: [{ uid: '1', name: 'x' }], finalizers: ['a', 'b', 'c'] } };
  const out = smp(orig, {
    metadata: {
      ownerReferences: [{ uid: '2', name: 'y' }, { uid: '1', controller: true }],
      '$setElementOrder/finalizers': ['c', 'a', 'd'],
      '$deleteFromPrimitiveList/finalizers': ['b'],
      finalizers: ['d'],
    },
  }, D) as any;
  assert.deepEqual(out.metadata.ownerReferences, [{ uid: '2', name: 'y' }, { uid: '1', name: 'x', controller: true }]);
  assert.deepEqual(out.metadata.finalizers, ['c', 'a', 'd']);
});
