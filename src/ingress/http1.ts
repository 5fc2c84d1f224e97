// HTTP/1.1 message heads and chunked framing for the relay (relay.ts): a strict
// parser of request and response heads (latin1, CRLF only, no obs-fold, no
// control characters) and a chunked-body scanner that only finds where a body
// ends (the bytes themselves are relayed unchanged). Anything this does not
// accept returns undefined / throws, and the relay leaves the connection to
// Node's own HTTP server, so unusual input keeps today's behaviour.

/** request heads and response heads larger than this are not handled here */
export const MAX_HEAD = 16 * 1024;

const token = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// control characters other than HTAB, and CR or LF outside a CRLF pair
const badChars = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)|(?<!\r)\n/;
const requestLine = /^([A-Z]+) (\/[^ ]*) HTTP\/1\.1$/;
const statusLine = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/;

export interface Head {
  /** header lines as [name as sent, value trimmed] */
  headers: [string, string][];
  contentLength?: number;
  /** Transfer-Encoding as sent, lower-case ('' = none) */
  transferEncoding: string;
  /** Connection as sent, lower-case */
  connection: string;
}

export interface RequestHead extends Head {
  method: string;
  target: string;
  host?: string;
  upgrade: boolean;
  expect: boolean;
  requestId?: string;
}

export interface ResponseHead extends Head {
  status: number;
  /** HTTP/1.0 upstream */
  http10: boolean;
}

/** Header lines of head text `s` starting at `from`; undefined if malformed. */
function parseHeaders(s: string, from: number, h: Head, each?: (lower: string, value: string) => boolean): boolean {
  let i = from;
  const n = s.length;
  while (i < n) {
    let e = s.indexOf('\r\n', i);
    if (e < 0) e = n;
    const c0 = s.charCodeAt(i);
    if (c0 === 32 || c0 === 9) return false; // obs-fold
    const colon = s.indexOf(':', i);
    if (colon < 0 || colon >= e) return false;
    const name = s.slice(i, colon);
    if (!token.test(name)) return false;
    let a = colon + 1;
    let b = e;
    while (a < b && (s.charCodeAt(a) === 32 || s.charCodeAt(a) === 9)) a++;
    while (b > a && (s.charCodeAt(b - 1) === 32 || s.charCodeAt(b - 1) === 9)) b--;
    const value = s.slice(a, b);
    const lower = name.toLowerCase();
    if (lower === 'content-length') {
      if (!/^\d{1,15}$/.test(value)) return false;
      const v = Number(value);
      if (h.contentLength !== undefined && h.contentLength !== v) return false;
      h.contentLength = v;
    } else if (lower === 'transfer-encoding') {
      h.transferEncoding = h.transferEncoding ? `${h.transferEncoding}, ${value.toLowerCase()}` : value.toLowerCase();
    } else if (lower === 'connection') {
      h.connection = h.connection ? `${h.connection}, ${value.toLowerCase()}` : value.toLowerCase();
    } else if (each && !each(lower, value)) return false;
    h.headers.push([name, value]);
    i = e + 2;
  }
  return true;
}

/** A request head: `buf[0..end)` where `end` is the index of the blank line's CRLFCRLF. */
export function parseRequestHead(buf: Buffer, end: number): RequestHead | undefined {
  const s = buf.toString('latin1', 0, end);
  if (badChars.test(s)) return undefined;
  const le = s.indexOf('\r\n');
  const m = requestLine.exec(le < 0 ? s : s.slice(0, le));
  if (!m) return undefined;
  const h: RequestHead = { method: m[1], target: m[2], headers: [], transferEncoding: '', connection: '', upgrade: false, expect: false };
  let hosts = 0;
  const ok = parseHeaders(s, le < 0 ? s.length : le + 2, h, (lower, value) => {
    if (lower === 'host') {
      hosts++;
      h.host = value;
    } else if (lower === 'upgrade') h.upgrade = true;
    else if (lower === 'expect') h.expect = true;
    else if (lower === 'x-request-id') h.requestId = value;
    return true;
  });
  if (!ok || hosts !== 1) return undefined;
  return h;
}

/** A response head (same conventions); undefined if malformed. */
export function parseResponseHead(buf: Buffer, end: number): ResponseHead | undefined {
  const s = buf.toString('latin1', 0, end);
  if (badChars.test(s)) return undefined;
  const le = s.indexOf('\r\n');
  const m = statusLine.exec(le < 0 ? s : s.slice(0, le));
  if (!m) return undefined;
  const h: ResponseHead = { status: Number(m[2]), http10: m[1] === '0', headers: [], transferEncoding: '', connection: '' };
  if (h.status < 100) return undefined;
  if (!parseHeaders(s, le < 0 ? s.length : le + 2, h)) return undefined;
  return h;
}

/** Whether a Connection header value lists `token`. */
export function connectionHas(connection: string, tokenName: string): boolean {
  if (!connection) return false;
  for (const t of connection.split(',')) if (t.trim() === tokenName) return true;
  return false;
}

/**
 * Finds the end of a chunked body fed to it piece by piece (chunk sizes,
 * extensions, data, trailers); throws on bad framing.
 */
export class ChunkedScanner {
  private state = 0;
  private size = 0;
  private digits = 0;
  private left = 0;
  private lineLength = 0;

  /** Consumes `b[start..]`; returns the index just past the body's end, or -1 when more is needed. */
  feed(b: Buffer, start = 0): number {
    let i = start;
    const n = b.length;
    while (i < n) {
      const c = b[i];
      switch (this.state) {
        case 0: {
          // chunk size
          const v = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
          if (v >= 0) {
            if (++this.digits > 12) throw new Error('chunk size too large');
            this.size = this.size * 16 + v;
          } else if (this.digits && (c === 59 || c === 32 || c === 9)) this.state = 1;
          else if (this.digits && c === 13) this.state = 2;
          else throw new Error('bad chunk size');
          i++;
          break;
        }
        case 1: // chunk extension: skipped up to CR
          if (c === 13) this.state = 2;
          else if (c === 10 || ++this.lineLength > 4096) throw new Error('bad chunk extension');
          i++;
          break;
        case 2:
          if (c !== 10) throw new Error('bad chunk line');
          i++;
          this.lineLength = 0;
          this.digits = 0;
          if (this.size === 0) this.state = 6;
          else {
            this.left = this.size;
            this.state = 3;
          }
          this.size = 0;
          break;
        case 3: {
          const take = Math.min(this.left, n - i);
          i += take;
          this.left -= take;
          if (this.left === 0) this.state = 4;
          break;
        }
        case 4:
          if (c !== 13) throw new Error('bad chunk end');
          this.state = 5;
          i++;
          break;
        case 5:
          if (c !== 10) throw new Error('bad chunk end');
          this.state = 0;
          i++;
          break;
        case 6: // start of a trailer line, or the final CRLF
          this.state = c === 13 ? 9 : 7;
          if (c === 10) throw new Error('bad trailer');
          i++;
          break;
        case 7:
          if (c === 13) this.state = 8;
          else if (c === 10 || ++this.lineLength > MAX_HEAD) throw new Error('bad trailer');
          i++;
          break;
        case 8:
          if (c !== 10) throw new Error('bad trailer');
          this.state = 6;
          i++;
          break;
        case 9:
          if (c !== 10) throw new Error('bad chunked end');
          this.state = 10;
          return i + 1;
        default:
          return i;
      }
    }
    return -1;
  }

  get done(): boolean {
    return this.state === 10;
  }
}
