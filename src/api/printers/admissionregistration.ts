// Table printers for admissionregistration.k8s.io.
import type { KubeObject, Printer } from '../kind.js';
import { ageColumn, col, nameColumn, selectorString, since } from './format.js';

function webhookConfig(): Printer {
  return {
    columns: [nameColumn, col('Webhooks', 'integer', 'Webhooks indicates the number of webhooks registered in this configuration'), ageColumn],
    cells: (obj, now) => [obj.metadata?.name ?? '', (obj.webhooks ?? []).length, since(obj.metadata?.creationTimestamp, now)],
  };
}

function policy(countCol: string, countDoc: string, field: string): Printer {
  return {
    columns: [
      nameColumn,
      col(countCol, 'integer', countDoc),
      col('ParamKind', 'string', 'ParamKind specifies the kind of resources used to parameterize this policy'),
      ageColumn,
    ],
    cells(obj, now) {
      const pk = obj.spec?.paramKind;
      return [
        obj.metadata?.name ?? '', (obj.spec?.[field] ?? []).length, pk ? `${pk.apiVersion ?? ''}/${pk.kind ?? ''}` : '<unset>',
        since(obj.metadata?.creationTimestamp, now),
      ];
    },
  };
}

function paramRefText(obj: KubeObject): string {
  const pr = obj.spec?.paramRef;
  if (!pr) return '<unset>';
  if (pr.name) return pr.namespace ? `${pr.namespace}/${pr.name}` : `*/${pr.name}`;
  // Upstream prints the selector's Go struct text here; selector syntax is more useful.
  if (pr.selector) return selectorString(pr.selector);
  return '<unset>';
}

function binding(): Printer {
  return {
    columns: [
      nameColumn,
      col('PolicyName', 'string', 'PolicyName indicates the policy definition which the policy binding binded to'),
      col('ParamRef', 'string', 'ParamRef indicates the param resource which sets the configration param'),
      ageColumn,
    ],
    cells: (obj, now) => [obj.metadata?.name ?? '', obj.spec?.policyName ?? '', paramRefText(obj), since(obj.metadata?.creationTimestamp, now)],
  };
}

export const admissionregistrationPrinters: Record<string, Printer> = {
  MutatingWebhookConfiguration: webhookConfig(),
  ValidatingWebhookConfiguration: webhookConfig(),
  ValidatingAdmissionPolicy: policy('Validations', 'Validations indicates the number of validation rules defined in this configuration', 'validations'),
  ValidatingAdmissionPolicyBinding: binding(),
  MutatingAdmissionPolicy: policy('Mutations', 'Mutation indicates the number of mutations rules defined in this configuration', 'mutations'),
  MutatingAdmissionPolicyBinding: binding(),
};
