import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { Code, FitError, Framework, numFeasibleNodesToFind, unschedulable, type Handle } from '../framework.js';
import { MatchCounter } from '../matchCounter.js';
import { NodeInfo } from '../nodeInfo.js';
import { newPodInfo, type PodInfo } from '../podInfo.js';
import { podRequests } from '../resources.js';
import { defaultPlugins } from './index.js';
import { selectVictims, pickCandidate } from '../preemption.js';

const mkNode = (name: string, opts: { cpu?: string; labels?: Record<string, string>; taints?: NonNullable<Node['spec']>['taints']; unschedulable?: boolean; pods?: string } = {}): NodeInfo => {
  const n = new NodeInfo(name);
  n.setNode({ metadata: { name, labels: { 'kubernetes.io/hostname': name, ...opts.labels } }, spec: { taints: opts.taints, unschedulable: opts.unschedulable }, status: { allocatable: { cpu: opts.cpu ?? '4', memory: '16Gi', pods: opts.pods ?? '110' } } });
  return n;
};

let seq = 0;
const mkPod = (spec: Partial<Pod['spec']> = {}, meta: Partial<Pod['metadata']> = {}): Pod => ({
  metadata: { name: `p${++seq}`, namespace: 'default', uid: `u${seq}`, ...meta },
  spec: { containers: [{ name: 'c', resources: { requests: { cpu: '1', memory: '1Gi' } } }], ...spec },
});

function setup(nodes: NodeInfo[]) {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const placed = () => nodes.flatMap((n) => [...n.podsWithAffinity.values()].map((pod) => ({ pod, node: n })));
  const handle: Handle = {
    nodes: () => nodes,
    node: (n) => byName.get(n),
    namespaceLabels: () => ({}),
    defaultSelectors: () => [],
    pvcExists: (_ns, name) => name === 'there',
    affinityPods: placed,
    counter: new MatchCounter(),
  };
  const fwk = new Framework(defaultPlugins(handle), handle);
  /** node name -> failure message (or 'ok') */
  const filter = (pod: Pod): Record<string, any> => {
    const info = newPodInfo(pod);
    const state = new Map();
    const pre = fwk.runPreFilter(state, info);
    if (pre.status) return { pre: pre.status.message, code: pre.status.code };
    const filters = fwk.filters.filter((p) => !pre.skipped.has(p.name));
    return Object.fromEntries(nodes.map((n) => [n.name, fwk.runFilter(state, info, n, filters)?.message ?? 'ok']));
  };
  const place = (node: NodeInfo, pod: Pod) => {
    pod.spec!.nodeName = node.name;
    node.addPod(newPodInfo(pod));
  };
  return { fwk, filter, place, handle };
}

test('pod requests: max of init containers vs containers, sidecars add up, overhead on top', () => {
  const pod: Pod = {
    spec: {
      overhead: { cpu: '100m' },
      initContainers: [
        { name: 'side', restartPolicy: 'Always', resources: { requests: { cpu: '200m' } } },
        { name: 'init', resources: { requests: { cpu: '2', memory: '1Gi' } } },
      ],
      containers: [{ name: 'a', resources: { requests: { cpu: '500m', memory: '2Gi' } } }, { name: 'b', resources: { requests: { cpu: '500m' } } }],
    },
  };
  const r = podRequests(pod);
  // init step: 2 + sidecar 0.2 = 2.2 > containers 1 + sidecar 0.2; plus overhead 0.1
  assert.equal(r.milliCPU, 2300);
  assert.equal(r.memory, 2 * 2 ** 30);
  assert.equal(r.pods, 1);
  assert.equal(podRequests({ spec: { containers: [{ name: 'x' }] } }, true).milliCPU, 100, 'non-zero default for scoring');
});

test('NodeResourcesFit: Insufficient cpu / memory and Too many pods', () => {
  const a = mkNode('a', { cpu: '2' });
  const b = mkNode('b', { pods: '1' });
  const { filter, place } = setup([a, b]);
  place(b, mkPod());
  const r = filter(mkPod({ containers: [{ name: 'c', resources: { requests: { cpu: '3', memory: '20Gi' } } }] }));
  assert.deepEqual(r, { a: 'Insufficient cpu, Insufficient memory', b: 'Too many pods, Insufficient memory' });
  assert.deepEqual(filter(mkPod()), { a: 'ok', b: 'Too many pods' });
});

