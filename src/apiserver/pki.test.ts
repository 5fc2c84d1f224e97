import { test } from 'node:test';
import assert from 'node:assert/strict';
import { servingNames } from './pki.js';

test('serving names: host addresses, the service IP, and --tls-san names and addresses', () => {
  const n = servingNames('box', ['192.168.7.1', 'not-an-ip'], '10.43.0.1', ['k8ts.example.test', '203.0.113.9', '']);
  assert.ok(n.dnsNames.includes('box') && n.dnsNames.includes('kubernetes.default.svc.cluster.local'));
  assert.ok(n.dnsNames.includes('k8ts.example.test'));
  assert.ok(!n.dnsNames.includes('203.0.113.9') && !n.dnsNames.includes(''));
  assert.deepEqual(n.ips, ['127.0.0.1', '::1', '10.43.0.1', '192.168.7.1', '203.0.113.9']);
});
