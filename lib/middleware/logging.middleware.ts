import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { EventMiddleware, EventMiddlewareContext } from './event-middleware.interface.js';
import { wasListenerCalled } from './middleware-chain.js';
import { ReleaseJobSignal } from './release-job.signal.js';
import {
  attemptFields,
  errorField,
  toJson,
  toLogfmt,
  type AttemptFields,
  type AttemptOutcome,
} from './attempt-log.js';
import {
  LOGGING_OPTIONS,
  resolveLoggingOptions,
  type LoggingOptions,
  type ResolvedLoggingOptions,
} from './logging.options.js';
import { redactPaths } from './redact.js';

export type { AttemptOutcome };

/**
 * One structured line per attempt, through the Nest logger (context `EventListener`): `event`,
 * `id`, `listener`, `attempt`, `queue` (queued listeners), `durationMs` and `outcome` (`ok`,
 * `skipped` when an inner middleware did not call `next`, `released` with `releaseMs`, or
 * `failed` with `error`). Failures are logged at `warn`, the rest at `log`; `new Logging(options)`
 * (see `LoggingOptions`) changes the levels, writes JSON objects, samples successful attempts,
 * and adds metadata keys or the payload (redacted). Place it first (e.g. globally) to time the
 * whole chain.
 *
 * @example
 * EventsModule.forRoot({ middleware: [Logging] })
 * // [EventListener] event=order.created id=01J... listener=Mailer.send attempt=1 queue=emails durationMs=12 outcome=ok
 * EventsModule.forRoot({ middleware: [new Logging({ format: 'json', sampleRate: 0.1 })] })
 */
@Injectable()
export class Logging implements EventMiddleware {
  private readonly logger = new Logger('EventListener');
  private readonly options: ResolvedLoggingOptions;

  /** @throws InvalidOptionError naming the `Logging` option that is wrong. */
  constructor(@Optional() @Inject(LOGGING_OPTIONS) options: LoggingOptions = {}) {
    this.options = resolveLoggingOptions(options);
  }

  async use(context: EventMiddlewareContext, next: () => Promise<unknown>): Promise<unknown> {
    const startedAt = performance.now();
    let outcome: AttemptOutcome = 'ok';
    let detail: AttemptFields | undefined;
    try {
      const result = await next();
      if (!wasListenerCalled(context)) outcome = 'skipped';
      return result;
    } catch (error) {
      if (error instanceof ReleaseJobSignal) {
        outcome = 'released';
        detail = { releaseMs: error.delayMs };
      } else {
        outcome = 'failed';
        detail = { error: errorField(error) };
      }
      throw error;
    } finally {
      const level = this.options.levels[outcome];
      if (level !== 'off' && (outcome !== 'ok' || this.isSampled(context.event.id))) {
        const fields = attemptFields(
          context.event,
          context.listener.id,
          context.attempt,
          context.queue,
        );
        fields.durationMs = Math.round(performance.now() - startedAt);
        fields.outcome = outcome;
        Object.assign(fields, detail);
        this.logger[level](this.line(fields, context));
      }
    }
  }

  /** The line: logfmt text, or a JSON-safe object (`format: 'json'`). */
  private line(fields: AttemptFields, context: EventMiddlewareContext): string | object {
    const { metadata, isPayloadLogged, redact, format } = this.options;
    for (const key of metadata) fields[key] = context.event.metadata[key];
    if (isPayloadLogged) {
      const data =
        redact.length === 0 ? context.event.data : redactPaths(context.event.data, redact);
      fields.data = toJson(data);
    }
    return format === 'json' ? fields : toLogfmt(fields);
  }

  /**
   * Whether a successful attempt of event `id` is logged: decided by the id (FNV-1a, then
   * murmur3's finalizer so ids that differ in their last characters spread over the whole
   * range), so every listener and every process keeps or drops the same events.
   */
  private isSampled(id: string): boolean {
    const rate = this.options.sampleRate;
    if (rate >= 1) return true;
    let hash = 0x811c9dc5;
    for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193);
    hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
    hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
    hash ^= hash >>> 16;
    return (hash >>> 0) / 0x1_0000_0000 < rate;
  }
}
