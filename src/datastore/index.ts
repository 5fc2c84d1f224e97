// Opens a datastore from an endpoint string (the --datastore-endpoint flag).
import type { Datastore } from './types.js';
import { MemoryDatastore } from './memory.js';
import { SqliteDatastore } from './sqlite.js';
import { EtcdDatastore } from './etcd.js';

export type { Datastore, KeyValue, WatchEvent, ListOptions, ListResult, Watch, DatastoreErrorCode } from './types.js';
export { DatastoreError } from './types.js';
export { MemoryDatastore, SqliteDatastore, EtcdDatastore };

/**
 * `memory://` → in-memory; `sqlite://PATH` (relative) or `sqlite:///abs/path` → SQLite file;
 * `http(s)://host:port[,http(s)://host:port…]` → etcd cluster. The store is returned unstarted.
 */
export function openDatastore(endpoint: string): Datastore {
  if (endpoint === 'memory://' || endpoint === 'memory:' || endpoint === 'memory') return new MemoryDatastore();
  if (endpoint.startsWith('sqlite://')) {
    const path = decodeURIComponent(endpoint.slice('sqlite://'.length));
    if (!path) throw new Error(`sqlite endpoint needs a file path: ${endpoint}`);
    return new SqliteDatastore(path);
  }
  if (/^https?:\/\//.test(endpoint)) {
    const endpoints = endpoint
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const e of endpoints) {
      if (!/^https?:\/\/[^/]+\/?$/.test(e)) throw new Error(`bad etcd endpoint: ${e}`);
    }
    return new EtcdDatastore(endpoints);
  }
  throw new Error(`unknown datastore endpoint: ${endpoint} (want memory://, sqlite://PATH or http://host:port)`);
}
