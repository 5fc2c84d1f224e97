// Pod volumes for the kubelet: turns `pod.spec.volumes` into host directories and
// `container.volumeMounts` into CRI mounts.
//
// Interface (called by the pod worker):
//   const prepared = await preparePodVolumes(pod, { podDir, api, tokenIssuer?, nodeAllocatable? })
//       once before the sandbox's containers start (idempotent: safe to call again
//       after a kubelet restart; existing emptyDir contents are kept). Throws
//       VolumeError (reason FailedMount, message like upstream's) — record an event
//       and retry later.
//   containerMounts(container, prepared, { env? }) → CRI Mount[]   (subPath/subPathExpr,
//       readOnly, mountPropagation, recursiveReadOnly). Throws VolumeError
//       (the worker reports CreateContainerConfigError).
//   await refreshPodVolumes(pod, prepared, ctx) → string[] of per-volume errors.
//       Re-syncs configMap/secret/downwardAPI/projected contents (and rotates
//       projected tokens); call it periodically (~every 60 s) and when a
//       ConfigMap/Secret the pod uses changes. Files change in place atomically.
//   await cleanupPodVolumes(podDir) after the pod's containers are gone: unmounts
//       memory emptyDirs and removes podDir/volumes (never touches hostPath data).
//   podVolumeObjects(pod) lists the ConfigMaps/Secrets/PVCs a pod uses (to decide
//       which informer events should trigger a refresh).
//
// Layout (as upstream): PODDIR/volumes/kubernetes.io~<plugin>/<volume name>.
// configMap/secret/downwardAPI/projected use the atomic writer (see
// volumes/atomicWriter.ts) and are read-only inside containers.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, openSync, closeSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import type { Container, Pod, Volume, VolumeMount, KeyToPath, DownwardAPIVolumeFile, ServiceAccountTokenProjection } from 'kubernetes-types/core/v1.js';
import type { Mount, MountPropagation } from './cri/types.js';
import { isNotFound } from '../client/api.js';
import { toInt } from '../api/quantity.js';
import { writeAtomic, invalidPath, type FileProjection } from './volumes/atomicWriter.js';
import { fieldRefValue, resourceFieldValue, type NodeAllocatable } from './volumes/downward.js';

export { fieldRefValue, resourceFieldValue, formatMap, type NodeAllocatable } from './volumes/downward.js';
export { writeAtomic } from './volumes/atomicWriter.js';

/** The part of ApiClient the volume code uses (ApiClient satisfies it). */
export interface VolumeApi {
  request<T = any>(method: string, path: string, body?: unknown): Promise<T>;
}

export interface TokenRequestInput {
  namespace: string;
  serviceAccountName: string;
  audiences?: string[];
  expirationSeconds: number;
  pod: { name: string; uid: string };
}
export interface IssuedToken {
  token: string;
  /** RFC 3339 */
  expirationTimestamp: string;
}
export type TokenIssuer = (r: TokenRequestInput) => Promise<IssuedToken>;

export interface VolumeContext {
  /** DATA_DIR/pods/<pod uid> */
  podDir: string;
  api: VolumeApi;
  /** defaults to POST …/serviceaccounts/NAME/token through `api` */
  tokenIssuer?: TokenIssuer;
  /** what an unset limit reads as in resourceFieldRef (the node's allocatable) */
  nodeAllocatable?: NodeAllocatable;
  /** clock, for tests of token rotation */
  now?: () => number;
}

export type VolumeKind = 'emptyDir' | 'hostPath' | 'configMap' | 'secret' | 'downwardAPI' | 'projected' | 'persistentVolumeClaim';

export interface PreparedVolume {
  hostPath: string;
  readOnly: boolean;
  /** a tmpfs (emptyDir medium: Memory) */
  memory?: boolean;
  kind: VolumeKind;
  /** projected tokens already issued, by source key (internal) */
  tokens?: Map<string, { token: string; issuedAt: number; expiresAt: number }>;
}
export type PreparedVolumes = Map<string, PreparedVolume>;

/** A volume that can't be set up; `reason` is the event reason to record. */
export class VolumeError extends Error {
  constructor(
    message: string,
    public readonly volume?: string,
    public readonly reason = 'FailedMount',
  ) {
    super(message);
  }
}

const pluginDirs: Partial<Record<VolumeKind, string>> = {
  emptyDir: 'kubernetes.io~empty-dir',
  configMap: 'kubernetes.io~configmap',
  secret: 'kubernetes.io~secret',
  downwardAPI: 'kubernetes.io~downward-api',
  projected: 'kubernetes.io~projected',
};

