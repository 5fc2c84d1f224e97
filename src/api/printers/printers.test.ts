import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject, Printer } from '../kind.js';
import { customResourcePrinter, defaultPrinter, humanDuration, printerFor, printersByGroup } from './index.js';
import { formatLabelSelector, rfc3339, selectorString, since } from './format.js';

const NOW = Date.parse('2026-11-10T12:00:00Z');
const ago = (sec: number) => new Date(NOW - sec * 1000).toISOString().replace(/\.\d+Z$/, 'Z');

function row(group: string, kind: string, obj: KubeObject): Record<string, unknown> {
  const p = printerFor(group, kind);
  assert.ok(p, `printer for ${group}/${kind}`);
  const cells = p.cells(obj, NOW);
  assert.equal(cells.length, p.columns.length, `${kind}: one cell per column`);
  const out: Record<string, unknown> = {};
  p.columns.forEach((c, i) => (out[c.name] = cells[i]));
  return out;
}

describe('humanDuration', () => {
  const cases: [number, string][] = [
    [-5, '<invalid>'], [-1, '0s'], [0, '0s'], [5, '5s'], [90, '90s'], [119, '119s'], [120, '2m'], [125, '2m5s'],
    [599, '9m59s'], [600, '10m'], [125 * 60, '125m'], [179 * 60 + 59, '179m'], [180 * 60, '3h'], [3 * 3600 + 5 * 60, '3h5m'],
    [8 * 3600 + 59 * 60, '8h'], [47 * 3600, '47h'], [48 * 3600, '2d'], [3 * 86400 + 4 * 3600, '3d4h'], [8 * 86400, '8d'],
    [45 * 86400, '45d'], [729 * 86400, '729d'], [730 * 86400, '2y'], [(730 + 45) * 86400, '2y45d'], [9 * 365 * 86400, '9y'],
  ];
  for (const [sec, want] of cases) {
    it(`${sec}s → ${want}`, () => assert.equal(humanDuration(sec * 1000), want));
  }
  it('missing timestamps are <unknown>', () => {
    assert.equal(since(undefined, NOW), '<unknown>');
    assert.equal(since('0001-01-01T00:00:00Z', NOW), '<unknown>');
    assert.equal(since(ago(300), NOW), '5m');
  });
});

describe('selectors', () => {
  it('formats label selectors like upstream', () => {
    assert.equal(
      selectorString({ matchLabels: { tier: 'x', app: 'web' }, matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'dev'] }, { key: 'legacy', operator: 'DoesNotExist' }, { key: 'b', operator: 'Exists' }] }),
      'app=web,b,env in (dev,prod),!legacy,tier=x',
    );
    assert.equal(formatLabelSelector({}), '<none>');
    assert.equal(formatLabelSelector(undefined), '<none>');
    assert.equal(selectorString({ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['z'] }] }), 'a notin (z)');
  });
});

function pod(status: Record<string, unknown>, spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): KubeObject {
  return {
    metadata: { name: 'p', creationTimestamp: ago(600), ...meta },
    spec: { containers: [{ name: 'a', image: 'busybox' }], ...spec },
    status,
  };
}

