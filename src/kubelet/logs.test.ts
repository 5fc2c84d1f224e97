import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { parseCriLine, splitRecords, streamLog, tailStart, type LogOptions } from './logs.js';

const file = [
  '2026-11-01T10:00:00.000000001Z stdout F one',
  '2026-11-01T10:00:01.5Z stderr F two',
  '2026-11-01T10:00:02Z stdout P thr',
  '2026-11-01T10:00:02.1Z stdout F ee',
  '2026-11-01T10:00:03Z stdout P partial',
  '',
].join('\n');

async function run(opts: LogOptions, content = file, deps = {}): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-logs-'));
  try {
    const p = join(dir, '0.log');
    writeFileSync(p, content);
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    await streamLog(p, opts, out, deps);
    return Buffer.concat(chunks).toString();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('parses CRI lines and joins partial ones', async () => {
  assert.deepEqual({ ...parseCriLine(Buffer.from('2026-11-01T10:00:00Z stdout F hi there'))!, content: 'x' }, { time: '2026-11-01T10:00:00Z', stream: 'stdout', full: true, content: 'x' });
  assert.equal(parseCriLine(Buffer.from('2026-11-01T10:00:00Z stdout F '))!.content.toString(), '');
  assert.equal(parseCriLine(Buffer.from('garbage')), null);
  assert.equal(await run({}), 'one\ntwo\nthree\npartial');
});

test('tail, since, timestamps and limitBytes', async () => {
  assert.equal(await run({ tailLines: 2 }), 'three\npartial');
  assert.equal(await run({ tailLines: 0 }), '');
  assert.equal(await run({ tailLines: 10 }), 'one\ntwo\nthree\npartial');
  assert.equal(await run({ since: new Date('2026-11-01T10:00:01.2Z') }), 'two\nthree\npartial');
  assert.equal(await run({ timestamps: true, tailLines: 3 }), '2026-11-01T10:00:01.5Z two\n2026-11-01T10:00:02Z thr2026-11-01T10:00:02.1Z ee\n2026-11-01T10:00:03Z partial');
  assert.equal(await run({ limitBytes: 6 }), 'one\ntw');
  const { records } = splitRecords(Buffer.from(file));
  assert.equal(tailStart(records, 1), 4);
});

test('follow streams appended lines until the container stops', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-logs-'));
  const p = join(dir, '0.log');
  writeFileSync(p, '2026-11-01T10:00:00Z stdout F first\n');
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c));
  let running = true;
  const done = streamLog(p, { follow: true }, out, { isRunning: async () => running, pollMs: 20 });
  await new Promise((r) => setTimeout(r, 60));
  appendFileSync(p, '2026-11-01T10:00:01Z stdout F second\n');
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(text, 'first\nsecond\n');
  appendFileSync(p, '2026-11-01T10:00:02Z stderr F last\n');
  running = false;
  await done;
  assert.equal(text, 'first\nsecond\nlast\n');
  rmSync(dir, { recursive: true, force: true });
});
