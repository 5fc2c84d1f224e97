// Table printers for the core ("") API group, with upstream's column sets.
import type {
  ComponentStatus, ConfigMap, ContainerStatus, Endpoints, Event, Namespace, Node, PersistentVolume,
  PersistentVolumeClaim, Pod, PodTemplate, ReplicationController, ResourceQuota, Secret, Service,
  ServiceAccount,
} from 'kubernetes-types/core/v1.js';
import type { Printer } from '../kind.js';
import {
  ageColumn, col, containerCells, containersColumn, formatLabels, imagesColumn, joinHostPort, nameColumn,
  humanDuration, parseTime, quantity, selectorColumn, since, sortedSet,
} from './format.js';

// ---------------- Pod ----------------

const isRestartable = (c: { restartPolicy?: string } | undefined) => c?.restartPolicy === 'Always';

function conditionTrue(pod: Pod, type: string): boolean {
  const c = (pod.status?.conditions ?? []).find((x) => x.type === type);
  return c?.status === 'True';
}

/** Cells NAME READY STATUS RESTARTS AGE IP NODE NOMINATED-NODE READINESS-GATES, computed as kubectl shows them. */
export function podCells(pod: Pod, now: number): unknown[] {
  const spec = pod.spec ?? { containers: [] };
  const status = pod.status ?? {};
  let restarts = 0;
  let restartableInitRestarts = 0;
  let total = (spec.containers ?? []).length;
  let ready = 0;
  let lastRestart: number | undefined;
  let lastRestartableInitRestart: number | undefined;
  const later = (a: number | undefined, b: number | undefined) => (b !== undefined && (a === undefined || b > a) ? b : a);

  const phase = status.phase ?? '';
  let reason: string = status.reason || phase;
  // A pod held by scheduling gates says so instead of Pending.
  for (const c of status.conditions ?? []) {
    if (c.type === 'PodScheduled' && c.reason === 'SchedulingGated') reason = 'SchedulingGated';
  }

  const initSpecs = new Map<string, { restartPolicy?: string }>();
  for (const c of spec.initContainers ?? []) {
    initSpecs.set(c.name, c);
    if (isRestartable(c)) total++; // sidecars count as containers
  }

  let initializing = false;
  const initStatuses: ContainerStatus[] = status.initContainerStatuses ?? [];
  for (let i = 0; i < initStatuses.length; i++) {
    const cs = initStatuses[i]!;
    const sidecar = isRestartable(initSpecs.get(cs.name));
    restarts += cs.restartCount ?? 0;
    const finished = parseTime(cs.lastState?.terminated?.finishedAt);
    lastRestart = later(lastRestart, finished);
    if (sidecar) {
      restartableInitRestarts += cs.restartCount ?? 0;
      lastRestartableInitRestart = later(lastRestartableInitRestart, finished);
    }
    const term = cs.state?.terminated;
    const wait = cs.state?.waiting;
    if (term && (term.exitCode ?? 0) === 0) continue;
    if (sidecar && cs.started) {
      if (cs.ready) ready++;
      continue;
    }
    if (term) {
      if (!term.reason) reason = term.signal ? `Init:Signal:${term.signal}` : `Init:ExitCode:${term.exitCode ?? 0}`;
      else reason = `Init:${term.reason}`;
    } else if (wait && wait.reason && wait.reason !== 'PodInitializing') {
      reason = `Init:${wait.reason}`;
    } else {
      reason = `Init:${i}/${(spec.initContainers ?? []).length}`;
    }
    initializing = true;
    break;
  }

  if (!initializing || conditionTrue(pod, 'Initialized')) {
    restarts = restartableInitRestarts;
    lastRestart = lastRestartableInitRestart;
    let hasRunning = false;
    const statuses = status.containerStatuses ?? [];
    // Walk backwards so the first container's state wins, as upstream does.
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i]!;
      restarts += cs.restartCount ?? 0;
      lastRestart = later(lastRestart, parseTime(cs.lastState?.terminated?.finishedAt));
      const term = cs.state?.terminated;
      const wait = cs.state?.waiting;
      if (wait && wait.reason) reason = wait.reason;
      else if (term && term.reason) reason = term.reason;
      else if (term) reason = term.signal ? `Signal:${term.signal}` : `ExitCode:${term.exitCode ?? 0}`;
      else if (cs.ready && cs.state?.running) {
        hasRunning = true;
        ready++;
      }
    }
    // Some containers completed but others still run: the pod is not done.
    if (reason === 'Completed' && hasRunning) reason = conditionTrue(pod, 'Ready') ? 'Running' : 'NotReady';
  }

  if (pod.metadata?.deletionTimestamp && status.reason === 'NodeLost') reason = 'Unknown';
  else if (pod.metadata?.deletionTimestamp && phase !== 'Succeeded' && phase !== 'Failed') reason = 'Terminating';

  let restartsText = String(restarts);
  if (restarts !== 0 && lastRestart !== undefined) restartsText = `${restarts} (${humanDuration(now - lastRestart)} ago)`;

  const podIP = status.podIPs?.[0]?.ip || status.podIP || '<none>';
  const nodeName = spec.nodeName || '<none>';
  const nominated = status.nominatedNodeName || '<none>';
  let gates = '<none>';
  const rg = spec.readinessGates ?? [];
  if (rg.length > 0) {
    let trueCount = 0;
    for (const g of rg) {
      const c = (status.conditions ?? []).find((x) => x.type === g.conditionType);
      if (c?.status === 'True') trueCount++;
    }
    gates = `${trueCount}/${rg.length}`;
  }
  return [
    pod.metadata?.name ?? '', `${ready}/${total}`, reason, restartsText, since(pod.metadata?.creationTimestamp, now),
    podIP, nodeName, nominated, gates,
  ];
}

