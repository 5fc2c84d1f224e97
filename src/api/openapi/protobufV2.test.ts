import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { builtinKinds } from '../kinds/index.js';
import { buildOpenAPIV2 } from './build.js';
import { encodeOpenAPIV2Protobuf, toYAML } from './protobufV2.js';

// A tiny protobuf reader, independent of the encoder: a message becomes a map
// field number -> list of raw values (number for varint, Buffer for bytes and
// fixed64). Length-delimited values are decoded further on demand.
type Raw = number | bigint | Buffer;
type Msg = Map<number, Raw[]>;

function decode(buf: Buffer): Msg {
  const m: Msg = new Map();
  let i = 0;
  const varint = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (let n = 0; n < 10; n++) {
      assert.ok(i < buf.length, 'truncated varint');
      const b = buf[i++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
      shift += 7n;
    }
    throw new Error('varint too long');
  };
  while (i < buf.length) {
    const key = Number(varint());
    const field = key >> 3;
    const wire = key & 7;
    assert.ok(field > 0, 'field number 0');
    let val: Raw;
    if (wire === 0) {
      const v = varint();
      val = v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
    } else if (wire === 2) {
      const len = Number(varint());
      assert.ok(i + len <= buf.length, `length ${len} past the end`);
      val = buf.subarray(i, i + len);
      i += len;
    } else if (wire === 1) {
      val = buf.subarray(i, i + 8);
      i += 8;
    } else throw new Error(`unexpected wire type ${wire}`);
    if (!m.has(field)) m.set(field, []);
    m.get(field)!.push(val);
  }
  return m;
}

const str = (m: Msg, f: number): string | undefined => (m.get(f)?.[0] as Buffer | undefined)?.toString('utf8');
const strs = (m: Msg, f: number): string[] => (m.get(f) ?? []).map((b) => (b as Buffer).toString('utf8'));
const sub = (m: Msg, f: number): Msg | undefined => {
  const b = m.get(f)?.[0];
  return b === undefined ? undefined : decode(b as Buffer);
};
const subs = (m: Msg, f: number): Msg[] => (m.get(f) ?? []).map((b) => decode(b as Buffer));
/** Named* entries (name = 1, value = 2) of a repeated field, as a map. */
const named = (m: Msg, f: number): Map<string, Msg> => new Map(subs(m, f).map((e) => [str(e, 1)!, sub(e, 2) ?? new Map()]));

