import type { DeadJob } from '../queue-job.js';
import type { LiveJobState, StoredQueuedJob } from '../queued-job.js';
import type { RedisDeadLetters } from './redis-dead-letters.js';
import { toJob, toWaitingJob } from './redis-entries.js';
import { transportError } from './redis-errors.js';
import { CONSUMER_GROUP as GROUP, type QueueKeys } from './redis-keys.js';
import type { RedisQueueContext } from './redis-queue.context.js';
import { isWakeUp, listWaiting } from './redis-staged-listing.js';

/** Entries read per round trip by `getJob`'s scans. */
const SCAN_PAGE = 1000;

type Entry = [string, string[]];

/**
 * Lists the live jobs of a queue by state and finds one job by id. Waiting jobs are the stream's
 * entries after the group's last delivered id; active ones its pending entries (XPENDING);
 * delayed ones the delayed set by due time. Pages cost O(offset + limit); `getJob` finds a dead
 * job through the dead index and a live one by scanning (O(jobs in the queue)).
 */
export class RedisJobListing {
  constructor(
    private readonly ctx: RedisQueueContext,
    private readonly deadLetters: RedisDeadLetters,
  ) {}

  async listJobs(
    queue: string,
    state: LiveJobState,
    offset: number,
    limit: number,
  ): Promise<StoredQueuedJob[]> {
    const k = this.ctx.state(queue).keys;
    try {
      if (state === 'delayed') return await this.delayed(queue, k, offset, limit);
      if (state === 'active') return await this.active(queue, k, offset, limit);
      const entries = (await this.ctx.client.xrange(
        k.stream,
        await this.afterDelivered(k),
        '+',
        'COUNT',
        // One wake-up entry at most (see redis-priority-scripts.ts) is no job.
        offset + limit + 1,
      )) as Entry[];
      // The stream and the priority levels, then the jobs waiting in groups (`@ShouldQueue({
      // group })`), group by group: a queue has levels or groups, never both.
      const waiting = await listWaiting(this.ctx.client, queue, k, entries, offset, limit);
      if (waiting.length >= limit) return waiting;
      const before = entries.filter((entry) => !isWakeUp(entry)).length;
      return [
        ...waiting,
        ...(await this.grouped(queue, k, Math.max(0, offset - before), limit - waiting.length)),
      ];
    } catch (error) {
      throw transportError(`listing ${state} jobs of "${queue}"`, error);
    }
  }

  async getJob(queue: string, id: string): Promise<StoredQueuedJob | DeadJob | undefined> {
    const dead = await this.deadLetters.getDead(queue, id);
    if (dead) return dead;
    const k = this.ctx.state(queue).keys;
    try {
      let start = '-';
      for (;;) {
        const page = (await this.ctx.client.xrange(
          k.stream,
          start,
          '+',
          'COUNT',
          SCAN_PAGE,
        )) as Entry[];
        const found = page.find(
          (entry) => !isWakeUp(entry) && toJob(queue, entry[0], 0, entry[1]).id === id,
        );
        if (found) {
          const [active] = await this.active(queue, k, 0, 1, found[0]);
          return active ?? toWaitingJob(queue, found[0], found[1]);
        }
        if (page.length < SCAN_PAGE) break;
        start = `(${page[page.length - 1][0]}`;
      }
      const size = await this.ctx.client.zcard(k.delayed);
      for (let at = 0; at < size; at += SCAN_PAGE) {
        const found = (await this.delayed(queue, k, at, SCAN_PAGE)).find((job) => job.id === id);
        if (found) return found;
      }
      const staged = await listWaiting(this.ctx.client, queue, k, [], 0, Number.MAX_SAFE_INTEGER);
      const found = staged.find((job) => job.id === id);
      if (found) return found;
      // A bound Lua formats as an integer (Number.MAX_SAFE_INTEGER would print as 9.0e+15).
      const grouped = await this.grouped(queue, k, 0, 1_000_000_000);
      return grouped.find((job) => job.id === id);
    } catch (error) {
      throw transportError(`finding job ${id} of "${queue}"`, error);
    }
  }

  /** A page of the jobs waiting in the queue's groups, group by group. */
  private async grouped(
    queue: string,
    k: QueueKeys,
    offset: number,
    limit: number,
  ): Promise<StoredQueuedJob[]> {
    const members = await this.ctx.client.eventsGroupWaiting(k.groupReady, k.base, offset, limit);
    return members.map((member) => toGroupedJob(queue, member));
  }

