// /openapi/v2 as protobuf (gnostic openapi.v2.Document): kubectl falls back to it
// for client-side validation of `kind: List` (the v3 documents have no List GVK)
// and for `kubectl explain --output=plaintext-openapiv2`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../support/cluster.js';

let s: TestServer;

before(async () => {
  s = await startServer();
});
after(async () => {
  await s?.stop();
});

const list = (items: string) => `apiVersion: v1\nkind: List\nitems:\n${items}`;

describe('openapi v2 protobuf', () => {
  it('kubectl apply of a kind: List validates against /openapi/v2 and creates the items', async () => {
    const r = await s.kubectl(['apply', '-f', '-', '-v=8'], { input: list('- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: l1\n') });
    assert.equal(r.code, 0, r.stderr.split('\n').filter((l) => !l.includes('round_trippers') && !l.includes('request.go')).join('\n'));
    assert.match(r.stdout, /configmap\/l1 created/);
    // kubectl really asked for the protobuf form and got it
    assert.match(r.stderr, /Accept: application\/com\.github\.proto-openapi\.spec\.v2@v1\.0\+protobuf/);
    assert.match(r.stderr, /Content-Type: application\/com\.github\.proto-openapi\.spec\.v2\.v1\.0\+protobuf/);
    assert.match(await s.k('get configmap l1 -o name'), /configmap\/l1/);
  });

  it('--validate=strict reports unknown fields and wrong types inside a List', async () => {
    const r = await s.kubectl(['apply', '--validate=strict', '-f', '-'], {
      input: list('- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: l2\n  bogus: 1\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata:\n    name: d1\n  spec:\n    replicas: "x"\n    selector: {matchLabels: {a: b}}\n    template:\n      metadata: {labels: {a: b}}\n      spec:\n        containers:\n        - name: c\n          image: nginx\n          bogusField: 1\n'),
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /unknown field "bogus" in io\.k8s\.api\.core\.v1\.ConfigMap/);
    assert.match(r.stderr, /unknown field "bogusField" in io\.k8s\.api\.core\.v1\.Container/);
    assert.match(r.stderr, /DeploymentSpec\.replicas: got "string", expected "integer"/);
    const get = await s.kubectl(['get', 'configmap', 'l2']);
    assert.notEqual(get.code, 0, 'nothing was created');
  });

  it('kubectl explain reads the v2 document', async () => {
    const out = await s.k('explain deployment.spec.strategy --output=plaintext-openapiv2');
    assert.match(out, /RESOURCE: strategy <Object>/);
    assert.match(out, /rollingUpdate\s+<Object>/);
  });
});
