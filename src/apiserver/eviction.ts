// pods/eviction: delete a pod only if no PodDisruptionBudget forbids it. The
// budget's status.disruptionsAllowed is decremented with compare-and-swap (and
// the pod noted in status.disruptedPods) before the pod is deleted, so two
// concurrent evictions cannot both spend the last allowed disruption.
import { errors, StatusError } from '../api/errors.js';
import type { KubeObject } from '../api/kind.js';
import type { KindRegistry } from '../api/registry.js';
import { matchesLabelSelector } from '../api/labels.js';
import type { RequestContext } from './context.js';
import type { DeleteOptions, RestStore } from './rest.js';

const budgetMessage = "Cannot evict pod as it would violate the pod's disruption budget.";
/** upstream's cap on evictions the disruption controller has not yet confirmed */
const maxDisruptedPods = 2000;

export interface EvictionResult {
  code: number;
  body: Record<string, unknown>;
}

const success = (): EvictionResult => ({ code: 201, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 } });

function tooMany(cause?: string): StatusError {
  return new StatusError(429, 'TooManyRequests', budgetMessage, cause ? { causes: [{ reason: 'DisruptionBudget', message: cause }] } : {});
}

function isReady(pod: KubeObject): boolean {
  return (pod.status?.conditions ?? []).some((c: KubeObject) => c?.type === 'Ready' && c.status === 'True');
}

