// Pod spec defaulting and validation, shared by Pods and every kind that
// embeds a pod template (Deployments, Jobs, PodTemplates, ...).
import { field } from '../errors.js';
import {
  type Errs, enumError, isDNS1123Label, isDNS1123Subdomain, isEnvVarName, isValidPortName, isValidPortNum, nameErrors, notFound, parseQuantity, requiredWith, validateLabels, validateNonnegative, validateObjectMeta, validatePositive, validateResourceList, deepEqual,
} from '../validation.js';
import { validateLabelSelector } from '../labels.js';

// ------------------------------------------------------------------ defaults

/** Image tag as upstream's parser sees it: 'latest' when the reference has neither tag nor digest. */
export function imageTag(image: string): string {
  const at = image.indexOf('@');
  const ref = at >= 0 ? image.slice(0, at) : image;
  const lastSlash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  const tag = colon > lastSlash ? ref.slice(colon + 1) : '';
  return tag === '' && at < 0 ? 'latest' : tag;
}

function defaultHandler(h: any): void {
  if (h?.httpGet) {
    h.httpGet.path ||= '/';
    h.httpGet.scheme ||= 'HTTP';
  }
}

function defaultProbe(p: any): void {
  if (!p) return;
  p.timeoutSeconds ||= 1;
  p.periodSeconds ||= 10;
  p.successThreshold ||= 1;
  p.failureThreshold ||= 3;
  defaultHandler(p);
  if (p.grpc && p.grpc.service == null) p.grpc.service = '';
}

function defaultEnv(env: any[] | undefined): void {
  for (const e of env ?? []) {
    const fr = e?.valueFrom?.fieldRef;
    if (fr && !fr.apiVersion) fr.apiVersion = 'v1';
  }
}

export function defaultContainer(c: any): void {
  if (!c || typeof c !== 'object') return;
  if (!c.imagePullPolicy) {
    // upstream: no tag means :latest; a digest-only reference is not "latest"
    c.imagePullPolicy = imageTag(String(c.image ?? '')) === 'latest' ? 'Always' : 'IfNotPresent';
  }
  c.terminationMessagePath ||= '/dev/termination-log';
  c.terminationMessagePolicy ||= 'File';
  for (const p of c.ports ?? []) if (p && !p.protocol) p.protocol = 'TCP';
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
  defaultHandler(c.lifecycle?.postStart);
  defaultHandler(c.lifecycle?.preStop);
  defaultEnv(c.env);
}

const volumeSources = [
  'awsElasticBlockStore', 'azureDisk', 'azureFile', 'cephfs', 'cinder', 'configMap', 'csi', 'downwardAPI', 'emptyDir',
  'ephemeral', 'fc', 'flexVolume', 'flocker', 'gcePersistentDisk', 'gitRepo', 'glusterfs', 'hostPath', 'image', 'iscsi',
  'nfs', 'persistentVolumeClaim', 'photonPersistentDisk', 'portworxVolume', 'projected', 'quobyte', 'rbd', 'scaleIO',
  'secret', 'storageos', 'vsphereVolume',
];

function defaultItems(items: any[] | undefined): void {
  for (const it of items ?? []) if (it?.fieldRef && !it.fieldRef.apiVersion) it.fieldRef.apiVersion = 'v1';
}

export function defaultVolume(v: any): void {
  if (!v || typeof v !== 'object') return;
  if (!volumeSources.some((s) => v[s] != null)) v.emptyDir = {};
  if (v.secret) v.secret.defaultMode ??= 420;
  if (v.configMap) v.configMap.defaultMode ??= 420;
  if (v.downwardAPI) { v.downwardAPI.defaultMode ??= 420; defaultItems(v.downwardAPI.items); }
  if (v.projected) {
    v.projected.defaultMode ??= 420;
    for (const s of v.projected.sources ?? []) {
      if (s?.serviceAccountToken) s.serviceAccountToken.expirationSeconds ??= 3600;
      if (s?.downwardAPI) defaultItems(s.downwardAPI.items);
    }
  }
  if (v.hostPath) v.hostPath.type ??= '';
  if (v.iscsi) v.iscsi.iscsiInterface ||= 'default';
  if (v.rbd) { v.rbd.pool ||= 'rbd'; v.rbd.user ||= 'admin'; v.rbd.keyring ||= '/etc/ceph/keyring'; }
  if (v.azureDisk) {
    v.azureDisk.cachingMode ??= 'ReadWrite';
    v.azureDisk.fsType ??= 'ext4';
    v.azureDisk.readOnly ??= false;
    v.azureDisk.kind ??= 'Shared';
  }
  if (v.scaleIO) { v.scaleIO.storageMode ||= 'ThinProvisioned'; v.scaleIO.fsType ||= 'xfs'; }
  if (v.image && !v.image.pullPolicy) v.image.pullPolicy = imageTag(v.image.reference ?? '') === 'latest' ? 'Always' : 'IfNotPresent';
  const claimSpec = v.ephemeral?.volumeClaimTemplate?.spec;
  if (claimSpec) claimSpec.volumeMode ??= 'Filesystem';
}

