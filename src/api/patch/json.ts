// RFC 6902 JSON Patch (application/json-patch+json), applied to a copy.
// Like upstream's apiserver: a body that is not a list of operations is a 400,
// more than 10000 operations a 413, and any operation that fails (bad path,
// failed `test`, unknown op) a 422 whose message hides the cause.
import { StatusError, errors } from '../errors.js';
import { cloneJson, isJsonObject, jsonEqual, type JsonObject } from './merge.js';

export const maxJSONPatchOperations = 10000;

export interface JsonPatchOperation {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

/** Why an operation could not be applied (kept for logs and tests; the client sees a generic 422). */
export class JsonPatchApplyError extends StatusError {
  constructor(public readonly detail: string) {
    super(422, 'Invalid', 'the server rejected our request due to an error in our request', {});
  }
}

function fail(detail: string): never {
  throw new JsonPatchApplyError(detail);
}

/** Checks the shape of a decoded body: it must be an array of objects. */
export function decodeJsonPatch(body: unknown): JsonPatchOperation[] {
  if (body === null) return []; // Go decodes null into an empty patch
  if (!Array.isArray(body)) {
    const got = isJsonObject(body) ? 'object' : typeof body;
    throw errors.badRequest(`json: cannot unmarshal ${got} into Go value of type jsonpatch.Patch`);
  }
  for (const op of body) {
    if (!isJsonObject(op)) {
      const got = Array.isArray(op) ? 'array' : typeof op;
      throw errors.badRequest(`json: cannot unmarshal ${got} into Go value of type jsonpatch.Operation`);
    }
  }
  if (body.length > maxJSONPatchOperations) {
    throw errors.tooLarge(`Request entity too large: The allowed maximum operations in a JSON patch is ${maxJSONPatchOperations}, got ${body.length}`);
  }
  return body as unknown as JsonPatchOperation[];
}

function parsePointer(path: unknown, op: string): string[] {
  if (typeof path !== 'string') fail(`${op} operation does not apply: missing path`);
  // Upstream needs at least one token: the whole document cannot be addressed.
  if (!path.startsWith('/')) fail(`${op} operation does not apply: doc is missing path: "${path}"`);
  return path.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

type Container = JsonObject | unknown[];

/** Walks to the parent of the last token. */
function parentOf(doc: unknown, tokens: string[], op: string, path: string): Container {
  let cur: unknown = doc;
  for (let i = 0; i < tokens.length - 1; i++) {
    const t = tokens[i];
    if (Array.isArray(cur)) {
      const idx = arrayIndex(t, cur.length, false);
      if (idx === undefined) fail(`${op} operation does not apply: doc is missing path: "${path}"`);
      cur = cur[idx];
    } else if (isJsonObject(cur) && Object.prototype.hasOwnProperty.call(cur, t)) {
      cur = cur[t];
    } else {
      fail(`${op} operation does not apply: doc is missing path: "${path}"`);
    }
  }
  if (!Array.isArray(cur) && !isJsonObject(cur)) fail(`${op} operation does not apply: doc is missing path: "${path}"`);
  return cur;
}

/** Parses an array index; negative indices count from the end (as upstream allows). */
function arrayIndex(t: string, len: number, forInsert: boolean): number | undefined {
  if (!/^-?[0-9]+$/.test(t)) return undefined;
  let i = Number(t);
  if (i < 0) i += len;
  const max = forInsert ? len : len - 1;
  if (i < 0 || i > max) return undefined;
  return i;
}

function getAt(doc: unknown, tokens: string[], op: string, path: string): unknown {
  const parent = parentOf(doc, tokens, op, path);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) {
    const i = arrayIndex(last, parent.length, false);
    if (i === undefined) return undefined;
    return parent[i];
  }
  return Object.prototype.hasOwnProperty.call(parent, last) ? parent[last] : undefined;
}

function add(doc: unknown, tokens: string[], value: unknown, path: string, op = 'add'): void {
  const parent = parentOf(doc, tokens, op, path);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) {
    if (last === '-') {
      parent.push(value);
      return;
    }
    const i = arrayIndex(last, parent.length, true);
    if (i === undefined) fail(`Unable to access invalid index: ${last}`);
    parent.splice(i, 0, value);
  } else {
    parent[last] = value;
  }
}

function remove(doc: unknown, tokens: string[], path: string, op = 'remove'): unknown {
  const parent = parentOf(doc, tokens, op, path);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) {
    const i = arrayIndex(last, parent.length, false);
    if (i === undefined) fail(`Unable to access invalid index: ${last}`);
    return parent.splice(i, 1)[0];
  }
  if (!Object.prototype.hasOwnProperty.call(parent, last)) fail(`${op} operation does not apply: doc is missing key: ${path}`);
  const v = parent[last];
  delete parent[last];
  return v;
}

function replace(doc: unknown, tokens: string[], value: unknown, path: string): void {
  const parent = parentOf(doc, tokens, 'replace', path);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) {
    const i = arrayIndex(last, parent.length, false);
    if (i === undefined) fail(`replace operation does not apply: doc is missing key: ${path}`);
    parent[i] = value;
  } else {
    if (!Object.prototype.hasOwnProperty.call(parent, last)) fail(`replace operation does not apply: doc is missing key: ${path}`);
    parent[last] = value;
  }
}

function requireValue(op: JsonPatchOperation): unknown {
  if (!Object.prototype.hasOwnProperty.call(op, 'value')) fail(`${op.op} operation does not apply: missing value`);
  return cloneJson(op.value);
}

/** Apply operations in order to a copy of `original`. */
export function applyJsonPatch(original: unknown, ops: JsonPatchOperation[]): unknown {
  const doc = cloneJson(original);
  for (const op of ops) {
    const kind = op.op;
    switch (kind) {
      case 'add':
        add(doc, parsePointer(op.path, kind), requireValue(op), op.path);
        break;
      case 'remove':
        remove(doc, parsePointer(op.path, kind), op.path);
        break;
      case 'replace':
        replace(doc, parsePointer(op.path, kind), requireValue(op), op.path);
        break;
      case 'move': {
        const from = parsePointer(op.from, kind);
        const to = parsePointer(op.path, kind);
        const v = remove(doc, from, String(op.from), kind);
        add(doc, to, v, op.path, kind);
        break;
      }
      case 'copy': {
        const from = parsePointer(op.from, kind);
        const to = parsePointer(op.path, kind);
        const v = getAt(doc, from, kind, String(op.from));
        if (v === undefined) fail(`copy operation does not apply: doc is missing from path: ${op.from}`);
        add(doc, to, cloneJson(v), op.path, kind);
        break;
      }
      case 'test': {
        const tokens = parsePointer(op.path, kind);
        const v = getAt(doc, tokens, kind, op.path);
        const want = Object.prototype.hasOwnProperty.call(op, 'value') ? op.value : null;
        if (v === undefined ? want !== null : !jsonEqual(v, want)) fail(`testing value ${op.path} failed: test failed`);
        break;
      }
      default:
        fail(`Unexpected kind: ${String(kind)}`);
    }
  }
  return doc;
}
