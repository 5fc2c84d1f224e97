import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { KindDefinition } from '../kind.js';
import { buildOpenAPIV2, buildOpenAPIV3, loadDefinitions } from './build.js';

const kinds: KindDefinition[] = [
  { group: '', version: 'v1', kind: 'Pod', resource: 'pods', namespaced: true, statusSubresource: true, subresources: ['log', 'exec', 'binding', 'eviction'] },
  { group: '', version: 'v1', kind: 'Namespace', resource: 'namespaces', namespaced: false, statusSubresource: true, subresources: ['finalize'] },
  { group: '', version: 'v1', kind: 'ComponentStatus', resource: 'componentstatuses', namespaced: false, verbs: ['get', 'list'] },
  { group: 'apps', version: 'v1', kind: 'Deployment', resource: 'deployments', namespaced: true, statusSubresource: true, scale: { specReplicasPath: 'spec.replicas', statusReplicasPath: 'status.replicas' } },
  { group: 'stable.example.com', version: 'v1', kind: 'CronTab', resource: 'crontabs', namespaced: true },
];

const v3 = buildOpenAPIV3(kinds);
const doc = (key: string) => JSON.parse(v3.documents.get(key)!.json.toString());

/** Every $ref in `node` points at a schema of `schemas`. */
function assertRefsResolve(node: unknown, schemas: Record<string, unknown>, prefix: string): number {
  let n = 0;
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) x.forEach(walk);
    else if (x && typeof x === 'object') {
      for (const [k, v] of Object.entries(x)) {
        if (k === '$ref' && typeof v === 'string') {
          assert.ok(v.startsWith(prefix), `ref ${v} should start with ${prefix}`);
          assert.ok(schemas[v.slice(prefix.length)], `ref ${v} does not resolve`);
          n++;
        } else walk(v);
      }
    }
  };
  walk(node);
  return n;
}

describe('definitions.json', () => {
  const defs = loadDefinitions();
  it('has upstream names, descriptions, formats and patch metadata', () => {
    const pod = defs['io.k8s.api.core.v1.Pod']!;
    assert.match(pod.description, /collection of containers/);
    assert.deepEqual(pod['x-kubernetes-group-version-kind'], [{ group: '', kind: 'Pod', version: 'v1' }]);
    assert.equal(defs['io.k8s.apimachinery.pkg.util.intstr.IntOrString']!.format, 'int-or-string');
    assert.equal(defs['io.k8s.apimachinery.pkg.apis.meta.v1.Time']!.format, 'date-time');
    assert.equal(defs['io.k8s.apimachinery.pkg.api.resource.Quantity']!.type, 'string');
    assert.equal(defs['io.k8s.api.core.v1.PodSpec']!.properties.activeDeadlineSeconds.format, 'int64');
    assert.equal(defs['io.k8s.api.core.v1.ContainerPort']!.properties.containerPort.type, 'integer');
    const containers = defs['io.k8s.api.core.v1.PodSpec']!.properties.containers;
    assert.equal(containers['x-kubernetes-patch-merge-key'], 'name');
    assert.equal(containers['x-kubernetes-patch-strategy'], 'merge');
    assert.equal(defs['io.k8s.api.core.v1.Container']!.properties.ports['x-kubernetes-patch-merge-key'], 'containerPort');
    assert.deepEqual(defs['io.k8s.api.core.v1.ServicePort']!.properties.targetPort.$ref, '#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString');
    assert.deepEqual(defs['io.k8s.api.core.v1.ServiceSpec']!.properties.ports['x-kubernetes-list-map-keys'], ['port', 'protocol']);
    assert.ok(defs['io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition']);
    assert.ok(defs['io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler']);
    assertRefsResolve(defs, defs, '#/definitions/');
  });
});

