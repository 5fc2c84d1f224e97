// RFC 7386 JSON merge patch: objects merge recursively, null deletes a key,
// everything else (arrays included) replaces. Pure: inputs are never mutated.

export type JsonObject = { [key: string]: unknown };

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep copy of plain JSON data. */
export function cloneJson<T>(v: T): T {
  if (Array.isArray(v)) return v.map((x) => cloneJson(x)) as T;
  if (isJsonObject(v)) {
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) out[k] = cloneJson(x);
    return out as T;
  }
  return v;
}

/** Structural equality of JSON values (key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (isJsonObject(a)) {
    if (!isJsonObject(b)) return false;
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    for (const k of ka) if (!Object.prototype.hasOwnProperty.call(b, k) || !jsonEqual(a[k], b[k])) return false;
    return true;
  }
  return false;
}

/**
 * Apply a merge patch. A non-object patch replaces the document; an object patch
 * applied to a non-object starts from {} (as RFC 7386 says).
 */
export function applyMergePatch(original: unknown, patch: unknown): unknown {
  if (!isJsonObject(patch)) return cloneJson(patch);
  const out: JsonObject = isJsonObject(original) ? { ...original } : {};
  for (const [k, pv] of Object.entries(patch)) {
    if (pv === null) {
      delete out[k];
    } else {
      out[k] = applyMergePatch(out[k], pv);
    }
  }
  // Values copied from `original` by the spread are shared; copy them so callers may mutate the result.
  for (const k of Object.keys(out)) if (!Object.prototype.hasOwnProperty.call(patch, k)) out[k] = cloneJson(out[k]);
  return out;
}