/** SetDefaults_PodSpec plus the nested defaults (containers, volumes, probes). */
export function defaultPodSpec(spec: any): void {
  if (!spec || typeof spec !== 'object') return;
  spec.dnsPolicy ||= 'ClusterFirst';
  spec.restartPolicy ||= 'Always';
  spec.securityContext ??= {};
  spec.terminationGracePeriodSeconds ??= 30;
  spec.schedulerName ||= 'default-scheduler';
  for (const c of spec.containers ?? []) defaultContainer(c);
  for (const c of spec.initContainers ?? []) defaultContainer(c);
  for (const c of spec.ephemeralContainers ?? []) defaultContainer(c);
  for (const v of spec.volumes ?? []) defaultVolume(v);
}

/** SetDefaults_Pod: defaults that only materialize on Pods, not on templates. */
export function defaultPod(pod: any): void {
  pod.spec ??= {};
  const spec = pod.spec;
  defaultPodSpec(spec);
  for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
    const limits = c?.resources?.limits;
    if (limits && typeof limits === 'object') {
      c.resources.requests ??= {};
      for (const [k, v] of Object.entries(limits)) if (!(k in c.resources.requests)) c.resources.requests[k] = v;
    }
  }
  spec.enableServiceLinks ??= true;
  if (spec.hostNetwork) {
    for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
      for (const p of c?.ports ?? []) if (p && !p.hostPort) p.hostPort = p.containerPort;
    }
  }
}

export function defaultPodTemplate(tpl: any): void {
  if (!tpl || typeof tpl !== 'object') return;
  tpl.spec ??= {};
  defaultPodSpec(tpl.spec);
}

/** The QoS class the apiserver records at pod creation. */
export function computeQOSClass(spec: any): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const containers = [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])];
  const tracked = ['cpu', 'memory'];
  let anySet = false;
  let guaranteed = true;
  for (const c of containers) {
    const req = c?.resources?.requests ?? {};
    const lim = c?.resources?.limits ?? {};
    for (const r of tracked) {
      const rq = parseQuantity(req[r]);
      const lm = parseQuantity(lim[r]);
      if ((rq ?? 0) > 0 || (lm ?? 0) > 0) anySet = true;
      if (lm === undefined || lm === 0) { guaranteed = false; continue; }
      if (rq !== undefined && rq !== lm) guaranteed = false;
    }
  }
  if (!anySet) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

// ---------------------------------------------------------------- validation

const protocols = ['SCTP', 'TCP', 'UDP'];
const pullPolicies = ['Always', 'IfNotPresent', 'Never'];
const restartPolicies = ['Always', 'OnFailure', 'Never'];
const dnsPolicies = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];

function validateHandler(h: any, path: string, kind: 'probe' | 'lifecycle'): Errs {
  const errs: Errs = [];
  if (!h) return errs;
  const handlers = kind === 'probe' ? ['exec', 'httpGet', 'tcpSocket', 'grpc'] : ['exec', 'httpGet', 'tcpSocket', 'sleep'];
  const set = handlers.filter((k) => h[k] != null);
  if (set.length === 0) errs.push(requiredWith(path, 'must specify a handler type'));
  else if (set.length > 1) errs.push(field.forbidden(`${path}.${set[1]}`, 'may not specify more than 1 handler type'));
  if (h.exec && !(h.exec.command?.length > 0)) errs.push(field.required(`${path}.exec.command`));
  if (h.httpGet) errs.push(...validatePortNumOrName(h.httpGet.port, `${path}.httpGet.port`), ...enumError(`${path}.httpGet.scheme`, h.httpGet.scheme, ['HTTP', 'HTTPS']));
  if (h.tcpSocket) errs.push(...validatePortNumOrName(h.tcpSocket.port, `${path}.tcpSocket.port`));
  if (h.grpc) for (const m of isValidPortNum(h.grpc.port)) errs.push(field.invalid(`${path}.grpc.port`, h.grpc.port, m));
  return errs;
}

