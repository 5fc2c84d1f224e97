// Entry point of the node simulator (KWOK-like): registers simulated Nodes,
// keeps their Leases and NodeStatus fresh, and runs the pods bound to them
// without containers. `k8ts server --simulated-nodes N` and `k8ts simulate`
// both start it; it talks to the API server like any kubelet would.
import type { Logger } from 'pino';
import type { KubeObject } from '../api/kind.js';
import { type ApiClient, isAlreadyExists } from '../client/api.js';
import { Informer } from '../client/informer.js';
import { Limiter } from '../client/limiter.js';
import { ResourceClient } from '../client/resource.js';
import { ref } from '../client/resources.js';
import { heartbeatStopped } from './faults.js';
import { Heartbeater } from './lease.js';
import { buildNode, type NodeTemplate, type SimNode, simNode } from './node.js';
import { PodRunner } from './pods.js';

export interface SimulatorOptions {
  nodes: number;
  /** node names are `${prefix}-${i}`, i from 0 (default k8ts-sim) */
  prefix?: string;
  /** default { cpu: '4', memory: '16Gi', pods: '110', 'ephemeral-storage': '100Gi' } */
  capacity?: Record<string, string>;
  /** extra node labels */
  labels?: Record<string, string>;
  taints?: { key: string; value?: string; effect: string }[];
  /** ms from binding to Running/Ready: a number or [min, max] (default [200, 500]) */
  readyDelayMs?: number | [number, number];
  /** Lease renewal interval (default 10s like the kubelet; env K8TS_SIMULATOR_HEARTBEAT_MS overrides the default) */
  heartbeatIntervalMs?: number;
  /** run time of Never/OnFailure pods without the run-seconds annotation (default 1) */
  runSecondsDefault?: number;
  /** first container restart back-off (default 1s, doubling up to 5m) */
  restartBackoffMs?: number;
  /** bounded concurrency of API writes (default 32) */
  concurrency?: number;
}

export const defaultCapacity = { cpu: '4', memory: '16Gi', pods: '110', 'ephemeral-storage': '100Gi' };

export async function startSimulator(api: ApiClient, log: Logger, opts: SimulatorOptions): Promise<{ stop(): Promise<void> }> {
  const prefix = opts.prefix ?? 'k8ts-sim';
  const envBeat = Number(process.env.K8TS_SIMULATOR_HEARTBEAT_MS);
  const intervalMs = opts.heartbeatIntervalMs ?? (envBeat > 0 ? envBeat : 10_000);
  const concurrency = opts.concurrency ?? 32;
  const delay = opts.readyDelayMs ?? [200, 500];
  const template: NodeTemplate = { capacity: { ...defaultCapacity, ...opts.capacity }, labels: opts.labels ?? {}, taints: opts.taints ?? [] };

  const list: SimNode[] = [];
  for (let i = 0; i < opts.nodes; i++) list.push(simNode(prefix, i));
  const byName = new Map(list.map((n) => [n.name, n]));

  const nodeInformer = new Informer(new ResourceClient(api, ref('', 'nodes')));
  const heart = new Heartbeater(api, log, list, nodeInformer, { intervalMs, template, concurrency });
  const pods = new PodRunner(api, log, byName, nodeInformer, {
    readyDelayMs: typeof delay === 'number' ? [delay, delay] : delay,
    runSecondsDefault: opts.runSecondsDefault ?? 1,
    restartBackoffMs: opts.restartBackoffMs ?? 1000,
    workers: concurrency,
  });

  const onNode = (node: KubeObject) => {
    const n = byName.get(node.metadata?.name ?? '');
    if (!n) return;
    n.uid = node.metadata?.uid;
    const stopped = heartbeatStopped(node);
    if (stopped === n.stopped) return;
    n.stopped = stopped;
    log.info({ node: n.name, heartbeat: stopped ? 'stopped' : 'resumed' }, 'simulated node fault');
    if (!stopped) {
      heart.poke(n);
      pods.resync(n.name);
    }
  };
  nodeInformer.addEventHandler({ onAdd: onNode, onUpdate: (_o, n) => onNode(n) });
  await nodeInformer.start();

  // register the nodes that do not exist yet (a restart finds them registered)
  const limiter = new Limiter(concurrency);
  const t0 = Date.now();
  await Promise.all(
    list
      .filter((n) => !nodeInformer.get(n.name))
      .map((n) =>
        limiter.run(async () => {
          for (let attempt = 0; attempt < 5; attempt++) {
            try {
              const created = await api.request('POST', '/api/v1/nodes', buildNode(n, template));
              n.uid = created.metadata?.uid;
              n.lastStatusAt = Date.now();
              return;
            } catch (e) {
              if (isAlreadyExists(e)) return;
              if (attempt === 4) log.warn({ node: n.name, err: (e as Error).message }, 'cannot register simulated node');
              await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
            }
          }
        }),
      ),
  );
  log.info({ nodes: list.length, ms: Date.now() - t0 }, 'simulated nodes registered');
  heart.start();
  await pods.start();

  return {
    async stop() {
      heart.stop();
      pods.stop();
      nodeInformer.stop();
    },
  };
}
