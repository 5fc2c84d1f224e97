// NodeName: a pod naming spec.nodeName fits only that node.
import { unresolvable, type Plugin } from '../framework.js';

export const reasonNodeName = "node(s) didn't match the requested node name";

export function nodeName(): Plugin {
  return {
    name: 'NodeName',
    filter(_s, pod, node) {
      const want = pod.pod.spec?.nodeName;
      return !want || want === node.name ? null : unresolvable(reasonNodeName);
    },
  };
}
