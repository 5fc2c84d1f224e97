// apiextensions.k8s.io/v1: CustomResourceDefinition. Stored as written (plus
// upstream's few defaults); serving custom resources is the apiserver's job.
import { field } from '../errors.js';
import type { KindDefinition } from '../kind.js';
import { type Errs, enumError, immutable, isDNS1035Label, isDNS1123Label, isDNS1123Subdomain, requiredWith } from '../validation.js';
import { ensure, initGeneration, bumpGeneration } from './util.js';

function storageVersion(obj: any): string | undefined {
  return (obj.spec?.versions ?? []).find((v: any) => v?.storage)?.name;
}

export const customresourcedefinitions: KindDefinition = {
  group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition', resource: 'customresourcedefinitions',
  namespaced: false, shortNames: ['crd', 'crds'], categories: ['api-extensions'], statusSubresource: true,
  defaults(obj) {
    const spec = ensure(obj, 'spec');
    const names = ensure(spec, 'names');
    if (!names.singular && names.kind) names.singular = String(names.kind).toLowerCase();
    if (!names.listKind && names.kind) names.listKind = `${names.kind}List`;
    if (!spec.conversion) spec.conversion = { strategy: 'None' };
  },
  prepareForCreate(obj) {
    const sv = storageVersion(obj);
    obj.status = { acceptedNames: { kind: '', plural: '' }, storedVersions: sv ? [sv] : [] };
    initGeneration(obj);
  },
  prepareForUpdate(obj, old) {
    bumpGeneration(obj, old);
    const sv = storageVersion(obj);
    const status = ensure(obj, 'status');
    status.storedVersions ??= [...(old.status?.storedVersions ?? [])];
    if (sv && !status.storedVersions.includes(sv)) status.storedVersions.push(sv);
  },
  validate(obj, old) {
    const errs: Errs = [];
    const spec = obj.spec ?? {};
    const names = spec.names ?? {};
    const name = obj.metadata?.name ?? '';
    if (!spec.group) errs.push(field.required('spec.group'));
    else {
      errs.push(...isDNS1123Subdomain(spec.group).map((m) => field.invalid('spec.group', spec.group, m)));
      if (!spec.group.includes('.')) errs.push(field.invalid('spec.group', spec.group, 'should be a domain with at least one dot'));
    }
    if (names.plural && spec.group && name !== `${names.plural}.${spec.group}`) {
      errs.push(field.invalid('metadata.name', name, 'must be spec.names.plural+"."+spec.group'));
    }
    errs.push(...enumError('spec.scope', spec.scope, ['Cluster', 'Namespaced'], true));
    if (!names.plural) errs.push(field.required('spec.names.plural'));
    else errs.push(...isDNS1123Label(names.plural).map((m) => field.invalid('spec.names.plural', names.plural, m)));
    if (names.singular) errs.push(...isDNS1123Label(names.singular).map((m) => field.invalid('spec.names.singular', names.singular, m)));
    if (!names.kind) errs.push(field.required('spec.names.kind'));
    else if (!/^[A-Za-z][A-Za-z0-9]*$/.test(names.kind)) errs.push(field.invalid('spec.names.kind', names.kind, 'may have mixed case, but should otherwise match: ^[a-z][-a-z0-9]*$'));
    (names.shortNames ?? []).forEach((s: string, i: number) => errs.push(...isDNS1123Label(s).map((m) => field.invalid(`spec.names.shortNames[${i}]`, s, m))));
    (names.categories ?? []).forEach((s: string, i: number) => errs.push(...isDNS1123Label(s).map((m) => field.invalid(`spec.names.categories[${i}]`, s, m))));
    const versions: any[] = spec.versions ?? [];
    if (versions.length === 0) errs.push(requiredWith('spec.versions', 'must have exactly one version marked as storage version'));
    const seen = new Set<string>();
    versions.forEach((v: any, i: number) => {
      const p = `spec.versions[${i}]`;
      if (!v?.name) errs.push(field.required(`${p}.name`));
      else {
        errs.push(...isDNS1035Label(v.name).map((m) => field.invalid(`${p}.name`, v.name, m)));
        if (seen.has(v.name)) errs.push(field.duplicate(`${p}.name`, v.name));
        seen.add(v.name);
      }
      if (!v?.schema?.openAPIV3Schema) errs.push(requiredWith(`${p}.schema.openAPIV3Schema`, 'schemas are required'));
    });
    const storageCount = versions.filter((v) => v?.storage).length;
    if (versions.length > 0 && storageCount !== 1) errs.push(field.invalid('spec.versions', versions.map((v) => v?.name), 'must have exactly one version marked as storage version'));
    if (versions.length > 0 && !versions.some((v) => v?.served)) errs.push(field.invalid('spec.versions', versions.map((v) => v?.name), 'must serve at least one version'));
    errs.push(...enumError('spec.conversion.strategy', spec.conversion?.strategy, ['None', 'Webhook'], true));
    if (spec.conversion?.strategy === 'Webhook' && !spec.conversion.webhook) errs.push(requiredWith('spec.conversion.webhook', 'required when strategy is set to Webhook'));
    if (old) {
      errs.push(...immutable(spec.group, old.spec?.group, 'spec.group'));
      errs.push(...immutable(names.plural, old.spec?.names?.plural, 'spec.names.plural'));
      if (old.spec?.scope && spec.scope !== old.spec.scope) errs.push(field.invalid('spec.scope', spec.scope, 'field is immutable'));
    }
    return errs;
  },
};

export const apiextensionsKinds: KindDefinition[] = [customresourcedefinitions];
