import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinKinds } from './index.js';
import type { KindDefinition, KubeObject } from '../kind.js';
import { validateName, parseQuantity } from '../validation.js';
import { cronScheduleError } from './batch.js';
import { hpaV1ToV2, hpaV2ToV1 } from './autoscaling.js';
import { eventFromCore, eventToCore } from './events.js';

function def(group: string, version: string, resource: string): KindDefinition {
  const d = builtinKinds.find((k) => k.group === group && k.version === version && k.resource === resource);
  assert.ok(d, `${group}/${version}/${resource} missing`);
  return d;
}

/** defaults → prepareForCreate, as the apiserver does on create */
function create(d: KindDefinition, obj: KubeObject): KubeObject {
  const o = structuredClone(obj);
  d.defaults?.(o);
  d.prepareForCreate?.(o);
  return o;
}

function paths(d: KindDefinition, obj: KubeObject, old?: KubeObject): string[] {
  return (d.validate?.(obj, old) ?? []).map((e) => e.field);
}

const podSpec = () => ({ containers: [{ name: 'app', image: 'nginx' }] });

// ------------------------------------------------------------ kind list

const expected: [string, string, string, string[]][] = [
  ['', 'v1', 'namespaces', ['ns']], ['', 'v1', 'pods', ['po']], ['', 'v1', 'services', ['svc']], ['', 'v1', 'endpoints', ['ep']],
  ['', 'v1', 'configmaps', ['cm']], ['', 'v1', 'secrets', []], ['', 'v1', 'serviceaccounts', ['sa']], ['', 'v1', 'nodes', ['no']],
  ['', 'v1', 'events', ['ev']], ['', 'v1', 'persistentvolumes', ['pv']], ['', 'v1', 'persistentvolumeclaims', ['pvc']],
  ['', 'v1', 'replicationcontrollers', ['rc']], ['', 'v1', 'limitranges', ['limits']], ['', 'v1', 'resourcequotas', ['quota']],
  ['', 'v1', 'podtemplates', []], ['', 'v1', 'componentstatuses', ['cs']], ['', 'v1', 'bindings', []],
  ['apps', 'v1', 'deployments', ['deploy']], ['apps', 'v1', 'replicasets', ['rs']], ['apps', 'v1', 'statefulsets', ['sts']],
  ['apps', 'v1', 'daemonsets', ['ds']], ['apps', 'v1', 'controllerrevisions', []],
  ['batch', 'v1', 'jobs', []], ['batch', 'v1', 'cronjobs', ['cj']],
  ['networking.k8s.io', 'v1', 'ingresses', ['ing']], ['networking.k8s.io', 'v1', 'ingressclasses', []], ['networking.k8s.io', 'v1', 'networkpolicies', ['netpol']],
  ['discovery.k8s.io', 'v1', 'endpointslices', []],
  ['rbac.authorization.k8s.io', 'v1', 'roles', []], ['rbac.authorization.k8s.io', 'v1', 'rolebindings', []],
  ['rbac.authorization.k8s.io', 'v1', 'clusterroles', []], ['rbac.authorization.k8s.io', 'v1', 'clusterrolebindings', []],
  ['storage.k8s.io', 'v1', 'storageclasses', ['sc']], ['storage.k8s.io', 'v1', 'csidrivers', []], ['storage.k8s.io', 'v1', 'csinodes', []],
  ['storage.k8s.io', 'v1', 'volumeattachments', []], ['coordination.k8s.io', 'v1', 'leases', []], ['events.k8s.io', 'v1', 'events', ['ev']],
  ['policy', 'v1', 'poddisruptionbudgets', ['pdb']], ['scheduling.k8s.io', 'v1', 'priorityclasses', ['pc']],
  ['autoscaling', 'v1', 'horizontalpodautoscalers', ['hpa']], ['autoscaling', 'v2', 'horizontalpodautoscalers', ['hpa']],
  ['node.k8s.io', 'v1', 'runtimeclasses', []], ['certificates.k8s.io', 'v1', 'certificatesigningrequests', ['csr']],
  ['admissionregistration.k8s.io', 'v1', 'mutatingwebhookconfigurations', []], ['admissionregistration.k8s.io', 'v1', 'validatingwebhookconfigurations', []],
  ['apiextensions.k8s.io', 'v1', 'customresourcedefinitions', ['crd', 'crds']],
];