function validateProbe(p: any, path: string): Errs {
  if (!p) return [];
  const errs = validateHandler(p, path, 'probe');
  for (const k of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold', 'terminationGracePeriodSeconds']) {
    errs.push(...validateNonnegative(p[k], `${path}.${k}`));
  }
  return errs;
}

export function validatePortNumOrName(port: unknown, path: string): Errs {
  if (port == null || port === '') return [field.required(path)];
  if (typeof port === 'number') return isValidPortNum(port).map((m) => field.invalid(path, port, m));
  if (typeof port === 'string') {
    if (/^[0-9]+$/.test(port)) return isValidPortNum(Number(port)).map((m) => field.invalid(path, port, m));
    return isValidPortName(port).map((m) => field.invalid(path, port, m));
  }
  return [field.invalid(path, port, 'must contain an int or string')];
}

interface ContainerCtx { volumes: Set<string>; kind: 'container' | 'init' | 'ephemeral'; podRestart: string }

function validateContainer(c: any, path: string, ctx: ContainerCtx): Errs {
  const errs: Errs = [];
  if (!c || typeof c !== 'object') return [field.required(path)];
  if (!c.name) errs.push(field.required(`${path}.name`));
  else errs.push(...nameErrors(`${path}.name`, c.name, isDNS1123Label(c.name)));
  if (!c.image) errs.push(field.required(`${path}.image`));
  else if (String(c.image).trim() !== c.image) errs.push(field.invalid(`${path}.image`, c.image, 'must not have leading or trailing whitespace'));
  errs.push(...enumError(`${path}.imagePullPolicy`, c.imagePullPolicy, pullPolicies));
  errs.push(...enumError(`${path}.terminationMessagePolicy`, c.terminationMessagePolicy, ['File', 'FallbackToLogsOnError']));
  if (c.restartPolicy != null) {
    if (ctx.kind === 'init') errs.push(...enumError(`${path}.restartPolicy`, c.restartPolicy, ['Always']));
    else errs.push(field.forbidden(`${path}.restartPolicy`, 'may not be set for non-init containers'));
  }
  const portNames = new Set<string>();
  (c.ports ?? []).forEach((p: any, j: number) => {
    const pp = `${path}.ports[${j}]`;
    if (p?.name) {
      errs.push(...isValidPortName(p.name).map((m) => field.invalid(`${pp}.name`, p.name, m)));
      if (portNames.has(p.name)) errs.push(field.duplicate(`${pp}.name`, p.name));
      portNames.add(p.name);
    }
    if (p?.containerPort == null || p.containerPort === 0) errs.push(field.required(`${pp}.containerPort`));
    else errs.push(...isValidPortNum(p.containerPort).map((m) => field.invalid(`${pp}.containerPort`, p.containerPort, m)));
    if (p?.hostPort) errs.push(...isValidPortNum(p.hostPort).map((m) => field.invalid(`${pp}.hostPort`, p.hostPort, m)));
    errs.push(...enumError(`${pp}.protocol`, p?.protocol, protocols, true));
  });
  (c.env ?? []).forEach((e: any, j: number) => {
    const ep = `${path}.env[${j}]`;
    if (!e?.name) errs.push(field.required(`${ep}.name`));
    else errs.push(...isEnvVarName(e.name).map((m) => field.invalid(`${ep}.name`, e.name, m)));
    if (e?.valueFrom) {
      const srcs = ['fieldRef', 'resourceFieldRef', 'configMapKeyRef', 'secretKeyRef'].filter((k) => e.valueFrom[k] != null);
      if (e.value) errs.push(field.invalid(`${ep}.valueFrom`, '', 'may not be specified when `value` is not empty'));
      if (srcs.length !== 1) errs.push(field.invalid(`${ep}.valueFrom`, '', 'may not have more than one field specified at a time'));
      if (e.valueFrom.fieldRef && !e.valueFrom.fieldRef.fieldPath) errs.push(field.required(`${ep}.valueFrom.fieldRef.fieldPath`));
      for (const k of ['configMapKeyRef', 'secretKeyRef']) if (e.valueFrom[k] && !e.valueFrom[k].key) errs.push(field.required(`${ep}.valueFrom.${k}.key`));
    }
  });
  // resources: quantities, and requests must not exceed limits
  const rp = `${path}.resources`;
  const req = c.resources?.requests ?? {};
  const lim = c.resources?.limits ?? {};
  errs.push(...validateResourceList(c.resources?.requests, `${rp}.requests`), ...validateResourceList(c.resources?.limits, `${rp}.limits`));
  for (const [k, v] of Object.entries(req)) {
    if (!(k in lim)) continue;
    const rq = parseQuantity(v);
    const lm = parseQuantity(lim[k]);
    if (rq !== undefined && lm !== undefined && rq > lm) {
      errs.push(field.invalid(`${rp}.requests[${k}]`, String(v), `must be less than or equal to ${k} limit of ${String(lim[k])}`));
    }
  }
  (c.volumeMounts ?? []).forEach((m: any, j: number) => {
    const mp = `${path}.volumeMounts[${j}]`;
    if (!m?.name) errs.push(field.required(`${mp}.name`));
    else if (!ctx.volumes.has(m.name)) errs.push(notFound(`${mp}.name`, m.name));
    if (!m?.mountPath) errs.push(field.required(`${mp}.mountPath`));
  });
  if (ctx.kind === 'ephemeral') {
    for (const k of ['livenessProbe', 'readinessProbe', 'startupProbe', 'lifecycle', 'resources']) {
      if (c[k] != null && !(k === 'resources' && Object.keys(c[k]).length === 0)) errs.push(field.forbidden(`${path}.${k}`, 'cannot be set for an Ephemeral Container'));
    }
  } else {
    errs.push(...validateProbe(c.livenessProbe, `${path}.livenessProbe`), ...validateProbe(c.readinessProbe, `${path}.readinessProbe`), ...validateProbe(c.startupProbe, `${path}.startupProbe`));
    if (c.lifecycle?.postStart) errs.push(...validateHandler(c.lifecycle.postStart, `${path}.lifecycle.postStart`, 'lifecycle'));
    if (c.lifecycle?.preStop) errs.push(...validateHandler(c.lifecycle.preStop, `${path}.lifecycle.preStop`, 'lifecycle'));
    if (c.livenessProbe && c.livenessProbe.successThreshold != null && c.livenessProbe.successThreshold !== 1) {
      errs.push(field.invalid(`${path}.livenessProbe.successThreshold`, c.livenessProbe.successThreshold, 'must be 1'));
    }
  }
  return errs;
}

