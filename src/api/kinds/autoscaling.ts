// autoscaling/v1 and v2 HorizontalPodAutoscaler. v2 is the stored form; v1
// converts to and from it (CPU utilization target ↔ a Resource metric), and
// keeps what v1 cannot express in annotations, as upstream does.
import { field } from '../errors.js';
import type { KindDefinition, KubeObject } from '../kind.js';
import { type Errs, enumError, parseQuantity, validateNonnegative } from '../validation.js';
import { clone, ensure, initGeneration, bumpGeneration } from './util.js';

export const metricsAnnotation = 'autoscaling.alpha.kubernetes.io/metrics';
export const currentMetricsAnnotation = 'autoscaling.alpha.kubernetes.io/current-metrics';
export const conditionsAnnotation = 'autoscaling.alpha.kubernetes.io/conditions';
export const behaviorAnnotation = 'autoscaling.alpha.kubernetes.io/behavior';

const base = { group: 'autoscaling', kind: 'HorizontalPodAutoscaler', resource: 'horizontalpodautoscalers', namespaced: true, shortNames: ['hpa'], categories: ['all'], statusSubresource: true };

// ------------------------------------------------------------------ defaults

function scaleUpRules(): any {
  return { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 4, periodSeconds: 15 }, { type: 'Percent', value: 100, periodSeconds: 15 }] };
}
function scaleDownRules(): any {
  // stabilizationWindowSeconds stays unset: the controller's flag decides it
  return { selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] };
}
function mergeRules(user: any, defaults: any): any {
  if (!user) return defaults;
  for (const k of ['selectPolicy', 'stabilizationWindowSeconds', 'policies', 'tolerance']) if (user[k] != null) defaults[k] = user[k];
  return defaults;
}

export function defaultHPAv2(obj: KubeObject): void {
  const spec = ensure(obj, 'spec');
  spec.minReplicas ??= 1;
  if (!(spec.metrics?.length > 0)) {
    spec.metrics = [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }];
  }
  if (spec.behavior) {
    spec.behavior.scaleUp = mergeRules(spec.behavior.scaleUp, scaleUpRules());
    spec.behavior.scaleDown = mergeRules(spec.behavior.scaleDown, scaleDownRules());
  }
}

// ---------------------------------------------------------------- conversion

function isCPUUtilization(m: any): boolean {
  return m?.type === 'Resource' && m.resource?.name === 'cpu' && m.resource?.target?.type === 'Utilization';
}

function takeAnnotation(meta: any, key: string): any {
  const raw = meta?.annotations?.[key];
  if (raw === undefined) return undefined;
  delete meta.annotations[key];
  try { return JSON.parse(raw); } catch { return undefined; }
}

/** autoscaling/v1 → autoscaling/v2 */
export function hpaV1ToV2(obj: KubeObject): KubeObject {
  const meta = clone(obj.metadata) ?? {};
  const spec = obj.spec ?? {};
  const extraMetrics = takeAnnotation(meta, metricsAnnotation);
  const extraCurrent = takeAnnotation(meta, currentMetricsAnnotation);
  const conditions = takeAnnotation(meta, conditionsAnnotation);
  const behavior = takeAnnotation(meta, behaviorAnnotation);
  if (meta.annotations && Object.keys(meta.annotations).length === 0) delete meta.annotations;

  const out: KubeObject = { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: meta, spec: {} };
  const s = out.spec;
  if (spec.scaleTargetRef) s.scaleTargetRef = clone(spec.scaleTargetRef);
  if (spec.minReplicas != null) s.minReplicas = spec.minReplicas;
  if (spec.maxReplicas != null) s.maxReplicas = spec.maxReplicas;
  const metrics: any[] = [];
  if (spec.targetCPUUtilizationPercentage != null) {
    metrics.push({ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: spec.targetCPUUtilizationPercentage } } });
  }
  if (Array.isArray(extraMetrics)) metrics.push(...extraMetrics);
  if (metrics.length) s.metrics = metrics;
  if (behavior) s.behavior = behavior;

  if (obj.status) {
    const st = obj.status;
    const o: any = {};
    for (const k of ['observedGeneration', 'lastScaleTime', 'currentReplicas', 'desiredReplicas']) if (st[k] != null) o[k] = clone(st[k]);
    const current: any[] = [];
    if (st.currentCPUUtilizationPercentage != null) {
      current.push({ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: st.currentCPUUtilizationPercentage } } });
    }
    if (Array.isArray(extraCurrent)) current.push(...extraCurrent);
    if (current.length) o.currentMetrics = current;
    if (Array.isArray(conditions)) o.conditions = conditions;
    out.status = o;
  }
  return out;
}

