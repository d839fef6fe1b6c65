import { afterEach, describe, expect, it } from 'vitest';
import type { EventEnvelope } from 'nestjs-events';
import { loadOpenTelemetryTracer } from '../../lib/tracing/opentelemetry.adapter.js';
import { resolveTracing } from '../../lib/tracing/tracing.options.js';
import { installTracing, type TestTracing } from '../support/tracing.js';

let tracing: TestTracing | undefined;
afterEach(async () => {
  await tracing?.uninstall();
  tracing = undefined;
});

const envelope = (): EventEnvelope => ({
  id: 'e1',
  name: 'otel.attributes',
  data: {},
  metadata: { correlationId: 'c1' },
  timestamp: 1,
});
const attempt = { id: '1-0', queue: 'emails', listener: 'L.handle', attempt: 2 };

/** One emit to `queues` and one attempt of its job, through the adapter as `tracing` sets it. */
async function spansOf(option: unknown, queues: readonly string[] = ['emails']) {
  tracing = installTracing();
  const tracer = await loadOpenTelemetryTracer(resolveTracing(option), 'redis');
  const event = envelope();
  await tracer!.send(event, queues, () => Promise.resolve());
  tracer!.process(event, attempt, () => undefined);
  const [send] = tracing.spans('send otel.attributes');
  const [process] = tracing.spans('process otel.attributes');
  return { send: send.attributes, process: process.attributes };
}

describe('OpenTelemetry adapter: span attributes', () => {
  it('sets the messaging conventions, the listener and the attempt, and no more', async () => {
    const { send, process } = await spansOf(true);
    expect(send).toEqual({
      'messaging.system': 'redis',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'send',
      'messaging.destination.name': 'emails',
      'messaging.message.id': 'e1',
    });
    expect(process).toEqual({
      'messaging.system': 'redis',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.destination.name': 'emails',
      'messaging.message.id': 'e1',
      'nestjs_events.listener': 'L.handle',
      'nestjs_events.attempt': 2,
    });
  });

  it('names the queues and counts the jobs of an emit to several, which has no destination', async () => {
    const { send } = await spansOf(true, ['emails', 'sms', 'emails']);
    expect(send).not.toHaveProperty('messaging.destination.name');
    expect(send).toMatchObject({
      'messaging.batch.message_count': 3,
      'nestjs_events.queues': ['emails', 'sms'],
    });
  });

  it('detailedAttributes: also the event name, the correlation id and the job id', async () => {
    const { send, process } = await spansOf({ detailedAttributes: true });
    const details = {
      'nestjs_events.event': 'otel.attributes',
      'messaging.message.conversation_id': 'c1',
    };
    expect(send).toMatchObject(details);
    expect(process).toMatchObject({ ...details, 'nestjs_events.job.id': '1-0' });
  });

  it('refuses a detailedAttributes that is not a boolean', () => {
    expect(() => resolveTracing({ detailedAttributes: 'yes' })).toThrow(
      /tracing\.detailedAttributes/,
    );
    expect(resolveTracing({ detailedAttributes: true }).isDetailed).toBe(true);
    expect(resolveTracing(undefined).isDetailed).toBe(false);
  });
});
