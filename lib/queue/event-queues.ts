import { Inject, Injectable } from '@nestjs/common';
import { QUEUE_TRANSPORT } from '../events.constants.js';
import { assertInteger, assertName } from '../option-assertions.js';
import { MAX_GROUP_BYTES } from './flow/group-options.js';
import type { QueueGroup } from './flow/queue-group.js';
import { DrainTimeoutError } from '../errors/drain-timeout.error.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { UnknownQueueError } from '../errors/unknown-queue.error.js';
import { ListenerRegistry } from '../discovery/listener.registry.js';
import { parseDeadJob, type DeadJob } from './dead-job.js';
import type { QueueCounts } from './queue-job.js';
import { parseQueuedJob, type FoundJob, type LiveJobState, type QueuedJob } from './queued-job.js';
import type { QueueTransport } from './queue-transport.interface.js';
import { watchQueues, type QueueActivity, type WatchOptions } from './queue-watch.js';

/** A job id argument: a non-empty string. */
function assertId(name: string, id: unknown): asserts id is string {
  if (typeof id !== 'string' || id.length === 0)
    throw new InvalidOptionError(name, id, "a job's id");
}

/** Options of `EventQueues.drain()`. */
export interface DrainOptions {
  /** The queues to wait for. @default every queue this app knows */
  readonly queues?: readonly string[];
  /** How long to wait before rejecting with `DrainTimeoutError`. @default 10000 */
  readonly timeoutMs?: number;
  /** Wait for delayed jobs (and scheduled retries) too. @default true */
  readonly includeDelayed?: boolean;
}

/** How often `drain()` looks at the counts (ms). */
const DRAIN_POLL_MS = 10;

/**
 * Inspect and repair queues: counts by state, dead letters to list, retry and purge, and
 * `drain()` to wait until queues are idle. A queue name that neither a queued listener of this
 * app nor a stored job knows is refused with `UnknownQueueError` (it is a typo, not an empty
 * queue).
 */
@Injectable()
export class EventQueues {
  constructor(
    @Inject(QUEUE_TRANSPORT) private readonly transport: QueueTransport,
    private readonly registry: ListenerRegistry,
  ) {}

  /** Counts of one queue. @throws UnknownQueueError */
  counts(queue: string): Promise<QueueCounts>;
  /** Counts of every queue (those with listeners here, and those that hold jobs). */
  counts(): Promise<Record<string, QueueCounts>>;
  async counts(queue?: string): Promise<QueueCounts | Record<string, QueueCounts>> {
    if (queue !== undefined) {
      await this.assertKnown(queue);
      return this.transport.counts(queue);
    }
    const result: Record<string, QueueCounts> = {};
    for (const name of await this.known()) result[name] = await this.transport.counts(name);
    return result;
  }

  /**
   * Dead jobs of a queue, oldest first, each with its event parsed (`payload`) and its `tags`.
   * Page with `after`, the id of the last job of the previous page: on Redis that costs O(limit)
   * however deep the page. `offset` skips jobs (after `after` when both are given) and costs
   * O(offset + limit). `tag` lists only the jobs whose event's `tags()` gave it, oldest first
   * (same millisecond: by job id); on Redis through a per-tag index, O(log n + limit) for
   * `offset` and `after` alike.
   * @default offset 0, limit 50
   * @throws UnknownQueueError
   * @throws InvalidOptionError when `after` is not the id of a job in the dead letters (with
   *   `tag`: of a job with that tag); it was retried or deleted since: start again.
   */
  async listDead(
    queue: string,
    page: { offset?: number; limit?: number; after?: string; tag?: string } = {},
  ): Promise<DeadJob[]> {
    const offset = page.offset ?? 0;
    const limit = page.limit ?? 50;
    assertInteger('offset', offset, 0);
    assertInteger('limit', limit, 1, 10_000);
    if (page.after !== undefined) assertId('after', page.after);
    if (page.tag !== undefined && (typeof page.tag !== 'string' || page.tag.length === 0)) {
      throw new InvalidOptionError('tag', page.tag, 'a non-empty string');
    }
    await this.assertKnown(queue);
    const stored = await this.transport.listDead(queue, offset, limit, page.after, page.tag);
    return stored.map((job) => parseDeadJob(job, (name) => this.registry.eventClass(name)));
  }

  /**
   * Gives one dead job (by id) or all of them a new round of attempts; returns how many moved.
   * @throws UnknownQueueError
   */
  async retryDead(queue: string, id: string | 'all'): Promise<number> {
    if (typeof id !== 'string' || id.length === 0) {
      throw new InvalidOptionError('id', id, "a dead job's id or 'all'");
    }
    await this.assertKnown(queue);
    return this.transport.retryDead(queue, id);
  }

