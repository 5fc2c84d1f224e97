// Server-side Tables (meta.k8s.io/v1) for `kubectl get`, and PartialObjectMetadata.
import type { KindDefinition, KubeObject, Printer } from '../api/kind.js';

const ageOnly: Printer = {
  columns: [
    { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 },
    { name: 'Created At', type: 'date', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', priority: 0 },
  ],
  cells: (o) => [o.metadata?.name ?? '', o.metadata?.creationTimestamp ?? ''],
};

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export function partialMetadata(obj: KubeObject): KubeObject {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}

export function tableRow(printer: Printer, obj: KubeObject, include: IncludeObject, now: number): Record<string, unknown> {
  const row: Record<string, unknown> = { cells: printer.cells(obj, now) };
  if (include === 'Metadata') row.object = partialMetadata(obj);
  else if (include === 'Object') row.object = obj;
  return row;
}

export function printerOf(def: KindDefinition): Printer {
  return def.printer ?? ageOnly;
}

export function table(def: KindDefinition, objs: KubeObject[], include: IncludeObject, listMeta: Record<string, unknown>, withColumns = true): Record<string, unknown> {
  const printer = printerOf(def);
  const now = Date.now();
  const t: Record<string, unknown> = { kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: listMeta };
  if (withColumns) t.columnDefinitions = printer.columns.map((c) => ({ name: c.name, type: c.type, format: c.format ?? '', description: c.description, priority: c.priority }));
  else t.columnDefinitions = null;
  t.rows = objs.map((o) => tableRow(printer, o, include, now));
  return t;
}