function validateVolumes(volumes: any[] | undefined, path: string): { errs: Errs; names: Set<string> } {
  const errs: Errs = [];
  const names = new Set<string>();
  (volumes ?? []).forEach((v: any, i: number) => {
    const vp = `${path}[${i}]`;
    if (!v?.name) errs.push(field.required(`${vp}.name`));
    else {
      errs.push(...nameErrors(`${vp}.name`, v.name, isDNS1123Label(v.name)));
      if (names.has(v.name)) errs.push(field.duplicate(`${vp}.name`, v.name));
      names.add(v.name);
    }
    const set = volumeSources.filter((s) => v?.[s] != null);
    if (set.length === 0) errs.push(requiredWith(vp, 'must specify a volume type'));
    else if (set.length > 1) errs.push(field.forbidden(`${vp}.${set[1]}`, 'may not specify more than 1 volume type'));
    if (v?.hostPath) {
      if (!v.hostPath.path) errs.push(field.required(`${vp}.hostPath.path`));
      errs.push(...enumError(`${vp}.hostPath.type`, v.hostPath.type, ['', 'DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File', 'Socket', 'CharDevice', 'BlockDevice']));
    }
    if (v?.persistentVolumeClaim && !v.persistentVolumeClaim.claimName) errs.push(field.required(`${vp}.persistentVolumeClaim.claimName`));
    if (v?.secret && v.secret.secretName === '') errs.push(field.required(`${vp}.secret.secretName`));
    if (v?.nfs) { if (!v.nfs.server) errs.push(field.required(`${vp}.nfs.server`)); if (!v.nfs.path) errs.push(field.required(`${vp}.nfs.path`)); }
    for (const k of ['secret', 'configMap', 'downwardAPI', 'projected']) {
      const mode = v?.[k]?.defaultMode;
      if (mode != null && (mode < 0 || mode > 0o777)) errs.push(field.invalid(`${vp}.${k}.defaultMode`, mode, 'must be a number between 0 and 0777 (octal), both inclusive'));
    }
  });
  return { errs, names };
}

