// Table printers for certificates.k8s.io.
import type { CertificateSigningRequest } from 'kubernetes-types/certificates/v1.js';
import type { Printer } from '../kind.js';
import { ageColumn, col, humanDuration, nameColumn, since } from './format.js';

/** CONDITION: Denied|Approved|Pending, then ",Failed" and ",Issued". */
export function csrCondition(csr: CertificateSigningRequest): string {
  const types = new Set((csr.status?.conditions ?? []).map((c) => c.type));
  let s = types.has('Denied') ? 'Denied' : types.has('Approved') ? 'Approved' : 'Pending';
  if (types.has('Failed')) s += ',Failed';
  if (csr.status?.certificate) s += ',Issued';
  return s;
}

const csr: Printer = {
  columns: [
    nameColumn,
    ageColumn,
    col('SignerName', 'string', 'Requested signer for the request.'),
    col('Requestor', 'string', 'Base64-encoded PKCS#10 CSR data'),
    col('RequestedDuration', 'string', 'expirationSeconds is the requested duration of validity of the issued certificate.'),
    col('Condition', 'string', 'Conditions applied to the request, such as approval or denial.'),
  ],
  cells(obj, now) {
    const c = obj as CertificateSigningRequest;
    const exp = c.spec?.expirationSeconds;
    return [
      c.metadata?.name ?? '', since(c.metadata?.creationTimestamp, now), c.spec?.signerName || '<none>', c.spec?.username ?? '',
      exp !== undefined && exp !== null ? humanDuration(exp * 1000) : '<none>', csrCondition(c),
    ];
  },
};

const clusterTrustBundle: Printer = {
  columns: [nameColumn, col('SignerName', 'string', 'signerName indicates the associated signer, if any.')],
  cells: (obj) => [obj.metadata?.name ?? '', obj.spec?.signerName || '<none>'],
};

export const certificatesPrinters: Record<string, Printer> = {
  CertificateSigningRequest: csr,
  ClusterTrustBundle: clusterTrustBundle,
};
