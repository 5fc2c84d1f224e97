// Image pulls for pod workers: imagePullPolicy (Always / IfNotPresent / Never),
// imagePullSecrets (dockerconfigjson auth for the image's registry), one pull
// at a time per image (100 pods of one image pull it once), and a per-pod
// back-off (10 s doubling to 5 min) after a failure, during which the
// container waits with ImagePullBackOff instead of ErrImagePull.
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import type { Logger } from 'pino';
import type { KubeObject } from '../api/kind.js';
import type { AuthConfig, CriClient } from './cri/client.js';
import { Backoff } from './podStatus.js';

export type ImageResult =
  | { ok: true; imageRef: string }
  | { ok: false; reason: 'ErrImagePull' | 'ImagePullBackOff' | 'ErrImageNeverPull' | 'InvalidImageName'; message: string };

export interface EventSink {
  (pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string, fieldPath?: string): void;
}

/** The registry host of an image reference, as docker normalizes it. */
export function registryHost(image: string): string {
  const first = image.split('/')[0]!;
  if (!image.includes('/') || (!first.includes('.') && !first.includes(':') && first !== 'localhost')) return 'docker.io';
  return first;
}

/** Auth for image from dockerconfigjson/dockercfg Secrets, if one names its registry. */
export function authFor(image: string, secrets: KubeObject[]): AuthConfig | undefined {
  const host = registryHost(image);
  const norm = (h: string) => h.replace(/^https?:\/\//, '').replace(/\/.*$/, '').replace(/^index\.docker\.io$|^registry-1\.docker\.io$/, 'docker.io');
  for (const s of secrets) {
    const raw = s.data?.['.dockerconfigjson'] ?? s.data?.['.dockercfg'];
    if (typeof raw !== 'string') continue;
    let cfg: Record<string, KubeObject>;
    try {
      const parsed = JSON.parse(Buffer.from(raw, 'base64').toString());
      cfg = parsed.auths ?? parsed;
    } catch {
      continue;
    }
    for (const [server, entry] of Object.entries(cfg)) {
      if (norm(server) !== host) continue;
      let { username, password } = entry as { username?: string; password?: string };
      if ((!username || !password) && typeof entry.auth === 'string') {
        const dec = Buffer.from(entry.auth, 'base64').toString();
        const i = dec.indexOf(':');
        if (i > 0) [username, password] = [dec.slice(0, i), dec.slice(i + 1)];
      }
      return { username, password, serverAddress: server };
    }
  }
  return undefined;
}

export function pullPolicyOf(c: Container): string {
  if (c.imagePullPolicy) return c.imagePullPolicy;
  const img = c.image ?? '';
  const tagged = /:[^/]+$/.test(img) && !img.endsWith(':latest');
  return tagged || img.includes('@') ? 'IfNotPresent' : 'Always';
}

export class ImageManager {
  private readonly inflight = new Map<string, Promise<string>>();
  readonly backoff = new Backoff(10_000, 300_000);

  constructor(
    private readonly cri: CriClient,
    private readonly log: Logger,
    private readonly event: EventSink,
    private readonly secret: (ns: string, name: string) => Promise<KubeObject | undefined>,
  ) {}

  /** Makes sure the container's image is on the node. */
  async ensure(pod: Pod, c: Container, fieldPath: string): Promise<ImageResult> {
    const image = c.image ?? '';
    if (!image || /\s/.test(image)) return { ok: false, reason: 'InvalidImageName', message: `invalid image name "${image}"` };
    const policy = pullPolicyOf(c);
    const present = policy === 'Always' ? null : await this.cri.imageStatus(image).catch(() => null);
    if (present) {
      this.event(pod, 'Normal', 'Pulled', `Container image "${image}" already present on machine`, fieldPath);
      return { ok: true, imageRef: present.id };
    }
    if (policy === 'Never') {
      const message = `Container image "${image}" is not present with pull policy of Never`;
      this.event(pod, 'Warning', 'ErrImageNeverPull', message, fieldPath);
      return { ok: false, reason: 'ErrImageNeverPull', message };
    }
    const key = `${pod.metadata?.uid}/${image}`;
    if (this.backoff.inBackoff(key)) {
      const message = `Back-off pulling image "${image}"`;
      this.event(pod, 'Normal', 'BackOff', message, fieldPath);
      return { ok: false, reason: 'ImagePullBackOff', message };
    }
    this.event(pod, 'Normal', 'Pulling', `Pulling image "${image}"`, fieldPath);
    const t0 = Date.now();
    try {
      const secrets: KubeObject[] = [];
      for (const r of pod.spec?.imagePullSecrets ?? []) {
        const s = r.name ? await this.secret(pod.metadata?.namespace ?? 'default', r.name) : undefined;
        if (s) secrets.push(s);
      }
      const auth = authFor(image, secrets);
      let p = this.inflight.get(image);
      if (!p || auth) {
        p = this.cri.pullImage(image, auth);
        if (!auth) {
          this.inflight.set(image, p);
          const clear = () => this.inflight.delete(image);
          p.then(clear, clear);
        }
      }
      const ref = await p;
      this.backoff.reset(key);
      const st = await this.cri.imageStatus(image).catch(() => null);
      const size = st ? ` Image size: ${st.size} bytes.` : '';
      this.event(pod, 'Normal', 'Pulled', `Successfully pulled image "${image}" in ${Date.now() - t0}ms.${size}`, fieldPath);
      return { ok: true, imageRef: st?.id ?? ref };
    } catch (e) {
      const detail = (e as { details?: string }).details ?? (e as Error).message;
      const message = `Failed to pull image "${image}": ${detail}`;
      this.backoff.next(key);
      this.log.info({ image, pod: pod.metadata?.name, err: detail }, 'image pull failed');
      this.event(pod, 'Warning', 'Failed', message, fieldPath);
      this.event(pod, 'Warning', 'Failed', 'Error: ErrImagePull', fieldPath);
      return { ok: false, reason: 'ErrImagePull', message: detail };
    }
  }

  /** Forget a pod's back-off entries. */
  forget(podUid: string): void {
    this.backoff.forgetPrefix(`${podUid}/`);
  }
}
