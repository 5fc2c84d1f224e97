// Kubernetes strategic merge patch (application/strategic-merge-patch+json),
// applied server side. Behaviour follows upstream's apimachinery strategicpatch
// (apply half only; kubectl computes patches itself):
//  - maps merge recursively, null deletes a key;
//  - lists whose field has x-kubernetes-patch-strategy "merge" merge: items with
//    a merge key are matched and merged, primitives are unioned; other lists replace;
//  - directives: `$patch: replace|delete` (in maps and list items),
//    `$deleteFromPrimitiveList/<f>`, `$setElementOrder/<f>`, `$retainKeys`.
// Patch metadata comes from OpenAPI-style definitions (the same facts upstream
// reads from Go struct tags). An unknown root definition (custom resources)
// falls back to JSON merge patch.
import { StatusError, errors } from '../errors.js';
import { applyMergePatch, cloneJson, isJsonObject, jsonEqual, type JsonObject } from './merge.js';

/** A JSON schema node as found in OpenAPI definitions. */
export interface SchemaNode {
  $ref?: string;
  allOf?: SchemaNode[];
  type?: string | string[];
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  additionalProperties?: SchemaNode | boolean;
  'x-kubernetes-patch-merge-key'?: string;
  'x-kubernetes-patch-strategy'?: string;
  [key: string]: unknown;
}

/** Definitions by upstream name (e.g. io.k8s.api.core.v1.Pod), as a map or a lookup function. */
export type SchemaLookup = Record<string, SchemaNode> | ((name: string) => SchemaNode | undefined);

const directiveMarker = '$patch';
const retainKeysDirective = '$retainKeys';
const deleteFromPrimitiveListPrefix = '$deleteFromPrimitiveList';
const setElementOrderPrefix = '$setElementOrder';

// Errors upstream maps to 400 (mergepatch sentinel errors).
const msgBadPrimitiveList = 'Invalid patch format of primitive list';
const msgBadRetainKeys = 'Invalid patch format of retainKeys';
const msgBadSetElementOrder = 'Invalid patch format of setElementOrder list';

function badRequest(msg: string): StatusError {
  return errors.badRequest(msg);
}
/** Upstream answers these with a generic 422 whose message hides the cause. */
function unprocessable(): StatusError {
  return new StatusError(422, 'Invalid', 'the server rejected our request due to an error in our request', {});
}
/** Errors upstream does not classify reach the client as 500 with the raw message. */
function unclassified(msg: string): StatusError {
  return new StatusError(500, 'InternalError', msg);
}

