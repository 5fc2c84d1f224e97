import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { SchedulingQueue } from './queue.js';
import { newPodInfo } from './podInfo.js';

const pod = (name: string, priority = 0, created = '2026-01-01T00:00:00Z'): Pod => ({ metadata: { name, namespace: 'default', uid: name, creationTimestamp: created }, spec: { containers: [{ name: 'c' }], priority } });

test('active queue pops by priority, then by creation time', () => {
  const q = new SchedulingQueue({ timers: false });
  q.add(newPodInfo(pod('old-low', 0, '2026-01-01T00:00:00Z')));
  q.add(newPodInfo(pod('new-high', 100, '2026-01-01T00:00:05Z')));
  q.add(newPodInfo(pod('newer-low', 0, '2026-01-01T00:00:09Z')));
  q.add(newPodInfo(pod('old-high', 100, '2026-01-01T00:00:01Z')));
  const order = [q.tryPop(), q.tryPop(), q.tryPop(), q.tryPop()].map((x) => x?.info.name);
  assert.deepEqual(order, ['old-high', 'new-high', 'old-low', 'newer-low']);
  assert.equal(q.tryPop(), undefined);
});

test('unschedulable pods wait for a cluster event, then honour back-off', () => {
  let now = 1000;
  const q = new SchedulingQueue({ timers: false, now: () => now });
  q.add(newPodInfo(pod('a')));
  const a = q.tryPop()!;
  q.requeue(a, q.cycle, true);
  assert.deepEqual(q.stats(), { active: 0, backoff: 0, unschedulable: 1, inFlight: 0 });
  now += 100;
  q.flush();
  assert.equal(q.tryPop(), undefined, 'no event: stays parked');
  q.moveAllToActiveOrBackoff('NodeAdd');
  assert.equal(q.stats().backoff, 1, 'still within its 1s back-off');
  assert.equal(q.tryPop(), undefined);
  now += 1000;
  q.flush();
  const again = q.tryPop();
  assert.equal(again?.info.name, 'a');
  assert.equal(again?.attempts, 2);
});

test('back-off doubles from 1s up to 10s', () => {
  const q = new SchedulingQueue({ timers: false });
  const durations = [1, 2, 3, 4, 5, 6].map((attempts) => q.backoffDuration({ attempts } as never));
  assert.deepEqual(durations, [1000, 2000, 4000, 8000, 10000, 10000]);
});

test('an event during a scheduling attempt sends the pod to back-off, not the unschedulable pool', () => {
  let now = 0;
  const q = new SchedulingQueue({ timers: false, now: () => now });
  q.add(newPodInfo(pod('a')));
  const cycle = q.cycle + 1;
  const a = q.tryPop()!;
  q.moveAllToActiveOrBackoff('NodeAdd');
  q.requeue(a, cycle, true);
  assert.equal(q.stats().unschedulable, 0);
  now += 1000;
  q.flush();
  assert.equal(q.tryPop()?.info.name, 'a');
});

test('deleted pods leave the queue; a pod deleted while in flight is not requeued', () => {
  const q = new SchedulingQueue({ timers: false });
  q.add(newPodInfo(pod('a')));
  q.add(newPodInfo(pod('b')));
  q.delete('default/a');
  const b = q.tryPop()!;
  assert.equal(b.info.name, 'b');
  q.delete('default/b');
  q.requeue(b, q.cycle, true);
  assert.deepEqual(q.stats(), { active: 0, backoff: 0, unschedulable: 0, inFlight: 0 });
});

test('a spec update moves an unschedulable pod back', () => {
  let now = 0;
  const q = new SchedulingQueue({ timers: false, now: () => now });
  q.add(newPodInfo(pod('a')));
  q.requeue(q.tryPop()!, q.cycle, true);
  now = 5000;
  q.update(newPodInfo(pod('a')), false);
  assert.equal(q.tryPop(), undefined, 'status-only update: stays');
  q.update(newPodInfo(pod('a')), true);
  assert.equal(q.tryPop()?.info.name, 'a');
});

test('pop waits for a pod and close releases waiters', async () => {
  const q = new SchedulingQueue({ timers: false });
  const p = q.pop();
  q.add(newPodInfo(pod('late')));
  assert.equal((await p)?.info.name, 'late');
  const w = q.pop();
  q.close();
  assert.equal(await w, undefined);
});
