import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Limiter } from './limiter.js';

test('Limiter runs at most max tasks at once, all of them, and passes results and errors through', async () => {
  const l = new Limiter(2);
  let running = 0;
  let peak = 0;
  const task = (i: number) =>
    l.run(async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      if (i === 3) throw new Error('boom');
      return i;
    });
  const all = [0, 1, 2, 3, 4, 5].map(task);
  assert.equal(l.busy, 6);
  const res = await Promise.allSettled(all);
  assert.equal(peak, 2);
  assert.deepEqual(res.map((r) => (r.status === 'fulfilled' ? r.value : 'err')), [0, 1, 2, 'err', 4, 5]);
  assert.equal(l.busy, 0);
});
