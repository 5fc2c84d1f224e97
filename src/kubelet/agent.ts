// The node agent (kubelet): starts k8ts's own containerd, registers the Node
// and keeps its Lease and status fresh, waits for the node's podCIDR to write
// the CNI config, then runs one PodWorker per pod bound to this node. A
// 1-second relist of the runtime's containers (upstream's PLEG) wakes the
// worker of a pod whose container changed state. Stopping the agent leaves the
// containers running: the next start adopts them (same containerID).
import { join } from 'node:path';
import type { Node, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Logger } from 'pino';
import type { KubeObject } from '../api/kind.js';
import { type ApiClient, isNotFound } from '../client/api.js';
import { EventRecorder } from '../client/events.js';
import { Informer } from '../client/informer.js';
import { ResourceClient } from '../client/resource.js';
import { ref } from '../client/resources.js';
import { startNodeRoutes } from '../proxy/nodeRoutes.js';
import { cniConfDir, cniIpamDir, DEFAULT_BRIDGE, ensureBridge, gatewayOf, writeCniConfig } from './cni.js';
import { startContainerd, type Containerd } from './containerd.js';
import { CriClient } from './cri/client.js';
import { serviceEnv } from './env.js';
import { ImageManager } from './images.js';
import { NodeStatusManager, primaryIPv4 } from './nodeStatus.js';
import { Backoff, LABEL_POD_UID } from './podStatus.js';
import { CLUSTER_DNS, PodWorker, type ProbeHooks } from './podWorker.js';
import { PodProbeHooks } from './probeHooks.js';
import { podVolumeObjects } from './volumes.js';
import { selfSignedServingCert, startKubeletServer } from './server.js';
import { KubeletMetrics, StatsProvider } from './stats.js';
import { startServiceNetwork } from './serviceNetwork.js';
import { ensureServiceRoute, serviceSinkName } from './serviceRoute.js';

export const DEFAULT_CLUSTER_CIDR = '10.42.0.0/16';
export const DEFAULT_SERVICE_CIDR = '10.43.0.0/16';

export interface AgentOptions {
  api: ApiClient;
  dataDir: string;
  nodeName: string;
  log: Logger;
  /** k8ts's registry port: containerd pulls localhost:<port>/… over plain HTTP */
  registryPort?: number;
  /** on a node away from the server: pull localhost:<registryPort>/… from this `host:port` (the server's registry) */
  registryMirror?: string;
  /** label the Node node-role.kubernetes.io/control-plane */
  controlPlane?: boolean;
  /** CNI bridge name (default k8ts0) */
  bridge?: string;
  /** the node's address (default: the host's primary IPv4) */
  hostIP?: string;
  /** Service VIPs (default 10.43.0.0/16); a route to a sink keeps them from ever leaving the machine */
  serviceCidr?: string;
  /** the cluster's pod network (default 10.42.0.0/16): the proxy masquerades what leaves it */
  clusterCidr?: string;
  /** resolvers the node's DNS server forwards other names to ("host[:port]"); [] = none; default: the host's */
  dnsUpstreams?: string[];
  clusterDNS?: string;
  kubeletPort?: number;
  /** probes and lifecycle hooks (default: probeHooks.ts over CRI ExecSync and the pod IP) */
  probes?: ProbeHooks;
  /** first crash-loop back-off, ms (upstream: 10 s) */
  crashBackoffMs?: number;
  /** aborts a start still in progress */
  signal?: AbortSignal;
  /** how long to wait for node IPAM to assign spec.podCIDR */
  podCidrTimeoutMs?: number;
}

export interface Agent {
  nodeName: string;
  cri: CriClient;
  containerd: Containerd;
  podCIDR: string;
  /** Stops the agent; containers keep running. */
  stop(): Promise<void>;
}