/** autoscaling/v2 → autoscaling/v1 */
export function hpaV2ToV1(obj: KubeObject): KubeObject {
  const meta = clone(obj.metadata) ?? {};
  const spec = obj.spec ?? {};
  const out: KubeObject = { apiVersion: 'autoscaling/v1', kind: 'HorizontalPodAutoscaler', metadata: meta, spec: {} };
  const s = out.spec;
  const annotate = (key: string, v: unknown) => { meta.annotations ??= {}; meta.annotations[key] = JSON.stringify(v); };
  if (spec.scaleTargetRef) s.scaleTargetRef = clone(spec.scaleTargetRef);
  if (spec.minReplicas != null) s.minReplicas = spec.minReplicas;
  if (spec.maxReplicas != null) s.maxReplicas = spec.maxReplicas;
  const metrics: any[] = spec.metrics ?? [];
  const cpu = metrics.find(isCPUUtilization);
  if (cpu) s.targetCPUUtilizationPercentage = cpu.resource.target.averageUtilization;
  const others = metrics.filter((m) => m !== cpu);
  if (others.length) annotate(metricsAnnotation, others);
  if (spec.behavior) annotate(behaviorAnnotation, spec.behavior);

  if (obj.status) {
    const st = obj.status;
    const o: any = { currentReplicas: st.currentReplicas ?? 0, desiredReplicas: st.desiredReplicas ?? 0 };
    if (st.observedGeneration != null) o.observedGeneration = st.observedGeneration;
    if (st.lastScaleTime != null) o.lastScaleTime = st.lastScaleTime;
    const current: any[] = st.currentMetrics ?? [];
    const cur = current.find((m) => m?.type === 'Resource' && m.resource?.name === 'cpu' && m.resource?.current?.averageUtilization != null);
    if (cur) o.currentCPUUtilizationPercentage = cur.resource.current.averageUtilization;
    const rest = current.filter((m) => m !== cur);
    if (rest.length) annotate(currentMetricsAnnotation, rest);
    if (st.conditions?.length) annotate(conditionsAnnotation, st.conditions);
    out.status = o;
  }
  return out;
}

// ---------------------------------------------------------------- validation

function validateCommon(spec: any): Errs {
  const errs: Errs = [];
  const ref = spec.scaleTargetRef;
  if (!ref) errs.push(field.required('spec.scaleTargetRef'));
  else {
    if (!ref.kind) errs.push(field.required('spec.scaleTargetRef.kind'));
    if (!ref.name) errs.push(field.required('spec.scaleTargetRef.name'));
  }
  if (spec.minReplicas != null && spec.minReplicas < 1) errs.push(field.invalid('spec.minReplicas', spec.minReplicas, 'must be greater than or equal to 1'));
  if (spec.maxReplicas == null || spec.maxReplicas < 1) errs.push(field.invalid('spec.maxReplicas', spec.maxReplicas ?? 0, 'must be greater than 0'));
  else if (spec.minReplicas != null && spec.maxReplicas < spec.minReplicas) errs.push(field.invalid('spec.maxReplicas', spec.maxReplicas, 'must be greater than or equal to `minReplicas`'));
  return errs;
}

const metricTypes = ['ContainerResource', 'External', 'Object', 'Pods', 'Resource'];
const targetTypes = ['AverageValue', 'Utilization', 'Value'];

function validateTarget(t: any, path: string): Errs {
  if (!t) return [field.required(path)];
  const errs = enumError(`${path}.type`, t.type, targetTypes, true);
  if (t.type === 'Utilization' && t.averageUtilization == null) errs.push(field.required(`${path}.averageUtilization`, 'Required value: must set either a target raw value or a target utilization'));
  if (t.averageUtilization != null && t.averageUtilization <= 0) errs.push(field.invalid(`${path}.averageUtilization`, t.averageUtilization, 'must be greater than 0'));
  for (const k of ['value', 'averageValue']) {
    if (t[k] != null) {
      const n = parseQuantity(t[k]);
      if (n === undefined || n <= 0) errs.push(field.invalid(`${path}.${k}`, t[k], 'must be positive'));
    }
  }
  return errs;
}