const pod: Printer = {
  columns: [
    nameColumn,
    col('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'),
    col('Status', 'string', 'The aggregate status of the containers in this pod.'),
    col('Restarts', 'string', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
    ageColumn,
    col('IP', 'string', 'podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.', 1),
    col('Node', 'string', 'NodeName indicates in which node this pod is scheduled.', 1),
    col('Nominated Node', 'string', 'nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods.', 1),
    col('Readiness Gates', 'string', 'If specified, all readiness gates will be evaluated for pod readiness.', 1),
  ],
  cells: (obj, now) => podCells(obj as Pod, now),
};

// ---------------- Service ----------------

export function lbIngressText(ingress: { ip?: string; hostname?: string }[] | undefined): string {
  const vals: string[] = [];
  for (const i of ingress ?? []) {
    if (i.ip) vals.push(i.ip);
    else if (i.hostname) vals.push(i.hostname);
  }
  // The server renders wide output, so the 16-character clipping upstream
  // applies to narrow output never happens here.
  return sortedSet(vals).join(',');
}

export function serviceExternalIP(svc: Service): string {
  const ext = svc.spec?.externalIPs ?? [];
  switch (svc.spec?.type) {
    case 'ClusterIP':
    case 'NodePort':
      return ext.length > 0 ? ext.join(',') : '<none>';
    case 'LoadBalancer': {
      const lb = lbIngressText(svc.status?.loadBalancer?.ingress);
      if (ext.length > 0) return [...(lb ? lb.split(',') : []), ...ext].join(',');
      return lb || '<pending>';
    }
    case 'ExternalName':
      return svc.spec?.externalName ?? '';
  }
  return '<unknown>';
}

export function servicePorts(svc: Service): string {
  const pieces = (svc.spec?.ports ?? []).map((p) => {
    const proto = p.protocol ?? 'TCP';
    return p.nodePort && p.nodePort > 0 ? `${p.port}:${p.nodePort}/${proto}` : `${p.port}/${proto}`;
  });
  return pieces.join(',') || '<none>';
}

const service: Printer = {
  columns: [
    nameColumn,
    col('Type', 'string', 'type determines how the Service is exposed.'),
    col('Cluster-IP', 'string', 'clusterIP is the IP address of the service and is usually assigned randomly.'),
    col('External-IP', 'string', 'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.'),
    col('Port(s)', 'string', 'The list of ports that are exposed by this service.'),
    ageColumn,
    col('Selector', 'string', 'Route service traffic to pods with label keys and values matching this selector.', 1),
  ],
  cells(obj, now) {
    const svc = obj as Service;
    const clusterIP = svc.spec?.clusterIPs?.[0] || svc.spec?.clusterIP || '<none>';
    return [
      svc.metadata?.name ?? '', svc.spec?.type ?? '', clusterIP, serviceExternalIP(svc), servicePorts(svc),
      since(svc.metadata?.creationTimestamp, now), formatLabels(svc.spec?.selector),
    ];
  },
};

// ---------------- Endpoints ----------------

export function formatEndpoints(ep: Endpoints): string {
  const subsets = ep.subsets ?? [];
  if (subsets.length === 0) return '<none>';
  const max = 3;
  const list: string[] = [];
  let count = 0;
  for (const ss of subsets) {
    const addrs = ss.addresses ?? [];
    const ports = ss.ports ?? [];
    if (ports.length === 0) {
      // Headless services may have no ports.
      count += addrs.length;
      for (const a of addrs) if (list.length < max) list.push(a.ip);
      continue;
    }
    for (const p of ports) {
      count += addrs.length;
      for (const a of addrs) if (list.length < max) list.push(joinHostPort(a.ip, p.port));
    }
  }
  const ret = list.join(',');
  return count > max ? `${ret} + ${count - max} more...` : ret;
}

const endpoints: Printer = {
  columns: [nameColumn, col('Endpoints', 'string', 'The set of all endpoints is the union of all subsets.'), ageColumn],
  cells: (obj, now) => [obj.metadata?.name ?? '', formatEndpoints(obj as Endpoints), since(obj.metadata?.creationTimestamp, now)],
};

// ---------------- Node ----------------

export function nodeRoles(node: Node): string[] {
  const roles: string[] = [];
  for (const [k, v] of Object.entries(node.metadata?.labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/')) {
      const r = k.slice('node-role.kubernetes.io/'.length);
      if (r) roles.push(r);
    } else if (k === 'kubernetes.io/role' && v !== '') {
      roles.push(v);
    }
  }
  return sortedSet(roles);
}

const node: Printer = {
  columns: [
    nameColumn,
    col('Status', 'string', 'The status of the node'),
    col('Roles', 'string', 'The roles of the node'),
    ageColumn,
    col('Version', 'string', 'Kubelet Version reported by the node.'),
    col('Internal-IP', 'string', 'List of addresses reachable to the node.', 1),
    col('External-IP', 'string', 'List of addresses reachable to the node.', 1),
    col('OS-Image', 'string', 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).', 1),
    col('Kernel-Version', 'string', "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", 1),
    col('Container-Runtime', 'string', 'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).', 1),
  ],
  cells(obj, now) {
    const n = obj as Node;
    const st: string[] = [];
    // Only the Ready condition feeds STATUS.
    const readyCond = (n.status?.conditions ?? []).filter((c) => c.type === 'Ready').pop();
    if (readyCond) st.push(readyCond.status === 'True' ? 'Ready' : 'NotReady');
    if (st.length === 0) st.push('Unknown');
    if (n.spec?.unschedulable) st.push('SchedulingDisabled');
    const addr = (type: string) => (n.status?.addresses ?? []).find((a) => a.type === type)?.address ?? '<none>';
    const info = n.status?.nodeInfo;
    return [
      n.metadata?.name ?? '', st.join(','), nodeRoles(n).join(',') || '<none>', since(n.metadata?.creationTimestamp, now),
      info?.kubeletVersion ?? '', addr('InternalIP'), addr('ExternalIP'), info?.osImage || '<unknown>',
      info?.kernelVersion || '<unknown>', info?.containerRuntimeVersion || '<unknown>',
    ];
  },
};

// ---------------- Event (core/v1; events.k8s.io/v1 maps onto it) ----------------

/** The fields the event printer reads, in core/v1 terms. */
export interface EventView {
  name: string;
  type?: string;
  reason?: string;
  message?: string;
  involvedObject?: { kind?: string; name?: string; fieldPath?: string };
  source?: { component?: string; host?: string };
  reportingController?: string;
  reportingInstance?: string;
  firstTimestamp?: string | null;
  lastTimestamp?: string | null;
  eventTime?: string | null;
  count?: number;
  series?: { count?: number; lastObservedTime?: string } | null;
}

export function eventCells(e: EventView, now: number): unknown[] {
  let first = since(e.firstTimestamp, now);
  if (parseTime(e.firstTimestamp) === undefined) first = since(e.eventTime, now);
  let last = since(e.lastTimestamp, now);
  if (parseTime(e.lastTimestamp) === undefined) last = first;
  let count = e.count ?? 0;
  if (e.series) {
    last = since(e.series.lastObservedTime, now);
    count = e.series.count ?? 0;
  } else if (count === 0) {
    count = 1; // singleton events of the new API carry no count
  }
  const kind = (e.involvedObject?.kind ?? '').toLowerCase();
  const target = e.involvedObject?.name ? `${kind}/${e.involvedObject.name}` : kind;
  const component = e.source?.component || e.reportingController || '';
  const instance = e.source?.host || e.reportingInstance || '';
  const source = instance ? `${component}, ${instance}` : component;
  return [
    last, e.type ?? '', e.reason ?? '', target, e.involvedObject?.fieldPath ?? '', source, (e.message ?? '').trim(),
    first, count, e.name,
  ];
}

export const eventColumns = [
  col('Last Seen', 'string', 'The time at which the most recent occurrence of this event was recorded.'),
  col('Type', 'string', 'Type of this event (Normal, Warning), new types could be added in the future'),
  col('Reason', 'string', "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
  col('Object', 'string', 'The object that this event is about.'),
  col('Subobject', 'string', 'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement.', 1),
  col('Source', 'string', 'The component reporting this event. Should be a short machine understandable string.', 1),
  col('Message', 'string', 'A human-readable description of the status of this operation.'),
  col('First Seen', 'string', 'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)', 1),
  col('Count', 'string', 'The number of times this event has occurred.', 1),
  { ...nameColumn, priority: 1 },
];

const event: Printer = {
  columns: eventColumns,
  cells(obj, now) {
    const e = obj as Event;
    return eventCells({
      name: e.metadata?.name ?? '', type: e.type, reason: e.reason, message: e.message,
      involvedObject: e.involvedObject, source: e.source, reportingController: e.reportingComponent,
      reportingInstance: e.reportingInstance, firstTimestamp: e.firstTimestamp, lastTimestamp: e.lastTimestamp,
      eventTime: e.eventTime, count: e.count, series: e.series,
    }, now);
  },
};

// ---------------- simple kinds ----------------

const namespace: Printer = {
  columns: [nameColumn, col('Status', 'string', 'The status of the namespace'), ageColumn],
  cells: (obj, now) => [obj.metadata?.name ?? '', (obj as Namespace).status?.phase ?? '', since(obj.metadata?.creationTimestamp, now)],
};

const secret: Printer = {
  columns: [
    nameColumn,
    col('Type', 'string', 'Used to facilitate programmatic handling of secret data.'),
    col('Data', 'string', 'Data contains the secret data.'),
    ageColumn,
  ],
  cells: (obj, now) => {
    const s = obj as Secret;
    return [s.metadata?.name ?? '', s.type ?? '', Object.keys(s.data ?? {}).length, since(s.metadata?.creationTimestamp, now)];
  },
};

const configMap: Printer = {
  columns: [nameColumn, col('Data', 'string', 'Data contains the configuration data.'), ageColumn],
  cells: (obj, now) => {
    const c = obj as ConfigMap;
    return [c.metadata?.name ?? '', Object.keys(c.data ?? {}).length + Object.keys(c.binaryData ?? {}).length, since(c.metadata?.creationTimestamp, now)];
  },
};

const serviceAccount: Printer = {
  columns: [nameColumn, col('Secrets', 'string', 'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.'), ageColumn],
  cells: (obj, now) => [obj.metadata?.name ?? '', ((obj as ServiceAccount).secrets ?? []).length, since(obj.metadata?.creationTimestamp, now)],
};

/** helper.GetAccessModesAsString: fixed order, de-duplicated. */
export function accessModes(modes: string[] | undefined): string {
  const m = new Set(modes ?? []);
  const out: string[] = [];
  if (m.has('ReadWriteOnce')) out.push('RWO');
  if (m.has('ReadOnlyMany')) out.push('ROX');
  if (m.has('ReadWriteMany')) out.push('RWX');
  if (m.has('ReadWriteOncePod')) out.push('RWOP');
  return out.join(',');
}

const BETA_CLASS_ANNOTATION = 'volume.beta.kubernetes.io/storage-class';

const persistentVolume: Printer = {
  columns: [
    nameColumn,
    col('Capacity', 'string', "capacity is the description of the persistent volume's resources and capacity."),
    col('Access Modes', 'string', 'accessModes contains all ways the volume can be mounted.'),
    col('Reclaim Policy', 'string', 'persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim.'),
    col('Status', 'string', 'phase indicates if a volume is available, bound to a claim, or released by a claim.'),
    col('Claim', 'string', 'claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.'),
    col('StorageClass', 'string', 'StorageClass of the pv'),
    col('VolumeAttributesClass', 'string', 'VolumeAttributesClass of the pv'),
    col('Reason', 'string', 'reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI.'),
    ageColumn,
    col('VolumeMode', 'string', 'volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.', 1),
  ],
  cells(obj, now) {
    const pv = obj as PersistentVolume;
    const spec = pv.spec ?? {};
    const claim = spec.claimRef ? `${spec.claimRef.namespace ?? ''}/${spec.claimRef.name ?? ''}` : '';
    const phase = pv.metadata?.deletionTimestamp ? 'Terminating' : pv.status?.phase ?? '';
    const cls = pv.metadata?.annotations?.[BETA_CLASS_ANNOTATION] ?? spec.storageClassName ?? '';
    return [
      pv.metadata?.name ?? '', quantity(spec.capacity?.storage), accessModes(spec.accessModes),
      spec.persistentVolumeReclaimPolicy ?? '', phase, claim, cls, spec.volumeAttributesClassName ?? '<unset>',
      pv.status?.reason ?? '', since(pv.metadata?.creationTimestamp, now), spec.volumeMode ?? '<unset>',
    ];
  },
};

const persistentVolumeClaim: Printer = {
  columns: [
    nameColumn,
    col('Status', 'string', 'phase represents the current phase of PersistentVolumeClaim.'),
    col('Volume', 'string', 'volumeName is the binding reference to the PersistentVolume backing this claim.'),
    col('Capacity', 'string', 'capacity represents the actual resources of the underlying volume.'),
    col('Access Modes', 'string', 'accessModes contains the actual access modes the volume backing the PVC has.'),
    col('StorageClass', 'string', 'StorageClass of the pvc'),
    col('VolumeAttributesClass', 'string', 'VolumeAttributesClass of the pvc'),
    ageColumn,
    col('VolumeMode', 'string', 'volumeMode defines what type of volume is required by the claim.', 1),
  ],
  cells(obj, now) {
    const pvc = obj as PersistentVolumeClaim;
    const spec = pvc.spec ?? {};
    const phase = pvc.metadata?.deletionTimestamp ? 'Terminating' : pvc.status?.phase ?? '';
    let capacity = '';
    let modes = '';
    if (spec.volumeName) {
      modes = accessModes(pvc.status?.accessModes);
      capacity = quantity(pvc.status?.capacity?.storage);
    }
    const cls = pvc.metadata?.annotations?.[BETA_CLASS_ANNOTATION] ?? spec.storageClassName ?? '';
    return [
      pvc.metadata?.name ?? '', phase, spec.volumeName ?? '', capacity, modes, cls,
      spec.volumeAttributesClassName ?? '<unset>', since(pvc.metadata?.creationTimestamp, now), spec.volumeMode ?? '<unset>',
    ];
  },
};

const componentStatus: Printer = {
  columns: [
    nameColumn,
    col('Status', 'string', 'Status of the component conditions'),
    col('Message', 'string', 'Message of the component conditions'),
    col('Error', 'string', 'Error of the component conditions'),
  ],
  cells(obj) {
    const cs = obj as ComponentStatus;
    let status = 'Unknown';
    let message = '';
    let error = '';
    const c = (cs.conditions ?? []).find((x) => x.type === 'Healthy');
    if (c) {
      status = c.status === 'True' ? 'Healthy' : 'Unhealthy';
      message = c.message ?? '';
      error = c.error ?? '';
    }
    return [cs.metadata?.name ?? '', status, message, error];
  },
};

const replicationController: Printer = {
  columns: [
    nameColumn,
    col('Desired', 'integer', 'Replicas is the number of desired replicas.'),
    col('Current', 'integer', 'Replicas is the most recently observed number of replicas.'),
    col('Ready', 'integer', 'The number of ready replicas for this replication controller.'),
    ageColumn,
    containersColumn,
    imagesColumn,
    selectorColumn('Selector is a label query over pods that should match the Replicas count.'),
  ],
  cells(obj, now) {
    const rc = obj as ReplicationController;
    const [names, images] = containerCells(rc.spec?.template?.spec?.containers);
    return [
      rc.metadata?.name ?? '', rc.spec?.replicas ?? 1, rc.status?.replicas ?? 0, rc.status?.readyReplicas ?? 0,
      since(rc.metadata?.creationTimestamp, now), names, images, formatLabels(rc.spec?.selector),
    ];
  },
};

const podTemplate: Printer = {
  columns: [
    nameColumn,
    col('Containers', 'string', 'Names of each container in the template.'),
    col('Images', 'string', 'Images referenced by each container in the template.'),
    col('Pod Labels', 'string', 'The labels for the pod template.'),
  ],
  cells(obj) {
    const pt = obj as PodTemplate;
    const [names, images] = containerCells(pt.template?.spec?.containers);
    return [pt.metadata?.name ?? '', names, images, formatLabels(pt.template?.metadata?.labels)];
  },
};

const resourceQuota: Printer = {
  columns: [
    nameColumn,
    col('Request', 'string', 'Request represents a minimum amount of cpu/memory that a container may consume.'),
    col('Limit', 'string', 'Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.'),
    ageColumn,
  ],
  cells(obj, now) {
    const rq = obj as ResourceQuota;
    const hard = rq.status?.hard ?? {};
    const used = rq.status?.used ?? {};
    const req: string[] = [];
    const lim: string[] = [];
    for (const r of Object.keys(hard).sort()) {
      const text = `${r}: ${quantity(used[r])}/${quantity(hard[r])}`;
      const pieces = r.split('.');
      (pieces.length > 1 && pieces[0] === 'limits' ? lim : req).push(text);
    }
    return [rq.metadata?.name ?? '', req.join(', '), lim.join(', '), since(rq.metadata?.creationTimestamp, now)];
  },
};

export const corePrinters: Record<string, Printer> = {
  Pod: pod,
  Service: service,
  Endpoints: endpoints,
  Node: node,
  Event: event,
  Namespace: namespace,
  Secret: secret,
  ConfigMap: configMap,
  ServiceAccount: serviceAccount,
  PersistentVolume: persistentVolume,
  PersistentVolumeClaim: persistentVolumeClaim,
  ComponentStatus: componentStatus,
  ReplicationController: replicationController,
  PodTemplate: podTemplate,
  ResourceQuota: resourceQuota,
  // LimitRange and Binding use the default table (NAME, CREATED AT), as upstream.
};

