import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqliteDatastore } from './sqlite.js';
import { datastoreContract } from './contract.js';

const enc = (s: string) => new TextEncoder().encode(s);

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'k8ts-sqlite-'));
}

datastoreContract('sqlite', async () => {
  const dir = tempDir();
  const store = new SqliteDatastore(join(dir, 'state.db'));
  await store.start();
  return {
    store,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

test('sqlite: close and reopen keeps data, history, compaction and the revision', async () => {
  const dir = tempDir();
  const path = join(dir, 'state.db');
  try {
    let s = new SqliteDatastore(path);
    await s.start();
    const a = await s.create('/re/a', enc('a1'));
    await s.create('/re/b', enc('b1'));
    await s.update('/re/a', enc('a2'), a.modRevision);
    await s.delete('/re/b');
    await s.compact(2);
    await s.close();

    s = new SqliteDatastore(path);
    await s.start();
    assert.equal(await s.currentRevision(), 4);
    assert.equal(await s.compactedRevision(), 2);
    assert.deepEqual((await s.list('/re/')).kvs.map((kv) => kv.key), ['/re/a']);
    assert.equal(new TextDecoder().decode((await s.get('/re/b', { revision: 3 }))!.value), 'b1');
    const c = await s.create('/re/c', enc('c'));
    assert.equal(c.modRevision, 5);
    // Compacting everything (the last write is a deletion) must not move the revision back.
    await s.delete('/re/c');
    await s.compact(6);
    await s.close();
    s = new SqliteDatastore(path);
    await s.start();
    assert.equal(await s.currentRevision(), 6);
    assert.equal((await s.create('/re/d', enc('d'))).modRevision, 7);
    await s.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sqlite: compaction removes superseded rows and tombstones from the log', async () => {
  const dir = tempDir();
  const path = join(dir, 'state.db');
  try {
    const s = new SqliteDatastore(path);
    await s.start();
    let kv = await s.create('/x', enc('0'));
    for (let i = 1; i <= 50; i++) kv = await s.update('/x', enc(String(i)), kv.modRevision);
    await s.create('/y', enc('y'));
    await s.delete('/y');
    await s.compact(await s.currentRevision());
    await s.close();
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(path, { readonly: true });
    const rows = db.prepare('SELECT key, rev FROM log ORDER BY rev').all() as { key: string; rev: number }[];
    db.close();
    assert.deepEqual(rows, [{ key: '/x', rev: 51 }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sqlite: a writer killed with SIGKILL loses no acknowledged write', async () => {
  const dir = tempDir();
  const path = join(dir, 'state.db');
  try {
    // Run the child the same way we run: TypeScript through tsx, or compiled JavaScript.
    const isTs = import.meta.url.endsWith('.ts');
    const moduleUrl = new URL(isTs ? './sqlite.ts' : './sqlite.js', import.meta.url).href;
    const script = join(dir, 'writer.mjs');
    writeFileSync(
      script,
      `const { SqliteDatastore } = await import(${JSON.stringify(moduleUrl)});
const s = new SqliteDatastore(${JSON.stringify(path)});
await s.start();
const value = new Uint8Array(512).fill(7);
async function writer(w) {
  for (let j = 0; j < 200000; j++) {
    const key = '/crash/' + w + '/' + j;
    await s.create(key, value);
    process.stdout.write(key + '\\n');
  }
}
await Promise.all(Array.from({ length: 16 }, (_, w) => writer(w)));
`,
    );
    const args = isTs ? ['--import', 'tsx', script] : [script];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: fileURLToPath(new URL('../..', import.meta.url)) });
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, sig) => resolve(sig ?? code)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`child wrote too little: ${out.length} bytes; stderr: ${err}`)), 20000);
      child.stdout.on('data', (d) => {
        out += d;
        // Kill mid-stream, once plenty of writes were acknowledged.
        if (out.split('\n').length > 3000) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL', `child exited on its own: ${err}`);
    // Lines read after the kill are acknowledged too; a partial last line is not.
    const acked = out.split('\n').slice(0, -1);
    assert.ok(acked.length > 3000, `only ${acked.length} acknowledged writes`);

    const s = new SqliteDatastore(path);
    await s.start();
    try {
      const present = new Set((await s.list('/crash/')).kvs.map((kv) => kv.key));
      const missing = acked.filter((k) => !present.has(k));
      assert.deepEqual(missing.slice(0, 10), [], `${missing.length} acknowledged writes lost`);
      assert.equal(await s.currentRevision(), present.size);
      // The store still works after the crash.
      const kv = await s.create('/after-crash', enc('ok'));
      assert.equal(kv.modRevision, present.size + 1);
    } finally {
      await s.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
