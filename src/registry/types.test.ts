import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isValidName, isValidTag, parseReference } from './types.js';

test('repository names and tags follow the distribution grammar', () => {
  for (const n of ['busybox', 'library/busybox', 'a/b/c', 'my-app', 'my__app', 'a.b', 'x1/y_2']) assert.ok(isValidName(n), n);
  for (const n of ['', 'Upper', '/a', 'a/', 'a//b', '-a', 'a-', '_manifests', 'a/../b']) assert.ok(!isValidName(n), n);
  for (const t of ['latest', 'v1.2.3', '_x', 'A-b_c.d']) assert.ok(isValidTag(t), t);
  for (const t of ['', '-x', '.x', 'a/b', 'x'.repeat(129)]) assert.ok(!isValidTag(t), t);
});

test('parseReference splits host, name, tag and digest like docker', () => {
  assert.deepEqual(parseReference('busybox'), { host: undefined, name: 'busybox', tag: undefined, digest: undefined });
  assert.deepEqual(parseReference('localhost:5000/test/busybox:1'), { host: 'localhost:5000', name: 'test/busybox', tag: '1', digest: undefined });
  assert.deepEqual(parseReference('docker.io/library/busybox:latest'), { host: 'docker.io', name: 'library/busybox', tag: 'latest', digest: undefined });
  assert.deepEqual(parseReference('library/busybox'), { host: undefined, name: 'library/busybox', tag: undefined, digest: undefined });
  const d = `sha256:${'a'.repeat(64)}`;
  assert.deepEqual(parseReference(`127.0.0.1:5000/x@${d}`), { host: '127.0.0.1:5000', name: 'x', tag: undefined, digest: d });
  assert.throws(() => parseReference('Bad/Name'), /invalid image name/);
});
