// `k8ts server`: the composition root that wires the datastore, the API server
// and (in later issues) controllers, scheduler and the node agent.
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { openDatastore } from '../datastore/index.js';
import { KindRegistry } from '../api/registry.js';
import { builtinKinds } from '../api/kinds/index.js';
import { printerFor } from '../api/printers/index.js';
import { ApiServer } from '../apiserver/server.js';
import { ensurePki, kubeletIdentity, servingNames } from '../apiserver/pki.js';
import { Encryptor } from '../apiserver/encryption.js';
import { namespaceLifecycle } from '../apiserver/admission/namespaceLifecycle.js';
import { serviceAllocation } from '../apiserver/admission/serviceAllocation.js';
import { serviceAccount } from '../apiserver/admission/serviceAccount.js';
import { defaultTolerationSeconds } from '../apiserver/admission/defaultTolerationSeconds.js';
import { priority } from '../apiserver/admission/priority.js';
import { resourceQuota } from '../apiserver/admission/resourceQuota.js';
import { defaultIngressClass } from '../apiserver/admission/defaultIngressClass.js';
import { bootstrap, clusterDnsIp } from '../apiserver/bootstrap.js';
import { Compactor } from '../apiserver/compactor.js';
import { ensureServerToken, joinHandler } from '../apiserver/join.js';
import { adminKubeconfig } from './kubeconfig.js';
import { ApiClient } from '../client/api.js';
import { startControllerManager } from '../controllers/manager.js';
import { startServiceLB } from '../servicelb/controller.js';
import { parsePool } from '../servicelb/pool.js';
import { InformerFactory } from '../client/factory.js';
import { LeaderElector } from '../client/leaderElection.js';
import { startScheduler } from '../scheduler/index.js';
import { startSimulator } from '../simulator/index.js';
import { startRegistry } from '../registry/server.js';
import { containerdProblems } from '../kubelet/containerd.js';
import type { Agent } from '../kubelet/agent.js';
import type { IngressHandle } from '../ingress/index.js';

export interface ServerOptions {
  dataDir: string;
  port: number;
  bindAddress: string;
  datastoreEndpoint?: string;
  advertiseAddress?: string;
  disableAgent: boolean;
  /** built-in components not to run (k3s' --disable): `servicelb`, `ingress` */
  disable?: Set<string>;
  /** servicelb pool mode: hand out LoadBalancer addresses from this pool (CIDR, a-b, comma list) */
  serviceLbPool?: string;
  /** the embedded ingress controller's ports (default 80, 443; 0 picks one) and listen address (default 0.0.0.0) */
  ingressHttpPort?: number;
  ingressHttpsPort?: number;
  ingressBind?: string;
  /** data-plane worker processes of the ingress (default: defaultWorkerCount(), half the CPUs; 0 = in this process) */
  ingressWorkers?: number;
  /** the ingress data plane: `node` (default) or `nginx` (Debian's nginx configured by the controller) */
  ingressDataPlane?: 'node' | 'nginx';
  logLevel: string;
  serviceCidr: string;
  clusterCidr: string;
  nodePortRange: string;
  /** run this many simulated nodes (no containers) */
  simulatedNodes: number;
  nodeMonitorGracePeriodSeconds: number;
  defaultNotReadyTolerationSeconds: number;
  defaultUnreachableTolerationSeconds: number;
  /** serve the OCI registry on this port (0 picks one); off when undefined */
  registryPort?: number;
  registryBind?: string;
  /** more names and addresses for the serving certificate (agents reach the server by them: a DNS name, a NAT address) */
  tlsSan?: string[];
  /** this machine's node name when the agent runs (default: the hostname) */
  nodeName?: string;
  /** the agent's CNI bridge (default k8ts0) */
  cniBridge?: string;
  /** the node DNS server's upstream resolvers; [] = none; undefined = the host's */
  dnsUpstreams?: string[];
}

export function buildRegistry(): KindRegistry {
  const kinds = builtinKinds.map((k) => ({ ...k, printer: printerFor(k.group, k.kind) }));
  return new KindRegistry(kinds);
}

function hostIps(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (!a.internal && a.family === 'IPv4') out.push(a.address);
  return out;
}

