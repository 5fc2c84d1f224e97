import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyPatch, JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, patchMediaType } from './index.js';
import { applyJsonPatch, JsonPatchApplyError } from './json.js';
import { applyMergePatch } from './merge.js';
import { StatusError } from '../errors.js';
import type { SchemaNode } from './strategic.js';

const schema: Record<string, SchemaNode> = {
  'io.k8s.api.core.v1.Pod': { type: 'object', properties: { spec: { $ref: '#/definitions/io.k8s.api.core.v1.PodSpec' } } },
  'io.k8s.api.core.v1.PodSpec': {
    type: 'object',
    properties: { containers: { type: 'array', items: { type: 'object' }, 'x-kubernetes-patch-strategy': 'merge', 'x-kubernetes-patch-merge-key': 'name' } },
  },
};
const POD = 'io.k8s.api.core.v1.Pod';
const pod = { metadata: { name: 'p', labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i:1' }, { name: 'd', image: 'j:1' }] } };

function status(code: number, reason?: string, message?: string | RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof StatusError, `not a StatusError: ${e}`);
    assert.equal(e.code, code);
    if (reason) assert.equal(e.reason, reason);
    if (typeof message === 'string') assert.equal(e.message, message);
    else if (message) assert.match(e.message, message);
    return true;
  };
}

// ---- JSON patch ----

test('json patch: add, remove, replace, move, copy, test', () => {
  const doc = { a: { b: [1, 2, 3] }, c: 'x' };
  const out = applyJsonPatch(doc, [
    { op: 'add', path: '/a/b/1', value: 9 },
    { op: 'add', path: '/a/b/-', value: 10 },
    { op: 'remove', path: '/a/b/0' },
    { op: 'replace', path: '/c', value: 'y' },
    { op: 'copy', from: '/c', path: '/d' },
    { op: 'move', from: '/d', path: '/e~1f' },
    { op: 'test', path: '/e~1f', value: 'y' },
    { op: 'add', path: '/a/new', value: { z: 1 } },
  ]);
  assert.deepEqual(out, { a: { b: [9, 2, 3, 10], new: { z: 1 } }, c: 'y', 'e/f': 'y' });
  assert.deepEqual(doc, { a: { b: [1, 2, 3] }, c: 'x' }, 'original untouched');
});

test('json patch: failures are 422 with the generic upstream message', () => {
  const msg = 'the server rejected our request due to an error in our request';
  for (const ops of [
    [{ op: 'test', path: '/metadata/name', value: 'other' }],
    [{ op: 'replace', path: '/metadata/missing', value: 1 }],
    [{ op: 'remove', path: '/spec/containers/5' }],
    [{ op: 'add', path: '/nope/deeper', value: 1 }],
    [{ op: 'frobnicate', path: '/a' }],
  ]) {
    assert.throws(() => applyPatch(JSON_PATCH, pod, JSON.stringify(ops), schema, POD), status(422, 'Invalid', msg));
  }
  try {
    applyJsonPatch(pod, [{ op: 'test', path: '/metadata/name', value: 'q' }]);
  } catch (e) {
    assert.ok(e instanceof JsonPatchApplyError);
    assert.equal(e.detail, 'testing value /metadata/name failed: test failed');
  }
});

test('json patch: bad bodies are 400, too many operations 413', () => {
  assert.throws(() => applyPatch(JSON_PATCH, pod, '{"op":"add"}', schema, POD), status(400, 'BadRequest', 'json: cannot unmarshal object into Go value of type jsonpatch.Patch'));
  assert.throws(() => applyPatch(JSON_PATCH, pod, '[{"op":', schema, POD), status(400, 'BadRequest', 'unexpected end of JSON input'));
  const many = JSON.stringify(Array.from({ length: 10001 }, () => ({ op: 'test', path: '/metadata/name', value: 'p' })));
  assert.throws(() => applyPatch(JSON_PATCH, pod, many, schema, POD), status(413, 'RequestEntityTooLarge', /maximum operations in a JSON patch is 10000, got 10001/));
});