test('every built-in kind is present exactly once with its short names', () => {
  assert.equal(builtinKinds.length, expected.length);
  for (const [g, v, r, short] of expected) {
    const matches = builtinKinds.filter((k) => k.group === g && k.version === v && k.resource === r);
    assert.equal(matches.length, 1, `${g}/${v}/${r}`);
    assert.deepEqual(matches[0].shortNames ?? [], short, `${g}/${v}/${r} shortNames`);
    assert.equal(matches[0].printer, undefined);
  }
  const kinds = new Set(builtinKinds.map((k) => `${k.group}/${k.version}/${k.kind}`));
  assert.equal(kinds.size, builtinKinds.length);
});

test('categories, verbs, scopes and subresources follow upstream', () => {
  const all = builtinKinds.filter((k) => k.categories?.includes('all')).map((k) => `${k.group}/${k.resource}`).sort();
  assert.deepEqual([...new Set(all)], [
    '/pods', '/replicationcontrollers', '/services', 'apps/daemonsets', 'apps/deployments', 'apps/replicasets', 'apps/statefulsets',
    'autoscaling/horizontalpodautoscalers', 'batch/cronjobs', 'batch/jobs',
  ]);
  assert.deepEqual(def('', 'v1', 'bindings').verbs, ['create']);
  assert.deepEqual(def('', 'v1', 'componentstatuses').verbs, ['get', 'list']);
  assert.equal(def('', 'v1', 'events').verbs, undefined);
  assert.equal(def('', 'v1', 'namespaces').nameValidation, 'label');
  assert.equal(def('', 'v1', 'services').nameValidation, 'label');
  assert.equal(def('rbac.authorization.k8s.io', 'v1', 'roles').nameValidation, 'path');
  assert.equal(def('', 'v1', 'nodes').namespaced, false);
  assert.ok(def('', 'v1', 'pods').subresources?.includes('ephemeralcontainers'));
  assert.deepEqual(def('', 'v1', 'namespaces').subresources, ['finalize']);
  for (const r of ['deployments', 'replicasets', 'statefulsets']) assert.equal(def('apps', 'v1', r).scale?.specReplicasPath, 'spec.replicas');
  assert.ok(def('', 'v1', 'replicationcontrollers').scale);
  assert.equal(def('apps', 'v1', 'daemonsets').scale, undefined);
  assert.equal(def('events.k8s.io', 'v1', 'events').storageResource, 'events');
  assert.equal(def('autoscaling', 'v1', 'horizontalpodautoscalers').storageResource, 'horizontalpodautoscalers');
});

test('field selectors', () => {
  const pods = def('', 'v1', 'pods');
  const pod = { spec: { nodeName: 'n1', hostNetwork: true }, status: { phase: 'Running', podIP: '10.42.0.5' } };
  assert.equal(pods.fieldSelectors!['spec.nodeName'](pod), 'n1');
  assert.equal(pods.fieldSelectors!['spec.hostNetwork'](pod), 'true');
  assert.equal(pods.fieldSelectors!['status.phase'](pod), 'Running');
  assert.equal(pods.fieldSelectors!['status.podIP'](pod), '10.42.0.5');
  assert.equal(def('', 'v1', 'secrets').fieldSelectors!.type({ type: 'Opaque' }), 'Opaque');
  assert.equal(def('', 'v1', 'nodes').fieldSelectors!['spec.unschedulable']({ spec: {} }), 'false');
  assert.equal(def('apps', 'v1', 'replicasets').fieldSelectors!['status.replicas']({ status: { replicas: 3 } }), '3');
  assert.equal(def('batch', 'v1', 'jobs').fieldSelectors!['status.successful']({ status: { succeeded: 1 } }), '1');
  const ev = { involvedObject: { kind: 'Pod', name: 'x' }, source: { component: 'kubelet' } };
  assert.equal(def('', 'v1', 'events').fieldSelectors!['involvedObject.kind'](ev), 'Pod');
  assert.equal(def('', 'v1', 'events').fieldSelectors!.source(ev), 'kubelet');
  assert.equal(def('events.k8s.io', 'v1', 'events').fieldSelectors!['involvedObject.name']({ regarding: { name: 'y' } }), 'y');
  assert.equal(def('certificates.k8s.io', 'v1', 'certificatesigningrequests').fieldSelectors!['spec.signerName']({ spec: { signerName: 'a/b' } }), 'a/b');
});

// ------------------------------------------------------------- defaults

