// Starts a real `k8ts server` (the compiled CLI) in a temp data dir for e2e
// tests, and runs the real kubectl against it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
export const cli = join(root, 'dist/src/cli/main.js');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface TestServer {
  dataDir: string;
  kubeconfig: string;
  port: number;
  url: string;
  proc: ChildProcess;
  logs(): string;
  kubectl(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<RunResult>;
  /** kubectl that must succeed; returns stdout */
  k(args: string[] | string, input?: string): Promise<string>;
  stop(): Promise<void>;
  kill(): Promise<void>;
  restart(): Promise<void>;
}

export function run(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    p.stdin.on('error', () => undefined); // the command may exit before reading its input (EPIPE)
    p.stdin.end(opts.input ?? '');
  });
}

export async function startServer(opts: { datastoreEndpoint?: string; args?: string[]; dataDir?: string; /** run the node agent (omit --disable-agent) */ agent?: boolean; /** listen on this address instead of 127.0.0.1 (e.g. a bridge the test made for netns nodes) */ host?: string } = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'k8ts-e2e-'));
  const kubeconfig = join(dataDir, 'kubeconfig.yaml');
  let proc!: ChildProcess;
  let log = '';
  let port = 0;
  const launch = async () => {
    const args = [cli, 'server', '--data-dir', dataDir, '--port', String(port), '--bind-address', opts.host ?? '127.0.0.1', ...(opts.agent ? ['--dns-upstream', 'none', '--ingress-http-port', '0', '--ingress-https-port', '0', '--ingress-bind', '127.0.0.1'] : ['--disable-agent']), '--log-level', 'warn', ...(opts.args ?? [])];
    if (opts.datastoreEndpoint) args.push('--datastore-endpoint', opts.datastoreEndpoint);
    proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (d) => (log += d));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start in 20s:\n${log}`)), 20_000);
      proc.stderr!.on('data', (d) => {
        log += d;
        const m = /ready on https:\/\/[^:]+:(\d+)/.exec(log);
        if (m) {
          port = Number(m[1]);
          clearTimeout(timer);
          resolve();
        }
      });
      proc.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`server exited with ${code}:\n${log}`));
      });
    });
  };
  await launch();
  const kubectl = (args: string[], o: { input?: string; timeoutMs?: number } = {}) => run('kubectl', args, { input: o.input, env: { KUBECONFIG: kubeconfig }, timeoutMs: o.timeoutMs });
  const waitExit = (p: ChildProcess) => new Promise<void>((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.once('exit', () => r())));
  const s: TestServer = {
    dataDir,
    kubeconfig,
    get port() {
      return port;
    },
    get url() {
      return `https://${opts.host ?? '127.0.0.1'}:${port}`;
    },
    get proc() {
      return proc;
    },
    logs: () => log,
    kubectl,
    async k(args, input) {
      const list = typeof args === 'string' ? args.split(' ').filter(Boolean) : args;
      const r = await kubectl(list, { input });
      if (r.code !== 0) throw new Error(`kubectl ${list.join(' ')} failed (${r.code}):\n${r.stderr}\n${r.stdout}`);
      return r.stdout;
    },
    async stop() {
      proc.kill('SIGTERM');
      await waitExit(proc);
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
    async kill() {
      proc.kill('SIGKILL');
      await waitExit(proc);
    },
    async restart() {
      proc.kill('SIGTERM');
      await waitExit(proc);
      await launch();
    },
  };
  return s;
}

/** Poll until fn returns a truthy value (bounded). */
export async function eventually<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}
