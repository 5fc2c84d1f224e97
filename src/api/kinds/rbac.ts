// rbac.authorization.k8s.io/v1 kinds: Role, ClusterRole, RoleBinding, ClusterRoleBinding.
import { field } from '../errors.js';
import type { KindDefinition, KubeObject } from '../kind.js';
import {
  type Errs, deepEqual, isValidPathSegmentName, nameErrors, requiredWith,
} from '../validation.js';
import { validateLabelSelector } from '../labels.js';

const rbacGroup = 'rbac.authorization.k8s.io';
const rbac = { group: rbacGroup, version: 'v1', nameValidation: 'path' } as const;

function validateRules(rules: any[] | undefined, namespaced: boolean): Errs {
  const errs: Errs = [];
  (rules ?? []).forEach((r: any, i: number) => {
    const p = `rules[${i}]`;
    if (!(r?.verbs?.length > 0)) errs.push(requiredWith(`${p}.verbs`, 'verbs must contain at least one value'));
    const hasNonResource = r?.nonResourceURLs?.length > 0;
    if (hasNonResource) {
      if (namespaced) errs.push(field.invalid(`${p}.nonResourceURLs`, r.nonResourceURLs, 'namespaced rules cannot apply to non-resource URLs'));
      if (r.apiGroups?.length > 0 || r.resources?.length > 0 || r.resourceNames?.length > 0) {
        errs.push(field.invalid(`${p}.nonResourceURLs`, r.nonResourceURLs, 'rules cannot apply to both regular resources and non-resource URLs'));
      }
      return;
    }
    if (!(r?.apiGroups?.length > 0)) errs.push(requiredWith(`${p}.apiGroups`, 'resource rules must supply at least one api group'));
    if (!(r?.resources?.length > 0)) errs.push(requiredWith(`${p}.resources`, 'resource rules must supply at least one resource'));
  });
  return errs;
}

function validateAggregation(agg: any): Errs {
  const errs: Errs = [];
  if (!agg) return errs;
  (agg.clusterRoleSelectors ?? []).forEach((s: any, i: number) => errs.push(...validateLabelSelector(s, `aggregationRule.clusterRoleSelectors[${i}]`)));
  return errs;
}

function defaultBinding(obj: KubeObject): void {
  if (obj.roleRef && !obj.roleRef.apiGroup) obj.roleRef.apiGroup = rbacGroup;
  for (const s of obj.subjects ?? []) {
    if (!s || typeof s !== 'object' || s.apiGroup) continue;
    // ServiceAccount subjects keep the empty (core) group, which JSON omits
    if (s.kind === 'User' || s.kind === 'Group') s.apiGroup = rbacGroup;
  }
}

function validateBinding(obj: KubeObject, old: KubeObject | undefined, namespaced: boolean): Errs {
  const errs: Errs = [];
  const ref = obj.roleRef ?? {};
  if (ref.apiGroup !== rbacGroup) errs.push(field.notSupported('roleRef.apiGroup', ref.apiGroup ?? '', [rbacGroup]));
  const kinds = namespaced ? ['Role', 'ClusterRole'] : ['ClusterRole'];
  if (!kinds.includes(ref.kind)) errs.push(field.notSupported('roleRef.kind', ref.kind ?? '', kinds));
  if (!ref.name) errs.push(field.required('roleRef.name'));
  else errs.push(...nameErrors('roleRef.name', ref.name, isValidPathSegmentName(ref.name)));
  (obj.subjects ?? []).forEach((s: any, i: number) => {
    const p = `subjects[${i}]`;
    if (!s?.name) errs.push(field.required(`${p}.name`));
    switch (s?.kind) {
      case 'ServiceAccount':
        if (s.apiGroup) errs.push(field.notSupported(`${p}.apiGroup`, s.apiGroup, ['']));
        if (!namespaced && !s.namespace) errs.push(field.required(`${p}.namespace`));
        break;
      case 'User':
      case 'Group':
        if (s.apiGroup !== rbacGroup) errs.push(field.notSupported(`${p}.apiGroup`, s.apiGroup ?? '', [rbacGroup]));
        break;
      default:
        errs.push(field.notSupported(`${p}.kind`, s?.kind ?? '', ['ServiceAccount', 'User', 'Group']));
    }
  });
  if (old && !deepEqual(obj.roleRef, old.roleRef)) errs.push(field.invalid('roleRef', obj.roleRef, 'cannot change roleRef'));
  return errs;
}

export const roles: KindDefinition = {
  ...rbac, kind: 'Role', resource: 'roles', namespaced: true,
  validate: (obj) => validateRules(obj.rules, true),
};

export const clusterroles: KindDefinition = {
  ...rbac, kind: 'ClusterRole', resource: 'clusterroles', namespaced: false,
  validate: (obj) => [...validateRules(obj.rules, false), ...validateAggregation(obj.aggregationRule)],
};

export const rolebindings: KindDefinition = {
  ...rbac, kind: 'RoleBinding', resource: 'rolebindings', namespaced: true,
  defaults: defaultBinding,
  validate: (obj, old) => validateBinding(obj, old, true),
};

export const clusterrolebindings: KindDefinition = {
  ...rbac, kind: 'ClusterRoleBinding', resource: 'clusterrolebindings', namespaced: false,
  defaults: defaultBinding,
  validate: (obj, old) => validateBinding(obj, old, false),
};

export const rbacKinds: KindDefinition[] = [roles, rolebindings, clusterroles, clusterrolebindings];
