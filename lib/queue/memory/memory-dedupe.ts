/**
 * The deduplicated job ids (emits with an explicit `id`) the embedded transport stored, each
 * remembered for one window: the same as Redis's SET NX PX per job id.
 */
export class MemoryDedupe {
  /** Stored ids (queue and id) with when they may be stored again (ms), oldest first. */
  private readonly seen = new Map<string, number>();

  constructor(private readonly windowMs: number) {}

  /** Forgets the ids whose window ended by `now`. */
  expire(now: number): void {
    // Insertion order is expiry order (one window for all): drop the expired from the front.
    for (const [id, until] of this.seen) {
      if (until > now) break;
      this.seen.delete(id);
    }
  }

  /** Whether the job id is new in its queue within the window; remembers it from `now` if so. */
  isNew(queue: string, id: string, now: number): boolean {
    const key = `${queue}\u0000${id}`;
    if (this.seen.has(key)) return false;
    this.seen.set(key, now + this.windowMs);
    return true;
  }
}