test('bare pod defaults match upstream', () => {
  const pod = create(def('', 'v1', 'pods'), {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' },
    spec: { containers: [{ name: 'app', image: 'nginx', ports: [{ containerPort: 80 }], readinessProbe: { httpGet: { port: 80 } } }], volumes: [{ name: 'cfg', configMap: { name: 'c' } }, { name: 'tmp' }] },
  });
  assert.deepEqual(pod.spec, {
    containers: [{
      name: 'app', image: 'nginx', imagePullPolicy: 'Always', terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File',
      ports: [{ containerPort: 80, protocol: 'TCP' }],
      readinessProbe: { httpGet: { port: 80, path: '/', scheme: 'HTTP' }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 },
    }],
    volumes: [{ name: 'cfg', configMap: { name: 'c', defaultMode: 420 } }, { name: 'tmp', emptyDir: {} }],
    dnsPolicy: 'ClusterFirst', restartPolicy: 'Always', securityContext: {}, terminationGracePeriodSeconds: 30,
    schedulerName: 'default-scheduler', enableServiceLinks: true,
  });
  assert.deepEqual(pod.status, { phase: 'Pending', qosClass: 'BestEffort' });
});

test('image pull policy follows the tag', () => {
  const pods = def('', 'v1', 'pods');
  const policy = (image: string) => create(pods, { spec: { containers: [{ name: 'a', image }] } }).spec.containers[0].imagePullPolicy;
  assert.equal(policy('nginx'), 'Always');
  assert.equal(policy('nginx:latest'), 'Always');
  assert.equal(policy('nginx:1.27'), 'IfNotPresent');
  assert.equal(policy('localhost:5000/busybox'), 'Always');
  assert.equal(policy('localhost:5000/busybox:1'), 'IfNotPresent');
  assert.equal(policy('nginx@sha256:abcd'), 'IfNotPresent');
});

test('pod limits become requests and set QoS', () => {
  const pod = create(def('', 'v1', 'pods'), { spec: { containers: [{ name: 'a', image: 'x:1', resources: { limits: { cpu: '500m', memory: '64Mi' } } }] } });
  assert.deepEqual(pod.spec.containers[0].resources.requests, { cpu: '500m', memory: '64Mi' });
  assert.equal(pod.status.qosClass, 'Guaranteed');
  const burst = create(def('', 'v1', 'pods'), { spec: { containers: [{ name: 'a', image: 'x:1', resources: { requests: { cpu: '100m' } } }] } });
  assert.equal(burst.status.qosClass, 'Burstable');
});

test('bare deployment defaults match upstream', () => {
  const d = create(def('apps', 'v1', 'deployments'), {
    metadata: { name: 'web' },
    spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: podSpec() } },
  });
  assert.equal(d.spec.replicas, 1);
  assert.deepEqual(d.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } });
  assert.equal(d.spec.revisionHistoryLimit, 10);
  assert.equal(d.spec.progressDeadlineSeconds, 600);
  assert.equal(d.spec.template.spec.restartPolicy, 'Always');
  assert.equal(d.spec.template.spec.terminationGracePeriodSeconds, 30);
  assert.equal(d.spec.template.spec.enableServiceLinks, undefined, 'templates do not get Pod-only defaults');
  assert.deepEqual(d.status, {});
  assert.equal(d.metadata!.generation, 1);
  assert.deepEqual(def('apps', 'v1', 'deployments').validate!(d), []);
});

test('statefulset and daemonset defaults', () => {
  const s = create(def('apps', 'v1', 'statefulsets'), { spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: podSpec() } } });
  assert.equal(s.spec.podManagementPolicy, 'OrderedReady');
  assert.deepEqual(s.spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { partition: 0 } });
  assert.deepEqual(s.spec.persistentVolumeClaimRetentionPolicy, { whenDeleted: 'Retain', whenScaled: 'Retain' });
  const ds = create(def('apps', 'v1', 'daemonsets'), { spec: {} });
  assert.deepEqual(ds.spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
  assert.equal(ds.spec.revisionHistoryLimit, 10);
});

test('bare service defaults match upstream', () => {
  const svc = create(def('', 'v1', 'services'), { metadata: { name: 's' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } });
  assert.deepEqual(svc.spec, {
    selector: { app: 'web' }, ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }],
    type: 'ClusterIP', sessionAffinity: 'None', internalTrafficPolicy: 'Cluster',
  });
  assert.deepEqual(svc.status, { loadBalancer: {} });
  const np = create(def('', 'v1', 'services'), { spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } });
  assert.equal(np.spec.externalTrafficPolicy, 'Cluster');
  assert.equal(np.spec.allocateLoadBalancerNodePorts, true);
});

