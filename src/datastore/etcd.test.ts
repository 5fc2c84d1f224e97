import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EtcdDatastore } from './etcd.js';
import { DatastoreError } from './types.js';
import { openDatastore } from './index.js';
import { datastoreContract } from './contract.js';
import { ETCD_MISSING, etcdInstalled, startEtcd } from '../../test/support/etcd.js';

if (!etcdInstalled()) {
  test('etcd datastore contract', { skip: ETCD_MISSING }, () => {});
} else {
  // A fresh etcd per test keeps revisions starting at 0; it starts in well under a second.
  datastoreContract('etcd', async () => {
    const etcd = await startEtcd();
    const store = new EtcdDatastore([etcd.endpoint]);
    try {
      await store.start();
    } catch (err) {
      await etcd.stop();
      throw err;
    }
    return {
      store,
      cleanup: async () => {
        await store.close();
        await etcd.stop();
      },
    };
  }, { initialRevision: 1 });

  test('etcd: openDatastore takes a comma-separated endpoint list', async () => {
    const etcd = await startEtcd();
    const store = openDatastore(`${etcd.endpoint},${etcd.endpoint}`);
    try {
      assert.ok(store instanceof EtcdDatastore);
      await store.start();
      const kv = await store.create('/registry/x', new TextEncoder().encode('1'));
      assert.equal(kv.modRevision, 2);
    } finally {
      await store.close();
      await etcd.stop();
    }
  });

  test('etcd: a client that did not compact learns the compaction from etcd', async () => {
    const etcd = await startEtcd();
    const a = new EtcdDatastore([etcd.endpoint]);
    const b = new EtcdDatastore([etcd.endpoint]);
    try {
      await a.start();
      await b.start();
      let kv = await a.create('/c/x', new Uint8Array([1]));
      for (let i = 0; i < 20; i++) kv = await a.update('/c/x', new Uint8Array([i]), kv.modRevision);
      await a.compact(15);
      assert.equal(await b.compactedRevision(), 15);
      await assert.rejects(b.list('/c/', { revision: 3 }), (err: unknown) => {
        assert.ok(err instanceof DatastoreError);
        assert.equal(err.code, 'Compacted');
        assert.equal(err.compactRevision, 15);
        return true;
      });
      const c = new EtcdDatastore([etcd.endpoint]);
      await c.start();
      try {
        const err = await new Promise<Error>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error('watch from a compacted revision did not fail')), 5000);
          c.watch('/c/', 3, () => {}, (e) => {
            clearTimeout(t);
            resolve(e);
          });
        });
        assert.ok(err instanceof DatastoreError);
        assert.equal(err.code, 'Compacted');
        assert.equal(err.compactRevision, 15);
      } finally {
        await c.close();
      }
    } finally {
      await a.close();
      await b.close();
      await etcd.stop();
    }
  });
}
