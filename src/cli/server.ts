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
import { bootstrap } from '../apiserver/bootstrap.js';
import { Compactor } from '../apiserver/compactor.js';
import { ensureServerToken, joinHandler } from '../apiserver/join.js';
import { adminKubeconfig } from './kubeconfig.js';
import { ApiClient } from '../client/api.js';
import { startControllerManager } from '../controllers/manager.js';
import { InformerFactory } from '../client/factory.js';
import { LeaderElector } from '../client/leaderElection.js';
import { startScheduler } from '../scheduler/index.js';
import { startSimulator } from '../simulator/index.js';
import { startRegistry } from '../registry/server.js';
import { containerdProblems } from '../kubelet/containerd.js';
import type { Agent } from '../kubelet/agent.js';

export interface ServerOptions {
  dataDir: string;
  port: number;
  bindAddress: string;
  datastoreEndpoint?: string;
  advertiseAddress?: string;
  disableAgent: boolean;
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
  /** this machine's node name when the agent runs (default: the hostname) */
  nodeName?: string;
  /** the agent's CNI bridge (default k8ts0) */
  cniBridge?: string;
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
  const nodeName = (o.nodeName ?? hostname()).toLowerCase();
  const pki = await ensurePki(dataDir, servingNames(hostname(), [...hostIps(), advertise], serviceIp), o.disableAgent ? {} : kubeletIdentity(nodeName));
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
    admission: (store, cache) => [namespaceLifecycle(store, cache, registry), serviceAccount(store, cache, registry), serviceAllocation(cache, { serviceCidr: o.serviceCidr, nodePortMin: pmin, nodePortMax: pmax }), defaultTolerationSeconds({ notReadySeconds: o.defaultNotReadyTolerationSeconds, unreachableSeconds: o.defaultUnreachableTolerationSeconds }), priority(store, cache, registry), resourceQuota(store, cache, registry)],
  });
  await api.start();
  const port = api.port;
  await bootstrap(api.store, registry, { advertiseIp: advertise, port, serviceIp });
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
  let scheduler: { stop(): void } | undefined;
  let schedFactory: InformerFactory | undefined;
  const cmElector = new LeaderElector(cmClient, {
    name: 'kube-controller-manager',
    onStartedLeading: async () => {
      controllers = await startControllerManager(cmClient, log.child({ component: 'controller-manager' }), {
        nodeMonitorGracePeriodMs: o.nodeMonitorGracePeriodSeconds * 1000,
        clusterCidr: o.clusterCidr,
        nodeCidrMaskSize: 24,
      });
    },
    onStoppedLeading: () => {
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
            clusterDNS: serviceIp.replace(/\.1$/, '.10'),
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
      await agentStart;
      await agent?.stop();
      await agentSim?.stop();
      agentClient?.close();
      await imageRegistry?.stop();
      await simulator?.stop();
      simClient?.close();
      cmElector.stop();
      schedElector.stop();
      cmClient.close();
      schedClient.close();
      compactor.stop();
      await api.stop();
      await datastore.close();
      log.flush?.();
    },
  };
}
