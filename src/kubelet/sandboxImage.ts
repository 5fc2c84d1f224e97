// The pod sandbox ("pause") image, built on this machine from the static
// busybox binary and imported into our containerd: no registry, no network.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ociImageArchive, type OciArchive, type TarEntry } from './ociArchive.js';
import type { CriClient } from './cri/client.js';

const execFileP = promisify(execFile);

/** Never a public registry: the sandbox image only ever comes from import. */
export const SANDBOX_IMAGE = 'k8ts.local/pause:1';
export const CTR_BIN = '/usr/bin/ctr';
/** The namespace the CRI plugin keeps its images and containers in. */
export const CRI_NAMESPACE = 'k8s.io';

const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox'];

/** Whether an ELF binary has no program interpreter (statically linked), so it
 *  runs alone in an otherwise empty image. */
export function isStaticElf(b: Buffer): boolean {
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46) return false;
  const is64 = b[4] === 2;
  const le = b[5] === 1;
  const u16 = (o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const phoff = is64 ? Number(le ? b.readBigUInt64LE(0x20) : b.readBigUInt64BE(0x20)) : u32(0x1c);
  const phentsize = u16(is64 ? 0x36 : 0x2a);
  const phnum = u16(is64 ? 0x38 : 0x2c);
  for (let i = 0; i < phnum && i < 256; i++) {
    const off = phoff + i * phentsize;
    if (off + 4 > b.length) return false;
    if (u32(off) === 3 /* PT_INTERP */) return false;
  }
  return true;
}

/** A static busybox binary on this machine (Debian's busybox-static). */
export function findStaticBusybox(): { path: string; data: Buffer } {
  for (const p of BUSYBOX_CANDIDATES) {
    if (!existsSync(p)) continue;
    const data = readFileSync(p);
    if (isStaticElf(data)) return { path: p, data };
  }
  throw new Error('no static busybox found (apt-get install busybox-static)');
}

/** Base directories every image gets so runc has mount points. */
function baseDirs(): TarEntry[] {
  const dirs: TarEntry[] = ['bin', 'dev', 'etc', 'proc', 'sys', 'root'].map((d) => ({ type: 'dir', path: d }));
  return [...dirs, { type: 'dir', path: 'tmp', mode: 0o1777 }];
}

/** The pause image: busybox sleeping forever as PID 1 (the sandbox only holds
 *  the pod's namespaces; the CRI kills it with SIGKILL on stop). */
export function sandboxImageArchive(name = SANDBOX_IMAGE): OciArchive {
  const bb = findStaticBusybox();
  return ociImageArchive({
    name,
    layer: [...baseDirs(), { type: 'file', path: 'bin/busybox', data: bb.data, mode: 0o755 }],
    entrypoint: ['/bin/busybox', 'sleep', '2147483647'],
  });
}

/** A full busybox userland image (sh, httpd, wget, nc, nslookup, …), with
 *  extra files, for tests and for offline clusters. */
export function busyboxImageArchive(name: string, extra: TarEntry[] = [], cmd: string[] = ['sh']): OciArchive {
  const bb = findStaticBusybox();
  const applets = execFileSync(bb.path, ['--list'], { encoding: 'utf8' }).split('\n').map((s) => s.trim()).filter((s) => /^[\w.[-]+$/.test(s) && s !== 'busybox');
  const layer: TarEntry[] = [
    ...baseDirs(),
    { type: 'file', path: 'bin/busybox', data: bb.data, mode: 0o755 },
    ...[...new Set(applets)].map((a) => ({ type: 'symlink' as const, path: `bin/${a}`, target: 'busybox' })),
    { type: 'file', path: 'etc/passwd', data: 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' },
    { type: 'file', path: 'etc/group', data: 'root:x:0:\nnogroup:x:65534:\n' },
    ...extra,
  ];
  return ociImageArchive({ name, layer, cmd });
}

export interface ImportOptions {
  /** containerd's socket. */
  socket: string;
  /** Scratch dir for the archive file. */
  tmpDir: string;
  /** Snapshotter to unpack into (the one the CRI uses). */
  snapshotter: string;
}

/** Loads an OCI/docker archive into containerd's CRI namespace with `ctr`. */
export async function importImageArchive(archive: Buffer, o: ImportOptions): Promise<void> {
  if (!existsSync(CTR_BIN)) throw new Error(`${CTR_BIN} not found (apt-get install containerd)`);
  mkdirSync(o.tmpDir, { recursive: true });
  const file = join(o.tmpDir, `import-${process.pid}-${Date.now()}.tar`);
  writeFileSync(file, archive);
  try {
    await execFileP(CTR_BIN, ['--address', o.socket, '--namespace', CRI_NAMESPACE, 'images', 'import', '--snapshotter', o.snapshotter, file], { timeout: 120_000 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`ctr images import failed: ${(err.stderr || err.message).trim()}`);
  } finally {
    rmSync(file, { force: true });
  }
}

/** Makes sure the CRI sees `archive`'s image under its name: imports it unless
 *  the runtime already has exactly this image (same config digest). Returns the image ID. */
export async function ensureImage(cri: CriClient, name: string, archive: () => OciArchive, o: ImportOptions): Promise<string> {
  const have = await cri.imageStatus(name);
  const a = archive();
  if (have?.id === a.configDigest) return have.id;
  await importImageArchive(a.archive, o);
  // the CRI learns about imported images from containerd's events: wait for it
  for (let i = 0; i < 100; i++) {
    const img = await cri.imageStatus(name);
    if (img?.id === a.configDigest) return img.id;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`imported ${name} but the CRI does not report it`);
}

export function ensureSandboxImage(cri: CriClient, o: ImportOptions, name = SANDBOX_IMAGE): Promise<string> {
  return ensureImage(cri, name, () => sandboxImageArchive(name), o);
}
