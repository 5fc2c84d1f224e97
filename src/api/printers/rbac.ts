// Table printers for rbac.authorization.k8s.io. Roles and ClusterRoles use
// the default table (NAME, CREATED AT), as upstream.
import type { Subject } from 'kubernetes-types/rbac/v1.js';
import type { KubeObject, Printer } from '../kind.js';
import { ageColumn, col, nameColumn, since } from './format.js';

/** Users, groups and service accounts ("ns/name") named by the subjects. */
export function subjectsStrings(subjects: Subject[] | undefined): [string[], string[], string[]] {
  const users: string[] = [];
  const groups: string[] = [];
  const sas: string[] = [];
  for (const s of subjects ?? []) {
    if (s.kind === 'User') users.push(s.name);
    else if (s.kind === 'Group') groups.push(s.name);
    else if (s.kind === 'ServiceAccount') sas.push(`${s.namespace ?? ''}/${s.name}`);
  }
  return [users, groups, sas];
}

function bindingPrinter(what: string): Printer {
  return {
    columns: [
      nameColumn,
      col('Role', 'string', 'RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace.'),
      ageColumn,
      col('Users', 'string', `Users in the ${what}`, 1),
      col('Groups', 'string', `Groups in the ${what}`, 1),
      col('ServiceAccounts', 'string', `ServiceAccounts in the ${what}`, 1),
    ],
    cells(obj: KubeObject, now: number) {
      const [users, groups, sas] = subjectsStrings(obj.subjects);
      return [
        obj.metadata?.name ?? '', `${obj.roleRef?.kind ?? ''}/${obj.roleRef?.name ?? ''}`, since(obj.metadata?.creationTimestamp, now),
        users.join(', '), groups.join(', '), sas.join(', '),
      ];
    },
  };
}

export const rbacPrinters: Record<string, Printer> = {
  RoleBinding: bindingPrinter('roleBinding'),
  ClusterRoleBinding: bindingPrinter('clusterRoleBinding'),
};
