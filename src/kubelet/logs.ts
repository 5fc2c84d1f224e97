// Container logs: reads the runtime's CRI-format log files
// (`<RFC3339Nano time> <stdout|stderr> <P|F> <content>`, P = partial line) and
// writes plain output with kubectl's options: follow, tailLines, since
// (seconds or time), timestamps and limitBytes.
import { open, stat, type FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';

export interface LogOptions {
  follow?: boolean;
  /** only the last N lines (before following) */
  tailLines?: number;
  /** only lines written at or after this time */
  since?: Date;
  timestamps?: boolean;
  /** stop after this many bytes of output */
  limitBytes?: number;
}

export interface LogRecord {
  time: string;
  stream: 'stdout' | 'stderr';
  /** false for a partial line (the runtime split a long line, or the output had no newline yet) */
  full: boolean;
  content: Buffer;
}

/** One CRI log line (without its newline); null when it is not in CRI format. */
export function parseCriLine(line: Buffer): LogRecord | null {
  const s1 = line.indexOf(0x20);
  if (s1 <= 0) return null;
  const s2 = line.indexOf(0x20, s1 + 1);
  if (s2 < 0) return null;
  const stream = line.subarray(s1 + 1, s2).toString();
  if (stream !== 'stdout' && stream !== 'stderr') return null;
  const tag = line.subarray(s2 + 1, s2 + 2).toString();
  const s3 = s2 + 2;
  if (line[s3] !== undefined && line[s3] !== 0x20) return null;
  // the tag field may carry several ':'-separated tags; the first is P or F
  return { time: line.subarray(0, s1).toString(), stream, full: tag !== 'P', content: line.subarray(Math.min(s3 + 1, line.length)) };
}

/** Milliseconds since the epoch for an RFC3339(Nano) time; NaN when unreadable. */
export function timeMs(t: string): number {
  // Date.parse accepts at most millisecond precision everywhere
  return Date.parse(t.replace(/(\.\d{3})\d+/, '$1'));
}

/** Bytes for one record as the user sees it. */
export function renderRecord(r: LogRecord, timestamps: boolean): Buffer {
  const parts: Buffer[] = [];
  if (timestamps) parts.push(Buffer.from(r.time + ' '));
  parts.push(r.content);
  if (r.full) parts.push(Buffer.from('\n'));
  return Buffer.concat(parts);
}

/** Splits complete lines off `buf`; returns the records and the unconsumed tail. */
export function splitRecords(buf: Buffer): { records: LogRecord[]; rest: Buffer } {
  const records: LogRecord[] = [];
  let start = 0;
  // bounded by the buffer length: each pass advances past one newline
  for (;;) {
    const nl = buf.indexOf(0x0a, start);
    if (nl < 0) break;
    const r = parseCriLine(buf.subarray(start, nl));
    if (r) records.push(r);
    start = nl + 1;
  }
  return { records, rest: buf.subarray(start) };
}

/** Index of the first record of the last `n` lines (a line ends at a full record). */
export function tailStart(records: LogRecord[], n: number): number {
  if (n <= 0) return records.length;
  let lines = 0;
  for (let i = records.length - 1; i >= 0; i--) {
    // a line ends at a full record, or at the very last record (a trailing partial)
    if (records[i]!.full || i === records.length - 1) {
      if (lines === n) return i + 1;
      lines++;
    }
  }
  return 0;
}

export interface StreamLogDeps {
  /** whether the container still runs (follow stops once it does not and the file is drained) */
  isRunning?: () => Promise<boolean>;
  /** set when the client went away */
  signal?: AbortSignal;
  /** poll interval while following, ms */
  pollMs?: number;
}

/**
 * Writes the log at `path` to `out` with the options. Resolves when done (not
 * following: at end of file; following: when the container stopped and the
 * file is drained, the byte limit is reached, or the client went away).
 */
export async function streamLog(path: string, opts: LogOptions, out: Writable, deps: StreamLogDeps = {}): Promise<void> {
  const ts = !!opts.timestamps;
  const sinceMs = opts.since ? opts.since.getTime() : undefined;
  let budget = opts.limitBytes !== undefined && opts.limitBytes > 0 ? opts.limitBytes : Infinity;
  const aborted = () => deps.signal?.aborted || out.destroyed;

  const write = async (b: Buffer): Promise<boolean> => {
    if (budget <= 0 || aborted()) return false;
    if (b.length > budget) b = b.subarray(0, budget);
    budget -= b.length;
    if (!out.write(b)) {
      await new Promise<void>((r) => {
        const done = () => (out.off('drain', done), out.off('close', done), r());
        out.on('drain', done);
        out.on('close', done);
      });
    }
    return budget > 0 && !aborted();
  };
  const emit = async (records: LogRecord[]): Promise<boolean> => {
    const bufs: Buffer[] = [];
    for (const r of records) {
      if (sinceMs !== undefined) {
        const t = timeMs(r.time);
        if (!Number.isNaN(t) && t < sinceMs) continue;
      }
      bufs.push(renderRecord(r, ts));
    }
    if (!bufs.length) return budget > 0 && !aborted();
    return write(Buffer.concat(bufs));
  };

  let fh: FileHandle | undefined;
  let ino = 0;
  let pos = 0;
  let pending = Buffer.alloc(0);
  const openLog = async (): Promise<boolean> => {
    try {
      fh = await open(path, 'r');
      ino = (await fh.stat()).ino;
      pos = 0;
      pending = Buffer.alloc(0);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  };
  /** Reads what was appended since the last read; returns its records. */
  const readMore = async (): Promise<LogRecord[]> => {
    if (!fh && !(await openLog())) return [];
    const st = await fh!.stat();
    if (st.size < pos) {
      // truncated in place: start over
      pos = 0;
      pending = Buffer.alloc(0);
    }
    const chunks: Buffer[] = [pending];
    // bounded: reads up to the size seen now, in 1 MiB steps
    while (pos < st.size) {
      const len = Math.min(1 << 20, st.size - pos);
      const b = Buffer.alloc(len);
      const { bytesRead } = await fh!.read(b, 0, len, pos);
      if (!bytesRead) break;
      chunks.push(b.subarray(0, bytesRead));
      pos += bytesRead;
    }
    const { records, rest } = splitRecords(Buffer.concat(chunks));
    pending = Buffer.from(rest);
    return records;
  };
  const rotated = async (): Promise<boolean> => {
    try {
      return (await stat(path)).ino !== ino;
    } catch {
      return false;
    }
  };

  try {
    let first = await readMore();
    if (opts.tailLines !== undefined && opts.tailLines >= 0) first = first.slice(tailStart(first, opts.tailLines));
    if (!(await emit(first)) || !opts.follow) return;
    const pollMs = deps.pollMs ?? 200;
    // following: ends with the client, the byte budget, or the container
    for (;;) {
      if (aborted()) return;
      const running = deps.isRunning ? await deps.isRunning().catch(() => false) : true;
      if (fh && (await rotated())) {
        // the runtime reopened the log (rotation): drain the old file, then switch
        if (!(await emit(await readMore()))) return;
        await fh.close();
        fh = undefined;
      }
      if (!(await emit(await readMore()))) return;
      if (!running) return;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  } finally {
    await fh?.close().catch(() => {});
  }
}