/** Go's %v rendering of decoded JSON, so error messages read like upstream's. */
export function goFormat(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goFormat).join(' ')}]`;
  if (isJsonObject(v)) {
    return `map[${Object.keys(v).sort().map((k) => `${k}:${goFormat(v[k])}`).join(' ')}]`;
  }
  return String(v);
}

// ---- schema navigation -------------------------------------------------------

interface Ctx {
  lookup: (name: string) => SchemaNode | undefined;
}

/** Type context of a value: a resolved schema, or undefined when nothing is known. */
type TypeCtx = SchemaNode | undefined;

interface FieldMeta {
  /** schema of the field's value (resolved through $ref) */
  type: TypeCtx;
  /** schema of list items (resolved) */
  items: TypeCtx;
  strategy: string; // '', 'merge' or 'replace'
  mergeKey: string;
}

function resolve(ctx: Ctx, node: SchemaNode | undefined, depth = 0): TypeCtx {
  if (!node || depth > 16) return node;
  const ref = node.$ref ?? (node.allOf && node.allOf.length === 1 ? node.allOf[0].$ref : undefined);
  if (typeof ref === 'string') {
    const name = ref.replace(/^#\/(definitions|components\/schemas)\//, '');
    return resolve(ctx, ctx.lookup(name), depth + 1);
  }
  return node;
}

function lookupField(ctx: Ctx, t: TypeCtx, key: string): FieldMeta {
  let node: SchemaNode | undefined;
  if (t?.properties && Object.prototype.hasOwnProperty.call(t.properties, key)) node = t.properties[key];
  else if (t && isJsonObject(t.additionalProperties)) node = t.additionalProperties as SchemaNode;
  if (!node) return { type: undefined, items: undefined, strategy: '', mergeKey: '' };
  const strategies = (node['x-kubernetes-patch-strategy'] ?? '').split(',').map((s) => s.trim()).filter((s) => s && s !== 'retainKeys');
  const type = resolve(ctx, node);
  return {
    type,
    items: resolve(ctx, type?.items ?? node.items),
    strategy: strategies[0] ?? '',
    mergeKey: node['x-kubernetes-patch-merge-key'] ?? '',
  };
}

// ---- helpers -----------------------------------------------------------------

type Kind = 'object' | 'array' | 'string' | 'number' | 'boolean' | 'null';
function kindOf(v: unknown): Kind {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return 'object';
  return typeof v as Kind;
}

/** Kind shared by all elements of the lists (upstream refuses mixed lists and lists of lists). */
function sliceElementKind(...lists: unknown[][]): Kind | undefined {
  let prev: Kind | undefined;
  for (const l of lists) {
    for (const v of l) {
      const k = kindOf(v);
      if (prev === undefined) {
        prev = k;
        if (k === 'array') throw unprocessable(); // ErrNoListOfLists
      } else if (prev !== k) {
        throw unclassified(`list element types are not identical: ${goFormat(lists)}`);
      }
    }
  }
  return prev;
}

function noMergeKey(m: JsonObject, key: string): StatusError {
  return unclassified(`map: ${goFormat(m)} does not contain declared merge key: ${key}`);
}

function badPatchType(t: unknown, m: JsonObject): StatusError {
  return unclassified(`unknown patch type: ${goFormat(t)} in map: ${goFormat(m)}`);
}

function scalarEq(a: unknown, b: unknown): boolean {
  return a === b || (typeof a === 'object' && typeof b === 'object' && jsonEqual(a, b));
}

function findByMergeKey(list: unknown[], key: string, value: unknown): number {
  for (let i = 0; i < list.length; i++) {
    const v = list[i];
    if (!isJsonObject(v)) throw unclassified(`value for key ${i} is not a map.`);
    if (Object.prototype.hasOwnProperty.call(v, key) && scalarEq(v[key], value)) return i;
  }
  return -1;
}

function extractKey(key: string, prefix: string): string {
  const slash = key.indexOf('/');
  if (slash < 0 || key.slice(0, slash) !== prefix) {
    if (prefix === deleteFromPrimitiveListPrefix) throw badRequest(msgBadPrimitiveList);
    if (prefix === setElementOrderPrefix) throw badRequest(msgBadSetElementOrder);
    throw unclassified(`fail to find unknown prefix "${prefix}" in ${key}`);
  }
  return key.slice(slash + 1);
}

// ---- merging -----------------------------------------------------------------

/**
 * A patch value for a field absent from the original: taken as is, except that
 * directives are resolved (upstream drops them when decoding into typed objects).
 */
function fresh(ctx: Ctx, pv: unknown, meta: FieldMeta): unknown {
  if (isJsonObject(pv)) return mergeMap(ctx, undefined, pv, meta.type);
  if (Array.isArray(pv)) {
    if (meta.strategy === 'merge' && pv.some((x) => isJsonObject(x))) {
      const out: unknown[] = [];
      for (const item of pv) {
        if (!isJsonObject(item)) {
          out.push(cloneJson(item));
          continue;
        }
        if (Object.prototype.hasOwnProperty.call(item, directiveMarker)) {
          const d = item[directiveMarker];
          // On an absent list, a deletion has nothing to remove and a replace keeps the other items.
          if (d === 'delete' || d === 'replace') continue;
          if (d === 'merge') throw unclassified('merging lists cannot yet be specified in the patch');
          throw badPatchType(d, item);
        }
        out.push(mergeMap(ctx, undefined, item, meta.items));
      }
      return out;
    }
    return cloneJson(pv);
  }
  return pv;
}

function mergeMap(ctx: Ctx, original: JsonObject | undefined, patchIn: JsonObject, t: TypeCtx): JsonObject {
  if (Object.prototype.hasOwnProperty.call(patchIn, directiveMarker)) {
    const d = patchIn[directiveMarker];
    if (d === 'replace') {
      const rest: JsonObject = { ...patchIn };
      delete rest[directiveMarker];
      return mergeMap(ctx, undefined, rest, t);
    }
    if (d === 'delete') return {};
    throw badPatchType(d, patchIn);
  }

  const out: JsonObject = original ? { ...original } : {};
  const patch: JsonObject = { ...patchIn }; // keys are removed as directives are consumed

  applyRetainKeys(out, patch);
  applySetElementOrder(ctx, out, patch, t);

  for (const [pk, pv] of Object.entries(patch)) {
    let k = pk;
    let isDeleteList = false;
    if (pk.startsWith(deleteFromPrimitiveListPrefix)) {
      k = extractKey(pk, deleteFromPrimitiveListPrefix);
      isDeleteList = true;
    }

    if (pv === null) {
      delete out[k];
      continue;
    }
    const has = Object.prototype.hasOwnProperty.call(out, k);
    if (!has) {
      // Nothing to delete from. (Upstream would store the deletion list as the field's value.)
      if (isDeleteList) continue;
      out[k] = fresh(ctx, pv, lookupField(ctx, t, k));
      continue;
    }
    const ov = out[k];
    const meta = lookupField(ctx, t, k);
    const ok = kindOf(ov);
    if (ok !== kindOf(pv)) {
      out[k] = fresh(ctx, pv, meta);
      continue;
    }
    if (ok === 'object') {
      out[k] = meta.strategy === 'replace'
        ? mergeMap(ctx, undefined, pv as JsonObject, meta.type)
        : mergeMap(ctx, ov as JsonObject, pv as JsonObject, meta.type);
    } else if (ok === 'array') {
      out[k] = mergeSliceHandler(ctx, ov as unknown[], pv as unknown[], meta, isDeleteList);
    } else {
      out[k] = pv;
    }
  }
  return out;
}

function applyRetainKeys(out: JsonObject, patch: JsonObject): void {
  if (!Object.prototype.hasOwnProperty.call(patch, retainKeysDirective)) return;
  const list = patch[retainKeysDirective];
  delete patch[retainKeysDirective];
  if (!Array.isArray(list)) throw badRequest(msgBadRetainKeys);
  const keep = new Set<unknown>(list);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith(deleteFromPrimitiveListPrefix) || k.startsWith(setElementOrderPrefix)) continue;
    if (!keep.has(k)) throw badRequest(msgBadRetainKeys);
  }
  for (const k of Object.keys(out)) if (!keep.has(k)) delete out[k];
}

function mergeSliceHandler(ctx: Ctx, original: unknown[], patch: unknown[], meta: FieldMeta, isDeleteList: boolean): unknown[] {
  if (meta.strategy === 'merge') return mergeSlice(ctx, original, patch, meta.items, meta.mergeKey, isDeleteList);
  // A deletion list on a list without merge strategy still means "remove these" (upstream would
  // store the deletion list itself).
  if (isDeleteList) return original.filter((v) => !patch.some((d) => scalarEq(d, v)));
  return fresh(ctx, patch, meta) as unknown[];
}

function mergeSlice(ctx: Ctx, originalIn: unknown[], patchIn: unknown[], elemType: TypeCtx, mergeKey: string, isDeleteList: boolean): unknown[] {
  if (originalIn.length === 0 && patchIn.length === 0) return [];
  const kind = sliceElementKind(originalIn, patchIn)!;
  let original = originalIn;
  let patch = patchIn;
  let merged: unknown[];

  if (kind !== 'object') {
    if (isDeleteList) return original.filter((v) => !patch.some((d) => scalarEq(d, v)));
    merged = [];
    for (const v of [...original, ...patch]) if (!merged.some((m) => scalarEq(m, v))) merged.push(v);
  } else {
    if (!mergeKey) throw unclassified('cannot merge lists without merge key for type struct');
    [original, patch] = mergeSliceWithSpecialElements(original, patch, mergeKey);
    merged = mergeSliceWithoutSpecialElements(ctx, original, patch, mergeKey, elemType);
  }

  const [patchItems, serverOnly] = partition(merged, patch, kind === 'object' ? mergeKey : '');
  return normalizeElementOrder(patchItems, serverOnly, patch, original, kind === 'object' ? mergeKey : '');
}

/** Resolves `$patch` items: deletions remove matching originals, `replace` drops the originals. */
function mergeSliceWithSpecialElements(original: unknown[], patch: unknown[], mergeKey: string): [unknown[], unknown[]] {
  const plain: unknown[] = [];
  let replace = false;
  let orig = original;
  for (const v of patch) {
    const item = v as JsonObject;
    if (!Object.prototype.hasOwnProperty.call(item, directiveMarker)) {
      plain.push(v);
      continue;
    }
    const d = item[directiveMarker];
    if (d === 'delete') {
      if (!Object.prototype.hasOwnProperty.call(item, mergeKey)) throw noMergeKey(item, mergeKey);
      const mv = item[mergeKey];
      orig = orig.filter((o) => {
        if (!isJsonObject(o)) throw unclassified('value for key 0 is not a map.');
        return !(Object.prototype.hasOwnProperty.call(o, mergeKey) && scalarEq(o[mergeKey], mv));
      });
    } else if (d === 'replace') {
      replace = true;
    } else if (d === 'merge') {
      throw unclassified('merging lists cannot yet be specified in the patch');
    } else {
      throw badPatchType(d, item);
    }
  }
  if (replace) return [plain, []];
  return [orig, plain];
}

function mergeSliceWithoutSpecialElements(ctx: Ctx, original: unknown[], patch: unknown[], mergeKey: string, elemType: TypeCtx): unknown[] {
  const out = [...original];
  for (const v of patch) {
    const item = v as JsonObject;
    if (!Object.prototype.hasOwnProperty.call(item, mergeKey)) throw noMergeKey(item, mergeKey);
    const i = findByMergeKey(out, mergeKey, item[mergeKey]);
    if (i >= 0) out[i] = mergeMap(ctx, out[i] as JsonObject, item, elemType);
    else out.push(mergeMap(ctx, undefined, item, elemType));
  }
  return out;
}

function keyOf(item: unknown, mergeKey: string): unknown {
  return mergeKey ? (isJsonObject(item) ? item[mergeKey] : undefined) : item;
}

function indexIn(list: unknown[], item: unknown, mergeKey: string): number {
  const want = keyOf(item, mergeKey);
  for (let i = 0; i < list.length; i++) if (scalarEq(keyOf(list[i], mergeKey), want)) return i;
  return -1;
}

/** Splits merged items into those named by `by` (the patch or $setElementOrder) and server-only ones. */
function partition(merged: unknown[], by: unknown[], mergeKey: string): [unknown[], unknown[]] {
  const inPatch: unknown[] = [];
  const serverOnly: unknown[] = [];
  for (const v of merged) {
    if (mergeKey) {
      if (!isJsonObject(v)) throw unclassified(`expected a map, but received a ${kindOf(v)}`);
      if (!Object.prototype.hasOwnProperty.call(v, mergeKey)) throw noMergeKey(v, mergeKey);
      const found = by.some((b) => isJsonObject(b) && Object.prototype.hasOwnProperty.call(b, mergeKey) && scalarEq(b[mergeKey], v[mergeKey]));
      (found ? inPatch : serverOnly).push(v);
    } else {
      (by.some((b) => scalarEq(b, v)) ? inPatch : serverOnly).push(v);
    }
  }
  return [inPatch, serverOnly];
}

function normalizeSliceOrder(toSortIn: unknown[], order: unknown[], mergeKey: string): unknown[] {
  let toSort = toSortIn;
  let toDelete: unknown[] = [];
  if (mergeKey) {
    for (const l of [toSortIn, order]) {
      for (const item of l) {
        if (!isJsonObject(item)) throw unclassified(`expected a map, but received a ${kindOf(item)}`);
        if (!Object.prototype.hasOwnProperty.call(item, mergeKey)) throw noMergeKey(item, mergeKey);
      }
    }
    toSort = toSortIn.filter((v) => (v as JsonObject)[directiveMarker] !== 'delete');
    toDelete = toSortIn.filter((v) => (v as JsonObject)[directiveMarker] === 'delete');
  }
  // Stable sort by position in `order`; items it does not name keep their relative order, last.
  const keyed = toSort.map((v, i) => ({ v, i, at: indexIn(order, v, mergeKey) }));
  keyed.sort((a, b) => {
    const ax = a.at < 0 ? Number.MAX_SAFE_INTEGER : a.at;
    const bx = b.at < 0 ? Number.MAX_SAFE_INTEGER : b.at;
    return ax - bx || a.i - b.i;
  });
  return [...keyed.map((x) => x.v), ...toDelete];
}

/**
 * Orders patch items by the patch (or $setElementOrder), server-only items by the
 * live list, then interleaves them: a server-only item goes first only when the
 * live list puts it before the patch item being compared (so new items lead).
 */
function normalizeElementOrder(patchItems: unknown[], serverOnly: unknown[], patchOrder: unknown[], serverOrder: unknown[], mergeKey: string): unknown[] {
  const right = normalizeSliceOrder(patchItems, patchOrder, mergeKey);
  const left = normalizeSliceOrder(serverOnly, serverOrder, mergeKey);
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]);
    else if (j >= right.length) out.push(left[i++]);
    else {
      const li = indexIn(serverOrder, left[i], mergeKey);
      const ri = indexIn(serverOrder, right[j], mergeKey);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}

/** Checks that the patch list's items appear in the same relative order as in $setElementOrder. */
function validatePatchWithSetOrderList(patchList: unknown[], setOrder: unknown[], mergeKey: string): void {
  if (setOrder.length === 0 || patchList.length === 0) return;
  let nonDelete = patchList;
  if (mergeKey) {
    for (const v of patchList) if (!isJsonObject(v)) throw unclassified(`expected a map, but received a ${kindOf(v)}`);
    nonDelete = patchList.filter((v) => (v as JsonObject)[directiveMarker] !== 'delete');
  }
  let pi = 0;
  let si = 0;
  while (pi < nonDelete.length && si < setOrder.length) {
    const p = nonDelete[pi];
    if (isJsonObject(p) && Object.prototype.hasOwnProperty.call(p, directiveMarker)) {
      pi++;
      continue;
    }
    let equal: boolean;
    if (!mergeKey) equal = scalarEq(p, setOrder[si]);
    else {
      const s = setOrder[si];
      if (!isJsonObject(p) || !isJsonObject(s)) throw unclassified(`expected a map, but received a ${kindOf(isJsonObject(p) ? s : p)}`);
      if (!Object.prototype.hasOwnProperty.call(p, mergeKey)) throw noMergeKey(p, mergeKey);
      if (!Object.prototype.hasOwnProperty.call(s, mergeKey)) throw noMergeKey(s, mergeKey);
      equal = scalarEq(p[mergeKey], s[mergeKey]);
    }
    if (equal) pi++;
    si++;
  }
  if (pi < nonDelete.length && si >= setOrder.length) {
    throw unclassified(`The order in patch list:\n${goFormat(patchList)}\n doesn't match ${setElementOrderPrefix} list:\n${goFormat(setOrder)}\n`);
  }
}

