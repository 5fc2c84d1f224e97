// Generated JSON data (OpenAPI definitions, protobuf schema) sits next to the
// module that reads it in src/. A build that compiles to dist/ without copying
// the JSON still finds it in the source tree.
import { readFileSync } from 'node:fs';

/**
 * Parse `name` from beside the calling module (`moduleUrl`: its import.meta.url),
 * else from `srcDir` (e.g. 'src/api/openapi') of the repository this file was
 * compiled from. `what` prefixes the error when neither can be read.
 */
export function readJsonBeside<T>(moduleUrl: string, name: string, srcDir: string, what: string): T {
  const candidates = [
    new URL(`./${name}`, moduleUrl),
    // this file compiled to dist/src/api/: three levels up is the repository
    new URL(`../../../${srcDir}/${name}`, import.meta.url),
  ];
  let lastErr: unknown;
  for (const c of candidates) {
    try {
      return JSON.parse(readFileSync(c, 'utf8')) as T;
    } catch (err) {
      lastErr = err;
    }
  }
  throw new Error(`${what}: cannot read ${name}: ${String(lastErr)}`);
}
