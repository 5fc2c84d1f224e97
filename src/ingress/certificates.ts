// TLS for the HTTPS listener: the SNI callback picks a SecureContext made from the
// `kubernetes.io/tls` Secret that spec.tls names for the host (exact, then
// `*.suffix`), else a self-signed fallback made at start. Contexts are built when
// a Secret changes (never per handshake) and swapped whole, so rotation needs no
// restart and open connections keep the certificate they started with.
import * as x509 from '@peculiar/x509';
import { createSecureContext, type SecureContext } from 'node:tls';
import { webcrypto, KeyObject } from 'node:crypto';
import type { Secret } from 'kubernetes-types/core/v1.js';
import type { TlsEntry } from './routeTable.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export interface KeyPair {
  cert: string;
  key: string;
}

/** A self-signed certificate (ECDSA P-256) for the given names. */
export async function selfSignedCertificate(commonName: string, dnsNames: string[], days = 365): Promise<KeyPair> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: (now * 1000 + Math.floor(Math.random() * 1000)).toString(16),
    name: `CN=${commonName}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + days * 86400_000),
    signingAlgorithm: alg,
    keys,
    extensions: [new x509.SubjectAlternativeNameExtension(dnsNames.map((value) => ({ type: 'dns' as const, value })), false), new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false)],
  });
  const key = KeyObject.from(keys.privateKey as unknown as webcrypto.CryptoKey).export({ type: 'pkcs8', format: 'pem' }) as string;
  return { cert: cert.toString('pem'), key };
}

/** The certificate for unknown SNI, like ingress-nginx's "Fake Certificate". */
export function fallbackCertificate(): Promise<KeyPair> {
  return selfSignedCertificate('K8ts Ingress Controller Fake Certificate', ['ingress.local']);
}

export class CertificateStore {
  private exact = new Map<string, SecureContext>();
  private wildcard = new Map<string, SecureContext>();
  /** per Secret key: the resourceVersion the context was built from */
  private built = new Map<string, { rv: string; ctx?: SecureContext; error?: string }>();
  readonly fallback: SecureContext;

  constructor(fallback: KeyPair) {
    this.fallback = createSecureContext(fallback);
  }

  /**
   * Rebuild the host → context maps from the table's TLS entries and the Secrets.
   * Returns the problems (missing Secret, bad PEM) to report.
   */
  update(entries: TlsEntry[], getSecret: (key: string) => Secret | undefined): string[] {
    const problems: string[] = [];
    const exact = new Map<string, SecureContext>();
    const wildcard = new Map<string, SecureContext>();
    const used = new Set<string>();
    for (const e of entries) {
      if (!e.secret) continue; // no secretName: the fallback certificate
      used.add(e.secret);
      const ctx = this.context(e.secret, getSecret(e.secret), problems);
      if (!ctx) continue;
      if (e.host.startsWith('*.')) wildcard.set(e.host.slice(2), ctx);
      else exact.set(e.host, ctx);
    }
    for (const k of this.built.keys()) if (!used.has(k)) this.built.delete(k);
    this.exact = exact;
    this.wildcard = wildcard;
    return problems;
  }

  private context(key: string, secret: Secret | undefined, problems: string[]): SecureContext | undefined {
    if (!secret) {
      problems.push(`secret ${key} not found; the fallback certificate is served`);
      return undefined;
    }
    const rv = secret.metadata?.resourceVersion ?? '';
    let b = this.built.get(key);
    if (!b || b.rv !== rv) {
      b = { rv };
      try {
        const cert = Buffer.from(secret.data?.['tls.crt'] ?? '', 'base64').toString();
        const pkey = Buffer.from(secret.data?.['tls.key'] ?? '', 'base64').toString();
        if (!cert || !pkey) throw new Error('tls.crt and tls.key are required');
        b.ctx = createSecureContext({ cert, key: pkey });
      } catch (e) {
        b.error = (e as Error).message;
      }
      this.built.set(key, b);
    }
    if (b.error) problems.push(`secret ${key}: ${b.error}; the fallback certificate is served`);
    return b.ctx;
  }

  /** The context for a TLS server name (lower-case). */
  lookup(servername: string | undefined): SecureContext {
    if (!servername) return this.fallback;
    const name = servername.toLowerCase();
    const ctx = this.exact.get(name);
    if (ctx) return ctx;
    const dot = name.indexOf('.');
    return (dot > 0 && this.wildcard.get(name.slice(dot + 1))) || this.fallback;
  }

  /** node's SNICallback */
  readonly sniCallback = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void): void => cb(null, this.lookup(servername));
}
