// ServiceAccount tokens: JWTs signed with the cluster's service-account key
// (ECDSA P-256 → ES256), issued by the `serviceaccounts/token` subresource
// (TokenRequest) and accepted as bearer tokens by the authenticator.
// Claims follow upstream's bound tokens: iss, sub system:serviceaccount:NS:NAME,
// aud, exp/iat/nbf, jti and a `kubernetes.io` claim naming the namespace,
// service account and (when bound) the pod.
import { createHash, createPrivateKey, createPublicKey, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import type { UserInfo } from './context.js';

export const DEFAULT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

export interface TokenSubject {
  namespace: string;
  name: string;
  uid: string;
  audiences?: string[];
  expirationSeconds: number;
  pod?: { name: string; uid: string };
  node?: { name: string; uid?: string };
}

export interface VerifiedToken {
  user: UserInfo;
  namespace: string;
  serviceAccount: { name: string; uid: string };
  pod?: { name: string; uid: string };
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export class ServiceAccountTokens {
  private readonly key: KeyObject;
  private readonly pub: KeyObject;
  private readonly kid: string;
  readonly issuer: string;
  readonly audiences: string[];

  constructor(privateKeyPem: string, opts: { issuer?: string; audiences?: string[] } = {}) {
    this.key = createPrivateKey(privateKeyPem);
    this.pub = createPublicKey(this.key);
    // the key id is a hash of the public key, as upstream does, so verifiers can pick a key
    this.kid = b64url(createHash('sha256').update(this.pub.export({ type: 'spki', format: 'der' })).digest());
    this.issuer = opts.issuer ?? DEFAULT_ISSUER;
    this.audiences = opts.audiences ?? [this.issuer, 'k3s'];
  }

  issue(s: TokenSubject, now = Date.now()): { token: string; expirationTimestamp: string; audiences: string[] } {
    const iat = Math.floor(now / 1000);
    const exp = iat + s.expirationSeconds;
    const audiences = s.audiences?.length ? s.audiences : this.audiences;
    const k8s: Record<string, unknown> = { namespace: s.namespace, serviceaccount: { name: s.name, uid: s.uid } };
    if (s.pod) k8s.pod = s.pod;
    if (s.node) k8s.node = s.node;
    const claims = { aud: audiences, exp, iat, iss: this.issuer, jti: randomUUID(), 'kubernetes.io': k8s, nbf: iat, sub: `system:serviceaccount:${s.namespace}:${s.name}` };
    const head = b64url(JSON.stringify({ alg: 'ES256', kid: this.kid }));
    const body = b64url(JSON.stringify(claims));
    const sig = sign('sha256', Buffer.from(`${head}.${body}`), { key: this.key, dsaEncoding: 'ieee-p1363' });
    return { token: `${head}.${body}.${b64url(sig)}`, expirationTimestamp: new Date(exp * 1000).toISOString().replace(/\.\d+Z$/, 'Z'), audiences };
  }

  /** The identity in TOKEN, or undefined if it is not a valid, current token for our audiences. */
  verify(token: string, now = Date.now()): VerifiedToken | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    try {
      const head = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString());
      if (head.alg !== 'ES256') return undefined;
      if (!verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), { key: this.pub, dsaEncoding: 'ieee-p1363' }, Buffer.from(parts[2]!, 'base64url'))) return undefined;
      const c = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString());
      const t = Math.floor(now / 1000);
      if (c.iss !== this.issuer) return undefined;
      if (typeof c.exp !== 'number' || c.exp < t - 60) return undefined; // a minute of clock skew
      if (typeof c.nbf === 'number' && c.nbf > t + 60) return undefined;
      const aud: string[] = Array.isArray(c.aud) ? c.aud : [c.aud];
      if (!aud.some((a) => this.audiences.includes(a))) return undefined;
      const k = c['kubernetes.io'];
      const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(c.sub ?? '');
      if (!k || !m || k.namespace !== m[1] || k.serviceaccount?.name !== m[2]) return undefined;
      const ns = m[1]!;
      return {
        user: { username: c.sub, uid: k.serviceaccount.uid, groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'] },
        namespace: ns,
        serviceAccount: { name: m[2]!, uid: k.serviceaccount.uid },
        pod: k.pod,
      };
    } catch {
      return undefined;
    }
  }
}
