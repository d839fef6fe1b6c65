import { Logger } from '@nestjs/common';
import type { EventEnvelope } from '../../event/event-envelope.js';
import type { ListenerDefinition } from '../../discovery/listener-definition.js';
import type { CoordinationStore } from '../../middleware/coordination.store.js';
import type { NewJob, ReservedJob } from '../queue-job.js';
import { resolveFlowKey } from './flow-options.js';

/** Reads a stored job payload back into its envelope. */
export type PayloadReader = (payload: string) => EventEnvelope;

/** How long (ms) a key's window outlives its due time (a worker outage): then it is forgotten. */
const WINDOW_GRACE_MS = 24 * 3_600_000;

/** The store key of a listener's debounce for `event`. @throws InvalidOptionError */
export function debounceKey(listener: ListenerDefinition, event: EventEnvelope): string {
  const options = listener.queue?.debounce;
  if (options === undefined) throw new TypeError(`${listener.id} has no debounce option`);
  return `debounce:${listener.id}:${resolveFlowKey(options.key, event, `@ShouldQueue debounce.key of ${listener.id}`)}`;
}

/** The list of a `collect` key's events not yet run (one hash slot with its claims). */
function pendingKey(key: string): string {
  return `collect:{${key}}`;
}

/** The events a run of `jobId` took from its key (kept for its retries until it succeeds). */
function claimKey(key: string, jobId: string): string {
  return `collect:{${key}}:run:${jobId}`;
}

/** A key's window: when its first event came (ms, the emitting process's clock) and its latest job. */
function readWindow(raw: string | undefined): { firstAt: number; jobId: string } | undefined {
  if (raw === undefined) return undefined;
  const space = raw.indexOf(' ');
  const firstAt = Number(raw.slice(0, space));
  return space > 0 && Number.isFinite(firstAt)
    ? { firstAt, jobId: raw.slice(space + 1) }
    : undefined;
}

/**
 * Debounce on the queue's own delayed jobs and the coordination store: every event stores its
 * job, delayed to `min(now + delayMs, first + maxDelayMs)`, and becomes its key's latest; a job
 * that comes due while a later one is the latest is acknowledged without running. Both the
 * delayed jobs and the windows live in Redis with `redis`, so a restart loses no pending run.
 *
 * With `collect`, every event's payload is also appended to its key's pending list. The run
 * claims the whole list at once (moved under the job's id) and hands it to the handler; a retry
 * gets the same claim. A job that finds nothing to claim (a racing run took its events) is
 * acknowledged without running. Every event is appended before its job becomes the latest, so
 * the last job of a key always claims it: no event is lost, none is run twice.
 */
export class DebounceGate {
  private readonly logger = new Logger('Debounce');

  constructor(
    private readonly store: CoordinationStore,
    private readonly read: PayloadReader,
  ) {}

  /** At emit: delays each debounced job to its window's end and makes it its key's latest. */
  async admit(
    jobs: readonly NewJob[],
    listenerOf: (id: string) => ListenerDefinition | undefined,
  ): Promise<NewJob[]> {
    const kept: NewJob[] = [];
    for (const job of jobs) {
      const options = listenerOf(job.listener)?.queue?.debounce;
      if (job.debounce === undefined || options === undefined) {
        kept.push(job);
        continue;
      }
      const now = Date.now();
      const window = readWindow(await this.store.get(job.debounce));
      const firstAt = window?.firstAt ?? now;
      const dueAt = Math.min(now + options.delayMs, firstAt + (options.maxDelayMs ?? Infinity));
      const waitMs = Math.max(0, dueAt - now);
      const ttlMs =
        Math.max(options.delayMs, options.maxDelayMs ?? 0) + job.delayMs + WINDOW_GRACE_MS;
      if (options.collect === true) {
        await this.store.append(pendingKey(job.debounce), job.payload, ttlMs);
      }
      await this.store.set(job.debounce, `${firstAt} ${job.id}`, ttlMs);
      kept.push({ ...job, delayMs: job.delayMs + waitMs });
    }
    return kept;
  }

  /** Runs the key's latest job (closing its window); acknowledges the others without running. */
  async around(
    listener: ListenerDefinition,
    event: EventEnvelope,
    job: ReservedJob,
    run: (events?: readonly EventEnvelope[]) => Promise<unknown>,
  ): Promise<unknown> {
    const key = debounceKey(listener, event);
    const raw = await this.store.get(key);
    const window = readWindow(raw);
    const isCollecting = listener.queue?.debounce?.collect === true;
    if (window !== undefined && window.jobId !== job.id) {
      // A retry of a collecting run still owns its claim, whatever window is open now.
      if (isCollecting && job.attempt > 1) return this.runClaimed(key, job, run);
      this.logger.debug(`Job ${job.id} superseded by ${window.jobId} ("${key}")`);
      return undefined;
    }
    // Claim before closing the window: an event that lands in between is claimed here, or
    // appended to a new list that its own (latest) job claims.
    if (isCollecting) return this.runClaimed(key, job, run, { pending: true, window: raw });
    // The window closes before the run: an event from now on opens the next one. A retry of this
    // job finds no window and runs (never lose the debounced event).
    if (raw !== undefined) await this.store.release(key, raw);
    return run();
  }

  /** Claims the key's events for `job` and runs them; deletes the claim once the run succeeded. */
  private async runClaimed(
    key: string,
    job: ReservedJob,
    run: (events?: readonly EventEnvelope[]) => Promise<unknown>,
    take: { pending: boolean; window?: string } = { pending: false },
  ): Promise<unknown> {
    const claim = claimKey(key, job.id);
    // Without `pending`, only an earlier claim of this job (claiming itself moves nothing).
    const from = take.pending ? pendingKey(key) : claim;
    const payloads = await this.store.claimList(from, claim, WINDOW_GRACE_MS);
    if (take.window !== undefined) await this.store.release(key, take.window);
    if (payloads.length === 0) {
      this.logger.debug(`Job ${job.id} has no events left to collect ("${key}")`);
      return undefined;
    }
    const result = await run(payloads.map(this.read));
    await this.store.delete(claim);
    return result;
  }
}