describe('buildOpenAPIV3', () => {
  it('discovery lists every group-version with a hash', () => {
    const paths = v3.discovery.paths;
    for (const key of ['api/v1', 'apis/apps/v1', 'apis/stable.example.com/v1', 'api', 'apis', 'apis/apps']) {
      assert.ok(paths[key], `missing ${key}`);
      const d = v3.documents.get(key)!;
      assert.equal(paths[key]!.serverRelativeURL, `/openapi/v3/${key}?hash=${d.etag}`);
      assert.equal(d.etag, createHash('sha512').update(d.json).digest('hex').toUpperCase());
    }
    assert.deepEqual(JSON.parse(v3.discoveryJson.toString()), v3.discovery);
  });

  it('core/v1 has the Pod schema with descriptions and patch metadata', () => {
    const d = doc('api/v1');
    assert.equal(d.openapi, '3.0.0');
    const pod = d.components.schemas['io.k8s.api.core.v1.Pod'];
    assert.match(pod.description, /Pod is a collection of containers/);
    assert.deepEqual(pod['x-kubernetes-group-version-kind'], [{ group: '', kind: 'Pod', version: 'v1' }]);
    // a ref with a description is wrapped in allOf, as upstream serves it
    assert.deepEqual(pod.properties.spec.allOf, [{ $ref: '#/components/schemas/io.k8s.api.core.v1.PodSpec' }]);
    assert.match(pod.properties.spec.description, /Specification of the desired behavior/);
    const spec = d.components.schemas['io.k8s.api.core.v1.PodSpec'];
    assert.equal(spec.properties.containers['x-kubernetes-patch-merge-key'], 'name');
    for (const meta of ['DeleteOptions', 'Status', 'Patch', 'WatchEvent', 'APIResourceList']) {
      assert.ok(d.components.schemas[`io.k8s.apimachinery.pkg.apis.meta.v1.${meta}`], meta);
    }
    // only what core/v1 reaches
    assert.equal(d.components.schemas['io.k8s.api.apps.v1.Deployment'], undefined);
    assertRefsResolve(d, d.components.schemas, '#/components/schemas/');
  });

  it('PATCH carries the GVK, fieldValidation and all patch content types', () => {
    const d = doc('api/v1');
    const patch = d.paths['/api/v1/namespaces/{namespace}/pods/{name}'].patch;
    assert.deepEqual(patch['x-kubernetes-group-version-kind'], { group: '', kind: 'Pod', version: 'v1' });
    assert.equal(patch['x-kubernetes-action'], 'patch');
    const names = patch.parameters.filter((p: any) => p.in === 'query').map((p: any) => p.name);
    for (const n of ['fieldValidation', 'dryRun', 'fieldManager', 'force']) assert.ok(names.includes(n), n);
    assert.deepEqual(Object.keys(patch.requestBody.content).sort(), [
      'application/apply-patch+yaml',
      'application/json-patch+json',
      'application/merge-patch+json',
      'application/strategic-merge-patch+json',
    ]);
    // every PATCH of the kind (status too) has fieldValidation: kubectl checks whichever it finds first
    for (const [path, item] of Object.entries<any>(d.paths)) {
      if (item.patch) assert.ok(item.patch.parameters.some((p: any) => p.name === 'fieldValidation'), path);
    }
  });

  it('describes collection, item, watch and subresource paths', () => {
    const d = doc('api/v1');
    const p = d.paths;
    assert.equal(p['/api/v1/namespaces/{namespace}/pods'].get.operationId, 'listCoreV1NamespacedPod');
    assert.equal(p['/api/v1/namespaces/{namespace}/pods'].post['x-kubernetes-action'], 'post');
    assert.equal(p['/api/v1/namespaces/{namespace}/pods'].delete['x-kubernetes-action'], 'deletecollection');
    assert.equal(p['/api/v1/pods'].get.operationId, 'listCoreV1PodForAllNamespaces');
    assert.equal(p['/api/v1/watch/namespaces/{namespace}/pods'].get['x-kubernetes-action'], 'watchlist');
    assert.equal(p['/api/v1/namespaces/{namespace}/pods/{name}/status'].put.operationId, 'replaceCoreV1NamespacedPodStatus');
    assert.equal(p['/api/v1/namespaces/{namespace}/pods/{name}/eviction'].post['x-kubernetes-group-version-kind'].kind, 'Eviction');
    assert.equal(p['/api/v1/namespaces/{namespace}/pods/{name}/exec'].get['x-kubernetes-action'], 'connect');
    assert.ok(p['/api/v1/namespaces/{name}/finalize'].put);
    assert.ok(d.components.schemas['io.k8s.api.policy.v1.Eviction']);
    // verbs are honoured: componentstatuses is get/list only
    assert.equal(p['/api/v1/componentstatuses'].post, undefined);
    assert.ok(p['/api/v1/componentstatuses/{name}'].get);
    assert.equal(p['/api/v1/componentstatuses/{name}'].patch, undefined);
    const list = p['/api/v1/namespaces/{namespace}/pods'].get.parameters.map((x: any) => x.name);
    for (const n of ['labelSelector', 'fieldSelector', 'limit', 'continue', 'resourceVersion', 'watch']) assert.ok(list.includes(n), n);
  });

  it('apps/v1 has the scale subresource as autoscaling/v1 Scale', () => {
    const d = doc('apis/apps/v1');
    const scale = d.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale'];
    assert.deepEqual(scale.patch['x-kubernetes-group-version-kind'], { group: 'autoscaling', kind: 'Scale', version: 'v1' });
    assert.ok(d.components.schemas['io.k8s.api.autoscaling.v1.Scale']);
    assert.equal(d.components.schemas['io.k8s.api.apps.v1.DeploymentSpec'].properties.strategy['x-kubernetes-patch-strategy'], 'retainKeys');
    assert.equal(d.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'].patch.operationId, 'patchAppsV1NamespacedDeployment');
    assertRefsResolve(d, d.components.schemas, '#/components/schemas/');
  });

  it('custom resources get an open schema and no strategic merge patch', () => {
    const d = doc('apis/stable.example.com/v1');
    const s = d.components.schemas['com.example.stable.v1.CronTab'];
    assert.deepEqual(s['x-kubernetes-group-version-kind'], [{ group: 'stable.example.com', version: 'v1', kind: 'CronTab' }]);
    const patch = d.paths['/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}'].patch;
    assert.equal(patch.requestBody.content['application/strategic-merge-patch+json'], undefined);
    assert.ok(patch.requestBody.content['application/merge-patch+json']);
    assertRefsResolve(d, d.components.schemas, '#/components/schemas/');
  });

  it('uses a given custom resource schema', () => {
    const custom = new Map([['stable.example.com/v1/CronTab', { type: 'object', properties: { spec: { type: 'object', properties: { cronSpec: { type: 'string', description: 'when' } } } } }]]);
    const r = buildOpenAPIV3(kinds.filter((k) => k.kind === 'CronTab'), { customSchemas: custom });
    const d = JSON.parse(r.documents.get('apis/stable.example.com/v1')!.json.toString());
    assert.equal(d.components.schemas['com.example.stable.v1.CronTab'].properties.spec.properties.cronSpec.description, 'when');
  });
});

describe('buildOpenAPIV2', () => {
  it('is a Swagger 2.0 document whose refs resolve', () => {
    const v2 = buildOpenAPIV2(kinds);
    const d = JSON.parse(v2.json.toString());
    assert.equal(d.swagger, '2.0');
    const patch = d.paths['/api/v1/namespaces/{namespace}/pods/{name}'].patch;
    assert.ok(patch.consumes.includes('application/strategic-merge-patch+json'));
    assert.ok(patch.parameters.some((p: any) => p.name === 'fieldValidation' && p.in === 'query'));
    assert.ok(patch.parameters.some((p: any) => p.in === 'body'));
    assert.ok(d.definitions['io.k8s.api.apps.v1.Deployment']);
    assertRefsResolve(d, d.definitions, '#/definitions/');
  });
});
