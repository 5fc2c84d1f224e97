// discovery.k8s.io/v1: EndpointSlice.
import { field } from '../errors.js';
import type { KindDefinition } from '../kind.js';
import { type Errs, enumError, isDNS1123Label, isDNS1123Subdomain, isValidIP, isValidPortNum, nameErrors, validateLabels } from '../validation.js';

const addressTypes = ['IPv4', 'IPv6', 'FQDN'];

export const endpointslices: KindDefinition = {
  group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice', resource: 'endpointslices', namespaced: true,
  defaults(obj) {
    for (const p of obj.ports ?? []) {
      if (!p || typeof p !== 'object') continue;
      p.name ??= '';
      p.protocol ||= 'TCP';
    }
  },
  validate(obj, old) {
    const errs: Errs = [];
    errs.push(...enumError('addressType', obj.addressType, addressTypes, true));
    const eps: any[] = obj.endpoints ?? [];
    if (eps.length > 1000) errs.push(field.tooLong('endpoints', 1000));
    eps.forEach((ep: any, i: number) => {
      const p = `endpoints[${i}]`;
      const addrs: any[] = ep?.addresses ?? [];
      if (addrs.length === 0) errs.push(requiredAddr(`${p}.addresses`));
      if (addrs.length > 100) errs.push(field.tooLong(`${p}.addresses`, 100));
      addrs.forEach((a: string, j: number) => {
        const ap = `${p}.addresses[${j}]`;
        if (obj.addressType === 'IPv4' && !(isValidIP(a) && !a.includes(':'))) errs.push(field.invalid(ap, a, 'must be a valid IPv4 address'));
        else if (obj.addressType === 'IPv6' && !(isValidIP(a) && a.includes(':'))) errs.push(field.invalid(ap, a, 'must be a valid IPv6 address'));
        else if (obj.addressType === 'FQDN') errs.push(...nameErrors(ap, a, isDNS1123Subdomain(a)));
      });
      if (ep?.hostname) errs.push(...nameErrors(`${p}.hostname`, ep.hostname, isDNS1123Label(ep.hostname)));
      if (ep?.nodeName) errs.push(...nameErrors(`${p}.nodeName`, ep.nodeName, isDNS1123Subdomain(ep.nodeName)));
      errs.push(...validateLabels(ep?.deprecatedTopology, `${p}.deprecatedTopology`));
    });
    const names = new Set<string>();
    (obj.ports ?? []).forEach((pt: any, i: number) => {
      const p = `ports[${i}]`;
      const n = pt?.name ?? '';
      if (n) errs.push(...isDNS1123Label(n).map((m) => field.invalid(`${p}.name`, n, m)));
      if (names.has(n)) errs.push(field.duplicate(`${p}.name`, n));
      names.add(n);
      if (pt?.port != null) errs.push(...isValidPortNum(pt.port).map((m) => field.invalid(`${p}.port`, pt.port, m)));
      errs.push(...enumError(`${p}.protocol`, pt?.protocol, ['SCTP', 'TCP', 'UDP'], true));
    });
    if (old && old.addressType !== obj.addressType) errs.push(field.invalid('addressType', obj.addressType, 'field is immutable'));
    return errs;
  },
};

function requiredAddr(path: string) {
  return field.required(path, 'Required value: must contain at least 1 address');
}

export const discoveryKinds: KindDefinition[] = [endpointslices];