describe('pods', () => {
  it('running pod, wide columns', () => {
    const r = row('', 'Pod', pod(
      {
        phase: 'Running', podIP: '10.42.0.5', podIPs: [{ ip: '10.42.0.5' }],
        conditions: [{ type: 'Ready', status: 'True' }],
        containerStatuses: [{ name: 'a', ready: true, restartCount: 0, state: { running: { startedAt: ago(500) } } }],
      },
      { nodeName: 'n1' },
    ));
    assert.deepEqual(r, {
      Name: 'p', Ready: '1/1', Status: 'Running', Restarts: '0', Age: '10m', IP: '10.42.0.5', Node: 'n1',
      'Nominated Node': '<none>', 'Readiness Gates': '<none>',
    });
  });

  it('pending pod without statuses', () => {
    const r = row('', 'Pod', pod({ phase: 'Pending' }, { containers: [{ name: 'a' }, { name: 'b' }] }));
    assert.equal(r.Ready, '0/2');
    assert.equal(r.Status, 'Pending');
    assert.equal(r.IP, '<none>');
    assert.equal(r.Node, '<none>');
  });

  it('ContainerCreating', () => {
    const r = row('', 'Pod', pod({ phase: 'Pending', containerStatuses: [{ name: 'a', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }] }));
    assert.equal(r.Status, 'ContainerCreating');
  });

  it('CrashLoopBackOff with restarts and last restart age', () => {
    const r = row('', 'Pod', pod({
      phase: 'Running',
      containerStatuses: [{
        name: 'a', ready: false, restartCount: 5, state: { waiting: { reason: 'CrashLoopBackOff' } },
        lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: ago(180) } },
      }],
    }));
    assert.equal(r.Status, 'CrashLoopBackOff');
    assert.equal(r.Restarts, '5 (3m ago)');
    assert.equal(r.Ready, '0/1');
  });

  it('Completed, ExitCode and Signal', () => {
    assert.equal(row('', 'Pod', pod({ phase: 'Succeeded', containerStatuses: [{ name: 'a', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } }] })).Status, 'Completed');
    assert.equal(row('', 'Pod', pod({ phase: 'Failed', containerStatuses: [{ name: 'a', ready: false, restartCount: 0, state: { terminated: { exitCode: 3 } } }] })).Status, 'ExitCode:3');
    assert.equal(row('', 'Pod', pod({ phase: 'Failed', containerStatuses: [{ name: 'a', ready: false, restartCount: 0, state: { terminated: { exitCode: 137, signal: 9 } } }] })).Status, 'Signal:9');
  });

  it('Completed container next to a running one shows Running / NotReady', () => {
    const statuses = [
      { name: 'a', ready: true, restartCount: 0, state: { running: {} } },
      { name: 'b', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } },
    ];
    const spec = { containers: [{ name: 'a' }, { name: 'b' }] };
    assert.equal(row('', 'Pod', pod({ phase: 'Running', containerStatuses: statuses, conditions: [{ type: 'Ready', status: 'True' }] }, spec)).Status, 'Running');
    const r = row('', 'Pod', pod({ phase: 'Running', containerStatuses: statuses, conditions: [{ type: 'Ready', status: 'False' }] }, spec));
    assert.equal(r.Status, 'NotReady');
    assert.equal(r.Ready, '1/2');
  });

  it('init containers', () => {
    const spec = { initContainers: [{ name: 'init' }] };
    assert.equal(row('', 'Pod', pod({ phase: 'Pending', initContainerStatuses: [{ name: 'init', ready: false, restartCount: 0, state: { running: {} } }] }, spec)).Status, 'Init:0/1');
    assert.equal(row('', 'Pod', pod({ phase: 'Pending', initContainerStatuses: [{ name: 'init', ready: false, restartCount: 0, state: { waiting: { reason: 'PodInitializing' } } }] }, spec)).Status, 'Init:0/1');
    const crash = row('', 'Pod', pod({ phase: 'Pending', initContainerStatuses: [{ name: 'init', ready: false, restartCount: 2, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1, finishedAt: ago(30) } } }] }, spec));
    assert.equal(crash.Status, 'Init:CrashLoopBackOff');
    assert.equal(crash.Restarts, '2 (30s ago)');
    assert.equal(row('', 'Pod', pod({ phase: 'Pending', initContainerStatuses: [{ name: 'init', ready: false, restartCount: 0, state: { terminated: { exitCode: 2 } } }] }, spec)).Status, 'Init:ExitCode:2');
    assert.equal(row('', 'Pod', pod({ phase: 'Pending', initContainerStatuses: [{ name: 'init', ready: false, restartCount: 0, state: { terminated: { exitCode: 1, reason: 'Error' } } }] }, spec)).Status, 'Init:Error');
  });

  it('sidecar (restartable init) containers count toward READY', () => {
    const r = row('', 'Pod', pod({
      phase: 'Running',
      conditions: [{ type: 'Initialized', status: 'True' }, { type: 'Ready', status: 'True' }],
      initContainerStatuses: [{ name: 'side', ready: true, started: true, restartCount: 1, state: { running: {} }, lastState: { terminated: { exitCode: 1, finishedAt: ago(60) } } }],
      containerStatuses: [{ name: 'a', ready: true, restartCount: 0, state: { running: {} } }],
    }, { initContainers: [{ name: 'side', restartPolicy: 'Always' }] }));
    assert.equal(r.Ready, '2/2');
    assert.equal(r.Status, 'Running');
    assert.equal(r.Restarts, '1 (60s ago)');
  });

  it('Terminating, Unknown (NodeLost) and SchedulingGated', () => {
    const del = { deletionTimestamp: ago(5) };
    assert.equal(row('', 'Pod', pod({ phase: 'Running' }, {}, del)).Status, 'Terminating');
    assert.equal(row('', 'Pod', pod({ phase: 'Succeeded' }, {}, del)).Status, 'Succeeded');
    assert.equal(row('', 'Pod', pod({ phase: 'Running', reason: 'NodeLost' }, {}, del)).Status, 'Unknown');
    assert.equal(row('', 'Pod', pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] })).Status, 'SchedulingGated');
    assert.equal(row('', 'Pod', pod({ phase: 'Failed', reason: 'Evicted' })).Status, 'Evicted');
  });

  it('readiness gates and nominated node', () => {
    const r = row('', 'Pod', pod(
      { phase: 'Running', nominatedNodeName: 'n2', conditions: [{ type: 'x/one', status: 'True' }, { type: 'x/two', status: 'False' }] },
      { readinessGates: [{ conditionType: 'x/one' }, { conditionType: 'x/two' }] },
    ));
    assert.equal(r['Readiness Gates'], '1/2');
    assert.equal(r['Nominated Node'], 'n2');
  });
});

