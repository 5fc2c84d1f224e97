// Simulated nodes and the node controllers, driven by the real kubectl:
// registration, node IPAM, pods running on simulated nodes, heartbeat faults →
// Unknown + unreachable taint + taint-based eviction, recovery, and pods that
// run to completion.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, eventually, type TestServer } from '../support/cluster.js';

let s: TestServer;

before(async () => {
  // heartbeats well inside the 4s grace period (the kubelet's 10s would flap)
  process.env.K8TS_SIMULATOR_HEARTBEAT_MS = '500';
  s = await startServer({
    args: ['--simulated-nodes', '3', '--node-monitor-grace-period', '4s', '--default-not-ready-toleration-seconds', '3', '--default-unreachable-toleration-seconds', '3'],
  });
});
after(async () => {
  await s?.stop();
});

const json = async (args: string) => JSON.parse(await s.k(`${args} -o json`));

function inCidr(ip: string, cidr: string): boolean {
  const num = (a: string) => a.split('.').reduce((n, x) => n * 256 + Number(x), 0);
  const [base, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  return Math.floor(num(ip) / size) === Math.floor(num(base) / size);
}

// explicit tolerations, in case DefaultTolerationSeconds admission is not wired
const tolerations = `
  tolerations:
  - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 3}
  - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 3}`;

const pod = (name: string, node: string, extra = '', annotations = '') => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  annotations: {${annotations}}
spec:
  nodeName: ${node}${tolerations}
  containers: [{name: c, image: nginx:1.27}]
${extra}`;

describe('simulated nodes', () => {
  it('registers 3 Ready nodes with upstream columns and distinct pod CIDRs', async () => {
    const out = await eventually(async () => {
      const o = await s.k('get nodes');
      return (o.match(/\sReady\s/g) ?? []).length === 3 ? o : undefined;
    }, 15_000, '3 Ready nodes');
    assert.match(out, /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\s*$/m);
    for (let i = 0; i < 3; i++) assert.match(out, new RegExp(`^k8ts-sim-${i}\\s+Ready\\s+<none>\\s+\\S+\\s+v1\\.32\\.0-k8ts`, 'm'));
    const nodes = await eventually(async () => {
      const l = await json('get nodes');
      return l.items.every((n: any) => n.spec.podCIDR) ? l.items : undefined;
    }, 10_000, 'pod CIDRs');
    const cidrs = nodes.map((n: any) => n.spec.podCIDR);
    assert.equal(new Set(cidrs).size, 3);
    for (const n of nodes) {
      assert.match(n.spec.podCIDR, /^10\.42\.\d+\.0\/24$/);
      assert.deepEqual(n.spec.podCIDRs, [n.spec.podCIDR]);
      assert.equal(n.metadata.labels['kubernetes.io/os'], 'linux');
      assert.equal(n.metadata.labels['node.kubernetes.io/instance-type'], 'simulated');
      assert.equal(n.status.capacity.cpu, '4');
      assert.equal(n.status.nodeInfo.containerRuntimeVersion, 'simulated://1.0');
    }
    // the first renewals are spread over one heartbeat interval
    await eventually(async () => {
      const leases = await s.k('get leases -n kube-node-lease -o name');
      return [0, 1, 2].every((i) => new RegExp(`lease.coordination.k8s.io/k8ts-sim-${i}$`, 'm').test(leases));
    }, 10_000, 'a Lease per node');
  });

  it('runs a pod: Running 1/1 with a podIP inside its node\'s podCIDR', async () => {
    await s.k('apply -f -', pod('web', 'k8ts-sim-0'));
    const p = await eventually(async () => {
      const o = await json('get pod web');
      return o.status?.phase === 'Running' && o.status.podIP ? o : undefined;
    }, 10_000, 'pod web running');
    const node = await json('get node k8ts-sim-0');
    assert.ok(inCidr(p.status.podIP, node.spec.podCIDR), `${p.status.podIP} not in ${node.spec.podCIDR}`);
    assert.equal(p.status.hostIP, node.status.addresses.find((a: any) => a.type === 'InternalIP').address);
    assert.equal(p.status.containerStatuses[0].containerID.startsWith('sim://'), true);
    assert.match(await s.k('get pod web'), /^web\s+1\/1\s+Running\s+0\s+/m);
  });

  it('a Never pod with run-seconds 1 reaches Completed; exit-code 2 gives Error', async () => {
    await s.k('apply -f -', pod('job', 'k8ts-sim-1', '  restartPolicy: Never', '"simulator.k8ts.io/run-seconds": "1"'));
    await s.k('apply -f -', pod('bad', 'k8ts-sim-1', '  restartPolicy: Never', '"simulator.k8ts.io/run-seconds": "1", "simulator.k8ts.io/exit-code": "2"'));
    await eventually(async () => /^job\s+0\/1\s+Completed\s+/m.test(await s.k('get pod job')), 10_000, 'job Completed');
    const job = await json('get pod job');
    assert.equal(job.status.phase, 'Succeeded');
    assert.equal(job.status.containerStatuses[0].state.terminated.exitCode, 0);
    await eventually(async () => /^bad\s+0\/1\s+Error\s+/m.test(await s.k('get pod bad')), 10_000, 'bad Error');
    assert.equal((await json('get pod bad')).status.phase, 'Failed');
  });

  it('stopped heartbeats: Unknown, unreachable taint, eviction after tolerationSeconds; recovery', async () => {
    await s.k('apply -f -', pod('victim', 'k8ts-sim-2'));
    await eventually(async () => (await json('get pod victim')).status?.phase === 'Running', 10_000, 'victim running');
    await s.k('annotate node k8ts-sim-2 simulator.k8ts.io/heartbeat=stopped');
    const t0 = Date.now();
    const node = await eventually(async () => {
      const n = await json('get node k8ts-sim-2');
      return n.status.conditions.find((c: any) => c.type === 'Ready')?.status === 'Unknown' ? n : undefined;
    }, 15_000, 'node Unknown');
    const ready = node.status.conditions.find((c: any) => c.type === 'Ready');
    assert.equal(ready.reason, 'NodeStatusUnknown');
    assert.equal(ready.message, 'Kubelet stopped posting node status.');
    assert.equal(node.status.conditions.find((c: any) => c.type === 'MemoryPressure').status, 'Unknown');
    assert.match(await s.k('get node k8ts-sim-2'), /^k8ts-sim-2\s+NotReady\s+/m);
    const taints = await eventually(async () => {
      const t = (await json('get node k8ts-sim-2')).spec.taints ?? [];
      return t.some((x: any) => x.key === 'node.kubernetes.io/unreachable' && x.effect === 'NoExecute') ? t : undefined;
    }, 5_000, 'unreachable taint');
    assert.ok(taints.some((x: any) => x.key === 'node.kubernetes.io/unreachable' && x.effect === 'NoSchedule'));
    // the pod is marked not ready, then evicted once its 3s toleration runs out;
    // the dead kubelet never confirms, so it stays Terminating
    const tTaint = Date.now();
    const evicted = await eventually(async () => {
      const p = await json('get pod victim');
      return p.metadata.deletionTimestamp ? p : undefined;
    }, 10_000, 'victim evicted');
    assert.ok(Date.now() - tTaint >= 1500, 'evicted before its tolerationSeconds');
    assert.equal(evicted.status.conditions.find((c: any) => c.type === 'Ready').status, 'False');
    assert.ok(Date.now() - t0 >= 4000, 'node went Unknown before the grace period');

    await s.k('annotate node k8ts-sim-2 simulator.k8ts.io/heartbeat-');
    await eventually(async () => {
      const n = await json('get node k8ts-sim-2');
      const ok = n.status.conditions.find((c: any) => c.type === 'Ready')?.status === 'True';
      const clean = !(n.spec.taints ?? []).some((x: any) => x.key.startsWith('node.kubernetes.io/'));
      return ok && clean;
    }, 10_000, 'node recovered without taints');
    // the kubelet is back and confirms the deletion
    await eventually(async () => (await s.kubectl(['get', 'pod', 'victim'])).code !== 0, 10_000, 'victim gone');
  });

  it('a dead node\'s Deployment pods are replaced on the other nodes after the default tolerationSeconds', async () => {
    // no explicit tolerations: DefaultTolerationSeconds admission adds 3s from the server flags
    await s.k('create deployment survivor --image=nginx:1.27 --replicas=6');
    await eventually(async () => (await json('get deploy survivor')).status?.availableReplicas === 6, 20_000, '6 available');
    const onNode = async (node: string) => (await json('get pods -l app=survivor')).items.filter((p: any) => p.spec.nodeName === node && !p.metadata.deletionTimestamp);
    const victims = await onNode('k8ts-sim-1');
    assert.ok(victims.length > 0, 'the spread put pods on k8ts-sim-1');
    const tol = victims[0].spec.tolerations.find((t: any) => t.key === 'node.kubernetes.io/unreachable');
    assert.equal(tol.tolerationSeconds, 3);
    await s.k('annotate node k8ts-sim-1 simulator.k8ts.io/heartbeat=stopped');
    await eventually(async () => {
      const live = (await json('get pods -l app=survivor')).items.filter((p: any) => !p.metadata.deletionTimestamp && p.status?.phase === 'Running');
      return live.length === 6 && live.every((p: any) => p.spec.nodeName !== 'k8ts-sim-1');
    }, 30_000, '6 running replicas on the other nodes');
    await s.k('annotate node k8ts-sim-1 simulator.k8ts.io/heartbeat-');
    await eventually(async () => (await json('get node k8ts-sim-1')).status.conditions.find((c: any) => c.type === 'Ready')?.status === 'True', 15_000, 'k8ts-sim-1 back');
  });

  it('pod GC removes pods of a deleted node', async () => {
    await s.k('apply -f -', pod('orphan', 'ghost-node'));
    await eventually(async () => (await s.kubectl(['get', 'pod', 'orphan'])).code !== 0, 10_000, 'orphan collected');
  });
});
