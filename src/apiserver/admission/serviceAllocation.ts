// Service ClusterIP and NodePort allocation (upstream does this in the service
// REST storage). Used addresses are tracked from the watch cache, so several
// API servers on one etcd see each other's allocations.
import { formatIPv4, parseIPv4 } from '../../api/cidr.js';
import { errors, field, type FieldError } from '../../api/errors.js';
import type { KubeObject } from '../../api/kind.js';
import type { AdmissionPlugin } from '../rest.js';
import type { WatchCache } from '../watchCache.js';

export interface ServiceRanges {
  /** e.g. 10.43.0.0/16 */
  serviceCidr: string;
  nodePortMin: number;
  nodePortMax: number;
}


function usesNodePorts(svc: KubeObject): boolean {
  return svc.spec?.type === 'NodePort' || svc.spec?.type === 'LoadBalancer';
}

function ipsOf(svc: KubeObject): string[] {
  const s = svc.spec ?? {};
  const ips: string[] = s.clusterIPs ?? (s.clusterIP ? [s.clusterIP] : []);
  return ips.filter((ip: string) => ip && ip !== 'None');
}

function portsOf(svc: KubeObject): number[] {
  const out: number[] = (svc.spec?.ports ?? []).map((p: { nodePort?: number }) => p.nodePort).filter((n: unknown): n is number => typeof n === 'number' && n > 0);
  if (svc.spec?.healthCheckNodePort) out.push(svc.spec.healthCheckNodePort);
  return out;
}

