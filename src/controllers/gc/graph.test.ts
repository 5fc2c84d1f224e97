import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Graph } from './graph.js';
import type { ResourceRef } from '../../client/resource.js';

const cm: ResourceRef = { group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', namespaced: true };
const obj = (uid: string, owners: string[] = []) => ({
  metadata: { name: uid, namespace: 'ns', uid, ownerReferences: owners.map((o) => ({ apiVersion: 'v1', kind: 'ConfigMap', name: o, uid: o })) },
});

describe('gc graph', () => {
  it('links dependents to (virtual) owners and unlinks on change and removal', () => {
    const g = new Graph();
    g.upsert(obj('child', ['a', 'b']), cm);
    assert.ok(g.get('a') && !g.get('a')!.obj, 'virtual owner node');
    assert.deepEqual(g.dependentsOf('a').map((n) => n.uid), ['child']);
    g.upsert(obj('a'), cm);
    assert.ok(g.object('a'));
    const r = g.upsert(obj('child', ['a']), cm);
    assert.deepEqual(r.removedOwners, ['b']);
    assert.equal(g.get('b'), undefined, 'virtual node without dependents is dropped');
    const removed = g.remove('a');
    assert.deepEqual([...(removed?.dependents ?? [])], ['child']);
    assert.ok(g.get('a') && !g.get('a')!.obj, 'owner stays virtual while it has dependents');
    g.remove('child');
    assert.equal(g.get('a'), undefined);
    assert.equal(g.nodes.size, 0);
  });
});
