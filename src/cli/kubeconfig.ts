// The admin kubeconfig written to DATA_DIR/kubeconfig.yaml.
import YAML from 'yaml';
import type { ClusterPki } from '../apiserver/pki.js';

export function adminKubeconfig(pki: ClusterPki, server: string): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return YAML.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'k8ts', cluster: { server, 'certificate-authority-data': b64(pki.ca.cert) } }],
    users: [{ name: 'admin', user: { 'client-certificate-data': b64(pki.admin.cert), 'client-key-data': b64(pki.admin.key) } }],
    contexts: [{ name: 'k8ts', context: { cluster: 'k8ts', user: 'admin' } }],
    'current-context': 'k8ts',
    preferences: {},
  });
}
