// Printers for apiextensions.k8s.io: CustomResourceDefinitions themselves use
// the default table (NAME, CREATED AT); custom resources print the columns
// their CRD version declares in additionalPrinterColumns.
import type { KubeObject, Printer, TableColumn } from '../kind.js';
import { createdAtColumn, nameColumn, since } from './format.js';

export interface PrinterColumnDefinition {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
  jsonPath: string;
}

type Step =
  | { kind: 'field'; name: string }
  | { kind: 'index'; index: number | '*' }
  | { kind: 'filter'; path: string[]; op?: '==' | '!='; value?: unknown };

/** Parses the simple JSONPath forms used in printer columns: .a.b, .a['x.y'], .a[0], .a[*], .a[?(@.k=="v")]. */
export function parseJSONPath(expr: string): Step[] {
  let s = expr.trim();
  if (s.startsWith('{') && s.endsWith('}')) s = s.slice(1, -1).trim();
  if (s.startsWith('$')) s = s.slice(1);
  const steps: Step[] = [];
  let i = 0;
  const n = s.length;
  while (i < n) {
    const ch = s[i];
    if (ch === '.') {
      i++;
      let j = i;
      while (j < n && s[j] !== '.' && s[j] !== '[') j++;
      if (j > i) steps.push({ kind: 'field', name: s.slice(i, j) });
      i = j;
    } else if (ch === '[') {
      const end = findClose(s, i);
      const inner = s.slice(i + 1, end).trim();
      i = end + 1;
      if (inner === '*') steps.push({ kind: 'index', index: '*' });
      else if (/^-?\d+$/.test(inner)) steps.push({ kind: 'index', index: Number(inner) });
      else if (/^'.*'$|^".*"$/.test(inner)) steps.push({ kind: 'field', name: inner.slice(1, -1) });
      else if (inner.startsWith('?(') && inner.endsWith(')')) steps.push(parseFilter(inner.slice(2, -1).trim()));
      else throw new Error(`unsupported JSONPath segment [${inner}]`);
    } else {
      // A leading bare field name ("spec.replicas").
      let j = i;
      while (j < n && s[j] !== '.' && s[j] !== '[') j++;
      steps.push({ kind: 'field', name: s.slice(i, j) });
      i = j;
    }
  }
  return steps;
}

function findClose(s: string, open: number): number {
  let quote = '';
  for (let k = open + 1; k < s.length; k++) {
    const c = s[k]!;
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === ']') return k;
  }
  throw new Error('unterminated [ in JSONPath');
}

function parseFilter(f: string): Step {
  const m = /^@((?:\.[A-Za-z0-9_\-/]+)+)\s*(?:(==|!=)\s*(.+))?$/.exec(f);
  if (!m) throw new Error(`unsupported JSONPath filter ${f}`);
  const path = m[1]!.slice(1).split('.');
  if (!m[2]) return { kind: 'filter', path };
  let raw = m[3]!.trim();
  let value: unknown;
  if (/^'.*'$|^".*"$/.test(raw)) value = raw.slice(1, -1);
  else if (raw === 'true' || raw === 'false') value = raw === 'true';
  else if (!Number.isNaN(Number(raw))) value = Number(raw);
  else value = raw;
  return { kind: 'filter', path, op: m[2] as '==' | '!=', value };
}

/** All values the path selects in obj (empty when none). */
export function evalJSONPath(obj: unknown, steps: Step[]): unknown[] {
  let cur: unknown[] = [obj];
  for (const st of steps) {
    const next: unknown[] = [];
    for (const v of cur) {
      if (v === null || v === undefined) continue;
      if (st.kind === 'field') {
        if (typeof v === 'object' && !Array.isArray(v) && st.name in (v as object)) next.push((v as Record<string, unknown>)[st.name]);
      } else if (st.kind === 'index') {
        if (!Array.isArray(v)) continue;
        if (st.index === '*') next.push(...v);
        else {
          const idx = st.index < 0 ? v.length + st.index : st.index;
          if (idx >= 0 && idx < v.length) next.push(v[idx]);
        }
      } else {
        const items = Array.isArray(v) ? v : [v];
        for (const item of items) {
          let x: unknown = item;
          for (const p of st.path) x = x && typeof x === 'object' ? (x as Record<string, unknown>)[p] : undefined;
          if (st.op === undefined ? x !== undefined : st.op === '==' ? x === st.value : x !== st.value) next.push(item);
        }
      }
    }
    cur = next;
  }
  return cur;
}

function cellFor(type: string, value: unknown, now: number): unknown {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'string':
      // jsonpath prints scalars as text and maps/lists as JSON.
      return typeof value === 'object' ? JSON.stringify(value) : String(value);
    case 'integer':
      return typeof value === 'number' ? Math.trunc(value) : null;
    case 'number':
      return typeof value === 'number' ? value : null;
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    case 'date':
      if (typeof value !== 'string') return null;
      return Number.isNaN(Date.parse(value)) ? '<invalid>' : since(value, now);
  }
  return null;
}

const AGE_DEFAULT: PrinterColumnDefinition = {
  name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: createdAtColumn.description,
};

/** Printer for instances of a custom resource version, from its additionalPrinterColumns (Age when none). */
export function customResourcePrinter(additional?: PrinterColumnDefinition[]): Printer {
  const defs = additional && additional.length > 0 ? additional : [AGE_DEFAULT];
  const columns: TableColumn[] = [nameColumn];
  const paths: (Step[] | undefined)[] = [];
  for (const d of defs) {
    const c: TableColumn = { name: d.name, type: d.type as TableColumn['type'], description: d.description ?? '', priority: d.priority ?? 0 };
    if (d.format) c.format = d.format;
    columns.push(c);
    try {
      paths.push(parseJSONPath(d.jsonPath));
    } catch {
      paths.push(undefined); // an unparsable path yields empty cells rather than failing the list
    }
  }
  return {
    columns,
    cells(obj: KubeObject, now: number) {
      const out: unknown[] = [obj.metadata?.name ?? ''];
      defs.forEach((d, i) => {
        const p = paths[i];
        const res = p ? evalJSONPath(obj, p) : [];
        out.push(res.length === 0 ? null : cellFor(d.type, res[0], now));
      });
      return out;
    },
  };
}

// CustomResourceDefinition has no specific printer upstream: default table.
export const apiextensionsPrinters: Record<string, Printer> = {};
