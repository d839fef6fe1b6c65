import { Injectable, Logger, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  EVENTS_CLOCK,
  EventAssertionError,
  EventsModule,
  OrchestratedSaga,
  SagaDefinitionError,
  SagaScenario,
  SagaStep,
  TestClock,
  type SagaInfo,
  type SagaStepContext,
} from 'nestjs-events';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

@Injectable()
class Billing {
  readonly charges: number[] = [];
  failCharges = 0;
}

@OrchestratedSaga({ name: 'renewal', key: (e) => (e.data as { id: string }).id })
@Injectable()
class RenewalSaga {
  constructor(private readonly billing: Billing) {}

  @SagaStep({ compensate: 'cancel', tries: 1 })
  remind(ctx: SagaStepContext<{ id: string }, { reminded?: boolean; cancelled?: boolean }>) {
    ctx.state.reminded = true;
  }

  @SagaStep({ waitFor: 'subscription.renewed', timeout: 7 * DAY })
  renewed() {}

  @SagaStep({ tries: 3, backoff: 3 * HOUR })
  charge(ctx: SagaStepContext<{ id: string }, Record<string, unknown>>) {
    this.billing.charges.push(ctx.attempt);
    if (ctx.attempt <= this.billing.failCharges) throw new Error('card declined');
    ctx.state.charged = true;
  }

  cancel(ctx: SagaStepContext<{ id: string }, { reminded?: boolean; cancelled?: boolean }>) {
    ctx.state.cancelled = true;
  }
}

describe('Testing sagas without waiting (TestClock, SagaScenario)', () => {
  let app: INestApplicationContext | undefined;
  let clock: TestClock;
  beforeEach(async () => {
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    clock = new TestClock();
    const moduleRef = await Test.createTestingModule({
      imports: [EventsModule.forRoot()],
      providers: [Billing, RenewalSaga],
    })
      .overrideProvider(EVENTS_CLOCK)
      .useValue(clock)
      .compile();
    app = await moduleRef.init();
  });
  afterEach(async () => {
    await app?.close();
    vi.restoreAllMocks();
  });

  it('a 7-day waitFor timeout compensates once the clock passes it', async () => {
    const scenario = SagaScenario.for(app!, RenewalSaga, clock);
    await scenario.given({ id: 's1' }, { id: 's1' });
    await scenario.then({ status: 'waiting', step: 'renewed', state: { reminded: true } });
    await scenario.advance(7 * DAY - 1);
    await scenario.then({ status: 'waiting' });
    await scenario.advance(1);
    await scenario.then({
      status: 'compensated',
      state: { reminded: true, cancelled: true },
      emitted: ['saga.renewal.started', 'saga.renewal.compensated'],
    });
  });

  it('a step backoff of hours: retries run as the clock passes them', async () => {
    app!.get(Billing).failCharges = 2;
    const scenario = SagaScenario.for(app!, RenewalSaga, clock);
    await scenario.given({ id: 's2' }, { id: 's2' });
    await scenario.when('subscription.renewed', { id: 's2' });
    expect(app!.get(Billing).charges).toEqual([1]);
    await scenario.advance(3 * HOUR);
    expect(app!.get(Billing).charges).toEqual([1, 2]);
    await scenario.then({ status: 'running', step: 'charge' });
    await scenario.advance(3 * HOUR);
    const info = await scenario.then({
      status: 'completed',
      state: { reminded: true, charged: true },
      emitted: ['saga.renewal.completed'],
    });
    expect(info.history.map((h) => h.step)).toEqual(['remind', 'renewed', 'charge']);
    expect(app!.get(Billing).charges).toEqual([1, 2, 3]);
  });

  it('then() fails with what differs', async () => {
    const scenario = SagaScenario.for(app!, 'renewal', clock);
    await scenario.given({ id: 's3' }, { id: 's3' });
    const failing = scenario.then({ status: 'completed', emitted: ['saga.renewal.completed'] });
    await expect(failing).rejects.toBeInstanceOf(EventAssertionError);
    await expect(failing).rejects.toThrow(/status is waiting, expected completed/);
  });

  /** A saga as `get` reported it on a running system (kept as a fixture). */
  const recorded: SagaInfo = {
    id: 'r9',
    name: 'renewal',
    status: 'waiting',
    step: 'renewed',
    input: { id: 'r9' },
    state: { reminded: true },
    history: [{ step: 'remind', outcome: 'completed', at: 1 }],
    createdAt: 1,
    updatedAt: 1,
  };

  it('a recorded saga resumes on the current code', async () => {
    const scenario = SagaScenario.for(app!, RenewalSaga, clock);
    await scenario.resume(recorded);
    await scenario.when('subscription.renewed', { id: 'r9' });
    await scenario.then({
      status: 'completed',
      state: { reminded: true, charged: true },
      emitted: ['saga.renewal.completed'],
    });
  });

  it('a recorded history the steps no longer match is refused', async () => {
    const scenario = SagaScenario.for(app!, RenewalSaga, clock);
    const renamed = { ...recorded, history: [{ ...recorded.history[0], step: 'remindCustomer' }] };
    await expect(scenario.resume(renamed)).rejects.toBeInstanceOf(SagaDefinitionError);
    const moved = { ...recorded, history: [{ ...recorded.history[0], step: 'charge' }] };
    await expect(scenario.resume(moved)).rejects.toThrow(/now runs remind first/);
  });
});
