import { Logger, type MessageEvent } from '@nestjs/common';
import { Observable } from 'rxjs';
import type { EventBus } from '../bus/event-bus.js';
import { compilePattern, parsePattern } from '../discovery/pattern-trie.js';
import type { EventEnvelope } from '../event/event-envelope.js';
import type { EventQueues } from '../queue/event-queues.js';
import type { RedactPaths } from './dashboard-views.js';
import { deadJobView } from './dashboard-views.js';
import { showEvent } from './payload-view.js';

/**
 * The live tail as server-sent events: this process's emits (`emit`), and the jobs entering a
 * queue (`job`) or its dead letters (`dead`) in every process, filtered by `pattern`. The first
 * message (`ready`) comes once every queue is watched: what is emitted after it is shown.
 *
 * @throws InvalidPatternError at once (before any response is sent) for a bad pattern.
 */
export function dashboardTail(
  bus: EventBus,
  queues: EventQueues,
  pattern: string | undefined,
  redact: RedactPaths,
): Observable<MessageEvent> {
  if (pattern !== undefined) parsePattern(pattern, 'the tail filter');
  const matches = pattern === undefined ? undefined : compilePattern(pattern);
  // Unfiltered and untyped: an app's event map types `stream(pattern)` by its own names only.
  const local: Observable<EventEnvelope> = bus.stream();
  return new Observable<MessageEvent>((subscriber) => {
    const controller = new AbortController();
    const subscription = local.subscribe((event) => {
      if (matches && !matches(event.name)) return;
      subscriber.next({ data: { type: 'emit', event: showEvent(event, redact) } });
    });
    const follow = async (): Promise<void> => {
      const activity = await queues.watch({ pattern, signal: controller.signal });
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
      subscription.unsubscribe();
      controller.abort();
    };
  });
}
