import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cidrContainsV4 } from '../api/cidr.js';
import { PodIpam } from './ipam.js';

describe('simulator pod IPAM', () => {
  it('hands out unique addresses inside the node range, skipping network and gateway', () => {
    const ipam = new PodIpam();
    const ips = new Set<string>();
    for (let i = 0; i < 253; i++) {
      const ip = ipam.allocate(`u${i}`, '10.42.7.0/24');
      assert.ok(ip, `allocation ${i} failed`);
      assert.ok(cidrContainsV4('10.42.7.0/24', ip!));
      assert.notEqual(ip, '10.42.7.0');
      assert.notEqual(ip, '10.42.7.1');
      assert.notEqual(ip, '10.42.7.255');
      ips.add(ip!);
    }
    assert.equal(ips.size, 253);
    assert.equal(ipam.allocate('full', '10.42.7.0/24'), undefined);
    ipam.release('u5');
    assert.equal(ipam.allocate('again', '10.42.7.0/24'), '10.42.7.7');
  });

  it('is idempotent per pod and honours reserved addresses', () => {
    const ipam = new PodIpam();
    ipam.reserve('old', '10.1.0.0/24', '10.1.0.2');
    assert.equal(ipam.allocate('new', '10.1.0.0/24'), '10.1.0.3');
    assert.equal(ipam.allocate('new', '10.1.0.0/24'), '10.1.0.3');
    assert.equal(ipam.size, 2);
  });
});
