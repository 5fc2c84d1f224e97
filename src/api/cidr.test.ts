import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cidrContainsV4, formatIPv4, maskV4, parseCidrV4, parseIPv4 } from './cidr.js';

test('parseIPv4 / formatIPv4 round-trip, reject bad quads', () => {
  assert.equal(parseIPv4('10.42.3.7'), 0x0a2a0307);
  assert.equal(parseIPv4('255.255.255.255'), 0xffffffff);
  assert.equal(formatIPv4(0xc0a80101), '192.168.1.1');
  assert.equal(formatIPv4(parseIPv4('255.0.0.255')!), '255.0.0.255');
  for (const bad of ['10.0.0.256', '10.0.0', 'a.b.c.d', '10.0.0.1/24', '']) assert.equal(parseIPv4(bad), undefined, bad);
});

test('parseCidrV4 clears host bits and checks the prefix', () => {
  assert.deepEqual(parseCidrV4('10.42.7.9/16'), { base: 0x0a2a0000, bits: 16 });
  assert.deepEqual(parseCidrV4(' 0.0.0.0/0 '), { base: 0, bits: 0 });
  assert.deepEqual(parseCidrV4('1.2.3.4/32'), { base: 0x01020304, bits: 32 });
  assert.equal(parseCidrV4('10.0.0.0/33'), undefined);
  assert.equal(parseCidrV4('10.0.0.300/8'), undefined);
  assert.equal(parseCidrV4('fd00::/64'), undefined);
  assert.equal(maskV4(24), 0xffffff00);
});

test('cidrContainsV4', () => {
  assert.ok(cidrContainsV4('10.42.7.0/24', '10.42.7.254'));
  assert.ok(!cidrContainsV4('10.42.7.0/24', '10.42.8.1'));
  assert.ok(cidrContainsV4('0.0.0.0/0', '8.8.8.8'));
  assert.ok(!cidrContainsV4('10.42.7.0/24', 'nope'));
});
