// Compiles the labelSelector and fieldSelector query parameters into matchers.
// Field selectors accept metadata.name, metadata.namespace and the kind's own
// fields (KindDefinition.fieldSelectors); anything else is a 400 like upstream.
import type { KindDefinition, KubeObject } from '../api/kind.js';
import { parseSelector } from '../api/labels.js';
import { checkSelectableFields, matchFields, parseFieldSelector } from '../api/fields.js';

export function compileLabelSelector(selector: string): (labels: Record<string, string>) => boolean {
  const sel = parseSelector(selector);
  if (sel.empty) return () => true;
  return (labels) => sel.matches(labels);
}

export function compileFieldSelector(selector: string, def: KindDefinition): (obj: KubeObject) => boolean {
  const reqs = parseFieldSelector(selector);
  const getters: Record<string, (o: KubeObject) => string | undefined> = {
    'metadata.name': (o) => o.metadata?.name,
    'metadata.namespace': (o) => o.metadata?.namespace ?? '',
    ...(def.fieldSelectors ?? {}),
  };
  checkSelectableFields(reqs, Object.keys(getters), !!def.fieldSelectors);
  if (!reqs.length) return () => true;
  return (o) => matchFields(reqs, (f) => getters[f]?.(o));
}
