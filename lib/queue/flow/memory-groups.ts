import type { JobGroup } from './group-options.js';
import type { QueueGroup } from './queue-group.js';

/** What the groups of the embedded transport need of a stored job. */
export interface GroupedJob {
  readonly group?: JobGroup;
  /** Holds a slot of its group already (a retry with `groupConcurrency`): starts without one. */
  holdsSlot?: boolean;
  /** Goes back to the head of its group (a retry holding its slot, a released job). */
  toHead?: boolean;
}

interface GroupState<J> {
  readonly id: string;
  readonly jobs: J[];
  spec: JobGroup;
  active: number;
  /** Start times (ms) inside the rate window, oldest first. */
  readonly starts: number[];
  /** Starts in the current round (a group of weight w keeps its turn for w starts). */
  credit: number;
  isPaused: boolean;
  /** In the rotation. */
  isReady: boolean;
  /** Over its rate limit until then (ms); 0 when not. */
  limitedUntil: number;
}

/**
 * The groups of one queue of the embedded transport: fair order (round-robin over the groups
 * with ready jobs, `weight` starts per turn), slots (`concurrency`) and rate limits, the same
 * semantics as the Redis scripts. A group that cannot start (paused, all slots held, over its
 * limit) leaves the rotation and comes back when that ends, so a take never walks idle groups.
 */
export class MemoryGroups<J extends GroupedJob> {
  private readonly groups = new Map<string, GroupState<J>>();
  private rotation: string[] = [];
  private readonly paused = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  waiting = 0;

  constructor(
    /** Called when a group may start jobs again: wakes a waiting reader. */
    private readonly onReady: () => void,
    private readonly now: () => number,
  ) {}

  /** Stores a ready job in its group (at the head when it asks to go back there). */
  add(job: J): void {
    const spec = job.group!;
    const g = this.group(spec.id, spec);
    g.spec = spec;
    if (job.toHead) g.jobs.unshift(job);
    else g.jobs.push(job);
    job.toHead = false;
    this.waiting++;
    this.makeReady(g);
  }

  /** Whether a take could start a job now. */
  hasReady(): boolean {
    return this.rotation.length > 0;
  }

  /** Takes up to `max` jobs in fair order, noting their starts. */
  take(max: number): J[] {
    const now = this.now();
    const taken: J[] = [];
    let skips = this.rotation.length;
    while (taken.length < max && this.rotation.length > 0 && skips >= 0) {
      const g = this.groups.get(this.rotation[0])!;
      const head = g.jobs[0];
      const isFull = g.spec.concurrency > 0 && g.active >= g.spec.concurrency;
      if (g.isPaused || head === undefined || (isFull && !head.holdsSlot)) {
        this.leave(g);
        skips--;
        continue;
      }
      if (this.isLimited(g, now)) {
        this.leave(g);
        this.wakeAt(g.limitedUntil);
        skips--;
        continue;
      }
      g.jobs.shift();
      this.waiting--;
      if (!head.holdsSlot) g.active++;
      head.holdsSlot = false;
      if (g.spec.rateMax > 0) g.starts.push(now);
      taken.push(head);
      g.credit++;
      if (g.jobs.length === 0) this.leave(g);
      else if (g.credit >= g.spec.weight) {
        g.credit = 0;
        this.rotation.push(this.rotation.shift()!);
      }
    }
    return taken;
  }

  /**
   * The attempt of a job of the group ended: its slot is freed, unless `keepSlot` (a retry with
   * `groupConcurrency` keeps it through its backoff, so the group stays serial). Ungrouped
   * jobs are left alone.
   */
  settle(job: J | undefined, keepSlot: boolean): void {
    if (job?.group === undefined) return;
    const g = this.groups.get(job.group.id);
    if (!g) return;
    if (keepSlot && g.spec.concurrency > 0) {
      job.holdsSlot = true;
      job.toHead = true;
      return;
    }
    g.active = Math.max(0, g.active - 1);
    this.makeReady(g);
    this.forgetIfIdle(g);
  }

  pause(id: string): void {
    this.paused.add(id);
    const g = this.groups.get(id);
    if (g) g.isPaused = true;
  }

  resume(id: string): void {
    this.paused.delete(id);
    const g = this.groups.get(id);
    if (!g) return;
    g.isPaused = false;
    this.makeReady(g);
  }

