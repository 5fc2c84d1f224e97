// Starts and supervises k8ts's own containerd: config, root, state and socket
// all live under DATA_DIR/containerd, so it never touches (or collides with)
// the system's containerd. Restarted with back-off if it crashes; containers
// keep running meanwhile (their shims outlive containerd).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { CNI_BIN_DIR, cniConfDir, cniIpamDir, writeCniConfig } from './cni.js';
import { CriClient } from './cri/client.js';
import { SANDBOX_IMAGE, ensureSandboxImage } from './sandboxImage.js';

export const CONTAINERD_BIN = '/usr/bin/containerd';
const INSTALL_HINT = 'apt-get install containerd runc containernetworking-plugins';
// unix socket paths are limited to 108 bytes; containerd also adds ".ttrpc"
const MAX_SOCKET_PATH = 100;

export interface ContainerdOptions {
  dataDir: string;
  log: Logger;
  /** Port of k8ts's own registry: `localhost:<port>` and `127.0.0.1:<port>` are pulled over plain HTTP. */
  registryPort?: number;
  /** More `host:port` registries to reach over plain HTTP. */
  insecureRegistries?: string[];
  /** On a node away from the server: `localhost:<registryPort>` and `127.0.0.1:<registryPort>`
   *  are pulled from this `host:port` instead (the server's registry, over plain HTTP). */
  registryMirror?: string;
  /** The pod sandbox image (must be present locally; see sandboxImage.ts). */
  sandboxImage?: string;
  binary?: string;
  /** Force a snapshotter; by default overlayfs when it works here, else native. */
  snapshotter?: 'overlayfs' | 'native';
  /** How long to wait for the CRI to answer after a start, ms. */
  startTimeoutMs?: number;
  /** The node's pod CIDR: when known, the CNI conflist is written before the
   *  start (else call writeCniConfig later; containerd watches its conf dir). */
  podCIDR?: string;
  /** CNI bridge name (default k8ts0). */
  bridge?: string;
  /** Build and import the sandbox image once containerd is up (default true). */
  importSandboxImage?: boolean;
}

export interface Containerd {
  /** Path of containerd's gRPC socket (CRI and containerd API). */
  socket: string;
  snapshotter: 'overlayfs' | 'native';
  cgroupVersion: 1 | 2;
  configPath: string;
  /** PID of the running containerd (undefined while it is restarting). */
  pid(): number | undefined;
  stop(): Promise<void>;
}

/** Why this machine can't run containers with containerd (empty when it can). */
export function containerdProblems(binary = CONTAINERD_BIN): string[] {
  const problems: string[] = [];
  if (process.platform !== 'linux') problems.push('containers need Linux');
  if (process.getuid?.() !== 0) problems.push('containers need root (run k8ts as root, or use the simulated runtime)');
  if (!existsSync(binary)) problems.push(`${binary} not found (${INSTALL_HINT})`);
  if (!findInPath('runc')) problems.push(`runc not found (${INSTALL_HINT})`);
  if (!findInPath('containerd-shim-runc-v2')) problems.push(`containerd-shim-runc-v2 not found (${INSTALL_HINT})`);
  if (!existsSync(join(CNI_BIN_DIR, 'bridge'))) problems.push(`CNI plugins not found in ${CNI_BIN_DIR} (${INSTALL_HINT})`);
  return problems;
}

