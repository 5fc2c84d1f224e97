// Cluster PKI: a CA made on first start and kept in the data dir, a serving
// certificate for every name clients use, and an admin client certificate.
// ECDSA P-256: fast to generate (start-up < 1 s) and accepted by kubectl.
import * as x509 from '@peculiar/x509';
import { webcrypto, KeyObject, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isIP } from 'node:net';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface KeyPairPem {
  cert: string;
  key: string;
}

export interface ClusterPki {
  ca: KeyPairPem;
  serving: KeyPairPem;
  admin: KeyPairPem;
  /** key that signs ServiceAccount tokens */
  serviceAccountKey: string;
  /** client certificates of the in-process components, by component name */
  components: Record<string, KeyPairPem>;
}

/** Components that run inside `k8ts server` and reach the API over loopback. */
export const componentIdentities: Record<string, string> = {
  'kube-controller-manager': 'CN=system:kube-controller-manager, O=system:masters',
  'kube-scheduler': 'CN=system:kube-scheduler, O=system:masters',
  // the apiserver's identity toward kubelets (logs, exec, attach, port-forward, nodes/proxy)
  'kube-apiserver-kubelet-client': 'CN=kube-apiserver-kubelet-client, O=system:masters',
  // the embedded ingress controller (reads Ingresses, Services, EndpointSlices, Secrets; writes Ingress status)
  'k8ts-ingress': 'CN=system:k8ts-ingress, O=system:masters',
};

async function newKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
}

function keyPem(key: CryptoKey): string {
  return KeyObject.from(key as unknown as webcrypto.CryptoKey).export({ type: 'pkcs8', format: 'pem' }) as string;
}

function serial(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1');
}

async function importKey(pem: string): Promise<CryptoKey> {
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return (await webcrypto.subtle.importKey('pkcs8', der, alg, true, ['sign'])) as unknown as CryptoKey;
}

async function makeCa(): Promise<KeyPairPem> {
  const keys = await newKeys();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=k8ts-ca@${Math.floor(now / 1000)}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 10 * 365 * 86400_000),
    signingAlgorithm: alg,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem'), key: keyPem(keys.privateKey) };
}

/** Sign a leaf certificate with the CA. */
export async function issueCertificate(
  ca: KeyPairPem,
  subject: string,
  opts: { server?: boolean; client?: boolean; dnsNames?: string[]; ips?: string[]; days?: number },
): Promise<KeyPairPem> {
  const keys = await newKeys();
  const caCert = new x509.X509Certificate(ca.cert);
  const caKey = await importKey(ca.key);
  const now = Date.now();
  const usages: string[] = [];
  if (opts.server) usages.push(x509.ExtendedKeyUsage.serverAuth);
  if (opts.client) usages.push(x509.ExtendedKeyUsage.clientAuth);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension(usages, false),
    await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
  ];
  const names = [
    ...(opts.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(opts.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  if (names.length) extensions.push(new x509.SubjectAlternativeNameExtension(names, false));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: caCert.subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + (opts.days ?? 365) * 86400_000),
    signingAlgorithm: alg,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions,
  });
  return { cert: cert.toString('pem'), key: keyPem(keys.privateKey) };
}

/** Names the serving certificate must carry. */
export function servingNames(hostname: string, extraIps: string[], serviceIp = '10.43.0.1', extraNames: string[] = []): { dnsNames: string[]; ips: string[] } {
  const dnsNames = ['localhost', hostname, 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', ...extraNames.filter((n) => n && !isIP(n))];
  const ips = ['127.0.0.1', '::1', serviceIp, ...extraIps.filter((ip) => isIP(ip)), ...extraNames.filter((n) => isIP(n))];
  return { dnsNames: [...new Set(dnsNames)], ips: [...new Set(ips)] };
}

function load(dir: string, name: string): KeyPairPem | undefined {
  const c = join(dir, `${name}.crt`);
  const k = join(dir, `${name}.key`);
  if (!existsSync(c) || !existsSync(k)) return undefined;
  return { cert: readFileSync(c, 'utf8'), key: readFileSync(k, 'utf8') };
}

function save(dir: string, name: string, kp: KeyPairPem): void {
  writeFileSync(join(dir, `${name}.crt`), kp.cert, { mode: 0o644 });
  writeFileSync(join(dir, `${name}.key`), kp.key, { mode: 0o600 });
}

function coversNames(pem: string, names: { dnsNames: string[]; ips: string[] }): boolean {
  const san = new X509Certificate(pem).subjectAltName ?? '';
  return names.dnsNames.every((d) => san.includes(`DNS:${d}`)) && names.ips.filter((i) => !i.includes(':')).every((i) => san.includes(`IP Address:${i}`));
}

/** Load the PKI from DIR/tls, creating what is missing. The CA is never replaced. */
/** The kubelet's client identity for node NAME (Node authorizer style; system:masters until RBAC). */
export function kubeletIdentity(nodeName: string): Record<string, string> {
  return { [`kubelet-${nodeName}`]: `CN=system:node:${nodeName}, O=system:nodes, O=system:masters` };
}

export async function ensurePki(dataDir: string, names: { dnsNames: string[]; ips: string[] }, extraIdentities: Record<string, string> = {}): Promise<ClusterPki> {
  const dir = join(dataDir, 'tls');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let ca = load(dir, 'ca');
  if (!ca) {
    ca = await makeCa();
    save(dir, 'ca', ca);
  }
  let serving = load(dir, 'serving');
  if (!serving || !coversNames(serving.cert, names)) {
    serving = await issueCertificate(ca, 'CN=kube-apiserver', { server: true, ...names });
    save(dir, 'serving', serving);
  }
  let admin = load(dir, 'admin');
  if (!admin) {
    admin = await issueCertificate(ca, 'CN=admin, O=system:masters', { client: true });
    save(dir, 'admin', admin);
  }
  let sa = load(dir, 'service-account');
  if (!sa) {
    const keys = await newKeys();
    sa = { cert: '', key: keyPem(keys.privateKey) };
    save(dir, 'service-account', sa);
  }
  const components: Record<string, KeyPairPem> = {};
  for (const [name, subject] of Object.entries({ ...componentIdentities, ...extraIdentities })) {
    let kp = load(dir, name);
    if (!kp) {
      kp = await issueCertificate(ca, subject, { client: true });
      save(dir, name, kp);
    }
    components[name] = kp;
  }
  return { ca, serving, admin, serviceAccountKey: sa.key, components };
}
