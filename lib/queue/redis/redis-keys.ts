/**
 * Builds every Redis key of the transport. All keys of one queue share the hash tag
 * `{prefix:queue}`, so the multi-key scripts of a queue run on one Redis Cluster slot; every key
 * starts with the prefix, so applications with different prefixes never meet.
 */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  /** The set of queue names that hold or held jobs (one key per prefix, not per queue). */
  get queues(): string {
    return `${this.prefix}:queues`;
  }

  /** The keys of one queue. */
  queue(queue: string): QueueKeys {
    const base = `${this.prefix}:{${this.prefix}:${queue}}`;
    return {
      stream: `${base}:stream`,
      delayed: `${base}:delayed`,
      dead: `${base}:dead`,
      stats: `${base}:stats`,
      deadIndex: `${base}:dead-index`,
      deadInfo: `${base}:dead-info`,
      started: `${base}:started`,
      paused: `${base}:paused`,
      base,
      groupReady: `${base}:g:ready`,
      groupWake: `${base}:g:wake`,
      groupWaiting: `${base}:g:waiting`,
      levels: `${base}:levels`,
      watch: `${base}:watch`,
      watching: `${base}:watching`,
    };
  }

  /**
   * The keys of scheduled events (`bus.schedule`), in one hash tag of their own: a hash of
   * records by schedule id, a sorted set of due times (a lease's end while an app emits one), a
   * hash of the occurrences in flight.
   */
  get schedules(): { readonly records: string; readonly due: string; readonly inFlight: string } {
    const base = `${this.prefix}:{${this.prefix}:schedules}`;
    return { records: `${base}:records`, due: `${base}:due`, inFlight: `${base}:in-flight` };
  }

  /**
   * The key that remembers, for `dedupeWindowMs`, that a deduplicated emit stored this job
   * (string `1` with a TTL), in its queue's hash tag.
   */
  seen(queue: string, jobId: string): string {
    return `${this.prefix}:{${this.prefix}:${queue}}:seen:${jobId}`;
  }
}

/** The keys of one queue. */
export interface QueueKeys {
  /** Stream of ready jobs, read through the consumer group. */
  readonly stream: string;
  /** Sorted set of delayed jobs and scheduled retries, scored by due time (ms). */
  readonly delayed: string;
  /** Stream of dead jobs. */
  readonly dead: string;
  /** Hash of counters: `completed`, `failed`. */
  readonly stats: string;
  /**
   * Hash: job id -> its entry id in the dead stream (O(1) retry, forget, paging cursor). Tagged
   * dead jobs are also indexed by tag under it: `<deadIndex>:tag:<tag>` (sorted set of job ids
   * by the millisecond they died) and `<deadIndex>:tags` (set of the tags that have one). Those
   * names are made by the Lua scripts (tags vary per job), in this queue's hash tag.
   */
  readonly deadIndex: string;
  /**
   * Hash: dead entry id -> JSON `{a, t, r, e, s, f}` (attempts made, first enqueued, reason, error,
   * stack, failed at), what only listings read. The dead stream's entry keeps what a retry moves
   * (`id`, `l`, `p`, and `q`, `ag`, `g` when set), so a retry never reads an error or a stack.
   * Entries written before this hash existed carry those fields themselves, and still list and retry.
   */
  readonly deadInfo: string;
  /** Hash: `entry/deliveries` -> when that delivery started (ms), for jobs alive at a heartbeat. */
  readonly started: string;
  /** String, present while the queue is paused. */
  readonly paused: string;
  /** What every key of the queue starts with (the group scripts derive their keys from it). */
  readonly base: string;
  /** List: the rotation of groups that can start a job (see `redis-group-lua.ts`). */
  readonly groupReady: string;
  /** List holding one token while grouped jobs may be ready: wakes a blocked reader. */
  readonly groupWake: string;
  /** Counter of the grouped jobs waiting in their groups. */
  readonly groupWaiting: string;
  /**
   * Sorted set of the priority levels that hold waiting jobs; each level's jobs are in the list
   * `<levels>:<level>`, and `<levels>:woken` flags a wake-up entry in the stream
   * (see redis-priority-scripts.ts).
   */
  readonly levels: string;
  /** Stream of jobs entering groups and priority levels while a watch reads (see NOTICE). */
  readonly watch: string;
  /** String, present while a watch reads the queue (its reader renews it). */
  readonly watching: string;
}

/** The consumer group every worker of a queue reads through. */
export const CONSUMER_GROUP = 'workers';