test('service type change LoadBalancer → ClusterIP drops LB-only fields and status; loadBalancerClass rules', () => {
  const d = def('', 'v1', 'services');
  const old = create(d, { metadata: { name: 's' }, spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: 80, nodePort: 30080 }] } });
  old.status = { loadBalancer: { ingress: [{ ip: '10.45.0.1', ipMode: 'VIP' }] } };
  const next = structuredClone(old);
  next.spec.type = 'ClusterIP';
  d.defaults!(next);
  d.prepareForUpdate!(next, old);
  assert.equal(next.spec.ports[0].nodePort, undefined);
  assert.equal(next.spec.externalTrafficPolicy, undefined);
  assert.equal(next.spec.allocateLoadBalancerNodePorts, undefined);
  assert.deepEqual(next.status, { loadBalancer: {} });
  assert.deepEqual(paths(d, next, old), []);
  // a class only on LoadBalancers, and fixed once set
  const classed = structuredClone(old);
  classed.spec.loadBalancerClass = 'example.com/lb';
  assert.deepEqual(paths(d, classed), []);
  assert.deepEqual(paths(d, classed, old), ['spec.loadBalancerClass']);
  assert.deepEqual(paths(d, { ...next, spec: { ...next.spec, loadBalancerClass: 'example.com/lb' } }), ['spec.loadBalancerClass']);
  assert.deepEqual(paths(d, { ...old, spec: { ...old.spec, loadBalancerIP: 'nope' } }), ['spec.loadBalancerIP']);
});

test('bare job defaults and generated selector', () => {
  const job = create(def('batch', 'v1', 'jobs'), {
    metadata: { name: 'pi', namespace: 'default', uid: 'u-1' },
    spec: { template: { spec: { containers: [{ name: 'pi', image: 'perl:5' }], restartPolicy: 'Never' } } },
  });
  assert.equal(job.spec.completions, 1);
  assert.equal(job.spec.parallelism, 1);
  assert.equal(job.spec.backoffLimit, 6);
  assert.equal(job.spec.completionMode, 'NonIndexed');
  assert.equal(job.spec.suspend, false);
  assert.equal(job.spec.podReplacementPolicy, 'TerminatingOrFailed');
  assert.deepEqual(job.spec.selector, { matchLabels: { 'batch.kubernetes.io/controller-uid': 'u-1' } });
  assert.deepEqual(job.spec.template.metadata.labels, {
    'batch.kubernetes.io/controller-uid': 'u-1', 'batch.kubernetes.io/job-name': 'pi', 'controller-uid': 'u-1', 'job-name': 'pi',
  });
  assert.deepEqual(job.metadata!.labels, job.spec.template.metadata.labels);
  assert.deepEqual(def('batch', 'v1', 'jobs').validate!(job), []);
  // selector and template are immutable
  const changed = structuredClone(job);
  changed.spec.template.spec.containers[0].image = 'perl:6';
  assert.deepEqual(paths(def('batch', 'v1', 'jobs'), changed, job), ['spec.template']);
});