test('taints, tolerations, cordoned nodes and nodeName', () => {
  const t = mkNode('t', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] });
  const p = mkNode('p', { taints: [{ key: 'soft', effect: 'PreferNoSchedule' }] });
  const c = mkNode('c', { unschedulable: true });
  const { filter } = setup([t, p, c]);
  assert.deepEqual(filter(mkPod()), { t: 'node(s) had untolerated taint {dedicated: gpu}', p: 'ok', c: 'node(s) were unschedulable' });
  assert.deepEqual(filter(mkPod({ tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }] })).t, 'ok');
  assert.deepEqual(filter(mkPod({ tolerations: [{ operator: 'Exists' }] })), { t: 'ok', p: 'ok', c: 'ok' });
  // NodeName runs before TaintToleration, like upstream's plugin order
  assert.deepEqual(filter(mkPod({ nodeName: 'p' })), { t: "node(s) didn't match the requested node name", p: 'ok', c: 'node(s) were unschedulable' });
});

test('nodeSelector and required/preferred node affinity', () => {
  const a = mkNode('a', { labels: { disk: 'ssd', gen: '5' } });
  const b = mkNode('b', { labels: { disk: 'hdd', gen: '3' } });
  const { filter, fwk } = setup([a, b]);
  const miss = "node(s) didn't match Pod's node affinity/selector";
  assert.deepEqual(filter(mkPod({ nodeSelector: { disk: 'ssd' } })), { a: 'ok', b: miss });
  const aff = (op: string, values?: string[]) => mkPod({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'gen', operator: op, values }] }] } } } });
  assert.deepEqual(filter(aff('Gt', ['4'])), { a: 'ok', b: miss });
  assert.deepEqual(filter(aff('NotIn', ['5'])), { a: miss, b: 'ok' });
  assert.deepEqual(filter(aff('DoesNotExist')), { a: miss, b: miss });
  const pref = newPodInfo(mkPod({ affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, preference: { matchExpressions: [{ key: 'disk', operator: 'In', values: ['hdd'] }] } }] } } }));
  const scores = fwk.runScore(new Map(), pref, [a, b]);
  assert.ok(scores[1] > scores[0], `preferred node scores higher: ${scores}`);
});

test('NodePorts: a used host port conflicts on the same protocol', () => {
  const a = mkNode('a');
  const b = mkNode('b');
  const { filter, place } = setup([a, b]);
  place(a, mkPod({ containers: [{ name: 'c', ports: [{ containerPort: 80, hostPort: 8080 }] }] }));
  assert.deepEqual(filter(mkPod({ containers: [{ name: 'c', ports: [{ containerPort: 80, hostPort: 8080 }] }] })), { a: "node(s) didn't have free ports for the requested pod ports", b: 'ok' });
  assert.deepEqual(filter(mkPod({ containers: [{ name: 'c', ports: [{ containerPort: 80, hostPort: 8080, protocol: 'UDP' }] }] })), { a: 'ok', b: 'ok' });
});

test('LeastAllocated and BalancedAllocation prefer the emptier node', () => {
  const a = mkNode('a');
  const b = mkNode('b');
  const { fwk, place } = setup([a, b]);
  place(a, mkPod({ containers: [{ name: 'c', resources: { requests: { cpu: '3', memory: '1Gi' } } }] }));
  const scores = fwk.runScore(new Map(), newPodInfo(mkPod()), [a, b]);
  assert.ok(scores[1] > scores[0], `${scores}`);
});

test('PodTopologySpread DoNotSchedule keeps skew within maxSkew', () => {
  const nodes = ['a', 'b', 'c'].map((n) => mkNode(n, { labels: { zone: n === 'c' ? 'z2' : 'z1' } }));
  const { filter, place } = setup(nodes);
  const app = { labels: { app: 'web' } };
  place(nodes[0], mkPod({}, app));
  place(nodes[1], mkPod({}, app));
  const spread = mkPod({ topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'web' } } }] }, app);
  const skew = "node(s) didn't match pod topology spread constraints";
  assert.deepEqual(filter(spread), { a: skew, b: skew, c: 'ok' });
  const missing = mkPod({ topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'rack', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'web' } } }] }, app);
  assert.equal(filter(missing).a, "node(s) didn't match pod topology spread constraints (missing required label)");
});

