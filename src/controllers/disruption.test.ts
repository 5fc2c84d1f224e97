import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { budgetNumbers, scaledValue } from './disruption.js';

const pod = (name: string, owner?: string): any => ({ metadata: { name, ownerReferences: owner ? [{ kind: 'ReplicaSet', name: owner, uid: owner, controller: true }] : [] } });

describe('disruption budget numbers', () => {
  it('scales percentages up', () => {
    assert.equal(scaledValue(2, 10), 2);
    assert.equal(scaledValue('50%', 3), 2);
    assert.equal(scaledValue('10%', 10), 1);
    assert.throws(() => scaledValue('x', 3));
  });

  it('integer minAvailable counts the matching pods', () => {
    const n = budgetNumbers({ spec: { minAvailable: 2 } }, [pod('a'), pod('b'), pod('c')], () => 'unmanaged');
    assert.deepEqual(n, { expectedCount: 3, desiredHealthy: 2, unmanaged: [] });
  });

  it('percentages and maxUnavailable use the controllers scale', () => {
    const pods = [pod('a', 'rs1'), pod('b', 'rs1'), pod('c', 'rs2')];
    const scale = (p: any) => ({ uid: p.metadata.ownerReferences[0].uid, scale: p.metadata.ownerReferences[0].uid === 'rs1' ? 4 : 2 });
    assert.deepEqual(budgetNumbers({ spec: { minAvailable: '50%' } }, pods, scale), { expectedCount: 6, desiredHealthy: 3, unmanaged: [] });
    assert.deepEqual(budgetNumbers({ spec: { maxUnavailable: 1 } }, pods, scale), { expectedCount: 6, desiredHealthy: 5, unmanaged: [] });
    assert.deepEqual(budgetNumbers({ spec: { maxUnavailable: '100%' } }, pods, scale), { expectedCount: 6, desiredHealthy: 0, unmanaged: [] });
  });

  it('bare pods are unmanaged; pods of unknown controllers fail', () => {
    assert.deepEqual(budgetNumbers({ spec: { maxUnavailable: 1 } }, [pod('a')], () => 'unmanaged'), { expectedCount: 0, desiredHealthy: 0, unmanaged: ['a'] });
    assert.throws(() => budgetNumbers({ spec: { maxUnavailable: 1 } }, [pod('a', 'gone')], () => undefined), /found no controllers for pod "a"/);
  });
});
