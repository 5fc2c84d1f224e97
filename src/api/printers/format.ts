// Formatting helpers shared by the Table printers. They reproduce the text
// kubectl users see from a real apiserver (ages, selectors, "+ N more...").
import type { TableColumn } from '../kind.js';

type Ts = string | null | undefined;

/**
 * Upstream's HumanDuration: about 2–3 significant figures, e.g. 90s, 3m5s,
 * 45m, 2h5m, 20h, 3d4h, 45d, 2y45d, 9y. Small negative skews count as now.
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  const days = Math.trunc(hours / 24);
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${days}d` : `${days}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.trunc(days / 365);
  if (hours < 24 * 365 * 8) {
    const dy = days % 365;
    return dy === 0 ? `${years}y` : `${years}y${dy}d`;
  }
  return `${years}y`;
}

/** Milliseconds since epoch, or undefined when missing/zero (Go's time.IsZero). */
export function parseTime(ts: Ts): number | undefined {
  if (!ts) return undefined;
  const t = Date.parse(ts);
  if (Number.isNaN(t)) return undefined;
  // Go's zero time (0001-01-01T00:00:00Z) also means "unset".
  if (t <= -62135596800000) return undefined;
  return t;
}

/** AGE-style cell: time elapsed since ts, or <unknown> when unset. */
export function since(ts: Ts, now: number): string {
  const t = parseTime(ts);
  return t === undefined ? '<unknown>' : humanDuration(now - t);
}

/** RFC3339 (UTC, seconds) as metav1.Time marshals it; Go's zero time when unset. */
export function rfc3339(ts: Ts): string {
  const t = parseTime(ts);
  if (t === undefined) return '0001-01-01T00:00:00Z';
  return new Date(t).toISOString().replace(/\.\d+Z$/, 'Z');
}

/** "a,b,c + 2 more..." (count = total items, max = items shown). Empty → fallback. */
export function listWithMore(list: string[], count: number, max: number, empty = '<unset>'): string {
  const ret = list.slice(0, max).join(',');
  if (count > max) return `${ret} + ${count - max} more...`;
  return ret === '' ? empty : ret;
}

/** labels.FormatLabels: sorted k=v pairs, <none> when empty. */
export function formatLabels(m: Record<string, string> | null | undefined): string {
  const keys = Object.keys(m ?? {}).sort();
  if (keys.length === 0) return '<none>';
  return keys.map((k) => `${k}=${m![k]}`).join(',');
}

export interface LabelSelectorLike {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/**
 * A LabelSelector as selector text ("app=web,tier in (a,b),!legacy"),
 * requirements sorted by key as upstream does; '' for nil/empty,
 * '<error>' for an unknown operator.
 */
export function selectorString(sel: LabelSelectorLike | null | undefined): string {
  if (!sel) return '';
  const reqs: { key: string; text: string }[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) reqs.push({ key: k, text: `${k}=${v}` });
  for (const e of sel.matchExpressions ?? []) {
    const vals = [...(e.values ?? [])].sort();
    let text: string;
    switch (e.operator) {
      case 'In': text = `${e.key} in (${vals.join(',')})`; break;
      case 'NotIn': text = `${e.key} notin (${vals.join(',')})`; break;
      case 'Exists': text = e.key; break;
      case 'DoesNotExist': text = `!${e.key}`; break;
      default: return '<error>';
    }
    reqs.push({ key: e.key, text });
  }
  reqs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return reqs.map((r) => r.text).join(',');
}

/** metav1.FormatLabelSelector: like selectorString but <none> when empty. */
export function formatLabelSelector(sel: LabelSelectorLike | null | undefined): string {
  return selectorString(sel) || '<none>';
}

/** Container names and images, each comma-joined (CONTAINERS / IMAGES columns). */
export function containerCells(containers: { name?: string; image?: string }[] | null | undefined): [string, string] {
  const list = containers ?? [];
  return [list.map((c) => c.name ?? '').join(','), list.map((c) => c.image ?? '').join(',')];
}

/** net.JoinHostPort: brackets around IPv6 hosts. */
export function joinHostPort(host: string, port: number | string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** "True" / "False" / "<unset>" for optional booleans. */
export function boolPtr(v: boolean | null | undefined): string {
  if (v === undefined || v === null) return '<unset>';
  return v ? 'True' : 'False';
}

/** IntOrString as text. */
export function intOrString(v: number | string | null | undefined): string {
  return v === undefined || v === null ? '' : String(v);
}

/**
 * Quantity as text. Stored quantities are normally already canonical
 * ("1Gi", "500m"), so they are passed through; a missing one prints as "0"
 * like a zero resource.Quantity.
 */
export function quantity(q: string | number | null | undefined): string {
  if (q === undefined || q === null || q === '') return '0';
  return String(q);
}

/** Sorted, de-duplicated values, like sets.String.List(). */
export function sortedSet(values: string[]): string[] {
  return [...new Set(values)].sort();
}

// ---- column definitions ----

const NAME_DOC =
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names';
const CREATED_DOC =
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata';

export const nameColumn: TableColumn = { name: 'Name', type: 'string', format: 'name', description: NAME_DOC, priority: 0 };
export const ageColumn: TableColumn = { name: 'Age', type: 'string', description: CREATED_DOC, priority: 0 };
export const createdAtColumn: TableColumn = { name: 'Created At', type: 'date', description: CREATED_DOC, priority: 0 };

/** A column; priority 1 means shown only with -o wide. */
export function col(name: string, type: TableColumn['type'], description: string, priority = 0, format?: string): TableColumn {
  const c: TableColumn = { name, type, description, priority };
  if (format !== undefined) c.format = format;
  return c;
}

/** The three wide template columns used by workload controllers. */
export const containersColumn = col('Containers', 'string', 'Names of each container in the template.', 1);
export const imagesColumn = col('Images', 'string', 'Images referenced by each container in the template.', 1);
export function selectorColumn(description = 'A label query over pods that should match the replica count.'): TableColumn {
  return col('Selector', 'string', description, 1);
}
