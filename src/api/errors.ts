// One error type for everything that crosses the API: it carries the upstream
// Status reason and HTTP code, so handlers throw and the server renders.
import type { Status, StatusCause } from 'kubernetes-types/meta/v1.js';

export type StatusReason =
  | 'NotFound' | 'AlreadyExists' | 'Conflict' | 'Invalid' | 'Forbidden' | 'Unauthorized'
  | 'BadRequest' | 'Gone' | 'Expired' | 'RequestEntityTooLarge' | 'TooManyRequests'
  | 'MethodNotAllowed' | 'UnsupportedMediaType' | 'NotAcceptable' | 'InternalError'
  | 'Timeout' | 'ServiceUnavailable' | 'ServerTimeout';

export interface FieldError {
  /** upstream cause type: FieldValueRequired, FieldValueInvalid, FieldValueNotSupported, FieldValueDuplicate, FieldValueForbidden, FieldValueTooLong, FieldValueTypeInvalid */
  type: string;
  field: string;
  message: string;
}

export interface ResourceRef { group?: string; kind?: string; name?: string }

export class StatusError extends Error {
  constructor(
    public readonly code: number,
    public readonly reason: StatusReason,
    message: string,
    public readonly details?: Status['details'],
  ) {
    super(message);
  }

  toStatus(): Status {
    const s: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, reason: this.reason, code: this.code };
    if (this.details) s.details = this.details;
    return s;
  }
}

/** "pods", "deployments.apps": how upstream names a resource in messages */
export function qualifiedResource(resource: string, group?: string): string {
  return group ? `${resource}.${group}` : resource;
}

function details(name: string | undefined, resource: string, group?: string, causes?: StatusCause[]): Status['details'] {
  const d: NonNullable<Status['details']> = { kind: resource };
  if (name !== undefined) d.name = name;
  if (group) d.group = group;
  if (causes) d.causes = causes;
  return d;
}

export const errors = {
  notFound(resource: string, name: string, group?: string) {
    return new StatusError(404, 'NotFound', `${qualifiedResource(resource, group)} "${name}" not found`, details(name, resource, group));
  },
  alreadyExists(resource: string, name: string, group?: string) {
    return new StatusError(409, 'AlreadyExists', `${qualifiedResource(resource, group)} "${name}" already exists`, details(name, resource, group));
  },
  conflict(resource: string, name: string, group: string | undefined, why: string) {
    return new StatusError(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(resource, group)} "${name}": ${why}`, details(name, resource, group));
  },
  invalid(kind: string, name: string, group: string | undefined, causes: FieldError[]) {
    const list = causes.map((c) => `${c.field}: ${c.message}`);
    const msg = `${kind}${group ? '.' + group : ''} "${name}" is invalid: ` + (list.length === 1 ? list[0] : `[${list.join(', ')}]`);
    return new StatusError(422, 'Invalid', msg, {
      name, kind, ...(group ? { group } : {}),
      causes: causes.map((c) => ({ reason: c.type, message: c.message, field: c.field })),
    });
  },
  forbidden(message: string, resource?: string, name?: string, group?: string) {
    return new StatusError(403, 'Forbidden', message, resource ? details(name, resource, group) : undefined);
  },
  unauthorized(message = 'Unauthorized') {
    return new StatusError(401, 'Unauthorized', message);
  },
  badRequest(message: string) {
    return new StatusError(400, 'BadRequest', message);
  },
  gone(message: string) {
    return new StatusError(410, 'Expired', message);
  },
  tooLarge(message = 'Request entity too large: limit is 3145728') {
    return new StatusError(413, 'RequestEntityTooLarge', message);
  },
  tooManyRequests(message: string) {
    return new StatusError(429, 'TooManyRequests', message);
  },
  methodNotAllowed(message: string) {
    return new StatusError(405, 'MethodNotAllowed', message);
  },
  unsupportedMediaType(contentType: string) {
    return new StatusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got ${JSON.stringify(contentType)})`);
  },
  notAcceptable(message: string) {
    return new StatusError(406, 'NotAcceptable', message);
  },
  internal(message: string) {
    return new StatusError(500, 'InternalError', `Internal error occurred: ${message}`);
  },
  timeout(message: string) {
    return new StatusError(504, 'Timeout', message);
  },
};

/** Field error helpers, named after upstream's field.ErrorType values. */
export const field = {
  required(path: string, detail = 'Required value'): FieldError {
    return { type: 'FieldValueRequired', field: path, message: detail };
  },
  invalid(path: string, value: unknown, detail: string): FieldError {
    return { type: 'FieldValueInvalid', field: path, message: `Invalid value: ${JSON.stringify(value)}: ${detail}` };
  },
  notSupported(path: string, value: unknown, valid: string[]): FieldError {
    return { type: 'FieldValueNotSupported', field: path, message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${valid.map((v) => JSON.stringify(v)).join(', ')}` };
  },
  duplicate(path: string, value: unknown): FieldError {
    return { type: 'FieldValueDuplicate', field: path, message: `Duplicate value: ${JSON.stringify(value)}` };
  },
  forbidden(path: string, detail: string): FieldError {
    return { type: 'FieldValueForbidden', field: path, message: `Forbidden: ${detail}` };
  },
  tooLong(path: string, max: number): FieldError {
    return { type: 'FieldValueTooLong', field: path, message: `Too long: must have at most ${max} bytes` };
  },
};
