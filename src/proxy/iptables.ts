// Runs iptables, iptables-restore, sysctl and conntrack, asynchronously (spawn,
// rules on stdin), optionally inside a network namespace (`ip netns exec`).
// Rule sets go in with `iptables-restore --noflush`: each table is replaced in
// one atomic transaction, and chains not named in the input are left alone
// (other proxies, Docker, the host's firewall).
import { spawn } from 'node:child_process';
import type { Jump } from './rules.js';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class Iptables {
  constructor(private readonly netns?: string) {}

  exec(cmd: string, args: string[], input?: string, timeoutMs = 60_000): Promise<ExecResult> {
    const [file, argv] = this.netns ? ['ip', ['netns', 'exec', this.netns, cmd, ...args]] : [cmd, args];
    return new Promise((resolve) => {
      let p;
      try {
        p = spawn(file, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
      } catch (e) {
        resolve({ code: -1, stdout: '', stderr: (e as Error).message });
        return;
      }
      let stdout = '';
      let stderr = '';
      p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
      p.on('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        resolve({ code: e.code === 'ENOENT' ? 127 : -1, stdout, stderr: stderr + e.message });
      });
      p.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, stdout, stderr });
      });
      p.stdin.on('error', () => {}); // the tool may exit before reading everything
      p.stdin.end(input ?? '');
    });
  }

  /** Applies a restore file without flushing other chains; throws with iptables' message on failure. */
  async restore(text: string): Promise<void> {
    const r = await this.exec('iptables-restore', ['-w', '5', '--noflush'], text);
    if (r.code !== 0) throw new Error(`iptables-restore failed (${r.code}): ${r.stderr.trim().slice(0, 2000)}`);
  }

  /** `iptables-save -t TABLE` output ('' when the tool fails). */
  async save(table: string): Promise<string> {
    const r = await this.exec('iptables-save', ['-t', table]);
    return r.code === 0 ? r.stdout : '';
  }

  /** Inserts the jump at the top of its chain unless an identical rule is there. Returns whether it inserted. */
  async ensureJump(j: Jump): Promise<boolean> {
    const check = await this.exec('iptables', ['-w', '5', '-t', j.table, '-C', j.chain, ...j.rule]);
    if (check.code === 0) return false;
    const ins = await this.exec('iptables', ['-w', '5', '-t', j.table, '-I', j.chain, '1', ...j.rule]);
    if (ins.code !== 0) throw new Error(`iptables -t ${j.table} -I ${j.chain} failed: ${ins.stderr.trim()}`);
    return true;
  }

  /** Deletes every copy of a jump. */
  async deleteJump(j: Jump): Promise<void> {
    for (let i = 0; i < 10; i++) {
      const r = await this.exec('iptables', ['-w', '5', '-t', j.table, '-D', j.chain, ...j.rule]);
      if (r.code !== 0) return;
    }
  }

  async sysctlGet(name: string): Promise<string | undefined> {
    const r = await this.exec('sysctl', ['-n', name]);
    return r.code === 0 ? r.stdout.trim() : undefined;
  }

  async sysctlSet(name: string, value: string): Promise<boolean> {
    const r = await this.exec('sysctl', ['-q', '-w', `${name}=${value}`]);
    return r.code === 0;
  }
}

/** The chain names in an iptables-save dump. */
export function chainsIn(dump: string): string[] {
  const out: string[] = [];
  for (const line of dump.split('\n')) if (line.startsWith(':')) out.push(line.slice(1, line.indexOf(' ')));
  return out;
}