export function serviceAllocation(cache: () => WatchCache, ranges: ServiceRanges): AdmissionPlugin {
  const [base, bits] = ranges.serviceCidr.split('/');
  const first = (parseIPv4(base) ?? NaN) + 1;
  const size = 2 ** (32 - Number(bits)) - 2;
  const usedIps = new Map<string, string>(); // ip -> service key
  const usedPorts = new Map<number, string>();
  let primed = false;
  const track = (svc: KubeObject, key: string, on: boolean) => {
    for (const ip of ipsOf(svc)) on ? usedIps.set(ip, key) : usedIps.get(ip) === key && usedIps.delete(ip);
    for (const p of portsOf(svc)) on ? usedPorts.set(p, key) : usedPorts.get(p) === key && usedPorts.delete(p);
  };
  const prime = () => {
    if (primed) return;
    primed = true;
    const c = cache();
    for (const o of c.list('services', '/registry/services/')) track(o.obj, o.key, true);
    c.subscribe('services', (ev) => {
      if (ev.prev) track(ev.prev.obj, ev.prev.key, false);
      if (ev.type !== 'DELETED') track(ev.object.obj, ev.object.key, true);
    });
  };
  const keyOf = (svc: KubeObject) => `/registry/services/${svc.metadata?.namespace}/${svc.metadata?.name}`;
  const inRange = (ip: string) => {
    const n = parseIPv4(ip);
    return n !== undefined && n >= first && n < first + size;
  };

  const allocateIp = (svc: KubeObject, key: string, errs: FieldError[]) => {
    const spec = svc.spec;
    const want: string | undefined = spec.clusterIP || spec.clusterIPs?.[0];
    if (want === 'None') {
      spec.clusterIP = 'None';
      spec.clusterIPs = ['None'];
    } else if (want) {
      if (!inRange(want)) {
        errs.push(field.invalid('spec.clusterIPs', [want], `failed to allocate IP ${want}: the provided IP (${want}) is not in the valid range. The range of valid IPs is ${ranges.serviceCidr}`));
        return;
      }
      const owner = usedIps.get(want);
      if (owner && owner !== key) {
        errs.push(field.invalid('spec.clusterIPs', [want], `failed to allocate IP ${want}: provided IP is already allocated`));
        return;
      }
      usedIps.set(want, key);
      spec.clusterIP = want;
      spec.clusterIPs = [want];
    } else {
      if (usedIps.size >= size) throw errors.internal('failed to allocate a serviceIP: range is full');
      let n = Math.floor(Math.random() * size);
      for (let i = 0; i < size; i++, n = (n + 1) % size) {
        const ip = formatIPv4(first + n);
        if (!usedIps.has(ip)) {
          usedIps.set(ip, key);
          spec.clusterIP = ip;
          spec.clusterIPs = [ip];
          break;
        }
      }
    }
    spec.ipFamilies ??= ['IPv4'];
    spec.ipFamilyPolicy ??= 'SingleStack';
  };

  const allocatePorts = (svc: KubeObject, key: string, errs: FieldError[]) => {
    const span = ranges.nodePortMax - ranges.nodePortMin + 1;
    (svc.spec.ports ?? []).forEach((p: { nodePort?: number }, i: number) => {
      if (p.nodePort) {
        if (p.nodePort < ranges.nodePortMin || p.nodePort > ranges.nodePortMax) {
          errs.push(field.invalid(`spec.ports[${i}].nodePort`, p.nodePort, `provided port is not in the valid range. The range of valid ports is ${ranges.nodePortMin}-${ranges.nodePortMax}`));
          return;
        }
        const owner = usedPorts.get(p.nodePort);
        if (owner && owner !== key) {
          errs.push(field.invalid(`spec.ports[${i}].nodePort`, p.nodePort, 'provided port is already allocated'));
          return;
        }
        usedPorts.set(p.nodePort, key);
        return;
      }
      let n = Math.floor(Math.random() * span);
      for (let j = 0; j < span; j++, n = (n + 1) % span) {
        const port = ranges.nodePortMin + n;
        if (!usedPorts.has(port)) {
          usedPorts.set(port, key);
          p.nodePort = port;
          return;
        }
      }
      throw errors.internal('failed to allocate a nodePort: range is full');
    });
  };

  return {
    name: 'ServiceAllocation',
    admit(a) {
      if (a.def.resource !== 'services' || a.def.group !== '' || a.subresource) return;
      prime();
      const svc = a.obj;
      const key = keyOf(svc);
      const errs: FieldError[] = [];
      svc.spec ??= {};
      if (a.op === 'CREATE') {
        if (svc.spec.type !== 'ExternalName') allocateIp(svc, key, errs);
        if (usesNodePorts(svc)) allocatePorts(svc, key, errs);
      } else if (a.op === 'UPDATE' && a.old) {
        const old = a.old;
        if (svc.spec.type === 'ExternalName') {
          delete svc.spec.clusterIP;
          delete svc.spec.clusterIPs;
        } else {
          const oldIp = old.spec?.clusterIP;
          if (!svc.spec.clusterIP && oldIp && old.spec?.type !== 'ExternalName') {
            svc.spec.clusterIP = oldIp;
            svc.spec.clusterIPs = old.spec.clusterIPs;
          } else if (oldIp && svc.spec.clusterIP !== oldIp && old.spec?.type !== 'ExternalName') {
            errs.push(field.invalid('spec.clusterIPs[0]', [svc.spec.clusterIP], 'may not change once set'));
          }
          if (!svc.spec.clusterIP) allocateIp(svc, key, errs);
          else if (!old.spec?.clusterIP || old.spec.type === 'ExternalName') allocateIp(svc, key, errs);
        }
        if (usesNodePorts(svc)) {
          // keep the ports a port already had when the client omitted them (kubectl apply does)
          for (const p of svc.spec.ports ?? []) {
            if (!p.nodePort) {
              const prev = (old.spec?.ports ?? []).find((o: { port: number; protocol?: string }) => o.port === p.port && (o.protocol ?? 'TCP') === (p.protocol ?? 'TCP'));
              if (prev?.nodePort) p.nodePort = prev.nodePort;
            }
          }
          allocatePorts(svc, key, errs);
        } else {
          for (const p of svc.spec.ports ?? []) delete p.nodePort;
        }
      }
      if (errs.length) {
        if (a.op === 'CREATE') track(svc, key, false);
        throw errors.invalid('Service', svc.metadata?.name ?? '', '', errs);
      }
    },
    committed(a) {
      if (a.def.resource !== 'services' || a.def.group !== '') return;
      if (a.op === 'DELETE') track(a.obj, keyOf(a.obj), false);
      if (a.op === 'UPDATE' && a.old) {
        // release what the new version no longer holds
        const key = keyOf(a.obj);
        const keepIps = new Set(ipsOf(a.obj));
        const keepPorts = new Set(portsOf(a.obj));
        for (const ip of ipsOf(a.old)) if (!keepIps.has(ip) && usedIps.get(ip) === key) usedIps.delete(ip);
        for (const p of portsOf(a.old)) if (!keepPorts.has(p) && usedPorts.get(p) === key) usedPorts.delete(p);
      }
    },
  };
}