test('InterPodAffinity: required affinity, anti-affinity and existing pods\' anti-affinity', () => {
  const nodes = ['a', 'b'].map((n) => mkNode(n));
  const { filter, place } = setup(nodes);
  place(nodes[0], mkPod({}, { labels: { app: 'db' } }));
  const term = (app: string) => [{ labelSelector: { matchLabels: { app } }, topologyKey: 'kubernetes.io/hostname' }];
  assert.deepEqual(filter(mkPod({ affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: term('db') } } })), { a: 'ok', b: "node(s) didn't match pod affinity rules" });
  assert.deepEqual(filter(mkPod({ affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: term('db') } } })), { a: "node(s) didn't match pod anti-affinity rules", b: 'ok' });
  // the first pod of a group with affinity to itself may go anywhere
  assert.deepEqual(filter(mkPod({ affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: term('cache') } } }, { labels: { app: 'cache' } })), { a: 'ok', b: 'ok' });
  place(nodes[1], mkPod({ affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: term('web') } } }, { labels: { app: 'lonely' } }));
  assert.deepEqual(filter(mkPod({}, { labels: { app: 'web' } })), { a: 'ok', b: "node(s) didn't satisfy existing pods anti-affinity rules" });
});

test('VolumeBinding: a missing PVC fails PreFilter as unresolvable', () => {
  const { filter } = setup([mkNode('a')]);
  assert.deepEqual(filter(mkPod({ volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'gone' } }] })), { pre: 'persistentvolumeclaim "gone" not found', code: Code.UnschedulableAndUnresolvable });
  assert.deepEqual(filter(mkPod({ volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'there' } }] })), { a: 'ok' });
});

test('FitError formats upstream\'s message', () => {
  const st = new Map([['a', unschedulable('Insufficient cpu')], ['b', unschedulable('Insufficient cpu')], ['c', unschedulable('Insufficient cpu', 'Too many pods')]]);
  const e = new FitError(3, st, '', 'preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.');
  // reasons sort as strings, counts included, like upstream
  assert.equal(e.message, '0/3 nodes are available: 1 Too many pods, 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.');
  assert.equal(new FitError(3, new Map(), 'persistentvolumeclaim "x" not found').message, '0/3 nodes are available: persistentvolumeclaim "x" not found.');
});

test('percentageOfNodesToScore: adaptive default', () => {
  assert.equal(numFeasibleNodesToFind(50), 50);
  assert.equal(numFeasibleNodesToFind(500), 230); // 46%
  assert.equal(numFeasibleNodesToFind(5000), 500); // 10%
  assert.equal(numFeasibleNodesToFind(100_000), 5000); // 5% floor
  assert.equal(numFeasibleNodesToFind(1000, 1), 100); // never below 100
  assert.equal(numFeasibleNodesToFind(1000, 100), 1000);
});

test('preemption picks the fewest, lowest-priority victims', () => {
  const a = mkNode('a');
  const b = mkNode('b');
  const { fwk, place } = setup([a, b]);
  const req = (cpu: string, priority: number) => mkPod({ priority, containers: [{ name: 'c', resources: { requests: { cpu } } }] });
  place(a, req('2', 10));
  place(a, req('2', 10));
  place(b, req('2', 5));
  place(b, req('1', 500));
  place(b, req('1', 5));
  const vip: PodInfo = newPodInfo(req('2', 100));
  const state = new Map();
  assert.equal(fwk.runPreFilter(state, vip).status, null);
  const va = selectVictims(fwk, state, vip, a, fwk.filters)!;
  const vb = selectVictims(fwk, state, vip, b, fwk.filters)!;
  assert.equal(va.length, 1);
  assert.equal(vb.length, 1, 'one 2-cpu victim suffices; the 1-cpu one is reprieved');
  assert.equal(vb[0].priority, 5);
  assert.equal(pickCandidate([{ node: a, victims: va }, { node: b, victims: vb }])?.node.name, 'b');
  assert.equal(selectVictims(fwk, new Map(), newPodInfo(req('3', 1)), a, fwk.filters), undefined, 'no lower-priority pods');
});
