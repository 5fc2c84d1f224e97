// One informer per resource, shared by every controller in a process (client-go's
// SharedInformerFactory): one LIST+WATCH per resource however many controllers read it.
import type { KubeObject } from '../api/kind.js';
import type { ApiClient } from './api.js';
import { Informer } from './informer.js';
import { ResourceClient, type ResourceRef } from './resource.js';
import { ref } from './resources.js';

export class InformerFactory {
  private readonly informers = new Map<string, Informer<any>>();
  private started = false;

  constructor(public readonly api: ApiClient, private readonly resyncMs = 0) {}

  /** The shared informer for a built-in resource, e.g. informer('apps', 'deployments'). */
  informer<T extends KubeObject = KubeObject>(group: string, resource: string): Informer<T> {
    return this.forRef<T>(ref(group, resource));
  }

  forRef<T extends KubeObject = KubeObject>(r: ResourceRef): Informer<T> {
    const key = `${r.group}/${r.version}/${r.resource}`;
    let inf = this.informers.get(key);
    if (!inf) {
      inf = new Informer<T>(new ResourceClient<T>(this.api, r), { resyncMs: this.resyncMs });
      this.informers.set(key, inf);
      if (this.started) void inf.start();
    }
    return inf as Informer<T>;
  }

  /** A client for writes to a built-in resource. */
  client<T extends KubeObject = KubeObject>(group: string, resource: string): ResourceClient<T> {
    return new ResourceClient<T>(this.api, ref(group, resource));
  }

  /** Start every informer and wait until all have synced. */
  async start(): Promise<void> {
    this.started = true;
    await Promise.all([...this.informers.values()].map((i) => i.start()));
  }

  stop(): void {
    for (const i of this.informers.values()) i.stop();
  }
}
