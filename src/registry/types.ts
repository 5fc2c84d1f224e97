// Names, digests, media types and errors of the OCI distribution spec.

export const MediaTypes = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

/** Manifest media types the registry stores (schema1 is long deprecated and refused). */
export const manifestTypes: ReadonlySet<string> = new Set([MediaTypes.ociManifest, MediaTypes.ociIndex, MediaTypes.dockerManifest, MediaTypes.dockerList]);
export const indexTypes: ReadonlySet<string> = new Set([MediaTypes.ociIndex, MediaTypes.dockerList]);

// Grammar from the distribution spec: path components separated by '/'.
const nameRe = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const tagRe = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const digestRe = /^sha256:[a-f0-9]{64}$/;
const anyDigestRe = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export const isValidName = (n: string): boolean => n.length <= 255 && nameRe.test(n);
export const isValidTag = (t: string): boolean => tagRe.test(t);
/** Only sha256 is stored; other algorithms are refused as DIGEST_INVALID. */
export const isSha256Digest = (d: string): boolean => digestRe.test(d);
export const looksLikeDigest = (d: string): boolean => anyDigestRe.test(d);

export type ErrorCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'TAG_INVALID'
  | 'UNSUPPORTED'
  | 'RANGE_INVALID'
  | 'UNKNOWN';

export class RegistryError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly detail?: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
  body(): string {
    return JSON.stringify({ errors: [{ code: this.code, message: this.message, ...(this.detail !== undefined ? { detail: this.detail } : {}) }] });
  }
}

export const regErr = {
  blobUnknown: (d: string) => new RegistryError(404, 'BLOB_UNKNOWN', 'blob unknown to registry', { digest: d }),
  uploadUnknown: (id: string) => new RegistryError(404, 'BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry', { uuid: id }),
  uploadInvalid: (msg: string) => new RegistryError(400, 'BLOB_UPLOAD_INVALID', msg),
  digestInvalid: (msg: string, d?: string) => new RegistryError(400, 'DIGEST_INVALID', msg, d ? { digest: d } : undefined),
  manifestUnknown: (ref: string) => new RegistryError(404, 'MANIFEST_UNKNOWN', 'manifest unknown', { reference: ref }),
  manifestInvalid: (msg: string) => new RegistryError(400, 'MANIFEST_INVALID', msg),
  manifestBlobUnknown: (d: string) => new RegistryError(400, 'MANIFEST_BLOB_UNKNOWN', 'manifest references a blob unknown to registry', { digest: d }),
  nameInvalid: (n: string) => new RegistryError(400, 'NAME_INVALID', 'invalid repository name', { name: n }),
  nameUnknown: (n: string) => new RegistryError(404, 'NAME_UNKNOWN', 'repository name not known to registry', { name: n }),
  tagInvalid: (t: string) => new RegistryError(400, 'TAG_INVALID', 'invalid tag', { tag: t }),
  unsupported: (msg: string, status = 405) => new RegistryError(status, 'UNSUPPORTED', msg),
  sizeInvalid: (msg: string, status = 400) => new RegistryError(status, 'SIZE_INVALID', msg),
};

/** A reference as users write it: [host[:port]/]name[:tag][@digest]. */
export interface ParsedReference {
  host?: string;
  name: string;
  tag?: string;
  digest?: string;
}

export function parseReference(ref: string): ParsedReference {
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  let host: string | undefined;
  const slash = rest.indexOf('/');
  // like docker: the first component is a host when it has a dot or port, or is localhost
  if (slash > 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost') {
      host = first;
      rest = rest.slice(slash + 1);
    }
  }
  if (!isValidName(rest)) throw new Error(`invalid image name ${JSON.stringify(ref)}`);
  if (tag !== undefined && !isValidTag(tag)) throw new Error(`invalid tag in ${JSON.stringify(ref)}`);
  if (digest !== undefined && !looksLikeDigest(digest)) throw new Error(`invalid digest in ${JSON.stringify(ref)}`);
  return { host, name: rest, tag, digest };
}
