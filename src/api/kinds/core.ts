// core/v1 kinds (the legacy "" group).
import { field } from '../errors.js';
import type { KindDefinition, KubeObject } from '../kind.js';
import {
  type Errs, deepEqual, enumError, immutable, isConfigMapKey, isDNS1035Label, isDNS1123Label, isDNS1123Subdomain, isQualifiedName, isValidCIDR, isValidIP, isValidPortName, isValidPortNum, nameErrors, parseQuantity, requiredWith, validateLabels, validateNonnegative, validatePositive, validateResourceList,
} from '../validation.js';
import { validateLabelSelector } from '../labels.js';
import { computeQOSClass, defaultPod, defaultPodTemplate, validatePodSpec, validatePodSpecUpdate, validatePodTemplateSpec, validatePortNumOrName } from './podSpec.js';
import { clone, ensure, initGeneration, bumpGeneration } from './util.js';

const core = { group: '', version: 'v1' } as const;
const protocols = ['SCTP', 'TCP', 'UDP'];

function nowRFC3339(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

// ----------------------------------------------------------------- Namespace

export const namespaces: KindDefinition = {
  ...core, kind: 'Namespace', resource: 'namespaces', namespaced: false, shortNames: ['ns'],
  nameValidation: 'label', statusSubresource: true, subresources: ['finalize'],
  fieldSelectors: { 'status.phase': (o) => o.status?.phase },
  defaults(obj) {
    const name = obj.metadata?.name;
    if (name) {
      obj.metadata!.labels ??= {};
      obj.metadata!.labels['kubernetes.io/metadata.name'] = name;
    }
    ensure(obj, 'status').phase ||= 'Active';
  },
  prepareForCreate(obj) {
    obj.status = { phase: 'Active' };
    const spec = ensure(obj, 'spec');
    spec.finalizers ??= [];
    if (!spec.finalizers.includes('kubernetes')) spec.finalizers.push('kubernetes');
  },
  prepareForUpdate(obj, old) {
    // finalizers change only through /finalize
    obj.spec = { ...(obj.spec ?? {}), finalizers: clone(old.spec?.finalizers) };
    if (obj.spec.finalizers === undefined) delete obj.spec.finalizers;
  },
  validate(obj) {
    const errs: Errs = [];
    (obj.spec?.finalizers ?? []).forEach((f: string, i: number) => {
      errs.push(...isQualifiedName(f).map((m) => field.invalid(`spec.finalizers[${i}]`, f, m)));
    });
    errs.push(...enumError('status.phase', obj.status?.phase, ['Active', 'Terminating']));
    return errs;
  },
};

// ----------------------------------------------------------------------- Pod

export const pods: KindDefinition = {
  ...core, kind: 'Pod', resource: 'pods', namespaced: true, shortNames: ['po'], categories: ['all'],
  statusSubresource: true,
  subresources: ['binding', 'eviction', 'log', 'exec', 'attach', 'portforward', 'proxy', 'ephemeralcontainers'],
  fieldSelectors: {
    'spec.nodeName': (o) => o.spec?.nodeName ?? '',
    'spec.restartPolicy': (o) => o.spec?.restartPolicy ?? '',
    'spec.schedulerName': (o) => o.spec?.schedulerName ?? '',
    'spec.serviceAccountName': (o) => o.spec?.serviceAccountName ?? '',
    'spec.hostNetwork': (o) => String(!!o.spec?.hostNetwork),
    'status.phase': (o) => o.status?.phase ?? '',
    'status.podIP': (o) => o.status?.podIPs?.[0]?.ip ?? o.status?.podIP ?? '',
    'status.nominatedNodeName': (o) => o.status?.nominatedNodeName ?? '',
  },
  defaults: (obj) => defaultPod(obj),
  prepareForCreate(obj) {
    obj.status = { phase: 'Pending', qosClass: computeQOSClass(obj.spec) };
  },
  validate(obj, old) {
    const errs = validatePodSpec(obj.spec, 'spec');
    if (old) errs.push(...validatePodSpecUpdate(obj.spec, old.spec, 'spec'));
    errs.push(...enumError('status.phase', obj.status?.phase, ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown']));
    return errs;
  },
};

// ------------------------------------------------------------------- Service

const serviceTypes = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
export const nodePortRange = { min: 30000, max: 32767 };

function externallyAccessible(spec: any): boolean {
  return spec?.type === 'LoadBalancer' || spec?.type === 'NodePort' || (spec?.type === 'ClusterIP' && (spec.externalIPs?.length ?? 0) > 0);
}

/**
 * A type change wipes what only the old type used, when the client left it as it
 * was (upstream does the same): node ports, health check port, LB-only fields,
 * externalTrafficPolicy, and the load balancer status.
 */
function dropTypeDependentFields(obj: KubeObject, old: KubeObject): void {
  const spec = obj.spec;
  const os = old.spec ?? {};
  const usesNodePorts = (t: string) => t === 'NodePort' || t === 'LoadBalancer';
  if (usesNodePorts(os.type) && !usesNodePorts(spec.type)) {
    const oldPorts = new Set((os.ports ?? []).map((p: any) => p?.nodePort).filter(Boolean));
    if ((spec.ports ?? []).every((p: any) => !p?.nodePort || oldPorts.has(p.nodePort))) for (const p of spec.ports ?? []) if (p) delete p.nodePort;
  }
  const needsHc = (x: any) => x?.type === 'LoadBalancer' && x?.externalTrafficPolicy === 'Local';
  if (needsHc(os) && !needsHc(spec) && spec.healthCheckNodePort === os.healthCheckNodePort) delete spec.healthCheckNodePort;
  if (os.type === 'LoadBalancer' && spec.type !== 'LoadBalancer') {
    if (spec.allocateLoadBalancerNodePorts != null && spec.allocateLoadBalancerNodePorts === os.allocateLoadBalancerNodePorts) delete spec.allocateLoadBalancerNodePorts;
    if ((spec.loadBalancerClass ?? null) === (os.loadBalancerClass ?? null)) delete spec.loadBalancerClass;
  }
  if (externallyAccessible(os) && !externallyAccessible(spec) && spec.externalTrafficPolicy === os.externalTrafficPolicy) delete spec.externalTrafficPolicy;
  if (spec.type !== 'LoadBalancer' && obj.status?.loadBalancer) obj.status.loadBalancer = {};
}

function validateService(obj: KubeObject, old?: KubeObject): Errs {
  const errs: Errs = [];
  const spec = obj.spec ?? {};
  const name = obj.metadata?.name;
  if (name) errs.push(...nameErrors('metadata.name', name, isDNS1035Label(name)));
  errs.push(...enumError('spec.type', spec.type, serviceTypes, true));
  const headless = spec.clusterIP === 'None';
  const ports: any[] = spec.ports ?? [];
  if (spec.type === 'ExternalName') {
    if (!spec.externalName) errs.push(field.required('spec.externalName'));
    else {
      const n = String(spec.externalName).replace(/\.$/, '');
      errs.push(...nameErrors('spec.externalName', spec.externalName, isDNS1123Subdomain(n)));
    }
    if (spec.clusterIP && spec.clusterIP !== '') errs.push(field.forbidden('spec.clusterIP', 'may not be set for ExternalName services'));
  } else if (ports.length === 0 && !headless) {
    errs.push(field.required('spec.ports'));
  }
  const names = new Set<string>();
  const seen = new Set<string>();
  ports.forEach((p: any, i: number) => {
    const pp = `spec.ports[${i}]`;
    if (ports.length > 1 && !p?.name) errs.push(field.required(`${pp}.name`));
    if (p?.name) {
      errs.push(...isDNS1123Label(p.name).map((m) => field.invalid(`${pp}.name`, p.name, m)));
      if (names.has(p.name)) errs.push(field.duplicate(`${pp}.name`, p.name));
      names.add(p.name);
    }
    errs.push(...isValidPortNum(p?.port).map((m) => field.invalid(`${pp}.port`, p?.port ?? 0, m)));
    errs.push(...enumError(`${pp}.protocol`, p?.protocol, protocols, true));
    if (p?.targetPort != null && p.targetPort !== 0 && p.targetPort !== '') errs.push(...validatePortNumOrName(p.targetPort, `${pp}.targetPort`));
    const key = `${p?.port}/${p?.protocol}`;
    if (seen.has(key)) errs.push(field.duplicate(pp, { port: p?.port, protocol: p?.protocol }));
    seen.add(key);
    if (p?.nodePort) {
      if (spec.type === 'ClusterIP' || spec.type === 'ExternalName') {
        errs.push(field.forbidden(`${pp}.nodePort`, `may not be used when \`type\` is '${spec.type}'`));
      } else if (p.nodePort < nodePortRange.min || p.nodePort > nodePortRange.max) {
        errs.push(field.invalid(`${pp}.nodePort`, p.nodePort, `provided port is not in the valid range. The range of valid ports is ${nodePortRange.min}-${nodePortRange.max}`));
      }
    }
  });
  errs.push(...enumError('spec.sessionAffinity', spec.sessionAffinity, ['ClientIP', 'None'], spec.type !== 'ExternalName'));
  const t = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
  if (t != null && (t <= 0 || t > 86400)) errs.push(field.invalid('spec.sessionAffinityConfig.clientIP.timeoutSeconds', t, 'must be greater than 0 and less than 86400'));
  if (spec.clusterIP && !headless && !isValidIP(spec.clusterIP)) {
    errs.push(field.invalid('spec.clusterIPs[0]', spec.clusterIP, 'must be empty, \'None\', or a valid IP address'));
  }
  (spec.externalIPs ?? []).forEach((ip: string, i: number) => {
    if (!isValidIP(ip)) errs.push(field.invalid(`spec.externalIPs[${i}]`, ip, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'));
  });
  if (spec.externalTrafficPolicy) {
    if (!externallyAccessible(spec)) errs.push(field.invalid('spec.externalTrafficPolicy', spec.externalTrafficPolicy, 'may only be set for externally-accessible services'));
    else errs.push(...enumError('spec.externalTrafficPolicy', spec.externalTrafficPolicy, ['Cluster', 'Local']));
  }
  errs.push(...enumError('spec.internalTrafficPolicy', spec.internalTrafficPolicy, ['Cluster', 'Local']));
  errs.push(...enumError('spec.ipFamilyPolicy', spec.ipFamilyPolicy, ['SingleStack', 'PreferDualStack', 'RequireDualStack']));
  (spec.ipFamilies ?? []).forEach((f: string, i: number) => errs.push(...enumError(`spec.ipFamilies[${i}]`, f, ['IPv4', 'IPv6'])));
  errs.push(...validateLabels(spec.selector, 'spec.selector'));
  if (spec.healthCheckNodePort && !(spec.type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local')) {
    errs.push(field.invalid('spec.healthCheckNodePort', spec.healthCheckNodePort, 'may only be set when `type` is \'LoadBalancer\' and `externalTrafficPolicy` is \'Local\''));
  }
  if (spec.loadBalancerClass != null) {
    if (spec.type !== 'LoadBalancer') errs.push(field.forbidden('spec.loadBalancerClass', 'may only be used when `type` is \'LoadBalancer\''));
    else errs.push(...isQualifiedName(String(spec.loadBalancerClass)).map((m) => field.invalid('spec.loadBalancerClass', spec.loadBalancerClass, m)));
  }
  if (spec.loadBalancerIP && !isValidIP(spec.loadBalancerIP)) errs.push(field.invalid('spec.loadBalancerIP', spec.loadBalancerIP, 'must be a valid IP address'));
  if (old?.spec?.type === 'LoadBalancer' && spec.type === 'LoadBalancer' && (old.spec.loadBalancerClass ?? null) !== (spec.loadBalancerClass ?? null)) {
    errs.push(field.invalid('spec.loadBalancerClass', spec.loadBalancerClass ?? null, 'may not change once set'));
  }
  if (old) {
    const oldIP = old.spec?.clusterIP;
    if (oldIP && spec.type !== 'ExternalName' && old.spec?.type !== 'ExternalName' && spec.clusterIP !== oldIP) {
      errs.push(field.invalid('spec.clusterIPs[0]', spec.clusterIPs ?? [spec.clusterIP], 'may not change once set'));
    }
  }
  return errs;
}

export const services: KindDefinition = {
  ...core, kind: 'Service', resource: 'services', namespaced: true, shortNames: ['svc'], categories: ['all'],
  nameValidation: 'label', statusSubresource: true, subresources: ['proxy'],
  fieldSelectors: { 'spec.clusterIP': (o) => o.spec?.clusterIP ?? '', 'spec.type': (o) => o.spec?.type ?? '' },
  defaults(obj) {
    const spec = ensure(obj, 'spec');
    spec.sessionAffinity ||= 'None';
    if (spec.sessionAffinity === 'None') delete spec.sessionAffinityConfig;
    if (spec.sessionAffinity === 'ClientIP' && spec.sessionAffinityConfig?.clientIP?.timeoutSeconds == null) {
      spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: 10800 } };
    }
    spec.type ||= 'ClusterIP';
    for (const p of spec.ports ?? []) {
      if (!p || typeof p !== 'object') continue;
      p.protocol ||= 'TCP';
      if (p.targetPort == null || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
    }
    if (externallyAccessible(spec) && !spec.externalTrafficPolicy) spec.externalTrafficPolicy = 'Cluster';
    if (spec.internalTrafficPolicy == null && ['NodePort', 'LoadBalancer', 'ClusterIP'].includes(spec.type)) spec.internalTrafficPolicy = 'Cluster';
    if (spec.type === 'LoadBalancer') {
      spec.allocateLoadBalancerNodePorts ??= true;
      for (const ing of obj.status?.loadBalancer?.ingress ?? []) if (ing?.ip && !ing.ipMode) ing.ipMode = 'VIP';
    }
  },
  prepareForCreate(obj) {
    obj.status = { loadBalancer: {} };
  },
  prepareForUpdate(obj, old) {
    // keep allocated values a client left out (PUT of a manifest without clusterIP / nodePort)
    const spec = ensure(obj, 'spec');
    const os = old.spec ?? {};
    if (spec.type !== 'ExternalName' && os.type !== 'ExternalName') {
      if (!spec.clusterIP && os.clusterIP) { spec.clusterIP = os.clusterIP; if (!spec.clusterIPs && os.clusterIPs) spec.clusterIPs = clone(os.clusterIPs); }
      if (!spec.clusterIPs && os.clusterIPs && spec.clusterIP === os.clusterIP) spec.clusterIPs = clone(os.clusterIPs);
      if (!spec.ipFamilies && os.ipFamilies) spec.ipFamilies = clone(os.ipFamilies);
      if (!spec.ipFamilyPolicy && os.ipFamilyPolicy) spec.ipFamilyPolicy = os.ipFamilyPolicy;
    }
    if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') {
      for (const p of spec.ports ?? []) {
        if (p && !p.nodePort) {
          const prev = (os.ports ?? []).find((q: any) => q?.port === p.port && (q?.protocol ?? 'TCP') === (p.protocol ?? 'TCP') && q?.nodePort);
          if (prev) p.nodePort = prev.nodePort;
        }
      }
      if (!spec.healthCheckNodePort && os.healthCheckNodePort && spec.externalTrafficPolicy === 'Local') spec.healthCheckNodePort = os.healthCheckNodePort;
    }
    dropTypeDependentFields(obj, old);
  },
  validate: validateService,
};

// ----------------------------------------------------------------- Endpoints

export const endpoints: KindDefinition = {
  ...core, kind: 'Endpoints', resource: 'endpoints', singular: 'endpoints', namespaced: true, shortNames: ['ep'],
  defaults(obj) {
    for (const ss of obj.subsets ?? []) for (const p of ss?.ports ?? []) if (p && !p.protocol) p.protocol = 'TCP';
  },
  validate(obj) {
    const errs: Errs = [];
    (obj.subsets ?? []).forEach((ss: any, i: number) => {
      const sp = `subsets[${i}]`;
      for (const kind of ['addresses', 'notReadyAddresses']) {
        (ss?.[kind] ?? []).forEach((a: any, j: number) => {
          if (!a?.ip || !isValidIP(a.ip)) errs.push(field.invalid(`${sp}.${kind}[${j}].ip`, a?.ip ?? '', 'must be a valid IP address'));
          if (a?.hostname) errs.push(...nameErrors(`${sp}.${kind}[${j}].hostname`, a.hostname, isDNS1123Label(a.hostname)));
        });
      }
      const ports: any[] = ss?.ports ?? [];
      ports.forEach((p: any, j: number) => {
        const pp = `${sp}.ports[${j}]`;
        if (ports.length > 1 && !p?.name) errs.push(field.required(`${pp}.name`));
        if (p?.name) errs.push(...isDNS1123Label(p.name).map((m) => field.invalid(`${pp}.name`, p.name, m)));
        errs.push(...isValidPortNum(p?.port).map((m) => field.invalid(`${pp}.port`, p?.port ?? 0, m)));
        errs.push(...enumError(`${pp}.protocol`, p?.protocol, protocols, true));
      });
    });
    return errs;
  },
};

// -------------------------------------------------------- ConfigMap / Secret

const maxConfigSize = 1024 * 1024;

function validateKeys(maps: [string, Record<string, unknown> | undefined][]): Errs {
  const errs: Errs = [];
  const seen = new Set<string>();
  let size = 0;
  for (const [path, m] of maps) {
    for (const [k, v] of Object.entries(m ?? {})) {
      errs.push(...isConfigMapKey(k).map((msg) => field.invalid(`${path}[${k}]`, k, msg)));
      if (seen.has(k)) errs.push(field.invalid(`${path}[${k}]`, k, 'duplicate of key present in data'));
      seen.add(k);
      size += typeof v === 'string' ? v.length : 0;
    }
  }
  if (size > maxConfigSize) errs.push(field.tooLong(maps[0][0], maxConfigSize));
  return errs;
}

function immutableData(obj: KubeObject, old: KubeObject | undefined, keys: string[]): Errs {
  if (!old || old.immutable !== true) return [];
  const errs: Errs = [];
  if (obj.immutable !== true) errs.push(field.forbidden('immutable', 'field is immutable when `immutable` is set'));
  for (const k of keys) if (!deepEqual(obj[k], old[k])) errs.push(field.forbidden(k, 'field is immutable when `immutable` is set'));
  return errs;
}

export const configmaps: KindDefinition = {
  ...core, kind: 'ConfigMap', resource: 'configmaps', namespaced: true, shortNames: ['cm'],
  validate(obj, old) {
    return [...validateKeys([['data', obj.data], ['binaryData', obj.binaryData]]), ...immutableData(obj, old, ['data', 'binaryData'])];
  },
};

const secretRequiredKeys: Record<string, string[]> = {
  'kubernetes.io/dockercfg': ['.dockercfg'],
  'kubernetes.io/dockerconfigjson': ['.dockerconfigjson'],
  'kubernetes.io/ssh-auth': ['ssh-privatekey'],
  'kubernetes.io/tls': ['tls.crt', 'tls.key'],
};

export const secrets: KindDefinition = {
  ...core, kind: 'Secret', resource: 'secrets', namespaced: true,
  fieldSelectors: { type: (o) => o.type ?? '' },
  defaults(obj) {
    obj.type ||= 'Opaque';
    // stringData is write-only: it is merged into data (base64) and never stored
    if (obj.stringData && typeof obj.stringData === 'object') {
      obj.data ??= {};
      for (const [k, v] of Object.entries(obj.stringData)) obj.data[k] = Buffer.from(String(v), 'utf8').toString('base64');
      delete obj.stringData;
    }
  },
  validate(obj, old) {
    const errs = validateKeys([['data', obj.data]]);
    for (const [k, v] of Object.entries(obj.data ?? {})) {
      if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) errs.push(field.invalid(`data[${k}]`, v, 'must be base64-encoded'));
    }
    const type = obj.type;
    for (const k of secretRequiredKeys[type] ?? []) if (!(k in (obj.data ?? {}))) errs.push(field.required(`data[${k}]`));
    if (type === 'kubernetes.io/service-account-token' && !obj.metadata?.annotations?.['kubernetes.io/service-account.name']) {
      errs.push(field.required('metadata.annotations[kubernetes.io/service-account.name]'));
    }
    if (type === 'kubernetes.io/basic-auth' && !('username' in (obj.data ?? {})) && !('password' in (obj.data ?? {}))) {
      errs.push(requiredWith('data[username]', 'either username or password is required'));
    }
    if (old) {
      if (obj.type !== old.type) errs.push(field.invalid('type', obj.type, 'field is immutable'));
      errs.push(...immutableData(obj, old, ['data']));
    }
    return errs;
  },
};

export const serviceaccounts: KindDefinition = {
  ...core, kind: 'ServiceAccount', resource: 'serviceaccounts', namespaced: true, shortNames: ['sa'], subresources: ['token'],
  validate(obj) {
    const errs: Errs = [];
    (obj.secrets ?? []).forEach((s: any, i: number) => { if (s?.name) errs.push(...nameErrors(`secrets[${i}].name`, s.name, isDNS1123Subdomain(s.name))); });
    (obj.imagePullSecrets ?? []).forEach((s: any, i: number) => { if (!s?.name) errs.push(field.required(`imagePullSecrets[${i}].name`)); });
    return errs;
  },
};

// ---------------------------------------------------------------------- Node

const taintEffects = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

export const nodes: KindDefinition = {
  ...core, kind: 'Node', resource: 'nodes', namespaced: false, shortNames: ['no'], statusSubresource: true, subresources: ['proxy'],
  fieldSelectors: { 'spec.unschedulable': (o) => String(!!o.spec?.unschedulable) },
  defaults(obj) {
    const st = obj.status;
    if (st && st.allocatable == null && st.capacity != null) st.allocatable = clone(st.capacity);
  },
  validate(obj, old) {
    const errs: Errs = [];
    const spec = obj.spec ?? {};
    if (spec.podCIDR && !isValidCIDR(spec.podCIDR)) errs.push(field.invalid('spec.podCIDR', spec.podCIDR, 'must be a valid CIDR'));
    (spec.podCIDRs ?? []).forEach((c: string, i: number) => { if (!isValidCIDR(c)) errs.push(field.invalid(`spec.podCIDRs[${i}]`, c, 'must be a valid CIDR')); });
    if ((spec.podCIDRs?.length ?? 0) > 2) errs.push(field.invalid('spec.podCIDRs', spec.podCIDRs, 'may specify no more than one CIDR for each IP family'));
    const seen = new Set<string>();
    (spec.taints ?? []).forEach((t: any, i: number) => {
      const tp = `spec.taints[${i}]`;
      if (!t?.key) errs.push(field.required(`${tp}.key`));
      else errs.push(...isQualifiedName(t.key).map((m) => field.invalid(`${tp}.key`, t.key, m)));
      errs.push(...enumError(`${tp}.effect`, t?.effect, taintEffects, true));
      if (t?.value) errs.push(...validateLabels({ x: t.value }, `${tp}.value`).map((e) => ({ ...e, field: `${tp}.value` })));
      const k = `${t?.key}:${t?.effect}`;
      if (seen.has(k)) errs.push(field.duplicate(tp, k));
      seen.add(k);
    });
    for (const k of ['capacity', 'allocatable']) errs.push(...validateResourceList(obj.status?.[k], `status.${k}`));
    if (old) {
      const os = old.spec ?? {};
      if (os.podCIDR && spec.podCIDR !== os.podCIDR) errs.push(field.forbidden('spec.podCIDRs', 'node updates may not change podCIDR except from "" to valid'));
      if (os.providerID && spec.providerID !== os.providerID) errs.push(field.forbidden('spec.providerID', 'node updates may not change providerID except from "" to valid'));
    }
    return errs;
  },
};

// --------------------------------------------------------------------- Event

export const eventFieldSelectors: Record<string, (o: KubeObject) => string | undefined> = {
  'involvedObject.kind': (o) => (o.involvedObject ?? o.regarding)?.kind ?? '',
  'involvedObject.namespace': (o) => (o.involvedObject ?? o.regarding)?.namespace ?? '',
  'involvedObject.name': (o) => (o.involvedObject ?? o.regarding)?.name ?? '',
  'involvedObject.uid': (o) => (o.involvedObject ?? o.regarding)?.uid ?? '',
  'involvedObject.apiVersion': (o) => (o.involvedObject ?? o.regarding)?.apiVersion ?? '',
  'involvedObject.resourceVersion': (o) => (o.involvedObject ?? o.regarding)?.resourceVersion ?? '',
  'involvedObject.fieldPath': (o) => (o.involvedObject ?? o.regarding)?.fieldPath ?? '',
  reason: (o) => o.reason ?? '',
  reportingComponent: (o) => o.reportingComponent ?? o.reportingController ?? '',
  source: (o) => (o.source ?? o.deprecatedSource)?.component ?? '',
  type: (o) => o.type ?? '',
};

export const events: KindDefinition = {
  ...core, kind: 'Event', resource: 'events', namespaced: true, shortNames: ['ev'],
  fieldSelectors: eventFieldSelectors,
  validate(obj) {
    const errs: Errs = [];
    const ns = obj.metadata?.namespace;
    const io = obj.involvedObject ?? {};
    if (io.namespace && ns && io.namespace !== ns && !(ns === 'default' && io.kind === 'Node')) {
      errs.push(field.invalid('involvedObject.namespace', io.namespace, 'does not match event.namespace'));
    }
    if (obj.eventTime) {
      // events written through the new-style API must name who reported them
      if (!obj.reportingComponent) errs.push(field.required('reportingController'));
      if (!obj.reportingInstance) errs.push(field.required('reportingInstance'));
      if (obj.action && String(obj.action).length > 128) errs.push(field.tooLong('action', 128));
      errs.push(...enumError('type', obj.type, ['Normal', 'Warning']));
    }
    if (obj.count != null) errs.push(...validateNonnegative(obj.count, 'count'));
    return errs;
  },
};

// ------------------------------------------------------- PersistentVolume(Claim)

const accessModes = ['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOncePod'];
const pvSources = [
  'awsElasticBlockStore', 'azureDisk', 'azureFile', 'cephfs', 'cinder', 'csi', 'fc', 'flexVolume', 'flocker',
  'gcePersistentDisk', 'glusterfs', 'hostPath', 'iscsi', 'local', 'nfs', 'photonPersistentDisk', 'portworxVolume',
  'quobyte', 'rbd', 'scaleIO', 'storageos', 'vsphereVolume',
];

function validateAccessModes(modes: unknown, path: string): Errs {
  const list = Array.isArray(modes) ? modes : [];
  if (list.length === 0) return [requiredWith(path, 'at least 1 access mode is required')];
  const errs: Errs = [];
  for (const m of list) if (!accessModes.includes(m)) errs.push(field.notSupported(path, m, accessModes));
  if (list.includes('ReadWriteOncePod') && list.length > 1) errs.push(field.forbidden(path, 'may not use ReadWriteOncePod with other access modes'));
  return errs;
}

export const persistentvolumes: KindDefinition = {
  ...core, kind: 'PersistentVolume', resource: 'persistentvolumes', namespaced: false, shortNames: ['pv'], statusSubresource: true,
  defaults(obj) {
    ensure(obj, 'status').phase ||= 'Pending';
    const spec = ensure(obj, 'spec');
    spec.persistentVolumeReclaimPolicy ||= 'Retain';
    spec.volumeMode ??= 'Filesystem';
    if (spec.hostPath) spec.hostPath.type ??= '';
  },
  prepareForCreate(obj) {
    obj.status = { phase: 'Pending', lastPhaseTransitionTime: nowRFC3339() };
  },
  validate(obj, old) {
    const errs: Errs = [];
    const spec = obj.spec ?? {};
    errs.push(...validateAccessModes(spec.accessModes, 'spec.accessModes'));
    if (!spec.capacity || Object.keys(spec.capacity).length === 0) errs.push(field.required('spec.capacity'));
    else if (spec.capacity.storage == null) errs.push(field.required('spec.capacity[storage]'));
    errs.push(...validateResourceList(spec.capacity, 'spec.capacity'));
    errs.push(...enumError('spec.persistentVolumeReclaimPolicy', spec.persistentVolumeReclaimPolicy, ['Delete', 'Recycle', 'Retain']));
    errs.push(...enumError('spec.volumeMode', spec.volumeMode, ['Block', 'Filesystem']));
    const set = pvSources.filter((s) => spec[s] != null);
    if (set.length === 0) errs.push(requiredWith('spec', 'must specify a volume type'));
    else if (set.length > 1) errs.push(field.forbidden(`spec.${set[1]}`, 'may not specify more than 1 volume type'));
    if (spec.hostPath && !spec.hostPath.path) errs.push(field.required('spec.hostPath.path'));
    if (spec.local && !spec.local.path) errs.push(field.required('spec.local.path'));
    if (spec.local && !spec.nodeAffinity) errs.push(requiredWith('spec.nodeAffinity', 'Local volume requires node affinity'));
    if (spec.csi) { if (!spec.csi.driver) errs.push(field.required('spec.csi.driver')); if (!spec.csi.volumeHandle) errs.push(field.required('spec.csi.volumeHandle')); }
    if (old) {
      for (const s of pvSources) if (old.spec?.[s] && !deepEqual(spec[s], old.spec[s])) errs.push(field.forbidden('spec.persistentvolumesource', 'spec.persistentvolumesource is immutable after creation'));
      if (old.spec?.volumeMode !== spec.volumeMode) errs.push(...immutable(spec.volumeMode, old.spec?.volumeMode, 'spec.volumeMode'));
      if (old.spec?.nodeAffinity) errs.push(...immutable(spec.nodeAffinity, old.spec.nodeAffinity, 'spec.nodeAffinity'));
    }
    return errs;
  },
};

export const persistentvolumeclaims: KindDefinition = {
  ...core, kind: 'PersistentVolumeClaim', resource: 'persistentvolumeclaims', namespaced: true, shortNames: ['pvc'], statusSubresource: true,
  defaults(obj) {
    ensure(obj, 'status').phase ||= 'Pending';
    ensure(obj, 'spec').volumeMode ??= 'Filesystem';
  },
  prepareForCreate(obj) {
    obj.status = { phase: 'Pending' };
  },
  validate(obj, old) {
    const errs: Errs = [];
    const spec = obj.spec ?? {};
    errs.push(...validateAccessModes(spec.accessModes, 'spec.accessModes'));
    const req = spec.resources?.requests;
    if (!req || req.storage == null) errs.push(field.required('spec.resources[storage]'));
    else {
      errs.push(...validateResourceList(req, 'spec.resources.requests'));
      const n = parseQuantity(req.storage);
      if (n !== undefined && n <= 0) errs.push(field.invalid('spec.resources[storage]', req.storage, 'must be greater than zero'));
    }
    errs.push(...enumError('spec.volumeMode', spec.volumeMode, ['Block', 'Filesystem']));
    errs.push(...validateLabelSelector(spec.selector, 'spec.selector'));
    if (old) {
      // the spec is immutable except storage requests (expansion), binding and the attributes class
      const a = clone(spec); const b = clone(old.spec ?? {});
      for (const x of [a, b]) { if (x.resources) delete x.resources.requests; delete x.volumeAttributesClassName; }
      if (!old.spec?.volumeName) { delete a.volumeName; delete b.volumeName; }
      if (!deepEqual(a, b)) {
        errs.push(field.forbidden('spec', 'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims'));
      }
      const on = parseQuantity(old.spec?.resources?.requests?.storage);
      const nn = parseQuantity(req?.storage);
      if (on !== undefined && nn !== undefined && nn < on && old.status?.phase === 'Bound') {
        errs.push(field.forbidden('spec.resources.requests.storage', 'field can not be less than previous value'));
      }
    }
    return errs;
  },
};

// ----------------------------------------------------- ReplicationController

function rcSelectorMatches(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
}

export const replicationcontrollers: KindDefinition = {
  ...core, kind: 'ReplicationController', resource: 'replicationcontrollers', namespaced: true, shortNames: ['rc'], categories: ['all'],
  statusSubresource: true,
  scale: { specReplicasPath: 'spec.replicas', statusReplicasPath: 'status.replicas', labelSelectorPath: 'spec.selector' },
  fieldSelectors: { 'status.replicas': (o) => String(o.status?.replicas ?? 0) },
  defaults(obj) {
    const spec = ensure(obj, 'spec');
    const labels = spec.template?.metadata?.labels;
    if (labels) {
      if (!spec.selector || Object.keys(spec.selector).length === 0) spec.selector = clone(labels);
      obj.metadata ??= {};
      if (!obj.metadata.labels || Object.keys(obj.metadata.labels).length === 0) obj.metadata.labels = clone(labels);
    }
    spec.replicas ??= 1;
    if (spec.template) defaultPodTemplate(spec.template);
  },
  prepareForCreate(obj) { obj.status = { replicas: 0 }; initGeneration(obj); },
  prepareForUpdate(obj, old) { bumpGeneration(obj, old); },
  validate(obj) {
    const errs: Errs = [];
    const spec = obj.spec ?? {};
    errs.push(...validateNonnegative(spec.replicas, 'spec.replicas'), ...validateNonnegative(spec.minReadySeconds, 'spec.minReadySeconds'));
    if (!spec.selector || Object.keys(spec.selector).length === 0) errs.push(field.required('spec.selector'));
    else errs.push(...validateLabels(spec.selector, 'spec.selector'));
    if (!spec.template) errs.push(field.required('spec.template'));
    else {
      const labels = spec.template.metadata?.labels;
      if (spec.selector && !rcSelectorMatches(spec.selector, labels)) {
        errs.push(field.invalid('spec.template.metadata.labels', labels ?? {}, '`selector` does not match template `labels`'));
      }
      errs.push(...validatePodTemplateSpec(spec.template, 'spec.template', { restartPolicies: ['Always'] }));
    }
    return errs;
  },
};

// ------------------------------------------------- LimitRange / ResourceQuota

export const limitranges: KindDefinition = {
  ...core, kind: 'LimitRange', resource: 'limitranges', namespaced: true, shortNames: ['limits'],
  defaults(obj) {
    for (const item of obj.spec?.limits ?? []) {
      if (item?.type !== 'Container') continue;
      item.default ??= {};
      item.defaultRequest ??= {};
      for (const [k, v] of Object.entries(item.max ?? {})) if (!(k in item.default)) item.default[k] = v;
      for (const [k, v] of Object.entries(item.default)) if (!(k in item.defaultRequest)) item.defaultRequest[k] = v;
      for (const [k, v] of Object.entries(item.min ?? {})) if (!(k in item.defaultRequest)) item.defaultRequest[k] = v;
    }
  },
  validate(obj) {
    const errs: Errs = [];
    (obj.spec?.limits ?? []).forEach((item: any, i: number) => {
      const p = `spec.limits[${i}]`;
      errs.push(...enumError(`${p}.type`, item?.type, ['Container', 'Pod', 'PersistentVolumeClaim'], true));
      for (const k of ['max', 'min', 'default', 'defaultRequest', 'maxLimitRequestRatio']) errs.push(...validateResourceList(item?.[k], `${p}.${k}`));
      for (const [r, mn] of Object.entries(item?.min ?? {})) {
        const mx = item?.max?.[r];
        if (mx != null && (parseQuantity(mn) ?? 0) > (parseQuantity(mx) ?? 0)) errs.push(field.invalid(`${p}.min[${r}]`, mn, `min value ${mn} is greater than max value ${mx}`));
      }
      if (item?.type === 'Pod' && (item.default || item.defaultRequest)) {
        if (item.default && Object.keys(item.default).length) errs.push(field.forbidden(`${p}.default`, 'may not be specified when `type` is \'Pod\''));
        if (item.defaultRequest && Object.keys(item.defaultRequest).length) errs.push(field.forbidden(`${p}.defaultRequest`, 'may not be specified when `type` is \'Pod\''));
      }
    });
    return errs;
  },
};

const quotaScopes = ['Terminating', 'NotTerminating', 'BestEffort', 'NotBestEffort', 'PriorityClass', 'CrossNamespacePodAffinity'];

export const resourcequotas: KindDefinition = {
  ...core, kind: 'ResourceQuota', resource: 'resourcequotas', namespaced: true, shortNames: ['quota'], statusSubresource: true,
  prepareForCreate(obj) { obj.status = {}; },
  validate(obj) {
    const errs: Errs = [];
    errs.push(...validateResourceList(obj.spec?.hard, 'spec.hard'));
    errs.push(...validateResourceList(obj.status?.hard, 'status.hard'), ...validateResourceList(obj.status?.used, 'status.used'));
    (obj.spec?.scopes ?? []).forEach((s: string, i: number) => errs.push(...enumError(`spec.scopes[${i}]`, s, quotaScopes)));
    (obj.spec?.scopeSelector?.matchExpressions ?? []).forEach((e: any, i: number) => {
      const p = `spec.scopeSelector.matchExpressions[${i}]`;
      errs.push(...enumError(`${p}.scopeName`, e?.scopeName, quotaScopes, true));
      errs.push(...enumError(`${p}.operator`, e?.operator, ['In', 'NotIn', 'Exists', 'DoesNotExist'], true));
    });
    return errs;
  },
};

// ------------------------------------------- PodTemplate / ComponentStatus / Binding

export const podtemplates: KindDefinition = {
  ...core, kind: 'PodTemplate', resource: 'podtemplates', namespaced: true,
  defaults(obj) { if (obj.template) defaultPodTemplate(obj.template); },
  validate(obj) { return validatePodTemplateSpec(obj.template, 'template'); },
};

export const componentstatuses: KindDefinition = {
  ...core, kind: 'ComponentStatus', resource: 'componentstatuses', namespaced: false, shortNames: ['cs'], verbs: ['get', 'list'],
};

export const bindings: KindDefinition = {
  ...core, kind: 'Binding', resource: 'bindings', namespaced: true, verbs: ['create'],
  validate(obj) {
    const errs: Errs = [];
    const t = obj.target ?? {};
    if (!t.name) errs.push(field.required('target.name'));
    if (t.kind && t.kind !== 'Node') errs.push(field.notSupported('target.kind', t.kind, ['Node', '<empty>']));
    return errs;
  },
};

export const coreKinds: KindDefinition[] = [
  namespaces, pods, services, endpoints, configmaps, secrets, serviceaccounts, nodes, events, persistentvolumes,
  persistentvolumeclaims, replicationcontrollers, limitranges, resourcequotas, podtemplates, componentstatuses, bindings,
];