describe('encodeOpenAPIV2Protobuf', () => {
  const doc = {
    swagger: '2.0',
    info: { title: 'Kubernetes', version: 'v1.32.0' },
    paths: {
      '/api/v1/namespaces/{namespace}/configmaps': {
        post: {
          description: 'create a ConfigMap',
          consumes: ['*/*'],
          produces: ['application/json', 'application/yaml'],
          schemes: ['https'],
          tags: ['core_v1'],
          operationId: 'createCoreV1NamespacedConfigMap',
          parameters: [
            { name: 'body', in: 'body', required: true, schema: { $ref: '#/definitions/io.k8s.api.core.v1.ConfigMap' } },
            { uniqueItems: true, type: 'string', description: 'validate', name: 'fieldValidation', in: 'query' },
          ],
          responses: { '201': { description: 'Created', schema: { $ref: '#/definitions/io.k8s.api.core.v1.ConfigMap' } }, '401': { description: 'Unauthorized' } },
          'x-kubernetes-action': 'post',
          'x-kubernetes-group-version-kind': { group: '', kind: 'ConfigMap', version: 'v1' },
        },
        parameters: [{ uniqueItems: true, type: 'string', description: 'object name and auth scope', name: 'namespace', in: 'path', required: true }],
      },
    },
    definitions: {
      'io.k8s.api.core.v1.ConfigMap': {
        description: 'ConfigMap holds configuration data',
        type: 'object',
        required: ['kind'],
        properties: {
          data: { type: 'object', additionalProperties: { type: 'string', default: '' } },
          binaryData: { type: 'object', additionalProperties: { type: 'string', format: 'byte' } },
          immutable: { type: 'boolean' },
          metadata: { $ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta', description: 'meta' },
          list: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'atomic', maxItems: 3, minimum: -1.5, enum: ['a', 'b'] },
          open: { type: 'object', additionalProperties: false },
          intOrString: { 'x-kubernetes-int-or-string': true, minLength: -2 },
        },
        'x-kubernetes-group-version-kind': [{ group: '', kind: 'ConfigMap', version: 'v1' }],
      },
    },
    securityDefinitions: { BearerToken: { type: 'apiKey', description: 'Bearer Token authentication', name: 'authorization', in: 'header' } },
    security: [{ BearerToken: [] }],
  };
  const d = decode(encodeOpenAPIV2Protobuf(doc));

  it('writes the document header', () => {
    assert.equal(str(d, 1), '2.0');
    const info = sub(d, 2)!;
    assert.equal(str(info, 1), 'Kubernetes');
    assert.equal(str(info, 2), 'v1.32.0');
  });

  it('writes definitions as NamedSchema with type, required, properties, refs and extensions', () => {
    const defs = named(sub(d, 9)!, 1);
    const cm = defs.get('io.k8s.api.core.v1.ConfigMap')!;
    assert.equal(str(cm, 4), 'ConfigMap holds configuration data');
    assert.deepEqual(strs(sub(cm, 22)!, 1), ['object']);
    assert.deepEqual(strs(cm, 19), ['kind']);
    const props = named(sub(cm, 25)!, 1);
    assert.deepEqual([...props.keys()], ['data', 'binaryData', 'immutable', 'metadata', 'list', 'open', 'intOrString']);
    // additionalProperties: AdditionalPropertiesItem.schema (1) or .boolean (2)
    const dataAP = sub(props.get('data')!, 21)!;
    const dataSchema = sub(dataAP, 1)!;
    assert.deepEqual(strs(sub(dataSchema, 22)!, 1), ['string']);
    assert.equal(str(sub(dataSchema, 5)!, 2), '""\n', 'default as Any.yaml');
    assert.equal(str(sub(sub(props.get('binaryData')!, 21)!, 1)!, 2), 'byte');
    const openAP = sub(props.get('open')!, 21)!;
    assert.deepEqual(openAP.get(2), [0], 'a false boolean is still written (oneof)');
    const meta = props.get('metadata')!;
    assert.equal(str(meta, 1), '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta');
    assert.equal(str(meta, 4), 'meta');
    const list = props.get('list')!;
    const items = subs(sub(list, 23)!, 1);
    assert.equal(items.length, 1);
    assert.deepEqual(strs(sub(items[0]!, 22)!, 1), ['string']);
    assert.equal(list.get(14)![0], 3, 'maxItems');
    assert.equal((list.get(9)![0] as Buffer).readDoubleLE(0), -1.5, 'minimum as double');
    assert.deepEqual(subs(list, 20).map((a) => str(a, 2)), ['a\n', 'b\n'], 'enum as Any.yaml');
    const listExt = named(list, 31);
    assert.equal(str(listExt.get('x-kubernetes-list-type')!, 2), 'atomic\n');
    const ios = props.get('intOrString')!;
    assert.equal(str(named(ios, 31).get('x-kubernetes-int-or-string')!, 2), 'true\n');
    assert.equal(ios.get(12)![0], 2n ** 64n - 2n, 'negative int64 is a ten-byte varint');
    const gvk = named(cm, 31).get('x-kubernetes-group-version-kind')!;
    assert.equal(str(gvk, 2), '- group: ""\n  kind: ConfigMap\n  version: v1\n');
  });

  it('writes paths, operations, parameters and responses', () => {
    const paths = named(sub(d, 8)!, 2);
    const item = paths.get('/api/v1/namespaces/{namespace}/configmaps')!;
    const post = sub(item, 4)!;
    assert.equal(str(post, 5), 'createCoreV1NamespacedConfigMap');
    assert.deepEqual(strs(post, 1), ['core_v1']);
    assert.deepEqual(strs(post, 6), ['application/json', 'application/yaml']);
    assert.deepEqual(strs(post, 7), ['*/*']);
    assert.deepEqual(strs(post, 10), ['https']);
    const [body, query] = subs(post, 8).map((p) => sub(p, 1)!);
    const bodyParam = sub(body!, 1)!;
    assert.equal(str(bodyParam, 2), 'body');
    assert.equal(str(bodyParam, 3), 'body');
    assert.equal(bodyParam.get(4)![0], 1);
    assert.equal(str(sub(bodyParam, 5)!, 1), '#/definitions/io.k8s.api.core.v1.ConfigMap');
    const q = sub(sub(query!, 2)!, 3)!; // NonBodyParameter.query_parameter_sub_schema
    assert.equal(str(q, 4), 'fieldValidation');
    assert.equal(str(q, 2), 'query');
    assert.equal(str(q, 6), 'string');
    assert.equal(q.get(20)![0], 1, 'uniqueItems');
    const pathParam = sub(sub(sub(subs(item, 9)[0]!, 1)!, 2)!, 4)!; // PathParameterSubSchema
    assert.equal(str(pathParam, 4), 'namespace');
    assert.equal(pathParam.get(1)![0], 1, 'required');
    assert.equal(str(pathParam, 5), 'string');
    assert.equal(pathParam.get(19)![0], 1, 'uniqueItems');
    const responses = named(sub(post, 9)!, 1);
    const created = sub(responses.get('201')!, 1)!;
    assert.equal(str(created, 1), 'Created');
    assert.equal(str(sub(sub(created, 2)!, 1)!, 1), '#/definitions/io.k8s.api.core.v1.ConfigMap');
    assert.equal(str(sub(responses.get('401')!, 1)!, 1), 'Unauthorized');
    const ext = named(post, 13);
    assert.equal(str(ext.get('x-kubernetes-action')!, 2), 'post\n');
    assert.equal(str(ext.get('x-kubernetes-group-version-kind')!, 2), 'group: ""\nkind: ConfigMap\nversion: v1\n');
  });

  it('writes security definitions and requirements', () => {
    const sd = named(sub(d, 13)!, 1);
    const apiKey = sub(sd.get('BearerToken')!, 2)!;
    assert.deepEqual([str(apiKey, 1), str(apiKey, 2), str(apiKey, 3)], ['apiKey', 'authorization', 'header']);
    const req = named(subs(d, 12)[0]!, 1);
    assert.ok(req.has('BearerToken'));
  });

  it('encodes the full built-in document quickly and consistently', () => {
    const v2 = buildOpenAPIV2(builtinKinds);
    const json = JSON.parse(v2.json.toString());
    const t0 = performance.now();
    const pb = encodeOpenAPIV2Protobuf(json);
    const ms = performance.now() - t0;
    assert.ok(ms < 1000, `encoding took ${ms} ms`);
    assert.ok(v2.protobuf && v2.protobuf.equals(pb), 'buildOpenAPIV2 exposes the same bytes');
    const top = decode(pb);
    const defs = named(sub(top, 9)!, 1);
    assert.equal(defs.size, Object.keys(json.definitions).length);
    const paths = named(sub(top, 8)!, 2);
    assert.equal(paths.size, Object.keys(json.paths).length);
    const deploy = defs.get('io.k8s.api.apps.v1.Deployment')!;
    assert.match(str(named(deploy, 31).get('x-kubernetes-group-version-kind')!, 2)!, /kind: Deployment/);
  });
});

describe('toYAML', () => {
  it('quotes what YAML would read as something else', () => {
    assert.equal(toYAML('merge'), 'merge\n');
    assert.equal(toYAML('true'), '"true"\n');
    assert.equal(toYAML('123'), '"123"\n');
    assert.equal(toYAML(''), '""\n');
    assert.equal(toYAML('a: b'), '"a: b"\n');
    assert.equal(toYAML(['type', 'name']), '- type\n- name\n');
    assert.equal(toYAML({}), '{}\n');
    assert.equal(toYAML({ a: [1, { b: 'c' }], e: [] }), 'a:\n  - 1\n  - b: c\ne: []\n');
  });
});
