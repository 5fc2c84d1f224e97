// Datastore benchmark: durable creates/s through group commit vs one-commit-per-row SQLite,
// and the latency of listing 10,000 keys. Bounded in time (about 8 s) and in writes.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteDatastore } from '../src/datastore/sqlite.js';

const WRITERS = 64;
const DURATION_MS = 3000;
const VALUE = new Uint8Array(1024).fill(120);
const LIST_KEYS = 10_000;
/** safety cap on writes per phase, whatever the machine's speed */
const MAX_WRITES = 2_000_000;

async function sqliteCreatesPerSec(dir: string): Promise<number> {
  const store = new SqliteDatastore(join(dir, 'creates.db'));
  await store.start();
  let done = 0;
  const start = performance.now();
  const deadline = start + DURATION_MS;
  const writer = async (w: number): Promise<void> => {
    for (let i = 0; performance.now() < deadline && done < MAX_WRITES; i++) {
      await store.create(`/registry/bench/w${w}/${i}`, VALUE);
      done++;
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
  const secs = (performance.now() - start) / 1000;
  await store.close();
  return done / secs;
}

/** Baseline: what one durable commit per row costs on this disk (same pragmas as the store). */
function rawSingleCommitInsertsPerSec(dir: string): number {
  const db = new Database(join(dir, 'raw.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE kv (rev INTEGER PRIMARY KEY, key TEXT NOT NULL, value BLOB NOT NULL)');
  const ins = db.prepare('INSERT INTO kv (key, value) VALUES (?, ?)');
  const value = Buffer.from(VALUE);
  let done = 0;
  const start = performance.now();
  const deadline = start + DURATION_MS;
  while (performance.now() < deadline && done < MAX_WRITES) {
    ins.run(`/registry/bench/${done}`, value); // autocommit: one transaction, one fsync
    done++;
  }
  const secs = (performance.now() - start) / 1000;
  db.close();
  return done / secs;
}

async function listLatencyMs(dir: string): Promise<{ median: number; rows: number }> {
  const store = new SqliteDatastore(join(dir, 'list.db'));
  await store.start();
  const batch = 1000; // one tick's worth: group commit makes each batch one transaction
  for (let i = 0; i < LIST_KEYS; i += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, LIST_KEYS - i) }, (_, j) => store.create(`/registry/pods/ns${(i + j) % 10}/pod-${i + j}`, VALUE)),
    );
  }
  // Unrelated keys that the list must not scan.
  await Promise.all(Array.from({ length: 1000 }, (_, j) => store.create(`/registry/configmaps/ns/cm-${j}`, VALUE)));
  const times: number[] = [];
  let rows = 0;
  for (let i = 0; i < 7; i++) {
    const t = performance.now();
    const r = await store.list('/registry/pods/');
    times.push(performance.now() - t);
    rows = r.kvs.length;
  }
  await store.close();
  times.sort((a, b) => a - b);
  return { median: times[times.length >> 1], rows };
}

export async function benchDatastore(): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-bench-ds-'));
  try {
    const creates = await sqliteCreatesPerSec(dir);
    const raw = rawSingleCommitInsertsPerSec(dir);
    const list = await listLatencyMs(dir);
    if (list.rows !== LIST_KEYS) throw new Error(`list returned ${list.rows} keys, want ${LIST_KEYS}`);
    return {
      datastore_sqlite_creates_per_sec: Math.round(creates),
      datastore_raw_sqlite_single_commit_inserts_per_sec: Math.round(raw),
      datastore_group_commit_speedup: Math.round((creates / raw) * 10) / 10,
      datastore_sqlite_list_10k_ms: Math.round(list.median * 100) / 100,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Allow `npx tsx bench/datastore.ts` on its own.
if (import.meta.url === `file://${process.argv[1]}`) {
  benchDatastore().then((r) => console.log(JSON.stringify(r, null, 2)));
}
