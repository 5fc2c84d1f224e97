// Controller expectations (client-go's UIDTrackingControllerExpectations): a
// controller that just asked for N creations or deletions must not act on its
// cache again until the cache has shown them (or a timeout passed), otherwise a
// slow watch makes it create duplicate pods. Keys are controller keys
// ('ns/name'); deletions are tracked by pod key so that the update that sets
// deletionTimestamp and the final DELETE count once.

/** Upstream's ExpectationsTimeout: after this, act anyway (a watch event was lost). */
export const expectationsTimeoutMs = 5 * 60 * 1000;

interface Entry {
  adds: number;
  dels: Set<string>;
  at: number;
}

export class Expectations {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly timeoutMs = expectationsTimeoutMs, private readonly clock: () => number = Date.now) {}

  /** True when the controller may act: nothing pending, no record, or the record expired. */
  satisfied(key: string): boolean {
    const e = this.entries.get(key);
    if (!e) return true;
    if (e.adds <= 0 && e.dels.size === 0) return true;
    return this.clock() - e.at > this.timeoutMs;
  }

  /** Record that `adds` creations and the deletion of `delKeys` were just requested (replaces older expectations). */
  expect(key: string, adds: number, delKeys: Iterable<string> = []): void {
    this.entries.set(key, { adds, dels: new Set(delKeys), at: this.clock() });
  }

  expectCreations(key: string, n: number): void {
    this.expect(key, n);
  }

  expectDeletions(key: string, podKeys: Iterable<string>): void {
    this.expect(key, 0, podKeys);
  }

  /** A create was seen in the cache (or was given up on). */
  creationObserved(key: string): void {
    const e = this.entries.get(key);
    if (e && e.adds > 0) e.adds--;
  }

  /** A deletion of podKey was seen in the cache (or failed). */
  deletionObserved(key: string, podKey: string): void {
    this.entries.get(key)?.dels.delete(podKey);
  }

  /** Forget a controller (it was deleted). */
  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Pending counts, for tests and debugging. */
  pending(key: string): { adds: number; dels: number } | undefined {
    const e = this.entries.get(key);
    return e && { adds: e.adds, dels: e.dels.size };
  }
}