export function volumeKind(v: Volume): VolumeKind | undefined {
  for (const k of ['emptyDir', 'hostPath', 'configMap', 'secret', 'downwardAPI', 'projected', 'persistentVolumeClaim'] as const) {
    if ((v as any)[k]) return k;
  }
  if (v.ephemeral) return 'persistentVolumeClaim';
  return undefined;
}

const setupFailed = (v: string, why: string) => new VolumeError(`MountVolume.SetUp failed for volume ${JSON.stringify(v)} : ${why}`, v);

/** ConfigMaps, Secrets and PVCs a pod's volumes read (namespace is the pod's). */
export function podVolumeObjects(pod: Pod): { configMaps: string[]; secrets: string[]; claims: string[] } {
  const cms = new Set<string>();
  const secrets = new Set<string>();
  const claims = new Set<string>();
  for (const v of pod.spec?.volumes ?? []) {
    if (v.configMap?.name) cms.add(v.configMap.name);
    if (v.secret?.secretName) secrets.add(v.secret.secretName);
    if (v.persistentVolumeClaim?.claimName) claims.add(v.persistentVolumeClaim.claimName);
    if (v.ephemeral) claims.add(`${pod.metadata?.name}-${v.name}`);
    for (const s of v.projected?.sources ?? []) {
      if (s.configMap?.name) cms.add(s.configMap.name);
      if (s.secret?.name) secrets.add(s.secret.name);
    }
  }
  return { configMaps: [...cms], secrets: [...secrets], claims: [...claims] };
}

// ------------------------------------------------------------------ mounts

function mountPoints(): string[] {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ')[4]!.replace(/\\(\d{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))));
  } catch {
    return [];
  }
}

const isMountPoint = (p: string) => mountPoints().includes(resolve(p));

// ------------------------------------------------------------------ object access

async function getObject(api: VolumeApi, resource: string, ns: string, name: string): Promise<any | undefined> {
  try {
    return await api.request('GET', `/api/v1/namespaces/${encodeURIComponent(ns)}/${resource}/${encodeURIComponent(name)}`);
  } catch (e) {
    if (isNotFound(e) || (e as { code?: number })?.code === 404) return undefined;
    throw e;
  }
}

const defaultIssuer = (api: VolumeApi): TokenIssuer => async (r) => {
  const body = {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { audiences: r.audiences ?? [], expirationSeconds: r.expirationSeconds, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: r.pod.name, uid: r.pod.uid } },
  };
  const res = await api.request<any>('POST', `/api/v1/namespaces/${encodeURIComponent(r.namespace)}/serviceaccounts/${encodeURIComponent(r.serviceAccountName)}/token`, body);
  if (!res?.status?.token) throw new Error('TokenRequest returned no token');
  return { token: res.status.token, expirationTimestamp: res.status.expirationTimestamp };
};

// ------------------------------------------------------------------ payloads

const modeOf = (item: { mode?: number } | undefined, def: number | undefined) => (item?.mode ?? def ?? 0o644) & 0o777;

/** Files of a configMap or secret (data already decoded), honouring items and optional. */
function keyFiles(kind: 'configmap' | 'secret', name: string, data: Map<string, Buffer> | undefined, items: KeyToPath[] | undefined, defaultMode: number | undefined, optional: boolean | undefined, out: Map<string, FileProjection>): void {
  if (!data) {
    if (optional) return;
    throw new Error(`${kind} ${JSON.stringify(name)} not found`);
  }
  if (!items?.length) {
    for (const [k, v] of data) out.set(k, { data: v, mode: modeOf(undefined, defaultMode) });
    return;
  }
  for (const it of items) {
    const v = data.get(it.key);
    if (v === undefined) {
      if (optional) continue;
      throw new Error(`${kind === 'configmap' ? 'configmap' : 'secret'} references non-existent ${kind === 'configmap' ? 'config ' : 'secret '}key: ${it.key}`);
    }
    out.set(it.path, { data: v, mode: modeOf(it, defaultMode) });
  }
}

function configMapData(cm: any): Map<string, Buffer> | undefined {
  if (!cm) return undefined;
  const m = new Map<string, Buffer>();
  for (const [k, v] of Object.entries<string>(cm.data ?? {})) m.set(k, Buffer.from(v));
  for (const [k, v] of Object.entries<string>(cm.binaryData ?? {})) m.set(k, Buffer.from(v, 'base64'));
  return m;
}