export interface PodSpecOptions {
  /** restartPolicy values allowed in this context (e.g. ['Always'] for Deployments). */
  restartPolicies?: string[];
}

export function validatePodSpec(spec: any, path: string, opts: PodSpecOptions = {}): Errs {
  const errs: Errs = [];
  if (!spec || typeof spec !== 'object') return [field.required(path)];
  const { errs: volErrs, names: volumes } = validateVolumes(spec.volumes, `${path}.volumes`);
  errs.push(...volErrs);
  const allNames = new Set<string>();
  const check = (list: any[] | undefined, p: string, kind: ContainerCtx['kind']) => {
    (list ?? []).forEach((c: any, i: number) => {
      errs.push(...validateContainer(c, `${p}[${i}]`, { volumes, kind, podRestart: spec.restartPolicy }));
      if (c?.name) {
        if (allNames.has(c.name)) errs.push(field.duplicate(`${p}[${i}].name`, c.name));
        allNames.add(c.name);
      }
    });
  };
  if (!Array.isArray(spec.containers) || spec.containers.length === 0) errs.push(field.required(`${path}.containers`));
  else check(spec.containers, `${path}.containers`, 'container');
  check(spec.initContainers, `${path}.initContainers`, 'init');
  check(spec.ephemeralContainers, `${path}.ephemeralContainers`, 'ephemeral');

  const rp = opts.restartPolicies;
  if (!spec.restartPolicy) errs.push(field.required(`${path}.restartPolicy`));
  else if (rp) errs.push(...enumError(`${path}.restartPolicy`, spec.restartPolicy, rp));
  else errs.push(...enumError(`${path}.restartPolicy`, spec.restartPolicy, restartPolicies));
  if (!spec.dnsPolicy) errs.push(field.required(`${path}.dnsPolicy`));
  else errs.push(...enumError(`${path}.dnsPolicy`, spec.dnsPolicy, dnsPolicies));
  if (spec.dnsPolicy === 'None' && !spec.dnsConfig) errs.push(requiredWith(`${path}.dnsConfig`, 'must provide `dnsConfig` when `dnsPolicy` is None'));
  if (spec.dnsConfig?.nameservers?.length > 3) errs.push(field.invalid(`${path}.dnsConfig.nameservers`, spec.dnsConfig.nameservers, 'must not have more than 3 nameservers'));
  errs.push(...validateNonnegative(spec.terminationGracePeriodSeconds, `${path}.terminationGracePeriodSeconds`));
  errs.push(...validatePositive(spec.activeDeadlineSeconds, `${path}.activeDeadlineSeconds`));
  errs.push(...validateLabels(spec.nodeSelector, `${path}.nodeSelector`));
  if (spec.serviceAccountName) errs.push(...nameErrors(`${path}.serviceAccountName`, spec.serviceAccountName, isDNS1123Subdomain(spec.serviceAccountName)));
  if (spec.nodeName) errs.push(...nameErrors(`${path}.nodeName`, spec.nodeName, isDNS1123Subdomain(spec.nodeName)));
  if (spec.hostname) errs.push(...nameErrors(`${path}.hostname`, spec.hostname, isDNS1123Label(spec.hostname)));
  if (spec.subdomain) errs.push(...nameErrors(`${path}.subdomain`, spec.subdomain, isDNS1123Label(spec.subdomain)));
  if (spec.priorityClassName) errs.push(...nameErrors(`${path}.priorityClassName`, spec.priorityClassName, isDNS1123Subdomain(spec.priorityClassName)));
  errs.push(...enumError(`${path}.preemptionPolicy`, spec.preemptionPolicy, ['Never', 'PreemptLowerPriority']));
  (spec.tolerations ?? []).forEach((t: any, i: number) => {
    const tp = `${path}.tolerations[${i}]`;
    errs.push(...enumError(`${tp}.operator`, t?.operator, ['Equal', 'Exists']));
    errs.push(...enumError(`${tp}.effect`, t?.effect, ['NoSchedule', 'PreferNoSchedule', 'NoExecute']));
    if (t?.operator === 'Exists' && t.value) errs.push(field.invalid(`${tp}.operator`, t.value, 'value must be empty when `operator` is \'Exists\''));
    if (!t?.key && t?.operator !== 'Exists') errs.push(field.invalid(`${tp}.operator`, t?.operator, 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
    if (t?.tolerationSeconds != null && t.effect !== 'NoExecute') errs.push(field.invalid(`${tp}.effect`, t.effect, 'effect must be \'NoExecute\' when `tolerationSeconds` is set'));
  });
  (spec.topologySpreadConstraints ?? []).forEach((c: any, i: number) => {
    const cp = `${path}.topologySpreadConstraints[${i}]`;
    if (!(c?.maxSkew > 0)) errs.push(field.invalid(`${cp}.maxSkew`, c?.maxSkew, 'must be greater than zero'));
    if (!c?.topologyKey) errs.push(requiredWith(`${cp}.topologyKey`, 'can not be empty'));
    errs.push(...enumError(`${cp}.whenUnsatisfiable`, c?.whenUnsatisfiable, ['DoNotSchedule', 'ScheduleAnyway'], true));
    errs.push(...validateLabelSelector(c?.labelSelector, `${cp}.labelSelector`));
  });
  if (spec.hostNetwork) {
    (spec.containers ?? []).forEach((c: any, i: number) => (c?.ports ?? []).forEach((p: any, j: number) => {
      if (p?.hostPort && p.hostPort !== p.containerPort) errs.push(field.invalid(`${path}.containers[${i}].ports[${j}].containerPort`, p.containerPort, 'must match `hostPort` when `hostNetwork` is true'));
    }));
  }
  return errs;
}

export function validatePodTemplateSpec(tpl: any, path: string, opts: PodSpecOptions = {}): Errs {
  if (!tpl || typeof tpl !== 'object') return [field.required(path)];
  return [...validateObjectMeta(tpl.metadata, `${path}.metadata`), ...validatePodSpec(tpl.spec, `${path}.spec`, opts)];
}

/** Pod update rules: the spec is immutable except for a few fields. */
export function validatePodSpecUpdate(spec: any, old: any, path: string): Errs {
  const mask = (s: any, o: any) => {
    const c = JSON.parse(JSON.stringify(s ?? {}));
    const oc = o ?? {};
    // fields that may change: images, activeDeadlineSeconds, tolerations (additions),
    // terminationGracePeriodSeconds, schedulingGates (removal), ephemeralContainers (own subresource),
    // nodeName from unset (binding)
    for (const k of ['containers', 'initContainers']) {
      (c[k] ?? []).forEach((x: any, i: number) => { if (x && oc[k]?.[i]) x.image = oc[k][i].image; });
    }
    c.activeDeadlineSeconds = oc.activeDeadlineSeconds;
    c.tolerations = oc.tolerations;
    c.terminationGracePeriodSeconds = oc.terminationGracePeriodSeconds;
    c.schedulingGates = oc.schedulingGates;
    c.ephemeralContainers = oc.ephemeralContainers;
    if (!oc.nodeName) c.nodeName = oc.nodeName;
    return c;
  };
  const errs: Errs = [];
  if (!deepEqual(mask(spec, old), old ?? {})) {
    errs.push(field.forbidden(path, 'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)'));
  }
  if (old?.activeDeadlineSeconds != null && (spec?.activeDeadlineSeconds == null || spec.activeDeadlineSeconds > old.activeDeadlineSeconds)) {
    errs.push(field.invalid(`${path}.activeDeadlineSeconds`, spec?.activeDeadlineSeconds ?? null, 'must be less than or equal to previous value'));
  }
  const oldTol = old?.tolerations ?? [];
  if (!oldTol.every((t: any) => (spec?.tolerations ?? []).some((n: any) => deepEqual(n, t) || (n?.key === t?.key && n?.effect === t?.effect && n?.operator === t?.operator && n?.value === t?.value && t?.effect === 'NoExecute')))) {
    errs.push(field.forbidden(`${path}.tolerations`, 'existing toleration can not be modified except its tolerationSeconds'));
  }
  return errs;
}
