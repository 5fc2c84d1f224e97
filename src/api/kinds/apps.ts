// apps/v1 kinds: Deployment, ReplicaSet, StatefulSet, DaemonSet, ControllerRevision.
import { field } from '../errors.js';
import type { KindDefinition, KubeObject } from '../kind.js';
import {
  type Errs, deepEqual, enumError, immutable, intOrPercentIsZero, isDNS1123Label, isNotMoreThan100Percent, nameErrors, selectorIsEmpty, validateNonnegative, validatePositiveIntOrPercent,
} from '../validation.js';
import { validateLabelSelector, matchesLabelSelector as selectorMatches } from '../labels.js';
import { defaultPodTemplate, validatePodTemplateSpec } from './podSpec.js';
import { ensure, initGeneration, bumpGeneration } from './util.js';

const apps = { group: 'apps', version: 'v1' } as const;
const replicasScale = { specReplicasPath: 'spec.replicas', statusReplicasPath: 'status.replicas', labelSelectorPath: 'spec.selector' };

/** Selector present, non-empty, well-formed and matching the template labels. */
export function validateSelectorAndTemplate(spec: any, kindName: string, restartPolicies?: string[]): Errs {
  const errs: Errs = [];
  if (!spec.selector) errs.push(field.required('spec.selector'));
  else {
    errs.push(...validateLabelSelector(spec.selector, 'spec.selector'));
    if (selectorIsEmpty(spec.selector)) errs.push(field.invalid('spec.selector', spec.selector, `empty selector is invalid for ${kindName}`));
  }
  if (!spec.template) return [...errs, field.required('spec.template')];
  const labels = spec.template.metadata?.labels;
  if (spec.selector && !selectorIsEmpty(spec.selector) && !selectorMatches(spec.selector, labels)) {
    errs.push(field.invalid('spec.template.metadata.labels', labels ?? {}, '`selector` does not match template `labels`'));
  }
  errs.push(...validatePodTemplateSpec(spec.template, 'spec.template', { restartPolicies }));
  return errs;
}

function rollingUpdateErrors(ru: any, path: string): Errs {
  const errs: Errs = [];
  if (!ru) return errs;
  errs.push(...validatePositiveIntOrPercent(ru.maxUnavailable, `${path}.maxUnavailable`), ...isNotMoreThan100Percent(ru.maxUnavailable, `${path}.maxUnavailable`));
  errs.push(...validatePositiveIntOrPercent(ru.maxSurge, `${path}.maxSurge`));
  if (intOrPercentIsZero(ru.maxUnavailable) && intOrPercentIsZero(ru.maxSurge)) {
    errs.push(field.invalid(`${path}.maxUnavailable`, ru.maxUnavailable ?? 0, 'may not be 0 when `maxSurge` is 0'));
  }
  return errs;
}

