// Builds OCI image-layout archives (the format `ctr images import` and
// `k8ts image import` read) from files on this machine, with no Docker and no
// network: a tar writer, a gzip'd layer, the image config, manifest and index.
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

export type TarEntry =
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'file'; path: string; data: Buffer | string; mode?: number }
  | { type: 'symlink'; path: string; target: string };

const BLOCK = 512;
// A fixed mtime keeps archives byte-for-byte reproducible, so the image digest
// only changes when the content does.
const MTIME = 1_700_000_000;

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

function header(name: string, size: number, mode: number, typeflag: string, linkname = ''): Buffer {
  const h = Buffer.alloc(BLOCK, 0);
  let prefix = '';
  // ustar splits long names at a '/' into prefix (155) + name (100)
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', 155);
    if (cut <= 0 || Buffer.byteLength(name.slice(cut + 1)) > 100) throw new Error(`tar: path too long: ${name}`);
    prefix = name.slice(0, cut);
    name = name.slice(cut + 1);
  }
  if (Buffer.byteLength(linkname) > 100) throw new Error(`tar: link target too long: ${linkname}`);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(mode & 0o7777, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii'); // uid
  h.write(octal(0, 8), 116, 'ascii'); // gid
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(MTIME, 12), 136, 'ascii');
  h.write('        ', 148, 'ascii'); // checksum placeholder: spaces while summing
  h.write(typeflag, 156, 'ascii');
  h.write(linkname, 157, 100, 'utf8');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148, 'ascii');
  return h;
}

/** A POSIX ustar archive of the entries, in order. */
export function tar(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const path = e.path.replace(/^\/+/, '');
    if (e.type === 'dir') {
      parts.push(header(path.endsWith('/') ? path : path + '/', 0, e.mode ?? 0o755, '5'));
    } else if (e.type === 'symlink') {
      parts.push(header(path, 0, 0o777, '2', e.target));
    } else {
      const data = typeof e.data === 'string' ? Buffer.from(e.data) : e.data;
      parts.push(header(path, data.length, e.mode ?? 0o644, '0'), data);
      const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
      if (pad) parts.push(Buffer.alloc(pad, 0));
    }
  }
  parts.push(Buffer.alloc(BLOCK * 2, 0));
  return Buffer.concat(parts);
}

const sha256 = (b: Buffer): string => 'sha256:' + createHash('sha256').update(b).digest('hex');

export function ociArch(): string {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return map[process.arch] ?? process.arch;
}

export interface ImageSpecInput {
  /** Full reference the image gets when imported, e.g. `k8ts.local/pause:1`. */
  name: string;
  /** Files of the single layer. */
  layer: TarEntry[];
  cmd?: string[];
  entrypoint?: string[];
  env?: string[];
  workingDir?: string;
  labels?: Record<string, string>;
}

export interface OciArchive {
  /** The archive (an OCI image layout as an uncompressed tar). */
  archive: Buffer;
  /** Digest of the manifest: the image's `name@digest`. */
  manifestDigest: string;
  /** Digest of the config: the image ID the CRI reports. */
  configDigest: string;
}

/** A one-layer OCI image in OCI image-layout form, named by annotations. */
export function ociImageArchive(spec: ImageSpecInput): OciArchive {
  const layerTar = tar(spec.layer);
  const layerGz = gzipSync(layerTar, { level: 6 });
  const config = Buffer.from(JSON.stringify({
    created: new Date(MTIME * 1000).toISOString(),
    architecture: ociArch(),
    os: 'linux',
    config: {
      Env: spec.env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
      ...(spec.cmd ? { Cmd: spec.cmd } : {}),
      WorkingDir: spec.workingDir ?? '/',
      ...(spec.labels ? { Labels: spec.labels } : {}),
    },
    rootfs: { type: 'layers', diff_ids: [sha256(layerTar)] },
    history: [{ created: new Date(MTIME * 1000).toISOString(), created_by: 'k8ts' }],
  }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layerGz), size: layerGz.length }],
  }));
  const tag = spec.name.includes(':') && !spec.name.slice(spec.name.lastIndexOf(':')).includes('/') ? spec.name.slice(spec.name.lastIndexOf(':') + 1) : 'latest';
  const index = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    manifests: [{
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: sha256(manifest),
      size: manifest.length,
      platform: { architecture: ociArch(), os: 'linux' },
      // containerd reads the full name; other tools read the tag-only ref.name
      annotations: { 'io.containerd.image.name': spec.name, 'org.opencontainers.image.ref.name': tag },
    }],
  }));
  const blob = (b: Buffer): TarEntry => ({ type: 'file', path: 'blobs/sha256/' + sha256(b).slice(7), data: b });
  const archive = tar([
    { type: 'file', path: 'oci-layout', data: JSON.stringify({ imageLayoutVersion: '1.0.0' }) },
    { type: 'file', path: 'index.json', data: index },
    { type: 'dir', path: 'blobs' },
    { type: 'dir', path: 'blobs/sha256' },
    blob(config),
    blob(manifest),
    blob(layerGz),
  ]);
  return { archive, manifestDigest: sha256(manifest), configDigest: sha256(config) };
}
