import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { StatusError } from '../errors.js';
import { decodeProtobufObject, isProtobuf, protobufDefinitionName } from './decode.js';

// Bodies captured from the real kubectl 1.32 (`kubectl -v=9 create …` prints them as a hex
// dump), with the JSON that `kubectl create … --dry-run=client -o json` prints for the same
// object (Go's JSON, whose `null`s for zero times we leave out).
const realBodies: { name: string; body: string; json: Record<string, unknown> }[] = [
  {
    name: "deployment",
    body: "azhzAAoVCgdhcHBzL3YxEgpEZXBsb3ltZW50ErgBCh8KA3dlYhIAGgAiACoAMgA4AEIAWgoKA2FwcBIDd2ViEoYBCAASDAoKCgNhcHASA3dlYhpsChwKABIAGgAiACoAMgA4AEIAWgoKA2FwcBIDd2ViEkwSLgoFbmdpbngSBW5naW54KgAyCgoAEAAYUCIAKgBCAGoAcgCAAQCIAQCQAQCiAQAaADIAQgBKAFIAWABgAGgAggEAigEAmgEAwgEAIgIKACgAOAAaDAgAEAAYACAAKAA4ABoAIgA=",
    json: {"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"web","labels":{"app":"web"}},"spec":{"replicas":0,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"nginx","image":"nginx","ports":[{"containerPort":80}],"resources":{}}]}},"strategy":{}},"status":{}},
  },
  {
    name: "configmap",
    body: "azhzAAoPCgJ2MRIJQ29uZmlnTWFwEicKEwoDY2ZnEgAaACIAKgAyADgAQgASBgoBYRIBMRIICgFiEgN0d28aACIA",
    json: {"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"cfg"},"data":{"a":"1","b":"two"}},
  },
  {
    name: "secret",
    body: "azhzAAoMCgJ2MRIGU2VjcmV0EjYKEwoDc2VjEgAaACIAKgAyADgAQgASCQoFZW1wdHkSABISCghwYXNzd29yZBIGczNjcjN0GgAaACIA",
    json: {"kind":"Secret","apiVersion":"v1","metadata":{"name":"sec"},"data":{"empty":"","password":"czNjcjN0"}},
  },
  {
    name: "tls-service",
    body: "azhzAAoNCgJ2MRIHU2VydmljZRKMAQofCgNzdmMSABoAIgAqADIAOABCAFoKCgNhcHASA3N2YxJlChsKBzgwLTgwODASA1RDUBhQIgcIABCQPxoAKAAKIgoJNDQzLWh0dHBzEgNUQ1AYuwMiCwgBEAAaBWh0dHBzKAASCgoDYXBwEgNzdmMaACIITm9kZVBvcnQ6AEIAUgBaAGAAaAAaAgoAGgAiAA==",
    json: {"kind":"Service","apiVersion":"v1","metadata":{"name":"svc","labels":{"app":"svc"}},"spec":{"ports":[{"name":"80-8080","protocol":"TCP","port":80,"targetPort":8080},{"name":"443-https","protocol":"TCP","port":443,"targetPort":"https"}],"selector":{"app":"svc"},"type":"NodePort"},"status":{"loadBalancer":{}}},
  },
  {
    name: "namespace",
    body: "azhzAAoPCgJ2MRIJTmFtZXNwYWNlEh4KFgoGdGVhbS1hEgAaACIAKgAyADgAQgASABoCCgAaACIA",
    json: {"kind":"Namespace","apiVersion":"v1","metadata":{"name":"team-a"},"spec":{},"status":{}},
  },
  {
    name: "job",
    body: "azhzAAoPCghiYXRjaC92MRIDSm9iEoQBChIKAmoxEgAaACIAKgAyADgAQgASZDJiChAKABIAGgAiACoAMgA4AEIAEk4SKwoCajESB2J1c3lib3gaBGVjaG8aAmhpKgBCAGoAcgCAAQCIAQCQAQCiAQAaBU5ldmVyMgBCAEoAUgBYAGAAaACCAQCKAQCaAQDCAQAaCCAAKAAwADoAGgAiAA==",
    json: {"kind":"Job","apiVersion":"batch/v1","metadata":{"name":"j1"},"spec":{"template":{"metadata":{},"spec":{"containers":[{"name":"j1","image":"busybox","command":["echo","hi"],"resources":{}}],"restartPolicy":"Never"}}},"status":{}},
  },
  {
    name: "cronjob",
    body: "azhzAAoTCghiYXRjaC92MRIHQ3JvbkpvYhKkAQoSCgJjahIAGgAiACoAMgA4AEIAEosBCgsqLzUgKiAqICogKhoAKnoKEgoCY2oSABoAIgAqADIAOABCABJkMmIKEAoAEgAaACIAKgAyADgAQgASThInCgJjahIHYnVzeWJveBoEZGF0ZSoAQgBqAHIAgAEAiAEAkAEAogEAGglPbkZhaWx1cmUyAEIASgBSAFgAYABoAIIBAIoBAJoBAMIBABoAGgAiAA==",
    json: {"kind":"CronJob","apiVersion":"batch/v1","metadata":{"name":"cj"},"spec":{"schedule":"*/5 * * * *","jobTemplate":{"metadata":{"name":"cj"},"spec":{"template":{"metadata":{},"spec":{"containers":[{"name":"cj","image":"busybox","command":["date"],"resources":{}}],"restartPolicy":"OnFailure"}}}}},"status":{}},
  },
  {
    name: "role",
    body: "azhzAAokChxyYmFjLmF1dGhvcml6YXRpb24uazhzLmlvL3YxEgRSb2xlEk8KEgoCcjESABoAIgAqADIAOABCABIWCgNnZXQKBGxpc3QSABoEcG9kcyIBeBIhCgNnZXQKBGxpc3QSBGFwcHMaC2RlcGxveW1lbnRzIgF4GgAiAA==",
    json: {"kind":"Role","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{"name":"r1"},"rules":[{"verbs":["get","list"],"apiGroups":[""],"resources":["pods"],"resourceNames":["x"]},{"verbs":["get","list"],"apiGroups":["apps"],"resources":["deployments"],"resourceNames":["x"]}]},
  },
  {
    name: "rolebinding",
    body: "azhzAAorChxyYmFjLmF1dGhvcml6YXRpb24uazhzLmlvL3YxEgtSb2xlQmluZGluZxK2AQoTCgNyYjESABoAIgAqADIAOABCABIqCgRVc2VyEhlyYmFjLmF1dGhvcml6YXRpb24uazhzLmlvGgVhbGljZSIAEioKBUdyb3VwEhlyYmFjLmF1dGhvcml6YXRpb24uazhzLmlvGgRkZXZzIgASIAoOU2VydmljZUFjY291bnQSABoDc2ExIgdkZWZhdWx0GiUKGXJiYWMuYXV0aG9yaXphdGlvbi5rOHMuaW8SBFJvbGUaAnIxGgAiAA==",
    json: {"kind":"RoleBinding","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{"name":"rb1"},"subjects":[{"kind":"User","apiGroup":"rbac.authorization.k8s.io","name":"alice"},{"kind":"Group","apiGroup":"rbac.authorization.k8s.io","name":"devs"},{"kind":"ServiceAccount","name":"sa1","namespace":"default"}],"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"r1"}},
  },
  {
    name: "clusterrole",
    body: "azhzAAorChxyYmFjLmF1dGhvcml6YXRpb24uazhzLmlvL3YxEgtDbHVzdGVyUm9sZRIlChMKA2NyMRIAGgAiACoAMgA4AEIAEg4KA2dldBIAGgVub2RlcxoAIgA=",
    json: {"kind":"ClusterRole","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{"name":"cr1"},"rules":[{"verbs":["get"],"apiGroups":[""],"resources":["nodes"]}]},
  },
  {
    name: "clusterrole-agg",
    body: "azhzAAorChxyYmFjLmF1dGhvcml6YXRpb24uazhzLmlvL3YxEgtDbHVzdGVyUm9sZRIlChMKA2NyMhIAGgAiACoAMgA4AEIAGg4KDAoKCgNmb28SA2JhchoAIgA=",
    json: {"kind":"ClusterRole","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{"name":"cr2"},"aggregationRule":{"clusterRoleSelectors":[{"matchLabels":{"foo":"bar"}}]}},
  },
  {
    name: "ingress",
    body: "azhzAAofChRuZXR3b3JraW5nLms4cy5pby92MRIHSW5ncmVzcxJtChsKA2luZxIAGgAiACoAMgA4AEIAYgYKAWESAWISShISCgdmb28uY29tEgdteS1jZXJ0Gi0KB2Zvby5jb20SIgogCh4KBC9iYXISDiIMCgNzdmMSBQoAEJA/GgZQcmVmaXgiBW5naW54GgIKABoAIgA=",
    json: {"kind":"Ingress","apiVersion":"networking.k8s.io/v1","metadata":{"name":"ing","annotations":{"a":"b"}},"spec":{"ingressClassName":"nginx","tls":[{"hosts":["foo.com"],"secretName":"my-cert"}],"rules":[{"host":"foo.com","http":{"paths":[{"path":"/bar","pathType":"Prefix","backend":{"service":{"name":"svc","port":{"number":8080}}}}]}}]},"status":{"loadBalancer":{}}},
  },
  {
    name: "serviceaccount",
    body: "azhzAAoUCgJ2MRIOU2VydmljZUFjY291bnQSFQoTCgNzYTESABoAIgAqADIAOABCABoAIgA=",
    json: {"kind":"ServiceAccount","apiVersion":"v1","metadata":{"name":"sa1"}},
  },
  {
    name: "quota",
    body: "azhzAAoTCgJ2MRINUmVzb3VyY2VRdW90YRJPChIKAnExEgAaACIAKgAyADgAQgASNwoKCgNjcHUSAwoBMQoPCgZtZW1vcnkSBQoDMUdpCgwKBHBvZHMSBAoCMTASCkJlc3RFZmZvcnQaABoAIgA=",
    json: {"kind":"ResourceQuota","apiVersion":"v1","metadata":{"name":"q1"},"spec":{"hard":{"cpu":"1","memory":"1Gi","pods":"10"},"scopes":["BestEffort"]},"status":{}},
  },
  {
    name: "priorityclass",
    body: "azhzAAolChRzY2hlZHVsaW5nLms4cy5pby92MRINUHJpb3JpdHlDbGFzcxItChQKBGhpZ2gSABoAIgAqADIAOABCABDoBxgAIglpbXBvcnRhbnQqBU5ldmVyGgAiAA==",
    json: {"kind":"PriorityClass","apiVersion":"scheduling.k8s.io/v1","metadata":{"name":"high"},"value":1000,"description":"important","preemptionPolicy":"Never"},
  },
  {
    name: "pdb",
    body: "azhzAAogCglwb2xpY3kvdjESE1BvZERpc3J1cHRpb25CdWRnZXQSOgoUCgRwZGIxEgAaACIAKgAyADgAQgASFgoGCAAQABoAEgwKCgoDYXBwEgN3ZWIaCggAGAAgACgAMAAaACIA",
    json: {"kind":"PodDisruptionBudget","apiVersion":"policy/v1","metadata":{"name":"pdb1"},"spec":{"minAvailable":0,"selector":{"matchLabels":{"app":"web"}}},"status":{"disruptionsAllowed":0,"currentHealthy":0,"desiredHealthy":0,"expectedPods":0}},
  },
  {
    name: "clusterrolebinding",
    body: "azhzAAoyChxyYmFjLmF1dGhvcml6YXRpb24uazhzLmlvL3YxEhJDbHVzdGVyUm9sZUJpbmRpbmcSbwoUCgRjcmIxEgAaACIAKgAyADgAQgASKAoEVXNlchIZcmJhYy5hdXRob3JpemF0aW9uLms4cy5pbxoDYm9iIgAaLQoZcmJhYy5hdXRob3JpemF0aW9uLms4cy5pbxILQ2x1c3RlclJvbGUaA2NyMRoAIgA=",
    json: {"kind":"ClusterRoleBinding","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{"name":"crb1"},"subjects":[{"kind":"User","apiGroup":"rbac.authorization.k8s.io","name":"bob"}],"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"cr1"}},
  },
  {
    name: "token",
    body: "azhzAAooChhhdXRoZW50aWNhdGlvbi5rOHMuaW8vdjESDFRva2VuUmVxdWVzdBIiChAKABIAGgAiACoAMgA4AEIAEggKA2FwaSDYBBoECgASABoAIgA=",
    json: {"kind":"TokenRequest","apiVersion":"authentication.k8s.io/v1","metadata":{},"spec":{"audiences":["api"],"expirationSeconds":600},"status":{"token":""}},
  },
];

// ---------------------------------------------------------------------------
// A small encoder driven by schema.json, to round-trip objects kubectl does not send.
type Row = [string, string, string?, string?];
const schema = JSON.parse(readFileSync(new URL('./schema.json', import.meta.url), 'utf8')) as Record<string, Record<string, Row>>;
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.';
const EXT = 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.';

function varint(n: number | bigint): Buffer {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  do {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v ? b | 0x80 : b);
  } while (v);
  return Buffer.from(out);
}
const tag = (num: number, wt: number) => varint(num * 8 + wt);
const lenField = (num: number, data: Buffer) => Buffer.concat([tag(num, 2), varint(data.length), data]);

function encodeTime(s: string, micro: boolean): Buffer {
  const ms = Date.parse(s);
  const seconds = Math.floor(ms / 1000);
  const frac = micro ? Number((/\.(\d{6})Z$/.exec(s) ?? ['', '0'])[1]) * 1000 : 0;
  return Buffer.concat([tag(1, 0), varint(seconds), tag(2, 0), varint(frac)]);
}

function encodeValue(type: string, v: unknown): { wt: number; data: Buffer } {
  switch (type) {
    case 'string': return { wt: 2, data: Buffer.from(v as string) };
    case 'bytes': return { wt: 2, data: Buffer.from(v as string, 'base64') };
    case 'bool': return { wt: 0, data: varint(v ? 1 : 0) };
    case 'int32': case 'int64': return { wt: 0, data: varint(v as number) };
    case 'double': { const b = Buffer.alloc(8); b.writeDoubleLE(v as number); return { wt: 1, data: b }; }
    case `${META}Time`: return { wt: 2, data: encodeTime(v as string, false) };
    case `${META}MicroTime`: return { wt: 2, data: encodeTime(v as string, true) };
    case 'io.k8s.apimachinery.pkg.api.resource.Quantity': return { wt: 2, data: lenField(1, Buffer.from(v as string)) };
    case 'io.k8s.apimachinery.pkg.util.intstr.IntOrString':
      return { wt: 2, data: typeof v === 'number' ? Buffer.concat([tag(1, 0), varint(0), tag(2, 0), varint(v)]) : Buffer.concat([tag(1, 0), varint(1), lenField(3, Buffer.from(v as string))]) };
    case 'io.k8s.apimachinery.pkg.runtime.RawExtension': case `${META}FieldsV1`: case `${EXT}JSON`:
      return { wt: 2, data: lenField(1, Buffer.from(JSON.stringify(v))) };
    case `${EXT}JSONSchemaPropsOrBool`:
      return { wt: 2, data: typeof v === 'boolean' ? Buffer.concat([tag(1, 0), varint(v ? 1 : 0)]) : Buffer.concat([tag(1, 0), varint(1), lenField(2, encodeMessage(`${EXT}JSONSchemaProps`, v as Record<string, unknown>))]) };
    case `${EXT}JSONSchemaPropsOrArray`:
      return { wt: 2, data: Array.isArray(v) ? Buffer.concat(v.map((x) => lenField(2, encodeMessage(`${EXT}JSONSchemaProps`, x)))) : lenField(1, encodeMessage(`${EXT}JSONSchemaProps`, v as Record<string, unknown>)) };
    default: return { wt: 2, data: encodeMessage(type, v as Record<string, unknown>) };
  }
}

function encodeMessage(def: string, obj: Record<string, unknown>): Buffer {
  const rows = schema[def];
  assert.ok(rows, `no schema for ${def}`);
  const parts: Buffer[] = [];
  for (const [num, [name, type, flags = '']] of Object.entries(rows)) {
    const v = flags.includes('i') ? obj : obj[name];
    if (v === undefined) continue;
    const put = (x: unknown) => { const e = encodeValue(type, x); parts.push(tag(Number(num), e.wt), e.wt === 2 ? Buffer.concat([varint(e.data.length), e.data]) : e.data); };
    if (flags.includes('m')) {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        const e = encodeValue(type, x);
        const entry = Buffer.concat([lenField(1, Buffer.from(k)), tag(2, e.wt), e.wt === 2 ? Buffer.concat([varint(e.data.length), e.data]) : e.data]);
        parts.push(lenField(Number(num), entry));
      }
    } else if (flags.includes('r')) (v as unknown[]).forEach(put);
    else put(v);
  }
  return Buffer.concat(parts);
}

function envelope(apiVersion: string, kind: string, raw: Buffer, extra: Buffer = Buffer.alloc(0)): Buffer {
  const typeMeta = Buffer.concat([lenField(1, Buffer.from(apiVersion)), lenField(2, Buffer.from(kind))]);
  return Buffer.concat([Buffer.from('k8s\0', 'latin1'), lenField(1, typeMeta), lenField(2, raw), extra]);
}

function roundTrip(obj: Record<string, unknown>): Record<string, unknown> {
  const { apiVersion, kind, ...rest } = obj as { apiVersion: string; kind: string };
  const def = protobufDefinitionName(apiVersion, kind);
  assert.ok(def, `${apiVersion}/${kind} has a definition`);
  return decodeProtobufObject(envelope(apiVersion, kind, encodeMessage(def, rest))).object;
}

function expectBadRequest(fn: () => unknown, re: RegExp) {
  assert.throws(fn, (err: unknown) => err instanceof StatusError && err.code === 400 && err.reason === 'BadRequest' && re.test(err.message));
}

describe('protobuf decoding', () => {
  it('recognises the protobuf content type', () => {
    assert.equal(isProtobuf('application/vnd.kubernetes.protobuf'), true);
    assert.equal(isProtobuf('application/vnd.kubernetes.protobuf; charset=utf-8'), true);
    assert.equal(isProtobuf('application/json'), false);
    assert.equal(isProtobuf('application/vnd.kubernetes.protobuf;stream=watch'), true);
    assert.equal(isProtobuf(undefined), false);
  });

  for (const f of realBodies) {
    it(`decodes what kubectl sends: ${f.name}`, () => {
      const out = decodeProtobufObject(Buffer.from(f.body, 'base64'));
      assert.equal(out.apiVersion, f.json.apiVersion);
      assert.equal(out.kind, f.json.kind);
      assert.deepEqual(out.object, f.json);
    });
  }

  it('keeps Go pointer zeros and drops non-pointer zeros (Deployment replicas: 0, empty status)', () => {
    const d = decodeProtobufObject(Buffer.from(realBodies[0].body, 'base64')).object as any;
    assert.equal(d.spec.replicas, 0);
    assert.deepEqual(d.status, {});
    assert.equal('creationTimestamp' in d.metadata, false);
    assert.equal('namespace' in d.metadata, false);
  });

  it('round-trips a Pod with times, quantities, int-or-strings, inline structs and negative numbers', () => {
    const pod = {
      apiVersion: 'v1', kind: 'Pod',
      metadata: {
        name: 'p', namespace: 'default', labels: { app: 'a' }, annotations: { note: 'x' },
        creationTimestamp: '2024-01-02T03:04:05Z', generation: 3,
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u-1', controller: true, blockOwnerDeletion: false }],
        managedFields: [{ manager: 'kubectl', operation: 'Update', apiVersion: 'v1', time: '2024-01-02T03:04:05Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:labels': {} } } }],
      },
      spec: {
        containers: [{
          name: 'c', image: 'nginx',
          ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }],
          resources: { limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: '0' } },
          livenessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 5 },
          readinessProbe: { tcpSocket: { port: 8080 } },
          securityContext: { runAsUser: 0, allowPrivilegeEscalation: false },
          env: [{ name: 'A', value: 'B' }, { name: 'N', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
        }],
        volumes: [{ name: 'cfg', configMap: { name: 'cfg', defaultMode: 420, optional: false } }, { name: 'd', emptyDir: { sizeLimit: '1Gi' } }],
        terminationGracePeriodSeconds: 0,
        priority: -5,
        tolerations: [{ key: 'k', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: -1 }],
        nodeSelector: { zone: 'a' },
      },
      status: { phase: 'Running', startTime: '2024-01-02T03:04:06Z', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2024-01-02T03:04:07Z' }] },
    };
    assert.deepEqual(roundTrip(pod), pod);
  });

  it('round-trips MicroTime, RawExtension, bytes and CRD schemas', () => {
    const ev = { apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { name: 'e' }, eventTime: '2024-01-02T03:04:05.123456Z', reason: 'Started', regarding: { kind: 'Pod', name: 'p' }, reportingController: 'kubelet', reportingInstance: 'n1', action: 'Start', type: 'Normal' };
    assert.deepEqual(roundTrip(ev), ev);
    const cr = { apiVersion: 'apps/v1', kind: 'ControllerRevision', metadata: { name: 'r' }, data: { spec: { template: { x: [1, 'two'] } } }, revision: 2 };
    assert.deepEqual(roundTrip(cr), cr);
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, type: 'Opaque', data: { bin: Buffer.from([0, 255, 10]).toString('base64'), empty: '' } };
    assert.deepEqual(roundTrip(secret), secret);
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com', scope: 'Namespaced', names: { plural: 'widgets', kind: 'Widget' },
        versions: [{
          name: 'v1', served: true, storage: true,
          schema: { openAPIV3Schema: {
            type: 'object', required: ['spec'],
            properties: {
              spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { replicas: { type: 'integer', minimum: 0, maximum: 10.5, default: 1 }, mode: { type: 'string', enum: ['a', 'b'] } } },
              tags: { type: 'array', items: { type: 'string' } },
              extra: { type: 'object', additionalProperties: false },
            },
          } },
          subresources: { status: {} },
        }],
      },
    };
    assert.deepEqual(roundTrip(crd), crd);
  });

  it('decodes evictions and delete options (gracePeriodSeconds 0 is kept)', () => {
    const ev = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'p', namespace: 'default' }, deleteOptions: { gracePeriodSeconds: 0, preconditions: { uid: 'u-1' } } };
    assert.deepEqual(roundTrip(ev), ev);
    const del = { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Foreground', gracePeriodSeconds: 0, dryRun: ['All'] };
    assert.deepEqual(roundTrip(del), del);
    assert.equal(protobufDefinitionName('meta.k8s.io/v1', 'DeleteOptions'), `${META}DeleteOptions`);
    const scale = { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'web' }, spec: { replicas: 3 } };
    assert.deepEqual(roundTrip(scale), scale);
  });

  it('maps API groups to definitions', () => {
    assert.equal(protobufDefinitionName('v1', 'Pod'), 'io.k8s.api.core.v1.Pod');
    assert.equal(protobufDefinitionName('rbac.authorization.k8s.io/v1', 'Role'), 'io.k8s.api.rbac.v1.Role');
    assert.equal(protobufDefinitionName('networking.k8s.io/v1', 'Ingress'), 'io.k8s.api.networking.v1.Ingress');
    assert.equal(protobufDefinitionName('autoscaling/v2', 'HorizontalPodAutoscaler'), 'io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler');
    assert.equal(protobufDefinitionName('admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration'), 'io.k8s.api.admissionregistration.v1.ValidatingWebhookConfiguration');
    assert.equal(protobufDefinitionName('example.com/v1', 'Widget'), undefined);
  });

  it('rejects malformed bodies with 400', () => {
    const good = Buffer.from(realBodies[0].body, 'base64');
    expectBadRequest(() => decodeProtobufObject(Buffer.from('{"kind":"Pod"}')), /not valid protobuf.*k8s/);
    expectBadRequest(() => decodeProtobufObject(good.subarray(0, good.length - 30)), /not valid protobuf/);
    expectBadRequest(() => decodeProtobufObject(Buffer.from('k8s\0', 'latin1')), /no apiVersion\/kind/);
    const flipped = Buffer.from(good);
    flipped[40] = 0xff; // a length byte inside ObjectMeta now points past the end
    expectBadRequest(() => decodeProtobufObject(flipped), /not valid protobuf/);
    expectBadRequest(() => decodeProtobufObject(envelope('example.com/v1', 'Widget', Buffer.alloc(0))), /^unable to decode protobuf for example.com\/v1\/Widget$/);
    expectBadRequest(() => decodeProtobufObject(envelope('v1', 'ConfigMap', Buffer.alloc(0), lenField(3, Buffer.from('gzip')))), /contentEncoding/);
    // a string field sent with the varint wire type
    expectBadRequest(() => decodeProtobufObject(envelope('v1', 'ConfigMap', lenField(1, Buffer.concat([tag(1, 0), varint(5)])))), /wire type/);
  });

  it('skips unknown fields (newer clients)', () => {
    const raw = Buffer.concat([lenField(1, lenField(1, Buffer.from('cm'))), lenField(99, Buffer.from('future')), tag(100, 0), varint(7)]);
    assert.deepEqual(decodeProtobufObject(envelope('v1', 'ConfigMap', raw)).object, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' } });
  });

  it('decodes a Deployment in under 50 µs', () => {
    const body = Buffer.from(realBodies[0].body, 'base64');
    for (let i = 0; i < 2000; i++) decodeProtobufObject(body);
    const n = 5000;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) decodeProtobufObject(body);
    const us = Number(process.hrtime.bigint() - t0) / 1000 / n;
    assert.ok(us < 50, `${us.toFixed(1)} µs per decode`);
  });
});
