import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../api/kind.js';
import {
  equalIgnoreHash, maxSurge, maxUnavailable, newRSNewReplicas, oldReplicaSetsScaleDown, podTemplateHash, proportionalSizes,
  resolveFenceposts, resolveIntOrPercent, safeEncodeString, setCondition, setNewReplicaSetAnnotations, newCondition,
} from './deployment.js';

const dep = (replicas: number, surge: number | string = '25%', unavailable: number | string = '25%', type = 'RollingUpdate'): any => ({
  metadata: { name: 'web', generation: 1, annotations: {} },
  spec: { replicas, strategy: type === 'RollingUpdate' ? { type, rollingUpdate: { maxSurge: surge, maxUnavailable: unavailable } } : { type } },
  status: {},
});
let seq = 0;
const rs = (replicas: number, available = replicas, ann: Record<string, string> = {}): any => ({
  metadata: { name: `rs${seq}`, uid: `u${seq}`, creationTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, seq++)).toISOString(), annotations: ann },
  spec: { replicas },
  status: { replicas, availableReplicas: available },
});
const avail = (r: KubeObject) => r.status.availableReplicas;

test('int-or-percent: surge rounds up, unavailable rounds down', () => {
  assert.equal(resolveIntOrPercent('25%', 6, true), 2);
  assert.equal(resolveIntOrPercent('25%', 6, false), 1);
  assert.equal(resolveIntOrPercent(3, 6, false), 3);
  assert.equal(resolveIntOrPercent('0%', 6, true), 0);
  assert.deepEqual(resolveFenceposts(dep(6)), { surge: 2, unavailable: 1 });
  assert.deepEqual(resolveFenceposts(dep(1)), { surge: 1, unavailable: 0 });
  // both zero would never progress: unavailable becomes 1
  assert.deepEqual(resolveFenceposts(dep(3, '10%', '10%')), { surge: 1, unavailable: 0 });
  assert.deepEqual(resolveFenceposts(dep(3, 0, '10%')), { surge: 0, unavailable: 1 });
  assert.equal(maxUnavailable(dep(2, 0, 5)), 2, 'capped at replicas');
  assert.equal(maxUnavailable(dep(0)), 0);
  assert.equal(maxSurge(dep(6, 2, 1, 'Recreate')), 0);
  assert.equal(maxUnavailable(dep(6, 2, 1, 'Recreate')), 0);
});

test('new RS scales up within replicas+maxSurge', () => {
  const d = dep(6);
  const old = rs(6);
  const n = rs(0);
  assert.equal(newRSNewReplicas(d, [old, n], n), 2);
  n.spec.replicas = 2;
  assert.equal(newRSNewReplicas(d, [old, n], n), 2, 'at 8 pods: no more');
  old.spec.replicas = 5;
  assert.equal(newRSNewReplicas(d, [old, n], n), 3);
  // pods of the old RS not gone yet still count
  assert.equal(newRSNewReplicas(d, [old, n], n, (r) => (r === old ? 6 : 0)), 2);
  // never above replicas
  old.spec.replicas = 0;
  n.spec.replicas = 5;
  assert.equal(newRSNewReplicas(d, [old, n], n), 6);
  assert.equal(newRSNewReplicas(dep(6, 2, 1, 'Recreate'), [old, n], n), 6);
});

test('old RSes scale down keeping replicas-maxUnavailable available', () => {
  const d = dep(6); // surge 2, unavailable 1 → keep 5 available
  let old = rs(6);
  let n = rs(2, 0);
  assert.deepEqual([...oldReplicaSetsScaleDown(d, [old], n, avail).values()], [5]);
  n = rs(2, 2);
  assert.deepEqual([...oldReplicaSetsScaleDown(d, [old], n, avail).values()], [3]);
  // unhealthy old replicas go first, and then nothing available may go
  old = rs(6, 4);
  n = rs(2, 0);
  assert.deepEqual([...oldReplicaSetsScaleDown(d, [old], n, avail).values()], [5]);
  // nothing to do while the new pods are not available and we are at the floor
  old = rs(5);
  n = rs(3, 0);
  assert.equal(oldReplicaSetsScaleDown(d, [old], n, avail).size, 0);
  // oldest first across several old RSes
  const o1 = rs(2);
  const o2 = rs(4);
  n = rs(2, 2);
  const plan = oldReplicaSetsScaleDown(d, [o2, o1], n, avail);
  assert.equal(plan.get(o1), 0);
  assert.equal(plan.get(o2), 3);
});