describe('services', () => {
  const svc = (spec: Record<string, unknown>, status: Record<string, unknown> = {}) =>
    row('', 'Service', { metadata: { name: 's', creationTimestamp: ago(90) }, spec, status });

  it('ClusterIP', () => {
    assert.deepEqual(svc({ type: 'ClusterIP', clusterIP: '10.43.0.10', clusterIPs: ['10.43.0.10'], ports: [{ port: 80, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }], selector: { app: 'web', a: 'b' } }), {
      Name: 's', Type: 'ClusterIP', 'Cluster-IP': '10.43.0.10', 'External-IP': '<none>', 'Port(s)': '80/TCP,53/UDP', Age: '90s', Selector: 'a=b,app=web',
    });
  });
  it('NodePort and headless', () => {
    assert.equal(svc({ type: 'NodePort', clusterIPs: ['10.43.1.1'], ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }] })['Port(s)'], '80:30080/TCP');
    const h = svc({ type: 'ClusterIP', clusterIP: 'None', clusterIPs: ['None'] });
    assert.equal(h['Cluster-IP'], 'None');
    assert.equal(h['Port(s)'], '<none>');
    assert.equal(h.Selector, '<none>');
  });
  it('LoadBalancer pending, assigned, with externalIPs', () => {
    assert.equal(svc({ type: 'LoadBalancer', ports: [] })['External-IP'], '<pending>');
    assert.equal(svc({ type: 'LoadBalancer' }, { loadBalancer: { ingress: [{ ip: '192.168.1.20' }, { ip: '192.168.1.10' }] } })['External-IP'], '192.168.1.10,192.168.1.20');
    assert.equal(svc({ type: 'LoadBalancer', externalIPs: ['1.2.3.4'] }, { loadBalancer: { ingress: [{ hostname: 'lb.example' }] } })['External-IP'], 'lb.example,1.2.3.4');
  });
  it('ExternalName', () => {
    const r = svc({ type: 'ExternalName', externalName: 'db.example.com' });
    assert.equal(r['External-IP'], 'db.example.com');
    assert.equal(r['Cluster-IP'], '<none>');
  });
});