function secretData(s: any): Map<string, Buffer> | undefined {
  if (!s) return undefined;
  const m = new Map<string, Buffer>();
  for (const [k, v] of Object.entries<string>(s.data ?? {})) m.set(k, Buffer.from(v, 'base64'));
  for (const [k, v] of Object.entries<string>(s.stringData ?? {})) m.set(k, Buffer.from(v));
  return m;
}

function downwardFiles(pod: Pod, items: DownwardAPIVolumeFile[] | undefined, defaultMode: number | undefined, ctx: VolumeContext, out: Map<string, FileProjection>): void {
  for (const it of items ?? []) {
    let value: string;
    if (it.fieldRef) value = fieldRefValue(pod, it.fieldRef.fieldPath, true);
    else if (it.resourceFieldRef) {
      const cname = it.resourceFieldRef.containerName;
      const c = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((x) => x.name === cname) ?? (cname ? undefined : pod.spec?.containers?.[0]);
      if (!c) throw new Error(`container ${JSON.stringify(cname)} not found for resourceFieldRef ${it.path}`);
      value = resourceFieldValue(c, it.resourceFieldRef.resource, it.resourceFieldRef.divisor, ctx.nodeAllocatable);
    } else throw new Error(`downwardAPI item ${JSON.stringify(it.path)} selects nothing`);
    out.set(it.path, { data: Buffer.from(value), mode: modeOf(it, defaultMode) });
  }
}

async function tokenFile(pod: Pod, vol: PreparedVolume, volName: string, src: ServiceAccountTokenProjection, ctx: VolumeContext): Promise<Buffer> {
  const now = (ctx.now ?? Date.now)();
  const exp = Math.max(src.expirationSeconds ?? 3600, 600);
  const key = `${src.path}|${src.audience ?? ''}|${exp}`;
  const tokens = (vol.tokens ??= new Map());
  const have = tokens.get(key);
  // rotate after 80 % of the lifetime or 24 h, like upstream's kubelet
  if (have && now < have.issuedAt + 0.8 * (have.expiresAt - have.issuedAt) && now - have.issuedAt < 86_400_000) return Buffer.from(have.token);
  const issuer = ctx.tokenIssuer ?? defaultIssuer(ctx.api);
  const sa = pod.spec?.serviceAccountName || pod.spec?.serviceAccount || 'default';
  let t: IssuedToken;
  try {
    t = await issuer({ namespace: pod.metadata?.namespace ?? 'default', serviceAccountName: sa, audiences: src.audience ? [src.audience] : undefined, expirationSeconds: exp, pod: { name: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '' } });
  } catch (e) {
    if (have && now < have.expiresAt) return Buffer.from(have.token); // keep serving a still-valid token
    throw new Error(`failed to fetch token: ${(e as Error).message}`);
  }
  const expiresAt = Date.parse(t.expirationTimestamp);
  tokens.set(key, { token: t.token, issuedAt: now, expiresAt: Number.isFinite(expiresAt) ? expiresAt : now + exp * 1000 });
  void volName;
  return Buffer.from(t.token);
}

/** The full file set of a payload volume right now. */
async function payloadFiles(pod: Pod, v: Volume, vol: PreparedVolume, ctx: VolumeContext): Promise<Map<string, FileProjection>> {
  const ns = pod.metadata?.namespace ?? 'default';
  const out = new Map<string, FileProjection>();
  if (v.configMap) {
    const name = v.configMap.name ?? '';
    keyFiles('configmap', name, configMapData(await getObject(ctx.api, 'configmaps', ns, name)), v.configMap.items, v.configMap.defaultMode, v.configMap.optional, out);
  } else if (v.secret) {
    const name = v.secret.secretName ?? '';
    keyFiles('secret', name, secretData(await getObject(ctx.api, 'secrets', ns, name)), v.secret.items, v.secret.defaultMode, v.secret.optional, out);
  } else if (v.downwardAPI) {
    downwardFiles(pod, v.downwardAPI.items, v.downwardAPI.defaultMode, ctx, out);
  } else if (v.projected) {
    const dm = v.projected.defaultMode;
    for (const s of v.projected.sources ?? []) {
      if (s.configMap) {
        const name = s.configMap.name ?? '';
        keyFiles('configmap', name, configMapData(await getObject(ctx.api, 'configmaps', ns, name)), s.configMap.items, dm, s.configMap.optional, out);
      } else if (s.secret) {
        const name = s.secret.name ?? '';
        keyFiles('secret', name, secretData(await getObject(ctx.api, 'secrets', ns, name)), s.secret.items, dm, s.secret.optional, out);
      } else if (s.downwardAPI) {
        downwardFiles(pod, s.downwardAPI.items, dm, ctx, out);
      } else if (s.serviceAccountToken) {
        out.set(s.serviceAccountToken.path, { data: await tokenFile(pod, vol, v.name, s.serviceAccountToken, ctx), mode: modeOf(undefined, dm) });
      } else {
        throw new Error(`unsupported projected volume source: ${Object.keys(s).join(', ') || 'none'}`);
      }
    }
  }
  return out;
}