/** Handles every `$setElementOrder/<field>` of this map together with the field's patch list. */
function applySetElementOrder(ctx: Ctx, out: JsonObject, patch: JsonObject, t: TypeCtx): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(setElementOrderPrefix)) continue;
    const order = patch[key];
    delete patch[key];
    if (!Array.isArray(order)) throw badRequest(msgBadSetElementOrder);
    const field = extractKey(key, setElementOrderPrefix);
    const hasOrig = Object.prototype.hasOwnProperty.call(out, field) && out[field] !== null;
    const hasPatch = Object.prototype.hasOwnProperty.call(patch, field) && patch[field] !== null;
    const origList = hasOrig ? out[field] : [];
    const patchList = hasPatch ? patch[field] : [];
    if (!Array.isArray(origList)) throw unclassified(`expected a slice, but received a ${kindOf(origList)}`);
    if (!Array.isArray(patchList)) throw unclassified(`expected a slice, but received a ${kindOf(patchList)}`);
    const meta = lookupField(ctx, t, field);
    validatePatchWithSetOrderList(patchList, order, meta.mergeKey);

    let merged: unknown[];
    if (hasOrig && !hasPatch) merged = origList;
    else if (!hasOrig && hasPatch) merged = fresh(ctx, patchList, meta) as unknown[];
    else if (hasOrig && hasPatch) merged = mergeSliceHandler(ctx, origList, patchList, meta, false);
    else continue;

    const kind = sliceElementKind(origList, patchList);
    const mergeKey = kind === 'object' ? meta.mergeKey : '';
    if (kind === 'object' && !mergeKey) {
      // No merge key to order by: keep the merged list as is.
      out[field] = merged;
    } else {
      const [patchItems, serverOnly] = partition(merged, order, mergeKey);
      out[field] = normalizeElementOrder(patchItems, serverOnly, order, origList, mergeKey);
    }
    delete patch[field];
  }
}

// ---- entry point -------------------------------------------------------------

function toLookup(schema: SchemaLookup): (name: string) => SchemaNode | undefined {
  if (typeof schema === 'function') return schema;
  return (name) => (Object.prototype.hasOwnProperty.call(schema, name) ? schema[name] : undefined);
}

/** True when strategic merge patch has patch metadata for this definition. */
export function hasDefinition(schema: SchemaLookup, rootDefinition: string): boolean {
  return toLookup(schema)(rootDefinition) !== undefined;
}

/**
 * Apply a strategic merge patch to `original` (not mutated) and return the result.
 * Throws StatusError with upstream's code for malformed directives.
 */
export function applyStrategicMergePatch(original: object, patch: object, schema: SchemaLookup, rootDefinition: string): JsonObject {
  if (!isJsonObject(patch)) throw badRequest('json: cannot unmarshal array into Go value of type map[string]interface {}');
  const ctx: Ctx = { lookup: toLookup(schema) };
  const root = resolve(ctx, ctx.lookup(rootDefinition));
  const orig = isJsonObject(original) ? cloneJson(original) : {};
  if (!root) return applyMergePatch(orig, patch) as JsonObject;
  return mergeMap(ctx, orig, patch, root);
}
