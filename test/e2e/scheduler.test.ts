// The scheduler with the real kubectl on 3 simulated nodes: spreading,
// FailedScheduling messages, nodeSelector and taints, preemption by
// PriorityClass, and pods for another scheduler left alone.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, eventually, type TestServer } from '../support/cluster.js';

let s: TestServer;
const nodes = ['k8ts-sim-0', 'k8ts-sim-1', 'k8ts-sim-2'];

interface PodView {
  metadata: { name: string; deletionTimestamp?: string };
  spec: { nodeName?: string };
  status: { phase?: string; conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

const pod = (name: string, extra: { cpu?: string; spec?: object; labels?: Record<string, string> } = {}) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: extra.labels ?? { test: 'sched' } },
    spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: 'registry.local/app:1', resources: { requests: { cpu: extra.cpu ?? '100m' } } }], ...extra.spec },
  });

async function getPod(name: string): Promise<PodView> {
  return JSON.parse(await s.k(['get', 'pod', name, '-o', 'json']));
}

async function pods(selector: string): Promise<PodView[]> {
  return JSON.parse(await s.k(['get', 'pods', '-l', selector, '-o', 'json'])).items;
}

before(async () => {
  s = await startServer({ args: ['--simulated-nodes', '3'] });
  await eventually(async () => (await s.k('get nodes -o name')).trim().split('\n').length === 3, 20_000, '3 simulated nodes');
});
after(async () => {
  await s?.stop();
});

