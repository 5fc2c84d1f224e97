// node.k8s.io/v1: RuntimeClass.
import { field } from '../errors.js';
import type { KindDefinition } from '../kind.js';
import { type Errs, immutable, isDNS1123Label, nameErrors, validateLabels, validateResourceList } from '../validation.js';

export const runtimeclasses: KindDefinition = {
  group: 'node.k8s.io', version: 'v1', kind: 'RuntimeClass', resource: 'runtimeclasses', namespaced: false,
  validate(obj, old) {
    const errs: Errs = [];
    if (!obj.handler) errs.push(field.required('handler'));
    else errs.push(...nameErrors('handler', obj.handler, isDNS1123Label(obj.handler)));
    errs.push(...validateResourceList(obj.overhead?.podFixed, 'overhead.podFixed'));
    errs.push(...validateLabels(obj.scheduling?.nodeSelector, 'scheduling.nodeSelector'));
    if (old) errs.push(...immutable(obj.handler, old.handler, 'handler'));
    return errs;
  },
};

export const nodeKinds: KindDefinition[] = [runtimeclasses];
