import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tolerates } from './tolerations.js';

test('tolerations match taints like upstream', () => {
  const taint = { key: 'k', value: 'v', effect: 'NoSchedule' };
  assert.ok(tolerates({ key: 'k', operator: 'Equal', value: 'v', effect: 'NoSchedule' }, taint));
  assert.ok(tolerates({ key: 'k', value: 'v' }, taint)); // Equal by default, any effect
  assert.ok(tolerates({ key: 'k', operator: 'Exists' }, taint));
  assert.ok(tolerates({ operator: 'Exists' }, taint));
  assert.ok(!tolerates({ key: 'k', value: 'w' }, taint));
  assert.ok(!tolerates({ key: 'k' }, taint)); // Equal with no value needs an empty taint value
  assert.ok(!tolerates({ key: 'other', operator: 'Exists' }, taint));
  assert.ok(!tolerates({ key: 'k', operator: 'Exists', effect: 'NoExecute' }, taint));
  assert.ok(!tolerates({ value: 'v' }, taint)); // empty key needs Exists
});

test('node-condition taints (no value)', () => {
  const unreachable = { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' };
  assert.ok(tolerates({ operator: 'Exists' }, unreachable));
  assert.ok(tolerates({ key: unreachable.key, operator: 'Exists', effect: 'NoExecute' }, unreachable));
  assert.ok(tolerates({ key: unreachable.key }, unreachable));
  assert.ok(!tolerates({ key: unreachable.key, operator: 'Exists', effect: 'NoSchedule' }, unreachable));
  assert.ok(!tolerates({ key: unreachable.key, value: 'x' }, unreachable));
});
