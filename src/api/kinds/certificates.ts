// certificates.k8s.io/v1: CertificateSigningRequest.
import { field } from '../errors.js';
import type { KindDefinition } from '../kind.js';
import { type Errs, enumError, isQualifiedName } from '../validation.js';
import { clone } from './util.js';

const keyUsages = [
  'signing', 'digital signature', 'content commitment', 'key encipherment', 'key agreement', 'data encipherment',
  'cert sign', 'crl sign', 'encipher only', 'decipher only', 'any', 'server auth', 'client auth', 'code signing',
  'email protection', 's/mime', 'ipsec end system', 'ipsec tunnel', 'ipsec user', 'timestamping', 'ocsp signing',
  'microsoft sgc', 'netscape sgc',
];

function validateSignerName(v: unknown): Errs {
  if (!v) return [field.required('spec.signerName')];
  const s = String(v);
  const parts = s.split('/');
  if (parts.length < 2) return [field.invalid('spec.signerName', s, 'must be a fully qualified domain and path of the form \'example.com/signer-name\'')];
  return isQualifiedName(`${parts[0]}/x`).map((m) => field.invalid('spec.signerName', s, m));
}

export const certificatesigningrequests: KindDefinition = {
  group: 'certificates.k8s.io', version: 'v1', kind: 'CertificateSigningRequest', resource: 'certificatesigningrequests',
  namespaced: false, shortNames: ['csr'], statusSubresource: true, subresources: ['approval'],
  fieldSelectors: { 'spec.signerName': (o) => o.spec?.signerName ?? '' },
  prepareForCreate(obj) { obj.status = {}; },
  prepareForUpdate(obj, old) {
    // the request is immutable; approval and status have their own subresources
    obj.spec = clone(old.spec);
  },
  validate(obj) {
    const errs: Errs = [];
    const spec = obj.spec ?? {};
    if (!spec.request) errs.push(field.required('spec.request'));
    else {
      const pem = Buffer.from(String(spec.request), 'base64').toString('latin1');
      if (!pem.includes('-----BEGIN CERTIFICATE REQUEST-----')) errs.push(field.invalid('spec.request', '[]byte{...}', 'PEM block type must be CERTIFICATE REQUEST'));
    }
    errs.push(...validateSignerName(spec.signerName));
    if (spec.expirationSeconds != null && spec.expirationSeconds < 600) {
      errs.push(field.invalid('spec.expirationSeconds', spec.expirationSeconds, 'may not specify a duration less than 600 seconds (10 minutes)'));
    }
    if (!(spec.usages?.length > 0)) errs.push(field.required('spec.usages'));
    (spec.usages ?? []).forEach((u: string, i: number) => errs.push(...enumError(`spec.usages[${i}]`, u, keyUsages)));
    const seen = new Set<string>();
    (obj.status?.conditions ?? []).forEach((c: any, i: number) => {
      const p = `status.conditions[${i}]`;
      if (!c?.type) errs.push(field.required(`${p}.type`));
      if (c?.status && !['True', 'False', 'Unknown'].includes(c.status)) errs.push(field.notSupported(`${p}.status`, c.status, ['False', 'True', 'Unknown']));
      if (['Approved', 'Denied', 'Failed'].includes(c?.type)) {
        if (seen.has(c.type)) errs.push(field.duplicate(`${p}.type`, c.type));
        if ((c.type === 'Approved' && seen.has('Denied')) || (c.type === 'Denied' && seen.has('Approved'))) {
          errs.push(field.invalid(`${p}.type`, c.type, 'Approved and Denied conditions are mutually exclusive'));
        }
        seen.add(c.type);
      }
    });
    return errs;
  },
};

export const certificatesKinds: KindDefinition[] = [certificatesigningrequests];
