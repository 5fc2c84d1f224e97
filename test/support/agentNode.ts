// A `k8ts server` WITH its node agent for e2e tests: its own registry holding the
// busybox test image, a uniquely named CNI bridge on a free 10.42.x.0/24, the node
// Ready with its podCIDR; and a teardown that removes what the run made on the
// host and reports what the agent left behind.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cli, eventually, run, startServer, type TestServer } from './cluster.js';
import { criLeftovers, freeCidr, hostNetSnapshot } from './criNode.js';
import { buildBusyboxImage } from './images.js';

export interface AgentNodeOptions {
  /** third octets [lo, hi] to pick the cluster CIDR from (each test file its own range, so they can run at once); omitted: the server's default 10.42.0.0/24 */
  cidrRange?: [number, number];
  /** the bridge is `${bridgePrefix}` + 6 hex digits (interface names: 15 bytes at most) */
  bridgePrefix: string;
  /** more server flags (--node-name, --log-level …) */
  args?: string[];
  /** how the image reaches the node's registry: `skopeo copy` (as 127.0.0.1:port/busybox:1) or `k8ts image import` (as localhost:port/<importAs>) */
  importAs?: string;
  /** push the image later, with pushImage() (e.g. to measure the idle node first) */
  deferPush?: boolean;
  readyTimeoutMs?: number;
}

export interface AgentNode {
  s: TestServer;
  registryPort: number;
  /** the busybox test image's reference in the node's registry */
  image: string;
  podCIDR: string;
  clusterCidr: string;
  bridge: string;
  /** the Node object once Ready */
  node: any;
  pushImage(): Promise<void>;
  /** Deletes the pods (all, or those a label selector picks), stops the server, cleans the host; returns what was left behind (empty = clean). */
  teardown(opts?: { selector?: string; timeoutSec?: number }): Promise<string[]>;
}

export async function startAgentNode(opts: AgentNodeOptions): Promise<AgentNode> {
  const clusterCidr = opts.cidrRange ? freeCidr(...opts.cidrRange) : '10.42.0.0/24';
  const bridge = `${opts.bridgePrefix}${randomBytes(3).toString('hex')}`;
  const host = hostNetSnapshot(bridge);
  const cidrArgs = opts.cidrRange ? ['--cluster-cidr', clusterCidr] : [];
  const imgBuilt = buildBusyboxImage(); // meanwhile
  imgBuilt.catch(() => {}); // awaited below, once the server is there to stop
  const s = await startServer({ agent: true, args: ['--registry-port', '0', ...cidrArgs, '--cni-bridge', bridge, ...(opts.args ?? [])] });
  let podCIDR = '';
  const teardown = async ({ selector, timeoutSec = 30 }: { selector?: string; timeoutSec?: number } = {}): Promise<string[]> => {
    // pods go first so their sandboxes (veths, netns, NAT rules) are removed by the agent: it keeps containers on stop
    await s.kubectl(['delete', 'pods', ...(selector ? ['-l', selector] : ['--all']), '--grace-period=1', `--timeout=${timeoutSec}s`], { timeoutMs: (timeoutSec + 10) * 1000 });
    // stop the server but keep its data dir until the leftovers are looked at
    s.proc.kill('SIGTERM');
    await new Promise<void>((r) => (s.proc.exitCode !== null || s.proc.signalCode !== null ? r() : s.proc.once('exit', () => r())));
    host.restore();
    const left = criLeftovers(s.dataDir, bridge, podCIDR || clusterCidr);
    await s.stop(); // removes the data dir
    return left;
  };
  try {
    const img = await imgBuilt;
    const registryPort = Number(/registry listening on 127\.0\.0\.1:(\d+)/.exec(s.logs())?.[1]);
    assert.ok(registryPort > 0, `no registry port in:\n${s.logs()}`);
    const image = opts.importAs ? `localhost:${registryPort}/${opts.importAs}` : `127.0.0.1:${registryPort}/busybox:1`;
    const pushImage = async () => {
      const r = opts.importAs
        ? await run(process.execPath, [cli, 'image', 'import', img.archive, '--registry', `127.0.0.1:${registryPort}`, '--name', opts.importAs])
        : await run('skopeo', ['copy', '--dest-tls-verify=false', `oci:${img.layoutDir}:latest`, `docker://${image}`], { timeoutMs: 30_000 });
      assert.equal(r.code, 0, r.stderr);
    };
    if (!opts.deferPush) await pushImage();
    // the node registers, gets its podCIDR, and turns Ready once the CNI config is in
    const node = await eventually(async () => {
      const n = JSON.parse(await s.k(['get', 'nodes', '-o', 'json'])).items[0];
      return n?.spec?.podCIDR && n.status?.conditions?.find((c: { type: string }) => c.type === 'Ready')?.status === 'True' ? n : undefined;
    }, opts.readyTimeoutMs ?? 30_000, 'node Ready');
    podCIDR = node.spec.podCIDR;
    return { s, registryPort, image, podCIDR, clusterCidr, bridge, node, pushImage, teardown };
  } catch (e) {
    await teardown().catch(() => {});
    throw e;
  }
}
