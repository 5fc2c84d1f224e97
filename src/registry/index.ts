// k8ts's own OCI distribution registry: server, storage, image import and builder.
export { RegistryServer, startRegistry, type RegistryOptions } from './server.js';
export { RegistryStorage, sha256 } from './storage.js';
export { importImage, runImageImport, HttpSink, LocalSink, type ImportedImage } from './import.js';
export { buildImage, writeOciLayout, ociArchive, storeImage, goArch, type BuiltImage, type ImageConfig } from './build.js';
export { readTar, packTar, tarBuffer, type TarEntry } from './tar.js';
export { MediaTypes, parseReference, RegistryError } from './types.js';