test('cronjob, namespace, secret, storage defaults', () => {
  const cj = create(def('batch', 'v1', 'cronjobs'), { spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: { spec: podSpec() } } } } });
  assert.equal(cj.spec.concurrencyPolicy, 'Allow');
  assert.equal(cj.spec.successfulJobsHistoryLimit, 3);
  assert.equal(cj.spec.failedJobsHistoryLimit, 1);
  assert.equal(cj.spec.suspend, false);
  const ns = create(def('', 'v1', 'namespaces'), { metadata: { name: 'team' } });
  assert.deepEqual(ns.status, { phase: 'Active' });
  assert.deepEqual(ns.spec, { finalizers: ['kubernetes'] });
  assert.equal(ns.metadata!.labels!['kubernetes.io/metadata.name'], 'team');
  const sec = create(def('', 'v1', 'secrets'), { stringData: { user: 'admin' } });
  assert.equal(sec.type, 'Opaque');
  assert.deepEqual(sec.data, { user: Buffer.from('admin').toString('base64') });
  assert.equal(sec.stringData, undefined);
  const sc = create(def('storage.k8s.io', 'v1', 'storageclasses'), { provisioner: 'rancher.io/local-path' });
  assert.equal(sc.reclaimPolicy, 'Delete');
  assert.equal(sc.volumeBindingMode, 'Immediate');
  const pv = create(def('', 'v1', 'persistentvolumes'), { spec: { hostPath: { path: '/x' } } });
  assert.equal(pv.spec.persistentVolumeReclaimPolicy, 'Retain');
  assert.equal(pv.spec.volumeMode, 'Filesystem');
  assert.equal(pv.status.phase, 'Pending');
  const pc = create(def('scheduling.k8s.io', 'v1', 'priorityclasses'), { value: 10 });
  assert.equal(pc.preemptionPolicy, 'PreemptLowerPriority');
  const np = create(def('networking.k8s.io', 'v1', 'networkpolicies'), { spec: { egress: [{ ports: [{ port: 53 }] }] } });
  assert.deepEqual(np.spec.policyTypes, ['Ingress', 'Egress']);
  assert.equal(np.spec.egress[0].ports[0].protocol, 'TCP');
  const wh = create(def('admissionregistration.k8s.io', 'v1', 'validatingwebhookconfigurations'), { webhooks: [{ name: 'a.b.c', clientConfig: { service: { name: 's', namespace: 'n' } } }] });
  assert.deepEqual(wh.webhooks[0], {
    name: 'a.b.c', clientConfig: { service: { name: 's', namespace: 'n', port: 443 } }, failurePolicy: 'Fail', matchPolicy: 'Equivalent',
    namespaceSelector: {}, objectSelector: {}, timeoutSeconds: 10,
  });
  const rb = create(def('rbac.authorization.k8s.io', 'v1', 'rolebindings'), { roleRef: { kind: 'Role', name: 'r' }, subjects: [{ kind: 'User', name: 'u' }, { kind: 'ServiceAccount', name: 'sa', namespace: 'n' }] });
  assert.equal(rb.roleRef.apiGroup, 'rbac.authorization.k8s.io');
  assert.equal(rb.subjects[0].apiGroup, 'rbac.authorization.k8s.io');
  assert.equal(rb.subjects[1].apiGroup, undefined);
});

// ------------------------------------------------------------ validation

test('validateName uses upstream messages', () => {
  assert.deepEqual(validateName('ok-name', 'label'), []);
  assert.deepEqual(validateName('Bad_Name', 'subdomain'), [
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
  ]);
  assert.equal(validateName('a.b', 'label').length, 1);
  assert.deepEqual(validateName('system:admin', 'path'), []);
  assert.deepEqual(validateName('a/b', 'path'), ["may not contain '/'"]);
  assert.equal(validateName('x'.repeat(64), 'label')[0], 'must be no more than 63 characters');
});

test('invalid pods report upstream field paths', () => {
  const pods = def('', 'v1', 'pods');
  const v = (spec: any, meta: any = { name: 'p' }) => {
    const o = { metadata: meta, spec };
    pods.defaults!(o);
    return paths(pods, o);
  };
  assert.deepEqual(v({ containers: [] }), ['spec.containers']);
  assert.deepEqual(v({ containers: [{ name: 'Bad_Name', image: 'x' }] }), ['spec.containers[0].name']);
  assert.deepEqual(v({ containers: [{ name: 'a', image: 'x' }, { name: 'a', image: 'y' }] }), ['spec.containers[1].name']);
  assert.deepEqual(v({ containers: [{ name: 'a' }] }), ['spec.containers[0].image']);
  assert.deepEqual(v({ containers: [{ name: 'a', image: 'x', ports: [{ containerPort: 70000 }] }] }), ['spec.containers[0].ports[0].containerPort']);
  assert.deepEqual(v({ restartPolicy: 'Sometimes', containers: [{ name: 'a', image: 'x' }] }), ['spec.restartPolicy']);
  assert.deepEqual(v({ containers: [{ name: 'a', image: 'x', resources: { requests: { cpu: '2' }, limits: { cpu: '1' } } }] }), ['spec.containers[0].resources.requests[cpu]']);
  assert.deepEqual(v({ containers: [{ name: 'a', image: 'x', volumeMounts: [{ name: 'nope', mountPath: '/x' }] }] }), ['spec.containers[0].volumeMounts[0].name']);
  assert.deepEqual(v(podSpec(), { name: 'p', labels: { 'bad key!': 'v' } }), ['metadata.labels']);
  const errs = pods.validate!({ spec: { containers: [{ name: 'a', image: 'x', imagePullPolicy: 'Always', terminationMessagePolicy: 'File', resources: { requests: { cpu: '2' }, limits: { cpu: '1' } } }], restartPolicy: 'Always', dnsPolicy: 'ClusterFirst' } });
  assert.equal(errs[0].message, 'Invalid value: "2": must be less than or equal to cpu limit of 1');
  // spec is immutable on update except images
  const old = create(pods, { metadata: { name: 'p' }, spec: podSpec() });
  const img = structuredClone(old); img.spec.containers[0].image = 'nginx:2';
  assert.deepEqual(paths(pods, img, old), []);
  const port = structuredClone(old); port.spec.containers[0].ports = [{ containerPort: 1, protocol: 'TCP' }];
  assert.deepEqual(paths(pods, port, old), ['spec']);
});

