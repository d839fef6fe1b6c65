import { Injectable, Logger } from '@nestjs/common';
import type { EventMiddleware, EventMiddlewareContext } from './event-middleware.interface.js';
import { wasListenerCalled } from './middleware-chain.js';
import { ReleaseJobSignal } from './release-job.signal.js';

/** How one attempt ended, as `Logging` reports it. */
export type AttemptOutcome = 'ok' | 'skipped' | 'released' | 'failed';

function field(value: string | number): string {
  return typeof value === 'number' || /^[\w.:@/#-]+$/.test(value)
    ? String(value)
    : JSON.stringify(value);
}

/**
 * One structured line per attempt (logfmt, through the Nest logger, context `EventListener`):
 * `event`, `id`, `listener`, `attempt`, `queue` (queued listeners), `durationMs` and `outcome`
 * (`ok`, `skipped` when an inner middleware did not call `next`, `released` with `releaseMs`, or
 * `failed` with `error`). Failures are logged at `warn`, the rest at `log`. Place it first (e.g.
 * globally) to time the whole chain.
 *
 * @example
 * EventsModule.forRoot({ middleware: [Logging] })
 * // [EventListener] event=order.created id=01J... listener=Mailer.send attempt=1 queue=emails durationMs=12 outcome=ok
 */
@Injectable()
export class Logging implements EventMiddleware {
  private readonly logger = new Logger('EventListener');

  async use(context: EventMiddlewareContext, next: () => Promise<unknown>): Promise<unknown> {
    const startedAt = performance.now();
    let outcome: AttemptOutcome = 'ok';
    let detail = '';
    try {
      const result = await next();
      if (!wasListenerCalled(context)) outcome = 'skipped';
      return result;
    } catch (error) {
      if (error instanceof ReleaseJobSignal) {
        outcome = 'released';
        detail = ` releaseMs=${error.delayMs}`;
      } else {
        outcome = 'failed';
        detail = ` error=${field(error instanceof Error ? error.message : String(error))}`;
      }
      throw error;
    } finally {
      const durationMs = Math.round(performance.now() - startedAt);
      const line =
        `event=${field(context.event.name)} id=${context.event.id} listener=${field(context.listener.id)}` +
        ` attempt=${context.attempt}${context.queue === undefined ? '' : ` queue=${field(context.queue)}`}` +
        ` durationMs=${durationMs} outcome=${outcome}${detail}`;
      if (outcome === 'failed') this.logger.warn(line);
      else this.logger.log(line);
    }
  }
}
