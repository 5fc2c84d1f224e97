// Content negotiation: which representation a client asked for (Accept), and
// how a request body is decoded (Content-Type).
import YAML from 'yaml';
import { errors } from '../api/errors.js';
import { decodeProtobufObject, isProtobuf } from '../api/protobuf/decode.js';

export type Representation = 'json' | 'yaml' | 'table' | 'partial';

interface MediaType {
  type: string;
  params: Record<string, string>;
}

export function parseMediaTypes(header: string | undefined): MediaType[] {
  if (!header) return [];
  return header.split(',').map((part) => {
    const [type, ...ps] = part.split(';').map((s) => s.trim());
    const params: Record<string, string> = {};
    for (const p of ps) {
      const i = p.indexOf('=');
      if (i > 0) params[p.slice(0, i).trim()] = p.slice(i + 1).trim();
    }
    return { type: type.toLowerCase(), params };
  });
}

/** Pick the representation for an object/list response. */
export function negotiate(accept: string | undefined): Representation {
  const types = parseMediaTypes(accept);
  if (!types.length) return 'json';
  for (const t of types) {
    const as = t.params.as;
    if (as) {
      if (t.params.g !== 'meta.k8s.io' && t.params.g !== undefined) continue;
      if (as === 'Table' && (t.type === 'application/json' || t.type === '*/*')) return 'table';
      if ((as === 'PartialObjectMetadata' || as === 'PartialObjectMetadataList') && t.type === 'application/json') return 'partial';
      continue;
    }
    if (t.type === 'application/json' || t.type === '*/*' || t.type === 'application/*' || t.type === 'application/json-patch+json') return 'json';
    if (t.type === 'application/yaml') return 'yaml';
  }
  throw errors.notAcceptable(`only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf`);
}

/** Decode a request body by its Content-Type (JSON or YAML). */
export function decodeBody(contentType: string | undefined, body: Buffer): unknown {
  const type = (contentType ?? 'application/json').split(';')[0].trim().toLowerCase();
  const text = body.toString('utf8');
  if (type === 'application/json' || type === '' || type === '*/*') {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw errors.badRequest(`the body of the request was not valid JSON: ${(e as Error).message}`);
    }
  }
  if (type === 'application/yaml' || type === 'text/yaml' || type === 'application/x-yaml') {
    try {
      return YAML.parse(text);
    } catch (e) {
      throw errors.badRequest(`the body of the request was not valid YAML: ${(e as Error).message}`);
    }
  }
  if (isProtobuf(type)) return decodeProtobufObject(body).object;
  throw errors.unsupportedMediaType(type);
}