function searchPath(): string {
  // root's usual sbin dirs even when started from a user shell
  return [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']
    .filter((d, i, a) => a.indexOf(d) === i)
    .join(':');
}
function findInPath(name: string): string | undefined {
  for (const d of searchPath().split(':')) {
    const p = join(d, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** 2 on a unified (v2) hierarchy, 1 on v1 or hybrid (v2 mounted only at unified/). */
export function cgroupVersion(): 1 | 2 {
  try {
    return statfsSync('/sys/fs/cgroup').type === 0x63677270 ? 2 : 1;
  } catch {
    return 1;
  }
}

/** Whether an overlay mount works in dir (overlay on overlayfs, or on some
 *  filesystems, does not): containerd's overlayfs snapshotter would fail. */
export function overlayWorks(dir: string): boolean {
  try {
    if (!readFileSync('/proc/filesystems', 'utf8').includes('overlay')) {
      // the module may still load on first mount; try anyway
    }
    const base = join(dir, `.overlay-check-${process.pid}`);
    for (const d of ['lower', 'upper', 'work', 'merged']) mkdirSync(join(base, d), { recursive: true });
    try {
      execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${base}/lower,upperdir=${base}/upper,workdir=${base}/work`, `${base}/merged`], { stdio: 'ignore' });
      execFileSync('umount', [`${base}/merged`], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  } catch {
    return false;
  }
}

const q = (s: string): string => JSON.stringify(s); // TOML basic strings share JSON's escapes

export interface ConfigInput {
  dir: string;
  socket: string;
  sandboxImage: string;
  snapshotter: string;
  cniConfDir: string;
  runcPath?: string;
  registryConfigPath: string;
}

/** containerd config (version 2) with everything under dir. */
export function containerdConfig(c: ConfigInput): string {
  const cri = '[plugins."io.containerd.grpc.v1.cri"';
  return `# written by k8ts; regenerated at every start
version = 2
root = ${q(join(c.dir, 'root'))}
state = ${q(join(c.dir, 'state'))}
temp = ${q(join(c.dir, 'tmp'))}
plugin_dir = ""
imports = []
oom_score = 0
# fail fast if the CRI cannot load, instead of running without it
required_plugins = ["io.containerd.grpc.v1.cri"]
disabled_plugins = [
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
  "io.containerd.internal.v1.opt",
]

[grpc]
  address = ${q(c.socket)}
  uid = 0
  gid = 0

[ttrpc]
  address = ""

[debug]
  address = ""
  level = "info"

[metrics]
  address = ""

[cgroup]
  path = ""

# legacy v1 runtime: the tasks service still needs it loaded; keep its state ours
[plugins."io.containerd.runtime.v1.linux"]
  runtime_root = ${q(join(c.dir, 'state', 'runc-v1'))}

${cri}]
  sandbox_image = ${q(c.sandboxImage)}
  # processes here may lack CAP_SYS_RESOURCE: never ask runc for a score
  # below our own (containerd 1.6 would give sandboxes -998 and fail)
  restrict_oom_score_adj = true
  # streaming (exec/attach/port-forward) only on loopback, random port
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  disable_tcp_service = true
  enable_selinux = false
  max_container_log_line_size = 16384
  # network namespaces under our state dir, not /var/run/netns
  netns_mounts_under_state_dir = true
  enable_unprivileged_ports = false
  enable_unprivileged_icmp = false

${cri}.containerd]
  snapshotter = ${q(c.snapshotter)}
  default_runtime_name = "runc"
  discard_unpacked_layers = false

${cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

${cri}.containerd.runtimes.runc.options]
  # no systemd on these nodes: runc manages cgroupfs directly (v1 and v2)
  SystemdCgroup = false
  Root = ${q(join(c.dir, 'state', 'runc'))}
${c.runcPath ? `  BinaryName = ${q(c.runcPath)}\n` : ''}
${cri}.cni]
  bin_dir = ${q(CNI_BIN_DIR)}
  conf_dir = ${q(c.cniConfDir)}
  max_conf_num = 1

${cri}.registry]
  config_path = ${q(c.registryConfigPath)}
`;
}

/** hosts.toml for each plain-HTTP registry (containerd's certs.d layout); a host
 *  with an entry in MIRRORS (`host:port` → `host:port`) is pulled from the mirror. */
export function writeRegistryHosts(configPath: string, hosts: string[], mirrors: Record<string, string> = {}): void {
  rmSync(configPath, { recursive: true, force: true });
  mkdirSync(configPath, { recursive: true });
  for (const host of hosts) {
    const d = join(configPath, host);
    mkdirSync(d, { recursive: true });
    const via = mirrors[host] ?? host;
    writeFileSync(join(d, 'hosts.toml'), `server = ${q(`http://${host}`)}\n\n[host.${q(`http://${via}`)}]\n  capabilities = ["pull", "resolve", "push"]\n  skip_verify = true\n`);
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
async function waitGone(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!alive(pid)) return true;
    await sleep(50);
  }
  return !alive(pid);
}

/** A containerd left running by a previous k8ts (same config file) is stopped
 *  first: one containerd per data dir. */
async function stopStale(pidFile: string, configPath: string, log: Logger): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  rmSync(pidFile, { force: true });
  if (!Number.isInteger(pid) || pid <= 1) return;
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return;
  }
  if (!cmdline.includes(configPath)) return; // the PID was reused by something else
  log.warn({ pid }, 'stopping containerd left over from a previous run');
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  if (!(await waitGone(pid, 10_000))) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
    await waitGone(pid, 5_000);
  }
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export async function startContainerd(opts: ContainerdOptions): Promise<Containerd> {
  const { log } = opts;
  const binary = opts.binary ?? CONTAINERD_BIN;
  const problems = containerdProblems(binary);
  if (problems.length) throw new Error(`cannot run containerd: ${problems.join('; ')}`);

  const dir = join(opts.dataDir, 'containerd');
  const socket = join(dir, 'containerd.sock');
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH) throw new Error(`data dir too long for a unix socket path (${socket}); use a shorter --data-dir`);
  for (const d of ['root', 'state', 'tmp']) mkdirSync(join(dir, d), { recursive: true });
  const configPath = join(dir, 'config.toml');
  const pidFile = join(dir, 'containerd.pid');
  const logFile = join(dir, 'containerd.log');
  await stopStale(pidFile, configPath, log);

  const snapshotter = opts.snapshotter ?? (overlayWorks(join(dir, 'root')) ? 'overlayfs' : 'native');
  const registryConfigPath = join(dir, 'certs.d');
  const hosts = [...(opts.registryPort ? [`localhost:${opts.registryPort}`, `127.0.0.1:${opts.registryPort}`] : []), ...(opts.insecureRegistries ?? [])];
  const own = opts.registryPort ? [`localhost:${opts.registryPort}`, `127.0.0.1:${opts.registryPort}`] : [];
  writeRegistryHosts(registryConfigPath, hosts, opts.registryMirror ? Object.fromEntries(own.map((h) => [h, opts.registryMirror!])) : {});
  const confDir = cniConfDir(opts.dataDir);
  mkdirSync(confDir, { recursive: true });
  if (opts.podCIDR) writeCniConfig({ confDir, ipamDataDir: cniIpamDir(opts.dataDir), podCIDR: opts.podCIDR, bridge: opts.bridge });
  writeFileSync(configPath, containerdConfig({
    dir,
    socket,
    sandboxImage: opts.sandboxImage ?? SANDBOX_IMAGE,
    snapshotter,
    cniConfDir: confDir,
    runcPath: findInPath('runc'),
    registryConfigPath,
  }));
  const cgv = cgroupVersion();
  const startTimeoutMs = opts.startTimeoutMs ?? 30_000;

  let child: ChildProcess | undefined;
  let stopping = false;
  let restartTimer: NodeJS.Timeout | undefined;
  let backoffMs = 1_000;
  let startedAt = 0;
  let everReady = false;

  const spawnOnce = (): ChildProcess => {
    rmSync(socket, { force: true }); // so a stale socket never looks like readiness
    const fd = openSync(logFile, 'a');
    try {
      // own session: a Ctrl-C in k8ts's terminal must not kill containerd before
      // k8ts stops it in order
      const c = spawn(binary, ['--config', configPath], {
        stdio: ['ignore', fd, fd],
        detached: true,
        env: { ...process.env, PATH: searchPath() },
      });
      startedAt = Date.now();
      if (c.pid) writeFileSync(pidFile, String(c.pid));
      c.on('exit', (code, signal) => {
        if (child === c) child = undefined;
        if (stopping || !everReady) return; // a failed first start is reported by waitReady
        if (Date.now() - startedAt > 60_000) backoffMs = 1_000; // it had been healthy
        log.error({ code, signal, restartInMs: backoffMs, log: logFile }, 'containerd exited; restarting');
        restartTimer = setTimeout(() => {
          restartTimer = undefined;
          if (stopping) return;
          child = spawnOnce();
          waitReady(child).then(
            () => log.info({ pid: child?.pid }, 'containerd restarted'),
            (e) => log.error({ err: String(e) }, 'containerd restart not ready'),
          );
        }, backoffMs);
        backoffMs = Math.min(backoffMs * 2, 30_000);
      });
      return c;
    } finally {
      closeSync(fd);
    }
  };

  const waitReady = async (c: ChildProcess): Promise<void> => {
    const until = Date.now() + startTimeoutMs;
    let lastErr: unknown;
    while (Date.now() < until) {
      if (c.exitCode !== null || c.signalCode !== null) {
        throw new Error(`containerd exited during start (${c.exitCode ?? c.signalCode}); last log lines:\n${tail(logFile)}`);
      }
      if (existsSync(socket) && statSync(socket).isSocket()) {
        const cri = new CriClient(socket);
        try {
          await cri.version({ timeoutMs: 1_000 });
          return;
        } catch (e) {
          lastErr = e;
        } finally {
          cri.close();
        }
      }
      await sleep(50);
    }
    throw new Error(`containerd did not answer on ${socket} within ${startTimeoutMs} ms (${String(lastErr)}); last log lines:\n${tail(logFile)}`);
  };

  const stop = async (): Promise<void> => {
    stopping = true;
    if (restartTimer) clearTimeout(restartTimer);
    const c = child;
    if (c?.pid && c.exitCode === null && c.signalCode === null) {
      const exited = new Promise<boolean>((r) => c.once('exit', () => r(true)));
      const within = (ms: number) => Promise.race([exited, sleep(ms).then(() => false)]);
      c.kill('SIGTERM');
      if (!(await within(10_000))) {
        log.warn({ pid: c.pid }, 'containerd ignored SIGTERM; killing');
        c.kill('SIGKILL');
        await within(5_000);
      }
    }
    child = undefined;
    rmSync(pidFile, { force: true });
  };

  child = spawnOnce();
  try {
    await waitReady(child);
    everReady = true;
    if (opts.importSandboxImage !== false) {
      const cri = new CriClient(socket);
      try {
        await ensureSandboxImage(cri, { socket, tmpDir: join(dir, 'tmp'), snapshotter }, opts.sandboxImage ?? SANDBOX_IMAGE);
      } finally {
        cri.close();
      }
    }
  } catch (e) {
    await stop();
    throw e;
  }
  log.info({ pid: child.pid, socket, snapshotter, cgroupVersion: cgv }, 'containerd started');
  return { socket, snapshotter, cgroupVersion: cgv, configPath, pid: () => child?.pid, stop };
}
