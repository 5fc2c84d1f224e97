// Turns a URL + method into what the request is about (upstream's RequestInfo).
export interface RequestInfo {
  isResource: boolean;
  path: string;
  verb: string; // get list watch create update patch delete deletecollection, or the HTTP method lowercased for non-resource
  apiPrefix: string; // 'api' | 'apis'
  group: string;
  version: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
  /** extra path after the subresource (e.g. proxy paths) */
  rest: string[];
}

// /namespaces/{name}/status and /finalize are subresources of the namespace itself
const namespaceSubresources = new Set(['status', 'finalize']);

export function parseRequestInfo(method: string, pathname: string, query: URLSearchParams): RequestInfo {
  const info: RequestInfo = { isResource: false, path: pathname, verb: method.toLowerCase(), apiPrefix: '', group: '', version: '', namespace: '', resource: '', subresource: '', name: '', rest: [] };
  const parts = pathname.split('/').filter((p) => p !== '').map((p) => decodeURIComponent(p));
  if (parts[0] !== 'api' && parts[0] !== 'apis') return info;
  info.apiPrefix = parts[0];
  let rest = parts.slice(1);
  if (info.apiPrefix === 'api') {
    if (rest.length < 1) return info;
    info.version = rest[0];
    rest = rest.slice(1);
  } else {
    if (rest.length < 2) {
      if (rest.length === 1) info.group = rest[0];
      return info;
    }
    info.group = rest[0];
    info.version = rest[1];
    rest = rest.slice(2);
  }
  if (rest.length === 0) return info;
  info.isResource = true;
  let watchPrefix = false;
  if (rest[0] === 'watch') {
    // deprecated /watch/ paths
    watchPrefix = true;
    rest = rest.slice(1);
  }
  if (rest[0] === 'namespaces' && rest.length > 1) {
    info.namespace = rest[1];
    if (rest.length > 2 && !namespaceSubresources.has(rest[2])) {
      rest = rest.slice(2);
    } else {
      // the namespace object itself (and its status/finalize)
      info.resource = 'namespaces';
      info.name = rest[1];
      info.subresource = rest[2] ?? '';
      info.namespace = '';
      rest = [];
    }
  }
  if (rest.length) {
    info.resource = rest[0];
    info.name = rest[1] ?? '';
    info.subresource = rest[2] ?? '';
    info.rest = rest.slice(3);
  }
  // namespaces are cluster-scoped: the namespace field of a request for one is its name
  if (info.resource === 'namespaces' && !info.name && info.namespace) {
    info.name = info.namespace;
    info.namespace = '';
  }
  const m = method.toUpperCase();
  if (m === 'GET' || m === 'HEAD') {
    const watch = watchPrefix || query.get('watch') === 'true' || query.get('watch') === '1';
    info.verb = info.name && !info.subresource ? (watch ? 'watch' : 'get') : info.name ? 'get' : watch ? 'watch' : 'list';
  } else if (m === 'POST') info.verb = 'create';
  else if (m === 'PUT') info.verb = 'update';
  else if (m === 'PATCH') info.verb = 'patch';
  else if (m === 'DELETE') info.verb = info.name ? 'delete' : 'deletecollection';
  return info;
}
