// A concurrency bound for fire-and-forget API writes (node IPAM, the simulator's
// heartbeats): at most `max` tasks run at a time, the rest wait in order.

export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly max: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }

  /** tasks running or waiting */
  get busy(): number {
    return this.active + this.waiting.length;
  }
}
