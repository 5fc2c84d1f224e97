// policy/v1: PodDisruptionBudget.
import { field } from '../errors.js';
import type { KindDefinition } from '../kind.js';
import {
  type Errs, enumError, isNotMoreThan100Percent, validatePositiveIntOrPercent,
} from '../validation.js';
import { validateLabelSelector } from '../labels.js';
import { initGeneration, bumpGeneration } from './util.js';

export const poddisruptionbudgets: KindDefinition = {
  group: 'policy', version: 'v1', kind: 'PodDisruptionBudget', resource: 'poddisruptionbudgets', namespaced: true,
  shortNames: ['pdb'], statusSubresource: true,
  prepareForCreate(obj) {
    obj.status = { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 };
    initGeneration(obj);
  },
  prepareForUpdate(obj, old) { bumpGeneration(obj, old); },
  validate(obj) {
    const errs: Errs = [];
    const spec = obj.spec ?? {};
    if (spec.minAvailable != null && spec.maxUnavailable != null) {
      errs.push(field.invalid('spec', spec, 'minAvailable and maxUnavailable cannot be both set'));
    }
    for (const k of ['minAvailable', 'maxUnavailable']) {
      errs.push(...validatePositiveIntOrPercent(spec[k], `spec.${k}`), ...isNotMoreThan100Percent(spec[k], `spec.${k}`));
    }
    errs.push(...validateLabelSelector(spec.selector, 'spec.selector'));
    errs.push(...enumError('spec.unhealthyPodEvictionPolicy', spec.unhealthyPodEvictionPolicy, ['IfHealthyBudget', 'AlwaysAllow']));
    return errs;
  },
};

export const policyKinds: KindDefinition[] = [poddisruptionbudgets];
