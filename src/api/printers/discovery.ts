// Table printers for discovery.k8s.io.
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Printer } from '../kind.js';
import { ageColumn, col, listWithMore, nameColumn, since } from './format.js';

export function slicePorts(s: EndpointSlice): string {
  const ports = s.ports ?? [];
  // A port with neither number nor name means "all ports".
  const list = ports.map((p) => (p.port !== undefined && p.port !== null ? String(p.port) : p.name ?? '*'));
  return listWithMore(list, list.length, 3);
}

export function sliceEndpoints(s: EndpointSlice): string {
  const list = (s.endpoints ?? []).flatMap((e) => e.addresses ?? []);
  return listWithMore(list, list.length, 3);
}

const endpointSlice: Printer = {
  columns: [
    nameColumn,
    col('AddressType', 'string', 'addressType specifies the type of address carried by this EndpointSlice.'),
    col('Ports', 'string', 'ports specifies the list of network ports exposed by each endpoint in this slice.'),
    col('Endpoints', 'string', 'endpoints is a list of unique endpoints in this slice.'),
    ageColumn,
  ],
  cells(obj, now) {
    const s = obj as EndpointSlice;
    return [s.metadata?.name ?? '', s.addressType ?? '', slicePorts(s), sliceEndpoints(s), since(s.metadata?.creationTimestamp, now)];
  },
};

export const discoveryPrinters: Record<string, Printer> = { EndpointSlice: endpointSlice };
