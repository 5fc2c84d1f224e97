// The nginx data plane's process (`--ingress-data-plane nginx`): runs Debian's
// nginx as a child of `k8ts server` (`nginx -p <dir> -c nginx.conf -g 'daemon
// off;'`), keeps its configuration equal to renderNginxConfig(the controller's
// latest state), and stops it with the server. Certificate files (0600, written
// by atomic rename) change without a reload: nginx reads them per handshake.
// A changed nginx.conf is checked with `nginx -t` and then loaded with a
// graceful reload (SIGHUP, what `nginx -s reload` sends: new workers take new
// connections, old ones finish what they have), at most one per 200 ms. A bad
// configuration is logged and the running one kept. nginx exiting on its own is
// logged and it is started again after a second.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { renderNginxConfig, type NginxOptions, type NginxState } from './nginxConfig.js';

export const defaultNginxBinary = '/usr/sbin/nginx';

export interface NginxProcessOptions extends Omit<NginxOptions, 'httpPort' | 'httpsPort'> {
  log: Logger;
  /** 0 picks a free port (chosen here, before nginx starts, so reloads keep it) */
  httpPort: number;
  httpsPort: number;
  binary?: string;
  /** minimum time between two reloads (default 200 ms) */
  reloadIntervalMs?: number;
}

export interface NginxListenResult {
  httpPort?: number;
  httpsPort?: number;
  httpError?: string;
  httpsError?: string;
}

/** A free TCP port on the address (closed again at once; nginx binds it right after). */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

function writeAtomic(file: string, content: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode: 0o600 });
  renameSync(tmp, file);
}

export class NginxProcess {
  private state?: NginxState;
  private child?: ChildProcess;
  private httpPort = 0;
  private httpsPort = 0;
  private conf = '';
  private written = new Map<string, string>();
  private reported = new Set<string>();
  private lastReload = 0;
  private timer?: NodeJS.Timeout;
  private applying = false;
  private again = false;
  private stopping = false;
  private stderrTail = '';
  /** reloads done (tests, logs) */
  reloads = 0;
  /** resolves when the state last given to update() is in force (or could not be) */
  private idle: Promise<void> = Promise.resolve();
  private idleResolve?: () => void;

  constructor(private readonly o: NginxProcessOptions) {}

  get binary(): string {
    return this.o.binary ?? defaultNginxBinary;
  }

  /** The controller's latest state; applied now (or after the minimum reload interval) once started. */
  update(state: NginxState): void {
    this.state = state;
    if (this.child && !this.stopping) this.schedule();
  }

  /** Resolves when the latest update is written (and a reload it needed was sent). */
  settled(): Promise<void> {
    return this.idle;
  }

  private render() {
    return renderNginxConfig(this.state ?? { table: { hosts: new Map(), wildcards: new Map(), tls: [], backends: new Set(), problems: [] }, upstreams: new Map(), secrets: new Map() }, { ...this.o, httpPort: this.httpPort, httpsPort: this.httpsPort });
  }

  /** Write the certificate files that changed, remove ones no longer named. */
  private writeFiles(files: Map<string, string>): void {
    for (const [rel, content] of files) {
      if (this.written.get(rel) === content) continue;
      writeAtomic(join(this.o.dir, rel), content);
      this.written.set(rel, content);
    }
  }

  private removeStale(files: Map<string, string>): void {
    for (const rel of [...this.written.keys()])
      if (!files.has(rel)) {
        this.written.delete(rel);
        try {
          unlinkSync(join(this.o.dir, rel));
        } catch {
          /* already gone */
        }
      }
  }

  private report(problems: string[]): void {
    const now = new Set(problems);
    for (const p of now) if (!this.reported.has(p)) this.o.log.warn(`nginx data plane: ${p}`);
    this.reported = now;
  }

  /** `nginx -t` on a configuration file; the error text when it fails. */
  private test(file: string): Promise<string | undefined> {
    return new Promise((resolve) => {
      execFile(this.binary, ['-t', '-q', '-p', `${this.o.dir}/`, '-c', file], { timeout: 20_000 }, (err, _out, stderr) => resolve(err ? (stderr || err.message).trim() : undefined));
    });
  }

  async start(): Promise<NginxListenResult> {
    const dir = this.o.dir;
    for (const d of ['', 'certs', 'tmp', 'logs']) mkdirSync(join(dir, d), { recursive: true, mode: 0o700 });
    await this.stopLeftover();
    // stale certificates from an earlier run
    for (const f of readdirSync(join(dir, 'certs'))) unlinkSync(join(dir, 'certs', f));
    const bind = this.o.bind;
    try {
      this.httpPort = this.o.httpPort || (await freePort(bind));
      this.httpsPort = this.o.httpsPort || (await freePort(bind));
    } catch (e) {
      const msg = (e as Error).message;
      return { httpError: msg, httpsError: msg };
    }
    const cfg = this.render();
    this.report(cfg.problems);
    this.writeFiles(cfg.files);
    const file = join(dir, 'nginx.conf');
    writeFileSync(file, cfg.conf, { mode: 0o600 });
    this.conf = cfg.conf;
    const bad = await this.test(file);
    if (bad) return { httpError: `nginx -t: ${bad}`, httpsError: `nginx -t: ${bad}` };
    const err = await this.spawn();
    if (err) return { httpError: err, httpsError: err };
    // the state may have changed while nginx started
    this.schedule();
    return { httpPort: this.httpPort, httpsPort: this.httpsPort };
  }