test('proportional scaling mid-rollout', () => {
  const ann = { 'deployment.kubernetes.io/max-replicas': '13', 'deployment.kubernetes.io/desired-replicas': '10' };
  const old = rs(8, 8, ann);
  const n = rs(5, 0, ann);
  // 10 → 20: allowed 25 (surge 5): 8*25/13 ≈ 15, 5*25/13 ≈ 10
  let { sizes, operation } = proportionalSizes(dep(20), [old, n]);
  assert.equal(operation, 'up');
  assert.equal(sizes.get(old), 15);
  assert.equal(sizes.get(n), 10);
  // 10 → 5: allowed 7 (surge 2): 8*7/13 ≈ 4, 5*7/13 ≈ 3
  ({ sizes, operation } = proportionalSizes(dep(5), [old, n]));
  assert.equal(operation, 'down');
  assert.equal(sizes.get(old), 4);
  assert.equal(sizes.get(n), 3);
  // to zero: everything goes
  ({ sizes } = proportionalSizes(dep(0), [old, n]));
  assert.equal(sizes.get(old), 0);
  assert.equal(sizes.get(n), 0);
  // leftovers go to the largest RS so the total is exact
  const a = rs(3, 3, { 'deployment.kubernetes.io/max-replicas': '4' });
  const b = rs(1, 0, { 'deployment.kubernetes.io/max-replicas': '4' });
  ({ sizes } = proportionalSizes(dep(6, 1, 0), [a, b])); // allowed 7, add 3
  assert.equal(sizes.get(a)! + sizes.get(b)!, 7);
});

test('pod-template-hash: stable, safe alphabet, collision count perturbs, semantic equality', () => {
  const t1 = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.27', resources: {} }] } };
  const t2: any = { spec: { containers: [{ resources: {}, image: 'nginx:1.27', name: 'nginx' }] }, metadata: { creationTimestamp: null, labels: { app: 'web' } } };
  const h = podTemplateHash(t1);
  assert.match(h, /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
  assert.equal(podTemplateHash(t2), h);
  assert.notEqual(podTemplateHash(t1, 1), h);
  assert.notEqual(podTemplateHash({ ...t1, spec: { containers: [{ name: 'nginx', image: 'nginx:1.28' }] } }), h);
  assert.equal(safeEncodeString('0123456789'), '456789bcdf');
  const withHash = { ...t1, metadata: { labels: { app: 'web', 'pod-template-hash': h } } };
  assert.ok(equalIgnoreHash(withHash, t2));
  assert.ok(!equalIgnoreHash(withHash, { ...t1, metadata: { labels: { app: 'other' } } }));
});

test('RS annotations: copied from the deployment, revision bumps keep history', () => {
  const d = dep(3);
  d.metadata.annotations = { 'kubernetes.io/change-cause': 'v2', 'kubectl.kubernetes.io/last-applied-configuration': '{}', 'deployment.kubernetes.io/revision': '9' };
  const r = rs(0);
  assert.ok(setNewReplicaSetAnnotations(d, r, 1, false));
  assert.deepEqual(r.metadata.annotations, {
    'kubernetes.io/change-cause': 'v2', 'deployment.kubernetes.io/revision': '1',
    'deployment.kubernetes.io/desired-replicas': '3', 'deployment.kubernetes.io/max-replicas': '4',
  });
  assert.ok(!setNewReplicaSetAnnotations(d, r, 1, true), 'nothing new');
  assert.ok(setNewReplicaSetAnnotations(d, r, 3, true));
  assert.equal(r.metadata.annotations['deployment.kubernetes.io/revision'], '3');
  assert.equal(r.metadata.annotations['deployment.kubernetes.io/revision-history'], '1');
  setNewReplicaSetAnnotations(d, r, 5, true);
  assert.equal(r.metadata.annotations['deployment.kubernetes.io/revision-history'], '1,3');
  assert.ok(!setNewReplicaSetAnnotations(d, r, 4, true), 'a smaller revision never replaces a larger one');
});

test('conditions: same status and reason is no change; same status keeps the transition time', () => {
  const st: KubeObject = {};
  const a = newCondition('Progressing', 'True', 'NewReplicaSetCreated', 'x');
  a.lastTransitionTime = '2020-01-01T00:00:00Z';
  setCondition(st, a);
  setCondition(st, newCondition('Progressing', 'True', 'NewReplicaSetCreated', 'y'));
  assert.equal(st.conditions[0].message, 'x');
  setCondition(st, newCondition('Progressing', 'True', 'ReplicaSetUpdated', 'z'));
  assert.equal(st.conditions[0].reason, 'ReplicaSetUpdated');
  assert.equal(st.conditions[0].lastTransitionTime, '2020-01-01T00:00:00Z');
  setCondition(st, newCondition('Progressing', 'False', 'ProgressDeadlineExceeded', 'w'));
  assert.notEqual(st.conditions[0].lastTransitionTime, '2020-01-01T00:00:00Z');
  assert.equal(st.conditions.length, 1);
});
