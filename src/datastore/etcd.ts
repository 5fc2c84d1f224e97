// Datastore on a real etcd v3 cluster (npm etcd3, raw KV/Watch RPCs).
// CAS is an etcd transaction comparing create/mod revisions; watch uses one gRPC stream
// per watch with prev_kv, resuming from the last seen revision after a stream error.
import { Etcd3, type IKeyValue, type IRangeRequest, type IWatchRequest, type IWatchResponse, type IDuplexStream } from 'etcd3';
import { DatastoreError, type Datastore, type KeyValue, type ListOptions, type ListResult, type Watch, type WatchEvent } from './types.js';
import { closedError, compactedError, conflict, keyExists, listStart, notFound, prefixEndBytes } from './util.js';

/** Deadline for one unary call. */
const CALL_TIMEOUT_MS = 10_000;
/** Reconnect attempts for a broken watch stream before the watch fails with Unavailable. */
const WATCH_RETRIES = 8;

function toKv(kv: IKeyValue): KeyValue {
  return {
    key: kv.key.toString('utf8'),
    value: kv.value,
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
  };
}

function mapError(err: unknown): Error {
  if (err instanceof DatastoreError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  if (msg.includes('required revision has been compacted')) return new DatastoreError('Compacted', msg);
  if (msg.includes('future revision')) return new DatastoreError('FutureRevision', msg);
  return new DatastoreError('Unavailable', `etcd: ${msg}`);
}

/** The [key, range_end) covering every key with the prefix from startKey on. */
function prefixRange(prefix: string, startKey?: string): { key: Buffer; range_end: Buffer } {
  const p = Buffer.from(prefix, 'utf8');
  // range_end "\0" means "every key >= key" in etcd.
  const end = prefixEndBytes(p) ?? Buffer.from([0]);
  const start = listStart(prefix, startKey);
  return { key: start === '' ? Buffer.from([0]) : Buffer.from(start, 'utf8'), range_end: end };
}

export class EtcdDatastore implements Datastore {
  private client: Etcd3 | undefined;
  private closed = false;
  /** highest compaction we know of (ours, or reported by etcd) */
  private knownCompact = 0;
  private readonly watches = new Set<EtcdWatch>();

  constructor(readonly endpoints: string[]) {}

  async start(): Promise<void> {
    if (this.client) return;
    this.client = new Etcd3({
      hosts: this.endpoints,
      dialTimeout: 5000,
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + CALL_TIMEOUT_MS }),
    });
    // Fail early when etcd is unreachable.
    await this.currentRevision();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of [...this.watches]) w.cancel();
    this.client?.close();
  }

  private get etcd(): Etcd3 {
    if (this.closed || !this.client) throw closedError();
    return this.client;
  }

  private async range(req: IRangeRequest) {
    try {
      return await this.etcd.kv.range(req);
    } catch (err) {
      throw await this.compactedWithRevision(mapError(err), Number(req.revision ?? 0));
    }
  }

  /** etcd's compacted error does not say the compaction revision: look it up. */
  private async compactedWithRevision(err: Error, requested: number): Promise<Error> {
    if (!(err instanceof DatastoreError) || err.code !== 'Compacted') return err;
    try {
      return compactedError(requested, await this.compactedRevision());
    } catch {
      return err;
    }
  }

  async currentRevision(): Promise<number> {
    const res = await this.range({ key: Buffer.from([0]), limit: 1, keys_only: true });
    return Number(res.header.revision);
  }

  async compactedRevision(): Promise<number> {
    // etcd has no call that reports it; the smallest readable revision is the compaction point.
    const current = await this.currentRevision();
    const readable = async (rev: number): Promise<boolean> => {
      try {
        await this.etcd.kv.range({ key: Buffer.from([0]), limit: 1, keys_only: true, revision: rev });
        return true;
      } catch (err) {
        const e = mapError(err);
        if (e instanceof DatastoreError && e.code === 'Compacted') return false;
        throw e;
      }
    };
    let lo = Math.max(1, this.knownCompact);
    let hi = Math.max(lo, current);
    if (await readable(lo)) return lo === 1 ? this.knownCompact : lo;
    // invariant: lo unreadable, hi readable (the current revision always is)
    for (let i = 0; i < 64 && hi - lo > 1; i++) {
      const mid = Math.floor((lo + hi) / 2);
      if (await readable(mid)) hi = mid;
      else lo = mid;
    }
    this.knownCompact = Math.max(this.knownCompact, hi);
    return hi;
  }

  async get(key: string, opts?: { revision?: number }): Promise<KeyValue | undefined> {
    const res = await this.range({ key: Buffer.from(key, 'utf8'), revision: opts?.revision || 0 });
    return res.kvs.length > 0 ? toKv(res.kvs[0]) : undefined;
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    const res = await this.range({
      ...prefixRange(prefix, opts.startKey),
      revision: opts.revision || 0,
      limit: opts.limit && opts.limit > 0 ? opts.limit : 0,
    });
    return { kvs: res.kvs.map(toKv), revision: opts.revision || Number(res.header.revision), more: !!res.more };
  }

  async count(prefix: string): Promise<number> {
    const res = await this.range({ ...prefixRange(prefix), count_only: true });
    return Number(res.count);
  }

  async create(key: string, value: Uint8Array): Promise<KeyValue> {
    const k = Buffer.from(key, 'utf8');
    const v = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    const res = await this.txn({
      compare: [{ key: k, target: 'Create', result: 'Equal', create_revision: 0 }],
      success: [{ request_put: { key: k, value: v } }],
      failure: [],
    });
    if (!res.succeeded) throw keyExists(key);
    const rev = Number(res.header.revision);
    return { key, value, createRevision: rev, modRevision: rev };
  }

  async update(key: string, value: Uint8Array, expectedModRevision: number): Promise<KeyValue> {
    const k = Buffer.from(key, 'utf8');
    const v = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    const res = await this.txn({
      compare: [
        { key: k, target: 'Create', result: 'Greater', create_revision: 0 },
        { key: k, target: 'Mod', result: 'Equal', mod_revision: expectedModRevision },
      ],
      success: [{ request_put: { key: k, value: v, prev_kv: true } }],
      failure: [{ request_range: { key: k } }],
    });
    if (!res.succeeded) throw this.casFailure(key, expectedModRevision, res.responses[0]?.response_range?.kvs);
    const prev = res.responses[0].response_put.prev_kv;
    const rev = Number(res.header.revision);
    return { key, value, createRevision: prev ? Number(prev.create_revision) : rev, modRevision: rev };
  }

  async delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    const k = Buffer.from(key, 'utf8');
    const compare: NonNullable<Parameters<Etcd3['kv']['txn']>[0]['compare']> = [
      { key: k, target: 'Create', result: 'Greater', create_revision: 0 },
    ];
    if (expectedModRevision !== undefined) compare.push({ key: k, target: 'Mod', result: 'Equal', mod_revision: expectedModRevision });
    const res = await this.txn({
      compare,
      success: [{ request_delete_range: { key: k, prev_kv: true } }],
      failure: [{ request_range: { key: k } }],
    });
    if (!res.succeeded) throw this.casFailure(key, expectedModRevision, res.responses[0]?.response_range?.kvs);
    const prev = res.responses[0].response_delete_range.prev_kvs[0];
    return { key, value: prev.value, createRevision: Number(prev.create_revision), modRevision: Number(res.header.revision) };
  }

  private casFailure(key: string, expected: number | undefined, kvs: IKeyValue[] | undefined): DatastoreError {
    if (!kvs || kvs.length === 0) return notFound(key);
    return conflict(key, expected ?? 0, toKv(kvs[0]));
  }

  private async txn(req: Parameters<Etcd3['kv']['txn']>[0]) {
    try {
      return await this.etcd.kv.txn(req);
    } catch (err) {
      throw mapError(err);
    }
  }

  watch(prefix: string, fromRevision: number, onEvents: (events: WatchEvent[]) => void, onError: (err: Error) => void): Watch {
    if (this.closed || !this.client) {
      queueMicrotask(() => onError(closedError()));
      return { cancel() {} };
    }
    if (fromRevision > 0 && fromRevision <= this.knownCompact) {
      const compacted = this.knownCompact;
      queueMicrotask(() => onError(compactedError(fromRevision, compacted)));
      return { cancel() {} };
    }
    const w = new EtcdWatch(this, this.client, prefix, fromRevision, onEvents, onError);
    this.watches.add(w);
    return w;
  }

  /** @internal */
  removeWatch(w: EtcdWatch): void {
    this.watches.delete(w);
  }

  /** @internal */
  noteCompacted(rev: number): void {
    this.knownCompact = Math.max(this.knownCompact, rev);
  }

  async compact(revision: number): Promise<void> {
    try {
      await this.etcd.kv.compact({ revision, physical: true });
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      // Compacting to an already compacted revision is a no-op for us.
      if (!msg.includes('required revision has been compacted')) throw mapError(err);
    }
    this.noteCompacted(revision);
  }
}