/** Finished, never-started or already terminating pods cause no new disruption. */
function canIgnoreBudget(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending' || !!pod.metadata?.deletionTimestamp;
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export async function evict(store: RestStore, registry: KindRegistry, namespace: string, name: string, eviction: KubeObject, ctx: RequestContext): Promise<EvictionResult> {
  const podDef = registry.byGVR('', 'v1', 'pods')!;
  const pdbDef = registry.byGVR('policy', 'v1', 'poddisruptionbudgets')!;
  if (!eviction || typeof eviction !== 'object') throw errors.badRequest('the body of the request must be an Eviction object');
  if (eviction.metadata?.name && eviction.metadata.name !== name) throw errors.badRequest('name in URL does not match name in Eviction object');
  const opts: DeleteOptions = { ...((eviction.deleteOptions ?? {}) as DeleteOptions) };
  if ((eviction.deleteOptions as { dryRun?: string[] } | undefined)?.dryRun?.length) ctx.dryRun = true;

  const del = async (o: DeleteOptions) => {
    // a resourceVersion precondition holds for the condition write, then for the delete
    const rv = await markDisruption(store, podDef, namespace, name, ctx, o.preconditions?.resourceVersion);
    if (o.preconditions?.resourceVersion && rv) o = { ...o, preconditions: { ...o.preconditions, resourceVersion: rv } };
    await store.delete(podDef, namespace, name, o, ctx);
  };

  const pod = await store.get(podDef, namespace, name);
  if (canIgnoreBudget(pod)) {
    await del(opts);
    return success();
  }

  const pdbs = (await store.list(pdbDef, namespace, {})).items
    .map((i) => store.external(pdbDef, i.obj))
    .filter((p) => matchesLabelSelector(p.spec?.selector, pod.metadata?.labels ?? {}));
  if (pdbs.length > 1) {
    return { code: 500, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.', code: 500 } };
  }
  if (!pdbs.length) {
    await del(opts);
    return success();
  }
  const pdb = pdbs[0];
  const pdbName = pdb.metadata!.name!;
  const ready = isReady(pod);
  // an unready pod does not count as healthy: evicting it spends nothing, when allowed
  let unhealthyBypass = !ready && pdb.spec?.unhealthyPodEvictionPolicy === 'AlwaysAllow';
  if (!unhealthyBypass) {
    await store.update(pdbDef, namespace, pdbName, 'status', ctx, (cur) => {
      delete cur.metadata?.resourceVersion; // compare-and-swap on the version read: retried on conflicts
      const st = (cur.status ??= {});
      if (!ready && (st.currentHealthy ?? 0) >= (st.desiredHealthy ?? 0) && (st.desiredHealthy ?? 0) > 0) {
        unhealthyBypass = true;
        return cur; // no change: no write
      }
      if ((st.observedGeneration ?? 0) < (cur.metadata?.generation ?? 0)) throw tooMany(`The disruption budget ${pdbName} is still being processed by the server.`);
      if ((st.disruptionsAllowed ?? 0) < 0) throw errors.forbidden(`poddisruptionbudgets.policy "${pdbName}" is forbidden: pdb disruptions allowed is negative`, 'poddisruptionbudgets', pdbName, 'policy');
      if (Object.keys(st.disruptedPods ?? {}).length > maxDisruptedPods) {
        throw errors.forbidden(`poddisruptionbudgets.policy "${pdbName}" is forbidden: DisruptedPods map too big - too many evictions not confirmed by PDB controller`, 'poddisruptionbudgets', pdbName, 'policy');
      }
      if ((st.disruptionsAllowed ?? 0) === 0) {
        throw tooMany(`The disruption budget ${pdbName} needs ${st.desiredHealthy ?? 0} healthy pods and has ${st.currentHealthy ?? 0} currently`);
      }
      st.disruptionsAllowed = st.disruptionsAllowed - 1;
      if (st.disruptionsAllowed === 0) setAllowedCondition(cur);
      st.disruptedPods = { ...(st.disruptedPods ?? {}), [name]: now() };
      return cur;
    });
  }
  const o: DeleteOptions = { ...opts };
  if (unhealthyBypass && !o.preconditions?.resourceVersion) {
    // the pod must not have become ready since we looked
    o.preconditions = { ...(o.preconditions ?? {}), resourceVersion: pod.metadata?.resourceVersion };
  }
  try {
    await del(o);
  } catch (err) {
    if (unhealthyBypass && err instanceof StatusError && err.reason === 'Conflict') throw tooMany();
    throw err;
  }
  return success();
}

function setAllowedCondition(pdb: KubeObject): void {
  const st = pdb.status;
  const allowed = (st.disruptionsAllowed ?? 0) > 0;
  const conds: KubeObject[] = st.conditions ?? [];
  const old = conds.find((c) => c.type === 'DisruptionAllowed');
  const status = allowed ? 'True' : 'False';
  const reason = allowed ? 'SufficientPods' : 'InsufficientPods';
  const cond = { type: 'DisruptionAllowed', status, reason, message: '', observedGeneration: st.observedGeneration ?? 0, lastTransitionTime: old && old.status === status ? old.lastTransitionTime : now() };
  st.conditions = [...conds.filter((c) => c.type !== 'DisruptionAllowed'), cond];
}

/** The DisruptionTarget condition tells the pod's owner why it is going away. */
async function markDisruption(store: RestStore, podDef: NonNullable<ReturnType<KindRegistry['byGVR']>>, namespace: string, name: string, ctx: RequestContext, expectRv?: string): Promise<string | undefined> {
  if (ctx.dryRun) return undefined;
  try {
    const out = await store.update(podDef, namespace, name, 'status', ctx, (cur) => {
      if (expectRv && cur.metadata?.resourceVersion !== expectRv) {
        throw errors.conflict('pods', name, '', 'the object has been modified; please apply your changes to the latest version and try again');
      }
      delete cur.metadata?.resourceVersion;
      if (cur.metadata?.deletionTimestamp || cur.status?.phase === 'Succeeded' || cur.status?.phase === 'Failed') return cur;
      const conds: KubeObject[] = (cur.status ??= {}).conditions ?? [];
      if (conds.some((c) => c.type === 'DisruptionTarget' && c.status === 'True')) return cur;
      cur.status.conditions = [...conds.filter((c) => c.type !== 'DisruptionTarget'), { type: 'DisruptionTarget', status: 'True', reason: 'EvictionByEvictionAPI', message: 'Eviction API: evicting', lastProbeTime: null, lastTransitionTime: now() }];
      return cur;
    });
    return out.metadata?.resourceVersion;
  } catch (err) {
    if (err instanceof StatusError && (err.reason === 'NotFound' || err.reason === 'Conflict')) throw err;
    return undefined; // the condition is informative only
  }
}
