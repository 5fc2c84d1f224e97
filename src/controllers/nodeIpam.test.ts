import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CidrSet } from './nodeIpam.js';

describe('node IPAM CIDR set', () => {
  it('splits the cluster CIDR into /24s and never hands one out twice', () => {
    const s = new CidrSet('10.42.0.0/16', 24);
    assert.equal(s.size, 256);
    assert.ok(s.occupy('10.42.0.0/24'));
    assert.equal(s.allocate(), '10.42.1.0/24');
    assert.equal(s.allocate(), '10.42.2.0/24');
    s.release('10.42.1.0/24');
    const seen = new Set<string>();
    for (let i = 0; i < 254; i++) seen.add(s.allocate()!);
    assert.equal(seen.size, 254);
    assert.ok(!seen.has('10.42.0.0/24') && !seen.has('10.42.2.0/24'));
    assert.equal(s.allocate(), undefined);
  });

  it('rejects ranges outside the set and takes the IPv4 half of dual-stack', () => {
    const s = new CidrSet('fd00::/48,10.42.0.0/16', 24);
    assert.equal(s.indexOf('10.43.0.0/24'), -1);
    assert.equal(s.indexOf('10.42.5.0/25'), -1);
    assert.equal(s.indexOf('10.42.5.0/24'), 5);
  });
});
