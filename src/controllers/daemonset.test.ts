import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newDaemonPod, nodeMatchesPod, nodeShouldRunDaemonPod, targetNode } from './daemonset.js';

const node = (name: string, labels: Record<string, string> = {}, taints: object[] = []) => ({ metadata: { name, labels }, spec: { taints } });
const ds = (spec: object = {}) => ({
  apiVersion: 'apps/v1', kind: 'DaemonSet',
  metadata: { name: 'agent', namespace: 'default', uid: 'u1', generation: 2 },
  spec: { selector: { matchLabels: { app: 'a' } }, template: { metadata: { labels: { app: 'a' } }, spec: { containers: [{ name: 'c', image: 'i' }], ...spec } } },
});

test('nodeSelector and required node affinity, including matchFields on metadata.name', () => {
  const n = node('n1', { zone: 'a', size: '5' });
  assert.ok(nodeMatchesPod({ nodeSelector: { zone: 'a' } }, n));
  assert.ok(!nodeMatchesPod({ nodeSelector: { zone: 'b' } }, n));
  const aff = (terms: object[]) => ({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } } });
  assert.ok(nodeMatchesPod(aff([{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['x'] }] }, { matchExpressions: [{ key: 'size', operator: 'Gt', values: ['3'] }] }]), n));
  assert.ok(!nodeMatchesPod(aff([{ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }]), n));
  assert.ok(nodeMatchesPod(aff([{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }]), n));
  assert.ok(!nodeMatchesPod(aff([{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n2'] }] }]), n));
  assert.ok(!nodeMatchesPod(aff([{}]), n)); // an empty term matches nothing
});

test('taints: NoSchedule blocks new pods only, NoExecute removes them; automatic tolerations apply', () => {
  assert.deepEqual(nodeShouldRunDaemonPod(node('n'), ds()), { shouldRun: true, shouldContinueRunning: true });
  assert.deepEqual(nodeShouldRunDaemonPod(node('n', {}, [{ key: 'x', effect: 'NoSchedule' }]), ds()), { shouldRun: false, shouldContinueRunning: true });
  assert.deepEqual(nodeShouldRunDaemonPod(node('n', {}, [{ key: 'x', effect: 'NoExecute' }]), ds()), { shouldRun: false, shouldContinueRunning: false });
  assert.deepEqual(nodeShouldRunDaemonPod(node('n', {}, [{ key: 'x', effect: 'NoExecute' }]), ds({ tolerations: [{ key: 'x', operator: 'Exists' }] })), { shouldRun: true, shouldContinueRunning: true });
  // cordoned / not-ready nodes still run daemon pods
  const cordoned = node('n', {}, [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }, { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }]);
  assert.equal(nodeShouldRunDaemonPod(cordoned, ds()).shouldRun, true);
  // network-unavailable is tolerated only with hostNetwork
  const net = node('n', {}, [{ key: 'node.kubernetes.io/network-unavailable', effect: 'NoSchedule' }]);
  assert.equal(nodeShouldRunDaemonPod(net, ds()).shouldRun, false);
  assert.equal(nodeShouldRunDaemonPod(net, ds({ hostNetwork: true })).shouldRun, true);
  // nodeName in the template pins the set to one node
  assert.equal(nodeShouldRunDaemonPod(node('other'), ds({ nodeName: 'n' })).shouldRun, false);
});

test('daemon pods are pinned by node affinity and carry tolerations and labels', () => {
  const set = ds({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'Exists' }] }] }, preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, preference: { matchExpressions: [{ key: 'z', operator: 'Exists' }] } }] } } });
  const pod = newDaemonPod(set, 'n7', 'abc');
  assert.equal(pod.metadata!.generateName, 'agent-');
  assert.deepEqual(pod.metadata!.labels, { app: 'a', 'controller-revision-hash': 'abc', 'pod-template-generation': '2' });
  assert.deepEqual(pod.metadata!.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agent', uid: 'u1', controller: true, blockOwnerDeletion: true }]);
  assert.deepEqual(pod.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution, { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n7'] }] }] });
  assert.equal(pod.spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution.length, 1);
  const keys = pod.spec.tolerations.map((t: { key: string; effect: string }) => `${t.key}:${t.effect}`);
  assert.deepEqual(keys, ['node.kubernetes.io/not-ready:NoExecute', 'node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/disk-pressure:NoSchedule', 'node.kubernetes.io/memory-pressure:NoSchedule', 'node.kubernetes.io/pid-pressure:NoSchedule', 'node.kubernetes.io/unschedulable:NoSchedule']);
  assert.ok(pod.spec.tolerations.every((t: { tolerationSeconds?: number }) => t.tolerationSeconds === undefined));
  assert.equal(targetNode(pod), 'n7');
  assert.equal(targetNode({ ...pod, spec: { ...pod.spec, nodeName: 'n8' } }), 'n8');
  // the template is not modified
  assert.equal((set.spec.template.spec as { tolerations?: unknown }).tolerations, undefined);
});
