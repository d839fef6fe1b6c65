import { Logger, type MessageEvent } from '@nestjs/common';
import { Observable } from 'rxjs';
import type { EventBus } from '../bus/event-bus.js';
import { compilePattern, parsePattern } from '../discovery/pattern-trie.js';
import type { EventEnvelope } from '../event/event-envelope.js';
import type { EventQueues } from '../queue/event-queues.js';
import type { RedactPaths } from './dashboard-views.js';
import { deadJobView } from './dashboard-views.js';
import { showEvent } from './payload-view.js';

/** Emits and jobs shown per second and connection; the rest is counted (`skipped`). */
export const TAIL_MESSAGES_PER_SECOND = 50;
/**
 * How often (ms) the tail reads each queue on Redis. Paced, a busy queue's jobs are sampled (past
 * a read's batch, the read skips to the newest) instead of all read a second time by the app:
 * the budget above shows 50 a second anyway. Dead letters are all read.
 */
export const TAIL_READ_INTERVAL_MS = 200;

/**
 * The live tail as server-sent events: this process's emits (`emit`), and the jobs entering a
 * queue (`job`) or its dead letters (`dead`) in every process, filtered by `pattern`. The first
 * message (`ready`) comes once every queue is watched: what is emitted after it is shown. Dead
 * letters are always sent; emits and jobs up to `TAIL_MESSAGES_PER_SECOND`, then a `skipped`
 * count each second (of what was seen: a busy queue's jobs are sampled, see
 * `TAIL_READ_INTERVAL_MS`). `closing` (the app shutting down) ends the stream, so an open page never holds
 * up `app.close()`.
 *
 * @throws InvalidPatternError at once (before any response is sent) for a bad pattern.
 */
export function dashboardTail(
  bus: EventBus,
  queues: EventQueues,
  pattern: string | undefined,
  redact: RedactPaths,
  closing: AbortSignal,
): Observable<MessageEvent> {
  if (pattern !== undefined) parsePattern(pattern, 'the tail filter');
  const matches = pattern === undefined ? undefined : compilePattern(pattern);
  // Unfiltered and untyped: an app's event map types `stream(pattern)` by its own names only.
  const local: Observable<EventEnvelope> = bus.stream();
  return new Observable<MessageEvent>((subscriber) => {
    const controller = new AbortController();
    const end = (): void => subscriber.complete();
    if (closing.aborted) return end();
    closing.addEventListener('abort', end, { once: true });
    // A person reads a few lines a second: past the budget, events are counted, not shaped into
    // messages, so an open tail costs the app little however busy its queues are.
    let sent = 0;
    let skipped = 0;
    const admit = (): boolean => {
      if (sent < TAIL_MESSAGES_PER_SECOND) {
        sent++;
        return true;
      }
      skipped++;
      return false;
    };
    const budget = setInterval(() => {
      if (skipped > 0) subscriber.next({ data: { type: 'skipped', count: skipped } });
      sent = skipped = 0;
    }, 1000);
    budget.unref();
    const subscription = local.subscribe((event) => {
      if ((matches && !matches(event.name)) || !admit()) return;
      subscriber.next({ data: { type: 'emit', event: showEvent(event, redact) } });
    });
    const follow = async (): Promise<void> => {
      // The watch asks the budget before parsing a job: the jobs past it are never parsed.
      const activity = await queues.watch({
        pattern,
        signal: controller.signal,
        admit,
        readIntervalMs: TAIL_READ_INTERVAL_MS,
      });
      subscriber.next({ data: { type: 'ready' } });
      for await (const item of activity) {
        if (item.type === 'dead') {
          subscriber.next({ data: { type: 'dead', job: deadJobView(item.job, redact) } });
          continue;
        }
        const { payload, rawPayload: _raw, ...job } = item.job;
        subscriber.next({
          data: { type: 'job', job: { ...job, event: payload && showEvent(payload, redact) } },
        });
      }
    };
    follow().catch((error: unknown) => {
      // The stream stays open for the local emits; the page shows the failure.
      new Logger('EventsDashboard').warn(`The tail's queue watch failed: ${String(error)}`);
      subscriber.next({ data: { type: 'error', message: 'Watching the queues failed.' } });
    });
    return () => {
      closing.removeEventListener('abort', end);
      clearInterval(budget);
      subscription.unsubscribe();
      controller.abort();
    };
  });
}
