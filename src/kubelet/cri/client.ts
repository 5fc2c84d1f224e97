// A typed CRI v1 client (RuntimeService + ImageService) over a unix socket,
// with a deadline on every call so a hung runtime never hangs the kubelet.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type * as T from './types.js';

export * from './types.js';

/** Where api.proto is: beside this module, or (when running compiled code from
 *  dist/, whose build copies only .json) in the source tree. */
export function criProtoPath(): string {
  const candidates = [new URL('./api.proto', import.meta.url), new URL('../../../../src/kubelet/cri/api.proto', import.meta.url)];
  for (const u of candidates) {
    const p = fileURLToPath(u);
    if (existsSync(p)) return p;
  }
  throw new Error(`CRI api.proto not found (looked in ${candidates.map((u) => fileURLToPath(u)).join(', ')})`);
}

let services: { RuntimeService: grpc.ServiceClientConstructor; ImageService: grpc.ServiceClientConstructor } | undefined;
function loadServices(): NonNullable<typeof services> {
  if (services) return services;
  const def = protoLoader.loadSync(criProtoPath(), {
    keepCase: false,
    longs: String, // int64 nanosecond timestamps exceed 2^53
    enums: String,
    bytes: Buffer,
    defaults: true,
    arrays: true,
    objects: false,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { runtime: { v1: NonNullable<typeof services> } };
  services = pkg.runtime.v1;
  return services;
}

/** A failed CRI call: the gRPC status code and the runtime's message. */
export class CriError extends Error {
  constructor(readonly method: string, readonly code: grpc.status, readonly details: string) {
    super(`CRI ${method}: ${grpc.status[code] ?? code}: ${details}`);
    this.name = 'CriError';
  }
}
export const isNotFound = (e: unknown): boolean => e instanceof CriError && e.code === grpc.status.NOT_FOUND;
export const isDeadlineExceeded = (e: unknown): boolean => e instanceof CriError && e.code === grpc.status.DEADLINE_EXCEEDED;
export const isUnavailable = (e: unknown): boolean => e instanceof CriError && e.code === grpc.status.UNAVAILABLE;

export interface CriClientOptions {
  /** Default deadline for a call, ms (upstream's kubelet uses 2 min). */
  timeoutMs?: number;
  /** Deadline for PullImage, ms. */
  pullTimeoutMs?: number;
}

/** Per-call override of the deadline, ms. */
export interface CallOpts { timeoutMs?: number }

export class CriClient {
  private readonly runtime: grpc.Client;
  private readonly image: grpc.Client;
  private readonly timeoutMs: number;
  private readonly pullTimeoutMs: number;

  constructor(readonly socket: string, opts: CriClientOptions = {}) {
    const s = loadServices();
    const target = socket.startsWith('unix:') ? socket : `unix://${socket}`;
    const chanOpts: grpc.ChannelOptions = {
      'grpc.max_receive_message_length': 16 * 1024 * 1024,
      'grpc.max_send_message_length': 16 * 1024 * 1024,
    };
    const creds = grpc.credentials.createInsecure();
    this.runtime = new s.RuntimeService(target, creds, chanOpts);
    // share one channel between both services
    this.image = new s.ImageService(target, creds, { ...chanOpts, channelOverride: this.runtime.getChannel() });
    this.timeoutMs = opts.timeoutMs ?? 120_000;
    this.pullTimeoutMs = opts.pullTimeoutMs ?? 600_000;
  }

  close(): void {
    this.image.close();
    this.runtime.close();
  }

  private call<Res>(client: grpc.Client, method: string, req: object, timeoutMs: number): Promise<Res> {
    return new Promise((resolve, reject) => {
      const fn = (client as unknown as Record<string, Function>)[method];
      if (typeof fn !== 'function') return reject(new Error(`CRI method ${method} not in api.proto`));
      fn.call(client, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err: grpc.ServiceError | null, res: Res) => {
        if (err) reject(new CriError(method, err.code ?? grpc.status.UNKNOWN, err.details || err.message));
        else resolve(res);
      });
    });
  }
  private rt<Res>(method: string, req: object, o?: CallOpts): Promise<Res> {
    return this.call(this.runtime, method, req, o?.timeoutMs ?? this.timeoutMs);
  }
  private img<Res>(method: string, req: object, o?: CallOpts): Promise<Res> {
    return this.call(this.image, method, req, o?.timeoutMs ?? this.timeoutMs);
  }

  // ---- RuntimeService ----

  version(o?: CallOpts): Promise<T.VersionResponse> {
    return this.rt('Version', { version: 'v1' }, o);
  }
  status(verbose = false, o?: CallOpts): Promise<T.StatusResponse> {
    return this.rt('Status', { verbose }, o);
  }
  async runPodSandbox(config: T.PodSandboxConfig, runtimeHandler = '', o?: CallOpts): Promise<string> {
    const r = await this.rt<{ podSandboxId: string }>('RunPodSandbox', { config, runtimeHandler }, o);
    return r.podSandboxId;
  }
  async stopPodSandbox(podSandboxId: string, o?: CallOpts): Promise<void> {
    await this.rt('StopPodSandbox', { podSandboxId }, o);
  }
  async removePodSandbox(podSandboxId: string, o?: CallOpts): Promise<void> {
    await this.rt('RemovePodSandbox', { podSandboxId }, o);
  }
  podSandboxStatus(podSandboxId: string, verbose = false, o?: CallOpts): Promise<T.PodSandboxStatusResponse> {
    return this.rt('PodSandboxStatus', { podSandboxId, verbose }, o);
  }
  async listPodSandbox(filter?: T.PodSandboxFilter, o?: CallOpts): Promise<T.PodSandbox[]> {
    const r = await this.rt<{ items: T.PodSandbox[] }>('ListPodSandbox', { filter }, o);
    return r.items;
  }
  async createContainer(podSandboxId: string, config: T.ContainerConfig, sandboxConfig: T.PodSandboxConfig, o?: CallOpts): Promise<string> {
    const r = await this.rt<{ containerId: string }>('CreateContainer', { podSandboxId, config, sandboxConfig }, o);
    return r.containerId;
  }
  async startContainer(containerId: string, o?: CallOpts): Promise<void> {
    await this.rt('StartContainer', { containerId }, o);
  }
  /** Stops with a grace period in seconds, then the runtime kills. The deadline
   *  grows with the grace period. */
  async stopContainer(containerId: string, timeoutSeconds: number, o?: CallOpts): Promise<void> {
    await this.rt('StopContainer', { containerId, timeout: timeoutSeconds }, { timeoutMs: o?.timeoutMs ?? this.timeoutMs + timeoutSeconds * 1000 });
  }
  async removeContainer(containerId: string, o?: CallOpts): Promise<void> {
    await this.rt('RemoveContainer', { containerId }, o);
  }
  async listContainers(filter?: T.ContainerFilter, o?: CallOpts): Promise<T.Container[]> {
    const r = await this.rt<{ containers: T.Container[] }>('ListContainers', { filter }, o);
    return r.containers;
  }
  containerStatus(containerId: string, verbose = false, o?: CallOpts): Promise<T.ContainerStatusResponse> {
    return this.rt('ContainerStatus', { containerId, verbose }, o);
  }
  async updateContainerResources(containerId: string, linux: T.LinuxContainerResources, annotations?: Record<string, string>, o?: CallOpts): Promise<void> {
    await this.rt('UpdateContainerResources', { containerId, linux, annotations }, o);
  }
  async reopenContainerLog(containerId: string, o?: CallOpts): Promise<void> {
    await this.rt('ReopenContainerLog', { containerId }, o);
  }
  /** Runs cmd and collects its output; timeoutSeconds 0 means no limit on the
   *  command (the call deadline still applies). */
  execSync(containerId: string, cmd: string[], timeoutSeconds = 0, o?: CallOpts): Promise<T.ExecSyncResponse> {
    const deadline = o?.timeoutMs ?? (timeoutSeconds > 0 ? timeoutSeconds * 1000 + 10_000 : this.timeoutMs);
    return this.rt('ExecSync', { containerId, cmd, timeout: timeoutSeconds }, { timeoutMs: deadline });
  }
  /** The streaming server URL for an exec session. */
  async exec(req: T.ExecRequest, o?: CallOpts): Promise<string> {
    return (await this.rt<{ url: string }>('Exec', req, o)).url;
  }
  async attach(req: T.AttachRequest, o?: CallOpts): Promise<string> {
    return (await this.rt<{ url: string }>('Attach', req, o)).url;
  }
  async portForward(podSandboxId: string, ports: number[], o?: CallOpts): Promise<string> {
    return (await this.rt<{ url: string }>('PortForward', { podSandboxId, port: ports }, o)).url;
  }
  async containerStats(containerId: string, o?: CallOpts): Promise<T.ContainerStats | null> {
    return (await this.rt<{ stats: T.ContainerStats | null }>('ContainerStats', { containerId }, o)).stats;
  }
  async listContainerStats(filter?: T.ContainerStatsFilter, o?: CallOpts): Promise<T.ContainerStats[]> {
    return (await this.rt<{ stats: T.ContainerStats[] }>('ListContainerStats', { filter }, o)).stats;
  }

  // ---- ImageService ----

  async listImages(filter?: T.ImageSpec, o?: CallOpts): Promise<T.Image[]> {
    return (await this.img<{ images: T.Image[] }>('ListImages', { filter: filter ? { image: filter } : undefined }, o)).images;
  }
  /** The image, or null when the runtime does not have it. */
  async imageStatus(image: string | T.ImageSpec, o?: CallOpts): Promise<T.Image | null> {
    const spec = typeof image === 'string' ? { image } : image;
    return (await this.img<{ image: T.Image | null }>('ImageStatus', { image: spec }, o)).image;
  }
  /** Pulls and returns the image reference (its ID) on the node. */
  async pullImage(image: string | T.ImageSpec, auth?: T.AuthConfig, sandboxConfig?: T.PodSandboxConfig, o?: CallOpts): Promise<string> {
    const spec = typeof image === 'string' ? { image } : image;
    const r = await this.img<{ imageRef: string }>('PullImage', { image: spec, auth, sandboxConfig }, { timeoutMs: o?.timeoutMs ?? this.pullTimeoutMs });
    return r.imageRef;
  }
  async removeImage(image: string | T.ImageSpec, o?: CallOpts): Promise<void> {
    const spec = typeof image === 'string' ? { image } : image;
    await this.img('RemoveImage', { image: spec }, o);
  }
  imageFsInfo(o?: CallOpts): Promise<T.ImageFsInfoResponse> {
    return this.img('ImageFsInfo', {}, o);
  }
}

/** Nanoseconds since the epoch (an int64 string) as a Date; null for 0. */
export function nanosToDate(ns: string | number): Date | null {
  const n = BigInt(ns);
  return n === 0n ? null : new Date(Number(n / 1_000_000n));
}
