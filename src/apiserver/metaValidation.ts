// ObjectMeta checks the apiserver owns: name (per the kind's naming rule) and
// namespace. Labels and annotations are checked by each kind's validate().
import type { KindDefinition, KubeObject } from '../api/kind.js';
import { field, type FieldError } from '../api/errors.js';
import { validateName } from '../api/validation.js';

export function validateObjectMeta(def: KindDefinition, obj: KubeObject, old?: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const meta = obj.metadata ?? {};
  const name = meta.name ?? '';
  if (!name) errs.push(field.required('metadata.name', 'Required value: name or generateName is required'));
  else for (const msg of validateName(name, def.nameValidation ?? 'subdomain')) errs.push(field.invalid('metadata.name', name, msg));
  if (def.namespaced && !meta.namespace) errs.push(field.required('metadata.namespace'));
  if (old && meta.namespace !== old.metadata?.namespace) errs.push(field.invalid('metadata.namespace', meta.namespace, 'field is immutable'));
  return errs;
}
