// Serves /openapi/v2 and /openapi/v3[/<group-version>] from documents built
// once (src/api/openapi/build.ts): v3 (what kubectl reads on every apply) in the
// background after start-up, v2 only when a client first asks for it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KindRegistry } from '../api/registry.js';
import { buildOpenAPIV2, buildOpenAPIV3 } from '../api/openapi/build.js';
import { errors } from '../api/errors.js';
import { send, sendError } from './handler.js';

type V3 = ReturnType<typeof buildOpenAPIV3>;
type V2 = ReturnType<typeof buildOpenAPIV2>;

export class OpenAPIService {
  private v3?: V3;
  private v2?: V2;

  constructor(private readonly registry: KindRegistry) {
    // built off the start-up path; the first request builds it if it is not ready yet
    setTimeout(() => this.v3doc(), 50).unref();
  }

  private v3doc(): V3 {
    return (this.v3 ??= buildOpenAPIV3(this.registry.kinds));
  }

  private v2doc(): V2 {
    return (this.v2 ??= buildOpenAPIV2(this.registry.kinds));
  }

  serve(req: IncomingMessage, res: ServerResponse, path: string): void {
    try {
      if (path === '/openapi/v3') return send(res, 200, this.v3doc().discoveryJson);
      if (path.startsWith('/openapi/v3/')) {
        const doc = this.v3doc().documents.get(path.slice('/openapi/v3/'.length));
        if (!doc) throw errors.notFound('openapi', path);
        res.writeHead(200, { 'Content-Type': 'application/json', ETag: `"${doc.etag}"`, 'Cache-Control': 'public, immutable', 'Content-Length': doc.json.length });
        res.end(doc.json);
        return;
      }
      if (path === '/openapi/v2') {
        const v2 = this.v2doc();
        const wantsProto = (req.headers.accept ?? '').includes('protobuf');
        if (wantsProto && v2.protobuf) {
          res.writeHead(200, { 'Content-Type': 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf', ETag: `"${v2.etag}"`, 'Content-Length': v2.protobuf.length });
          res.end(v2.protobuf);
          return;
        }
        res.writeHead(200, { 'Content-Type': 'application/json', ETag: `"${v2.etag}"`, 'Content-Length': v2.json.length });
        res.end(v2.json);
        return;
      }
      throw errors.notFound('openapi', path);
    } catch (err) {
      sendError(res, err);
    }
  }
}
