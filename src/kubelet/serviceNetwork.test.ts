import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chainPrefixFor } from './serviceNetwork.js';
import { serviceSinkName } from './serviceRoute.js';
import { dnsEndpointSlice, dnsSliceName, NODE_AGENT_MANAGER } from './dnsEndpoint.js';

test('chainPrefixFor: KT + 4 hex, stable, distinct per node and bridge', () => {
  const a = chainPrefixFor('vm', 'ksv0a1b2c');
  assert.match(a, /^KT[0-9A-F]{4}$/);
  assert.equal(chainPrefixFor('vm', 'ksv0a1b2c'), a);
  assert.notEqual(chainPrefixFor('vm', 'ksv0a1b2d'), a);
  assert.notEqual(chainPrefixFor('node-2', 'k8ts0'), chainPrefixFor('node-1', 'k8ts0'));
});

test('serviceSinkName: a valid interface name per node and bridge', () => {
  const n = serviceSinkName('a-very-long-node-name.example.com', 'k8ts0');
  assert.ok(n.length <= 15, n);
  assert.match(n, /^ktv[0-9a-f]{8}$/);
  assert.notEqual(serviceSinkName('vm', 'b1'), serviceSinkName('vm', 'b2'));
});

test('dnsEndpointSlice: the node gateway as the one ready endpoint of kube-system/kube-dns', () => {
  const s = dnsEndpointSlice('node-1', '10.42.3.1') as any;
  assert.equal(s.metadata.name, 'kube-dns-node-1');
  assert.equal(dnsSliceName('node-1'), 'kube-dns-node-1');
  assert.equal(s.metadata.namespace, 'kube-system');
  assert.deepEqual(s.metadata.labels, { 'kubernetes.io/service-name': 'kube-dns', 'endpointslice.kubernetes.io/managed-by': NODE_AGENT_MANAGER });
  // label values allow no '/'
  assert.match(NODE_AGENT_MANAGER, /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/);
  assert.equal(s.addressType, 'IPv4');
  assert.deepEqual(s.endpoints, [{ addresses: ['10.42.3.1'], nodeName: 'node-1', conditions: { ready: true, serving: true, terminating: false } }]);
  assert.deepEqual(s.ports, [
    { name: 'dns', port: 53, protocol: 'UDP' },
    { name: 'dns-tcp', port: 53, protocol: 'TCP' },
  ]);
});