test('json patch: kubectl-style replace of a container image', () => {
  const out = applyPatch(JSON_PATCH, pod, Buffer.from('[{"op":"replace","path":"/spec/containers/0/image","value":"i:2"}]'), schema, POD) as any;
  assert.equal(out.spec.containers[0].image, 'i:2');
  assert.equal(pod.spec.containers[0].image, 'i:1');
});

// ---- merge patch ----

test('merge patch: RFC 7386 examples', () => {
  assert.deepEqual(applyMergePatch({ a: 'b' }, { a: 'c' }), { a: 'c' });
  assert.deepEqual(applyMergePatch({ a: 'b' }, { b: 'c' }), { a: 'b', b: 'c' });
  assert.deepEqual(applyMergePatch({ a: 'b' }, { a: null }), {});
  assert.deepEqual(applyMergePatch({ a: 'b', b: 'c' }, { a: null }), { b: 'c' });
  assert.deepEqual(applyMergePatch({ a: ['b'] }, { a: 'c' }), { a: 'c' });
  assert.deepEqual(applyMergePatch({ a: 'c' }, { a: ['b'] }), { a: ['b'] });
  assert.deepEqual(applyMergePatch({ a: { b: 'c' } }, { a: { b: 'd', c: null } }), { a: { b: 'd' } });
  assert.deepEqual(applyMergePatch({ a: [{ b: 'c' }] }, { a: [1] }), { a: [1] });
  assert.deepEqual(applyMergePatch({ e: null }, { a: 1 }), { e: null, a: 1 });
  assert.deepEqual(applyMergePatch({}, { a: { bb: { ccc: null } } }), { a: { bb: {} } });
});

test('merge patch via applyPatch: lists replace, bad JSON is 400', () => {
  const out = applyPatch(`${MERGE_PATCH}; charset=utf-8`, pod, '{"spec":{"containers":[{"name":"x"}]},"metadata":{"labels":{"a":null}}}', schema, POD) as any;
  assert.deepEqual(out.spec.containers, [{ name: 'x' }]);
  assert.deepEqual(out.metadata.labels, {});
  assert.throws(() => applyPatch(MERGE_PATCH, pod, '{nope', schema, POD), status(400, 'BadRequest', 'Invalid JSON Patch'));
});

// ---- strategic via applyPatch ----

test('strategic merge patch via applyPatch', () => {
  const out = applyPatch(STRATEGIC_MERGE_PATCH, pod, '{"spec":{"containers":[{"name":"d","image":"j:2"}]}}', schema, POD) as any;
  assert.deepEqual(out.spec.containers, [{ name: 'c', image: 'i:1' }, { name: 'd', image: 'j:2' }]);
  assert.throws(() => applyPatch(STRATEGIC_MERGE_PATCH, pod, '[]', schema, POD), status(400, 'BadRequest', /cannot unmarshal array/));
  assert.throws(() => applyPatch(STRATEGIC_MERGE_PATCH, pod, 'x', schema, POD), status(400, 'BadRequest', "invalid character 'x' looking for beginning of value"));
});

test('strategic merge patch on an unknown kind: merge by default, 415 when asked', () => {
  const cr = { spec: { items: [1, 2] } };
  assert.deepEqual(applyPatch(STRATEGIC_MERGE_PATCH, cr, '{"spec":{"items":[3]}}', schema, 'x.v1.Thing'), { spec: { items: [3] } });
  assert.throws(
    () => applyPatch(STRATEGIC_MERGE_PATCH, cr, '{}', schema, 'x.v1.Thing', { strategicForUnknown: 'reject' }),
    status(415, 'UnsupportedMediaType', /accepted media types include: application\/json-patch\+json, application\/merge-patch\+json, application\/apply-patch\+yaml$/),
  );
});

test('unknown patch content type is 415', () => {
  assert.throws(() => applyPatch('application/json', pod, '{}', schema, POD), status(415, 'UnsupportedMediaType', /application\/strategic-merge-patch\+json/));
  assert.equal(patchMediaType('Application/Merge-Patch+JSON; charset=UTF-8'), MERGE_PATCH);
});