test('invalid workloads report upstream field paths', () => {
  const deploy = def('apps', 'v1', 'deployments');
  const d = create(deploy, { spec: { selector: { matchLabels: { app: 'a' } }, template: { metadata: { labels: { app: 'b' } }, spec: podSpec() } } });
  const errs = deploy.validate!(d);
  assert.deepEqual(errs.map((e) => e.field), ['spec.template.metadata.labels']);
  assert.match(errs[0].message, /`selector` does not match template `labels`/);
  const noSel = create(deploy, { spec: { template: { spec: podSpec() } } });
  assert.deepEqual(paths(deploy, noSel), ['spec.selector']);
  const neg = create(deploy, { spec: { replicas: -1, selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { ...podSpec(), restartPolicy: 'Never' } } } });
  assert.deepEqual(paths(deploy, neg), ['spec.replicas', 'spec.template.spec.restartPolicy']);
  const sel2 = structuredClone(d); sel2.spec.selector = { matchLabels: { app: 'b' } };
  assert.deepEqual(paths(deploy, sel2, create(deploy, { spec: { selector: { matchLabels: { app: 'b' } }, template: { metadata: { labels: { app: 'b' } }, spec: podSpec() } } })), []);
  assert.deepEqual(paths(deploy, sel2, d), ['spec.selector']);

  const jobs = def('batch', 'v1', 'jobs');
  const j = create(jobs, { metadata: { name: 'j', uid: 'u' }, spec: { template: { spec: podSpec() } } });
  assert.deepEqual(paths(jobs, j), ['spec.template.spec.restartPolicy']);

  const cj = def('batch', 'v1', 'cronjobs');
  const c = create(cj, { metadata: { name: 'c' }, spec: { schedule: 'every minute', jobTemplate: { spec: { template: { spec: { ...podSpec(), restartPolicy: 'OnFailure' } } } } } });
  assert.deepEqual(paths(cj, c), ['spec.schedule']);
  c.spec.schedule = '@hourly';
  assert.deepEqual(paths(cj, c), []);
});

test('cron schedules', () => {
  for (const ok of ['* * * * *', '*/15 0-6 1,15 * mon-fri', '0 0 * jan sun', '@daily', '@every 1h30m', '5 4 * * 7']) assert.equal(cronScheduleError(ok), undefined, ok);
  assert.match(cronScheduleError('* * * *')!, /expected exactly 5 fields, found 4/);
  assert.match(cronScheduleError('60 * * * *')!, /above maximum/);
  assert.ok(cronScheduleError('@sometimes'));
});