function validateV2(obj: KubeObject): Errs {
  const spec = obj.spec ?? {};
  const errs = validateCommon(spec);
  (spec.metrics ?? []).forEach((m: any, i: number) => {
    const p = `spec.metrics[${i}]`;
    errs.push(...enumError(`${p}.type`, m?.type, metricTypes, true));
    switch (m?.type) {
      case 'Resource':
        if (!m.resource) { errs.push(requiredFor(`${p}.resource`, 'Resource')); break; }
        if (!m.resource.name) errs.push(field.required(`${p}.resource.name`));
        errs.push(...validateTarget(m.resource.target, `${p}.resource.target`));
        break;
      case 'ContainerResource':
        if (!m.containerResource) { errs.push(requiredFor(`${p}.containerResource`, 'ContainerResource')); break; }
        if (!m.containerResource.container) errs.push(field.required(`${p}.containerResource.container`));
        errs.push(...validateTarget(m.containerResource.target, `${p}.containerResource.target`));
        break;
      case 'Pods':
        if (!m.pods) { errs.push(requiredFor(`${p}.pods`, 'Pods')); break; }
        if (!m.pods.metric?.name) errs.push(field.required(`${p}.pods.metric.name`));
        errs.push(...validateTarget(m.pods.target, `${p}.pods.target`));
        break;
      case 'Object':
        if (!m.object) { errs.push(requiredFor(`${p}.object`, 'Object')); break; }
        if (!m.object.metric?.name) errs.push(field.required(`${p}.object.metric.name`));
        if (!m.object.describedObject?.kind) errs.push(field.required(`${p}.object.describedObject.kind`));
        if (!m.object.describedObject?.name) errs.push(field.required(`${p}.object.describedObject.name`));
        errs.push(...validateTarget(m.object.target, `${p}.object.target`));
        break;
      case 'External':
        if (!m.external) { errs.push(requiredFor(`${p}.external`, 'External')); break; }
        if (!m.external.metric?.name) errs.push(field.required(`${p}.external.metric.name`));
        errs.push(...validateTarget(m.external.target, `${p}.external.target`));
        break;
    }
  });
  for (const dir of ['scaleUp', 'scaleDown']) {
    const r = spec.behavior?.[dir];
    if (!r) continue;
    const p = `spec.behavior.${dir}`;
    errs.push(...enumError(`${p}.selectPolicy`, r.selectPolicy, ['Disabled', 'Max', 'Min']));
    const w = r.stabilizationWindowSeconds;
    if (w != null && (w < 0 || w > 3600)) errs.push(field.invalid(`${p}.stabilizationWindowSeconds`, w, w < 0 ? 'must be greater than or equal to zero' : 'must be less than or equal to 3600'));
    if (r.policies != null && r.policies.length === 0 && r.selectPolicy !== 'Disabled') errs.push(requiredFor(`${p}.policies`, 'at least one policy', true));
    (r.policies ?? []).forEach((pol: any, i: number) => {
      const pp = `${p}.policies[${i}]`;
      errs.push(...enumError(`${pp}.type`, pol?.type, ['Percent', 'Pods'], true));
      if (!(pol?.value > 0)) errs.push(field.invalid(`${pp}.value`, pol?.value ?? 0, 'must be greater than zero'));
      if (!(pol?.periodSeconds > 0) || pol.periodSeconds > 1800) errs.push(field.invalid(`${pp}.periodSeconds`, pol?.periodSeconds ?? 0, pol?.periodSeconds > 1800 ? 'must be less than or equal to 1800' : 'must be greater than zero'));
    });
  }
  return errs;
}

function requiredFor(path: string, what: string, plain = false) {
  return field.required(path, plain ? `Required value: must specify ${what}` : `Required value: must populate information for the given metric source (only allowed when type is ${what})`);
}

// ----------------------------------------------------------------- definitions

export const hpaV2: KindDefinition = {
  ...base, version: 'v2',
  defaults: defaultHPAv2,
  prepareForCreate(obj) { obj.status = { desiredReplicas: 0 }; initGeneration(obj); },
  prepareForUpdate(obj, old) { bumpGeneration(obj, old); },
  validate: validateV2,
};

export const hpaV1: KindDefinition = {
  ...base, version: 'v1',
  storageResource: 'horizontalpodautoscalers',
  toStorage(obj) {
    const v2 = hpaV1ToV2(obj);
    defaultHPAv2(v2);
    return v2;
  },
  fromStorage: hpaV2ToV1,
  defaults(obj) {
    ensure(obj, 'spec').minReplicas ??= 1;
  },
  prepareForCreate(obj) { obj.status = { currentReplicas: 0, desiredReplicas: 0 }; initGeneration(obj); },
  prepareForUpdate(obj, old) { bumpGeneration(obj, old); },
  validate(obj) {
    const spec = obj.spec ?? {};
    const errs = validateCommon(spec);
    if (spec.targetCPUUtilizationPercentage != null && spec.targetCPUUtilizationPercentage < 1) {
      errs.push(field.invalid('spec.targetCPUUtilizationPercentage', spec.targetCPUUtilizationPercentage, 'must be greater than 0'));
    }
    errs.push(...validateNonnegative(obj.status?.currentReplicas, 'status.currentReplicas'));
    return errs;
  },
};

export const autoscalingKinds: KindDefinition[] = [hpaV1, hpaV2];