function commonSpec(spec: any): Errs {
  return [
    ...validateNonnegative(spec.replicas, 'spec.replicas'),
    ...validateNonnegative(spec.minReadySeconds, 'spec.minReadySeconds'),
    ...validateNonnegative(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit'),
  ];
}

function selectorImmutable(obj: KubeObject, old?: KubeObject): Errs {
  return old ? immutable(obj.spec?.selector, old.spec?.selector, 'spec.selector') : [];
}

// ---------------------------------------------------------------- Deployment

export const deployments: KindDefinition = {
  ...apps, kind: 'Deployment', resource: 'deployments', namespaced: true, shortNames: ['deploy'], categories: ['all'],
  statusSubresource: true, scale: replicasScale,
  defaults(obj) {
    const spec = ensure(obj, 'spec');
    spec.replicas ??= 1;
    const st = ensure(spec, 'strategy');
    st.type ||= 'RollingUpdate';
    if (st.type === 'RollingUpdate') {
      const ru = ensure(st, 'rollingUpdate');
      ru.maxUnavailable ??= '25%';
      ru.maxSurge ??= '25%';
    }
    spec.revisionHistoryLimit ??= 10;
    spec.progressDeadlineSeconds ??= 600;
    if (spec.template) defaultPodTemplate(spec.template);
  },
  prepareForCreate(obj) { obj.status = {}; initGeneration(obj); },
  prepareForUpdate(obj, old) { bumpGeneration(obj, old); },
  validate(obj, old) {
    const spec = obj.spec ?? {};
    const errs = [...commonSpec(spec), ...validateSelectorAndTemplate(spec, 'deployment', ['Always'])];
    const st = spec.strategy ?? {};
    errs.push(...enumError('spec.strategy.type', st.type, ['Recreate', 'RollingUpdate'], true));
    if (st.type === 'Recreate' && st.rollingUpdate) errs.push(field.forbidden('spec.strategy.rollingUpdate', "may not be specified when strategy `type` is 'Recreate'"));
    if (st.type === 'RollingUpdate') errs.push(...rollingUpdateErrors(st.rollingUpdate, 'spec.strategy.rollingUpdate'));
    if (spec.progressDeadlineSeconds != null) {
      errs.push(...validateNonnegative(spec.progressDeadlineSeconds, 'spec.progressDeadlineSeconds'));
      if (spec.progressDeadlineSeconds <= (spec.minReadySeconds ?? 0)) {
        errs.push(field.invalid('spec.progressDeadlineSeconds', spec.progressDeadlineSeconds, 'must be greater than minReadySeconds'));
      }
    }
    errs.push(...selectorImmutable(obj, old));
    return errs;
  },
};

// ---------------------------------------------------------------- ReplicaSet

export const replicasets: KindDefinition = {
  ...apps, kind: 'ReplicaSet', resource: 'replicasets', namespaced: true, shortNames: ['rs'], categories: ['all'],
  statusSubresource: true, scale: replicasScale,
  fieldSelectors: { 'status.replicas': (o) => String(o.status?.replicas ?? 0) },
  defaults(obj) {
    const spec = ensure(obj, 'spec');
    spec.replicas ??= 1;
    if (spec.template) defaultPodTemplate(spec.template);
  },
  prepareForCreate(obj) { obj.status = { replicas: 0 }; initGeneration(obj); },
  prepareForUpdate(obj, old) { bumpGeneration(obj, old); },
  validate(obj, old) {
    const spec = obj.spec ?? {};
    return [...commonSpec(spec), ...validateSelectorAndTemplate(spec, 'replicaset', ['Always']), ...selectorImmutable(obj, old)];
  },
};

// --------------------------------------------------------------- StatefulSet

export const statefulsets: KindDefinition = {
  ...apps, kind: 'StatefulSet', resource: 'statefulsets', namespaced: true, shortNames: ['sts'], categories: ['all'],
  statusSubresource: true, scale: replicasScale,
  defaults(obj) {
    const spec = ensure(obj, 'spec');
    spec.podManagementPolicy ||= 'OrderedReady';
    const us = ensure(spec, 'updateStrategy');
    if (!us.type) {
      us.type = 'RollingUpdate';
      us.rollingUpdate ??= {};
    }
    if (us.type === 'RollingUpdate' && us.rollingUpdate) us.rollingUpdate.partition ??= 0;
    const pr = ensure(spec, 'persistentVolumeClaimRetentionPolicy');
    pr.whenDeleted ||= 'Retain';
    pr.whenScaled ||= 'Retain';
    spec.replicas ??= 1;
    spec.revisionHistoryLimit ??= 10;
    if (spec.template) defaultPodTemplate(spec.template);
    for (const pvc of spec.volumeClaimTemplates ?? []) {
      if (!pvc || typeof pvc !== 'object') continue;
      pvc.apiVersion ||= 'v1';
      pvc.kind ||= 'PersistentVolumeClaim';
      ensure(pvc, 'spec').volumeMode ??= 'Filesystem';
      ensure(pvc, 'status').phase ||= 'Pending';
    }
  },
  prepareForCreate(obj) { obj.status = { replicas: 0, availableReplicas: 0 }; initGeneration(obj); },
  prepareForUpdate(obj, old) { bumpGeneration(obj, old); },
  validate(obj, old) {
    const spec = obj.spec ?? {};
    const errs = [...commonSpec(spec), ...validateSelectorAndTemplate(spec, 'statefulset', ['Always'])];
    if (spec.serviceName) errs.push(...nameErrors('spec.serviceName', spec.serviceName, isDNS1123Label(spec.serviceName)));
    errs.push(...enumError('spec.podManagementPolicy', spec.podManagementPolicy, ['OrderedReady', 'Parallel'], true));
    const us = spec.updateStrategy ?? {};
    errs.push(...enumError('spec.updateStrategy.type', us.type, ['RollingUpdate', 'OnDelete'], true));
    if (us.type === 'OnDelete' && us.rollingUpdate) errs.push(field.invalid('spec.updateStrategy.rollingUpdate', us.rollingUpdate, 'only allowed for updateStrategy \'RollingUpdate\''));
    if (us.rollingUpdate) {
      errs.push(...validateNonnegative(us.rollingUpdate.partition, 'spec.updateStrategy.rollingUpdate.partition'));
      if (us.rollingUpdate.maxUnavailable != null) {
        errs.push(...validatePositiveIntOrPercent(us.rollingUpdate.maxUnavailable, 'spec.updateStrategy.rollingUpdate.maxUnavailable'));
        if (intOrPercentIsZero(us.rollingUpdate.maxUnavailable)) errs.push(field.invalid('spec.updateStrategy.rollingUpdate.maxUnavailable', us.rollingUpdate.maxUnavailable, 'must be greater than 0'));
      }
    }
    const pr = spec.persistentVolumeClaimRetentionPolicy ?? {};
    errs.push(...enumError('spec.persistentVolumeClaimRetentionPolicy.whenDeleted', pr.whenDeleted, ['Retain', 'Delete']));
    errs.push(...enumError('spec.persistentVolumeClaimRetentionPolicy.whenScaled', pr.whenScaled, ['Retain', 'Delete']));
    errs.push(...validateNonnegative(spec.ordinals?.start, 'spec.ordinals.start'));
    (spec.volumeClaimTemplates ?? []).forEach((t: any, i: number) => {
      if (!t?.metadata?.name) errs.push(field.required(`spec.volumeClaimTemplates[${i}].metadata.name`));
      if (!(t?.spec?.accessModes?.length > 0)) errs.push(field.required(`spec.volumeClaimTemplates[${i}].spec.accessModes`, 'Required value: at least 1 access mode is required'));
    });
    if (old) {
      // only these fields may change after creation
      const mutable = ['replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy', 'minReadySeconds'];
      const strip = (s: any) => Object.fromEntries(Object.entries(s ?? {}).filter(([k]) => !mutable.includes(k)));
      if (!deepEqual(strip(spec), strip(old.spec))) {
        errs.push(field.forbidden('spec', "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"));
      }
    }
    return errs;
  },
};

// ----------------------------------------------------------------- DaemonSet

export const daemonsets: KindDefinition = {
  ...apps, kind: 'DaemonSet', resource: 'daemonsets', namespaced: true, shortNames: ['ds'], categories: ['all'],
  statusSubresource: true,
  defaults(obj) {
    const spec = ensure(obj, 'spec');
    const us = ensure(spec, 'updateStrategy');
    us.type ||= 'RollingUpdate';
    if (us.type === 'RollingUpdate') {
      const ru = ensure(us, 'rollingUpdate');
      ru.maxUnavailable ??= 1;
      ru.maxSurge ??= 0;
    }
    spec.revisionHistoryLimit ??= 10;
    if (spec.template) defaultPodTemplate(spec.template);
  },
  prepareForCreate(obj) {
    obj.status = { currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: 0, numberReady: 0 };
    initGeneration(obj);
  },
  prepareForUpdate(obj, old) { bumpGeneration(obj, old); },
  validate(obj, old) {
    const spec = obj.spec ?? {};
    const errs = [...commonSpec(spec), ...validateSelectorAndTemplate(spec, 'daemonset', ['Always'])];
    const us = spec.updateStrategy ?? {};
    errs.push(...enumError('spec.updateStrategy.type', us.type, ['RollingUpdate', 'OnDelete'], true));
    if (us.type === 'RollingUpdate') {
      const ru = us.rollingUpdate;
      if (!ru) errs.push(field.required('spec.updateStrategy.rollingUpdate'));
      else errs.push(...rollingUpdateErrors(ru, 'spec.updateStrategy.rollingUpdate'), ...isNotMoreThan100Percent(ru.maxSurge, 'spec.updateStrategy.rollingUpdate.maxSurge'));
    }
    errs.push(...selectorImmutable(obj, old));
    return errs;
  },
};

// -------------------------------------------------------- ControllerRevision

export const controllerrevisions: KindDefinition = {
  ...apps, kind: 'ControllerRevision', resource: 'controllerrevisions', namespaced: true,
  validate(obj, old) {
    const errs: Errs = [];
    if (obj.revision == null) errs.push(field.required('revision'));
    else errs.push(...validateNonnegative(obj.revision, 'revision'));
    if (old) errs.push(...immutable(obj.data, old.data, 'data'));
    return errs;
  },
};

export const appsKinds: KindDefinition[] = [deployments, replicasets, statefulsets, daemonsets, controllerrevisions];
