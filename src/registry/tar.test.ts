import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTar, tarBuffer, type TarEntry, type TarHeader } from './tar.js';

async function* chunks(b: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

async function readAll(b: Buffer, chunk = 7): Promise<{ h: TarHeader; data: string }[]> {
  const out: { h: TarHeader; data: string }[] = [];
  await readTar(chunks(b, chunk), async (h, body) => {
    const parts: Buffer[] = [];
    if (h.name.startsWith('skip')) return; // leaves the body for the reader to skip
    for await (const c of body) parts.push(c);
    out.push({ h, data: Buffer.concat(parts).toString() });
  });
  return out;
}

const longName = `${'deep/'.repeat(30)}file.txt`;
const entries: TarEntry[] = [
  { name: 'bin', type: 'dir' },
  { name: 'bin/hello', type: 'file', mode: 0o755, data: Buffer.from('#!/bin/sh\necho hi\n') },
  { name: 'skip-me', type: 'file', data: Buffer.alloc(1000, 1) },
  { name: 'bin/sh', type: 'symlink', linkname: 'hello' },
  { name: longName, type: 'file', data: Buffer.from('long') },
  { name: 'empty', type: 'file', data: Buffer.alloc(0) },
];

test('tar written by packTar reads back, in any chunking, with PAX long names', async () => {
  const tar = await tarBuffer(entries);
  assert.equal(tar.length % 512, 0);
  for (const size of [1, 7, 512, 100_000]) {
    const got = await readAll(tar, size);
    assert.deepEqual(
      got.map((e) => [e.h.name, e.h.type, e.data, e.h.linkname]),
      [
        ['bin', 'dir', '', ''],
        ['bin/hello', 'file', '#!/bin/sh\necho hi\n', ''],
        ['bin/sh', 'symlink', '', 'hello'],
        [longName, 'file', 'long', ''],
        ['empty', 'file', '', ''],
      ],
    );
    assert.equal(got[1].h.mode, 0o755);
  }
});

test('packTar output is deterministic and GNU tar understands it', async () => {
  const a = await tarBuffer(entries);
  const b = await tarBuffer(entries);
  assert.ok(a.equals(b));
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-tar-'));
  try {
    writeFileSync(join(dir, 'a.tar'), a);
    execFileSync('tar', ['-xf', join(dir, 'a.tar'), '-C', dir]);
    assert.equal(readFileSync(join(dir, 'bin/hello'), 'utf8'), '#!/bin/sh\necho hi\n');
    assert.equal(statSync(join(dir, 'bin/hello')).mode & 0o777, 0o755);
    assert.equal(readlinkSync(join(dir, 'bin/sh')), 'hello');
    assert.equal(readFileSync(join(dir, longName), 'utf8'), 'long');
    // and we read what GNU tar writes (with ./ prefixes)
    execFileSync('tar', ['-cf', join(dir, 'b.tar'), '-C', dir, './bin']);
    const got = await readAll(readFileSync(join(dir, 'b.tar')));
    assert.deepEqual(got.map((e) => e.h.name).sort(), ['bin', 'bin/hello', 'bin/sh']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('readTar refuses input that is not a tar, and truncated archives', async () => {
  await assert.rejects(readAll(Buffer.alloc(1024, 65)), /not a tar archive/);
  const tar = await tarBuffer(entries);
  await assert.rejects(readAll(tar.subarray(0, 700)), /truncated/);
});
