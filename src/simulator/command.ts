// `k8ts simulate`: run simulated nodes against any API server reachable with a
// kubeconfig (e.g. a second process next to `k8ts server`, or another cluster).
import pino from 'pino';
import { ApiClient } from '../client/api.js';
import { loadKubeconfig } from '../client/config.js';
import { startSimulator, type SimulatorOptions } from './index.js';

export interface SimulateCommandOptions extends SimulatorOptions {
  kubeconfig: string;
  logLevel?: string;
}

/** Runs until SIGINT/SIGTERM. */
export async function runSimulateCommand(o: SimulateCommandOptions): Promise<number> {
  const log = pino({ level: o.logLevel ?? 'info' }, pino.destination(2));
  const api = new ApiClient({ ...loadKubeconfig(o.kubeconfig), userAgent: 'k8ts/simulator' });
  const sim = await startSimulator(api, log, o);
  process.stderr.write(`simulating ${o.nodes} nodes (${o.prefix ?? 'k8ts-sim'}-0…); Ctrl-C stops\n`);
  return new Promise<number>((resolve) => {
    const stop = () => void sim.stop().finally(() => {
      api.close();
      resolve(0);
    });
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
