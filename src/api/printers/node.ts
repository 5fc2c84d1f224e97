// Table printers for node.k8s.io.
import type { Printer } from '../kind.js';
import { ageColumn, col, nameColumn, since } from './format.js';

const runtimeClass: Printer = {
  columns: [nameColumn, col('Handler', 'string', 'handler specifies the underlying runtime and configuration that the CRI implementation will use to handle pods of this class.'), ageColumn],
  cells: (obj, now) => [obj.metadata?.name ?? '', obj.handler ?? '', since(obj.metadata?.creationTimestamp, now)],
};

export const nodePrinters: Record<string, Printer> = { RuntimeClass: runtimeClass };