  /** Deletes every dead job of a queue; returns how many. @throws UnknownQueueError */
  async purgeDead(queue: string): Promise<number> {
    await this.assertKnown(queue);
    return this.transport.purgeDead(queue);
  }

  /** Deletes one dead job; whether it was there. @throws UnknownQueueError */
  async forgetDead(queue: string, id: string): Promise<boolean> {
    assertId('id', id);
    await this.assertKnown(queue);
    return this.transport.forgetDead(queue, id);
  }

  /**
   * Deletes the dead jobs that died more than `olderThanMs` ago (on Redis by Redis's clock);
   * returns how many. @throws UnknownQueueError
   */
  async pruneDead(queue: string, options: { olderThanMs: number }): Promise<number> {
    assertInteger('olderThanMs', options?.olderThanMs, 0);
    await this.assertKnown(queue);
    return this.transport.pruneDead(queue, options.olderThanMs);
  }

  /**
   * Removes every job of a queue (waiting, delayed, running, dead), its counters and its keys;
   * returns how many waiting, delayed and dead jobs went. Refused while workers are reading the
   * queue: on Redis, a consumer of the queue interacted with Redis within max(5 s,
   * `visibilityTimeout`) (idle workers read every second, busy ones heartbeat); in memory, a
   * worker of this process waits on it or runs one of its jobs. `force: true` removes it anyway:
   * running jobs then fail to settle (their results are dropped) and workers carry on, empty.
   * @throws QueueInUseError @throws UnknownQueueError
   */
  async obliterate(queue: string, options: { force?: boolean } = {}): Promise<number> {
    await this.assertKnown(queue);
    return this.transport.obliterate(queue, options.force === true);
  }

  /**
   * A page of a queue's waiting, delayed or active jobs, in the order they run (delayed: by due
   * time), each with its event parsed. Delayed jobs carry `runAt`; active ones `heldBy` (the
   * worker: on Redis its consumer name) and `ageMs` (how long the current attempt has run; see
   * the README for its precision on Redis). Costs O(offset + limit).
   * @default offset 0, limit 50
   * @throws UnknownQueueError
   */
  async listJobs(
    queue: string,
    state: LiveJobState,
    page: { offset?: number; limit?: number } = {},
  ): Promise<QueuedJob[]> {
    if (state !== 'waiting' && state !== 'delayed' && state !== 'active') {
      throw new InvalidOptionError('state', state, "'waiting', 'delayed' or 'active'");
    }
    const offset = page.offset ?? 0;
    const limit = page.limit ?? 50;
    assertInteger('offset', offset, 0);
    assertInteger('limit', limit, 1, 10_000);
    await this.assertKnown(queue);
    const stored = await this.transport.listJobs(queue, state, offset, limit);
    return stored.map((job) => parseQueuedJob(job, (name) => this.registry.eventClass(name)));
  }

  /**
   * One job by id in whatever state it is (`state`: waiting, delayed, active or dead), or
   * undefined. A dead job is found at once (on Redis through the dead index); a live one by a
   * scan of the queue's stream and delayed set on Redis (O(jobs in the queue): an admin tool, not
   * for hot paths). @throws UnknownQueueError
   */
  async getJob(queue: string, id: string): Promise<FoundJob | undefined> {
    assertId('id', id);
    await this.assertKnown(queue);
    const found = await this.transport.getJob(queue, id);
    const eventClass = (name: string) => this.registry.eventClass(name);
    if (found === undefined) return undefined;
    if ('state' in found) return parseQueuedJob(found, eventClass);
    return { ...parseDeadJob(found, eventClass), state: 'dead' };
  }

  /**
   * Pauses a queue: the workers of every process stop taking its jobs; running jobs finish,
   * emits are stored as usual (`counts().waiting` grows). On Redis the pause is a key that each
   * worker checks every 500 ms per queue (no command per job): workers of other processes stop
   * within about 500 ms, plus a read already in flight (up to 1 s) that may still deliver jobs;
   * this process's worker stops at once. Embedded transport: at once. Lasts until `resume()`
   * (on Redis, across restarts). @throws UnknownQueueError
   */
  async pause(queue: string): Promise<void> {
    await this.assertKnown(queue);
    await this.transport.pause(queue);
  }

  /** Lets workers take a paused queue's jobs again. @throws UnknownQueueError */
  async resume(queue: string): Promise<void> {
    await this.assertKnown(queue);
    await this.transport.resume(queue);
  }

