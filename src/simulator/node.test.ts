import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildNode, simNode, statusPatch, type NodeTemplate } from './node.js';

const t: NodeTemplate = { capacity: { cpu: '4', memory: '16Gi', pods: '110' }, labels: { extra: 'yes' }, taints: [] };

describe('simulated node', () => {
  it('registers with upstream labels, zones and a healthy status', () => {
    const n = buildNode(simNode('sim', 4), t);
    assert.equal(n.metadata!.name, 'sim-4');
    assert.equal(n.metadata!.labels!['kubernetes.io/hostname'], 'sim-4');
    assert.equal(n.metadata!.labels!['topology.kubernetes.io/zone'], 'zone-b');
    assert.equal(n.metadata!.labels!.extra, 'yes');
    assert.equal(n.status.conditions.find((c: any) => c.type === 'Ready').status, 'True');
    assert.equal(n.status.addresses[0].address, '10.45.0.5');
  });

  it('writes status only when it is not healthy or the report is due', () => {
    const sim = simNode('sim', 0);
    const node = buildNode(sim, t, 1000);
    sim.lastStatusAt = 1000;
    assert.equal(statusPatch(sim, t, node, 40_000, 5000), undefined);
    assert.ok(statusPatch(sim, t, node, 40_000, 50_000), 'periodic report');
    const unknown = structuredClone(node);
    unknown.status.conditions[0].status = 'Unknown';
    const p = statusPatch(sim, t, unknown, 40_000, 5000)!;
    assert.equal(p.status.conditions[0].status, 'True');
  });
});
