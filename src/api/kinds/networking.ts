// networking.k8s.io/v1 kinds: Ingress, IngressClass, NetworkPolicy.
import { field } from '../errors.js';
import type { KindDefinition } from '../kind.js';
import {
  type Errs, enumError, immutable, isDNS1123Label, isDNS1123Subdomain, isValidCIDR, isValidPortName, isValidPortNum, isWildcardDNS1123Subdomain, nameErrors, requiredWith,
} from '../validation.js';
import { validateLabelSelector } from '../labels.js';
import { ensure, initGeneration, bumpGeneration } from './util.js';

const networking = { group: 'networking.k8s.io', version: 'v1' } as const;
const pathTypes = ['Exact', 'ImplementationSpecific', 'Prefix'];

function validateBackend(b: any, path: string): Errs {
  const errs: Errs = [];
  if (!b) return [field.required(path)];
  if (b.service && b.resource) return [field.invalid(path, b, 'cannot set both resource and service backends')];
  if (b.service) {
    if (!b.service.name) errs.push(field.required(`${path}.service.name`));
    else errs.push(...nameErrors(`${path}.service.name`, b.service.name, isDNS1123Label(b.service.name)));
    const port = b.service.port ?? {};
    if (port.name && port.number) errs.push(field.invalid(`${path}.service.port`, port, 'cannot set both port name & port number'));
    else if (port.name) errs.push(...isValidPortName(port.name).map((m) => field.invalid(`${path}.service.port.name`, port.name, m)));
    else if (port.number != null) errs.push(...isValidPortNum(port.number).map((m) => field.invalid(`${path}.service.port.number`, port.number, m)));
    else errs.push(field.invalid(`${path}.service.port`, port, 'port name or number is required'));
  } else if (b.resource) {
    if (!b.resource.kind) errs.push(field.required(`${path}.resource.kind`));
    if (!b.resource.name) errs.push(field.required(`${path}.resource.name`));
  } else {
    errs.push(field.invalid(path, b, 'resource or service backend is required'));
  }
  return errs;
}

export const ingresses: KindDefinition = {
  ...networking, kind: 'Ingress', resource: 'ingresses', namespaced: true, shortNames: ['ing'], statusSubresource: true,
  prepareForCreate(obj) { obj.status = { loadBalancer: {} }; initGeneration(obj); },
  prepareForUpdate(obj, old) { bumpGeneration(obj, old); },
  validate(obj) {
    const errs: Errs = [];
    const spec = obj.spec ?? {};
    if (!spec.defaultBackend && !(spec.rules?.length > 0)) errs.push(field.invalid('spec', spec, 'either `defaultBackend` or `rules` must be specified'));
    if (spec.defaultBackend) errs.push(...validateBackend(spec.defaultBackend, 'spec.defaultBackend'));
    if (spec.ingressClassName) errs.push(...nameErrors('spec.ingressClassName', spec.ingressClassName, isDNS1123Subdomain(spec.ingressClassName)));
    (spec.tls ?? []).forEach((t: any, i: number) => {
      (t?.hosts ?? []).forEach((h: string, j: number) => {
        const msgs = h.startsWith('*') ? isWildcardDNS1123Subdomain(h) : isDNS1123Subdomain(h);
        errs.push(...msgs.map((m) => field.invalid(`spec.tls[${i}].hosts[${j}]`, h, m)));
      });
    });
    (spec.rules ?? []).forEach((r: any, i: number) => {
      const rp = `spec.rules[${i}]`;
      if (r?.host) {
        if (/^\d+\.\d+\.\d+\.\d+$/.test(r.host)) errs.push(field.invalid(`${rp}.host`, r.host, 'must be a DNS name, not an IP address'));
        const msgs = r.host.startsWith('*') ? isWildcardDNS1123Subdomain(r.host) : isDNS1123Subdomain(r.host);
        errs.push(...msgs.map((m) => field.invalid(`${rp}.host`, r.host, m)));
      }
      if (!r?.http) return;
      const paths: any[] = r.http.paths ?? [];
      if (paths.length === 0) errs.push(field.required(`${rp}.http.paths`));
      paths.forEach((p: any, j: number) => {
        const pp = `${rp}.http.paths[${j}]`;
        if (!p?.pathType) errs.push(requiredWith(`${pp}.pathType`, 'pathType must be specified'));
        else {
          errs.push(...enumError(`${pp}.pathType`, p.pathType, pathTypes));
          if ((p.pathType === 'Exact' || p.pathType === 'Prefix')) {
            if (!String(p.path ?? '').startsWith('/')) errs.push(field.invalid(`${pp}.path`, p.path ?? '', 'must be an absolute path'));
            else if (/\/\/|\/\.\.?(\/|$)/.test(p.path)) errs.push(field.invalid(`${pp}.path`, p.path, "must not contain '//', '/./' or '/../'"));
          } else if (p.path && !String(p.path).startsWith('/')) {
            errs.push(field.invalid(`${pp}.path`, p.path, 'must be an absolute path'));
          }
        }
        errs.push(...validateBackend(p?.backend, `${pp}.backend`));
      });
    });
    return errs;
  },
};

