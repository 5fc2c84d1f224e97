import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SANDBOX_IMAGE, isStaticElf, sandboxImageArchive } from './sandboxImage.js';

const busybox = ['/bin/busybox', '/usr/bin/busybox'].find(existsSync);

test('isStaticElf: static busybox yes, dynamically linked node no, non-ELF no', () => {
  assert.equal(isStaticElf(readFileSync(process.execPath)), false);
  assert.equal(isStaticElf(Buffer.from('#!/bin/sh\necho hi\n')), false);
  // `file` agrees with us on whatever busybox this machine has
  if (busybox && existsSync('/usr/bin/file')) {
    const desc = execFileSync('file', ['-L', busybox], { encoding: 'utf8' });
    assert.equal(isStaticElf(readFileSync(busybox)), /statically linked/.test(desc), desc);
  }
});

test('sandbox image: named locally, sleeps forever', { skip: !busybox && 'busybox not installed' }, () => {
  let a;
  try {
    a = sandboxImageArchive();
  } catch (e) {
    assert.match(String(e), /busybox-static/);
    return;
  }
  assert.ok(!SANDBOX_IMAGE.startsWith('registry.') && !SANDBOX_IMAGE.includes('docker.io'));
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-pause-'));
  try {
    writeFileSync(join(dir, 'a.tar'), a.archive);
    execFileSync('tar', ['-xf', join(dir, 'a.tar'), '-C', dir]);
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
    assert.equal(index.manifests[0].annotations['io.containerd.image.name'], SANDBOX_IMAGE);
    const config = JSON.parse(readFileSync(join(dir, 'blobs/sha256', a.configDigest.slice(7)), 'utf8'));
    assert.deepEqual(config.config.Entrypoint, ['/bin/busybox', 'sleep', '2147483647']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
