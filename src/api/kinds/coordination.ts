// coordination.k8s.io/v1: Lease (leader election, node heartbeats).
import { field } from '../errors.js';
import type { KindDefinition } from '../kind.js';
import { type Errs, validateNonnegative, validatePositive } from '../validation.js';

export const leases: KindDefinition = {
  group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', resource: 'leases', namespaced: true,
  validate(obj) {
    const errs: Errs = [];
    const spec = obj.spec ?? {};
    errs.push(...validatePositive(spec.leaseDurationSeconds, 'spec.leaseDurationSeconds'));
    errs.push(...validateNonnegative(spec.leaseTransitions, 'spec.leaseTransitions'));
    if (spec.strategy != null && spec.strategy !== 'OldestEmulationVersion') {
      errs.push(field.notSupported('spec.strategy', spec.strategy, ['OldestEmulationVersion']));
    }
    return errs;
  },
};

export const coordinationKinds: KindDefinition[] = [leases];