// ------------------------------------------------------------------ hostPath

function checkHostPath(path: string, type: string | undefined): void {
  const st = (() => {
    try {
      return statSync(path);
    } catch {
      return undefined;
    }
  })();
  switch (type ?? '') {
    case '':
      return;
    case 'DirectoryOrCreate':
      if (!st) {
        mkdirSync(path, { recursive: true, mode: 0o755 });
        return;
      }
      if (!st.isDirectory()) throw new Error(`hostPath type check failed: ${path} is not a directory`);
      return;
    case 'Directory':
      if (!st?.isDirectory()) throw new Error(`hostPath type check failed: ${path} is not a directory`);
      return;
    case 'FileOrCreate':
      if (!st) {
        // like upstream: the parent directory must already exist
        if (!existsSync(dirname(path))) throw new Error(`hostPath type check failed: ${dirname(path)} does not exist`);
        closeSync(openSync(path, 'a', 0o644));
        return;
      }
      if (!st.isFile()) throw new Error(`hostPath type check failed: ${path} is not a file`);
      return;
    case 'File':
      if (!st?.isFile()) throw new Error(`hostPath type check failed: ${path} is not a file`);
      return;
    case 'Socket':
      if (!st?.isSocket()) throw new Error(`hostPath type check failed: ${path} is not a socket file`);
      return;
    case 'CharDevice':
      if (!st?.isCharacterDevice()) throw new Error(`hostPath type check failed: ${path} is not a character device`);
      return;
    case 'BlockDevice':
      if (!st?.isBlockDevice()) throw new Error(`hostPath type check failed: ${path} is not a block device`);
      return;
    default:
      throw new Error(`hostPath type ${JSON.stringify(type)} is not supported`);
  }
}

// ------------------------------------------------------------------ emptyDir

function memoryLimitBytes(pod: Pod, sizeLimit: string | undefined): number | undefined {
  if (sizeLimit) return toInt(sizeLimit);
  // no sizeLimit: the pod's memory limit when every container has one (upstream
  // sizes memory-backed volumes to the pod's allocatable memory)
  const cs = pod.spec?.containers ?? [];
  if (cs.length && cs.every((c) => c.resources?.limits?.memory !== undefined)) return cs.reduce((a, c) => a + toInt(c.resources!.limits!.memory!), 0);
  return undefined;
}

function setupEmptyDir(pod: Pod, v: Volume, dir: string): PreparedVolume {
  const fresh = !existsSync(dir);
  mkdirSync(dir, { recursive: true });
  const memory = v.emptyDir?.medium === 'Memory';
  if (memory && !isMountPoint(dir)) {
    const bytes = memoryLimitBytes(pod, v.emptyDir?.sizeLimit as string | undefined);
    const opts = ['mode=0777', ...(bytes ? [`size=${bytes}`] : [])].join(',');
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      throw new Error(`mount tmpfs: ${String((e as { stderr?: Buffer }).stderr ?? (e as Error).message).trim()}`);
    }
  }
  if (fresh || memory) {
    chmodSync(dir, 0o777); // every user in every container may write, as upstream
    const g = pod.spec?.securityContext?.fsGroup;
    if (g !== undefined) {
      chownSync(dir, -1, g);
      chmodSync(dir, 0o2777);
    }
  }
  return { hostPath: dir, readOnly: false, memory: memory || undefined, kind: 'emptyDir' };
}

// ------------------------------------------------------------------ PVC

