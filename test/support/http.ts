// A raw HTTPS client with the admin credentials of a test server's kubeconfig,
// for protocol-level assertions (status codes, headers, watch streams); and a
// plain HTTP GET for what pods serve.
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import YAML from 'yaml';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json(): any;
}

export class RawClient {
  private readonly agent: https.Agent;
  readonly base: string;

  constructor(kubeconfig: string, opts: { noCredentials?: boolean; maxSockets?: number } = {}) {
    const kc = YAML.parse(readFileSync(kubeconfig, 'utf8'));
    const b64 = (s: string) => Buffer.from(s, 'base64');
    const user = kc.users[0].user;
    this.base = kc.clusters[0].cluster.server;
    this.agent = new https.Agent({
      ca: b64(kc.clusters[0].cluster['certificate-authority-data']),
      ...(opts.noCredentials ? {} : { cert: b64(user['client-certificate-data']), key: b64(user['client-key-data']) }),
      keepAlive: true,
      maxSockets: opts.maxSockets ?? 256,
    });
  }

  request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
      const len = data === undefined ? {} : { 'Content-Length': String(Buffer.byteLength(data)) };
      const req = https.request(`${this.base}${path}`, { method, agent: this.agent, headers: { 'Content-Type': 'application/json', ...len, ...headers } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, json: () => JSON.parse(text) });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.setTimeout(30_000, () => req.destroy(new Error('request timed out')));
      req.end(data);
    });
  }

  /** Open a watch; events are pushed to `events` as they arrive. */
  watch(path: string, onEvent: (ev: { type: string; object: any }) => void): { close(): void; done: Promise<void> } {
    let req!: ReturnType<typeof https.request>;
    const done = new Promise<void>((resolve) => {
      req = https.request(`${this.base}${path}`, { method: 'GET', agent: this.agent }, (res) => {
        let buf = '';
        res.on('data', (c) => {
          buf += c;
          let i;
          while ((i = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, i);
            buf = buf.slice(i + 1);
            if (line.trim()) onEvent(JSON.parse(line));
          }
        });
        res.on('end', () => resolve());
        res.on('error', () => resolve());
        res.on('close', () => resolve());
      });
      req.on('error', () => resolve());
      req.end();
    });
    return { close: () => req.destroy(), done };
  }

  /** A watch whose raw text chunks go to onChunk unparsed (for load tests). */
  rawWatch(path: string, onChunk: (chunk: string) => void): { close(): void } {
    const req = https.request(`${this.base}${path}`, { method: 'GET', agent: this.agent }, (res) => {
      res.setEncoding('utf8');
      res.on('data', onChunk);
      res.on('error', () => undefined);
    });
    req.on('error', () => undefined);
    req.end();
    return { close: () => req.destroy() };
  }

  close(): void {
    this.agent.destroy();
  }
}

/** A plain HTTP GET (a pod's or a forwarded port's answer), 3 s per request. */
export function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}
