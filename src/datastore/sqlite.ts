// Embedded datastore on SQLite (better-sqlite3), kine-style:
// - `log`: append-only, one row per write keyed by revision; deletions are tombstone rows
//   (deleted = 1) that keep the deleted value. prev_rev links a row to the row it superseded.
// - `current`: key -> revision of its live row, so reads at the current revision never
//   touch history.
// - `meta`: compaction bookkeeping.
// Writes that arrive in the same event-loop turn are committed in one durable transaction
// (group commit); watchers are fed from the committed batch, in revision order.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatastoreError, type Datastore, type KeyValue, type ListOptions, type ListResult, type Watch, type WatchEvent } from './types.js';
import { WatchHub } from './watchhub.js';
import { closedError, compactedError, conflict, futureError, keyExists, listStart, notFound, prefixEnd } from './util.js';

type Stmt = Database.Statement<unknown[], unknown>;

const enum OpKind {
  Create,
  Update,
  Delete,
}

interface Op {
  kind: OpKind;
  key: string;
  value?: Buffer;
  expected?: number;
  resolve(kv: KeyValue): void;
  reject(err: Error): void;
}

/** rows from `log` deleted per compaction transaction */
const COMPACT_CHUNK = 2000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS log (
  rev INTEGER PRIMARY KEY,
  key TEXT NOT NULL,
  value BLOB NOT NULL,
  create_rev INTEGER NOT NULL,
  prev_rev INTEGER NOT NULL,
  deleted INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS log_key_rev ON log(key, rev);
CREATE TABLE IF NOT EXISTS current (
  key TEXT PRIMARY KEY,
  rev INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
`;

function toBuffer(v: Uint8Array): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

export class SqliteDatastore implements Datastore {
  private db!: Database.Database;
  private s!: Record<string, Stmt>;
  private commit!: (ops: Op[], events: WatchEvent[]) => (KeyValue | DatastoreError)[];
  private compactChunk!: (lo: number, hi: number) => void;
  private rev = 0;
  private compactRev = 0;
  /** compaction has removed history up to here (may lag compactRev after a crash) */
  private compactDone = 0;
  private compacting: Promise<void> | undefined;
  private queue: Op[] = [];
  private flushScheduled = false;
  private state: 'new' | 'open' | 'closed' = 'new';
  private readonly hub: WatchHub;

  constructor(readonly path: string) {
    this.hub = new WatchHub({
      committedRevision: () => this.rev,
      compactedRevision: () => this.compactRev,
      readEvents: (prefix, from, to, limit) => this.readEvents(prefix, from, to, limit),
    });
  }

  async start(): Promise<void> {
    if (this.state !== 'new') return;
    if (this.path !== ':memory:') mkdirSync(dirname(this.path), { recursive: true });
    const db = new Database(this.path);
    this.db = db;
    db.pragma('journal_mode = WAL');
    // FULL: the WAL is fsynced at every commit, so an acknowledged write survives kill -9 and power loss.
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.pragma('cache_size = -65536');
    db.pragma('temp_store = MEMORY');
    db.exec(SCHEMA);
    const p = (sql: string, raw = true): Stmt => {
      const st = db.prepare(sql);
      return st.reader && raw ? st.raw(true) : st;
    };
    this.s = {
      current: p('SELECT c.rev, l.create_rev, l.value FROM current c JOIN log l ON l.rev = c.rev WHERE c.key = ?'),
      exists: p('SELECT 1 FROM current WHERE key = ?'),
      insLog: p('INSERT INTO log (rev, key, value, create_rev, prev_rev, deleted) VALUES (?, ?, ?, ?, ?, ?)'),
      insCur: p('INSERT INTO current (key, rev) VALUES (?, ?)'),
      updCur: p('UPDATE current SET rev = ? WHERE key = ?'),
      delCur: p('DELETE FROM current WHERE key = ?'),
      getAt: p('SELECT rev, create_rev, value, deleted FROM log WHERE key = ? AND rev <= ? ORDER BY rev DESC LIMIT 1'),
      listCur: p(
        'SELECT c.key, c.rev, l.create_rev, l.value FROM current c JOIN log l ON l.rev = c.rev WHERE c.key >= ? AND c.key < ? ORDER BY c.key LIMIT ?',
      ),
      listCurAll: p('SELECT c.key, c.rev, l.create_rev, l.value FROM current c JOIN log l ON l.rev = c.rev WHERE c.key >= ? ORDER BY c.key LIMIT ?'),
      listAt: p(
        'SELECT l.key, l.rev, l.create_rev, l.value FROM (SELECT max(rev) AS mr FROM log WHERE key >= ? AND key < ? AND rev <= ? GROUP BY key) m ' +
          'JOIN log l ON l.rev = m.mr WHERE l.deleted = 0 ORDER BY l.key LIMIT ?',
      ),
      listAtAll: p(
        'SELECT l.key, l.rev, l.create_rev, l.value FROM (SELECT max(rev) AS mr FROM log WHERE key >= ? AND rev <= ? GROUP BY key) m ' +
          'JOIN log l ON l.rev = m.mr WHERE l.deleted = 0 ORDER BY l.key LIMIT ?',
      ),
      count: p('SELECT count(*) FROM current WHERE key >= ? AND key < ?'),
      countAll: p('SELECT count(*) FROM current'),
      events: p(
        'SELECT rev, key, value, create_rev, prev_rev, deleted FROM log WHERE rev >= ? AND rev <= ? AND key >= ? AND key < ? ORDER BY rev LIMIT ?',
      ),
      eventsAll: p('SELECT rev, key, value, create_rev, prev_rev, deleted FROM log WHERE rev >= ? AND rev <= ? ORDER BY rev LIMIT ?'),
      byRev: p('SELECT create_rev, value, deleted FROM log WHERE rev = ?'),
      maxRev: p('SELECT max(rev) FROM log'),
      getMeta: p('SELECT value FROM meta WHERE name = ?'),
      setMeta: p('INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value'),
      // A row is superseded exactly when a later row names it as prev_rev.
      compactPrev: p('DELETE FROM log WHERE rev IN (SELECT prev_rev FROM log WHERE rev BETWEEN ? AND ? AND prev_rev > 0)'),
      compactTombstones: p('DELETE FROM log WHERE rev BETWEEN ? AND ? AND deleted = 1'),
    };
    const meta = (name: string): number => {
      const row = this.s.getMeta.get(name) as [number] | undefined;
      return row ? row[0] : 0;
    };
    this.compactRev = meta('compact_rev');
    this.compactDone = meta('compact_done');
    const maxRev = (this.s.maxRev.get() as [number | null])[0] ?? 0;
    // Rows after the compaction point are never removed, so this is the last written revision.
    this.rev = Math.max(maxRev, this.compactRev);
    this.commit = db.transaction((ops: Op[], events: WatchEvent[]) => ops.map((op) => this.apply(op, events)));
    this.compactChunk = db.transaction((lo: number, hi: number) => {
      this.s.compactPrev.run(lo, hi);
      this.s.compactTombstones.run(lo, hi);
      this.s.setMeta.run('compact_done', hi);
    });
    this.state = 'open';
    if (this.compactDone < this.compactRev) this.startCompaction(); // finish what a crash interrupted
  }

  async close(): Promise<void> {
    if (this.state !== 'open') {
      this.state = 'closed';
      return;
    }
    this.flush();
    this.state = 'closed';
    await this.compacting;
    this.hub.closeAll(closedError());
    this.db.close();
  }

  private checkOpen(): void {
    if (this.state !== 'open') throw closedError();
  }

  async currentRevision(): Promise<number> {
    this.checkOpen();
    return this.rev;
  }

  async compactedRevision(): Promise<number> {
    this.checkOpen();
    return this.compactRev;
  }

  /** The revision to read at; 0 means "the current one". */
  private readRevision(revision: number | undefined): number {
    this.checkOpen();
    if (!revision || revision <= 0) return this.rev;
    if (revision > this.rev) throw futureError(revision, this.rev);
    if (revision < this.compactRev) throw compactedError(revision, this.compactRev);
    return revision;
  }

  async get(key: string, opts?: { revision?: number }): Promise<KeyValue | undefined> {
    const rev = this.readRevision(opts?.revision);
    if (rev === this.rev) {
      const row = this.s.current.get(key) as [number, number, Buffer] | undefined;
      return row ? { key, value: row[2], createRevision: row[1], modRevision: row[0] } : undefined;
    }
    const row = this.s.getAt.get(key, rev) as [number, number, Buffer, number] | undefined;
    if (!row || row[3]) return undefined;
    return { key, value: row[2], createRevision: row[1], modRevision: row[0] };
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    const rev = this.readRevision(opts.revision);
    const limit = opts.limit && opts.limit > 0 ? opts.limit : -1;
    const start = listStart(prefix, opts.startKey);
    const end = prefixEnd(prefix);
    const fetch = limit > 0 ? limit + 1 : -1; // one extra row tells whether there is more
    let rows: [string, number, number, Buffer][];
    if (rev === this.rev) {
      rows = (end === undefined ? this.s.listCurAll.all(start, fetch) : this.s.listCur.all(start, end, fetch)) as typeof rows;
    } else {
      rows = (end === undefined ? this.s.listAtAll.all(start, rev, fetch) : this.s.listAt.all(start, end, rev, fetch)) as typeof rows;
    }
    const more = limit > 0 && rows.length > limit;
    if (more) rows.length = limit;
    const kvs: KeyValue[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      kvs[i] = { key: r[0], value: r[3], createRevision: r[2], modRevision: r[1] };
    }
    return { kvs, revision: rev, more };
  }

  async count(prefix: string): Promise<number> {
    this.checkOpen();
    const end = prefixEnd(prefix);
    const row = (end === undefined ? this.s.countAll.get() : this.s.count.get(prefix, end)) as [number];
    return row[0];
  }

  create(key: string, value: Uint8Array): Promise<KeyValue> {
    return this.enqueue(OpKind.Create, key, toBuffer(value), undefined);
  }

  update(key: string, value: Uint8Array, expectedModRevision: number): Promise<KeyValue> {
    return this.enqueue(OpKind.Update, key, toBuffer(value), expectedModRevision);
  }

  delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    return this.enqueue(OpKind.Delete, key, undefined, expectedModRevision);
  }

  private enqueue(kind: OpKind, key: string, value: Buffer | undefined, expected: number | undefined): Promise<KeyValue> {
    if (this.state !== 'open') return Promise.reject(closedError());
    return new Promise<KeyValue>((resolve, reject) => {
      this.queue.push({ kind, key, value, expected, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // setImmediate (not a microtask) so that writes issued from all I/O callbacks
        // of this loop turn share one fsync.
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commit every queued write in one transaction, then publish and settle. */
  private flush(): void {
    this.flushScheduled = false;
    const ops = this.queue;
    if (ops.length === 0 || this.state !== 'open') return;
    this.queue = [];
    const startRev = this.rev;
    const events: WatchEvent[] = [];
    let results: (KeyValue | DatastoreError)[];
    try {
      results = this.commit(ops, events);
    } catch (err) {
      // Rolled back: nothing of this batch exists.
      this.rev = startRev;
      const e = new DatastoreError('Unavailable', `sqlite commit failed: ${(err as Error).message}`);
      for (const op of ops) op.reject(e);
      return;
    }
    this.hub.publish(events);
    for (let i = 0; i < ops.length; i++) {
      const r = results[i];
      if (r instanceof DatastoreError) ops[i].reject(r);
      else ops[i].resolve(r);
    }
  }

  /** One write inside the commit transaction. CAS failures are returned, not thrown, so the batch goes on. */
  private apply(op: Op, events: WatchEvent[]): KeyValue | DatastoreError {
    const { key } = op;
    if (op.kind === OpKind.Create) {
      if (this.s.exists.get(key)) return keyExists(key);
      const rev = this.rev + 1;
      this.s.insLog.run(rev, key, op.value, rev, 0, 0);
      this.s.insCur.run(key, rev);
      this.rev = rev;
      const kv: KeyValue = { key, value: op.value!, createRevision: rev, modRevision: rev };
      events.push({ type: 'PUT', kv });
      return kv;
    }
    const row = this.s.current.get(key) as [number, number, Buffer] | undefined;
    if (!row) return notFound(key);
    const cur: KeyValue = { key, value: row[2], createRevision: row[1], modRevision: row[0] };
    if (op.expected !== undefined && op.expected !== cur.modRevision) return conflict(key, op.expected, cur);
    const rev = this.rev + 1;
    if (op.kind === OpKind.Update) {
      this.s.insLog.run(rev, key, op.value, cur.createRevision, cur.modRevision, 0);
      this.s.updCur.run(rev, key);
      this.rev = rev;
      const kv: KeyValue = { key, value: op.value!, createRevision: cur.createRevision, modRevision: rev };
      events.push({ type: 'PUT', kv, prevKv: cur });
      return kv;
    }
    this.s.insLog.run(rev, key, cur.value, cur.createRevision, cur.modRevision, 1);
    this.s.delCur.run(key);
    this.rev = rev;
    const kv: KeyValue = { key, value: cur.value, createRevision: cur.createRevision, modRevision: rev };
    events.push({ type: 'DELETE', kv, prevKv: cur });
    return kv;
  }

  private readEvents(prefix: string, from: number, to: number, limit: number): WatchEvent[] {
    const end = prefixEnd(prefix);
    const rows = (
      end === undefined ? this.s.eventsAll.all(from, to, limit) : this.s.events.all(from, to, prefix, end, limit)
    ) as [number, string, Buffer, number, number, number][];
    const out: WatchEvent[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const [rev, key, value, createRev, prevRev, deleted] = rows[i];
      const kv: KeyValue = { key, value, createRevision: createRev, modRevision: rev };
      if (deleted) {
        // A tombstone carries the deleted value, so the previous version needs no lookup.
        out[i] = { type: 'DELETE', kv, prevKv: { key, value, createRevision: createRev, modRevision: prevRev } };
        continue;
      }
      let prevKv: KeyValue | undefined;
      if (prevRev > 0) {
        const p = this.s.byRev.get(prevRev) as [number, Buffer, number] | undefined;
        if (p && !p[2]) prevKv = { key, value: p[1], createRevision: p[0], modRevision: prevRev };
      }
      out[i] = prevKv ? { type: 'PUT', kv, prevKv } : { type: 'PUT', kv };
    }
    return out;
  }

  watch(prefix: string, fromRevision: number, onEvents: (events: WatchEvent[]) => void, onError: (err: Error) => void): Watch {
    if (this.state !== 'open') {
      queueMicrotask(() => onError(closedError()));
      return { cancel() {} };
    }
    return this.hub.watch(prefix, fromRevision, onEvents, onError);
  }

  async compact(revision: number): Promise<void> {
    this.checkOpen();
    // Writes queued before this call are committed first, so `revision` may name them.
    this.flush();
    if (revision > this.rev) throw futureError(revision, this.rev);
    if (revision > this.compactRev) {
      // Record the new floor first: reads below it fail from now on, even while rows are being removed.
      this.s.setMeta.run('compact_rev', revision);
      this.compactRev = revision;
      this.hub.compacted(revision);
    }
    await this.startCompaction();
  }

  /** Remove history up to compactRev in small transactions, yielding between them. */
  private startCompaction(): Promise<void> {
    this.compacting ??= (async () => {
      try {
        while (this.state === 'open' && this.compactDone < this.compactRev) {
          const lo = this.compactDone + 1;
          const hi = Math.min(this.compactRev, this.compactDone + COMPACT_CHUNK);
          this.compactChunk(lo, hi);
          this.compactDone = hi;
          await new Promise<void>((r) => setImmediate(r));
        }
      } finally {
        this.compacting = undefined;
      }
    })();
    return this.compacting;
  }
}
