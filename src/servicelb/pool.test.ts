import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AddressPool, parsePool } from './pool.js';

describe('parsePool', () => {
  it('reads CIDRs (without network/broadcast), ranges, single addresses, and merges them', () => {
    const p = new AddressPool('10.44.0.0/30');
    assert.equal(p.size, 2);
    assert.equal(p.contains('10.44.0.0'), false);
    assert.equal(p.contains('10.44.0.1'), true);
    assert.equal(p.contains('10.44.0.3'), false);
    assert.equal(new AddressPool('10.44.0.7/32').size, 1);
    assert.equal(new AddressPool('10.44.0.10-10.44.0.20').size, 11);
    assert.deepEqual(parsePool('10.44.0.5, 10.44.0.1-10.44.0.4,10.44.1.0/24'), [
      { first: 0x0a2c0001, last: 0x0a2c0005 },
      { first: 0x0a2c0101, last: 0x0a2c01fe },
    ]);
  });
  it('rejects what is not an address set', () => {
    for (const bad of ['', 'x', '10.44.0.0/33', '10.44.0.9-10.44.0.1', '300.1.1.1', '10.44.0.0/24,nope']) assert.throws(() => parsePool(bad), /pool/, bad);
  });
});

describe('AddressPool', () => {
  it('hands out the lowest free address, across ranges, and reuses released ones', () => {
    const p = new AddressPool('10.44.0.1-10.44.0.2,10.44.0.9');
    assert.equal(p.allocate('a'), '10.44.0.1');
    assert.equal(p.allocate('a'), '10.44.0.1', 'stable for the same key');
    assert.equal(p.allocate('b'), '10.44.0.2');
    assert.equal(p.allocate('c'), '10.44.0.9');
    assert.equal(p.allocate('d'), undefined, 'full');
    p.release('b');
    assert.equal(p.ownerOf('10.44.0.2'), undefined);
    assert.equal(p.allocate('d'), '10.44.0.2');
    assert.equal(p.used, 3);
  });
  it('claims requested addresses only when free and inside', () => {
    const p = new AddressPool('10.44.0.0/29');
    assert.equal(p.claim('a', '10.44.0.3'), true);
    assert.equal(p.claim('b', '10.44.0.3'), false);
    assert.equal(p.claim('b', '10.45.0.3'), false);
    assert.equal(p.claim('a', '10.44.0.3'), true, 'idempotent');
    assert.equal(p.allocate('b'), '10.44.0.1');
    // a claim moves a key: its old address is free again
    assert.equal(p.claim('a', '10.44.0.5'), true);
    assert.equal(p.ownerOf('10.44.0.3'), undefined);
    assert.equal(p.addressOf('a'), '10.44.0.5');
    assert.equal(p.allocate('c'), '10.44.0.2');
    assert.equal(p.allocate('d'), '10.44.0.3');
  });
  it('allocates from a large pool without rescanning from the start', () => {
    const p = new AddressPool('10.44.0.0/16');
    const t = performance.now();
    for (let i = 0; i < 20_000; i++) p.allocate(`s${i}`);
    assert.equal(p.addressOf('s19999'), '10.44.78.32');
    assert.ok(performance.now() - t < 2000);
  });
});