describe('workloads', () => {
  it('deployment, with wide columns', () => {
    const r = row('apps', 'Deployment', {
      metadata: { name: 'web', creationTimestamp: ago(3 * 86400 + 4 * 3600) },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['b', 'a'] }] },
        template: { spec: { containers: [{ name: 'web', image: 'nginx:1.27' }, { name: 'log', image: 'busybox' }] } },
      },
      status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 },
    });
    assert.deepEqual(r, {
      Name: 'web', Ready: '2/3', 'Up-to-date': 3, Available: 2, Age: '3d4h', Containers: 'web,log', Images: 'nginx:1.27,busybox',
      Selector: 'app=web,tier in (a,b)',
    });
    const p = printerFor('apps', 'Deployment')!;
    assert.deepEqual(p.columns.filter((c) => c.priority === 1).map((c) => c.name), ['Containers', 'Images', 'Selector']);
  });

  it('replicaset, statefulset, daemonset', () => {
    const tmpl = { spec: { containers: [{ name: 'c', image: 'i' }], nodeSelector: { 'kubernetes.io/os': 'linux' } } };
    const rs = row('apps', 'ReplicaSet', { metadata: { name: 'rs' }, spec: { replicas: 2, selector: { matchLabels: { a: 'b' } }, template: tmpl }, status: { replicas: 2, readyReplicas: 1 } });
    assert.deepEqual([rs.Desired, rs.Current, rs.Ready, rs.Age, rs.Selector], [2, 2, 1, '<unknown>', 'a=b']);
    assert.equal(row('apps', 'StatefulSet', { metadata: { name: 's' }, spec: { replicas: 3, template: tmpl }, status: { readyReplicas: 3 } }).Ready, '3/3');
    const ds = row('apps', 'DaemonSet', { metadata: { name: 'd' }, spec: { template: tmpl, selector: { matchLabels: { x: 'y' } } }, status: { desiredNumberScheduled: 2, currentNumberScheduled: 2, numberReady: 1, updatedNumberScheduled: 2, numberAvailable: 1 } });
    assert.deepEqual([ds.Desired, ds.Current, ds.Ready, ds['Up-to-date'], ds.Available, ds['Node Selector']], [2, 2, 1, 2, 1, 'kubernetes.io/os=linux']);
  });

  it('controllerrevision names its controller', () => {
    const r = row('apps', 'ControllerRevision', { metadata: { name: 'web-5d', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'u', controller: true }] }, revision: 2 });
    assert.equal(r.Controller, 'statefulset.apps/web');
    assert.equal(r.Revision, 2);
  });

  it('jobs: status, completions, duration', () => {
    const done = row('batch', 'Job', {
      metadata: { name: 'j', creationTimestamp: ago(600) },
      spec: { completions: 3, template: { spec: { containers: [{ name: 'c', image: 'i' }] } } },
      status: { succeeded: 3, startTime: ago(600), completionTime: ago(475), conditions: [{ type: 'Complete', status: 'True' }] },
    });
    assert.deepEqual([done.Status, done.Completions, done.Duration], ['Complete', '3/3', '2m5s']);
    const running = row('batch', 'Job', { metadata: { name: 'j' }, spec: { parallelism: 2 }, status: { startTime: ago(30) } });
    assert.deepEqual([running.Status, running.Completions, running.Duration], ['Running', '0/1 of 2', '30s']);
    assert.equal(row('batch', 'Job', { metadata: { name: 'j' }, spec: {}, status: { conditions: [{ type: 'Failed', status: 'True' }] } }).Status, 'Failed');
    assert.equal(row('batch', 'Job', { metadata: { name: 'j' }, spec: {}, status: {} }).Duration, '');
  });

  it('cronjob', () => {
    const r = row('batch', 'CronJob', { metadata: { name: 'c', creationTimestamp: ago(7200) }, spec: { schedule: '*/5 * * * *', suspend: false, jobTemplate: { spec: { template: { spec: { containers: [] } } } } }, status: { active: [{ name: 'x' }], lastScheduleTime: ago(60) } });
    assert.deepEqual([r.Schedule, r.Timezone, r.Suspend, r.Active, r['Last Schedule'], r.Age], ['*/5 * * * *', '<none>', 'False', 1, '60s', '120m']);
  });
});