  /** Start nginx; resolves once it wrote its pid file (its sockets are bound by then) or with why it exited. */
  private spawn(): Promise<string | undefined> {
    const pidFile = join(this.o.dir, 'nginx.pid');
    try {
      unlinkSync(pidFile);
    } catch {
      /* none */
    }
    const child = spawn(this.binary, ['-p', `${this.o.dir}/`, '-c', join(this.o.dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    this.stderrTail = '';
    // nginx's error log and (with the access log on) its access lines go to the server's stderr
    child.stderr!.on('data', (d: Buffer) => {
      process.stderr.write(d);
      this.stderrTail = (this.stderrTail + d.toString()).slice(-2000);
    });
    return new Promise((resolve) => {
      let done = false;
      const finish = (err?: string) => {
        if (done) return;
        done = true;
        clearInterval(poll);
        resolve(err);
      };
      const poll = setInterval(() => {
        if (existsSync(pidFile)) finish();
      }, 20);
      child.once('error', (e) => finish(e.message));
      child.once('exit', (code, signal) => {
        finish(`nginx exited (${signal ?? code}): ${this.stderrTail.trim().split('\n').slice(-3).join(' | ')}`);
        if (this.child === child) this.child = undefined;
        if (this.stopping || !done) return;
        this.o.log.error({ code, signal }, 'nginx (ingress data plane) exited; starting it again in 1 s');
        setTimeout(() => {
          if (this.stopping || this.child) return;
          void this.spawn().then((e) => e && this.o.log.error({ err: e }, 'nginx (ingress data plane) did not start'));
        }, 1000).unref();
      });
    });
  }

  private schedule(): void {
    if (!this.idleResolve) this.idle = new Promise((r) => (this.idleResolve = r));
    if (this.applying) {
      this.again = true;
      return;
    }
    if (this.timer) return;
    void this.apply();
  }

  private async apply(): Promise<void> {
    this.applying = true;
    try {
      const cfg = this.render();
      this.report(cfg.problems);
      // certificates first: a new configuration may name them; a rotated one needs no reload
      this.writeFiles(cfg.files);
      if (cfg.conf !== this.conf) {
        const wait = this.lastReload + (this.o.reloadIntervalMs ?? 200) - Date.now();
        if (wait > 0) {
          this.timer = setTimeout(() => {
            this.timer = undefined;
            void this.apply();
          }, wait);
          this.timer.unref();
          return;
        }
        const next = join(this.o.dir, 'nginx.conf.next');
        writeFileSync(next, cfg.conf, { mode: 0o600 });
        const bad = await this.test(next);
        if (bad) {
          this.o.log.error({ err: bad }, 'nginx data plane: the new configuration does not pass nginx -t; keeping the running one');
          this.conf = cfg.conf; // do not retry the same text on every sync
        } else if (this.child?.pid && !this.stopping) {
          renameSync(next, join(this.o.dir, 'nginx.conf'));
          this.conf = cfg.conf;
          this.lastReload = Date.now();
          this.child.kill('SIGHUP');
          this.reloads++;
        }
      }
      this.removeStale(cfg.files);
    } catch (e) {
      this.o.log.error({ err: (e as Error).message }, 'nginx data plane: cannot apply the configuration');
    } finally {
      if (!this.timer) {
        this.applying = false;
        if (this.again) {
          this.again = false;
          void this.apply();
        } else {
          this.idleResolve?.();
          this.idleResolve = undefined;
        }
      } else this.applying = false;
    }
  }

  /** An nginx left running by an earlier server that was killed (its pid file, our prefix in its command line). */
  private async stopLeftover(): Promise<void> {
    const pidFile = join(this.o.dir, 'nginx.pid');
    if (!existsSync(pidFile)) return;
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 1) return;
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      return; // not running
    }
    if (!cmd.includes('nginx') || !cmd.includes(this.o.dir)) return;
    this.o.log.warn({ pid }, 'stopping an nginx left by an earlier k8ts server');
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    for (let i = 0; i < 50 && existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 100));
  }

  /** Graceful stop (SIGQUIT), then fast (SIGTERM) after 2 s, then SIGKILL. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    const after = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());
    c.kill('SIGQUIT');
    await Promise.race([exited, after(2000)]);
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGTERM');
      await Promise.race([exited, after(2000)]);
    }
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
}
