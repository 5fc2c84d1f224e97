// Taints and tolerations: the one matching rule the scheduler, the DaemonSet
// controller and taint-based eviction share, and the node-condition taint keys.
import type { Taint, Toleration } from 'kubernetes-types/core/v1.js';

/** Set on nodes whose Ready condition is False. */
export const notReadyTaint = 'node.kubernetes.io/not-ready';
/** Set on nodes whose Ready condition is Unknown (not heard from). */
export const unreachableTaint = 'node.kubernetes.io/unreachable';

/**
 * Does toleration t tolerate the taint? Same effect (or none given), same key
 * (an empty key only with Exists, matching every taint), and for Equal (the
 * default operator) the same value.
 */
export function tolerates(t: Toleration, taint: Pick<Taint, 'key' | 'value' | 'effect'>): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  if (!t.key && t.operator !== 'Exists') return false;
  if (t.operator === 'Exists') return true;
  return (t.value ?? '') === (taint.value ?? '');
}
