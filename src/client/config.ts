// How a client reaches the API server: URL plus credentials (client certificate
// or bearer token), from a kubeconfig or handed over in-process.
import { readFileSync } from 'node:fs';
import YAML from 'yaml';

export interface ClientConfig {
  server: string;
  ca?: string;
  cert?: string;
  key?: string;
  token?: string;
  /** skip server certificate checks (tests against self-made servers only) */
  insecure?: boolean;
  userAgent?: string;
}

/** Read the current context of a kubeconfig file. */
export function loadKubeconfig(path: string): ClientConfig {
  const kc = YAML.parse(readFileSync(path, 'utf8'));
  const ctxName = kc['current-context'];
  const ctx = (kc.contexts ?? []).find((c: { name: string }) => c.name === ctxName)?.context ?? kc.contexts?.[0]?.context;
  const cluster = (kc.clusters ?? []).find((c: { name: string }) => c.name === ctx?.cluster)?.cluster ?? kc.clusters?.[0]?.cluster;
  const user = (kc.users ?? []).find((u: { name: string }) => u.name === ctx?.user)?.user ?? kc.users?.[0]?.user ?? {};
  const data = (inline: string | undefined, file: string | undefined) => (inline ? Buffer.from(inline, 'base64').toString() : file ? readFileSync(file, 'utf8') : undefined);
  return {
    server: cluster.server,
    ca: data(cluster['certificate-authority-data'], cluster['certificate-authority']),
    cert: data(user['client-certificate-data'], user['client-certificate']),
    key: data(user['client-key-data'], user['client-key']),
    token: user.token,
    insecure: cluster['insecure-skip-tls-verify'] === true,
  };
}
