// DefaultTolerationSeconds admission: every new pod tolerates the NoExecute
// not-ready/unreachable node taints for a bounded time (300 s by default), so
// that taint-based eviction moves pods off a dead node after that long.
import type { Toleration } from 'kubernetes-types/core/v1.js';
import { notReadyTaint, unreachableTaint } from '../../api/tolerations.js';
import type { AdmissionPlugin } from '../rest.js';

/**
 * Upstream's looser check (not a full taint match): any toleration with an empty
 * key or the taint's key, for NoExecute or any effect, whatever its value.
 */
function hasNoExecuteToleration(list: Toleration[], key: string): boolean {
  return list.some((t) => (t?.key === key || !t?.key) && (t?.effect === 'NoExecute' || !t?.effect));
}

export function defaultTolerationSeconds(opts: { notReadySeconds?: number; unreachableSeconds?: number } = {}): AdmissionPlugin {
  const notReady = opts.notReadySeconds ?? 300;
  const unreachable = opts.unreachableSeconds ?? 300;
  return {
    name: 'DefaultTolerationSeconds',
    admit(a) {
      if (a.op !== 'CREATE' || a.subresource || a.def.group !== '' || a.def.resource !== 'pods') return;
      const spec = (a.obj.spec ??= {});
      const list: Toleration[] = Array.isArray(spec.tolerations) ? spec.tolerations : [];
      const add: Toleration[] = [];
      if (!hasNoExecuteToleration(list, notReadyTaint)) add.push({ key: notReadyTaint, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: notReady });
      if (!hasNoExecuteToleration(list, unreachableTaint)) add.push({ key: unreachableTaint, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: unreachable });
      if (add.length) spec.tolerations = [...list, ...add];
    },
  };
}