describe('other core kinds', () => {
  it('endpoints with "+ N more..."', () => {
    const r = row('', 'Endpoints', { metadata: { name: 'e' }, subsets: [{ addresses: [{ ip: '10.42.0.5' }, { ip: '10.42.0.6' }], ports: [{ port: 80 }, { port: 443 }] }] });
    assert.equal(r.Endpoints, '10.42.0.5:80,10.42.0.6:80,10.42.0.5:443 + 1 more...');
    assert.equal(row('', 'Endpoints', { metadata: { name: 'e' } }).Endpoints, '<none>');
    assert.equal(row('', 'Endpoints', { metadata: { name: 'e' }, subsets: [{ addresses: [{ ip: 'fd00::1' }], ports: [{ port: 80 }] }] }).Endpoints, '[fd00::1]:80');
  });

  it('nodes', () => {
    const r = row('', 'Node', {
      metadata: { name: 'n1', creationTimestamp: ago(86400), labels: { 'node-role.kubernetes.io/control-plane': '', 'node-role.kubernetes.io/master': 'true', 'kubernetes.io/role': 'edge' } },
      spec: { unschedulable: true },
      status: {
        conditions: [{ type: 'MemoryPressure', status: 'False' }, { type: 'Ready', status: 'True' }],
        addresses: [{ type: 'InternalIP', address: '10.0.0.2' }, { type: 'Hostname', address: 'n1' }],
        nodeInfo: { kubeletVersion: 'v1.32.0-k8ts', osImage: 'Debian GNU/Linux 12', kernelVersion: '6.1.0', containerRuntimeVersion: 'containerd://1.6.20' },
      },
    });
    assert.deepEqual(r, {
      Name: 'n1', Status: 'Ready,SchedulingDisabled', Roles: 'control-plane,edge,master', Age: '24h', Version: 'v1.32.0-k8ts',
      'Internal-IP': '10.0.0.2', 'External-IP': '<none>', 'OS-Image': 'Debian GNU/Linux 12', 'Kernel-Version': '6.1.0', 'Container-Runtime': 'containerd://1.6.20',
    });
    assert.equal(row('', 'Node', { metadata: { name: 'x' } }).Status, 'Unknown');
    assert.equal(row('', 'Node', { metadata: { name: 'x' }, status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } }).Status, 'NotReady');
  });

  it('events, core and events.k8s.io', () => {
    const core = row('', 'Event', {
      metadata: { name: 'p.1' }, type: 'Warning', reason: 'BackOff', message: ' Back-off restarting \n',
      involvedObject: { kind: 'Pod', name: 'web-1', fieldPath: 'spec.containers{web}' }, source: { component: 'kubelet', host: 'n1' },
      firstTimestamp: ago(3600), lastTimestamp: ago(30), count: 7,
    });
    assert.deepEqual(core, {
      'Last Seen': '30s', Type: 'Warning', Reason: 'BackOff', Object: 'pod/web-1', Subobject: 'spec.containers{web}', Source: 'kubelet, n1',
      Message: 'Back-off restarting', 'First Seen': '60m', Count: 7, Name: 'p.1',
    });
    const ev = row('events.k8s.io', 'Event', {
      metadata: { name: 'e.2' }, type: 'Normal', reason: 'Scheduled', note: 'Assigned', regarding: { kind: 'Pod', name: 'web-1' },
      reportingController: 'default-scheduler', eventTime: ago(10),
    });
    assert.deepEqual([ev['Last Seen'], ev.Object, ev.Message, ev.Source, ev.Count, ev['First Seen']], ['10s', 'pod/web-1', 'Assigned', 'default-scheduler', 1, '10s']);
    const series = row('events.k8s.io', 'Event', { metadata: { name: 'e' }, eventTime: ago(600), series: { count: 4, lastObservedTime: ago(5) }, regarding: { kind: 'Node' } });
    assert.deepEqual([series['Last Seen'], series.Count, series.Object], ['5s', 4, 'node']);
    assert.equal(printerFor('', 'Event')!.columns.filter((c) => c.priority === 0).map((c) => c.name).join(' '), 'Last Seen Type Reason Object Message');
  });

  it('configmaps, secrets, serviceaccounts, namespaces', () => {
    assert.equal(row('', 'ConfigMap', { metadata: { name: 'c' }, data: { a: '1', b: '2' }, binaryData: { c: 'AA==' } }).Data, 3);
    const s = row('', 'Secret', { metadata: { name: 's' }, type: 'kubernetes.io/tls', data: { 'tls.crt': 'x', 'tls.key': 'y' } });
    assert.deepEqual([s.Type, s.Data], ['kubernetes.io/tls', 2]);
    assert.equal(row('', 'ServiceAccount', { metadata: { name: 'default' } }).Secrets, 0);
    assert.equal(row('', 'Namespace', { metadata: { name: 'kube-system' }, status: { phase: 'Active' } }).Status, 'Active');
  });

  it('persistent volumes and claims', () => {
    const pv = row('', 'PersistentVolume', { metadata: { name: 'pv1' }, spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteMany', 'ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Delete', claimRef: { namespace: 'default', name: 'data' }, storageClassName: 'local-path', volumeMode: 'Filesystem' }, status: { phase: 'Bound' } });
    assert.deepEqual([pv.Capacity, pv['Access Modes'], pv.Status, pv.Claim, pv.StorageClass, pv.VolumeAttributesClass, pv.Reason, pv.VolumeMode], ['1Gi', 'RWO,RWX', 'Bound', 'default/data', 'local-path', '<unset>', '', 'Filesystem']);
    const pending = row('', 'PersistentVolumeClaim', { metadata: { name: 'data' }, spec: { storageClassName: 'local-path', resources: { requests: { storage: '1Gi' } } }, status: { phase: 'Pending' } });
    assert.deepEqual([pending.Status, pending.Volume, pending.Capacity, pending['Access Modes'], pending.StorageClass], ['Pending', '', '', '', 'local-path']);
    const bound = row('', 'PersistentVolumeClaim', { metadata: { name: 'data', deletionTimestamp: ago(1) }, spec: { volumeName: 'pv1' }, status: { phase: 'Bound', capacity: { storage: '2Gi' }, accessModes: ['ReadWriteOnce'] } });
    assert.deepEqual([bound.Status, bound.Capacity, bound['Access Modes']], ['Terminating', '2Gi', 'RWO']);
  });

  it('resource quotas split requests and limits', () => {
    const r = row('', 'ResourceQuota', { metadata: { name: 'q' }, status: { hard: { pods: '10', 'limits.cpu': '2', 'requests.cpu': '1' }, used: { pods: '3', 'requests.cpu': '500m' } } });
    assert.equal(r.Request, 'pods: 3/10, requests.cpu: 500m/1');
    assert.equal(r.Limit, 'limits.cpu: 0/2');
  });
});

describe('other groups', () => {
  it('ingress and ingressclass', () => {
    const r = row('networking.k8s.io', 'Ingress', {
      metadata: { name: 'i' }, spec: { ingressClassName: 'k8ts', tls: [{ hosts: ['a.example'] }], rules: [{ host: 'a.example' }, { host: 'b.example' }, {}, { host: 'd.example' }, { host: 'e.example' }] },
      status: { loadBalancer: { ingress: [{ ip: '10.0.0.2' }] } },
    });
    assert.deepEqual([r.Class, r.Hosts, r.Address, r.Ports], ['k8ts', 'a.example,b.example,d.example + 2 more...', '10.0.0.2', '80, 443']);
    assert.deepEqual(Object.values(row('networking.k8s.io', 'Ingress', { metadata: { name: 'i' }, spec: { rules: [{}] } })).slice(1, 5), ['<none>', '*', '', '80']);
    assert.equal(row('networking.k8s.io', 'IngressClass', { metadata: { name: 'c' }, spec: { controller: 'k8ts.io/ingress', parameters: { apiGroup: 'k8s.example.com', kind: 'IngressParameters', name: 'p' } } }).Parameters, 'IngressParameters.k8s.example.com/p');
    assert.equal(row('networking.k8s.io', 'NetworkPolicy', { metadata: { name: 'n' }, spec: { podSelector: {} } })['Pod-Selector'], '<none>');
  });

  it('endpointslices', () => {
    const r = row('discovery.k8s.io', 'EndpointSlice', { metadata: { name: 's' }, addressType: 'IPv4', ports: [{ name: 'http', port: 80 }, { name: 'x' }, {}], endpoints: [{ addresses: ['10.42.0.1'] }, { addresses: ['10.42.0.2'] }, { addresses: ['10.42.0.3'] }, { addresses: ['10.42.0.4'] }] });
    assert.deepEqual([r.AddressType, r.Ports, r.Endpoints], ['IPv4', '80,x,*', '10.42.0.1,10.42.0.2,10.42.0.3 + 1 more...']);
    assert.equal(row('discovery.k8s.io', 'EndpointSlice', { metadata: { name: 's' }, addressType: 'IPv4' }).Endpoints, '<unset>');
  });

  it('rbac bindings', () => {
    const r = row('rbac.authorization.k8s.io', 'ClusterRoleBinding', { metadata: { name: 'b' }, roleRef: { kind: 'ClusterRole', name: 'admin' }, subjects: [{ kind: 'User', name: 'alice' }, { kind: 'Group', name: 'devs' }, { kind: 'ServiceAccount', namespace: 'kube-system', name: 'sa' }, { kind: 'User', name: 'bob' }] });
    assert.deepEqual([r.Role, r.Users, r.Groups, r.ServiceAccounts], ['ClusterRole/admin', 'alice, bob', 'devs', 'kube-system/sa']);
  });

  it('storage classes mark the default', () => {
    const r = row('storage.k8s.io', 'StorageClass', { metadata: { name: 'local-path', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } }, provisioner: 'rancher.io/local-path', volumeBindingMode: 'WaitForFirstConsumer' });
    assert.deepEqual([r.Name, r.Provisioner, r.ReclaimPolicy, r.VolumeBindingMode, r.AllowVolumeExpansion], ['local-path (default)', 'rancher.io/local-path', 'Delete', 'WaitForFirstConsumer', false]);
  });

  it('hpa targets (v2 and v1)', () => {
    const v2 = row('autoscaling', 'HorizontalPodAutoscaler', {
      metadata: { name: 'h' },
      spec: {
        scaleTargetRef: { kind: 'Deployment', name: 'web' }, minReplicas: 1, maxReplicas: 5,
        metrics: [
          { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } },
          { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '1Gi' } } },
          { type: 'Pods', pods: { metric: { name: 'qps' }, target: { type: 'AverageValue', averageValue: '10' } } },
        ],
      },
      status: { currentReplicas: 2, currentMetrics: [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 30 } } }] },
    });
    assert.deepEqual([v2.Reference, v2.Targets, v2.MinPods, v2.MaxPods, v2.Replicas], ['Deployment/web', 'cpu: 30%/80%, memory: <unknown>/1Gi + 1 more...', '1', 5, 2]);
    const v1 = row('autoscaling', 'HorizontalPodAutoscaler', { metadata: { name: 'h' }, spec: { scaleTargetRef: { kind: 'Deployment', name: 'web' }, maxReplicas: 3, targetCPUUtilizationPercentage: 50 }, status: {} });
    assert.deepEqual([v1.Targets, v1.MinPods], ['cpu: <unknown>/50%', '<unset>']);
  });

  it('pdb, priorityclass, lease, csr, webhooks', () => {
    const pdb = row('policy', 'PodDisruptionBudget', { metadata: { name: 'p' }, spec: { minAvailable: '50%' }, status: { disruptionsAllowed: 1 } });
    assert.deepEqual([pdb['Min Available'], pdb['Max Unavailable'], pdb['Allowed Disruptions']], ['50%', 'N/A', 1]);
    const pc = row('scheduling.k8s.io', 'PriorityClass', { metadata: { name: 'system-node-critical' }, value: 2000001000, preemptionPolicy: 'PreemptLowerPriority' });
    assert.deepEqual([pc.Value, pc['Global-Default'], pc.PreemptionPolicy], [2000001000, false, 'PreemptLowerPriority']);
    assert.equal(row('coordination.k8s.io', 'Lease', { metadata: { name: 'l' }, spec: { holderIdentity: 'n1' } }).Holder, 'n1');
    const csr = row('certificates.k8s.io', 'CertificateSigningRequest', { metadata: { name: 'c' }, spec: { signerName: 'kubernetes.io/kube-apiserver-client', username: 'alice', expirationSeconds: 86400 }, status: { conditions: [{ type: 'Approved', status: 'True' }], certificate: 'QUJD' } });
    assert.deepEqual([csr.SignerName, csr.Requestor, csr.RequestedDuration, csr.Condition], ['kubernetes.io/kube-apiserver-client', 'alice', '24h', 'Approved,Issued']);
    assert.equal(printerFor('certificates.k8s.io', 'CertificateSigningRequest')!.columns[1]!.name, 'Age');
    assert.equal(row('admissionregistration.k8s.io', 'ValidatingWebhookConfiguration', { metadata: { name: 'v' }, webhooks: [{}, {}] }).Webhooks, 2);
  });
});