test('invalid services, config and others report upstream field paths', () => {
  const svc = def('', 'v1', 'services');
  const s = (spec: any, name = 'svc') => { const o = { metadata: { name }, spec }; svc.defaults!(o); return paths(svc, o); };
  assert.deepEqual(s({}), ['spec.ports']);
  assert.deepEqual(s({ clusterIP: 'None' }), []);
  assert.deepEqual(s({ type: 'ExternalName', externalName: 'example.com' }), []);
  assert.deepEqual(s({ ports: [{ port: 80 }, { port: 81 }] }), ['spec.ports[0].name', 'spec.ports[1].name']);
  assert.deepEqual(s({ ports: [{ name: 'a', port: 80 }, { name: 'a', port: 81 }] }), ['spec.ports[1].name']);
  assert.deepEqual(s({ type: 'Weird', ports: [{ port: 80 }] }), ['spec.type']);
  assert.deepEqual(s({ type: 'NodePort', ports: [{ port: 80, nodePort: 80 }] }), ['spec.ports[0].nodePort']);
  assert.deepEqual(s({ ports: [{ port: 80 }] }, '1abc'), ['metadata.name']);
  const old = create(svc, { metadata: { name: 'x' }, spec: { ports: [{ port: 80 }], clusterIP: '10.43.0.7' } });
  const upd = structuredClone(old); upd.spec.clusterIP = '10.43.0.8';
  assert.deepEqual(paths(svc, upd, old), ['spec.clusterIPs[0]']);
  const omitted = structuredClone(old); delete omitted.spec.clusterIP;
  svc.prepareForUpdate!(omitted, old);
  assert.equal(omitted.spec.clusterIP, '10.43.0.7');

  const cm = def('', 'v1', 'configmaps');
  assert.deepEqual(paths(cm, { data: { 'ok.key': '1', 'bad key': '2' } }), ['data[bad key]']);
  const frozen = { immutable: true, data: { a: '1' } };
  assert.deepEqual(paths(cm, { immutable: true, data: { a: '2' } }, frozen), ['data']);

  const ing = def('networking.k8s.io', 'v1', 'ingresses');
  assert.deepEqual(paths(ing, { spec: { rules: [{ host: 'a.example.com', http: { paths: [{ path: '/', backend: { service: { name: 'web', port: { number: 80 } } } }] } }] } }), ['spec.rules[0].http.paths[0].pathType']);
  assert.deepEqual(paths(ing, { spec: { rules: [{ http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: {} } } }] } }] } }), ['spec.rules[0].http.paths[0].backend.service.port']);

  assert.deepEqual(paths(def('rbac.authorization.k8s.io', 'v1', 'roles'), { rules: [{ apiGroups: [''], resources: ['pods'] }] }), ['rules[0].verbs']);
  assert.deepEqual(paths(def('rbac.authorization.k8s.io', 'v1', 'clusterrolebindings'), { roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'x' }, subjects: [{ kind: 'ServiceAccount', name: 'sa' }] }), ['roleRef.kind', 'subjects[0].namespace']);
  assert.deepEqual(paths(def('scheduling.k8s.io', 'v1', 'priorityclasses'), { metadata: { name: 'high' }, value: 2000000000, preemptionPolicy: 'PreemptLowerPriority' }), ['value']);
  assert.deepEqual(paths(def('', 'v1', 'persistentvolumeclaims'), { spec: { volumeMode: 'Filesystem' } }), ['spec.accessModes', 'spec.resources[storage]']);
  assert.deepEqual(paths(def('', 'v1', 'namespaces'), { metadata: { name: 'x' }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } }), []);
  assert.deepEqual(paths(def('coordination.k8s.io', 'v1', 'leases'), { spec: { leaseDurationSeconds: 0 } }), ['spec.leaseDurationSeconds']);
  assert.deepEqual(paths(def('policy', 'v1', 'poddisruptionbudgets'), { spec: { minAvailable: 1, maxUnavailable: 1 } }), ['spec']);
  assert.deepEqual(paths(def('admissionregistration.k8s.io', 'v1', 'mutatingwebhookconfigurations'), create(def('admissionregistration.k8s.io', 'v1', 'mutatingwebhookconfigurations'), { webhooks: [{ name: 'short', clientConfig: { url: 'https://x/y' } }] })), ['webhooks[0].name', 'webhooks[0].admissionReviewVersions', 'webhooks[0].sideEffects']);
  const crd = def('apiextensions.k8s.io', 'v1', 'customresourcedefinitions');
  const goodCrd = create(crd, { metadata: { name: 'widgets.example.com' }, spec: { group: 'example.com', scope: 'Namespaced', names: { plural: 'widgets', kind: 'Widget' }, versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } }] } });
  assert.deepEqual(paths(crd, goodCrd), []);
  assert.equal(goodCrd.spec.names.singular, 'widget');
  assert.equal(goodCrd.spec.names.listKind, 'WidgetList');
  assert.deepEqual(goodCrd.status.storedVersions, ['v1']);
});

test('quantities parse', () => {
  assert.equal(parseQuantity('100m'), 0.1);
  assert.equal(parseQuantity('1Gi'), 2 ** 30);
  assert.equal(parseQuantity('2'), 2);
  assert.equal(parseQuantity('1e3'), 1000);
  assert.equal(parseQuantity('abc'), undefined);
});

// ------------------------------------------------------------ conversions

