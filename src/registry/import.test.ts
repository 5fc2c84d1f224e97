import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildImage, ociArchive, writeOciLayout, type BuiltImage } from './build.js';
import { HttpSink, importImage, LocalSink } from './import.js';
import { RegistryServer } from './server.js';
import { RegistryStorage, sha256 } from './storage.js';
import { tarBuffer } from './tar.js';
import { MediaTypes } from './types.js';

let dir: string;
let img: BuiltImage;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'k8ts-import-'));
  img = await buildImage({ layers: [[{ name: 'hello.txt', type: 'file', data: Buffer.from('hi') }]], config: { Cmd: ['/hello'] } });
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('buildImage is deterministic and its layer diff_id is the uncompressed tar', async () => {
  const again = await buildImage({ layers: [[{ name: 'hello.txt', type: 'file', data: Buffer.from('hi') }]], config: { Cmd: ['/hello'] } });
  assert.equal(again.digest, img.digest);
  const m = JSON.parse(img.manifest.toString());
  const config = JSON.parse(img.blobs.get(m.config.digest)!.toString());
  assert.deepEqual(config.config.Cmd, ['/hello']);
  assert.equal(config.rootfs.diff_ids[0], sha256(await tarBuffer([{ name: 'hello.txt', type: 'file', data: Buffer.from('hi') }])));
});

test('an OCI archive imports into local storage under --name, gzipped or not, and a folder too', async () => {
  const root = join(dir, 'local');
  const archive = join(dir, 'img.tar');
  writeFileSync(archive, await ociArchive(img, 'latest'));
  writeFileSync(`${archive}.gz`, gzipSync(await ociArchive(img, 'latest')));
  writeOciLayout(join(dir, 'layout'), img, 'v9');
  const sink = new LocalSink(root);
  const got = await importImage({ file: archive, sink, name: 'test/hello:1' });
  assert.deepEqual(got.map((g) => [g.name, g.tag, g.digest]), [['test/hello', '1', img.digest]]);
  assert.equal(got[0].blobs, 3);
  await importImage({ file: `${archive}.gz`, sink, name: 'test/hello:gz' });
  // with --name NAME only, the tag defaults to latest
  await importImage({ file: join(dir, 'layout'), sink, name: 'test/dir' });
  const s = new RegistryStorage(root);
  assert.deepEqual(s.tags('test/hello'), ['1', 'gz']);
  assert.deepEqual(s.tags('test/dir'), ['latest']);
  assert.equal(s.getManifest('test/hello', '1')!.digest, img.digest);
  for (const d of img.blobs.keys()) assert.ok(s.statBlob(d), d);
  // a layout tagged only "latest" names no repository
  await assert.rejects(importImage({ file: archive, sink }), /--name/);
});

test('a docker-save archive becomes an OCI manifest with its RepoTags', async () => {
  const layer = await tarBuffer([{ name: 'a.txt', type: 'file', data: Buffer.from('docker layer') }]);
  const layerDigest = sha256(layer);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [layerDigest] } }));
  const cfgName = `${sha256(config).slice(7)}.json`;
  const archive = await tarBuffer([
    { name: 'manifest.json', type: 'file', data: Buffer.from(JSON.stringify([{ Config: cfgName, RepoTags: ['docker.io/library/thing:2', 'localhost:5000/mine/thing:3'], Layers: ['abc/layer.tar', 'def/layer.tar'] }])) },
    { name: cfgName, type: 'file', data: config },
    { name: 'abc', type: 'dir' },
    { name: 'abc/layer.tar', type: 'file', data: layer },
    { name: 'def', type: 'dir' },
    // docker save links repeated layers
    { name: 'def/layer.tar', type: 'symlink', linkname: '../abc/layer.tar' },
  ]);
  writeFileSync(join(dir, 'docker.tar'), archive);
  const root = join(dir, 'docker');
  const got = await importImage({ file: join(dir, 'docker.tar'), sink: new LocalSink(root) });
  assert.deepEqual(got.map((g) => `${g.name}:${g.tag}`), ['library/thing:2', 'mine/thing:3']);
  const s = new RegistryStorage(root);
  const m = s.getManifest('library/thing', '2')!;
  assert.equal(m.mediaType, MediaTypes.ociManifest);
  const doc = JSON.parse(m.bytes.toString());
  assert.equal(doc.config.digest, sha256(config));
  assert.deepEqual(doc.layers.map((l: { digest: string; mediaType: string }) => [l.digest, l.mediaType]), [[layerDigest, MediaTypes.ociLayer], [layerDigest, MediaTypes.ociLayer]]);
  assert.ok(s.statBlob(layerDigest));
});

test('import over HTTP pushes to a registry server; a corrupt blob is refused', async () => {
  const reg = new RegistryServer({ root: join(dir, 'remote'), port: 0 });
  await reg.start();
  const sink = new HttpSink(`127.0.0.1:${reg.port}`);
  try {
    writeFileSync(join(dir, 'img2.tar'), await ociArchive(img, 'example.com/remote/hello:7'));
    const got = await importImage({ file: join(dir, 'img2.tar'), sink });
    assert.deepEqual(got.map((g) => `${g.name}:${g.tag}`), ['remote/hello:7']);
    const r = await fetch(`http://127.0.0.1:${reg.port}/v2/remote/hello/manifests/7`);
    assert.equal(r.headers.get('docker-content-digest'), img.digest);
    // second import: blobs already there, only the manifest is written
    const again = await importImage({ file: join(dir, 'img2.tar'), sink, name: 'remote/hello:8' });
    assert.equal(again[0].blobs, 1);
    // a blob whose content does not match its name
    const bad = await ociArchive(img, 'latest');
    const layerHex = [...img.blobs.keys()].find((d) => img.blobs.get(d)![0] === 0x1f)!.slice(7);
    const at = bad.indexOf(Buffer.from(`blobs/sha256/${layerHex}`));
    bad[at + 512 + 20] ^= 0xff; // flips a byte of the layer's data (header is 512 bytes)
    writeFileSync(join(dir, 'bad.tar'), bad);
    // into a fresh store, where the layer is not already present
    await assert.rejects(importImage({ file: join(dir, 'bad.tar'), sink: new LocalSink(join(dir, 'fresh')), name: 'remote/bad:1' }), /corrupt/);
  } finally {
    sink.close();
    await reg.stop();
  }
});