describe('default and custom printers', () => {
  it('kinds without a printer get NAME + CREATED AT', () => {
    for (const [g, k] of [['rbac.authorization.k8s.io', 'ClusterRole'], ['rbac.authorization.k8s.io', 'Role'], ['', 'LimitRange'], ['apiextensions.k8s.io', 'CustomResourceDefinition']]) {
      assert.equal(printerFor(g!, k!), defaultPrinter, `${g}/${k}`);
    }
    assert.deepEqual(defaultPrinter.columns.map((c) => [c.name, c.type]), [['Name', 'string'], ['Created At', 'date']]);
    assert.deepEqual(defaultPrinter.cells({ metadata: { name: 'admin', creationTimestamp: '2026-11-01T08:00:00Z' } }, NOW), ['admin', '2026-11-01T08:00:00Z']);
    assert.equal(rfc3339('2026-11-01T08:00:00.123Z'), '2026-11-01T08:00:00Z');
    assert.equal(printerFor('example.com', 'Widget'), undefined);
  });

  it('custom resources use additionalPrinterColumns, Age by default', () => {
    const def = customResourcePrinter();
    assert.deepEqual(def.columns.map((c) => c.name), ['Name', 'Age']);
    assert.deepEqual(def.cells({ metadata: { name: 'w', creationTimestamp: ago(42) } }, NOW), ['w', '42s']);
    const p = customResourcePrinter([
      { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas' },
      { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
      { name: 'First', type: 'string', jsonPath: ".spec.items[0]['x.y']", priority: 1 },
      { name: 'Missing', type: 'string', jsonPath: '.status.nothing' },
      { name: 'Obj', type: 'string', jsonPath: '.spec.sel' },
    ]);
    assert.equal(p.columns[3]!.priority, 1);
    assert.deepEqual(
      p.cells({ metadata: { name: 'w' }, spec: { replicas: 3, items: [{ 'x.y': 'dotted' }], sel: { a: 1 } }, status: { conditions: [{ type: 'Synced', status: 'False' }, { type: 'Ready', status: 'True' }] } }, NOW),
      ['w', 3, 'True', 'dotted', null, '{"a":1}'],
    );
  });

  it('every printer yields one cell per column for a bare object, with a name column first-class', () => {
    let n = 0;
    for (const [group, kinds] of Object.entries(printersByGroup)) {
      for (const [kind, p] of Object.entries(kinds as Record<string, Printer>)) {
        const cells = p.cells({ metadata: { name: 'x' } }, NOW);
        assert.equal(cells.length, p.columns.length, `${group}/${kind}`);
        assert.ok(cells.every((c) => c !== undefined), `${group}/${kind} has no undefined cells`);
        assert.ok(p.columns.some((c) => c.name === 'Name'), `${group}/${kind} has a Name column`);
        n++;
      }
    }
    assert.ok(n >= 45, `expected many printers, got ${n}`);
  });
});