export const ingressclasses: KindDefinition = {
  ...networking, kind: 'IngressClass', resource: 'ingressclasses', namespaced: false,
  defaults(obj) {
    const params = obj.spec?.parameters;
    if (params && !params.scope) params.scope = 'Cluster';
  },
  validate(obj, old) {
    const errs: Errs = [];
    const spec = obj.spec ?? {};
    if (!spec.controller) errs.push(field.required('spec.controller'));
    else if (String(spec.controller).length > 250) errs.push(field.tooLong('spec.controller', 250));
    const p = spec.parameters;
    if (p) {
      if (!p.kind) errs.push(field.required('spec.parameters.kind'));
      if (!p.name) errs.push(field.required('spec.parameters.name'));
      errs.push(...enumError('spec.parameters.scope', p.scope, ['Cluster', 'Namespace']));
      if (p.scope === 'Namespace' && !p.namespace) errs.push(requiredWith('spec.parameters.namespace', '`parameters.scope` is set to "Namespace"'));
      if (p.scope === 'Cluster' && p.namespace) errs.push(field.forbidden('spec.parameters.namespace', '`parameters.scope` is set to "Cluster"'));
    }
    if (old) errs.push(...immutable(spec.controller, old.spec?.controller, 'spec.controller'));
    return errs;
  },
};

function validatePeers(peers: any[] | undefined, path: string): Errs {
  const errs: Errs = [];
  (peers ?? []).forEach((p: any, i: number) => {
    const pp = `${path}[${i}]`;
    const set = ['podSelector', 'namespaceSelector', 'ipBlock'].filter((k) => p?.[k] != null);
    if (set.length === 0) errs.push(requiredWith(pp, 'must specify a peer'));
    if (p?.ipBlock && set.length > 1) errs.push(field.forbidden(pp, 'may not specify both ipBlock and another peer'));
    errs.push(...validateLabelSelector(p?.podSelector, `${pp}.podSelector`), ...validateLabelSelector(p?.namespaceSelector, `${pp}.namespaceSelector`));
    if (p?.ipBlock) {
      if (!p.ipBlock.cidr) errs.push(field.required(`${pp}.ipBlock.cidr`));
      else if (!isValidCIDR(p.ipBlock.cidr)) errs.push(field.invalid(`${pp}.ipBlock.cidr`, p.ipBlock.cidr, 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'));
      (p.ipBlock.except ?? []).forEach((c: string, j: number) => {
        if (!isValidCIDR(c)) errs.push(field.invalid(`${pp}.ipBlock.except[${j}]`, c, 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'));
      });
    }
  });
  return errs;
}

function validateNPPorts(ports: any[] | undefined, path: string): Errs {
  const errs: Errs = [];
  (ports ?? []).forEach((p: any, i: number) => {
    const pp = `${path}[${i}]`;
    errs.push(...enumError(`${pp}.protocol`, p?.protocol, ['SCTP', 'TCP', 'UDP']));
    if (p?.port != null) {
      if (typeof p.port === 'number') errs.push(...isValidPortNum(p.port).map((m) => field.invalid(`${pp}.port`, p.port, m)));
      else errs.push(...isValidPortName(p.port).map((m) => field.invalid(`${pp}.port`, p.port, m)));
    }
    if (p?.endPort != null) {
      if (p.port == null) errs.push(requiredWith(`${pp}.port`, 'must be defined when endPort is defined'));
      else if (typeof p.port !== 'number') errs.push(field.invalid(`${pp}.endPort`, p.endPort, 'may not be specified when `port` is non-numeric'));
      else if (p.endPort < p.port) errs.push(field.invalid(`${pp}.endPort`, p.endPort, 'must be greater than or equal to `port`'));
    }
  });
  return errs;
}

export const networkpolicies: KindDefinition = {
  ...networking, kind: 'NetworkPolicy', resource: 'networkpolicies', namespaced: true, shortNames: ['netpol'],
  defaults(obj) {
    const spec = ensure(obj, 'spec');
    spec.podSelector ??= {};
    for (const rule of [...(spec.ingress ?? []), ...(spec.egress ?? [])]) {
      for (const p of rule?.ports ?? []) if (p && !p.protocol) p.protocol = 'TCP';
    }
    if (!(spec.policyTypes?.length > 0)) {
      spec.policyTypes = ['Ingress'];
      if (spec.egress?.length > 0) spec.policyTypes.push('Egress');
    }
  },
  prepareForCreate(obj) { initGeneration(obj); },
  prepareForUpdate(obj, old) { bumpGeneration(obj, old); },
  validate(obj) {
    const errs: Errs = [];
    const spec = obj.spec ?? {};
    errs.push(...validateLabelSelector(spec.podSelector, 'spec.podSelector'));
    (spec.ingress ?? []).forEach((r: any, i: number) => {
      errs.push(...validateNPPorts(r?.ports, `spec.ingress[${i}].ports`), ...validatePeers(r?.from, `spec.ingress[${i}].from`));
    });
    (spec.egress ?? []).forEach((r: any, i: number) => {
      errs.push(...validateNPPorts(r?.ports, `spec.egress[${i}].ports`), ...validatePeers(r?.to, `spec.egress[${i}].to`));
    });
    const types: string[] = spec.policyTypes ?? [];
    types.forEach((t, i) => errs.push(...enumError(`spec.policyTypes[${i}]`, t, ['Ingress', 'Egress'])));
    if (types.length > 2) errs.push(field.invalid('spec.policyTypes', types, 'may not specify more than two policyTypes'));
    return errs;
  },
};

export const networkingKinds: KindDefinition[] = [ingresses, ingressclasses, networkpolicies];
