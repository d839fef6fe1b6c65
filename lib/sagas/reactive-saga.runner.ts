import { Logger } from '@nestjs/common';
import { Subject, type Observable, type Subscription } from 'rxjs';
import type { EventEnvelope } from '../event/event-envelope.js';
import { currentEvent, EventContext } from '../event/event-context.js';
import { InvalidSagaOutputError } from '../errors/saga-output.error.js';
import { backoffDelay, type BackoffOption } from '../queue/backoff.js';
import type { SagaFunction, SagaOutput } from './saga.decorator.js';

/** What a reactive saga needs of the bus: its events in, its outputs out. */
export interface ReactiveSagaBus {
  /** Emits `output`; a promise when its emit may still fail, undefined once delivered. */
  emitOutput(output: SagaOutput): Promise<unknown> | undefined;
}

/** A reactive saga after discovery. */
export interface ReactiveSagaDefinition {
  /** `Class.member`, for logs. */
  readonly id: string;
  readonly fn: SagaFunction;
  /** The failure hook, bound to its provider. */
  readonly onError?: (error: unknown, event: EventEnvelope | undefined) => unknown;
  readonly tries: number;
  readonly backoff: BackoffOption;
}

/** Failures remembered per event for `retry`; bounded so a flood of failures cannot grow it. */
const MAX_TRACKED_FAILURES = 10_000;

/**
 * Runs one reactive saga: every event goes into its own input stream inside the event's context
 * (AsyncLocalStorage), so what the saga emits, also after `delay` or a promise, is caused by the
 * event that led to it, and an error names that event. An error ends the RxJS subscription only:
 * the runner subscribes the saga again (the old subscription is closed, so no output can come
 * twice), and feeds the failed event again while it has tries left.
 */
export class ReactiveSagaRunner {
  private readonly logger = new Logger('Saga');
  private readonly input = new Subject<EventEnvelope>();
  private subscription: Subscription | undefined;
  private readonly failures = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private isStopped = false;

  constructor(
    private readonly saga: ReactiveSagaDefinition,
    private readonly bus: ReactiveSagaBus,
  ) {}

  /** Subscribes the saga to its input. */
  start(): void {
    this.subscribe();
  }

  /** Feeds one event to the saga, in that event's context. */
  feed(event: EventEnvelope): void {
    EventContext.runAs(event, () => this.feedInContext(event));
  }

  /** `feed` for a caller already running in the event's context (one context for all sagas). */
  feedInContext(event: EventEnvelope): void {
    if (!this.isStopped) this.input.next(event);
  }

  stop(): void {
    this.isStopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.subscription?.unsubscribe();
    this.input.complete();
  }

  private subscribe(): void {
    let output$: Observable<SagaOutput>;
    try {
      output$ = this.saga.fn(this.input.asObservable());
    } catch (error) {
      this.logger.error(`Saga ${this.saga.id} could not be built: ${String(error)}`);
      return;
    }
    this.subscription = output$.subscribe({
      next: (output) => this.emit(output),
      error: (error: unknown) => {
        // The failed pipeline is closed now; a fresh one takes the next event.
        const event = currentEvent();
        if (!this.isStopped) this.subscribe();
        this.failed(error, event, true);
      },
    });
  }

  private emit(output: SagaOutput): void {
    // The context is the triggering event's: the bus makes it the output's cause.
    const event = currentEvent();
    let emitted: Promise<unknown> | undefined;
    try {
      if (output === null || typeof output !== 'object') {
        throw new InvalidSagaOutputError(this.saga.id, output);
      }
      emitted = this.bus.emitOutput(output);
    } catch (error) {
      this.failed(error, event, false);
      return;
    }
    // A refused output is not retried: feeding the event again would emit its other outputs twice.
    emitted?.catch((error: unknown) => this.failed(error, event, false));
  }

  private failed(error: unknown, event: EventEnvelope | undefined, mayRetry: boolean): void {
    if (mayRetry && event !== undefined && this.saga.tries > 1) {
      const tried = (this.failures.get(event.id) ?? 0) + 1;
      if (tried < this.saga.tries) {
        if (this.failures.size >= MAX_TRACKED_FAILURES) this.failures.clear();
        this.failures.set(event.id, tried);
        const delayMs = backoffDelay(this.saga.backoff, tried);
        this.logger.warn(
          `Saga ${this.saga.id} failed on "${event.name}" (${event.id}), try ${tried}/${this.saga.tries}, again in ${delayMs} ms: ${message(error)}`,
        );
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          this.feed(event);
        }, delayMs);
        this.timers.add(timer);
        return;
      }
      this.failures.delete(event.id);
    }
    this.logger.error(
      `Saga ${this.saga.id} failed${event ? ` on "${event.name}" (${event.id})` : ''}: ${message(error)}`,
      error instanceof Error ? error.stack : undefined,
    );
    if (this.saga.onError === undefined) return;
    try {
      const hooked = this.saga.onError(error, event);
      if (hooked instanceof Promise) {
        hooked.catch((hookError: unknown) => this.hookFailed(hookError));
      }
    } catch (hookError) {
      this.hookFailed(hookError);
    }
  }

  private hookFailed(error: unknown): void {
    this.logger.error(`onError of saga ${this.saga.id} threw: ${message(error)}`);
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