async function resolveClaim(pod: Pod, v: Volume, ctx: VolumeContext): Promise<PreparedVolume> {
  const ns = pod.metadata?.namespace ?? 'default';
  const claimName = v.persistentVolumeClaim?.claimName ?? `${pod.metadata?.name}-${v.name}`;
  const pvc = await getObject(ctx.api, 'persistentvolumeclaims', ns, claimName);
  if (!pvc) throw new Error(`persistentvolumeclaim ${JSON.stringify(claimName)} not found`);
  if (pvc.metadata?.deletionTimestamp) throw new Error(`persistentvolumeclaim ${JSON.stringify(claimName)} is being deleted`);
  if (v.ephemeral && !(pvc.metadata?.ownerReferences ?? []).some((o: any) => o.uid === pod.metadata?.uid)) {
    throw new Error(`PVC ${ns}/${claimName} was not created for pod ${ns}/${pod.metadata?.name} (pod is not owner)`);
  }
  const pvName = pvc.spec?.volumeName;
  if (pvc.status?.phase !== 'Bound' || !pvName) throw new Error(`persistentvolumeclaim ${JSON.stringify(claimName)} is not bound`);
  let pv: any;
  try {
    pv = await ctx.api.request('GET', `/api/v1/persistentvolumes/${encodeURIComponent(pvName)}`);
  } catch (e) {
    if (isNotFound(e)) throw new Error(`persistentvolume ${JSON.stringify(pvName)} not found`);
    throw e;
  }
  if (pv.spec?.claimRef?.uid && pvc.metadata?.uid && pv.spec.claimRef.uid !== pvc.metadata.uid) throw new Error(`persistentvolume ${pvName} is bound to another claim`);
  const readOnly = !!v.persistentVolumeClaim?.readOnly;
  if (pv.spec?.hostPath?.path) {
    checkHostPath(pv.spec.hostPath.path, pv.spec.hostPath.type);
    return { hostPath: pv.spec.hostPath.path, readOnly, kind: 'persistentVolumeClaim' };
  }
  if (pv.spec?.local?.path) {
    if (!existsSync(pv.spec.local.path)) throw new Error(`local volume path ${pv.spec.local.path} does not exist`);
    return { hostPath: pv.spec.local.path, readOnly, kind: 'persistentVolumeClaim' };
  }
  throw new Error(`persistentvolume ${pvName} has no hostPath or local source this node can mount`);
}

// ------------------------------------------------------------------ entry points

function volumeDir(podDir: string, kind: VolumeKind, name: string): string {
  return join(podDir, 'volumes', pluginDirs[kind]!, name);
}

async function setupVolume(pod: Pod, v: Volume, ctx: VolumeContext, prev?: PreparedVolume): Promise<PreparedVolume> {
  const kind = volumeKind(v);
  if (!kind) throw new Error(`volume type ${Object.keys(v).filter((k) => k !== 'name').join(', ') || '(none)'} is not supported by this node`);
  switch (kind) {
    case 'emptyDir':
      return setupEmptyDir(pod, v, volumeDir(ctx.podDir, kind, v.name));
    case 'hostPath':
      checkHostPath(v.hostPath!.path, v.hostPath!.type);
      return { hostPath: v.hostPath!.path, readOnly: false, kind };
    case 'persistentVolumeClaim':
      return resolveClaim(pod, v, ctx);
    default: {
      const vol: PreparedVolume = prev ?? { hostPath: volumeDir(ctx.podDir, kind, v.name), readOnly: true, kind };
      const files = await payloadFiles(pod, v, vol, ctx);
      writeAtomic(vol.hostPath, files, { fsGroup: pod.spec?.securityContext?.fsGroup });
      return vol;
    }
  }
}

/** Sets up every volume of POD; see the file header. */
export async function preparePodVolumes(pod: Pod, ctx: VolumeContext): Promise<PreparedVolumes> {
  const out: PreparedVolumes = new Map();
  for (const v of pod.spec?.volumes ?? []) {
    try {
      out.set(v.name, await setupVolume(pod, v, ctx));
    } catch (e) {
      if (e instanceof VolumeError) throw e;
      throw setupFailed(v.name, (e as Error).message);
    }
  }
  return out;
}

/**
 * Re-writes the payload volumes from the current objects (and the pod's current
 * labels/annotations). Errors are per volume: the old contents stay in place.
 */
export async function refreshPodVolumes(pod: Pod, prepared: PreparedVolumes, ctx: VolumeContext): Promise<string[]> {
  const errs: string[] = [];
  for (const v of pod.spec?.volumes ?? []) {
    const kind = volumeKind(v);
    if (kind !== 'configMap' && kind !== 'secret' && kind !== 'downwardAPI' && kind !== 'projected') continue;
    const prev = prepared.get(v.name);
    try {
      prepared.set(v.name, await setupVolume(pod, v, ctx, prev));
    } catch (e) {
      errs.push(setupFailed(v.name, (e as Error).message).message);
    }
  }
  return errs;
}

