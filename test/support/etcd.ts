// Starts a throwaway single-member etcd (Debian's etcd-server) on loopback for tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ETCD_BINARY = process.env.K8TS_ETCD_BINARY ?? '/usr/bin/etcd';
export const ETCD_MISSING = 'etcd not installed: apt-get install etcd-server';

export function etcdInstalled(): boolean {
  return existsSync(ETCD_BINARY);
}

/** A port the kernel considers free right now on 127.0.0.1. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function healthy(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) });
    const body = (await res.json()) as { health?: string };
    return res.ok && body.health === 'true';
  } catch {
    return false;
  }
}

async function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

export async function startEtcd(): Promise<{ endpoint: string; stop(): Promise<void> }> {
  if (!etcdInstalled()) throw new Error(ETCD_MISSING);
  // Ports can be taken between probing and binding: retry a few times.
  let lastError = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), 'k8ts-etcd-'));
    const clientPort = await freePort();
    const peerPort = await freePort();
    const endpoint = `http://127.0.0.1:${clientPort}`;
    const peer = `http://127.0.0.1:${peerPort}`;
    const proc = spawn(
      ETCD_BINARY,
      [
        '--name', 'test',
        '--data-dir', join(dir, 'data'),
        '--listen-client-urls', endpoint,
        '--advertise-client-urls', endpoint,
        '--listen-peer-urls', peer,
        '--initial-advertise-peer-urls', peer,
        '--initial-cluster', `test=${peer}`,
        '--initial-cluster-state', 'new',
        '--logger', 'zap',
        '--log-level', 'error',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    proc.stderr!.on('data', (d) => {
      stderr = (stderr + d).slice(-4000);
    });
    const stop = async () => {
      await stopProcess(proc);
      rmSync(dir, { recursive: true, force: true });
    };
    const deadline = Date.now() + 15000;
    while (Date.now() < deadline && proc.exitCode === null) {
      if (await healthy(endpoint)) return { endpoint, stop };
      await new Promise((r) => setTimeout(r, 50));
    }
    lastError = proc.exitCode !== null ? `etcd exited with ${proc.exitCode}: ${stderr}` : `etcd not healthy after 15s: ${stderr}`;
    await stop();
  }
  throw new Error(lastError);
}
