// What the API server needs to know about a kind. Adding a kind means adding
// one definition (src/api/kinds/) and, for `kubectl get`, a printer
// (src/api/printers/).
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';
import type { FieldError } from './errors.js';

/** ObjectMeta as the server writes it (kubernetes-types marks system fields readonly). */
export type MutableObjectMeta = { -readonly [K in keyof ObjectMeta]: ObjectMeta[K] };

/** Any Kubernetes object as JSON. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: MutableObjectMeta;
  [key: string]: any;
}

export type Verb = 'create' | 'delete' | 'deletecollection' | 'get' | 'list' | 'patch' | 'update' | 'watch';
export const allVerbs: Verb[] = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/** A column of a server-side Table (meta.k8s.io/v1 TableColumnDefinition). */
export interface TableColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format?: string; // e.g. 'name' for the NAME column
  description: string;
  /** 0: always shown; 1: only with -o wide */
  priority: number;
}

/** Renders rows of `kubectl get`: upstream's column set for the kind. */
export interface Printer {
  columns: TableColumn[];
  /** One cell per column, same order. `now` is ms since epoch (for AGE and durations). */
  cells(obj: KubeObject, now: number): unknown[];
}

export interface ScaleSubresource {
  /** JSON paths (dot form, e.g. 'spec.replicas') */
  specReplicasPath: string;
  statusReplicasPath: string;
  labelSelectorPath?: string;
}

/** How names are checked: DNS-1123 subdomain (most kinds), label (namespaces, services), or path segment (RBAC). */
export type NameValidation = 'subdomain' | 'label' | 'path';

export interface KindDefinition {
  /** '' for the core group */
  group: string;
  version: string;
  kind: string;
  /** plural, lowercase: 'pods' */
  resource: string;
  /** default: kind lowercased */
  singular?: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  /** default: allVerbs */
  verbs?: Verb[];
  nameValidation?: NameValidation;
  /** Has a /status subresource: writes to the main resource keep the old status, /status writes keep everything else. */
  statusSubresource?: boolean;
  scale?: ScaleSubresource;
  /** Other subresources the apiserver serves for this kind, e.g. ['binding', 'eviction', 'log'] for pods, ['finalize'] for namespaces. */
  subresources?: string[];
  /**
   * Storage: objects of this kind live under /registry/<storageResource>/[<ns>/]<name>.
   * Default: `resource`. Two definitions that share a storage resource (core/v1 and
   * events.k8s.io/v1 Events; autoscaling v1 and v2) convert to and from the stored form.
   */
  storageResource?: string;
  /** Convert an object of this definition's version to the stored form (apiVersion set accordingly). */
  toStorage?(obj: KubeObject): KubeObject;
  /** Convert a stored object to this definition's version. */
  fromStorage?(obj: KubeObject): KubeObject;
  /** Upstream defaulting; mutates in place. Runs on create and update, and on objects read from storage that lack defaults. */
  defaults?(obj: KubeObject): void;
  /** Upstream validation. `old` is set on update. Return [] when valid. */
  validate?(obj: KubeObject, old?: KubeObject): FieldError[];
  /** Strategy hook on create, after defaults and before validation (e.g. clear status, set initial phase). */
  prepareForCreate?(obj: KubeObject): void;
  /** Strategy hook on update (e.g. keep immutable fields). */
  prepareForUpdate?(obj: KubeObject, old: KubeObject): void;
  /** Field selectors beyond metadata.name and metadata.namespace (which always work). Value as a string, or undefined. */
  fieldSelectors?: Record<string, (obj: KubeObject) => string | undefined>;
  /** Set by the registry from src/api/printers. */
  printer?: Printer;
}

export function apiVersionOf(def: Pick<KindDefinition, 'group' | 'version'>): string {
  return def.group ? `${def.group}/${def.version}` : def.version;
}
