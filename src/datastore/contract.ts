// The contract test suite every Datastore backend must pass (memory, sqlite, etcd).
// Each test gets a fresh, started store from `make`.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DatastoreError, type Datastore, type KeyValue, type WatchEvent } from './types.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

async function rejectsWith(p: Promise<unknown>, code: DatastoreError['code']): Promise<DatastoreError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof DatastoreError, `expected DatastoreError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected ${code}, but the call succeeded`);
}

/** Collects a watch's events; waitFor resolves once `n` have arrived (or fails after a timeout). */
class Collector {
  events: WatchEvent[] = [];
  error: Error | undefined;
  private waiters: (() => void)[] = [];

  onEvents = (evs: WatchEvent[]): void => {
    assert.ok(evs.length > 0, 'watch delivered an empty batch');
    this.events.push(...evs);
    this.wake();
  };
  onError = (err: Error): void => {
    this.error = err;
    this.wake();
  };
  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  async waitFor(n: number, timeoutMs = 5000): Promise<WatchEvent[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.events.length < n && !this.error) {
      const left = deadline - Date.now();
      if (left <= 0) assert.fail(`timed out waiting for ${n} events, have ${this.events.length}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    if (this.error) throw this.error;
    return this.events;
  }
  async waitError(timeoutMs = 5000): Promise<Error> {
    const deadline = Date.now() + timeoutMs;
    while (!this.error && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(this.error, 'expected the watch to fail');
    return this.error;
  }
}

const summary = (e: WatchEvent) => `${e.type} ${e.kv.key}@${e.kv.modRevision}=${dec(e.kv.value)}${e.prevKv ? ` prev@${e.prevKv.modRevision}=${dec(e.prevKv.value)}` : ''}`;

export interface ContractOptions {
  /** Revision of a fresh store: 0 for ours, 1 for etcd (whose first revision is 1). */
  initialRevision?: number;
}

/**
 * Registers the contract tests. Revisions are checked relative to the store's revision at
 * the start of each test (r0), so etcd's fresh revision of 1 fits too.
 */
export function datastoreContract(
  name: string,
  make: () => Promise<{ store: Datastore; cleanup(): Promise<void> }>,
  opts: ContractOptions = {},
): void {
  const initialRevision = opts.initialRevision ?? 0;
  describe(`datastore contract: ${name}`, () => {
    /** Run `fn` with a fresh store, always cleaning up. */
    const withStore = async (fn: (s: Datastore, r0: number) => Promise<void>): Promise<void> => {
      const { store, cleanup } = await make();
      try {
        await fn(store, await store.currentRevision());
      } finally {
        await cleanup();
      }
    };

    test('revision starts at 0 and increases by 1 per write', () =>
      withStore(async (s, r0) => {
        assert.equal(r0, initialRevision, 'a fresh store is at its initial revision');
        assert.equal(await s.compactedRevision(), 0);
        const a = await s.create('/r/a', enc('1'));
        assert.deepEqual([a.createRevision, a.modRevision], [r0 + 1, r0 + 1]);
        const b = await s.create('/r/b', enc('2'));
        assert.equal(b.modRevision, r0 + 2);
        const a2 = await s.update('/r/a', enc('3'), a.modRevision);
        assert.deepEqual([a2.createRevision, a2.modRevision], [r0 + 1, r0 + 3]);
        assert.equal(dec(a2.value), '3');
        const d = await s.delete('/r/b');
        assert.equal(d.modRevision, r0 + 4);
        assert.equal(await s.currentRevision(), r0 + 4);
        const got = await s.get('/r/a');
        assert.ok(got);
        assert.equal(dec(got.value), '3');
        assert.deepEqual([got.key, got.createRevision, got.modRevision], ['/r/a', r0 + 1, r0 + 3]);
        assert.equal(await s.get('/r/b'), undefined);
        assert.equal(await s.get('/r/missing'), undefined);
      }));

    test('create on an existing key fails with KeyExists; after delete it can be created again', () =>
      withStore(async (s, r0) => {
        await s.create('/k', enc('v'));
        await rejectsWith(s.create('/k', enc('w')), 'KeyExists');
        assert.equal(await s.currentRevision(), r0 + 1, 'a failed write does not use a revision');
        await s.delete('/k');
        const again = await s.create('/k', enc('x'));
        assert.deepEqual([again.createRevision, again.modRevision], [r0 + 3, r0 + 3]);
      }));

    test('update with a stale modRevision fails with Conflict carrying the current value', () =>
      withStore(async (s, r0) => {
        const a = await s.create('/c', enc('one'));
        const b = await s.update('/c', enc('two'), a.modRevision);
        const err = await rejectsWith(s.update('/c', enc('three'), a.modRevision), 'Conflict');
        assert.ok(err.current);
        assert.equal(err.current.modRevision, b.modRevision);
        assert.equal(dec(err.current.value), 'two');
        const derr = await rejectsWith(s.delete('/c', a.modRevision), 'Conflict');
        assert.equal(derr.current?.modRevision, b.modRevision);
        assert.equal(await s.currentRevision(), r0 + 2);
        assert.equal(dec((await s.get('/c'))!.value), 'two');
      }));

    test('update and delete of a missing key fail with NotFound', () =>
      withStore(async (s, r0) => {
        await rejectsWith(s.update('/nope', enc('x'), 1), 'NotFound');
        await rejectsWith(s.update('/nope', enc('x'), 0), 'NotFound');
        await rejectsWith(s.delete('/nope'), 'NotFound');
        await rejectsWith(s.delete('/nope', 3), 'NotFound');
        assert.equal(await s.currentRevision(), r0);
        assert.equal(await s.get('/nope'), undefined);
      }));

    test('delete returns the deleted value with the delete revision', () =>
      withStore(async (s, r0) => {
        const a = await s.create('/d', enc('gone'));
        const d = await s.delete('/d', a.modRevision);
        assert.equal(d.key, '/d');
        assert.equal(dec(d.value), 'gone');
        assert.equal(d.createRevision, r0 + 1);
        assert.equal(d.modRevision, r0 + 2);
        assert.equal(await s.count('/d'), 0);
      }));

    test('list by prefix is sorted, paginates with limit/startKey, and counts', () =>
      withStore(async (s) => {
        const names = ['m', 'c', 'x', 'a', 'k', 'b', 'z'];
        for (const n of names) await s.create(`/pods/ns/${n}`, enc(n));
        await s.create('/pods/other/q', enc('q'));
        await s.create('/podsX', enc('outside'));
        await s.create('/pod', enc('outside'));
        const all = await s.list('/pods/ns/');
        assert.deepEqual(
          all.kvs.map((kv) => kv.key),
          [...names].sort().map((n) => `/pods/ns/${n}`),
        );
        assert.equal(all.more, false);
        assert.equal(all.revision, await s.currentRevision());
        assert.equal(dec(all.kvs[0].value), 'a');
        assert.equal((await s.list('/pods/')).kvs.length, 8);
        assert.equal(await s.count('/pods/ns/'), 7);
        assert.equal(await s.count('/pods/'), 8);
        assert.equal(await s.count(''), 10);
        assert.equal((await s.list('')).kvs.length, 10);

        // Paginate 3 at a time at a fixed revision while writes go on.
        const rev = all.revision;
        const seen: string[] = [];
        let startKey: string | undefined;
        for (let page = 0; page < 10; page++) {
          const r = await s.list('/pods/ns/', { limit: 3, startKey, revision: rev });
          assert.equal(r.revision, rev);
          seen.push(...r.kvs.map((kv) => kv.key));
          if (page === 0) await s.create('/pods/ns/d', enc('late'));
          if (!r.more) break;
          assert.equal(r.kvs.length, 3);
          startKey = r.kvs[r.kvs.length - 1].key + '\0';
        }
        assert.deepEqual(seen, all.kvs.map((kv) => kv.key));
        const exact = await s.list('/pods/ns/', { limit: 8 });
        assert.equal(exact.kvs.length, 8);
        assert.equal(exact.more, false);
        const cut = await s.list('/pods/ns/', { limit: 7 });
        assert.equal(cut.more, true);
        assert.deepEqual((await s.list('/nothing/')).kvs, []);
      }));

    test('get and list at an older revision see the old state', () =>
      withStore(async (s, r0) => {
        const a = await s.create('/o/a', enc('a1'));
        await s.create('/o/b', enc('b1'));
        const rev2 = await s.currentRevision();
        await s.update('/o/a', enc('a2'), a.modRevision);
        await s.delete('/o/b');
        await s.create('/o/c', enc('c1'));
        const old = await s.list('/o/', { revision: rev2 });
        assert.equal(old.revision, rev2);
        assert.deepEqual(
          old.kvs.map((kv) => `${kv.key}=${dec(kv.value)}@${kv.modRevision}`),
          [`/o/a=a1@${r0 + 1}`, `/o/b=b1@${r0 + 2}`],
        );
        const now = await s.list('/o/');
        assert.deepEqual(
          now.kvs.map((kv) => `${kv.key}=${dec(kv.value)}`),
          ['/o/a=a2', '/o/c=c1'],
        );
        assert.equal(dec((await s.get('/o/a', { revision: r0 + 1 }))!.value), 'a1');
        assert.equal(dec((await s.get('/o/b', { revision: r0 + 3 }))!.value), 'b1');
        assert.equal(await s.get('/o/b', { revision: r0 + 4 }), undefined);
        assert.equal(await s.get('/o/c', { revision: r0 + 4 }), undefined);
        const page = await s.list('/o/', { revision: rev2, limit: 1 });
        assert.deepEqual(page.kvs.map((kv) => kv.key), ['/o/a']);
        assert.equal(page.more, true);
        await rejectsWith(s.list('/o/', { revision: r0 + 1000 }), 'FutureRevision');
      }));

    test('watch from a past revision replays, then continues live, in order, prefix-filtered, with prevKv', () =>
      withStore(async (s, r0) => {
        const a = await s.create('/w/a', enc('a1'));
        await s.create('/other/x', enc('x'));
        const a2 = await s.update('/w/a', enc('a2'), a.modRevision);
        await s.create('/w/b', enc('b1'));
        const c = new Collector();
        const w = s.watch('/w/', r0 + 1, c.onEvents, c.onError);
        try {
          await c.waitFor(3);
          await s.delete('/w/a', a2.modRevision);
          await s.create('/other/y', enc('y'));
          await s.create('/w/c', enc('c1'));
          const evs = await c.waitFor(5);
          const r = (n: number) => r0 + n;
          assert.deepEqual(evs.map(summary), [
            `PUT /w/a@${r(1)}=a1`,
            `PUT /w/a@${r(3)}=a2 prev@${r(1)}=a1`,
            `PUT /w/b@${r(4)}=b1`,
            `DELETE /w/a@${r(5)}=a2 prev@${r(3)}=a2`,
            `PUT /w/c@${r(7)}=c1`,
          ]);
          assert.equal(evs[3].kv.createRevision, r(1));
          assert.equal(evs[1].kv.createRevision, r(1));
        } finally {
          w.cancel();
        }
        // After cancel nothing more arrives.
        await s.create('/w/after', enc('z'));
        await new Promise((r) => setTimeout(r, 100));
        assert.equal(c.events.length, 5);
        assert.equal(c.error, undefined);
      }));

    test('watch from now (0) and from a future revision only sees later writes', () =>
      withStore(async (s, r0) => {
        await s.create('/n/a', enc('a'));
        const now = new Collector();
        const later = new Collector();
        const w1 = s.watch('/n/', 0, now.onEvents, now.onError);
        const w2 = s.watch('/n/', r0 + 3, later.onEvents, later.onError);
        try {
          // Give etcd time to register the watch "from now" before writing.
          await new Promise((r) => setTimeout(r, 200));
          await s.create('/n/b', enc('b'));
          await s.create('/n/c', enc('c'));
          assert.deepEqual((await now.waitFor(2)).map((e) => e.kv.key), ['/n/b', '/n/c']);
          assert.deepEqual((await later.waitFor(1)).map((e) => e.kv.key), ['/n/c']);
        } finally {
          w1.cancel();
          w2.cancel();
        }
      }));

    test('compaction: old reads and watches fail with Compacted, current state survives', () =>
      withStore(async (s, r0) => {
        const r = (n: number) => r0 + n;
        const a = await s.create('/cp/a', enc('a1'));
        await s.create('/cp/b', enc('b1'));
        await s.update('/cp/a', enc('a2'), a.modRevision);
        await s.delete('/cp/b');
        await s.create('/cp/c', enc('c1'));
        const c1 = await s.create('/cp/d', enc('d1'));
        await s.update('/cp/d', enc('d2'), c1.modRevision); // rev 7
        await s.compact(r(5));
        assert.equal(await s.compactedRevision(), r(5));
        const e = await rejectsWith(s.list('/cp/', { revision: r(2) }), 'Compacted');
        assert.equal(e.compactRevision, r(5));
        await rejectsWith(s.get('/cp/a', { revision: r(4) }), 'Compacted');
        // The state at the compaction revision and after it is intact.
        const at5 = await s.list('/cp/', { revision: r(5) });
        assert.deepEqual(at5.kvs.map((kv) => `${kv.key}=${dec(kv.value)}`), ['/cp/a=a2', '/cp/c=c1']);
        const at6 = await s.list('/cp/', { revision: r(6) });
        assert.deepEqual(at6.kvs.map((kv) => `${kv.key}=${dec(kv.value)}`), ['/cp/a=a2', '/cp/c=c1', '/cp/d=d1']);
        const cur = await s.list('/cp/');
        assert.deepEqual(cur.kvs.map((kv) => `${kv.key}=${dec(kv.value)}`), ['/cp/a=a2', '/cp/c=c1', '/cp/d=d2']);

        const c = new Collector();
        const w = s.watch('/cp/', r(2), c.onEvents, c.onError);
        const err = await c.waitError();
        w.cancel();
        assert.ok(err instanceof DatastoreError);
        assert.equal(err.code, 'Compacted');

        // A watch after the compaction point still replays, with prevKv.
        const c2 = new Collector();
        const w2 = s.watch('/cp/', r(6), c2.onEvents, c2.onError);
        try {
          assert.deepEqual((await c2.waitFor(2)).map(summary), [`PUT /cp/d@${r(6)}=d1`, `PUT /cp/d@${r(7)}=d2 prev@${r(6)}=d1`]);
        } finally {
          w2.cancel();
        }
        // Writes go on after compaction; compacting again is fine; compacting the future is not.
        const a3 = await s.update('/cp/a', enc('a3'), r(3));
        assert.equal(a3.modRevision, r(8));
        assert.equal(a3.createRevision, r(1));
        await s.compact(r(8));
        assert.equal(dec((await s.get('/cp/a'))!.value), 'a3');
        assert.equal(await s.count('/cp/'), 3);
        await assert.rejects(s.compact(r(100)));
      }));

    test('many concurrent creates in one tick get consecutive revisions and are watched in order', () =>
      withStore(async (s, r0) => {
        const c = new Collector();
        const w = s.watch('/many/', r0 + 1, c.onEvents, c.onError);
        try {
          const n = 300;
          const results = await Promise.all(Array.from({ length: n }, (_, i) => s.create(`/many/${String(i).padStart(4, '0')}`, enc(`v${i}`))));
          const revs = results.map((kv) => kv.modRevision).sort((x, y) => x - y);
          assert.equal(new Set(revs).size, n);
          assert.equal(revs[0], r0 + 1);
          assert.equal(revs[n - 1], r0 + n);
          assert.equal(await s.currentRevision(), r0 + n);
          const evs = await c.waitFor(n);
          assert.equal(evs.length, n);
          for (let i = 0; i < n; i++) {
            assert.equal(evs[i].kv.modRevision, r0 + i + 1);
            assert.equal(evs[i].type, 'PUT');
          }
          // Each promise got its own key's result.
          for (let i = 0; i < n; i++) assert.equal(results[i].key, `/many/${String(i).padStart(4, '0')}`);
          // Creates of one key in one tick: exactly one wins.
          const dup = await Promise.allSettled(Array.from({ length: 5 }, () => s.create('/many/dup', enc('d'))));
          assert.equal(dup.filter((r) => r.status === 'fulfilled').length, 1);
          for (const r of dup) if (r.status === 'rejected') assert.equal((r.reason as DatastoreError).code, 'KeyExists');
        } finally {
          w.cancel();
        }
      }));

    test('a long replay hands over to live events without gaps or repeats', () =>
      withStore(async (s, r0) => {
        const before = 2500;
        for (let i = 0; i < before; i += 500) {
          await Promise.all(Array.from({ length: 500 }, (_, j) => s.create(`/long/${i + j}`, enc('v'))));
        }
        const c = new Collector();
        const w = s.watch('/long/', r0 + 1, c.onEvents, c.onError);
        try {
          // Keep writing while the replay runs.
          for (let i = 0; i < 20; i++) {
            await Promise.all(Array.from({ length: 10 }, (_, j) => s.create(`/long/live-${i}-${j}`, enc('v'))));
            await new Promise((r) => setImmediate(r));
          }
          const total = before + 200;
          const evs = await c.waitFor(total, 15000);
          await new Promise((r) => setTimeout(r, 50));
          assert.equal(c.events.length, total);
          for (let i = 0; i < total; i++) assert.equal(evs[i].kv.modRevision, r0 + i + 1);
        } finally {
          w.cancel();
        }
      }));

    test('concurrent CAS updates from the same revision: exactly one wins', () =>
      withStore(async (s, r0) => {
        const base = await s.create('/cas', enc('0'));
        const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => s.update('/cas', enc(`w${i}`), base.modRevision)));
        const won = results.filter((r): r is PromiseFulfilledResult<KeyValue> => r.status === 'fulfilled');
        assert.equal(won.length, 1);
        for (const r of results) {
          if (r.status === 'rejected') {
            assert.ok(r.reason instanceof DatastoreError);
            assert.equal(r.reason.code, 'Conflict');
            assert.equal(r.reason.current?.modRevision, won[0].value.modRevision);
          }
        }
        const cur = await s.get('/cas');
        assert.equal(dec(cur!.value), dec(won[0].value.value));
        assert.equal(await s.currentRevision(), r0 + 2);
      }));

    test('values are opaque bytes', () =>
      withStore(async (s) => {
        const bytes = new Uint8Array([0, 255, 1, 254, 0, 10, 13]);
        await s.create('/bin', bytes);
        const got = await s.get('/bin');
        assert.deepEqual([...got!.value], [...bytes]);
        await s.create('/empty', new Uint8Array(0));
        assert.equal((await s.get('/empty'))!.value.length, 0);
      }));
  });
}
