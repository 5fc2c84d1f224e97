import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson, revisionHash, scaledValue, slowStart, templatePatch } from './history.js';
import { availability } from './util/podReady.js';

test('canonicalJson sorts keys at every level and drops undefined', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: undefined } }), '{"a":{"d":[{"y":2,"z":1}]},"b":1}');
});

test('revisionHash is stable across key order and changes with data and collisionCount', () => {
  const a = revisionHash({ x: 1, y: { a: 1, b: 2 } });
  assert.equal(a, revisionHash({ y: { b: 2, a: 1 }, x: 1 }));
  assert.notEqual(a, revisionHash({ x: 2, y: { a: 1, b: 2 } }));
  assert.notEqual(a, revisionHash({ x: 1, y: { a: 1, b: 2 } }, 1));
  assert.match(a, /^[bcdfghjklmnpqrstvwxz2456789]+$/);
});

test('templatePatch replaces the template and looks like Go typed encoding', () => {
  const data = templatePatch({ spec: { replicas: 3, template: { spec: { containers: [{ name: 'c', image: 'i' }] }, metadata: { labels: { app: 'a' } } } } });
  assert.equal(
    JSON.stringify(data),
    '{"spec":{"template":{"$patch":"replace","metadata":{"creationTimestamp":null,"labels":{"app":"a"}},"spec":{"containers":[{"image":"i","name":"c","resources":{}}]}}}}',
  );
});

test('availability honours minReadySeconds', () => {
  const now = Date.parse('2024-01-01T00:00:10Z');
  const pod = { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2024-01-01T00:00:05Z' }] } };
  assert.deepEqual(availability(pod, 0, now), [true, 0]);
  assert.deepEqual(availability(pod, 5, now), [true, 0]);
  assert.deepEqual(availability(pod, 8, now), [false, 3000]);
  assert.deepEqual(availability({ status: { phase: 'Running' } }, 0, now), [false, 0]);
});

test('scaledValue resolves ints and percentages', () => {
  assert.equal(scaledValue(undefined, 10, true, 1), 1);
  assert.equal(scaledValue(2, 10, true, 1), 2);
  assert.equal(scaledValue('25%', 10, true, 1), 3);
  assert.equal(scaledValue('25%', 10, false, 1), 2);
});

test('slowStart runs batches of 1, 2, 4… and stops after a failing batch', async () => {
  const seen: number[] = [];
  let active = 0;
  let peak = 0;
  await slowStart([1, 2, 3, 4, 5, 6, 7], async (n) => {
    active++;
    peak = Math.max(peak, active);
    await new Promise((r) => setTimeout(r, 1));
    seen.push(n);
    active--;
  });
  assert.equal(seen.length, 7);
  assert.equal(peak, 4);
  const calls: number[] = [];
  await assert.rejects(slowStart([1, 2, 3, 4, 5, 6, 7], async (n) => {
    calls.push(n);
    if (n === 2) throw new Error('boom');
  }), /boom/);
  assert.deepEqual(calls.sort(), [1, 2, 3]); // the second batch failed; nothing after it ran
});