test('HPA v1 ↔ v2 round-trips', () => {
  const v1def = def('autoscaling', 'v1', 'horizontalpodautoscalers');
  const v1: KubeObject = {
    apiVersion: 'autoscaling/v1', kind: 'HorizontalPodAutoscaler', metadata: { name: 'h', namespace: 'default' },
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, minReplicas: 1, maxReplicas: 5, targetCPUUtilizationPercentage: 50 },
    status: { currentReplicas: 2, desiredReplicas: 3, currentCPUUtilizationPercentage: 40 },
  };
  const stored = v1def.toStorage!(v1);
  assert.equal(stored.apiVersion, 'autoscaling/v2');
  assert.deepEqual(stored.spec.metrics, [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }]);
  assert.deepEqual(stored.status.currentMetrics, [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 40 } } }]);
  assert.deepEqual(v1def.fromStorage!(stored), v1);

  const v2: KubeObject = {
    apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'h', namespace: 'default' },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, minReplicas: 2, maxReplicas: 9,
      metrics: [
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
        { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '100Mi' } } },
      ],
      behavior: { scaleDown: { stabilizationWindowSeconds: 60 } },
    },
    status: { currentReplicas: 2, desiredReplicas: 2, conditions: [{ type: 'AbleToScale', status: 'True' }] },
  };
  const asV1 = hpaV2ToV1(v2);
  assert.equal(asV1.spec.targetCPUUtilizationPercentage, 70);
  assert.ok(asV1.metadata!.annotations!['autoscaling.alpha.kubernetes.io/metrics']);
  assert.deepEqual(hpaV1ToV2(asV1), v2);
  // v1 without a target gets upstream's default 80% CPU once stored
  const bare = v1def.toStorage!({ apiVersion: 'autoscaling/v1', kind: 'HorizontalPodAutoscaler', metadata: { name: 'x' }, spec: { scaleTargetRef: { kind: 'Deployment', name: 'w' }, maxReplicas: 3 } });
  assert.equal(bare.spec.minReplicas, 1);
  assert.equal(v1def.fromStorage!(bare).spec.targetCPUUtilizationPercentage, 80);
});

test('HPA v2 behavior defaults', () => {
  const h = create(def('autoscaling', 'v2', 'horizontalpodautoscalers'), { spec: { behavior: { scaleDown: { stabilizationWindowSeconds: 60 } } } });
  assert.deepEqual(h.spec.behavior, {
    scaleDown: { stabilizationWindowSeconds: 60, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] },
    scaleUp: { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 4, periodSeconds: 15 }, { type: 'Percent', value: 100, periodSeconds: 15 }] },
  });
});

test('events.k8s.io/v1 ↔ core/v1 Event round-trips', () => {
  const ev: KubeObject = {
    apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { name: 'e', namespace: 'default' },
    eventTime: '2026-01-01T00:00:00.000000Z', reportingController: 'k8ts/scheduler', reportingInstance: 'sched-1',
    action: 'Binding', reason: 'Scheduled', note: 'assigned default/p to n1', type: 'Normal',
    regarding: { kind: 'Pod', namespace: 'default', name: 'p' }, deprecatedCount: 2, deprecatedSource: { component: 'scheduler' },
  };
  const core = eventToCore(ev);
  assert.equal(core.apiVersion, 'v1');
  assert.equal(core.message, ev.note);
  assert.deepEqual(core.involvedObject, ev.regarding);
  assert.equal(core.reportingComponent, 'k8ts/scheduler');
  assert.equal(core.count, 2);
  assert.deepEqual(core.source, { component: 'scheduler' });
  assert.deepEqual(eventFromCore(core), ev);
  const d = def('events.k8s.io', 'v1', 'events');
  assert.deepEqual(d.validate!(ev), []);
  assert.deepEqual(d.fromStorage!(d.toStorage!(ev)), ev);
  const legacy = { apiVersion: 'v1', kind: 'Event', metadata: { name: 'x', namespace: 'default' }, involvedObject: { kind: 'Pod', name: 'p' }, message: 'hi', reason: 'R', count: 1, firstTimestamp: '2026-01-01T00:00:00Z', lastTimestamp: '2026-01-01T00:00:00Z', type: 'Normal', source: { component: 'kubelet', host: 'n1' } };
  assert.deepEqual(eventToCore(eventFromCore(legacy)), legacy);
  assert.deepEqual(paths(d, { metadata: { name: 'x' }, type: 'Normal' }), ['eventTime', 'reportingController', 'reportingInstance', 'action', 'reason']);
});
