// admissionregistration.k8s.io/v1: Mutating/ValidatingWebhookConfiguration.
import { field } from '../errors.js';
import type { KindDefinition, KubeObject } from '../kind.js';
import {
  type Errs, enumError, isDNS1123Label, isDNS1123Subdomain, isValidPortNum, requiredWith,
} from '../validation.js';
import { validateLabelSelector } from '../labels.js';

const admission = { group: 'admissionregistration.k8s.io', version: 'v1' } as const;
const operations = ['*', 'CONNECT', 'CREATE', 'DELETE', 'UPDATE'];

function defaultWebhook(w: any, mutating: boolean): void {
  if (!w || typeof w !== 'object') return;
  w.failurePolicy ||= 'Fail';
  w.matchPolicy ||= 'Equivalent';
  w.namespaceSelector ??= {};
  w.objectSelector ??= {};
  w.timeoutSeconds ??= 10;
  if (mutating) w.reinvocationPolicy ||= 'Never';
  for (const r of w.rules ?? []) if (r && !r.scope) r.scope = '*';
  if (w.clientConfig?.service) w.clientConfig.service.port ??= 443;
}

function validateWebhooks(obj: KubeObject, mutating: boolean): Errs {
  const errs: Errs = [];
  const names = new Set<string>();
  (obj.webhooks ?? []).forEach((w: any, i: number) => {
    const p = `webhooks[${i}]`;
    if (!w?.name) errs.push(field.required(`${p}.name`));
    else {
      if (w.name.split('.').length < 3) errs.push(field.invalid(`${p}.name`, w.name, 'should be a domain with at least three segments separated by dots'));
      else errs.push(...isDNS1123Subdomain(w.name).map((m) => field.invalid(`${p}.name`, w.name, m)));
      if (names.has(w.name)) errs.push(field.duplicate(`${p}.name`, w.name));
      names.add(w.name);
    }
    const arv: string[] = w?.admissionReviewVersions ?? [];
    if (arv.length === 0) errs.push(requiredWith(`${p}.admissionReviewVersions`, 'must specify one of v1, v1beta1'));
    else if (!arv.some((v) => v === 'v1' || v === 'v1beta1')) errs.push(field.invalid(`${p}.admissionReviewVersions`, arv, 'must include at least one of v1, v1beta1'));
    if (!w?.sideEffects) errs.push(requiredWith(`${p}.sideEffects`, 'must specify one of None, NoneOnDryRun'));
    else errs.push(...enumError(`${p}.sideEffects`, w.sideEffects, ['None', 'NoneOnDryRun']));
    errs.push(...enumError(`${p}.failurePolicy`, w?.failurePolicy, ['Fail', 'Ignore']));
    errs.push(...enumError(`${p}.matchPolicy`, w?.matchPolicy, ['Equivalent', 'Exact']));
    if (mutating) errs.push(...enumError(`${p}.reinvocationPolicy`, w?.reinvocationPolicy, ['IfNeeded', 'Never']));
    if (w?.timeoutSeconds != null && (w.timeoutSeconds < 1 || w.timeoutSeconds > 30)) {
      errs.push(field.invalid(`${p}.timeoutSeconds`, w.timeoutSeconds, 'the timeout value must be between 1 and 30 seconds'));
    }
    const cc = w?.clientConfig ?? {};
    if (!!cc.url === !!cc.service) errs.push(requiredWith(`${p}.clientConfig`, 'exactly one of url or service is required'));
    if (cc.url) {
      let u: URL | undefined;
      try { u = new URL(cc.url); } catch { errs.push(field.invalid(`${p}.clientConfig.url`, cc.url, 'host must be specified')); }
      if (u) {
        if (u.protocol !== 'https:') errs.push(field.invalid(`${p}.clientConfig.url`, cc.url, "'https' is the only allowed URL scheme"));
        if (u.hash) errs.push(field.invalid(`${p}.clientConfig.url`, cc.url, 'fragments are not permitted in the URL'));
        if (u.search) errs.push(field.invalid(`${p}.clientConfig.url`, cc.url, 'query parameters are not permitted in the URL'));
      }
    }
    if (cc.service) {
      const sp = `${p}.clientConfig.service`;
      if (!cc.service.name) errs.push(requiredWith(`${sp}.name`, 'service name is required'));
      else errs.push(...isDNS1123Label(cc.service.name).map((m) => field.invalid(`${sp}.name`, cc.service.name, m)));
      if (!cc.service.namespace) errs.push(requiredWith(`${sp}.namespace`, 'service namespace is required'));
      if (cc.service.port != null) errs.push(...isValidPortNum(cc.service.port).map((m) => field.invalid(`${sp}.port`, cc.service.port, m)));
    }
    (w?.rules ?? []).forEach((r: any, j: number) => {
      const rp = `${p}.rules[${j}]`;
      if (!(r?.operations?.length > 0)) errs.push(field.required(`${rp}.operations`));
      (r?.operations ?? []).forEach((o: string, k: number) => errs.push(...enumError(`${rp}.operations[${k}]`, o, operations)));
      if (!(r?.apiGroups?.length > 0)) errs.push(field.required(`${rp}.apiGroups`));
      if (!(r?.apiVersions?.length > 0)) errs.push(field.required(`${rp}.apiVersions`));
      if (!(r?.resources?.length > 0)) errs.push(field.required(`${rp}.resources`));
      errs.push(...enumError(`${rp}.scope`, r?.scope, ['*', 'Cluster', 'Namespaced']));
    });
    errs.push(...validateLabelSelector(w?.namespaceSelector, `${p}.namespaceSelector`), ...validateLabelSelector(w?.objectSelector, `${p}.objectSelector`));
  });
  return errs;
}

export const mutatingwebhookconfigurations: KindDefinition = {
  ...admission, kind: 'MutatingWebhookConfiguration', resource: 'mutatingwebhookconfigurations', namespaced: false, categories: ['api-extensions'],
  defaults(obj) { for (const w of obj.webhooks ?? []) defaultWebhook(w, true); },
  validate: (obj) => validateWebhooks(obj, true),
};

export const validatingwebhookconfigurations: KindDefinition = {
  ...admission, kind: 'ValidatingWebhookConfiguration', resource: 'validatingwebhookconfigurations', namespaced: false, categories: ['api-extensions'],
  defaults(obj) { for (const w of obj.webhooks ?? []) defaultWebhook(w, false); },
  validate: (obj) => validateWebhooks(obj, false),
};

export const admissionregistrationKinds: KindDefinition[] = [mutatingwebhookconfigurations, validatingwebhookconfigurations];
