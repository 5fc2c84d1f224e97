import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { addLists, exceeded, maskList, matchingResources, podConstraints, podUsage, prettyPrint, quotaMatches, subtractLists, usageForQuota, usageOf } from './quota.js';

const pod = (name: string, cpu?: string, mem?: string, extra: Record<string, unknown> = {}) => ({
  metadata: { name, namespace: 'ns' },
  spec: { containers: [{ name: 'c', resources: { requests: { ...(cpu ? { cpu } : {}), ...(mem ? { memory: mem } : {}) }, limits: { ...(cpu ? { cpu } : {}) } } }], ...extra },
  status: { phase: 'Running' },
});

describe('quota math', () => {
  it('adds, subtracts and compares resource lists with quantities', () => {
    assert.deepEqual(addLists({ cpu: '500m', pods: '1' }, { cpu: '1', memory: '1Gi' }), { cpu: '1500m', pods: '1', memory: '1Gi' });
    assert.deepEqual(subtractLists({ cpu: '1' }, { cpu: '250m' }), { cpu: '750m' });
    assert.deepEqual(exceeded({ pods: '3', cpu: '1' }, { pods: '2', cpu: '2', memory: '1Gi' }), ['pods']);
    assert.deepEqual(exceeded({ pods: '2' }, { pods: '2' }), []);
    assert.deepEqual(maskList({ pods: '1', cpu: '1' }, ['pods']), { pods: '1' });
    assert.equal(prettyPrint({ pods: '10', 'requests.cpu': '1000m' }), 'pods=10,requests.cpu=1');
  });

  it('computes pod usage: requests, limits, init containers, terminal pods', () => {
    const p = pod('a', '250m', '64Mi');
    assert.deepEqual(podUsage(p), { 'count/pods': '1', pods: '1', cpu: '250m', 'requests.cpu': '250m', 'limits.cpu': '250m', memory: '64Mi', 'requests.memory': '64Mi' });
    const withInit = { ...p, spec: { ...p.spec, initContainers: [{ name: 'i', resources: { requests: { cpu: '2' } } }] } };
    assert.equal(podUsage(withInit)['requests.cpu'], '2');
    assert.deepEqual(podUsage({ ...p, status: { phase: 'Succeeded' } }), { 'count/pods': '1' });
  });

  it('computes services and pvc usage', () => {
    const svc = { spec: { type: 'LoadBalancer', ports: [{ port: 80 }, { port: 443 }] } };
    assert.deepEqual(usageOf('', 'services', svc), { 'count/services': '1', services: '1', 'services.nodeports': '2', 'services.loadbalancers': '1' });
    const pvc = { spec: { storageClassName: 'fast', resources: { requests: { storage: '1Gi' } } } };
    assert.equal(usageOf('', 'persistentvolumeclaims', pvc)['requests.storage'], '1Gi');
    assert.equal(usageOf('', 'persistentvolumeclaims', pvc)['fast.storageclass.storage.k8s.io/requests.storage'], '1Gi');
    assert.deepEqual(usageOf('apps', 'deployments', {}), { 'count/deployments.apps': '1' });
  });

  it('matches resources and scopes', () => {
    assert.deepEqual(matchingResources('', 'pods', ['pods', 'services', 'requests.cpu', 'count/pods', 'configmaps']), ['count/pods', 'pods', 'requests.cpu']);
    assert.deepEqual(matchingResources('', 'configmaps', ['pods', 'configmaps']), ['configmaps']);
    const best = { status: { hard: { pods: '5' } }, spec: { hard: { pods: '5' }, scopes: ['BestEffort'] } };
    assert.equal(quotaMatches(best, '', 'pods', pod('x')), true);
    assert.equal(quotaMatches(best, '', 'pods', pod('x', '1')), false);
    assert.equal(quotaMatches(best, '', 'configmaps', {}), false);
    const prio = { status: { hard: { pods: '5' } }, spec: { scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass', operator: 'In', values: ['high'] }] } } };
    assert.equal(quotaMatches(prio, '', 'pods', pod('x', undefined, undefined, { priorityClassName: 'high' })), true);
    assert.equal(quotaMatches(prio, '', 'pods', pod('x')), false);
  });

  it('requires requests when the quota limits them', () => {
    assert.equal(podConstraints(['requests.cpu', 'pods'], pod('x')), 'must specify requests.cpu for: c');
    assert.equal(podConstraints(['requests.cpu'], pod('x', '1')), undefined);
    assert.equal(podConstraints(['pods'], pod('x')), undefined);
  });

  it('sums usage for a quota over objects', () => {
    const quota = { spec: { hard: { pods: '10', 'requests.cpu': '4', 'requests.memory': '1Gi' } } };
    const used = usageForQuota(quota, '', 'pods', [pod('a', '500m', '128Mi'), pod('b', '1'), { ...pod('c', '1'), status: { phase: 'Failed' } }]);
    assert.deepEqual(used, { pods: '2', 'requests.cpu': '1500m', 'requests.memory': '128Mi' });
  });
});
