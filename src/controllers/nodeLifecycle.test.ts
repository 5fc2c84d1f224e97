import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readinessTaints, tolerationWindowMs } from './nodeLifecycle.js';

const unreachable = { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' };

describe('node lifecycle: taints and tolerations', () => {
  it('maps Ready status to taints', () => {
    assert.deepEqual(readinessTaints('True'), []);
    assert.deepEqual(readinessTaints('Unknown').map((t) => `${t.key}:${t.effect}`), ['node.kubernetes.io/unreachable:NoSchedule', 'node.kubernetes.io/unreachable:NoExecute']);
    assert.deepEqual(readinessTaints('False').map((t) => t.key), ['node.kubernetes.io/not-ready', 'node.kubernetes.io/not-ready']);
  });

  it('computes the eviction window', () => {
    assert.equal(tolerationWindowMs(undefined, [unreachable]), 0);
    assert.equal(tolerationWindowMs([{ operator: 'Exists' }], [unreachable]), Infinity);
    assert.equal(tolerationWindowMs([{ key: unreachable.key, operator: 'Exists', tolerationSeconds: 300 }, { operator: 'Exists', tolerationSeconds: 30 }], [unreachable]), 30_000);
    assert.equal(tolerationWindowMs([{ key: unreachable.key, operator: 'Exists', tolerationSeconds: 5 }], [unreachable, { key: 'other', effect: 'NoExecute' }]), 0);
  });
});
