// Atomic writer for configMap / secret / downwardAPI / projected volumes.
//
// Layout of a volume dir (the same idea as upstream's AtomicWriter, so that
// applications that watch `..data` see one consistent switch):
//   ..2026_11_02_10_00_00.123456789/   the current payload (real files)
//   ..data -> ..2026_11_02_10_00_00.123456789
//   <top-level name> -> ..data/<top-level name>   one link per user-visible entry
// An update writes a fresh timestamped dir, points a `..data_tmp` link at it and
// renames that over `..data` (rename(2) is atomic), then fixes the top-level
// links and removes the old payload. Readers never see a half-written set.
import { chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';

export interface FileProjection {
  data: Buffer;
  /** permission bits (e.g. 0o644) */
  mode: number;
}

export interface WriteOptions {
  /** group owner for every file (pod securityContext.fsGroup); files gain g+r */
  fsGroup?: number;
}

const DATA = '..data';
const DATA_TMP = '..data_tmp';

/** Why a user path is unacceptable, or undefined when it is fine. */
export function invalidPath(p: string): string | undefined {
  if (!p) return 'path must not be empty';
  if (p.startsWith('/')) return `path ${JSON.stringify(p)} must be relative`;
  if (p.startsWith('..')) return `path ${JSON.stringify(p)} must not start with '..'`;
  if (p.split('/').some((s) => s === '..')) return `path ${JSON.stringify(p)} must not contain '..'`;
  if (p.length > 4096) return 'path is too long';
  return undefined;
}

function timestampName(): string {
  const d = new Date();
  const two = (n: number) => String(n).padStart(2, '0');
  return `..${d.getUTCFullYear()}_${two(d.getUTCMonth() + 1)}_${two(d.getUTCDate())}_${two(d.getUTCHours())}_${two(d.getUTCMinutes())}_${two(d.getUTCSeconds())}.`;
}

/** The payload currently visible (relative path → file), read back from disk. */
function currentPayload(dir: string): Map<string, FileProjection> | undefined {
  let target: string;
  try {
    target = readlinkSync(join(dir, DATA));
  } catch {
    return undefined;
  }
  const root = join(dir, target);
  const out = new Map<string, FileProjection>();
  const walk = (rel: string, depth: number) => {
    if (depth > 64) return;
    for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r, depth + 1);
      else if (e.isFile()) {
        const full = join(root, r);
        out.set(r, { data: readFileSync(full), mode: statSync(full).mode & 0o7777 });
      }
    }
  };
  try {
    walk('', 0);
  } catch {
    return undefined;
  }
  return out;
}

function samePayload(a: Map<string, FileProjection>, b: Map<string, FileProjection>, opts: WriteOptions): boolean {
  if (a.size !== b.size) return false;
  for (const [p, f] of b) {
    const cur = a.get(p);
    if (!cur || cur.mode !== effectiveMode(f.mode, opts) || !cur.data.equals(f.data)) return false;
  }
  return true;
}

function effectiveMode(mode: number, opts: WriteOptions): number {
  return opts.fsGroup !== undefined ? (mode | 0o040) & 0o7777 : mode & 0o7777;
}

/**
 * Makes DIR show exactly FILES. Returns true when something changed on disk.
 * Throws on an invalid path (nothing is written then).
 */
export function writeAtomic(dir: string, files: Map<string, FileProjection>, opts: WriteOptions = {}): boolean {
  for (const p of files.keys()) {
    const bad = invalidPath(p);
    if (bad) throw new Error(bad);
  }
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const before = currentPayload(dir);
  if (before && samePayload(before, files, opts)) return false;
  const oldTarget = before ? readlinkSync(join(dir, DATA)) : undefined;

  const payload = mkdtempSync(join(dir, timestampName()));
  chmodSync(payload, 0o755);
  for (const [p, f] of files) {
    const full = join(payload, p);
    mkdirSync(dirname(full), { recursive: true, mode: 0o755 });
    writeFileSync(full, f.data);
    chmodSync(full, effectiveMode(f.mode, opts)); // the umask must not narrow the requested mode
    if (opts.fsGroup !== undefined) chownSync(full, -1, opts.fsGroup);
  }
  const tmp = join(dir, DATA_TMP);
  rmSync(tmp, { force: true });
  symlinkSync(posix.basename(payload), tmp);
  renameSync(tmp, join(dir, DATA));

  // user-visible links: one per top-level entry of the payload
  const tops = new Set([...files.keys()].map((p) => p.split('/')[0]!));
  for (const t of tops) {
    const link = join(dir, t);
    let ok = false;
    try {
      ok = lstatSync(link).isSymbolicLink() && readlinkSync(link) === `${DATA}/${t}`;
    } catch {}
    if (!ok) {
      rmSync(link, { recursive: true, force: true });
      symlinkSync(`${DATA}/${t}`, link);
    }
  }
  for (const e of readdirSync(dir)) {
    if (e.startsWith('..') || tops.has(e)) continue;
    // only links we made; never anything else someone put there
    try {
      if (lstatSync(join(dir, e)).isSymbolicLink() && readlinkSync(join(dir, e)).startsWith(`${DATA}/`)) unlinkSync(join(dir, e));
    } catch {}
  }
  if (oldTarget && oldTarget !== posix.basename(payload) && existsSync(join(dir, oldTarget))) {
    rmSync(join(dir, oldTarget), { recursive: true, force: true });
  }
  return true;
}