export async function startAgent(o: AgentOptions): Promise<Agent> {
  const { api, log, nodeName } = o;
  const t0 = Date.now();
  const hostIP = o.hostIP ?? primaryIPv4();
  const containerd = await startContainerd({ dataDir: o.dataDir, log: log.child({ component: 'containerd' }), registryPort: o.registryPort, registryMirror: o.registryMirror, bridge: o.bridge });
  const cri = new CriClient(containerd.socket, { timeoutMs: 120_000 });
  const stops: (() => unknown)[] = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const s of stops.reverse()) {
      try {
        await s();
      } catch (e) {
        log.warn({ err: (e as Error).message }, 'agent stop step failed');
      }
    }
    cri.close();
    await containerd.stop();
  };
  try {
    // the kubelet API (logs, exec, attach, port-forward, stats, metrics) first: the Node publishes its port
    const stats = new StatsProvider({ cri, nodeName, dataDir: o.dataDir });
    const metrics = new KubeletMetrics(cri);
    const kubelet = await startKubeletServer({
      cri,
      logsDir: join(o.dataDir, 'pods'),
      port: o.kubeletPort ?? 10250,
      // a fixed default port may be taken (several servers on one machine): then any free port
      fallbackToFreePort: o.kubeletPort === undefined,
      // an explicit node IP (`k8ts agent --node-ip`) is where the apiserver dials: listen there only
      bindAddress: hostIP.startsWith('127.') ? '127.0.0.1' : o.hostIP ?? '0.0.0.0',
      tls: { ca: api.config.ca ?? '', ...(await selfSignedServingCert(nodeName, [hostIP])) },
      apiClientForAuthz: api,
      nodeName,
      log: log.child({ component: 'kubelet-server' }),
      routes: { '/stats/summary': stats.handler, '/metrics': metrics.handler },
    });
    stops.push(() => kubelet.stop());
    const nodeStatus = new NodeStatusManager(api, cri, log, { nodeName, dataDir: o.dataDir, hostIP, controlPlane: o.controlPlane, kubeletPort: kubelet.port });
    await nodeStatus.register();
    nodeStatus.start();
    stops.push(() => nodeStatus.stop());
    o.signal?.addEventListener('abort', () => nodeStatus.stop());

    const podCIDR = await nodeStatus.waitForPodCIDR(o.podCidrTimeoutMs);
    if (o.signal?.aborted) throw new Error('agent start aborted');
    // the bridge exists before the first pod: the node's DNS server listens on its gateway address
    const bridge = o.bridge ?? DEFAULT_BRIDGE;
    await ensureBridge(bridge, podCIDR);
    writeCniConfig({ confDir: cniConfDir(o.dataDir), ipamDataDir: cniIpamDir(o.dataDir), podCIDR, bridge });
    // Service VIPs never leave the machine: the service CIDR routes to a sink (serviceRoute.ts)
    const serviceRoute = await ensureServiceRoute(o.serviceCidr ?? DEFAULT_SERVICE_CIDR, serviceSinkName(nodeName, bridge), log);
    if (serviceRoute) stops.push(() => serviceRoute.remove());
    // containerd notices the conflist by watching its dir: wait (bounded) for NetworkReady
    for (let i = 0; i < 100; i++) {
      const st = await cri.status().catch(() => undefined);
      if (st?.status?.conditions.find((c) => c.type === 'NetworkReady')?.status) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    nodeStatus.poke();

    const recorder = new EventRecorder(api, 'kubelet', nodeName);
    const event = (pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string) =>
      recorder.event({ apiVersion: 'v1', kind: 'Pod', metadata: pod.metadata } as KubeObject, type, reason, message);
    const get = async (path: string): Promise<KubeObject | undefined> => {
      try {
        return await api.request('GET', path);
      } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
      }
    };
    const envSources = {
      configMap: (ns: string, name: string) => get(`/api/v1/namespaces/${encodeURIComponent(ns)}/configmaps/${encodeURIComponent(name)}`),
      secret: (ns: string, name: string) => get(`/api/v1/namespaces/${encodeURIComponent(ns)}/secrets/${encodeURIComponent(name)}`),
    };
    const images = new ImageManager(cri, log, event, envSources.secret);

    // Services and EndpointSlices (all namespaces): pod env, and shared by the proxy and the DNS server
    const services = new Informer<Service & KubeObject>(new ResourceClient(api, ref('', 'services')));
    const endpointSlices = new Informer<EndpointSlice & KubeObject>(new ResourceClient(api, ref('discovery.k8s.io', 'endpointslices')));
    await Promise.all([services.start(), endpointSlices.start()]);
    stops.push(() => {
      services.stop();
      endpointSlices.stop();
    });
    // the Service network before the pods: kube-proxy rules, and this node's cluster DNS on the bridge gateway
    const serviceNetwork = await startServiceNetwork({
      api,
      nodeName,
      bridge,
      gateway: gatewayOf(podCIDR),
      nodeIPs: [hostIP],
      clusterCidr: o.clusterCidr ?? DEFAULT_CLUSTER_CIDR,
      serviceCidr: o.serviceCidr ?? DEFAULT_SERVICE_CIDR,
      dnsUpstreams: o.dnsUpstreams,
      services,
      endpointSlices,
      log,
      metrics: metrics.registry,
    });
    stops.push(() => serviceNetwork.stop());
    // host-gw: routes to the other nodes' podCIDRs via their InternalIPs (src/proxy/nodeRoutes.ts)
    const nodeInformer = new Informer<Node & KubeObject>(new ResourceClient(api, ref('', 'nodes')));
    await nodeInformer.start();
    const nodeRoutes = await startNodeRoutes({ nodes: nodeInformer, nodeName, log: log.child({ component: 'node-routes' }) });
    stops.push(async () => {
      nodeInformer.stop();
      await nodeRoutes.stop();
    });

    const svcEnv = (ns: string) => {
      const list = services.list(ns);
      const master = services.get('default/kubernetes');
      return serviceEnv(master && ns !== 'default' ? [master, ...list] : list);
    };

    const workers = new Map<string, PodWorker>();
    let probes = o.probes;
    if (!probes) {
      const own = new PodProbeHooks({ cri, event, log: log.child({ component: 'prober' }) });
      stops.push(() => own.stop());
      probes = own;
    }
    const crashBackoff = new Backoff(o.crashBackoffMs ?? 10_000, 300_000);
    const deps = {
      api,
      cri,
      log,
      images,
      event,
      envSources,
      serviceEnv: svcEnv,
      allocatable: () => nodeStatus.capacity().allocatable,
      nodeName,
      hostIP,
      dataDir: o.dataDir,
      crashBackoff,
      clusterDNS: o.clusterDNS ?? CLUSTER_DNS,
      probes,
      onDone: (uid: string) => workers.delete(uid),
    };
    const pods = new Informer<Pod & KubeObject>(new ResourceClient(api, ref('', 'pods')), { fieldSelector: `spec.nodeName=${nodeName}` });
    const onPod = (p: Pod) => {
      const uid = p.metadata?.uid;
      if (!uid || stopped) return;
      let w = workers.get(uid);
      if (!w) {
        workers.set(uid, (w = new PodWorker(deps, p)));
        metrics.podStarts.inc();
      }
      w.update(p);
    };
    pods.addEventHandler({
      onAdd: onPod,
      onUpdate: (_o, p) => onPod(p),
      onDelete: (p) => workers.get(p.metadata?.uid ?? '')?.update(undefined),
    });
    await pods.start();
    stops.push(() => {
      pods.stop();
      for (const w of workers.values()) w.stop();
    });

    // a ConfigMap/Secret changed: the workers of pods whose volumes read it rewrite them now
    // (upstream reaches the same through its sync loop; the 60 s refresh stays as a backstop)
    const payloadInformers = (['configmaps', 'secrets'] as const).map((resource) => {
      const inf = new Informer(new ResourceClient(api, ref('', resource)));
      const changed = (obj: KubeObject) => {
        const ns = obj.metadata?.namespace;
        const name = obj.metadata?.name ?? '';
        for (const p of pods.list(ns)) {
          const used = podVolumeObjects(p);
          if ((resource === 'configmaps' ? used.configMaps : used.secrets).includes(name)) workers.get(p.metadata?.uid ?? '')?.refreshVolumes();
        }
      };
      inf.addEventHandler({ onUpdate: (_o, n) => changed(n), onAdd: changed, onDelete: changed });
      return inf;
    });
    await Promise.all(payloadInformers.map((i) => i.start()));
    stops.push(() => payloadInformers.forEach((i) => i.stop()));

    // sandboxes of pods that no longer exist (deleted while the agent was down) go
    const known = new Set(pods.list().map((p) => p.metadata?.uid));
    for (const s of await cri.listPodSandbox()) {
      const uid = s.labels?.[LABEL_POD_UID];
      if (!uid || known.has(uid)) continue;
      log.info({ sandbox: s.id, pod: `${s.metadata?.namespace}/${s.metadata?.name}` }, 'removing the sandbox of a pod that is gone');
      for (const c of await cri.listContainers({ podSandboxId: s.id }).catch(() => [])) await cri.stopContainer(c.id, 0).catch(() => undefined);
      await cri.stopPodSandbox(s.id).catch(() => undefined);
      await cri.removePodSandbox(s.id).catch(() => undefined);
    }

    // PLEG: relist container states every second; wake the worker of a pod that changed
    const states = new Map<string, string>();
    let relisting = false;
    let primed = false;
    const pleg = setInterval(() => {
      if (relisting || stopped) return;
      relisting = true;
      cri
        .listContainers(undefined, { timeoutMs: 10_000 })
        .then((list) => {
          const seen = new Set<string>();
          for (const c of list) {
            seen.add(c.id);
            const prev = states.get(c.id);
            if (prev !== c.state) {
              states.set(c.id, c.state);
              // after the first relist a new container counts too (it may have exited already)
              if (primed) workers.get(c.labels?.[LABEL_POD_UID] ?? '')?.kick(0);
            }
          }
          for (const id of states.keys()) if (!seen.has(id)) states.delete(id);
          primed = true;
        })
        .catch((e) => log.debug({ err: (e as Error).message }, 'container relist failed'))
        .finally(() => (relisting = false));
    }, 1000);
    pleg.unref?.();
    stops.push(() => clearInterval(pleg));
    stops.push(() => recorder.flush());

    metrics.nodeStartupDuration.set((Date.now() - t0) / 1000);
    log.info({ node: nodeName, podCIDR, hostIP, ms: Date.now() - t0 }, 'node agent running');
    return { nodeName, cri, containerd, podCIDR, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
