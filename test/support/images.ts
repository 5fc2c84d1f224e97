// Test images built on this machine, never pulled: a busybox image from Debian's
// busybox-static (/usr/bin/busybox), as an OCI layout folder and an OCI archive.
// The build is deterministic and cached by content under `dir`, so every test
// file in a run (even in parallel processes) shares one build.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage, ociArchive, writeOciLayout } from '../../src/registry/build.js';
import type { TarEntry } from '../../src/registry/tar.js';

export const busyboxPath = '/usr/bin/busybox';
/** bump when the image's contents or layout change */
const RECIPE = 'busybox-v1';

export const busyboxApplets = [
  'sh', 'ash', 'httpd', 'sleep', 'cat', 'echo', 'wget', 'nc', 'ls', 'env', 'sort', 'true', 'false',
  'nslookup', 'ps', 'mkdir', 'rm', 'rmdir', 'grep', 'head', 'tail', 'kill', 'id', 'hostname', 'touch', 'cp', 'mv', 'ln',
  'date', 'test', '[', 'wc', 'tee', 'uname', 'printf', 'pwd', 'seq', 'dd', 'tar', 'stat', 'find', 'sed', 'awk', 'tr',
  'cut', 'uniq', 'xargs', 'mount', 'df', 'du', 'chmod', 'chown', 'whoami', 'timeout', 'yes', 'usleep', 'readlink',
  'basename', 'dirname', 'ip', 'ifconfig', 'netstat', 'top', 'free', 'vi', 'less', 'more', 'base64', 'md5sum', 'sha256sum',
];

export interface BusyboxImage {
  /** OCI image layout folder (`skopeo copy oci:<layoutDir>:latest ...`) */
  layoutDir: string;
  /** the same layout as a tar (`k8ts image import`, `ctr import`) */
  archive: string;
  /** manifest digest */
  digest: string;
}

export function busyboxAvailable(): boolean {
  return existsSync(busyboxPath);
}

function rootfs(busybox: Buffer): TarEntry[] {
  const dir = (name: string, mode = 0o755): TarEntry => ({ name, type: 'dir', mode });
  const e: TarEntry[] = [dir('bin'), { name: 'bin/busybox', type: 'file', mode: 0o755, data: busybox }];
  for (const a of busyboxApplets) e.push({ name: `bin/${a}`, type: 'symlink', linkname: 'busybox' });
  e.push(dir('usr'), dir('usr/bin'), { name: 'usr/bin/env', type: 'symlink', linkname: '../../bin/busybox' });
  e.push(dir('dev'), dir('proc'), dir('sys'), dir('root', 0o700), dir('tmp', 0o1777), dir('var'), dir('var/www'), dir('etc'));
  e.push({ name: 'etc/passwd', type: 'file', mode: 0o644, data: Buffer.from('root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n') });
  e.push({ name: 'etc/group', type: 'file', mode: 0o644, data: Buffer.from('root:x:0:\nnogroup:x:65534:\n') });
  return e;
}

const memo = new Map<string, Promise<BusyboxImage>>();

/** Builds (or finds already built) the busybox test image under dir. */
export function buildBusyboxImage(dir: string = join(tmpdir(), 'k8ts-test-images')): Promise<BusyboxImage> {
  let p = memo.get(dir);
  if (!p) {
    p = build(dir);
    memo.set(dir, p);
    p.catch(() => memo.delete(dir));
  }
  return p;
}

async function build(dir: string): Promise<BusyboxImage> {
  if (!busyboxAvailable()) throw new Error(`${busyboxPath} is missing: install Debian's busybox-static`);
  const busybox = readFileSync(busyboxPath);
  const key = createHash('sha256').update(RECIPE).update(busybox).digest('hex').slice(0, 16);
  const final = join(dir, `busybox-${key}`);
  const result = (): BusyboxImage => ({ layoutDir: join(final, 'layout'), archive: join(final, 'busybox.oci.tar'), digest: readFileSync(join(final, 'digest'), 'utf8') });
  // a finished build is renamed into place whole, so its existence means it is complete
  if (existsSync(join(final, 'digest'))) return result();
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.busybox-${key}-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(tmp);
  try {
    const img = await buildImage({ layers: [rootfs(busybox)], config: { Cmd: ['sh'], WorkingDir: '/' } });
    writeOciLayout(join(tmp, 'layout'), img, 'latest');
    writeFileSync(join(tmp, 'busybox.oci.tar'), await ociArchive(img, 'latest'));
    writeFileSync(join(tmp, 'digest'), img.digest);
    try {
      renameSync(tmp, final);
    } catch (e) {
      // another process finished first: use its (identical) build
      if (!existsSync(join(final, 'digest'))) throw e;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return result();
}
