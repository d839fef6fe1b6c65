import { Logger } from '@nestjs/common';
import type { EventEnvelope } from '../../event/event-envelope.js';
import type { ListenerDefinition } from '../../discovery/listener-definition.js';
import type { CoordinationStore } from '../../middleware/coordination.store.js';
import type { NewJob, ReservedJob } from '../queue-job.js';
import { resolveFlowKey } from './flow-options.js';

/** How long (ms) a key's window outlives its due time (a worker outage): then it is forgotten. */
const WINDOW_GRACE_MS = 24 * 3_600_000;

/** The store key of a listener's debounce for `event`. @throws InvalidOptionError */
export function debounceKey(listener: ListenerDefinition, event: EventEnvelope): string {
  const options = listener.queue?.debounce;
  if (options === undefined) throw new TypeError(`${listener.id} has no debounce option`);
  return `debounce:${listener.id}:${resolveFlowKey(options.key, event, `@ShouldQueue debounce.key of ${listener.id}`)}`;
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
 */
export class DebounceGate {
  private readonly logger = new Logger('Debounce');

  constructor(private readonly store: CoordinationStore) {}

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
      await this.store.set(
        job.debounce,
        `${firstAt} ${job.id}`,
        Math.max(options.delayMs, options.maxDelayMs ?? 0) + job.delayMs + WINDOW_GRACE_MS,
      );
      kept.push({ ...job, delayMs: job.delayMs + waitMs });
    }
    return kept;
  }

  /** Runs the key's latest job (closing its window); acknowledges the others without running. */
  async around(
    listener: ListenerDefinition,
    event: EventEnvelope,
    job: ReservedJob,
    run: () => Promise<unknown>,
  ): Promise<unknown> {
    const key = debounceKey(listener, event);
    const raw = await this.store.get(key);
    const window = readWindow(raw);
    if (window !== undefined && window.jobId !== job.id) {
      this.logger.debug(`Job ${job.id} superseded by ${window.jobId} ("${key}")`);
      return undefined;
    }
    // The window closes before the run: an event from now on opens the next one. A retry of this
    // job finds no window and runs (never lose the debounced event).
    if (raw !== undefined) await this.store.release(key, raw);
    return run();
  }
}
