// Container lifecycle hooks (postStart, preStop).
//
// Interface (used by the pod worker):
//   await runHook(handler, containerId, { exec, podIP, container, timeoutMs? })
//     → { ok: boolean; message: string }
//     exec (CRI ExecSync), httpGet (to the pod IP unless host is set), sleep, and
//     tcpSocket (deprecated upstream: accepted and does nothing). postStart has no
//     time limit upstream; pass timeoutMs to bound it anyway. On failure the worker
//     records FailedPostStartHook / FailedPreStopHook with `message` and, for
//     postStart, kills the container (restart policy applies).
//   await runPreStop(handler, containerId, opts, gracePeriodSeconds)
//     → { ok, message, remainingSeconds }: runs the hook within the pod's grace
//     period and returns what is left for StopContainer (at least 2 s, like
//     upstream's minimum after a preStop hook).
import type { Container, LifecycleHandler } from 'kubernetes-types/core/v1.js';
import { execCheck, httpCheck, httpTarget, type ExecFn } from './probes.js';

export interface HookOptions {
  exec: ExecFn;
  podIP: () => string;
  container?: Container;
  /** bound on the hook (ms); unbounded when unset (exec then gets a long deadline) */
  timeoutMs?: number;
  /** abort a running sleep hook early (e.g. the pod was force-deleted) */
  signal?: AbortSignal;
}

export interface HookResult {
  ok: boolean;
  message: string;
}

const LONG = 24 * 3600_000;
export const MIN_GRACE_AFTER_PRESTOP_SECONDS = 2;

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

async function runHandler(handler: LifecycleHandler, containerId: string, o: HookOptions, timeoutMs: number): Promise<HookResult> {
  if (handler.exec) {
    const cmd = handler.exec.command ?? [];
    const r = await execCheck(o.exec, containerId, cmd, timeoutMs);
    if (r.result === 'success') return { ok: true, message: r.message };
    return { ok: false, message: `Exec lifecycle hook (${JSON.stringify(cmd)}) for Container ${JSON.stringify(o.container?.name ?? '')} failed - error: ${r.message}` };
  }
  if (handler.httpGet) {
    let target;
    try {
      target = httpTarget(handler.httpGet, o.podIP(), o.container);
    } catch (e) {
      return { ok: false, message: `HTTP lifecycle hook (${handler.httpGet.path ?? '/'}) for Container ${JSON.stringify(o.container?.name ?? '')} failed - error: ${(e as Error).message}` };
    }
    const r = await httpCheck(target, timeoutMs);
    if (r.result === 'success') return { ok: true, message: '' };
    return { ok: false, message: `HTTP lifecycle hook (${target.path}) for Container ${JSON.stringify(o.container?.name ?? '')} failed - error: ${r.message}` };
  }
  if (handler.sleep) {
    await sleep(Math.min(Math.max(0, handler.sleep.seconds) * 1000, timeoutMs), o.signal);
    return { ok: true, message: '' };
  }
  if (handler.tcpSocket) return { ok: true, message: '' };
  return { ok: false, message: 'lifecycle hook has no handler' };
}

/** Runs one lifecycle handler; never throws. */
export async function runHook(handler: LifecycleHandler, containerId: string, o: HookOptions): Promise<HookResult> {
  const limit = o.timeoutMs ?? LONG;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<HookResult>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, message: `lifecycle hook did not finish within ${Math.round(limit / 1000)}s` }), limit);
  });
  try {
    return await Promise.race([runHandler(handler, containerId, o, limit).catch((e) => ({ ok: false, message: String((e as Error)?.message ?? e) })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** preStop within the grace period; returns the seconds left for stopping the container. */
export async function runPreStop(handler: LifecycleHandler, containerId: string, o: Omit<HookOptions, 'timeoutMs'>, gracePeriodSeconds: number): Promise<HookResult & { remainingSeconds: number }> {
  const started = Date.now();
  const r = await runHook(handler, containerId, { ...o, timeoutMs: Math.max(0, gracePeriodSeconds) * 1000 });
  const left = gracePeriodSeconds - Math.ceil((Date.now() - started) / 1000);
  return { ...r, remainingSeconds: Math.max(MIN_GRACE_AFTER_PRESTOP_SECONDS, left) };
}
