import { isDeepStrictEqual } from 'node:util';
import type { INestApplicationContext } from '@nestjs/common';
import type { Subscription } from 'rxjs';
import { EventBus } from '../bus/event-bus.js';
import type { EmitOptions } from '../bus/emit-options.js';
import type { UntypedEmits } from '../bus/around.js';
import type { EventEnvelope } from '../event/event-envelope.js';
import { QUEUE_TRANSPORT } from '../events.constants.js';
import type { QueueTransport } from '../queue/queue-transport.interface.js';
import { EventAssertionError } from '../errors/event-assertion.error.js';
import { SagaManager } from '../sagas/saga.manager.js';
import { SagaCatalog } from '../sagas/saga.catalog.js';
import type { SagaInfo, SagaStatus } from '../sagas/saga-definition.js';
import type { TestClock } from './test-clock.js';

/** What `then` checks; each key left out is not checked. */
export interface SagaExpectation {
  readonly status?: SagaStatus;
  /** The current step's method (undefined once over). */
  readonly step?: string;
  /** The whole stored state, deeply equal. */
  readonly state?: unknown;
  /** Event names the saga emitted (metadata.sagaId), each at least once, in this order. */
  readonly emitted?: readonly string[];
}

/** Guards `then` against a hang; not a timing assertion. */
const IDLE_TIMEOUT_MS = 10_000;

/**
 * Given / when / then for an orchestrated saga in a test app: start it, feed it events, let time
 * pass on a `TestClock`, and assert on its state and the events it emitted. Each step waits until
 * the saga's queue is idle (no job waiting or running), so assertions see the settled saga.
 * `given`, `when` and `advance` resolve to nothing: a scenario has a `then` method, so it must
 * never be what a promise resolves to.
 *
 * @example
 * const scenario = SagaScenario.for(app, OrderSaga, clock);
 * await scenario.given({ orderId: 'o1' }, { id: 'o1' });
 * await scenario.advance(7 * 24 * 3600_000);
 * await scenario.then({ status: 'compensated', emitted: ['saga.order.compensated'] });
 */
export class SagaScenario {
  /** Events emitted with this saga's id in their metadata, in emit order. */
  readonly emitted: EventEnvelope[] = [];
  private sagaId: string | undefined;
  private readonly subscription: Subscription;
  private readonly queue: string;

  private constructor(
    private readonly app: INestApplicationContext,
    private readonly saga: Function | string,
    private readonly clock: TestClock | undefined,
  ) {
    this.queue = app.get(SagaCatalog).resolve(saga).queue;
    this.subscription = app
      .get(EventBus)
      .stream()
      .subscribe((event) => {
        if (this.sagaId !== undefined && event.metadata.sagaId === this.sagaId)
          this.emitted.push(event);
      });
  }

  /** A scenario of `saga` in `app` (a `TestClock` installed as `EVENTS_CLOCK`, for `advance`). */
  static for(
    app: INestApplicationContext,
    saga: Function | string,
    clock?: TestClock,
  ): SagaScenario {
    return new SagaScenario(app, saga, clock);
  }

  /** The saga's id once `given` started it. */
  get id(): string {
    if (this.sagaId === undefined)
      throw new EventAssertionError('SagaScenario: call given() first');
    return this.sagaId;
  }

  /** Starts the saga and lets it run until it waits or is over. */
  async given(input: unknown, options: { id?: string } = {}): Promise<void> {
    this.sagaId =
      options.id ?? `scenario-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
    await this.app.get(SagaManager).start(this.saga, input, { id: this.sagaId });
    await this.idle();
  }

  /**
   * Given a saga recorded from a running system (what `SagaManager.get` returned there, kept as a
   * fixture): stores it and lets the current code drive it on. A history the current steps no
   * longer match (a step renamed, removed or reordered) throws `SagaDefinitionError`: the change
   * would strand sagas already running.
   */
  async resume(recorded: SagaInfo): Promise<void> {
    this.sagaId = recorded.id;
    await this.app.get(SagaManager).restore(recorded);
    await this.idle();
  }

  /** Emits an event (for `waitFor`, `startOn`) and lets the saga run. */
  async when(name: string, data?: unknown, options?: EmitOptions): Promise<void> {
    await (this.app.get(EventBus) as unknown as UntypedEmits).emit(name, data, options);
    await this.idle();
  }

  /** Lets `ms` pass on the test clock; what falls due (timeouts, backoffs, deadlines) runs. */
  async advance(ms: number): Promise<void> {
    if (this.clock === undefined) {
      throw new EventAssertionError(
        'SagaScenario.advance needs the TestClock: SagaScenario.for(app, saga, clock)',
      );
    }
    await this.clock.advance(ms, () => this.idle());
  }

  /** Asserts on the settled saga. @throws EventAssertionError listing what differs. */
  async then(expected: SagaExpectation): Promise<SagaInfo> {
    await this.idle();
    const info = await this.app.get(SagaManager).get(this.id);
    if (info === undefined) throw new EventAssertionError(`Saga "${this.id}" was not stored`);
    const problems: string[] = [];
    if (expected.status !== undefined && info.status !== expected.status) {
      problems.push(
        `status is ${info.status}, expected ${expected.status}${info.error ? ` (error: ${info.error})` : ''}`,
      );
    }
    if ('step' in expected && info.step !== expected.step) {
      problems.push(`step is ${String(info.step)}, expected ${String(expected.step)}`);
    }
    if ('state' in expected && !isDeepStrictEqual(info.state, expected.state)) {
      problems.push(
        `state is ${JSON.stringify(info.state)}, expected ${JSON.stringify(expected.state)}`,
      );
    }
    if (expected.emitted !== undefined) {
      const names = this.emitted.map((e) => e.name);
      let from = 0;
      for (const name of expected.emitted) {
        const at = names.indexOf(name, from);
        if (at < 0) {
          problems.push(
            `did not emit ${expected.emitted.join(', ')} in this order; emitted: ${names.join(', ') || 'nothing'}`,
          );
          break;
        }
        from = at + 1;
      }
    }
    if (problems.length > 0) {
      throw new EventAssertionError(`Saga "${this.id}": ${problems.join('; ')}.`);
    }
    return info;
  }

  /** Stops recording emitted events. */
  dispose(): void {
    this.subscription.unsubscribe();
  }

  /** Resolves once the saga queue has no job waiting or running (delayed ones wait for the clock). */
  private async idle(): Promise<void> {
    const transport = this.app.get<QueueTransport>(QUEUE_TRANSPORT);
    const deadline = Date.now() + IDLE_TIMEOUT_MS;
    let quietTurns = 0;
    // Two quiet reads in a row: a job settling between two reads is not mistaken for the end.
    while (quietTurns < 2) {
      const counts = await transport.counts(this.queue);

      quietTurns = counts.waiting + counts.active === 0 ? quietTurns + 1 : 0;
      if (Date.now() > deadline) {
        throw new EventAssertionError(
          `Saga "${String(this.sagaId)}": queue "${this.queue}" still busy after ${IDLE_TIMEOUT_MS} ms`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, quietTurns > 0 ? 1 : 2));
    }
  }
}
