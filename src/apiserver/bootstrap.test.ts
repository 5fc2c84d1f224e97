import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterDnsIp, kubeDnsService } from './bootstrap.js';

test('the cluster DNS address is the service CIDR base + 10', () => {
  assert.equal(clusterDnsIp('10.43.0.0/16'), '10.43.0.10');
  assert.equal(clusterDnsIp('10.96.0.0/12'), '10.96.0.10');
  assert.equal(clusterDnsIp('172.20.5.7/24'), '172.20.5.10', 'host bits are cleared first');
  assert.throws(() => clusterDnsIp('nope'));
});

test('kube-dns: no selector, node-local, dns + dns-tcp on 53', () => {
  const s = kubeDnsService('10.43.0.10');
  assert.equal(s.metadata!.namespace, 'kube-system');
  assert.equal(s.metadata!.labels!['k8s-app'], 'kube-dns');
  assert.equal(s.spec.selector, undefined);
  assert.equal(s.spec.internalTrafficPolicy, 'Local');
  assert.deepEqual(s.spec.clusterIPs, ['10.43.0.10']);
  assert.deepEqual(s.spec.ports.map((p: { name: string; port: number; protocol: string }) => `${p.name}:${p.port}/${p.protocol}`), ['dns:53/UDP', 'dns-tcp:53/TCP']);
});