  /**
   * A page of the queue's groups (`@ShouldQueue({ group })`) sorted by id: those with jobs
   * waiting, slots held, or a pause. @default offset 0, limit 50 @throws UnknownQueueError
   */
  async groups(
    queue: string,
    page: { offset?: number; limit?: number } = {},
  ): Promise<QueueGroup[]> {
    const offset = page.offset ?? 0;
    const limit = page.limit ?? 50;
    assertInteger('offset', offset, 0);
    assertInteger('limit', limit, 1, 10_000);
    await this.assertKnown(queue);
    return this.transport.groups(queue, offset, limit);
  }

  /**
   * Pauses one group of a queue: workers of every process start none of its jobs (running ones
   * finish) while the other groups go on. Lasts until `resumeGroup` (on Redis, across restarts).
   * @throws UnknownQueueError
   */
  async pauseGroup(queue: string, group: string): Promise<void> {
    assertGroupId(group);
    await this.assertKnown(queue);
    await this.transport.pauseGroup(queue, group);
  }

  /** Lets workers start a paused group's jobs again. @throws UnknownQueueError */
  async resumeGroup(queue: string, group: string): Promise<void> {
    assertGroupId(group);
    await this.assertKnown(queue);
    await this.transport.resumeGroup(queue, group);
  }

  /** Whether the queue is paused. @throws UnknownQueueError */
  async isPaused(queue: string): Promise<boolean> {
    await this.assertKnown(queue);
    return this.transport.isPaused(queue);
  }

  /**
   * Live activity of queues: each job that enters one (emitted, due after a delay, back for a
   * retry) and each job that enters its dead letters, from when the returned promise resolves
   * until `signal` fires or the loop is left. Jobs of every process (on Redis, through a plain
   * read that takes nothing from the workers; a job done before it is read is not seen).
   * @throws UnknownQueueError
   * @example
   * for await (const activity of await queues.watch({ pattern: 'order.*' })) log(activity);
   */
  async watch(options: WatchOptions = {}): Promise<AsyncIterableIterator<QueueActivity>> {
    const queues = options.queues;
    if (options.readIntervalMs !== undefined) {
      assertInteger('readIntervalMs', options.readIntervalMs, 0, 60_000);
    }
    if (queues) for (const queue of queues) await this.assertKnown(queue);
    return watchQueues(
      {
        transport: this.transport,
        names: async () => (queues ? [...queues] : this.known()),
        eventClass: (name) => this.registry.eventClass(name),
      },
      options,
    );
  }

  /**
   * Resolves once the queues are idle: nothing waiting, running or being acknowledged (nor
   * delayed, unless `includeDelayed: false`). Meant for tests and scripts: emit, then
   * `await queues.drain()`, then assert on what the listeners did. Jobs that end in the dead
   * letters count as done.
   *
   * @throws DrainTimeoutError after `timeoutMs`, listing the queues still busy.
   * @example
   * await bus.emit('order.placed', order);
   * await app.get(EventQueues).drain();
   * expect(mailer.sent).toHaveLength(1);
   */
  async drain(options: DrainOptions = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    assertInteger('timeoutMs', timeoutMs, 1);
    const includeDelayed = options.includeDelayed ?? true;
    if (options.queues) for (const queue of options.queues) await this.assertKnown(queue);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const names = options.queues ? [...options.queues] : await this.known();
      const counts: Record<string, QueueCounts> = {};
      for (const name of names) counts[name] = await this.transport.counts(name);
      const isIdle = Object.values(counts).every(
        (c) => c.waiting + c.active + (includeDelayed ? c.delayed : 0) === 0,
      );
      if (isIdle) return;
      if (Date.now() >= deadline) throw new DrainTimeoutError(timeoutMs, counts);
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
    }
  }

  /** Queues of this app's queued listeners and queues that hold or held jobs, sorted. */
  private async known(): Promise<string[]> {
    const names = new Set(await this.transport.queues());
    for (const listener of this.registry.all()) if (listener.queue) names.add(listener.queue.queue);
    return [...names].sort();
  }

  private async assertKnown(queue: string): Promise<void> {
    assertName('queue', queue);
    for (const listener of this.registry.all()) if (listener.queue?.queue === queue) return;
    const known = await this.known();
    if (!known.includes(queue)) throw new UnknownQueueError(queue, known);
  }
}

/** A group id: a non-empty string of at most 128 bytes. */
function assertGroupId(group: unknown): asserts group is string {
  if (typeof group !== 'string' || group === '' || Buffer.byteLength(group) > MAX_GROUP_BYTES) {
    throw new InvalidOptionError(
      'group',
      group,
      `a non-empty string of at most ${MAX_GROUP_BYTES} bytes`,
    );
  }
}
