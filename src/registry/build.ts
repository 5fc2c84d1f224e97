// Builds small OCI images from files in memory, deterministically (same input,
// same digests): test images and the node's own sandbox image need no Docker,
// no umoci and no internet.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { sha256, type RegistryStorage } from './storage.js';
import { tarBuffer, type TarEntry } from './tar.js';
import { MediaTypes } from './types.js';

export interface ImageConfig {
  Cmd?: string[];
  Entrypoint?: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  ExposedPorts?: Record<string, object>;
  Labels?: Record<string, string>;
}

export interface BuildImageOptions {
  /** each layer's entries, bottom first */
  layers: TarEntry[][];
  config: ImageConfig;
  architecture?: string;
  os?: string;
  /** gzip the layers (default true) */
  gzip?: boolean;
}

export interface BuiltImage {
  manifest: Buffer;
  digest: string;
  mediaType: string;
  /** every blob (config and layers) by digest */
  blobs: Map<string, Buffer>;
}

/** Node's process.arch as OCI/Go names it. */
export function goArch(arch: string = process.arch): string {
  return ({ x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' } as Record<string, string>)[arch] ?? arch;
}

export async function buildImage(o: BuildImageOptions): Promise<BuiltImage> {
  const blobs = new Map<string, Buffer>();
  const diffIds: string[] = [];
  const layerDescs: { mediaType: string; digest: string; size: number }[] = [];
  for (const entries of o.layers) {
    const tar = await tarBuffer(entries);
    diffIds.push(sha256(tar));
    const blob = o.gzip === false ? tar : gzipSync(tar, { level: 6 });
    const digest = sha256(blob);
    blobs.set(digest, blob);
    layerDescs.push({ mediaType: o.gzip === false ? MediaTypes.ociLayer : MediaTypes.ociLayerGzip, digest, size: blob.length });
  }
  const config = Buffer.from(
    JSON.stringify({
      created: '1970-01-01T00:00:00Z',
      architecture: o.architecture ?? goArch(),
      os: o.os ?? 'linux',
      config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], ...o.config },
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: diffIds.map(() => ({ created: '1970-01-01T00:00:00Z', created_by: 'k8ts build' })),
    }),
  );
  const configDigest = sha256(config);
  blobs.set(configDigest, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      config: { mediaType: MediaTypes.ociConfig, digest: configDigest, size: config.length },
      layers: layerDescs,
    }),
  );
  return { manifest, digest: sha256(manifest), mediaType: MediaTypes.ociManifest, blobs };
}

function indexJson(img: BuiltImage, refName: string, platform: { architecture: string; os: string }): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociIndex,
      manifests: [{ mediaType: img.mediaType, digest: img.digest, size: img.manifest.length, platform, annotations: { 'org.opencontainers.image.ref.name': refName } }],
    }),
  );
}

function platformOf(img: BuiltImage): { architecture: string; os: string } {
  const m = JSON.parse(img.manifest.toString()) as { config: { digest: string } };
  const c = JSON.parse(img.blobs.get(m.config.digest)!.toString()) as { architecture: string; os: string };
  return { architecture: c.architecture, os: c.os };
}

/** Writes an OCI image layout folder; refName is its tag ("latest") as skopeo's oci: transport names it. */
export function writeOciLayout(dir: string, img: BuiltImage, refName = 'latest'): void {
  const blobDir = join(dir, 'blobs', 'sha256');
  mkdirSync(blobDir, { recursive: true });
  for (const [d, b] of [...img.blobs, [img.digest, img.manifest] as const]) writeFileSync(join(blobDir, d.slice(7)), b);
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(dir, 'index.json'), indexJson(img, refName, platformOf(img)));
}

/** The same layout as one tar archive (what `k8ts image import` and `ctr import` read). */
export async function ociArchive(img: BuiltImage, refName = 'latest'): Promise<Buffer> {
  const entries: TarEntry[] = [
    { name: 'oci-layout', type: 'file', data: Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })) },
    { name: 'index.json', type: 'file', data: indexJson(img, refName, platformOf(img)) },
    { name: 'blobs', type: 'dir' },
    { name: 'blobs/sha256', type: 'dir' },
  ];
  for (const [d, b] of [...img.blobs, [img.digest, img.manifest] as const]) entries.push({ name: `blobs/sha256/${d.slice(7)}`, type: 'file', data: b });
  return tarBuffer(entries);
}

/** Stores a built image straight into a registry's files as repo:tag. */
export function storeImage(storage: RegistryStorage, repo: string, tag: string, img: BuiltImage): string {
  for (const b of img.blobs.values()) storage.putBlobBytes(b);
  return storage.putManifest(repo, tag, img.mediaType, img.manifest).digest;
}
