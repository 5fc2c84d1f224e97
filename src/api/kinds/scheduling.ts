// scheduling.k8s.io/v1: PriorityClass.
import { field } from '../errors.js';
import type { KindDefinition } from '../kind.js';
import { type Errs, enumError } from '../validation.js';

/** The built-in classes the apiserver creates; only they may use the `system-` prefix and values above 1e9. */
export const systemPriorityClasses: Record<string, number> = {
  'system-node-critical': 2000001000,
  'system-cluster-critical': 2000000000,
};
export const highestUserDefinablePriority = 1000000000;

export const priorityclasses: KindDefinition = {
  group: 'scheduling.k8s.io', version: 'v1', kind: 'PriorityClass', resource: 'priorityclasses', namespaced: false,
  shortNames: ['pc'],
  defaults(obj) {
    obj.preemptionPolicy ||= 'PreemptLowerPriority';
  },
  validate(obj, old) {
    const errs: Errs = [];
    const name = obj.metadata?.name ?? '';
    if (name in systemPriorityClasses) {
      if (obj.value !== systemPriorityClasses[name]) errs.push(field.forbidden('metadata.name', `name ${name} is reserved for a system priority class with value ${systemPriorityClasses[name]}`));
    } else {
      if (name.startsWith('system-')) errs.push(field.forbidden('metadata.name', "priority class names with 'system-' prefix are reserved"));
      if (typeof obj.value !== 'number') errs.push(field.required('value'));
      else if (obj.value > highestUserDefinablePriority) errs.push(field.forbidden('value', `maximum allowed value of a user defined priority is ${highestUserDefinablePriority}`));
    }
    errs.push(...enumError('preemptionPolicy', obj.preemptionPolicy, ['Never', 'PreemptLowerPriority']));
    if (old) {
      if (obj.value !== old.value) errs.push(field.forbidden('value', 'may not be changed in an update.'));
      if (obj.preemptionPolicy !== old.preemptionPolicy) errs.push(field.invalid('preemptionPolicy', obj.preemptionPolicy, 'field is immutable'));
    }
    return errs;
  },
};

export const schedulingKinds: KindDefinition[] = [priorityclasses];