const propagationOf: Record<string, MountPropagation> = {
  None: 'PROPAGATION_PRIVATE',
  HostToContainer: 'PROPAGATION_HOST_TO_CONTAINER',
  Bidirectional: 'PROPAGATION_BIDIRECTIONAL',
};

/** $(VAR) expansion for subPathExpr ($$ escapes; unknown references stay). */
function expand(s: string, env: Record<string, string>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name?: string) => (m === '$$' ? '$' : (env[name!] ?? m)));
}

function subPathOf(vm: VolumeMount, env: Record<string, string>): string | undefined {
  const sp = vm.subPathExpr ? expand(vm.subPathExpr, env) : vm.subPath;
  if (!sp) return undefined;
  if (sp.startsWith('/') || sp.split('/').includes('..')) throw new VolumeError(`failed to prepare subPath for volumeMount ${JSON.stringify(vm.name)}: subPath ${JSON.stringify(sp)} must be a relative path without '..'`, vm.name, 'Failed');
  return sp;
}

export interface ContainerMountOptions {
  /** the container's resolved env, for subPathExpr */
  env?: Record<string, string>;
}

/** CRI mounts for CONTAINER's volumeMounts over the prepared volumes. */
export function containerMounts(container: Container, prepared: PreparedVolumes, opts: ContainerMountOptions = {}): Mount[] {
  const mounts: Mount[] = [];
  for (const vm of container.volumeMounts ?? []) {
    const vol = prepared.get(vm.name);
    if (!vol) throw new VolumeError(`cannot find volume ${JSON.stringify(vm.name)} to mount into container ${JSON.stringify(container.name)}`, vm.name, 'Failed');
    let hostPath = vol.hostPath;
    const sp = subPathOf(vm, opts.env ?? {});
    if (sp) {
      const full = join(vol.hostPath, sp);
      if (!existsSync(full)) {
        if (vol.readOnly) throw new VolumeError(`subPath ${JSON.stringify(sp)} does not exist in volume ${JSON.stringify(vm.name)}`, vm.name, 'Failed');
        mkdirSync(full, { recursive: true, mode: 0o755 });
      }
      // a container may have planted a symlink in a shared volume: the resolved
      // path must stay inside the volume (else it could bind any host path)
      const root = realpathSync(vol.hostPath);
      const real = realpathSync(full);
      if (real !== root && !real.startsWith(root + sep)) throw new VolumeError(`subPath ${JSON.stringify(sp)} of volume ${JSON.stringify(vm.name)} resolves outside the volume`, vm.name, 'Failed');
      hostPath = real;
    }
    const readonly = !!vm.readOnly || vol.readOnly;
    const m: Mount = { containerPath: vm.mountPath, hostPath, readonly, propagation: propagationOf[vm.mountPropagation ?? 'None'] ?? 'PROPAGATION_PRIVATE' };
    if (readonly && (vm.recursiveReadOnly === 'Enabled' || vm.recursiveReadOnly === 'IfPossible')) m.recursiveReadOnly = true;
    mounts.push(m);
  }
  return mounts;
}

/** Unmounts and removes PODDIR/volumes. Throws if a mount can't be removed (then nothing is deleted). */
export async function cleanupPodVolumes(podDir: string): Promise<void> {
  const root = resolve(podDir, 'volumes');
  if (!existsSync(root)) return;
  const under = () => mountPoints().filter((m) => m === root || m.startsWith(root + '/'));
  // deepest first; a bounded number of passes (a path may be mounted twice)
  for (let pass = 0; pass < 5 && under().length; pass++) {
    for (const m of under().sort((a, b) => b.length - a.length)) {
      try {
        execFileSync('umount', [m], { stdio: 'ignore' });
      } catch {
        try {
          execFileSync('umount', ['-l', m], { stdio: 'ignore' });
        } catch {}
      }
    }
  }
  const left = under();
  if (left.length) throw new Error(`cannot unmount ${left.join(', ')}`);
  // never follow a link out of the pod dir: rmSync does not follow symlinks
  if (lstatSync(root).isDirectory()) rmSync(root, { recursive: true, force: true });
}

export { invalidPath };
