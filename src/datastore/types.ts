// The contract every datastore backend (sqlite, etcd, memory) implements.
// Modelled on etcd v3: one global revision, compare-and-swap on modRevision,
// watch from a revision, compaction.

export interface KeyValue {
  key: string;
  value: Uint8Array;
  /** revision at which this key was (last) created */
  createRevision: number;
  /** revision of the last write to this key; becomes metadata.resourceVersion */
  modRevision: number;
}

export interface WatchEvent {
  type: 'PUT' | 'DELETE';
  /** for DELETE: key and the deleted value, with modRevision = the delete's revision */
  kv: KeyValue;
  /** the value before this event (for DELETE and for updates) */
  prevKv?: KeyValue;
}

export interface ListOptions {
  /** read at this revision (must not be compacted); default: current */
  revision?: number;
  /** max keys to return; 0/undefined = all */
  limit?: number;
  /** return keys >= startKey (for pagination, pass the last key + '\0') */
  startKey?: string;
}

export interface ListResult {
  kvs: KeyValue[];
  /** the revision the list was read at */
  revision: number;
  /** true when limit cut the result */
  more: boolean;
}

export interface Watch {
  cancel(): void;
}

export type DatastoreErrorCode = 'KeyExists' | 'NotFound' | 'Conflict' | 'Compacted' | 'Unavailable' | 'FutureRevision';

export class DatastoreError extends Error {
  constructor(
    public readonly code: DatastoreErrorCode,
    message: string,
    /** for Conflict: what is stored now (undefined when the key is gone) */
    public readonly current?: KeyValue,
    /** for Compacted: the compacted revision */
    public readonly compactRevision?: number,
  ) {
    super(message);
  }
}

export interface Datastore {
  /** Open files/connections, create schema. */
  start(): Promise<void>;
  close(): Promise<void>;
  /** Current global revision (0 for an empty store). */
  currentRevision(): Promise<number>;
  /** Oldest revision still readable (the last compaction). */
  compactedRevision(): Promise<number>;
  get(key: string, opts?: { revision?: number }): Promise<KeyValue | undefined>;
  /** Keys with the prefix, sorted by key. Throws Compacted for a revision <= the compacted revision. */
  list(prefix: string, opts?: ListOptions): Promise<ListResult>;
  /** Number of keys with the prefix at the current revision. */
  count(prefix: string): Promise<number>;
  /** Throws KeyExists when the key is present. */
  create(key: string, value: Uint8Array): Promise<KeyValue>;
  /** CAS: throws Conflict (with current) when modRevision differs, NotFound when absent. */
  update(key: string, value: Uint8Array, expectedModRevision: number): Promise<KeyValue>;
  /** Returns the deleted value (modRevision = delete's revision). CAS when expectedModRevision is given. Throws NotFound / Conflict. */
  delete(key: string, expectedModRevision?: number): Promise<KeyValue>;
  /**
   * Deliver every event on keys with the prefix from `fromRevision` (inclusive) on, in
   * revision order, in batches. Events already committed are replayed first.
   * Throws (or calls onError with) Compacted when fromRevision <= compactedRevision.
   * onError is called when the watch can no longer continue; it is then cancelled.
   */
  watch(prefix: string, fromRevision: number, onEvents: (events: WatchEvent[]) => void, onError: (err: Error) => void): Watch;
  /** Drop history older than `revision` (superseded values and deletions). */
  compact(revision: number): Promise<void>;
}
