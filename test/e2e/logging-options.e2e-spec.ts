import { Injectable, Logger, type INestApplicationContext } from '@nestjs/common';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  EventBus,
  EventContext,
  EventQueues,
  InvalidOptionError,
  Logging,
  OnEvent,
  ShouldQueue,
  type EventEnvelope,
  type EventMiddlewareContext,
  type ListenerContext,
} from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { waitFor } from '../support/wait-for.js';

interface Payment {
  card: { number: string; brand: string };
  users: { name: string; password: string }[];
}

@Injectable()
class PaymentListeners {
  readonly seen: Payment[] = [];

  /** Fails its first attempt. */
  @OnEvent('pay.charged')
  @ShouldQueue({ queue: 'pay', tries: 2, backoff: 0 })
  charge(event: EventEnvelope<Payment>, context: ListenerContext): void {
    this.seen.push(event.data);
    if (context.attempt === 1) throw new Error('gateway down');
  }

  @OnEvent('pay.audit')
  audit(): void {}

  @OnEvent('pay.audit')
  archive(): void {}
}

const payment: Payment = {
  card: { number: '4242', brand: 'visa' },
  users: [{ name: 'ann', password: 'secret' }],
};

let app: INestApplicationContext | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await app?.close();
  app = undefined;
});

/** Every call of the Nest logger, by level, as `[level, context-free message]`. */
function captureLogs(): [string, unknown][] {
  const calls: [string, unknown][] = [];
  for (const level of ['log', 'warn', 'error', 'debug'] as const) {
    vi.spyOn(Logger.prototype, level).mockImplementation((message: unknown) => {
      calls.push([level, message]);
    });
  }
  return calls;
}

async function start(logging: Logging) {
  app = await createTestApp({ providers: [PaymentListeners] }, { middleware: [logging] });
  return {
    bus: app.get(EventBus),
    queues: app.get(EventQueues),
    listeners: app.get(PaymentListeners),
  };
}

/** The context `Logging` gets for an in-process attempt of event `id` named `x`. */
function attemptContext(id: string): EventMiddlewareContext {
  const event = { id, name: 'x', data: {}, metadata: {}, timestamp: 0 };
  return { event, metadata: {}, listener: { id: 'L', isQueued: false }, attempt: 1 } as never;
}

/** logfmt `key=value` pairs (values bare or JSON-quoted) as an object. */
function parseLogfmt(line: string): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [, key, value] of line.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S+)/g)) {
    fields[key] = value.startsWith('"') ? JSON.parse(value) : value;
  }
  return fields;
}

describe('Logging options', () => {
  it('JSON objects with metadata keys and a redacted payload; the worker reuses the fields', async () => {
    const logs = captureLogs();
    const { bus, queues, listeners } = await start(
      new Logging({
        format: 'json',
        metadata: ['correlationId', 'tenantId'],
        payload: true,
        redact: ['card.number', 'users.*.password'],
      }),
    );
    const envelope = await EventContext.run({ tenantId: 't1' }, () =>
      bus.emit('pay.charged', payment),
    );
    await waitFor(() => listeners.seen.length === 2);
    await queues.drain();
    const attempts = logs.filter(([, m]) => typeof m === 'object');
    const common = {
      event: 'pay.charged',
      id: envelope.id,
      listener: 'PaymentListeners.charge',
      queue: 'pay',
      correlationId: envelope.metadata.correlationId,
      tenantId: 't1',
      data: {
        card: { number: '[redacted]', brand: 'visa' },
        users: [{ name: 'ann', password: '[redacted]' }],
      },
    };
    expect(attempts).toEqual([
      [
        'warn',
        {
          ...common,
          attempt: 1,
          durationMs: expect.any(Number),
          outcome: 'failed',
          error: 'gateway down',
        },
      ],
      ['log', { ...common, attempt: 2, durationMs: expect.any(Number), outcome: 'ok' }],
    ]);
    // The listener got the payload untouched.
    expect(listeners.seen[1]).toEqual(payment);
    // The worker's own line of the failed attempt: the same fields, and what it decided.
    const retry = logs.find(([, m]) => typeof m === 'string' && m.includes('outcome=retry'));
    expect(retry?.[0]).toBe('warn');
    expect(parseLogfmt(retry![1] as string)).toEqual({
      event: 'pay.charged',
      id: envelope.id,
      listener: 'PaymentListeners.charge',
      attempt: '1',
      queue: 'pay',
      tries: '2',
      outcome: 'retry',
      retryMs: '0',
      error: 'gateway down',
    });
  });

  it('a level per outcome, and off', async () => {
    const logs = captureLogs();
    const { bus, queues, listeners } = await start(
      new Logging({ levels: { ok: 'debug', failed: 'error' } }),
    );
    await bus.emit('pay.charged', payment);
    await waitFor(() => listeners.seen.length === 2);
    await queues.drain();
    const lines = logs.filter(([, m]) => typeof m === 'string' && m.includes('durationMs='));
    expect(lines.map(([level, m]) => [level, /outcome=(\w+)/.exec(m as string)?.[1]])).toEqual([
      ['error', 'failed'],
      ['debug', 'ok'],
    ]);
    logs.length = 0;
    const quiet = new Logging({ levels: { ok: 'off' } });
    await quiet.use(
      {
        event: { id: 'e1', name: 'x', data: {}, metadata: {}, timestamp: 0 },
        listener: { id: 'L', isQueued: false },
        attempt: 1,
      } as never,
      () => Promise.resolve(),
    );
    expect(logs).toEqual([]);
  });

  it('samples successful attempts by event id, the same for every listener; failures always', async () => {
    const logs = captureLogs();
    const { bus } = await start(new Logging({ sampleRate: 0.5 }));
    for (let i = 0; i < 40; i++) await bus.emitAsync('pay.audit', {}, { id: `audit-${i}` });
    const okIds = (listener: string) =>
      logs
        .map(([, m]) => String(m))
        .filter((m) => m.includes(`listener=PaymentListeners.${listener} `))
        .map((m) => /id=(\S+)/.exec(m)?.[1]);
    const audited = okIds('audit');
    expect(audited.length).toBeGreaterThan(0);
    expect(audited.length).toBeLessThan(40);
    expect(okIds('archive')).toEqual(audited);

    logs.length = 0;
    const none = new Logging({ sampleRate: 0 });
    await none.use(attemptContext('e1'), () => Promise.resolve());
    await expect(
      none.use(attemptContext('e1'), () => Promise.reject(new Error('no'))),
    ).rejects.toThrow('no');
    expect(logs).toEqual([
      ['warn', expect.stringMatching(/^event=x id=e1 .* outcome=failed error=no$/)],
    ]);
  });

  it('refuses bad options, naming them', () => {
    expect(() => new Logging({ format: 'xml' as never })).toThrow(InvalidOptionError);
    expect(() => new Logging({ levels: { ok: 'loud' as never } })).toThrow(/Logging\.levels\.ok/);
    expect(() => new Logging({ levels: { done: 'log' } as never })).toThrow(
      /Logging\.levels\.done/,
    );
    expect(() => new Logging({ sampleRate: 2 })).toThrow(/Logging\.sampleRate/);
    expect(() => new Logging({ redact: ['card..number'] })).toThrow(/Logging\.redact/);
    expect(() => new Logging({ metadata: [1] as never })).toThrow(/Logging\.metadata/);
  });
});
