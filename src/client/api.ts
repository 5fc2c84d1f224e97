// The REST client every component uses: JSON over HTTPS with keep-alive,
// Kubernetes Status errors as ApiError, and streaming watches.
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { KubeObject } from '../api/kind.js';
import type { ClientConfig } from './config.js';

export class ApiError extends Error {
  constructor(
    public readonly code: number,
    public readonly reason: string,
    message: string,
    public readonly status?: KubeObject,
  ) {
    super(message);
  }
}

export const isNotFound = (e: unknown) => e instanceof ApiError && e.code === 404;
export const isConflict = (e: unknown) => e instanceof ApiError && e.code === 409 && e.reason === 'Conflict';
export const isAlreadyExists = (e: unknown) => e instanceof ApiError && e.reason === 'AlreadyExists';
export const isGone = (e: unknown) => e instanceof ApiError && e.code === 410;

export interface WatchEventOf<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export interface WatchHandle {
  stop(): void;
}

const JSON_TYPE = 'application/json';

export interface ApiClientOptions {
  /** sockets in this client's pool (each open watch holds one); 64 unless set */
  maxSockets?: number;
}

export class ApiClient {
  private readonly agent: https.Agent;
  private readonly base: URL;

  constructor(public readonly config: ClientConfig, opts: ApiClientOptions = {}) {
    this.base = new URL(config.server);
    this.agent = new https.Agent({
      ca: config.ca,
      cert: config.cert,
      key: config.key,
      rejectUnauthorized: !config.insecure,
      keepAlive: true,
      maxSockets: opts.maxSockets ?? 64,
    });
  }

  private headers(accept: string, contentType?: string, length?: number): Record<string, string> {
    const h: Record<string, string> = { Accept: accept, 'User-Agent': this.config.userAgent ?? 'k8ts' };
    if (this.config.token) h.Authorization = `Bearer ${this.config.token}`;
    if (contentType) h['Content-Type'] = contentType;
    if (length !== undefined) h['Content-Length'] = String(length);
    return h;
  }

  /**
   * One JSON request; throws ApiError for non-2xx answers. `accept` asks for another
   * JSON rendering (e.g. PartialObjectMetadata).
   */
  request<T = KubeObject>(method: string, path: string, body?: unknown, contentType = JSON_TYPE, accept = JSON_TYPE): Promise<T> {
    const data = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    return new Promise<T>((resolve, reject) => {
      const req = https.request(
        { protocol: 'https:', hostname: this.base.hostname, port: this.base.port, path, method, agent: this.agent, headers: this.headers(accept, data ? contentType : undefined, data?.length) },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            const code = res.statusCode ?? 0;
            let json: any;
            try {
              json = text ? JSON.parse(text) : undefined;
            } catch {
              json = undefined;
            }
            if (code >= 200 && code < 300) resolve(json as T);
            else reject(new ApiError(code, json?.reason ?? 'Unknown', json?.message ?? `${method} ${path}: HTTP ${code}`, json));
          });
          res.on('error', reject);
        },
      );
      req.on('error', (e) => reject(new ApiError(0, 'ConnectionError', `${method} ${path}: ${e.message}`)));
      req.setTimeout(60_000, () => req.destroy(new Error('request timed out')));
      req.end(data);
    });
  }

  /**
   * Stream a watch. `onEvent` gets every event; `onClose` is called once when the
   * stream ends (err set when it failed), unless stop() was called. `accept` as for request().
   */
  watch<T = KubeObject>(path: string, onEvent: (ev: WatchEventOf<T>) => void, onClose: (err?: Error) => void, accept = JSON_TYPE): WatchHandle {
    let stopped = false;
    let res: IncomingMessage | undefined;
    let closed = false;
    const close = (err?: Error) => {
      if (closed) return;
      closed = true;
      if (!stopped) onClose(err);
    };
    const req = https.request({ protocol: 'https:', hostname: this.base.hostname, port: this.base.port, path, method: 'GET', agent: this.agent, headers: this.headers(accept) }, (r) => {
      res = r;
      if ((r.statusCode ?? 0) >= 300) {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => {
          let json: any;
          try {
            json = JSON.parse(Buffer.concat(chunks).toString());
          } catch {
            /* not a Status */
          }
          close(new ApiError(r.statusCode ?? 0, json?.reason ?? 'Unknown', json?.message ?? `watch ${path}: HTTP ${r.statusCode}`, json));
        });
        return;
      }
      let buf = '';
      r.setEncoding('utf8');
      r.on('data', (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (!line.trim() || stopped) continue;
          let ev: WatchEventOf<T>;
          try {
            ev = JSON.parse(line);
          } catch {
            continue;
          }
          onEvent(ev);
        }
      });
      r.on('end', () => close());
      r.on('error', (e) => close(e));
      r.on('close', () => close());
    });
    req.on('error', (e) => close(e));
    req.end();
    return {
      stop: () => {
        stopped = true;
        res?.destroy();
        req.destroy();
      },
    };
  }

  close(): void {
    this.agent.destroy();
  }
}
