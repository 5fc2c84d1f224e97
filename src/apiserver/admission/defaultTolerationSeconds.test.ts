import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defaultTolerationSeconds } from './defaultTolerationSeconds.js';

const attrs = (spec: Record<string, unknown>, op = 'CREATE') => ({ op, def: { group: '', resource: 'pods' }, namespace: 'ns', name: 'p', subresource: '', obj: { spec }, ctx: {} }) as any;

describe('DefaultTolerationSeconds', () => {
  it('adds both tolerations with the configured seconds', () => {
    const a = attrs({});
    defaultTolerationSeconds({ notReadySeconds: 30 }).admit!(a);
    assert.deepEqual(a.obj.spec.tolerations, [
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    ]);
  });

  it('leaves pods that already tolerate the taints alone, and updates', () => {
    const all = attrs({ tolerations: [{ operator: 'Exists' }] });
    defaultTolerationSeconds().admit!(all);
    assert.deepEqual(all.obj.spec.tolerations, [{ operator: 'Exists' }]);
    const noSchedule = attrs({ tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoSchedule' }] });
    defaultTolerationSeconds().admit!(noSchedule);
    assert.equal(noSchedule.obj.spec.tolerations.length, 3);
    const upd = attrs({}, 'UPDATE');
    defaultTolerationSeconds().admit!(upd);
    assert.equal(upd.obj.spec.tolerations, undefined);
  });
});
