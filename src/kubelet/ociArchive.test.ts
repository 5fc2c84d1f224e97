import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ociImageArchive, tar } from './ociArchive.js';

const sha = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');

test('tar: GNU tar reads files, dirs, symlinks, modes and long paths', () => {
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-tar-'));
  try {
    const long = 'd/' + 'x'.repeat(120) + '/file.txt';
    const t = tar([
      { type: 'dir', path: 'bin' },
      { type: 'file', path: 'bin/tool', data: 'echo hi\n', mode: 0o755 },
      { type: 'symlink', path: 'bin/alias', target: 'tool' },
      { type: 'dir', path: 'tmp', mode: 0o1777 },
      { type: 'file', path: long, data: Buffer.alloc(1000, 7) },
    ]);
    assert.equal(t.length % 512, 0);
    writeFileSync(join(dir, 'a.tar'), t);
    const listing = execFileSync('tar', ['-tvf', join(dir, 'a.tar')], { encoding: 'utf8' });
    assert.match(listing, /-rwxr-xr-x .* bin\/tool/);
    assert.match(listing, /bin\/alias -> tool/);
    assert.match(listing, /drwxrwxrwt .* tmp\//);
    assert.ok(listing.includes(long));
    execFileSync('tar', ['-xf', join(dir, 'a.tar'), '-C', dir]);
    assert.equal(readFileSync(join(dir, 'bin/alias'), 'utf8'), 'echo hi\n');
    assert.equal(readFileSync(join(dir, long)).length, 1000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ociImageArchive: a consistent OCI layout with content-addressed blobs', () => {
  const a = ociImageArchive({ name: 'k8ts.local/demo:v2', layer: [{ type: 'file', path: 'hello', data: 'world' }], entrypoint: ['/hello'] });
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-oci-'));
  try {
    writeFileSync(join(dir, 'img.tar'), a.archive);
    execFileSync('tar', ['-xf', join(dir, 'img.tar'), '-C', dir]);
    const blob = (d: string) => readFileSync(join(dir, 'blobs/sha256', d.slice(7)));
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
    const m = index.manifests[0];
    assert.equal(m.digest, a.manifestDigest);
    assert.equal(m.annotations['io.containerd.image.name'], 'k8ts.local/demo:v2');
    assert.equal(m.annotations['org.opencontainers.image.ref.name'], 'v2');
    const manifestBuf = blob(m.digest);
    assert.equal(sha(manifestBuf), m.digest);
    assert.equal(manifestBuf.length, m.size);
    const manifest = JSON.parse(manifestBuf.toString());
    const config = JSON.parse(blob(manifest.config.digest).toString());
    assert.equal(manifest.config.digest, a.configDigest);
    assert.deepEqual(config.config.Entrypoint, ['/hello']);
    assert.equal(config.os, 'linux');
    const layerGz = blob(manifest.layers[0].digest);
    assert.equal(sha(layerGz), manifest.layers[0].digest);
    // diff_id is the digest of the uncompressed layer
    assert.equal(config.rootfs.diff_ids[0], sha(gunzipSync(layerGz)));
    // reproducible: same input, same digests
    assert.equal(ociImageArchive({ name: 'k8ts.local/demo:v2', layer: [{ type: 'file', path: 'hello', data: 'world' }], entrypoint: ['/hello'] }).manifestDigest, a.manifestDigest);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
