import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatastore, MemoryDatastore, SqliteDatastore, EtcdDatastore } from './index.js';

test('openDatastore picks the backend from the endpoint', () => {
  assert.ok(openDatastore('memory://') instanceof MemoryDatastore);
  const rel = openDatastore('sqlite://data/state.db');
  assert.ok(rel instanceof SqliteDatastore);
  assert.equal(rel.path, 'data/state.db');
  const abs = openDatastore('sqlite:///var/lib/k8ts/state.db');
  assert.ok(abs instanceof SqliteDatastore);
  assert.equal(abs.path, '/var/lib/k8ts/state.db');
  const etcd = openDatastore('http://127.0.0.1:2379,https://10.0.0.2:2379');
  assert.ok(etcd instanceof EtcdDatastore);
  assert.deepEqual(etcd.endpoints, ['http://127.0.0.1:2379', 'https://10.0.0.2:2379']);
  assert.throws(() => openDatastore('mysql://x'), /unknown datastore endpoint/);
  assert.throws(() => openDatastore('sqlite://'), /needs a file path/);
  assert.throws(() => openDatastore('http://h:1/path'), /bad etcd endpoint/);
});
