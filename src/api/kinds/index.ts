// Every built-in kind, in one list for the registry. Each definition's
// validate() also checks metadata labels and annotations (names are checked
// by the apiserver with validateName and the definition's nameValidation).
import type { KindDefinition } from '../kind.js';
import { validateObjectMeta } from '../validation.js';
import { coreKinds } from './core.js';
import { appsKinds } from './apps.js';
import { batchKinds } from './batch.js';
import { networkingKinds } from './networking.js';
import { discoveryKinds } from './discovery.js';
import { rbacKinds } from './rbac.js';
import { storageKinds } from './storage.js';
import { coordinationKinds } from './coordination.js';
import { eventsKinds } from './events.js';
import { policyKinds } from './policy.js';
import { schedulingKinds } from './scheduling.js';
import { autoscalingKinds } from './autoscaling.js';
import { nodeKinds } from './node.js';
import { certificatesKinds } from './certificates.js';
import { admissionregistrationKinds } from './admissionregistration.js';
import { apiextensionsKinds } from './apiextensions.js';

function withMetaValidation(def: KindDefinition): KindDefinition {
  const own = def.validate;
  return {
    ...def,
    validate(obj, old) {
      return [...validateObjectMeta(obj.metadata), ...(own ? own.call(def, obj, old) : [])];
    },
  };
}

export const builtinKinds: KindDefinition[] = [
  ...coreKinds,
  ...appsKinds,
  ...batchKinds,
  ...networkingKinds,
  ...discoveryKinds,
  ...rbacKinds,
  ...storageKinds,
  ...coordinationKinds,
  ...eventsKinds,
  ...policyKinds,
  ...schedulingKinds,
  ...autoscalingKinds,
  ...nodeKinds,
  ...certificatesKinds,
  ...admissionregistrationKinds,
  ...apiextensionsKinds,
].map(withMetaValidation);
