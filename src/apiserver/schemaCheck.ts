// Unknown-field detection and pruning against the OpenAPI definitions, for
// fieldValidation=Strict|Warn (and because upstream's decoder drops unknown fields).
import { loadDefinitions } from '../api/openapi/build.js';
import type { KindDefinition, KubeObject } from '../api/kind.js';

type Schema = {
  $ref?: string;
  type?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string }[];
  [k: string]: unknown;
};

/** The generated definitions (src/api/openapi/definitions.json), loaded once. */
export function definitions(): Record<string, Schema> {
  return loadDefinitions() as Record<string, Schema>;
}

export class SchemaChecker {
  private readonly byGvk = new Map<string, string>();

  constructor(private readonly defs: Record<string, Schema> = definitions()) {
    for (const [name, s] of Object.entries(defs)) {
      for (const g of s['x-kubernetes-group-version-kind'] ?? []) this.byGvk.set(`${g.group}/${g.version}/${g.kind}`, name);
    }
  }

  definitionName(def: Pick<KindDefinition, 'group' | 'version' | 'kind'>): string | undefined {
    return this.byGvk.get(`${def.group}/${def.version}/${def.kind}`);
  }

  private resolve(s: Schema | undefined): Schema | undefined {
    let cur = s;
    for (let i = 0; cur?.$ref && i < 10; i++) cur = this.defs[cur.$ref.replace('#/definitions/', '')];
    return cur;
  }

  /** Remove fields the schema does not know; return their paths (upstream style: spec.containers[0].foo). */
  pruneUnknown(def: KindDefinition, obj: KubeObject): string[] {
    const name = this.definitionName(def);
    if (!name) return [];
    const out: string[] = [];
    this.walk(obj, this.defs[name], '', out, 0);
    return out;
  }

  private walk(value: unknown, schema: Schema | undefined, path: string, out: string[], depth: number): void {
    const s = this.resolve(schema);
    if (!s || depth > 64 || value === null || typeof value !== 'object') return;
    if (s['x-kubernetes-preserve-unknown-fields']) return;
    if (Array.isArray(value)) {
      if (s.items) value.forEach((v, i) => this.walk(v, s.items, `${path}[${i}]`, out, depth + 1));
      return;
    }
    const rec = value as Record<string, unknown>;
    if (s.properties) {
      for (const key of Object.keys(rec)) {
        const ps = s.properties[key];
        const p = path ? `${path}.${key}` : key;
        if (!ps) {
          if (s.additionalProperties && typeof s.additionalProperties === 'object') {
            this.walk(rec[key], s.additionalProperties, p, out, depth + 1);
            continue;
          }
          if (s.additionalProperties === true) continue;
          out.push(p);
          delete rec[key];
          continue;
        }
        this.walk(rec[key], ps, p, out, depth + 1);
      }
    } else if (s.additionalProperties && typeof s.additionalProperties === 'object') {
      for (const key of Object.keys(rec)) this.walk(rec[key], s.additionalProperties, path ? `${path}.${key}` : key, out, depth + 1);
    }
  }
}