class EtcdWatch implements Watch {
  private stream: IDuplexStream<IWatchRequest, IWatchResponse> | undefined;
  private cancelled = false;
  /** next revision not yet delivered; 0 until known when watching "from now" */
  private nextRev: number;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: EtcdDatastore,
    private readonly client: Etcd3,
    private readonly prefix: string,
    fromRevision: number,
    private readonly onEvents: (events: WatchEvent[]) => void,
    private readonly onError: (err: Error) => void,
  ) {
    this.nextRev = fromRevision > 0 ? fromRevision : 0;
    void this.connect();
  }

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.store.removeWatch(this);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const s = this.stream;
    this.stream = undefined;
    if (s) {
      try {
        s.cancel();
      } catch {
        // already gone
      }
    }
  }

  private fail(err: Error): void {
    if (this.cancelled) return;
    this.cancel();
    this.onError(err);
  }

  private async connect(): Promise<void> {
    let stream: IDuplexStream<IWatchRequest, IWatchResponse>;
    try {
      stream = await this.client.watchClient.watch();
    } catch (err) {
      return this.retry(err as Error);
    }
    if (this.cancelled) {
      stream.cancel();
      return;
    }
    this.stream = stream;
    const broken = (err: Error) => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      try {
        stream.cancel();
      } catch {
        // ignore
      }
      this.retry(err);
    };
    stream.on('data', (res) => {
      if (this.stream !== stream) return;
      this.handle(res);
    });
    stream.on('error', (err) => broken(err));
    stream.on('end', () => broken(new Error('watch stream ended')));
    const range = prefixRange(this.prefix);
    stream.write({
      create_request: {
        key: range.key,
        range_end: range.range_end,
        start_revision: this.nextRev,
        prev_kv: true,
      },
    });
  }

  private retry(err: Error): void {
    if (this.cancelled) return;
    if (++this.failures > WATCH_RETRIES) return this.fail(new DatastoreError('Unavailable', `etcd watch: ${err.message}`));
    const delay = Math.min(3000, 100 * 2 ** (this.failures - 1));
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }

  private handle(res: IWatchResponse): void {
    if (res.created) {
      this.failures = 0;
      if (this.nextRev === 0) this.nextRev = Number(res.header.revision) + 1;
    }
    if (res.canceled) {
      const compactRev = Number(res.compact_revision || 0);
      if (compactRev > 0) {
        this.store.noteCompacted(compactRev);
        return this.fail(compactedError(this.nextRev, compactRev));
      }
      return this.fail(new DatastoreError('Unavailable', `etcd watch canceled: ${res.cancel_reason || 'no reason given'}`));
    }
    if (!res.events || res.events.length === 0) return;
    const out: WatchEvent[] = [];
    for (const ev of res.events) {
      const rev = Number(ev.kv.mod_revision);
      if (rev < this.nextRev) continue; // already delivered before a reconnect
      const prevKv = ev.prev_kv ? toKv(ev.prev_kv) : undefined;
      if (ev.type === 'Delete') {
        out.push({
          type: 'DELETE',
          kv: {
            key: ev.kv.key.toString('utf8'),
            value: prevKv ? prevKv.value : Buffer.alloc(0),
            createRevision: prevKv ? prevKv.createRevision : 0,
            modRevision: rev,
          },
          prevKv,
        });
      } else {
        out.push(prevKv ? { type: 'PUT', kv: toKv(ev.kv), prevKv } : { type: 'PUT', kv: toKv(ev.kv) });
      }
    }
    if (out.length === 0) return;
    this.nextRev = out[out.length - 1].kv.modRevision + 1;
    try {
      this.onEvents(out);
    } catch (err) {
      this.fail(err as Error);
    }
  }
}