describe('scheduler', () => {
  it('spreads pods over the nodes and records Scheduled events', async () => {
    for (let i = 0; i < 6; i++) await s.k(['apply', '-f', '-'], pod(`spread-${i}`, { labels: { test: 'spread' } }));
    const placed = await eventually(async () => {
      const ps = await pods('test=spread');
      return ps.length === 6 && ps.every((p) => p.spec.nodeName) && ps;
    }, 15_000, 'all 6 pods bound');
    const per = new Map<string, number>();
    for (const p of placed) per.set(p.spec.nodeName!, (per.get(p.spec.nodeName!) ?? 0) + 1);
    assert.deepEqual([...per.keys()].sort(), nodes, `every node gets pods: ${JSON.stringify([...per])}`);
    for (const n of per.values()) assert.equal(n, 2, `even spread: ${JSON.stringify([...per])}`);
    const ev = await eventually(async () => {
      const d = await s.k('describe pod spread-0');
      return /Normal\s+Scheduled\s+.*default-scheduler\s+Successfully assigned default\/spread-0 to k8ts-sim-\d/.test(d) && d;
    }, 10_000, 'Scheduled event');
    assert.ok(ev);
  });

  it('a pod requesting too much cpu shows FailedScheduling with upstream\'s message', async () => {
    await s.k(['apply', '-f', '-'], pod('huge', { cpu: '5' }));
    const d = await eventually(async () => {
      const out = await s.k('describe pod huge');
      return /FailedScheduling/.test(out) && out;
    }, 15_000, 'FailedScheduling event');
    assert.match(d, /Warning\s+FailedScheduling\s+.*default-scheduler\s+0\/3 nodes are available: 3 Insufficient cpu\. preemption: 0\/3 nodes are available: 3 No preemption victims found for incoming pod\./);
    const p = await getPod('huge');
    assert.equal(p.spec.nodeName, undefined);
    const cond = p.status.conditions?.find((c) => c.type === 'PodScheduled');
    assert.equal(cond?.status, 'False');
    assert.equal(cond?.reason, 'Unschedulable');
    assert.match(cond?.message ?? '', /^0\/3 nodes are available: 3 Insufficient cpu\./);
    await s.k('delete pod huge --wait=false');
  });

  it('respects nodeSelector and taints', async () => {
    await s.k('label node k8ts-sim-1 disk=ssd');
    await s.k('taint node k8ts-sim-2 dedicated=infra:NoSchedule');
    for (let i = 0; i < 3; i++) await s.k(['apply', '-f', '-'], pod(`ssd-${i}`, { labels: { test: 'ssd' }, spec: { nodeSelector: { disk: 'ssd' } } }));
    for (let i = 0; i < 4; i++) await s.k(['apply', '-f', '-'], pod(`plain-${i}`, { labels: { test: 'plain' } }));
    await s.k(['apply', '-f', '-'], pod('tolerant', { labels: { test: 'tolerant' }, spec: { nodeSelector: { 'kubernetes.io/hostname': 'k8ts-sim-2' }, tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'infra', effect: 'NoSchedule' }] } }));
    await s.k(['apply', '-f', '-'], pod('intolerant', { labels: { test: 'intolerant' }, spec: { nodeSelector: { 'kubernetes.io/hostname': 'k8ts-sim-2' } } }));
    await eventually(async () => (await pods('test in (ssd,plain,tolerant)')).every((p) => p.spec.nodeName), 15_000, 'pods bound');
    for (const p of await pods('test=ssd')) assert.equal(p.spec.nodeName, 'k8ts-sim-1');
    for (const p of await pods('test=plain')) assert.notEqual(p.spec.nodeName, 'k8ts-sim-2', 'untolerated taint avoided');
    assert.equal((await getPod('tolerant')).spec.nodeName, 'k8ts-sim-2');
    const d = await eventually(async () => {
      const out = await s.k('describe pod intolerant');
      return /FailedScheduling/.test(out) && out;
    }, 15_000, 'FailedScheduling for the intolerant pod');
    assert.match(d, /0\/3 nodes are available: 1 node\(s\) had untolerated taint \{dedicated: infra\}, 2 node\(s\) didn't match Pod's node affinity\/selector\. preemption: 0\/3 nodes are available: 3 Preemption is not helpful for scheduling\./);
    await s.k('taint node k8ts-sim-2 dedicated-');
    // removing the taint is a cluster event that brings the pod back
    await eventually(async () => (await getPod('intolerant')).spec.nodeName === 'k8ts-sim-2', 15_000, 'pod scheduled after the taint is removed');
  });

  it('leaves pods for another scheduler Pending', async () => {
    await s.k(['apply', '-f', '-'], pod('elsewhere', { spec: { schedulerName: 'other' } }));
    await new Promise((r) => setTimeout(r, 2000));
    const p = await getPod('elsewhere');
    assert.equal(p.spec.nodeName, undefined);
    assert.equal(p.status.phase, 'Pending');
    assert.doesNotMatch(await s.k('describe pod elsewhere'), /FailedScheduling|Scheduled/);
  });

  it('a high-priority pod preempts lower-priority ones when the nodes are full', async () => {
    await s.k('delete pods -l test --wait=false');
    await eventually(async () => (await pods('test')).length === 0, 20_000, 'earlier pods gone');
    for (const n of nodes) await s.k(['apply', '-f', '-'], pod(`low-${n}`, { cpu: '3', labels: { test: 'low' } }));
    await eventually(async () => (await pods('test=low')).every((p) => p.spec.nodeName), 15_000, 'low pods bound');
    const placed = new Set((await pods('test=low')).map((p) => p.spec.nodeName));
    assert.equal(placed.size, 3, 'one 3-cpu pod per node');
    await s.k(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'high' }, value: 1000000 }));
    await s.k(['apply', '-f', '-'], pod('vip', { cpu: '3', labels: { test: 'vip' }, spec: { priorityClassName: 'high' } }));
    const vip = await eventually(async () => {
      const p = await getPod('vip');
      return p.spec.nodeName ? p : undefined;
    }, 30_000, 'vip bound after preemption');
    const lows = await pods('test=low');
    const survivors = lows.filter((p) => !p.metadata.deletionTimestamp);
    assert.equal(survivors.length, 2, 'exactly one victim');
    assert.ok(!survivors.some((p) => p.spec.nodeName === vip.spec.nodeName), 'the victim was on the vip\'s node');
    const d = await s.k('describe pod vip');
    assert.match(d, /Successfully assigned default\/vip to k8ts-sim-\d/);
  });
});