export async function runServer(o: ServerOptions): Promise<{ stop(): Promise<void>; api: ApiServer }> {
  const t0 = performance.now();
  const log = pino({ level: o.logLevel, base: undefined }, pino.destination(2));
  const dataDir = resolve(o.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  mkdirSync(join(dataDir, 'db'), { recursive: true });
  const endpoint = o.datastoreEndpoint ?? `sqlite://${join(dataDir, 'db', 'state.db')}`;
  const datastore = openDatastore(endpoint);
  await datastore.start();
  const advertise = o.advertiseAddress ?? (o.bindAddress !== '0.0.0.0' && o.bindAddress !== '::' ? o.bindAddress : '127.0.0.1');
  const [svcBase] = o.serviceCidr.split('/');
  const serviceIp = svcBase.replace(/\.\d+$/, '.1');
  const dnsServiceIp = clusterDnsIp(o.serviceCidr);
  if (o.serviceLbPool) parsePool(o.serviceLbPool); // a bad pool fails here, not later on the leader
  const nodeName = (o.nodeName ?? hostname()).toLowerCase();
  const pki = await ensurePki(dataDir, servingNames(hostname(), [...hostIps(), advertise], serviceIp, o.tlsSan), o.disableAgent ? {} : kubeletIdentity(nodeName));
  const encryptor = Encryptor.fromFile(join(dataDir, 'encryption.json'));
  const registry = buildRegistry();
  const [pmin, pmax] = o.nodePortRange.split('-').map(Number);
  // agents join with DATA_DIR/token (or one from `k8ts token create`)
  ensureServerToken(dataDir, pki.ca.cert);
  const api = new ApiServer({
    preAuth: joinHandler(dataDir, pki.ca),
    datastore,
    registry,
    pki,
    encryptor,
    log: log.child({ component: 'apiserver' }),
    port: o.port,
    bindAddress: o.bindAddress,
    advertiseAddress: `${advertise}:${o.port}`,
    admission: (store, cache) => [namespaceLifecycle(store, cache, registry), serviceAccount(store, cache, registry), serviceAllocation(cache, { serviceCidr: o.serviceCidr, nodePortMin: pmin, nodePortMax: pmax }), defaultTolerationSeconds({ notReadySeconds: o.defaultNotReadyTolerationSeconds, unreachableSeconds: o.defaultUnreachableTolerationSeconds }), priority(store, cache, registry), defaultIngressClass(store, cache, registry), resourceQuota(store, cache, registry)],
  });
  await api.start();
  const port = api.port;
  await bootstrap(api.store, registry, { advertiseIp: advertise, port, serviceIp, dnsServiceIp, log: (msg) => log.warn(msg) });
  const compactor = new Compactor(datastore, log.child({ component: 'compactor' }));
  compactor.start();
  const host = o.bindAddress === '0.0.0.0' || o.bindAddress === '::' ? '127.0.0.1' : o.bindAddress;
  const loopback = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  // in-process components talk to the API like any client: HTTPS on loopback, own identity
  const componentClient = (name: string) => new ApiClient({ server: loopback, ca: pki.ca.cert, cert: pki.components[name].cert, key: pki.components[name].key, userAgent: `k8ts/${name}` });
  const cmClient = componentClient('kube-controller-manager');
  const schedClient = componentClient('kube-scheduler');
  // controllers and scheduler run on the leader only (several servers may share one etcd)
  let controllers: { stop(): void } | undefined;
  let serviceLb: { stop(): void } | undefined;
  let scheduler: { stop(): void } | undefined;
  let schedFactory: InformerFactory | undefined;
  const cmElector = new LeaderElector(cmClient, {
    name: 'kube-controller-manager',
    onStartedLeading: async () => {
      const cm = (controllers = await startControllerManager(cmClient, log.child({ component: 'controller-manager' }), {
        nodeMonitorGracePeriodMs: o.nodeMonitorGracePeriodSeconds * 1000,
        clusterCidr: o.clusterCidr,
        nodeCidrMaskSize: 24,
      }));
      // LoadBalancer status, on the controllers' shared informers
      if (!o.disable?.has('servicelb')) serviceLb = startServiceLB(cm.factory, cmClient, log.child({ component: 'servicelb' }), { pool: o.serviceLbPool });
    },
    onStoppedLeading: () => {
      serviceLb?.stop();
      serviceLb = undefined;
      controllers?.stop();
      controllers = undefined;
    },
  });
  const schedElector = new LeaderElector(schedClient, {
    name: 'kube-scheduler',
    onStartedLeading: async () => {
      schedFactory = new InformerFactory(schedClient);
      scheduler = await startScheduler(schedFactory, schedClient, log.child({ component: 'scheduler' }));
    },
    onStoppedLeading: () => {
      scheduler?.stop();
      schedFactory?.stop();
      scheduler = undefined;
    },
  });
  cmElector.start();
  schedElector.start();
  const simClient = o.simulatedNodes > 0 ? componentClient('kube-controller-manager') : undefined;
  const simulator = simClient ? await startSimulator(simClient, log.child({ component: 'simulator' }), { nodes: o.simulatedNodes, heartbeatIntervalMs: Math.min(10_000, o.nodeMonitorGracePeriodSeconds * 250) }) : undefined;
  // the node agent: real containers when this machine can run them, else one simulated node
  const agentProblems = o.disableAgent ? [] : containerdProblems();
  const runAgent = !o.disableAgent && agentProblems.length === 0;
  let agentSim: { stop(): Promise<void> } | undefined;
  const agentClient = o.disableAgent ? undefined : componentClient(`kubelet-${nodeName}`);
  if (agentClient && !runAgent) {
    log.warn({ problems: agentProblems }, 'cannot run containers here; running a simulated node instead');
    process.stderr.write(`warning: this node runs the SIMULATED runtime (no containers): ${agentProblems.join('; ')}\n`);
    agentSim = await startSimulator(agentClient, log.child({ component: 'simulator' }), { nodes: 1, prefix: nodeName, labels: { 'node-role.kubernetes.io/control-plane': 'true' } });
  }
  // the image registry (off unless asked for or a real node needs it; parallel servers would fight over port 5000)
  const registryPort = o.registryPort ?? (runAgent ? 5000 : undefined);
  let imageRegistry: Awaited<ReturnType<typeof startRegistry>> | undefined;
  try {
    imageRegistry = registryPort !== undefined ? await startRegistry({ root: join(dataDir, 'registry'), port: registryPort, host: o.registryBind ?? '127.0.0.1', log: log.child({ component: 'registry' }) }) : undefined;
  } catch (e) {
    if (o.registryPort !== undefined) throw e;
    log.warn({ port: registryPort, err: (e as Error).message }, 'cannot start the image registry (use --registry-port N)');
  }
  if (imageRegistry) process.stderr.write(`registry listening on ${imageRegistry.address}\n`);
  // the agent starts in the background: it needs the controllers (node IPAM) to get its podCIDR
  let agent: Agent | undefined;
  const agentAbort = new AbortController();
  // the ingress controller runs where this machine is a node (k3s' Traefik), in the background like the agent
  let ingress: IngressHandle | undefined;
  const ingressClient = agentClient && !o.disable?.has('ingress') ? componentClient('k8ts-ingress') : undefined;
  const ingressStart = ingressClient
    ? import('../ingress/index.js')
        .then(({ startIngress, defaultWorkerCount }) => startIngress({ api: ingressClient, log: log.child({ component: 'ingress' }), nodeName, httpPort: o.ingressHttpPort ?? 80, httpsPort: o.ingressHttpsPort ?? 443, bind: o.ingressBind, metrics: api.metrics, workers: o.ingressWorkers ?? defaultWorkerCount(), dataPlane: o.ingressDataPlane, dataDir }))
        .then(
          (h) => {
            ingress = h;
            const shown = !o.ingressBind || o.ingressBind === '0.0.0.0' ? '127.0.0.1' : o.ingressBind;
            if (h.httpPort !== undefined || h.httpsPort !== undefined) process.stderr.write(`ingress listening on http ${shown}:${h.httpPort ?? 'off'} https ${shown}:${h.httpsPort ?? 'off'}\n`);
          },
          (e) => log.error({ err: (e as Error).message }, 'ingress controller failed to start'),
        )
    : Promise.resolve();
  const agentStart = runAgent
    ? import('../kubelet/agent.js')
        .then(({ startAgent }) =>
          startAgent({
            api: agentClient!,
            dataDir,
            nodeName,
            // the in-server node is this machine: the apiserver reaches its kubelet over loopback
            hostIP: '127.0.0.1',
            log: log.child({ component: 'kubelet' }),
            registryPort: imageRegistry?.port,
            controlPlane: true,
            bridge: o.cniBridge,
            serviceCidr: o.serviceCidr,
            clusterCidr: o.clusterCidr,
            dnsUpstreams: o.dnsUpstreams,
            clusterDNS: dnsServiceIp,
            signal: agentAbort.signal,
          }),
        )
        .then(
          (a) => {
            agent = a;
            process.stderr.write(`node ${nodeName} is running pods on containerd (pod CIDR ${a.podCIDR})\n`);
          },
          (e) => {
            log.error({ err: (e as Error).message }, 'node agent failed to start');
            process.stderr.write(`error: the node agent failed to start: ${(e as Error).message}\n`);
          },
        )
    : Promise.resolve();
  const kubeconfig = join(dataDir, 'kubeconfig.yaml');
  writeFileSync(kubeconfig, adminKubeconfig(pki, loopback), { mode: 0o600 });
  log.info({ port, datastore: endpoint.replace(/\/\/[^@/]*@/, '//***@'), ms: Math.round(performance.now() - t0) }, 'k8ts server ready');
  process.stderr.write(`\nk8ts server is ready on https://${host}:${port} (${Math.round(performance.now() - t0)} ms)\n  export KUBECONFIG=${kubeconfig}\n  kubectl get nodes,namespaces\nor: ./k8ts kubectl --data-dir ${dataDir} get namespaces\n\n`);
  return {
    api,
    async stop() {
      if (!agent) agentAbort.abort(); // still starting (e.g. waiting for its podCIDR)
      await ingressStart;
      await ingress?.stop();
      ingressClient?.close();
      await agentStart;
      await agent?.stop();
      await agentSim?.stop();
      agentClient?.close();
      await imageRegistry?.stop();
      await simulator?.stop();
      simClient?.close();
      await Promise.all([cmElector.stop(), schedElector.stop()]);
      cmClient.close();
      schedClient.close();
      compactor.stop();
      await api.stop();
      await datastore.close();
      log.flush?.();
    },
  };
}
