// The small HTML pages the ingress answers with itself (nginx-style), built once.
import { STATUS_CODES } from 'node:http';

export interface ErrorPage {
  status: number;
  body: Buffer;
  headers: Record<string, string>;
}

const pages = new Map<number, ErrorPage>();

export function errorPage(status: number): ErrorPage {
  let p = pages.get(status);
  if (!p) {
    const title = `${status} ${STATUS_CODES[status] ?? ''}`.trim();
    const body = Buffer.from(`<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>k8ts ingress</center>\r\n</body>\r\n</html>\r\n`);
    p = { status, body, headers: { 'content-type': 'text/html', 'content-length': String(body.length) } };
    pages.set(status, p);
  }
  return p;
}

/** The same page as raw HTTP/1.1 bytes, for upgrade requests (the socket is all we have). */
export function rawErrorResponse(status: number): Buffer {
  const p = errorPage(status);
  return Buffer.concat([Buffer.from(`HTTP/1.1 ${p.status} ${STATUS_CODES[status] ?? ''}\r\ncontent-type: text/html\r\ncontent-length: ${p.body.length}\r\nconnection: close\r\n\r\n`), p.body]);
}