  /** The first stream id not yet delivered to the group (every entry when there is no group). */
  private async afterDelivered(k: QueueKeys): Promise<string> {
    let groups: unknown[][];
    try {
      groups = (await this.ctx.client.xinfo('GROUPS', k.stream)) as unknown[][];
    } catch {
      return '-'; // No stream yet.
    }
    for (const raw of groups) {
      const group = new Map<string, unknown>();
      for (let i = 0; i + 1 < raw.length; i += 2) group.set(String(raw[i]), raw[i + 1]);
      if (group.get('name') === GROUP) return `(${String(group.get('last-delivered-id'))}`;
    }
    return '-';
  }

  private async delayed(
    queue: string,
    k: QueueKeys,
    offset: number,
    limit: number,
  ): Promise<StoredQueuedJob[]> {
    const reply = (await this.ctx.client.call(
      'ZRANGE',
      k.delayed,
      offset,
      offset + limit - 1,
      'WITHSCORES',
    )) as (string | [string, string])[];
    // RESP3 replies pair each member with its score; RESP2 replies are flat.
    const flat = reply.flat() as string[];
    const jobs: StoredQueuedJob[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      let member: Record<string, unknown> = {};
      try {
        member = JSON.parse(flat[i]) as Record<string, unknown>;
      } catch {
        // A member that does not parse is listed with what is known.
      }
      jobs.push({
        id: typeof member.id === 'string' ? member.id : flat[i],
        queue,
        listener: typeof member.l === 'string' ? member.l : '',
        state: 'delayed',
        payload: typeof member.p === 'string' ? member.p : '',
        attemptsMade: Number(member.a) || 0,
        enqueuedAt: Number(member.t) || 0,
        runAt: Number(flat[i + 1]),
      });
    }
    return jobs;
  }

  /**
   * Pending entries with their holder and age: since the delivery started when a heartbeat
   * recorded it (jobs alive at a heartbeat), else since the delivery or the last heartbeat
   * (XPENDING idle). `only` looks at one entry.
   */
  private async active(
    queue: string,
    k: QueueKeys,
    offset: number,
    limit: number,
    only?: string,
  ): Promise<StoredQueuedJob[]> {
    const client = this.ctx.client;
    let pending: [string, string, number, number][];
    try {
      pending = (await client.xpending(
        k.stream,
        GROUP,
        only ?? '-',
        only ?? '+',
        offset + limit,
      )) as [string, string, number, number][];
    } catch {
      return []; // No stream or no group: nothing is pending.
    }
    pending = pending.slice(offset);
    if (pending.length === 0) return [];
    const batch = client.pipeline().time().hlen(k.started).xpending(k.stream, GROUP);
    for (const [entry] of pending) batch.xrange(k.stream, entry, entry);
    const fields = pending.map(([entry, , , deliveries]) => `${entry}/${deliveries}`);
    batch.hmget(k.started, ...fields);
    const replies = ((await batch.exec()) ?? []).map(([error, value]) => {
      if (error) throw error;
      return value;
    });
    const [seconds, micros] = replies[0] as [string, string];
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const startedAt = replies[replies.length - 1] as (string | null)[];
    const total = Number((replies[2] as unknown[])[0]) || 0;
    if (Number(replies[1]) > total) {
      // Records of settled deliveries: drop them (the heartbeat does too, less eagerly).
      await client.eventsSweepStarted(k.stream, k.started, GROUP);
    }
    const jobs: StoredQueuedJob[] = [];
    pending.forEach(([entry, consumer, idle, deliveries], i) => {
      const [found] = replies[3 + i] as Entry[];
      if (!found) return; // Settled meanwhile.
      const job = toJob(queue, entry, Number(deliveries), found[1]);
      const started = startedAt[i] === null ? undefined : Number(startedAt[i]);
      jobs.push({
        id: job.id,
        queue,
        listener: job.listener,
        state: 'active',
        payload: job.payload,
        attemptsMade: job.attempt - 1,
        enqueuedAt: job.enqueuedAt,
        heldBy: consumer,
        ageMs: started === undefined ? Number(idle) : Math.max(0, now - started),
      });
    });
    return jobs;
  }
}

/** A job waiting in its group (a JSON member), as listings show it; never throws. */
function toGroupedJob(queue: string, member: string): StoredQueuedJob {
  let job: Record<string, unknown> = {};
  try {
    job = JSON.parse(member) as Record<string, unknown>;
  } catch {
    // Unreadable: listed with its raw text as payload.
  }
  return {
    id: typeof job.id === 'string' ? job.id : '',
    queue,
    listener: typeof job.l === 'string' ? job.l : '',
    state: 'waiting',
    payload: typeof job.p === 'string' ? job.p : member,
    attemptsMade: Number(job.a) || 0,
    enqueuedAt: Number(job.t) || 0,
  };
}
