// PATCH bodies: picks the patch mechanism from the Content-Type and applies it
// to a copy of the current object. Errors are StatusErrors with upstream's codes.
import { StatusError, errors } from '../errors.js';
import { applyJsonPatch, decodeJsonPatch } from './json.js';
import { applyMergePatch, isJsonObject } from './merge.js';
import { applyStrategicMergePatch, hasDefinition, type SchemaLookup } from './strategic.js';

export { applyJsonPatch, decodeJsonPatch, JsonPatchApplyError, maxJSONPatchOperations, type JsonPatchOperation } from './json.js';
export { applyMergePatch, cloneJson, jsonEqual, isJsonObject, type JsonObject } from './merge.js';
export { applyStrategicMergePatch, hasDefinition, goFormat, type SchemaLookup, type SchemaNode } from './strategic.js';

export const JSON_PATCH = 'application/json-patch+json';
export const MERGE_PATCH = 'application/merge-patch+json';
export const STRATEGIC_MERGE_PATCH = 'application/strategic-merge-patch+json';
export const APPLY_PATCH = 'application/apply-patch+yaml';

/** Patch types handled here, in upstream's order (server-side apply is handled elsewhere). */
export const patchTypes = [JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH];

/** 415 as upstream's negotiation.NewUnsupportedMediaTypeError(accepted). */
export function unsupportedPatchType(accepted: string[] = patchTypes): StatusError {
  return new StatusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`);
}

/** The media type without parameters ("; charset=utf-8"), lower-cased. */
export function patchMediaType(contentType: string | undefined): string {
  const ct = contentType ?? '';
  const i = ct.indexOf(';');
  return (i > 0 ? ct.slice(0, i) : ct).trim().toLowerCase();
}

/** Go's encoding/json error text for a body JSON.parse rejected (best effort). */
export function goJsonError(body: string, e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  if (/end of (JSON )?input|Unterminated/i.test(msg) || body.trim() === '') return 'unexpected end of JSON input';
  const m = /position (\d+)/.exec(msg);
  if (m) {
    const pos = Number(m[1]);
    const c = body[pos] ?? '';
    if (/non-whitespace character after JSON/i.test(msg)) return `invalid character '${c}' after top-level value`;
    if (/property name/i.test(msg)) return `invalid character '${c}' looking for beginning of object key string`;
    return `invalid character '${c}' looking for beginning of value`;
  }
  const t = /Unexpected token '?(.)'?/.exec(msg);
  if (t) return `invalid character '${t[1]}' looking for beginning of value`;
  return msg;
}

function parseBody(body: Buffer | string | unknown): { ok: true; value: unknown } | { ok: false; error: string } {
  if (typeof body !== 'string' && !Buffer.isBuffer(body)) return { ok: true, value: body };
  const text = typeof body === 'string' ? body : body.toString('utf8');
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return { ok: false, error: goJsonError(text, e) };
  }
}

function goTypeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return 'object';
  return typeof v;
}

export interface ApplyPatchOptions {
  /**
   * Strategic merge patch on a kind without a schema definition (custom resources):
   * 'merge' (default) applies it as a JSON merge patch; 'reject' answers 415 as upstream does.
   */
  strategicForUnknown?: 'merge' | 'reject';
}

/**
 * Apply a PATCH body to `original` (not mutated). `schema` and `rootDefinition`
 * (e.g. "io.k8s.api.apps.v1.Deployment") give the strategic merge metadata.
 */
export function applyPatch(contentType: string, original: object, patchBody: Buffer | string, schema: SchemaLookup, rootDefinition: string, options: ApplyPatchOptions = {}): object {
  const type = patchMediaType(contentType);
  switch (type) {
    case JSON_PATCH: {
      const parsed = parseBody(patchBody);
      if (!parsed.ok) throw errors.badRequest(parsed.error);
      return applyJsonPatch(original, decodeJsonPatch(parsed.value)) as object;
    }
    case MERGE_PATCH: {
      const parsed = parseBody(patchBody);
      if (!parsed.ok) throw errors.badRequest('Invalid JSON Patch');
      if (!isJsonObject(parsed.value)) {
        if (parsed.value === null) return applyMergePatch(original, {}) as object;
        throw errors.badRequest(`json: cannot unmarshal ${goTypeName(parsed.value)} into Go value of type map[string]interface {}`);
      }
      return applyMergePatch(original, parsed.value) as object;
    }
    case STRATEGIC_MERGE_PATCH: {
      const parsed = parseBody(patchBody);
      if (!parsed.ok) throw errors.badRequest(parsed.error);
      let patch = parsed.value;
      if (patch === null) patch = {};
      if (!isJsonObject(patch)) throw errors.badRequest(`json: cannot unmarshal ${goTypeName(patch)} into Go value of type map[string]interface {}`);
      if (!hasDefinition(schema, rootDefinition) && options.strategicForUnknown === 'reject') {
        throw unsupportedPatchType([JSON_PATCH, MERGE_PATCH, APPLY_PATCH]);
      }
      return applyStrategicMergePatch(original, patch, schema, rootDefinition);
    }
    default:
      throw unsupportedPatchType();
  }
}