  /** The groups with jobs or slots, and the paused ones, by id. */
  list(offset: number, limit: number): QueueGroup[] {
    const ids = new Set([...this.groups.keys(), ...this.paused]);
    const now = this.now();
    return [...ids]
      .sort()
      .slice(offset, offset + limit)
      .map((id) => {
        const g = this.groups.get(id);
        const limitedUntil = g && this.isLimited(g, now) ? g.limitedUntil : undefined;
        return {
          id,
          waiting: g?.jobs.length ?? 0,
          active: g?.active ?? 0,
          paused: this.paused.has(id),
          ...(limitedUntil !== undefined && { limitedUntil }),
        };
      });
  }

  /** The first waiting job of each group that has one (the oldest waiting job is one of them). */
  heads(): J[] {
    const heads: J[] = [];
    for (const g of this.groups.values()) if (g.jobs.length > 0) heads.push(g.jobs[0]);
    return heads;
  }

  /** Every waiting job, group by group (by id), each in its order (for listings). */
  jobs(): J[] {
    return [...this.groups.values()]
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .flatMap((g) => g.jobs);
  }

  /**
   * Removes the waiting jobs that `matches` (cancelOn); returns how many. A removed job that held
   * its group's slot (a retry) gives it back; a group left empty leaves the rotation.
   */
  remove(matches: (job: J) => boolean): number {
    let removed = 0;
    for (const g of [...this.groups.values()]) {
      const kept = g.jobs.filter((job) => !matches(job));
      const gone = g.jobs.length - kept.length;
      if (gone === 0) continue;
      for (const job of g.jobs) {
        if (job.holdsSlot && matches(job)) g.active = Math.max(0, g.active - 1);
      }
      g.jobs.splice(0, g.jobs.length, ...kept);
      removed += gone;
      this.waiting -= gone;
      if (g.jobs.length === 0) this.leave(g);
      else this.makeReady(g);
    }
    return removed;
  }

  /** Drops every waiting job and group (obliterate). */
  clear(): void {
    this.groups.clear();
    this.rotation = [];
    this.paused.clear();
    this.waiting = 0;
    this.stop();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  private group(id: string, spec: JobGroup): GroupState<J> {
    let g = this.groups.get(id);
    if (!g) {
      g = {
        id,
        jobs: [],
        spec,
        active: 0,
        starts: [],
        credit: 0,
        isPaused: this.paused.has(id),
        isReady: false,
        limitedUntil: 0,
      };
      this.groups.set(id, g);
    }
    return g;
  }

  /** Over its rate limit now? Drops the starts that left the window. */
  private isLimited(g: GroupState<J>, now: number): boolean {
    const { rateMax, rateMs } = g.spec;
    if (rateMax <= 0) return false;
    while (g.starts.length > 0 && g.starts[0] + rateMs <= now) g.starts.shift();
    if (g.starts.length < rateMax) return false;
    g.limitedUntil = g.starts[g.starts.length - rateMax] + rateMs;
    return true;
  }

  /** Puts the group in the rotation if it can start a job (else it waits to be called back). */
  private makeReady(g: GroupState<J>): void {
    if (g.isReady || g.isPaused || g.jobs.length === 0) return;
    const isFull = g.spec.concurrency > 0 && g.active >= g.spec.concurrency;
    if (isFull && !g.jobs[0].holdsSlot) return;
    const now = this.now();
    if (this.isLimited(g, now)) {
      this.wakeAt(g.limitedUntil);
      return;
    }
    g.isReady = true;
    g.credit = 0;
    this.rotation.push(g.id);
    this.onReady();
  }

  private leave(g: GroupState<J>): void {
    const at = this.rotation.indexOf(g.id);
    if (at >= 0) this.rotation.splice(at, 1);
    g.isReady = false;
    g.credit = 0;
    this.forgetIfIdle(g);
  }

  /** Memory returns to its baseline when a group empties. */
  private forgetIfIdle(g: GroupState<J>): void {
    if (g.jobs.length === 0 && g.active === 0 && !g.isReady) {
      const isRateFree = g.starts.length === 0 || g.starts.at(-1)! + g.spec.rateMs <= this.now();
      if (isRateFree) this.groups.delete(g.id);
    }
  }

  /** Rate-limited groups come back when their window frees: one timer for the earliest. */
  private wakeAt(at: number): void {
    if (at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.comeBack(), Math.max(1, at - this.now()));
    this.timer.unref();
  }

  private comeBack(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.now();
    for (const g of this.groups.values()) {
      if (!g.isReady && g.jobs.length > 0) {
        if (this.isLimited(g, now)) this.wakeAt(g.limitedUntil);
        else this.makeReady(g);
      }
    }
  }
}
