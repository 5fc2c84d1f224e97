import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../api/kind.js';
import { podsToDelete, replicaCounts, slowStartBatch } from './replicaset.js';
import { rcSelects } from './replicationController.js';
import { Expectations } from './util/expectations.js';
import { isPodAvailable } from './util/podReady.js';

const now = Date.parse('2026-01-01T01:00:00Z');
const ago = (s: number) => new Date(now - s * 1000).toISOString();
const pod = (name: string, o: { node?: string; phase?: string; ready?: boolean; readySince?: number; created?: number; restarts?: number; labels?: Record<string, string>; cost?: number } = {}): KubeObject => ({
  metadata: { name, namespace: 'ns', uid: name, creationTimestamp: ago(o.created ?? 3000), labels: o.labels ?? { app: 'web' }, annotations: o.cost !== undefined ? { 'controller.kubernetes.io/pod-deletion-cost': String(o.cost) } : {} },
  spec: { nodeName: o.node ?? 'n1' },
  status: {
    phase: o.phase ?? 'Running',
    conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True', lastTransitionTime: ago(o.readySince ?? 2000) }],
    containerStatuses: [{ restartCount: o.restarts ?? 0 }],
  },
});
const names = (ps: KubeObject[]) => ps.map((p) => p.metadata!.name);

test('scale down picks unscheduled, pending, not-ready, cheap, doubled-up, newer pods first', () => {
  const pods = [pod('old'), pod('unscheduled', { node: '' }), pod('pending', { phase: 'Pending', ready: false }), pod('notready', { ready: false }), pod('cheap', { cost: -5 })];
  assert.deepEqual(names(podsToDelete(pods, pods, 4, now)), ['unscheduled', 'pending', 'notready', 'cheap']);
  // doubled up on a node with related pods goes before a lone one
  const a = pod('lonely', { node: 'n1' });
  const b = pod('crowded', { node: 'n2' });
  const related = [a, b, pod('sib1', { node: 'n2' }), pod('sib2', { node: 'n2' })];
  assert.deepEqual(names(podsToDelete([a, b], related, 1, now)), ['crowded']);
  // ready more recently goes first; then restarts; then newer
  assert.deepEqual(names(podsToDelete([pod('long', { readySince: 3000 }), pod('recent', { readySince: 10 })], [], 1, now)), ['recent']);
  assert.deepEqual(names(podsToDelete([pod('calm'), pod('flappy', { restarts: 5 })], [], 1, now)), ['flappy']);
  assert.deepEqual(names(podsToDelete([pod('older', { created: 4000, readySince: 2000 }), pod('newer', { created: 10, readySince: 2000 })], [], 1, now)), ['newer']);
  assert.equal(podsToDelete(pods, pods, 9, now).length, pods.length);
});

test('slow start: batches of 1, 2, 4, ... stopping after a failing batch', async () => {
  let calls = 0;
  const r = await slowStartBatch(10, 1, async () => {
    calls++;
    if (calls === 5) throw new Error('quota');
  });
  // batches 1, 2, 4: the third batch has one failure, nothing after it
  assert.equal(calls, 7);
  assert.equal(r.successes, 6);
  assert.equal((r.error as Error).message, 'quota');
  let n = 0;
  const ok = await slowStartBatch(5, 1, async () => void n++);
  assert.deepEqual([ok.successes, n, ok.error], [5, 5, undefined]);
});

test('expectations hold the controller back until creations and deletions are observed', () => {
  let t = 0;
  const e = new Expectations(1000, () => t);
  assert.ok(e.satisfied('ns/rs'), 'unknown key: act');
  e.expectCreations('ns/rs', 2);
  assert.ok(!e.satisfied('ns/rs'));
  e.creationObserved('ns/rs');
  assert.ok(!e.satisfied('ns/rs'));
  e.creationObserved('ns/rs');
  assert.ok(e.satisfied('ns/rs'));
  e.expectDeletions('ns/rs', ['ns/a', 'ns/b']);
  e.deletionObserved('ns/rs', 'ns/a');
  e.deletionObserved('ns/rs', 'ns/a'); // the same pod seen twice counts once
  assert.ok(!e.satisfied('ns/rs'));
  t = 1001;
  assert.ok(e.satisfied('ns/rs'), 'expired: act anyway');
  e.delete('ns/rs');
  assert.equal(e.pending('ns/rs'), undefined);
});

test('status counts: fully labeled, ready, available after minReadySeconds', () => {
  const rs: KubeObject = { spec: { minReadySeconds: 60, template: { metadata: { labels: { app: 'web', tier: 'fe' } } } } };
  const pods = [pod('a', { labels: { app: 'web', tier: 'fe' } }), pod('b', { readySince: 30 }), pod('c', { ready: false })];
  assert.deepEqual(replicaCounts(rs, pods, now), { replicas: 3, fullyLabeledReplicas: 1, readyReplicas: 2, availableReplicas: 1 });
  assert.ok(isPodAvailable(pods[1], 0, now));
  assert.ok(!isPodAvailable(pods[1], 60, now));
});

test('RC selector: equality on every key; empty selects nothing', () => {
  assert.ok(rcSelects({ spec: { selector: { app: 'a' } } }, { app: 'a', x: 'y' }));
  assert.ok(!rcSelects({ spec: { selector: { app: 'a', t: 'b' } } }, { app: 'a' }));
  assert.ok(!rcSelects({ spec: { selector: {} } }, { app: 'a' }));
});
